/**
 * File writes that never leave a half-written file: write to a temporary file beside the target, then rename
 * (atomic on POSIX file systems within one directory).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

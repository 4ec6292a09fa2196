/**
 * File writes that never leave a half-written file: write to a temporary file beside the target, then rename
 * (atomic on POSIX file systems within one directory).
 *
 * Directories are created one level at a time after finding the nearest existing ancestor, not with Node's
 * `mkdir(..., {recursive: true})`: that call never returns under /proc (measured: still pending after 5 s for
 * /proc/x/y, where a plain mkdir fails with ENOENT at once). File-system errors come back as GanvasErrors that
 * say which path was wrong and why (a file where a directory should be, a directory where the file should go).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { GanvasError, describeError } from './errors';
import { ownValue } from './validate';

const EXPLAIN: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory; give a file name',
  EEXIST: 'something else already exists there',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted there',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  ENOENT: 'a directory on the way does not exist and cannot be created there',
  ENAMETOOLONG: 'the name is too long',
};

/** A file-system error as a GanvasError naming the path and the cause in words. */
export function pathError(action: string, p: string, e: unknown): GanvasError {
  if (e instanceof GanvasError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  // ownValue: an error code spelt like an Object.prototype member ("constructor") printed a function's source.
  const why = (code && ownValue(EXPLAIN, code)) || describeError(e);
  return new GanvasError('BAD_PATH', `cannot ${action} ${p}: ${why}${code ? ` (${code})` : ''}; choose a writable directory`, { cause: e });
}

/** Creates `dir` and its missing parents, refusing (never hanging) where that is impossible. */
export async function ensureDir(dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0')) {
    throw new GanvasError('BAD_PATH', `a directory must be a non-empty path string, got ${JSON.stringify(dir)}`);
  }
  const missing: string[] = [];
  let p = path.resolve(dir);
  for (;;) {
    let st;
    try {
      st = await fs.stat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw pathError('create directory', dir, e);
      missing.push(p);
      const up = path.dirname(p);
      // Stryker disable next-line ConditionalExpression,StringLiteral: only reached if the root directory itself does not exist
      if (up === p) throw pathError('create directory', dir, e);
      p = up;
      continue;
    }
    if (!st.isDirectory()) {
      throw new GanvasError('BAD_PATH', `cannot create directory ${dir}: ${p} is a file, not a directory (ENOTDIR); choose another path`);
    }
    break;
  }
  for (const m of missing.reverse()) {
    try {
      await fs.mkdir(m);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await fs.stat(m).then((s) => s.isDirectory(), () => false))) continue;
      throw pathError('create directory', m, e);
    }
  }
}

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  if (typeof file !== 'string' || file === '' || file.includes('\0')) {
    throw new GanvasError('BAD_PATH', `a file name must be a non-empty path string, got ${JSON.stringify(file)}`);
  }
  const dir = path.dirname(file);
  await ensureDir(dir);
  // Stryker disable next-line ArrowFunction: undefined is as falsy as false
  if (await fs.stat(file).then((s) => s.isDirectory(), () => false)) {
    throw new GanvasError('BAD_PATH', `cannot write ${file}: it is a directory (EISDIR); give a file name`);
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: without force a missing file rejects, and the rejection is caught just after
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw pathError('write', file, e);
  }
}

/** True when `pid` names a running process (EPERM: it runs, under another user). */
export function processAlive(pid: number): boolean {
  // Stryker disable next-line ConditionalExpression: a shortcut; signal 0 to this process succeeds too
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries that writeFileAtomic left in `dir` for a process that was killed (named
 * `.<name>.<pid>.<hex>.tmp`; those of live processes are kept). Returns how many were removed.
 */
export async function removeOrphanTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const t = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/.exec(n);
    if (t && !processAlive(Number(t[1]))) {
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: without force a missing file rejects, and the rejection is caught just after
      await fs.rm(path.join(dir, n), { force: true }).catch(() => undefined);
      removed++;
    }
  }
  return removed;
}

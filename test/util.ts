/**
 * Shared test helpers.
 */
import { expect } from 'chai';
import { GanvasError } from 'ganvas';

/** Awaits `p`, expects it to reject with a GanvasError (of `code`, when given), and returns the error. */
export async function rejectsGanvas(p: Promise<unknown>, code?: string): Promise<GanvasError> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(GanvasError);
    if (code) expect((e as GanvasError).code).to.equal(code);
    return e as GanvasError;
  }
  throw new Error('expected a GanvasError');
}

/** The same for synchronous code. */
export function throwsGanvas(fn: () => unknown, code?: string): GanvasError {
  try {
    fn();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(GanvasError);
    if (code) expect((e as GanvasError).code).to.equal(code);
    return e as GanvasError;
  }
  throw new Error('expected a GanvasError');
}

/**
 * An .npy file made by hand from its header dict text and data bytes (format version `major`); with `padTo`, the
 * header is padded with spaces so that the data starts at an offset ≡ padTo (mod 4).
 */
export function handNpy(dict: string, data: Buffer = Buffer.alloc(0), major = 1, padTo?: number): Buffer {
  const pre = major === 1 ? 10 : 12;
  let text = dict;
  if (padTo !== undefined) while ((pre + text.length + 1) % 4 !== padTo) text += ' ';
  const header = Buffer.from(`${text}\n`, 'latin1');
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]).copy(head);
  head[6] = major;
  if (major === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, header, data]);
}

async function written(stream: NodeJS.WriteStream, fn: () => Promise<unknown>): Promise<string> {
  const write = stream.write;
  let out = '';
  stream.write = ((s: string) => ((out += String(s)), true)) as typeof stream.write;
  try {
    await fn();
  } finally {
    stream.write = write;
  }
  return out;
}

/** What fn writes to process.stdout (captured, not shown). */
export function stdoutOf(fn: () => Promise<unknown>): Promise<string> {
  return written(process.stdout, fn);
}

/** What fn writes to process.stderr (captured, not shown). */
export function stderrOf(fn: () => Promise<unknown>): Promise<string> {
  return written(process.stderr, fn);
}

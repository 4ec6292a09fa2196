/**
 * NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order), so activation vectors and tensors travel to and
 * from Python users' numpy code.
 */
import { promises as fs } from 'fs';
import { GanvasError, describeError } from '../errors';
import { writeFileAtomic } from '../io';
import { FloatTensor } from './tensor';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

type Reader = (b: Buffer, off: number) => number;
const READERS: Record<string, [number, Reader]> = {
  '<f4': [4, (b, o) => b.readFloatLE(o)],
  '<f8': [8, (b, o) => b.readDoubleLE(o)],
  '<i4': [4, (b, o) => b.readInt32LE(o)],
  '<i8': [8, (b, o) => Number(b.readBigInt64LE(o))],
  '|u1': [1, (b, o) => b.readUInt8(o)],
  '|b1': [1, (b, o) => b.readUInt8(o)],
  '<u2': [2, (b, o) => b.readUInt16LE(o)],
  '<f2': [2, (b, o) => halfToFloat(b.readUInt16LE(o))],
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Reads an .npy buffer into a float32 tensor (other numeric dtypes are converted); given a path, reads the file
 * (a promise).
 */
export function readNpy(file: string): Promise<FloatTensor & { dtype: string }>;
export function readNpy(buf: Uint8Array): FloatTensor & { dtype: string };
export function readNpy(buf: Uint8Array | string): (FloatTensor & { dtype: string }) | Promise<FloatTensor & { dtype: string }> {
  if (typeof buf === 'string') {
    const file = buf;
    return fs.readFile(file).then(
      (bytes) => readNpy(bytes),
      (e: unknown) => {
        throw new GanvasError('BAD_NPY', `cannot read ${file}: ${describeError(e)}`, { cause: e });
      },
    );
  }
  if (!(buf instanceof Uint8Array)) {
    throw new GanvasError('BAD_NPY', `readNpy takes the bytes of an .npy file (a Buffer) or its path, got ${typeof buf}`);
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) {
    throw new GanvasError('BAD_NPY', 'not a .npy file: it does not start with \\x93NUMPY (save it with numpy.save)');
  }
  const major = b[6];
  if (major !== 1 && major !== 2 && major !== 3) throw new GanvasError('BAD_NPY', `.npy format version ${major} is not supported (1, 2 or 3)`);
  if (major !== 1 && b.length < 12) throw new GanvasError('BAD_NPY', '.npy file is truncated inside its header');
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > b.length) throw new GanvasError('BAD_NPY', `.npy file is truncated: its header says ${headerLen} bytes, the file has ${b.length}`);
  // Stryker disable next-line ConditionalExpression: a version 2/3 header read from byte 10 only gains the length field's high bytes, which no pattern below matches
  const header = b.subarray(major === 1 ? 10 : 12, start).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new GanvasError('BAD_NPY', `unreadable .npy header: ${header.trim()}`);
  if (fortran) throw new GanvasError('BAD_NPY', 'Fortran-ordered .npy arrays are not supported; save np.ascontiguousarray(a)');
  const reader = READERS[descr];
  if (!reader) {
    throw new GanvasError('BAD_NPY', `.npy dtype ${descr} is not supported; use float32 (a.astype(np.float32))`);
  }
  const dimTexts = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  // Dimensions are non-negative integers written in decimal (numpy may write "3L" in old files); anything else —
  // "-2", "1.5", "1e9" — is a corrupt header, not a shape (measured before: dims [-2, -3] were returned).
  if (!dimTexts.every((t) => /^\d{1,12}L?$/.test(t))) {
    throw new GanvasError('BAD_NPY', `.npy header has shape (${shapeText}); dimensions must be non-negative integers`);
  }
  // Stryker disable next-line Regex: the shape check above allows an L only at the end
  const dims = dimTexts.map((t) => Number(t.replace(/L$/, '')));
  const count = dims.reduce((x, y) => x * y, 1);
  if (count > 2 ** 30) {
    throw new GanvasError('BAD_NPY', `.npy shape (${dims.join(', ')}) holds ${count} values; ganvas reads at most 2^30 (4 GiB of float32)`);
  }
  const [size, read] = reader;
  if (b.length < start + count * size) {
    throw new GanvasError('BAD_NPY', `.npy file is truncated: shape (${dims.join(', ')}) needs ${count * size} data bytes, found ${b.length - start}`);
  }
  const data = new Float32Array(count);
  // Stryker disable next-line ConditionalExpression,StringLiteral: the element-wise path gives the same values, only slower
  if (descr === '<f4' && (b.byteOffset + start) % 4 === 0) {
    data.set(new Float32Array(b.buffer, b.byteOffset + start, count));
  } else {
    for (let i = 0; i < count; i++) data[i] = read(b, start + i * size);
  }
  return { data, dims, dtype: descr };
}

/**
 * A float32 tensor as .npy (format 1.0): `writeNpy(t)` returns the bytes; `writeNpy(path, t)` writes the file
 * atomically (never half-written) and resolves when it is there.
 */
export function writeNpy(file: string, t: FloatTensor): Promise<void>;
export function writeNpy(t: FloatTensor): Buffer;
export function writeNpy(a: FloatTensor | string, b?: FloatTensor): Buffer | Promise<void> {
  if (typeof a === 'string') {
    if (!b || !(b.data instanceof Float32Array)) {
      return Promise.reject(new GanvasError('BAD_INPUT', `writeNpy(path, tensor) needs a tensor ({ data: Float32Array, dims }) after the path`));
    }
    return writeFileAtomic(a, npyBytes(b));
  }
  return npyBytes(a);
}

function npyBytes(t: FloatTensor): Buffer {
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so that the data starts on a multiple of 64 bytes, as numpy does; the header ends with a newline.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

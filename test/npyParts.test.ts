/**
 * .npy reading and writing against numpy itself (issue 19): numpy writes every dtype ganvas reads, in format
 * versions 1, 2 and 3, and its own float32 conversion of the values is the expected result; numpy reads back what
 * ganvas writes, for every rank. Corrupt headers are refused by what is wrong with them.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GanvasError, readNpy, writeNpy } from 'ganvas';
import { handNpy } from './util';

const PY = '/usr/bin/python3';

/** Expected values as numpy prints them after .astype(float32): finite numbers, or 'nan' / 'inf' / '-inf'. */
type Value = number | 'nan' | 'inf' | '-inf';

function same(actual: Float32Array, expected: Value[], what: string): void {
  expect(actual.length, what).to.equal(expected.length);
  expected.forEach((e, i) => {
    const a = actual[i];
    if (e === 'nan') expect(Number.isNaN(a), `${what}[${i}]`).to.equal(true);
    else if (e === 'inf') expect(a, `${what}[${i}]`).to.equal(Infinity);
    else if (e === '-inf') expect(a, `${what}[${i}]`).to.equal(-Infinity);
    else expect(Object.is(a, e) || a === e, `${what}[${i}]: ${a} vs ${e}`).to.equal(true);
  });
}

function refusedNpy(buf: Uint8Array, pattern: RegExp): void {
  try {
    readNpy(buf);
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    expect((e as GanvasError).code).to.equal('BAD_NPY');
    expect((e as Error).message).to.match(pattern);
    return;
  }
  throw new Error(`expected readNpy to refuse: ${pattern}`);
}


describe('.npy against numpy', function () {
  this.timeout(60000);
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-npy-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads every supported dtype numpy writes, in format versions 1, 2 and 3, as numpy converts it to float32', () => {
    const script = `
import json, sys, warnings, numpy as np
from numpy.lib import format as F
warnings.simplefilter('ignore')  # 1e300 → float32 overflows to inf on purpose
d = sys.argv[1]
cases = {
  'f4': np.array([[-0.5, 1e-40, 3.4e38], [np.nan, np.inf, -0.0]], dtype='<f4'),
  'f8': np.array([1.5, -2.25, 1e-300, 1e300, 0.1], dtype='<f8'),
  'i4': np.array([[[-2147483648, 7], [0, 2147483647]]], dtype='<i4'),
  'i8': np.array([1, -2, 40000000000, 2**53 + 1], dtype='<i8'),
  'u1': np.array([0, 1, 128, 255], dtype='|u1'),
  'b1': np.array([True, False, True], dtype='|b1'),
  'u2': np.array([0, 65535, 300], dtype='<u2'),
  'f2': np.array([1.0, -2.5, 6.1e-5, 5.96e-8, -0.0, 65504, np.inf, -np.inf, np.nan, 0.333], dtype='<f2'),
  'scalar': np.array(2.5, dtype='<f4'),
  'empty': np.zeros((0, 3), dtype='<f4'),
}
out = {}
for name, a in cases.items():
  for v in (1, 2, 3):
    p = f'{d}/{name}_v{v}.npy'
    with open(p, 'wb') as f:
      F.write_array(f, a, version=(v, 0))
    vals = [x if np.isfinite(x) else ('nan' if np.isnan(x) else ('inf' if x > 0 else '-inf')) for x in a.astype(np.float32).ravel().tolist()]
    out[f'{name}_v{v}'] = [list(a.shape), a.dtype.str, vals]
print(json.dumps(out))
`;
    const cases = JSON.parse(execFileSync(PY, ['-c', script, dir]).toString()) as Record<string, [number[], string, Value[]]>;
    expect(Object.keys(cases).length).to.equal(30);
    for (const [name, [shape, dtype, values]] of Object.entries(cases)) {
      const bytes = readFileSync(path.join(dir, `${name}.npy`));
      const t = readNpy(bytes);
      expect(t.dims, name).to.deep.equal(shape);
      expect(t.dtype, name).to.equal(dtype);
      same(t.data, values, name);
      // The same bytes one byte off a 4-byte boundary (float32 data then cannot be viewed in place).
      const shifted = Buffer.concat([Buffer.alloc(1), bytes]).subarray(1);
      same(readNpy(shifted).data, values, `${name} unaligned`);
    }
  });

  it('writes what numpy reads back exactly, for ranks 0 to 5, with the header padded to 64 bytes', async () => {
    const shapes = [[], [5], [1], [2, 3], [0, 3], [2, 1, 3, 2], [1, 2, 1, 2, 3]];
    const files: string[] = [];
    for (const [i, dims] of shapes.entries()) {
      const n = dims.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, k) => (k - 2.5) / 7);
      const bytes = writeNpy({ data, dims });
      expect((10 + bytes.readUInt16LE(8)) % 64, `dims [${dims}]`).to.equal(0);
      expect(bytes[10 + bytes.readUInt16LE(8) - 1]).to.equal(0x0a);
      const file = path.join(dir, `w${i}.npy`);
      await writeNpy(file, { data, dims });
      files.push(file);
      const back = readNpy(await fs.readFile(file));
      expect(back.dims).to.deep.equal(dims);
      expect(Array.from(back.data)).to.deep.equal(Array.from(data));
    }
    const py = execFileSync(PY, [
      '-c',
      'import json, sys, numpy as np\nprint(json.dumps([[str(a.dtype), list(a.shape), a.ravel().tolist(), bool(a.flags.c_contiguous)] for a in (np.load(p) for p in sys.argv[1:])]))',
      ...files,
    ]).toString();
    const read = JSON.parse(py) as [string, number[], number[], boolean][];
    read.forEach(([dtype, shape, values, c], i) => {
      expect(dtype).to.equal('float32');
      expect(shape).to.deep.equal(shapes[i]);
      expect(c).to.equal(true);
      const n = shapes[i].reduce((a, b) => a * b, 1);
      expect(values).to.deep.equal(Array.from(Float32Array.from({ length: n }, (_, k) => (k - 2.5) / 7)));
    });
  });

  it('writeNpy(path, …) refuses a missing tensor; readNpy(path) names an unreadable file; other arguments refused by type', async () => {
    let e: unknown;
    await writeNpy(path.join(dir, 'x.npy'), undefined as never).catch((err: unknown) => (e = err));
    expect(e).to.be.instanceOf(GanvasError);
    expect((e as Error).message).to.match(/needs a tensor \(\{ data: Float32Array, dims \}\) after the path/);
    await writeNpy(path.join(dir, 'y.npy'), { data: [1, 2] as never, dims: [2] }).catch((err: unknown) => (e = err));
    expect((e as Error).message).to.match(/needs a tensor/);
    await fs.access(path.join(dir, 'y.npy')).then(() => expect.fail('y.npy written'), () => undefined);
    const missing = path.join(dir, 'missing.npy');
    await readNpy(missing).then(() => expect.fail('read'), (err: unknown) => (e = err));
    expect((e as GanvasError).code).to.equal('BAD_NPY');
    expect((e as Error).message).to.include(`cannot read ${missing}: ENOENT`);
    expect(() => readNpy(42 as never)).to.throw(GanvasError, /takes the bytes of an \.npy file \(a Buffer\) or its path, got number/);
  });

  it('refuses corrupt files by what is wrong', () => {
    const f4 = (shape: string) => handNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`, Buffer.alloc(8));
    expect(Array.from(readNpy(f4('(2,)')).data)).to.deep.equal([0, 0]);
    expect(readNpy(f4('(2L,)')).dims).to.deep.equal([2]);
    refusedNpy(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0]), /does not start with \\x93NUMPY/); // 9 bytes
    refusedNpy(Buffer.from('\x93NUMPZ\x01\x00\x00\x00', 'latin1'), /does not start/);
    const v4 = f4('(2,)');
    v4[6] = 4;
    refusedNpy(v4, /format version 4 is not supported \(1, 2 or 3\)/);
    const v0 = f4('(2,)');
    v0[6] = 0;
    refusedNpy(v0, /format version 0/);
    const shortV2 = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0]);
    refusedNpy(shortV2, /truncated inside its header/);
    const long = handNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }`);
    long.writeUInt16LE(500, 8);
    refusedNpy(long, /header says 500 bytes, the file has/);
    refusedNpy(handNpy(`{'fortran_order': False, 'shape': (1,), }`), /unreadable \.npy header: \{'fortran_order'/);
    refusedNpy(handNpy(`{'descr': '<f4', 'fortran_order': False, }`), /unreadable \.npy header/);
    refusedNpy(handNpy(`{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }`, Buffer.alloc(4)), /Fortran-ordered/);
    refusedNpy(handNpy(`{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }`, Buffer.alloc(4)), /dtype >f4 is not supported; use float32/);
    refusedNpy(handNpy(`{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }`, Buffer.alloc(8)), /dtype <c8/);
    for (const bad of ['(-2, 3)', '(1.5,)', '(1e9,)', '(x,)', '(1234567890123,)']) refusedNpy(f4(bad), /dimensions must be non-negative integers/);
    refusedNpy(f4('(1073741825,)'), /holds 1073741825 values; ganvas reads at most 2\^30/);
    refusedNpy(f4('(3,)'), /shape \(3\) needs 12 data bytes, found 8/);
    // 2^30 values exactly is allowed by the count check (and then refused as truncated, not by size).
    refusedNpy(f4('(1073741824,)'), /truncated: shape \(1073741824\) needs 4294967296 data bytes/);
    // Version 2 and 3 headers have a 4-byte length.
    const v2 = handNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }`, Buffer.from(new Float32Array([1, -1]).buffer), 2);
    expect(Array.from(readNpy(v2).data)).to.deep.equal([1, -1]);
  });
});

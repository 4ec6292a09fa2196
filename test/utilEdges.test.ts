/**
 * Edge cases of the shared helpers that the first round of mutation testing showed unchecked (issue 19): a race
 * for the same directory, error codes a root user never sees (EPERM), .npy headers spelt without spaces or longer
 * than 64 KiB, multi-axis messages, and the internals plainObject / fitsMemory / ownValue. In its own file so that
 * results recorded against validateParts, ioParts, tensorParts and npyParts stay valid for `--incremental`.
 */
import { expect } from 'chai';
import * as fsSync from 'fs';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspect } from 'util';
import { GanvasError, concatBatch, describeTensor, ensureDir, finiteVector, nchw, readNpy, tensor, writeFileAtomic, zeros } from 'ganvas';
import { handNpy } from './util';

const dist = path.dirname(require.resolve('ganvas'));
const internal = <T>(file: string): T => require(path.join(dist, file)) as T;

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e, 'expected a rejection').to.be.instanceOf(Error);
  return e as Error;
}


describe('shared helpers: edge cases (issue 19)', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-edges-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a GanvasError counts as frames only lines that start with "at", not a message that contains " at "', () => {
    const e = new GanvasError('RUNTIME', 'failed at step 3');
    e.stack = 'GanvasError: failed at step 3\n    at a (f:1)';
    expect(inspect(e)).to.equal('GanvasError [RUNTIME]: failed at step 3\n    at a (f:1)');
  });

  it('ensureDir makes only the directories asked for (relative paths too)', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await ensureDir(path.join('p', 'q'));
      await writeFileAtomic(path.join('r', 'f.txt'), 'x');
    } finally {
      process.chdir(cwd);
    }
    expect((await fs.readdir(dir)).sort()).to.deep.equal(['p', 'r']);
    expect(await fs.readdir(path.join(dir, 'p'))).to.deep.equal(['q']);
  });

  it('ensureDir when another process wins the race: its directory is fine, its file is refused, a phantom EEXIST is refused', async () => {
    const real = fsSync.promises.mkdir;
    const target = path.join(dir, 'a', 'b');
    const patch = (before: (p: string) => Promise<void>) => {
      (fsSync.promises as { mkdir: unknown }).mkdir = async (p: string, o?: unknown) => {
        if (p === path.join(dir, 'a')) await before(p);
        return real.call(fsSync.promises, p, o as never);
      };
    };
    try {
      patch(async (p) => void (await real.call(fsSync.promises, p)));
      await ensureDir(target);
      expect((await fs.stat(target)).isDirectory()).to.equal(true);
      await fs.rm(path.join(dir, 'a'), { recursive: true });

      patch(async (p) => fs.writeFile(p, 'a file'));
      const file = await rejected(ensureDir(target));
      expect(file.message).to.equal(`cannot create directory ${path.join(dir, 'a')}: something else already exists there (EEXIST); choose a writable directory`);
      await fs.rm(path.join(dir, 'a'));

      (fsSync.promises as { mkdir: unknown }).mkdir = async (p: string) => {
        throw Object.assign(new Error(`EEXIST: ${p}`), { code: 'EEXIST' });
      };
      const phantom = await rejected(ensureDir(target));
      expect(phantom.message).to.equal(`cannot create directory ${path.join(dir, 'a')}: something else already exists there (EEXIST); choose a writable directory`);
    } finally {
      (fsSync.promises as { mkdir: unknown }).mkdir = real;
    }
  });

  it('pathError takes null and undefined; processAlive reads EPERM as running (another user) and ESRCH as gone', () => {
    const io = internal<{ pathError(a: string, p: string, e: unknown): Error; processAlive(pid: number): boolean }>('io.js');
    expect(io.pathError('write', '/x', null).message).to.equal('cannot write /x: null; choose a writable directory');
    expect(io.pathError('write', '/x', undefined).message).to.equal('cannot write /x: undefined; choose a writable directory');
    const kill = process.kill;
    try {
      (process as { kill: unknown }).kill = () => {
        throw Object.assign(new Error('not permitted'), { code: 'EPERM' });
      };
      expect(io.processAlive(424242)).to.equal(true);
      (process as { kill: unknown }).kill = () => {
        throw Object.assign(new Error('no such process'), { code: 'ESRCH' });
      };
      expect(io.processAlive(424242)).to.equal(false);
    } finally {
      process.kill = kill;
    }
  });

  it('.npy: headers without spaces or with several, 10- and 12-byte files, a header over 64 KiB, 2-D shapes in messages, the cause kept', async () => {
    const f = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const tight = readNpy(handNpy("{'descr':'<f4','fortran_order':False,'shape':(2,3),}", f));
    expect(tight.dims).to.deep.equal([2, 3]);
    expect(Array.from(tight.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(() => readNpy(handNpy("{'descr':'<f4','fortran_order':True,'shape':(6,),}", f))).to.throw(GanvasError, /Fortran-ordered/);
    const wide = readNpy(handNpy("{'descr':   '<f4', 'fortran_order':  False, 'shape':    (3, 2), }", f));
    expect(wide.dims).to.deep.equal([3, 2]);
    // 10 bytes: magic, version 1, header length 0 → an empty header, not "not a .npy file".
    const ten = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    expect(thrown(() => readNpy(ten)).message).to.equal('unreadable .npy header: ');
    const twelve = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
    expect(thrown(() => readNpy(twelve)).message).to.equal('unreadable .npy header: ');
    const eleven = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0, 0x20]);
    expect(thrown(() => readNpy(Buffer.concat([eleven.subarray(0, 8), Buffer.from([1, 0]), Buffer.from(' ')]))).message).to.equal('unreadable .npy header: ');
    // Version 2 with a 70,000-byte header: its length needs all four bytes.
    const big = handNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }${' '.repeat(70000)}`, f, 2);
    expect(big.readUInt32LE(8)).to.be.above(65536);
    expect(Array.from(readNpy(big).data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const untrimmed = thrown(() => readNpy(handNpy("{'fortran_order': False, 'shape': (1,), }   ", f)));
    expect(untrimmed.message).to.equal("unreadable .npy header: {'fortran_order': False, 'shape': (1,), }");
    expect(thrown(() => readNpy(handNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5), }", f))).message).to.equal(
      '.npy file is truncated: shape (2, 5) needs 40 data bytes, found 24',
    );
    expect(thrown(() => readNpy(handNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 16385), }", f))).message).to.match(
      /^\.npy shape \(65536, 16385\) holds 1073807360 values/,
    );
    // Data starting at byte 1 (mod 4) of a buffer that itself starts at byte 1 (mod 4): 2 off alignment.
    for (const padTo of [0, 1, 2, 3]) {
      const file = handNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f, 1, padTo);
      for (const shift of [0, 1, 2, 3]) {
        const buf = Buffer.concat([Buffer.alloc(shift), file]).subarray(shift);
        expect(Array.from(readNpy(buf).data), `pad ${padTo} shift ${shift}`).to.deep.equal([1, 2, 3, 4, 5, 6]);
      }
    }
    const missing = path.join(dir, 'none.npy');
    const e = await rejected(readNpy(missing));
    expect((e.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  it('tensor messages list every axis; one bad axis among good ones is refused; concatBatch refuses a partial match', () => {
    expect(thrown(() => tensor([], [2, -1])).message).to.equal('tensor dims must be non-negative integers, got [2, -1]');
    expect(thrown(() => nchw(tensor([1, 2], [1, 2]))).message).to.equal('tensor must be 4-D (N, C, H, W), got dims [1, 2]');
    const a = zeros([1, 2, 3]);
    expect(thrown(() => concatBatch([a, zeros([1, 2, 4])])).message).to.equal('cannot concatenate tensors of dims [1, 2, 3] and [1, 2, 4] along axis 0');
  });

  it("describeTensor's image hint needs 4-D; the display property is hidden from spreads and replaceable", () => {
    expect(describeTensor(zeros([2, 3, 4]))).to.equal('FloatTensor [2, 3, 4] float32 (24 values; min 0.0000, max 0.0000, mean 0.0000)');
    expect(describeTensor(zeros([2, 1, 4]))).to.not.include('image');
    const t = zeros([2]);
    expect(Object.getOwnPropertySymbols({ ...t })).to.deep.equal([]);
    const d = Object.getOwnPropertyDescriptor(t, inspect.custom);
    expect([d?.enumerable, d?.configurable]).to.deep.equal([false, true]);
    const { withSummary } = internal<{ withSummary: <T extends object>(o: T, s: (o: T) => string) => T }>('runtime/describe.js');
    const o = withSummary({ a: 1 }, () => 's');
    expect(Object.getOwnPropertySymbols({ ...o })).to.deep.equal([]);
    const od = Object.getOwnPropertyDescriptor(o, inspect.custom);
    expect([od?.enumerable, od?.configurable]).to.deep.equal([false, true]);
  });

  it('finiteVector refuses an array mixing numbers and strings; plainObject, fitsMemory, ownValue by hand', () => {
    expect(thrown(() => finiteVector([1, '2'], 'v')).message).to.equal('v must be a Float32Array (or an array of numbers), got [1,"2"]');
    const v = internal<{
      plainObject(value: unknown, what: string, code?: string): Record<string, unknown>;
      fitsMemory(count: number, perSample: number, what: string): void;
      ownValue<T>(r: Record<string, T>, k: string): T | undefined;
      MAX_BATCH_FLOATS: number;
    }>('validate.js');
    const obj = { a: 1 };
    expect(v.plainObject(obj, 'opts')).to.equal(obj);
    for (const bad of [null, [1], 'x', 3, undefined]) {
      const e = thrown(() => v.plainObject(bad, 'opts')) as GanvasError;
      expect(e.message).to.match(/^opts must be an object, got /);
      expect(e.code).to.equal('BAD_INPUT');
    }
    expect((thrown(() => v.plainObject(null, 'm', 'BAD_MANIFEST')) as GanvasError).code).to.equal('BAD_MANIFEST');
    v.fitsMemory(2 ** 28, 1, 'count');
    v.fitsMemory(2, 2 ** 27, 'count');
    expect(thrown(() => v.fitsMemory(3, 2 ** 27, 'count')).message).to.equal(
      'count = 3 needs 3 × 134217728 floats (1.5 GiB) at once; use at most 2, or split the work into several calls',
    );
    expect(thrown(() => v.fitsMemory(2 ** 28 + 1, 1, 'n')).message).to.match(/use at most 268435456,/);
    expect(thrown(() => v.fitsMemory(2 ** 40, 0.5, 'n')).message).to.match(/use at most 268435456,/);
    expect(thrown(() => v.fitsMemory(2, 2 ** 29, 'n')).message).to.match(/\(4\.0 GiB\) at once; use at most 1,/);
    expect(v.ownValue({ a: 1 }, 'a')).to.equal(1);
    expect(v.ownValue({ a: 1 }, 'constructor')).to.equal(undefined);
    expect(v.ownValue({ a: 1 }, 'toString')).to.equal(undefined);
  });
});

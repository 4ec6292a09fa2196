/**
 * src/io.ts by hand-worked cases (issue 19): atomic writes leave no temporary behind and create missing parents;
 * impossible paths are refused quickly, naming the path and the reason; orphaned temporaries of dead processes are
 * removed and those of live ones kept.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GanvasError, ensureDir, removeOrphanTemps, writeFileAtomic } from 'ganvas';

interface IoInternals {
  pathError(action: string, p: string, e: unknown): GanvasError;
  processAlive(pid: number): boolean;
}
const io = (): IoInternals => require(path.join(path.dirname(require.resolve('ganvas')), 'io.js')) as IoInternals;

async function rejection(p: Promise<unknown>): Promise<GanvasError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    expect((e as GanvasError).code).to.equal('BAD_PATH');
    return e as GanvasError;
  }
  throw new Error('expected a refusal');
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('io: atomic writes and paths', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-io-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writeFileAtomic creates missing parents, replaces the file whole and leaves nothing else', async () => {
    const file = path.join(dir, 'a', 'b', 'c', 'out.bin');
    await writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    expect([...(await fs.readFile(file))]).to.deep.equal([1, 2, 3]);
    await writeFileAtomic(file, 'text');
    expect(await fs.readFile(file, 'utf8')).to.equal('text');
    expect(await fs.readdir(path.join(dir, 'a', 'b', 'c'))).to.deep.equal(['out.bin']);
    // Relative paths resolve against the working directory.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await writeFileAtomic(path.join('rel', 'x.txt'), 'r');
    } finally {
      process.chdir(cwd);
    }
    expect(await fs.readFile(path.join(dir, 'rel', 'x.txt'), 'utf8')).to.equal('r');
  });

  it('refuses empty names, NUL bytes, a directory as the file and a file on the way', async () => {
    expect((await rejection(writeFileAtomic('', 'x'))).message).to.equal('a file name must be a non-empty path string, got ""');
    expect((await rejection(writeFileAtomic(path.join(dir, 'a\0b'), 'x'))).message).to.match(/^a file name must be a non-empty path string, got ".*\\u0000b"$/);
    expect((await rejection(writeFileAtomic(7 as never, 'x'))).message).to.match(/got 7$/);
    expect((await rejection(writeFileAtomic(dir, 'x'))).message).to.equal(`cannot write ${dir}: it is a directory (EISDIR); give a file name`);
    const file = path.join(dir, 'f');
    await fs.writeFile(file, 'f');
    expect((await rejection(ensureDir(file))).message).to.equal(`cannot create directory ${file}: ${file} is a file, not a directory (ENOTDIR); choose another path`);
    const under = path.join(file, 'x', 'y.txt');
    expect((await rejection(writeFileAtomic(under, 'x'))).message).to.equal(
      `cannot create directory ${path.join(file, 'x')}: a part of the path is a file, not a directory (ENOTDIR); choose a writable directory`,
    );
    expect((await rejection(ensureDir(''))).message).to.equal('a directory must be a non-empty path string, got ""');
    expect((await rejection(ensureDir('a\0'))).message).to.match(/^a directory must be a non-empty path string/);
    expect((await rejection(ensureDir(undefined as never))).message).to.match(/got undefined$/);
    expect(await fs.readdir(dir)).to.deep.equal(['f']);
  });

  it('refuses at once where no directory can be made (/proc), naming the first one that cannot', async () => {
    const e = await rejection(ensureDir('/proc/ganvas-x/y'));
    expect(e.message).to.equal('cannot create directory /proc/ganvas-x: a directory on the way does not exist and cannot be created there (ENOENT); choose a writable directory');
    expect((e.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
    const w = await rejection(writeFileAtomic('/proc/ganvas-file', 'x'));
    expect(w.message).to.match(/^cannot write \/proc\/ganvas-file: .* \((ENOENT|EACCES|EPERM)\); choose a writable directory$/);
  });

  it('ensureDir is idempotent and safe when several calls race for the same directories', async () => {
    const target = path.join(dir, 'p', 'q', 'r');
    await Promise.all(Array.from({ length: 8 }, () => ensureDir(target)));
    expect((await fs.stat(target)).isDirectory()).to.equal(true);
    await ensureDir(target);
    await ensureDir(dir);
  });

  it('pathError: a GanvasError passes through; known codes in words, others by message', () => {
    const { pathError } = io();
    const g = new GanvasError('BAD_INPUT', 'kept');
    expect(pathError('write', 'x', g)).to.equal(g);
    const full = Object.assign(new Error('raw'), { code: 'ENOSPC' });
    expect(pathError('write', '/x', full).message).to.equal('cannot write /x: the disk is full (ENOSPC); choose a writable directory');
    expect(pathError('write', '/x', full).cause).to.equal(full);
    const other = Object.assign(new Error('strange failure'), { code: 'EWHAT' });
    expect(pathError('write', '/x', other).message).to.equal('cannot write /x: strange failure (EWHAT); choose a writable directory');
    expect(pathError('write', '/x', new Error('no code')).message).to.equal('cannot write /x: no code; choose a writable directory');
    expect(pathError('write', '/x', 'plain').message).to.equal('cannot write /x: plain; choose a writable directory');
    const words: Record<string, string> = {
      ENOTDIR: 'a part of the path is a file, not a directory',
      EISDIR: 'it is a directory; give a file name',
      EEXIST: 'something else already exists there',
      EACCES: 'permission denied',
      EPERM: 'the operation is not permitted there',
      EROFS: 'the file system is read-only',
      ENAMETOOLONG: 'the name is too long',
    };
    for (const [c, w] of Object.entries(words)) expect(pathError('open', 'p', Object.assign(new Error('m'), { code: c })).message).to.equal(`cannot open p: ${w} (${c}); choose a writable directory`);
    // An inherited property name is not an explanation.
    expect(pathError('open', 'p', Object.assign(new Error('m'), { code: 'constructor' })).message).to.equal('cannot open p: m (constructor); choose a writable directory');
  });

  it('processAlive: this process and pid 1 run, an exited child does not', () => {
    const { processAlive } = io();
    expect(processAlive(process.pid)).to.equal(true);
    expect(processAlive(1)).to.equal(true);
    expect(processAlive(deadPid())).to.equal(false);
  });

  it('removeOrphanTemps removes the temporaries of dead processes only, and only writeFileAtomic-shaped names', async () => {
    const dead = deadPid();
    const names = [
      `.scan.json.${dead}.0a1b2c3d.tmp`, // removed
      `.x.${dead}.ff.tmp`, // removed
      `.scan.json.${process.pid}.0a1b2c3d.tmp`, // live: kept
      `scan.json.${dead}.0a1b2c3d.tmp`, // no leading dot: kept
      `.scan.json.${dead}.0a1b2c3g.tmp`, // not hex: kept
      `.scan.json.${dead}.0a1b2c3d.tmpx`, // kept
      `.${dead}.0a.tmp`, // no name: kept
      'scan.json',
    ];
    for (const n of names) await fs.writeFile(path.join(dir, n), 'x');
    expect(await removeOrphanTemps(dir)).to.equal(2);
    expect((await fs.readdir(dir)).sort()).to.deep.equal(names.slice(2).sort());
    expect(await removeOrphanTemps(dir)).to.equal(0);
    expect(await removeOrphanTemps(path.join(dir, 'none'))).to.equal(0);
  });
});

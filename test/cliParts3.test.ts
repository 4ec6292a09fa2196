/**
 * The worker processes of `ganvas <command> --workers N` (issue 19, mutation testing of src/cli): the WorkerPool
 * against stand-in workers that follow the message protocol and then fail in each way a real one can (an error
 * reported at open or at a chunk, an exit, a signal), and the real worker module (dist/cli/worker.js) spoken to
 * directly: messages out of order, an unknown command, a chunk computed and written, the parent gone.
 */
import { expect } from 'chai';
import { fork } from 'child_process';
import { EventEmitter } from 'events';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli, ganvasHere, withEnv } from './cliHarness';
import { childEnv } from './mutationBridge';
import { tinyClassifier, tinyGenerator } from './models';
import { rejectsGanvas } from './util';

/**
 * A stand-in worker: its behaviour comes from the open message's `open.mode` (and its chunk's start). It reports,
 * as each chunk's progress, 100·GANVAS_WORKER + (1 when NODE_EXTRA_CA_CERTS reached it).
 */
const STAND_IN = `
let mode = 'ok';
process.on('message', (m) => {
  if (m.type === 'open') {
    mode = m.open.mode;
    if (mode === 'error-open') return process.send({ type: 'error', message: 'bad model' });
    if (mode === 'exit-open') return process.exit(3);
    process.send({ type: 'ready' });
  } else if (m.type === 'chunk') {
    const id = 100 * Number(process.env.GANVAS_WORKER) + (process.env.NODE_EXTRA_CA_CERTS ? 1 : 0);
    process.send({ type: 'progress', range: m.range, done: id });
    if (mode === 'error-chunk' && m.range[0] === 2) return process.send({ type: 'error', message: 'chunk broke' });
    if (mode === 'exit-chunk' && m.range[0] === 2) return process.exit(5);
    if (mode === 'kill-chunk' && m.range[0] === 2) return process.kill(process.pid, 'SIGKILL');
    setTimeout(() => process.send({ type: 'done', range: m.range }), 5);
  } else if (m.type === 'close') {
    process.exit(mode === 'exit-close' ? 2 : 0);
  }
});
process.on('disconnect', () => process.exit(0));
`;

describe('ganvas worker processes (WorkerPool, worker.js)', function () {
  this.timeout(120000);
  let dir: string;
  let standIn: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cliparts3-'));
    standIn = path.join(dir, 'stand-in.js');
    await fs.writeFile(standIn, STAND_IN);
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const open = (mode: string) => ({ type: 'open' as const, command: 'test', open: { mode }, threads: 1, workDir: dir, models: {} });
  const ranges = (): [number, number][] => [[0, 2], [2, 4], [4, 6], [6, 8], [8, 9]];

  it('hands every chunk out once, to whichever worker is free; workers start without NODE_EXTRA_CA_CERTS', async () => {
    const { WorkerPool } = cli.job();
    const before = process.listenerCount('SIGINT');
    const beforeTerm = process.listenerCount('SIGTERM');
    const done: number[] = [];
    const progress = new Map<number, number>();
    await withEnv({ NODE_EXTRA_CA_CERTS: path.join(dir, 'none.pem') }, async () => {
      const pool = new WorkerPool(3, standIn, open('ok'));
      expect(pool.size).to.equal(3);
      expect(process.listenerCount('SIGINT')).to.equal(before + 1);
      expect(process.listenerCount('SIGTERM')).to.equal(beforeTerm + 1);
      await pool.run(ranges(), (r, d) => progress.set(r[0], d), (r) => done.push(r[0]));
    });
    expect(done.sort((a, b) => a - b)).to.deep.equal([0, 2, 4, 6, 8]);
    expect([...progress.keys()].sort((a, b) => a - b)).to.deep.equal([0, 2, 4, 6, 8]);
    // Each chunk's worker: 0, 1 or 2 (GANVAS_WORKER), never with the CA bundle variable.
    expect([...progress.values()].every((v) => [0, 100, 200].includes(v)), String([...progress.values()])).to.equal(true);
    expect(process.listenerCount('SIGINT')).to.equal(before);
    expect(process.listenerCount('SIGTERM')).to.equal(beforeTerm);
  });

  it('fewer chunks than workers: the idle ones are closed at once', async () => {
    const { WorkerPool } = cli.job();
    const done: number[] = [];
    const pool = new WorkerPool(3, standIn, open('ok'));
    await pool.run([[0, 2]], () => undefined, (r) => done.push(r[0]));
    expect(done).to.deep.equal([0]);
  });

  it('each way a worker fails is one GanvasError that names the worker (and the items it was computing)', async () => {
    const { WorkerPool } = cli.job();
    const fail = async (mode: string, n = 2): Promise<string> => {
      const before = process.listenerCount('SIGTERM');
      const pool = new WorkerPool(n, standIn, open(mode));
      const e = await rejectsGanvas(pool.run(ranges(), () => undefined, () => undefined), 'RUNTIME');
      expect(process.listenerCount('SIGTERM'), 'signal handlers removed').to.equal(before);
      return e.message;
    };
    expect(await fail('error-open', 1)).to.equal('worker 0: bad model');
    expect(await fail('exit-open', 1)).to.equal('worker 0 exited with code 3 while opening its models');
    expect(await fail('error-chunk', 1)).to.equal('worker 0: chunk broke');
    expect(await fail('exit-chunk', 1)).to.equal('worker 0 exited with code 5 while computing items 2…3');
    expect(await fail('kill-chunk', 1)).to.equal('worker 0 exited with SIGKILL while computing items 2…3');
    expect(await fail('exit-close', 1)).to.equal('worker 0 exited with code 2');
    expect(await fail('error-chunk', 2)).to.match(/^worker [01]: chunk broke$/);
    expect(await fail('exit-chunk', 2)).to.match(/^worker [01] exited with code 5 while computing items 2…3$/);
  });

  it('kill() stops workers still opening, and removes its signal handlers', async () => {
    const { WorkerPool } = cli.job();
    const before = process.listenerCount('SIGINT');
    const slow = path.join(dir, 'slow.js');
    await fs.writeFile(slow, `process.on('message', () => undefined); setTimeout(() => undefined, 60000);`);
    const pool = new WorkerPool(2, slow, open('ok'));
    const children = (pool as unknown as { children: import('child_process').ChildProcess[] }).children;
    await new Promise((r) => setTimeout(r, 200));
    pool.kill();
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.on('exit', r)))));
    expect(children.map((c) => c.signalCode)).to.deep.equal(['SIGKILL', 'SIGKILL']);
    expect(process.listenerCount('SIGINT')).to.equal(before);
    pool.kill(); // again: nothing left to stop
  });

  describe('runJob with a pool', () => {
    /** The stand-in reports chunks done without writing their files; this process's task writes [from]. */
    const task = {
      open: async () => ({}),
      run: async (_c: unknown, r: [number, number]) => [r[0]],
      close: async () => undefined,
    };
    const plan = (work: string, total: number) => ({
      spec: { command: 'test', args: {}, models: {} }, total, chunkSize: 2, workDir: work, workers: 2, threads: 1, open: { mode: 'ok' }, progress: { label: 't', quiet: true },
    });

    it('two chunks or more go to the workers (here: reported done, never written, so missing)', async () => {
      const { runJob, WorkerPool } = cli.job();
      const work = path.join(dir, 'pool-many');
      const e = await rejectsGanvas(runJob(plan(work, 4), task, new WorkerPool(2, standIn, open('ok'))), 'RUNTIME');
      expect(e.message).to.match(new RegExp(`^chunk 0…1 is missing or unreadable \\(${path.join(work, 'chunk-000000000-000000002.json')}\\): .*ENOENT.*; rerun to recompute it$`));
      expect((e as Error & { cause?: { code?: string } }).cause?.code, 'the read error kept as the cause').to.equal('ENOENT');
    });

    it('one chunk left, or a pool of one: computed in this process, the pool stopped', async () => {
      const { runJob, WorkerPool } = cli.job();
      const sigint = process.listenerCount('SIGINT');
      expect(await runJob(plan(path.join(dir, 'pool-one'), 2), task, new WorkerPool(2, standIn, open('ok')))).to.deep.equal([[0]]);
      expect(process.listenerCount('SIGINT')).to.equal(sigint);
      expect(await runJob(plan(path.join(dir, 'pool-single'), 4), task, new WorkerPool(1, standIn, open('ok')))).to.deep.equal([[0], [2]]);
      expect(process.listenerCount('SIGINT')).to.equal(sigint);
      // Nothing left to compute: the pool is stopped all the same.
      expect(await runJob(plan(path.join(dir, 'pool-single'), 4), task, new WorkerPool(2, standIn, open('ok')))).to.deep.equal([[0], [2]]);
      expect(process.listenerCount('SIGINT')).to.equal(sigint);
    });
  });

  describe('when workers are started (fork replaced by a stand-in that records the open message, then refuses)', () => {
    let gen: string;
    let cls: string;
    before(async () => {
      gen = await tinyGenerator();
      cls = await tinyClassifier();
    });
    after(async () => {
      for (const d of [gen, cls]) await fs.rm(d, { recursive: true, force: true });
    });

    async function withForkRecorded(fn: (opened: { module: string; open: { type: string; command: string; threads: number; workDir: string; open: { count: number } } }[]) => Promise<void>): Promise<void> {
      const cp = require('child_process') as { fork: unknown };
      const real = cp.fork;
      const opened: { module: string; open: { type: string; command: string; threads: number; workDir: string; open: { count: number } } }[] = [];
      cp.fork = (module: string) => {
        const child = new EventEmitter() as EventEmitter & { exitCode: number | null; signalCode: string | null; send: (m: never) => boolean; kill: () => boolean };
        child.exitCode = null;
        child.signalCode = null;
        child.send = (m: { type: string }) => {
          if (m.type === 'open') {
            opened.push({ module, open: m as never });
            setImmediate(() => child.emit('message', { type: 'error', message: 'the stand-in refuses' }));
          }
          return true;
        };
        child.kill = () => {
          if (child.signalCode === null) {
            child.signalCode = 'SIGKILL';
            setImmediate(() => child.emit('exit', null, 'SIGKILL'));
          }
          return true;
        };
        return child;
      };
      try {
        await fn(opened);
      } finally {
        cp.fork = real;
      }
    }

    it('--workers N forks N workers (fewer when there are fewer chunks, none for one), each with the cores divided among them', async () => {
      const scanArgs = (n: number, more: string[]) => ['scan', '-g', gen, '-l', 'b8.conv1', '-f', cls, '--feature-layer', 'layer1', '-n', String(n), '--batch', '4', '-q', '-o', path.join(dir, `fork-${n}-${more.join('')}.json`), ...more];
      await withForkRecorded(async (opened) => {
        const r = await ganvasHere(scanArgs(12, ['--workers', '2']));
        expect(r.code).to.equal(1);
        expect(r.stderr).to.match(/^ganvas: error: worker [01]: the stand-in refuses\n$/);
        expect(opened.map((o) => path.relative(path.dirname(require.resolve('ganvas/package.json')), o.module))).to.deep.equal([path.join('dist', 'cli', 'worker.js'), path.join('dist', 'cli', 'worker.js')]);
        const threads = Math.max(1, Math.floor(os.cpus().length / 2));
        expect(opened.map((o) => [o.open.type, o.open.command, o.open.threads, o.open.open.count, path.basename(o.open.workDir)])).to.deep.equal([
          ['open', 'scan', threads, 12, `.fork-12---workers2.json.all.ganvas-work`], ['open', 'scan', threads, 12, `.fork-12---workers2.json.all.ganvas-work`],
        ]);
        opened.length = 0;
        expect((await ganvasHere(scanArgs(12, ['--workers', '5', '--threads', '3']))).code).to.equal(1);
        expect(opened.map((o) => o.open.threads), '3 chunks: 3 workers of the 5, 3 threads each').to.deep.equal([3, 3, 3]);
        opened.length = 0;
        expect((await ganvasHere(scanArgs(4, ['--workers', '2']))).code, 'one chunk: computed here').to.equal(0);
        expect((await ganvasHere(scanArgs(12, []))).code, 'the default: one process').to.equal(0);
        expect(opened).to.deep.equal([]);
      });
    });
  });

  describe('worker.js', () => {
    const WORKER = path.join(path.dirname(require.resolve('ganvas/package.json')), 'dist', 'cli', 'worker.js');

    /** Forks the worker, sends `messages` in order, collects its answers until it exits. */
    async function talk(messages: object[], disconnectAfter = false): Promise<{ got: { type: string; message?: string; code?: string; range?: number[]; done?: number }[]; code: number | null }> {
      const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: { ...process.env, ...childEnv() } });
      const got: { type: string; message?: string; code?: string }[] = [];
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.on('message', (m: { type: string }) => {
        got.push(m);
        if (disconnectAfter && m.type === 'done') child.disconnect();
      });
      for (const m of messages) child.send(m);
      const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 60000))]);
      if (code === null && child.exitCode === null) child.kill('SIGKILL');
      return { got, code };
    }

    it('a chunk before "open", or an unknown command: an error message and exit status 1', async () => {
      const early = await talk([{ type: 'chunk', range: [0, 1] }]);
      expect(early).to.deep.equal({ got: [{ type: 'error', message: 'a chunk came before "open"' }], code: 1 });
      const unknown = await talk([{ type: 'open', command: 'paint', open: {}, threads: 1, workDir: dir, models: {} }]);
      expect(unknown).to.deep.equal({ got: [{ type: 'error', message: 'no chunked task "paint"', code: 'BAD_INPUT' }], code: 1 });
    });

    it('opens the command\'s task, computes a chunk into its chunk file, reports progress, exits 0 on "close"', async () => {
      const gen = await tinyGenerator();
      const cls = await tinyClassifier();
      try {
        const work = path.join(dir, 'work');
        await fs.mkdir(work);
        const o = { generator: gen, layer: 'b8.conv1', features: cls, featureLayer: 'layer1', count: 6, seed: 0, grid: 2, erosion: null, batch: 3 };
        const r = await talk([{ type: 'open', command: 'scan', open: o, threads: 1, workDir: work, models: {} }, { type: 'chunk', range: [3, 6] }, { type: 'close' }]);
        expect(r.code).to.equal(0);
        expect(r.got.map((m) => m.type)).to.deep.equal(['ready', ...r.got.slice(1, -1).map(() => 'progress'), 'done']);
        expect(r.got.at(-1)).to.deep.equal({ type: 'done', range: [3, 6] });
        expect(r.got.slice(1, -1).every((m) => m.range?.[0] === 3 && m.range?.[1] === 6)).to.equal(true);
        expect(r.got.at(-2)?.done).to.equal(3);
        // The chunk file: the scan task's own result for items 3…5, computed here in this process.
        const file = cli.job().chunkFile(work, [3, 6]);
        const { scanTask } = cli.scan();
        const ctx = await scanTask.open(o, 1);
        try {
          const mine = await scanTask.run(ctx, [3, 6], { workDir: work, onProgress: () => undefined });
          expect(await fs.readFile(file, 'utf8')).to.equal(JSON.stringify(mine));
        } finally {
          await scanTask.close(ctx);
        }
        // The parent gone (its channel closed): the worker ends by itself, with status 0.
        const gone = await talk([{ type: 'open', command: 'scan', open: o, threads: 1, workDir: work, models: {} }, { type: 'chunk', range: [0, 3] }], true);
        expect(gone.code).to.equal(0);
        expect(gone.got.at(-1)).to.deep.equal({ type: 'done', range: [0, 3] });
      } finally {
        await fs.rm(gen, { recursive: true, force: true });
        await fs.rm(cls, { recursive: true, force: true });
      }
    });

    it('an error inside a chunk is reported with its code', async () => {
      const r = await talk([{ type: 'open', command: 'scan', open: { generator: path.join(dir, 'none'), layer: 'x', features: 'y', featureLayer: 'z', count: 1, seed: 0, grid: 2, erosion: null, batch: 1 }, threads: 1, workDir: dir, models: {} }]);
      expect(r.code).to.equal(1);
      expect(r.got).to.have.length(1);
      expect(r.got[0].type).to.equal('error');
      expect(r.got[0].message).to.match(/none/);
      expect(r.got[0].code).to.be.a('string');
    });
  });
});

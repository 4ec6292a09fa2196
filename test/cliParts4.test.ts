/**
 * What every `ganvas` batch command promises about its onnxruntime use (issue 19, mutation testing of src/cli):
 * the threads asked for (or the cores divided among the workers), no busy-waiting threads (RuntimeOptions.spinning:
 * a spinning thread takes the core the JavaScript needs, session.ts records 6.7 s against 4.2 s CPU for a scan), no
 * second start-up allocation for scan (memPattern), and every session released when the command or task ends.
 * Recorded by wrapping Runtime.prototype.session / release for the length of one call, so the command's own
 * Runtime is seen without changing the code under test.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Generator, Runtime, VectorLibrary, tensor, writeNpy } from 'ganvas';
import { Ran, cli, ganvasHere } from './cliHarness';
import { tinyClassifier, tinyGenerator } from './models';

interface Seen {
  options: Runtime['options'];
  sessions: number;
  released: boolean;
}

/** Runs fn with every Runtime that opens a session recorded: its options, its sessions, whether it was released. */
async function watchRuntimes<T>(fn: () => Promise<T>): Promise<{ value: T; runtimes: Seen[] }> {
  const proto = Runtime.prototype;
  const session = proto.session;
  const release = proto.release;
  const seen = new Map<Runtime, Seen>();
  const entry = (rt: Runtime): Seen => {
    let e = seen.get(rt);
    if (!e) seen.set(rt, (e = { options: rt.options, sessions: 0, released: false }));
    return e;
  };
  proto.session = function (this: Runtime, ...args: Parameters<Runtime['session']>) {
    const e = entry(this);
    e.sessions++;
    e.released = false;
    return session.apply(this, args);
  };
  proto.release = async function (this: Runtime) {
    await release.apply(this);
    if (seen.has(this)) entry(this).released = this.size === 0;
  };
  try {
    const value = await fn();
    return { value, runtimes: [...seen.values()] };
  } finally {
    proto.session = session;
    proto.release = release;
  }
}

function ok(r: Ran): void {
  expect(r.code, `ganvas failed:\n${r.stderr}`).to.equal(0);
}

describe('ganvas batch commands: onnxruntime options and release (in process)', function () {
  this.timeout(600000);
  let tmp: string;
  let gen: string;
  let cls: string;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cliparts4-'));
    gen = await tinyGenerator();
    cls = await tinyClassifier();
  });
  after(async () => {
    for (const d of [tmp, gen, cls]) await fs.rm(d, { recursive: true, force: true });
  });

  it('scan: the threads asked for, no spinning, no memory pattern; one runtime, released at the end', async () => {
    const { value: r, runtimes } = await watchRuntimes(() =>
      ganvasHere(['scan', '-g', gen, '-l', 'b8.conv1', '-f', cls, '--feature-layer', 'layer1', '-n', '4', '--batch', '2', '--threads', '2', '-q', '-o', path.join(tmp, 'scan.json')]),
    );
    ok(r);
    expect(runtimes).to.have.length(1);
    expect(runtimes[0].options).to.deep.equal({ threads: 2, executionProviders: ['cpu'], spinning: false, memPattern: false });
    expect(runtimes[0].sessions).to.be.greaterThan(0);
    expect(runtimes[0].released, 'released').to.equal(true);
  });

  it('the chunked tasks (scan, dataset, invert): open() makes such a runtime with the threads given; close() releases it', async () => {
    const lib = path.join(tmp, 'lib.json');
    {
      const rt = new Runtime();
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const c = cut.layer.channels;
      const library = VectorLibrary.for(cut);
      library.add('a', '#ff0000', Float32Array.from({ length: c }, (_, i) => i / c));
      library.add('b', '#0000ff', Float32Array.from({ length: c }, (_, i) => 1 - i / c));
      await library.save(lib);
      await rt.release();
    }
    const images = path.join(tmp, 'images.npy');
    // The tiny classifier reads 1×16×16 images.
    await writeNpy(images, tensor(Float32Array.from({ length: 2 * 16 * 16 }, (_, i) => (i % 7) / 7), [2, 1, 16, 16]));
    const tasks = [
      { name: 'scan', task: cli.scan().scanTask, open: { generator: gen, layer: 'b8.conv1', features: cls, featureLayer: 'layer1', count: 2, seed: 0, grid: 2, erosion: null, batch: 2 }, memPattern: false },
      { name: 'dataset', task: cli.dataset().datasetTask, open: { generator: gen, layer: 'b8.conv1', library: lib, count: 2, seed: 0, kind: 'blobs', classes: null, keepShare: null, out: path.join(tmp, 'ds') }, memPattern: true },
      { name: 'invert', task: cli.invert().invertTask, open: { classifier: cls, layer: 'layer1', method: 'plain', images, count: 2, steps: 1, lr: 0.05, seed: 0, batch: 2, range: [0, 1], pngDir: null }, memPattern: true },
    ] as const;
    for (const { name, task, open, memPattern } of tasks) {
      for (const threads of [1, 3]) {
        // Each task's open() and close() with its own (loosely typed) arguments.
        const t = task as unknown as {
          open(o: unknown, threads: number): Promise<{ rt: Runtime }>;
          run(ctx: unknown, r: [number, number], c: { workDir: string; onProgress: (d: number) => void }): Promise<unknown>;
          close(ctx: unknown): Promise<void>;
        };
        const ctx = await t.open(open, threads);
        expect(ctx.rt.options, `${name} with ${threads} threads`).to.deep.equal({ threads, executionProviders: ['cpu'], spinning: false, memPattern });
        const work = await fs.mkdtemp(path.join(tmp, `${name}-`));
        await t.run(ctx, [0, 1], { workDir: work, onProgress: () => undefined });
        expect(ctx.rt.size, `${name}: sessions open after a chunk`).to.be.greaterThan(0);
        await t.close(ctx);
        expect(ctx.rt.size, `${name}: released by close()`).to.equal(0);
      }
    }
  });

  it('grid-inversion: the threads asked for, no spinning; the runtime released also when the command fails', async () => {
    const args = ['grid-inversion', '-g', gen, '-l', 'b8.conv1', '-f', cls, '--feature-layer', 'layer1', '-n', '2', '--runs', '1', '--sizes', '0', '--steps', '1', '--batch', '2', '-q'];
    // 3 threads: not the default on any machine with other than 3 cores (the default is all cores, one process).
    const { value: r, runtimes } = await watchRuntimes(() => ganvasHere([...args, '--threads', '3', '-o', path.join(tmp, 'gi.json')]));
    ok(r);
    expect(r.stderr, '-q').to.equal('');
    expect(runtimes).to.have.length(1);
    expect(runtimes[0].options).to.deep.equal({ threads: 3, executionProviders: ['cpu'], spinning: false, memPattern: true });
    expect(runtimes[0].released).to.equal(true);
    const dflt = await watchRuntimes(() => ganvasHere([...args, '-o', path.join(tmp, 'gi-default.json')]));
    ok(dflt.value);
    expect(dflt.runtimes[0].options.threads, 'default: every core').to.equal(os.cpus().length);
    // A layer the generator does not have: refused after the generator's session was opened; still released.
    const bad = await watchRuntimes(() => ganvasHere(['grid-inversion', '-g', gen, '-l', 'no.such.layer', '-f', cls, '--feature-layer', 'layer1', '-q', '-o', path.join(tmp, 'gi2.json')]));
    expect(bad.value.code).to.equal(1);
    expect(bad.runtimes.every((e) => e.released)).to.equal(true);
  });

  it('stitch-train: the threads asked for, no spinning; released at the end', async () => {
    const args = [
      'stitch-train', '-c', 'fmnist-resnet', '--layer-x', 'layer1', '-g', 'fmnist-stylegan', '--test-network', 'fmnist-testnet', '--validation', 'fmnist-test:12', // a two-digit count
      '--epochs', '1', '--per-epoch', '4', '--batch', '4', '--init', 'default', '--threads', '3', '-q', '-o', path.join(tmp, 'st', 'stitch.json'),
    ];
    const { value: r, runtimes } = await watchRuntimes(() => ganvasHere(args));
    ok(r);
    expect(r.stderr, '-q').to.equal('');
    expect(runtimes).to.have.length(1);
    expect(runtimes[0].options).to.deep.equal({ threads: 3, executionProviders: ['cpu'], spinning: false, memPattern: true });
    expect(runtimes[0].released).to.equal(true);
  });

  it('stitch-train image sets: only the four names, anchored, with a count of any number of digits', async () => {
    const base = ['stitch-train', '-c', 'fmnist-resnet', '--layer-x', 'layer1', '-g', 'fmnist-stylegan', '--test-network', 'fmnist-testnet', '--epochs', '1', '-q', '-o', path.join(tmp, 'st-sets', 'stitch.json')];
    for (const bad of ['xfmnist-test', 'fmnist-test:', 'fmnist-test:1x', 'tissue']) {
      const r = await ganvasHere([...base, '--validation', bad]);
      expect(r.code, bad).to.equal(1);
      expect(r.stderr, bad).to.include(`the validation set must be fmnist-train, fmnist-test[:count], tissue-train or tissue-validation[:count], got "${bad}"`);
    }
    const t = await ganvasHere([...base, '--train', 'fmnist-tests', '--validation', 'fmnist-test:4']);
    expect(t.code).to.equal(1);
    expect(t.stderr).to.include('the train set must be');
  });

  it('a job whose settings are refused after its models were opened releases them (scan --grid larger than the layer)', async () => {
    const scanBad = await watchRuntimes(() =>
      ganvasHere(['scan', '-g', gen, '-l', 'b8.conv1', '-f', cls, '--feature-layer', 'layer1', '-n', '2', '--grid', '999', '-q', '-o', path.join(tmp, 'bad-scan.json')]),
    );
    expect(scanBad.value.code, scanBad.value.stderr).to.equal(1);
    expect(scanBad.runtimes.length).to.be.greaterThan(0);
    expect(scanBad.runtimes.every((e) => e.sessions > 0 && e.released)).to.equal(true);
  });

  it('every option with a parser names itself when it refuses a value (the message a user sees for a typo)', () => {
    let checked = 0;
    for (const c of cli.main().program().commands) {
      for (const o of c.options) {
        const parse = (o as unknown as { parseArg?: (value: string, previous: unknown) => unknown }).parseArg;
        if (!parse || !o.long || o.argChoices) continue; // choices: commander's own message
        let message = '';
        try {
          parse('1.5x', undefined);
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message, `${c.name()} ${o.long}: refused`).to.not.equal('');
        expect(message, `${c.name()} ${o.long}`).to.include(o.long);
        expect(message, `${c.name()} ${o.long}: the value given`).to.include('1.5x');
        checked++;
      }
    }
    expect(checked, 'options with a parser').to.be.greaterThan(20);
  });
});

/**
 * Issue 16 item 1: every long operation stops between batches on its `signal` or on a kernel interrupt
 * (`interrupt()`, which ganvas's SIGINT listener calls), rejects with an AbortError, and leaves what it saved
 * consistent; work started after an interrupt runs normally.
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  FeatureExtractor,
  Generator,
  Runtime,
  Stitch,
  VectorLibrary,
  checkpoint,
  demoModelDir,
  demoStitchPath,
  fashionMnist,
  gridInversion,
  invert,
  gallery,
  generateDataset,
  gridSweep,
  interrupt,
  interruptSignal,
  isAbort,
  operationSignal,
  rank,
  sampleVectors,
  scan,
  sweepCurve,
  visualize,
} from 'ganvas';
import { tinyClassifier, tinyGenerator } from './models';

/** Awaits p and returns what it rejected with (fails when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the operation to stop');
}

describe('interrupt and AbortSignal', function () {
  this.timeout(120000);
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('interrupt() aborts the current interrupt signal only; later work gets a fresh one', async () => {
    const before = interruptSignal();
    const op = operationSignal();
    const ac = new AbortController();
    const mine = operationSignal(ac.signal);
    interrupt();
    expect(before.aborted).to.equal(true);
    expect(op.aborted).to.equal(true);
    expect(mine.aborted).to.equal(true);
    expect((mine.reason as Error).name).to.equal('AbortError');
    expect((mine.reason as Error).message).to.match(/interrupt/);
    const after = interruptSignal();
    expect(after.aborted).to.equal(false);
    // The caller's own signal works alone too, with its own reason.
    const own = new AbortController();
    const s = operationSignal(own.signal);
    own.abort(new Error('mine'));
    expect(s.aborted).to.equal(true);
    expect((s.reason as Error).message).to.equal('mine');
    expect(interruptSignal().aborted).to.equal(false);
    await checkpoint(interruptSignal());
  });

  describe('each long operation', () => {
    let gen: Generator;
    let fx: FeatureExtractor;
    before(async () => {
      gen = await Generator.open(await tinyGenerator(), rt);
      fx = await FeatureExtractor.open(await tinyClassifier({ valid: true }), 'layer2', rt);
    });

    /**
     * Runs `op` twice: once stopped by a signal at its first progress report, once by interrupt() there; each
     * must reject with an AbortError having reported less than all of its work. Then once more to the end.
     */
    async function stops(op: (o: { signal?: AbortSignal; onProgress: (d: number, t: number) => void }) => Promise<unknown>): Promise<void> {
      for (const how of ['signal', 'interrupt'] as const) {
        const ac = new AbortController();
        let last = 0;
        let total = 0;
        const e = await rejection(
          op({
            signal: how === 'signal' ? ac.signal : undefined,
            onProgress: (d, t) => {
              [last, total] = [d, t];
              if (how === 'signal') ac.abort();
              else interrupt();
            },
          }),
        );
        expect(e.name, `${how}: ${e.message}`).to.equal('AbortError');
        if (how === 'interrupt') expect(e.message).to.match(/interrupt/);
        expect(last, how).to.be.greaterThan(0);
        expect(last, how).to.be.lessThan(total);
      }
      let done = 0;
      await op({ onProgress: (d) => (done = d) });
      expect(done).to.be.greaterThan(0);
    }

    it('scan', async () => {
      const cut = await gen.cut('b8.conv1');
      await stops((o) => scan(cut, fx, { count: 64, batchSize: 8, erosion: 1, ...o }));
    });

    it('sweepCurve', async () => {
      const cut = await gen.cut('b8.conv1');
      await stops((o) => sweepCurve(cut, fx, { count: 16, batchSize: 8, sizes: [1, 2, 4], ...o }));
    });

    it('sampleVectors over many vectors', async () => {
      const cut = await gen.cut('b8.conv1');
      await stops((o) => sampleVectors(cut, { count: 100, batchSize: 10, ...o }));
    });

    it('visualize and gridSweep over many vectors, and gallery', async () => {
      const cut = await gen.cut('b8.conv1');
      const { vectors } = await sampleVectors(cut, { count: 40 });
      await stops((o) => visualize(cut, vectors, { grid: 2, batchSize: 8, ...o }));
      await stops((o) => gridSweep(cut, vectors, [1, 2, 'full'], { batchSize: 8, ...o }));
      const s = await scan(cut, fx, { count: 40, erosion: 1 });
      await stops((o) => gallery(cut, rank(s), { batchSize: 8, ...o }));
    });

    it('generateDataset, leaving an index of exactly the finished pairs; the same call resumes it', async () => {
      const cut = await gen.cut('b8.conv1');
      const { vectors } = await sampleVectors(cut, { count: 2 });
      const lib = VectorLibrary.for(cut);
      lib.add('a', '#ff0000', vectors[0].vector, vectors[0].provenance);
      lib.add('b', '#0000ff', vectors[1].vector, vectors[1].provenance);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-ds-int-'));
      const e = await rejection(generateDataset(cut, lib, { dir, count: 12, flushEvery: 100, onProgress: (d) => d === 5 && interrupt() }));
      expect(e.name).to.equal('AbortError');
      const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as { entries: { id: number }[] };
      expect(index.entries.map((x) => x.id)).to.deep.equal([0, 1, 2, 3, 4]);
      for (const sub of ['images', 'labels', 'masks']) {
        const files = await fs.readdir(path.join(dir, sub));
        expect(files.filter((f) => f.endsWith('.png')), sub).to.have.length(5);
        expect(files.some((f) => f.endsWith('.tmp')), sub).to.equal(false);
      }
      const ac = new AbortController();
      ac.abort();
      expect((await rejection(generateDataset(cut, lib, { dir, count: 12, signal: ac.signal }))).name).to.equal('AbortError');
      const done = await generateDataset(cut, lib, { dir, count: 12 });
      expect(done.entries.map((x) => x.id)).to.deep.equal([...Array(12).keys()]);
      await fs.rm(dir, { recursive: true, force: true });
    });
  });

  describe('inversions (demo models)', () => {
    it('invert (gradient descent), Stitch.invert and gridInversion stop on an interrupt', async () => {
      const { images } = await fashionMnist('test', { count: 4 });
      const fx = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer2', rt);
      let steps = 0;
      const e1 = await rejection(invert(fx, images, { steps: 100, batchSize: 2, onProgress: (d) => { steps = d; if (d === 4) interrupt(); } }));
      expect(e1.name).to.equal('AbortError');
      expect(steps).to.equal(4);

      const stitch = await Stitch.load(demoStitchPath('fmnist-resnet', 'layer2', 'fmnist-stylegan', 'b8.conv0'), { runtime: rt });
      const many = { data: new Float32Array(64 * 32 * 32).fill(0.5), dims: [64, 1, 32, 32] };
      const ac = new AbortController();
      setImmediate(() => ac.abort());
      expect((await rejection(stitch.invert(many, { batchSize: 1, signal: ac.signal }))).name).to.equal('AbortError');
      setImmediate(() => interrupt());
      expect((await rejection(stitch.invert(many, { batchSize: 1 }))).name).to.equal('AbortError');
      expect((await stitch.invert(many, { batchSize: 16 })).dims).to.deep.equal([64, 1, 32, 32]);

      const gen = await Generator.open(demoModelDir('fmnist-stylegan'), rt);
      const cut = await gen.cut('b8.conv1');
      let last = 0;
      const e3 = await rejection(gridInversion(cut, fx, { count: 4, runs: 1, steps: 50, batchSize: 2, sizes: [1], onProgress: (d) => { last = d; if (d === 2) interrupt(); } }));
      expect(e3.name).to.equal('AbortError');
      expect(last).to.equal(2);
    });

    it('Stitch.train stops on an interrupt and keeps its last finished epoch', async () => {
      const train = (await fashionMnist('train', { count: 40 })).images;
      const validation = (await fashionMnist('test', { count: 8, offset: 3000 })).images;
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-train-int-'));
      const ck = path.join(dir, 'ck.json');
      const common = {
        classifier: demoModelDir('fmnist-resnet'), layerX: 'layer1', generator: demoModelDir('fmnist-stylegan'), runtime: rt,
        train, validation, testNetwork: demoModelDir('fmnist-testnet'), samplesPerEpoch: 16, epochs: 2, checkpoint: ck,
      };
      let steps = 0;
      const e = await rejection(Stitch.train({ ...common, onProgress: (p) => { steps++; if (p.epoch === 2 && p.step === 1) interrupt(); } }));
      expect(e.name).to.equal('AbortError');
      expect(steps).to.equal(2 + 1); // epoch 1's two steps of 8, then one of epoch 2
      expect(JSON.parse(await fs.readFile(ck, 'utf8')).epoch).to.equal(1);
      await fs.rm(dir, { recursive: true, force: true });
    });
  });

  for (const how of ['handled', 'listenForInterrupts'] as const) {
  it(`a SIGINT stops a scan in a process that ${how === 'handled' ? 'handles SIGINT (as the tslab kernel does)' : 'called listenForInterrupts()'}, and the process goes on`, async () => {
    const gen = await tinyGenerator();
    const cls = await tinyClassifier({ valid: true });
    // The child handles SIGINT before loading ganvas, as tslab does (or opts in); it signals itself after a few chunks.
    const program = `
      ${how === 'handled' ? "process.on('SIGINT', () => {});" : ''}
      const g = require(${JSON.stringify(require.resolve('ganvas'))});
      ${how === 'handled' ? '' : 'g.listenForInterrupts();'}
      (async () => {
        const rt = new g.Runtime({ threads: 1 });
        const cut = await (await g.Generator.open(${JSON.stringify(gen)}, rt)).cut('b8.conv1');
        const fx = await g.FeatureExtractor.open(${JSON.stringify(cls)}, 'layer2', rt);
        let done = 0, at = 0;
        const e = await g.scan(cut, fx, { count: 100000, batchSize: 8, erosion: 1, onProgress: (d) => {
          done = d;
          if (d === 24) { at = d; process.kill(process.pid, 'SIGINT'); }
        } }).then(() => null, (x) => x);
        const again = await g.scan(cut, fx, { count: 16, batchSize: 8, erosion: 1 });
        console.log(JSON.stringify({ name: e && e.name, message: e && e.message, done, at, again: again.entries.length }));
      })();`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', program], { timeout: 60000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
    );
    const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { name: string; message: string; done: number; at: number; again: number };
    expect(r.name).to.equal('AbortError');
    expect(r.message).to.match(/interrupt/);
    // Seen at the next chunk boundary: at most one more chunk of 8 ran after the signal.
    expect(r.done - r.at).to.be.at.most(8);
    expect(r.again).to.equal(16);
  });
  }

  it('in a plain Node process ganvas adds no SIGINT listener (Ctrl-C still ends the process)', async () => {
    const program = `const g = require(${JSON.stringify(require.resolve('ganvas'))}); g.interruptSignal(); g.operationSignal(); console.log(process.listenerCount('SIGINT'));`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', program], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
    );
    expect(out.trim()).to.equal('0');
  });

  it('isAbort tells an abort from other errors', () => {
    const ac = new AbortController();
    ac.abort(new Error('custom'));
    expect(isAbort(ac.signal.reason, ac.signal)).to.equal(true);
    expect(isAbort(new DOMException('x', 'AbortError'))).to.equal(true);
    expect(isAbort(new Error('other'))).to.equal(false);
  });
});

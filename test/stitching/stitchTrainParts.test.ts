/**
 * Training a stitch (train.ts, paper 003 §3.1) on tiny models made here (issue 19), each run a fraction of a second:
 * the bookkeeping of the validation records recomputed apart (the test network's metrics of the stitch's own
 * reconstructions), Adam's first step worked by hand (every weight moves by lr, the sign of its gradient), resume =
 * an unbroken run, cancellation, the sample order, and every refusal by its message.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EpochRecord, FeatureExtractor, FloatTensor, ImageSource, Runtime, Stitch, TrainProgress, activationMetrics, openModel, tensorSource, trainStitch } from 'ganvas';
import { constantGenerator, tinyClassifier, tinyGenerator } from '../models';
import { rejectsGanvas } from '../util';
import { uniformImages } from './tiny';

const rt = new Runtime({ threads: 1 });

interface Ck {
  format: string;
  epoch: number;
  samples: number;
  weights: { weight: number[]; bias: number[] };
  best: { weight: number[]; bias: number[]; epoch: number; cosine: number };
  adam: unknown;
  history: EpochRecord[];
}

async function tmp(name: string): Promise<string> {
  return path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-tp-')), name);
}

describe('stitching parts: training on tiny models', function () {
  this.timeout(300000);
  let cls: string;
  let gen: string;
  let train: FloatTensor;
  let validation: FloatTensor;
  const base = () => ({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, train, validation, testNetwork: cls, testLayer: 'layer2' });

  before(async () => {
    cls = await tinyClassifier();
    gen = await tinyGenerator();
    train = uniformImages('tp-train', 5);
    validation = uniformImages('tp-val', 2);
  });

  it('records each epoch: samples, the mean training loss, and validation metrics recomputed apart; keeps the best', async () => {
    const progress: TrainProgress[] = [];
    const epochs: EpochRecord[] = [];
    const ck = await tmp('ck.json');
    const t0 = performance.now();
    const s = await trainStitch({ ...base(), epochs: 2, batchSize: 2, seed: 3, checkpoint: ck, onProgress: (p) => progress.push(p), onEpoch: (r) => epochs.push(r) });
    const wall = (performance.now() - t0) / 1000;
    // Rates and epoch times are in samples per second and seconds of this run: within its wall time.
    progress.forEach((p, k) => expect(p.samplesPerSecond * wall).to.be.at.least(2 * (k + 1) * 0.999));
    // 5 images in batches of 2: steps of 2, 2, 1 per epoch.
    expect(progress.map((p) => [p.epoch, p.step, p.steps, p.epochs])).to.deep.equal([
      [1, 1, 3, 2],
      [1, 2, 3, 2],
      [1, 3, 3, 2],
      [2, 1, 3, 2],
      [2, 2, 3, 2],
      [2, 3, 3, 2],
    ]);
    expect(progress[5].etaSeconds).to.equal(0);
    expect(progress[0].etaSeconds).to.be.above(0);
    for (const p of progress) expect(p.samplesPerSecond).to.be.above(0);
    // elapsed = done·batch / rate, and the ETA is elapsed / done per step left: eta = batch · (6 − done) / rate.
    progress.forEach((p, k) => expect(p.etaSeconds).to.be.closeTo((2 * (6 - (k + 1))) / p.samplesPerSecond, 1e-9 * (1 + p.etaSeconds)));
    const h = s.record.history as EpochRecord[];
    expect(h).to.deep.equal(epochs);
    expect(h.map((r) => [r.epoch, r.samples])).to.deep.equal([
      [0, 0],
      [1, 5],
      [2, 10],
    ]);
    expect(h[0].trainLoss).to.equal(undefined);
    expect(h[0].seconds).to.equal(0);
    for (const e of [1, 2]) {
      const l = progress.filter((p) => p.epoch === e).map((p) => p.loss);
      expect(h[e].trainLoss).to.be.closeTo((2 * l[0] + 2 * l[1] + l[2]) / 5, 1e-6);
      expect(h[e].seconds).to.be.above(0).and.at.most(wall);
    }
    // Epoch 0 is the initialization (PyTorch's default, seeded): its metrics are those of a fresh stitch, validation
    // image i inverted with seed i, compared at the test network's layer2.
    const test = await FeatureExtractor.open(cls, 'layer2', rt);
    const recordOf = async (st: Stitch) => {
      const rec = await st.invert(validation, { seeds: [0, 1] });
      const m = activationMetrics(await test.features(rec, [-1, 1]), await test.features(validation, [0, 1]));
      const mean = (a: Float64Array) => (a[0] + a[1]) / 2;
      return { valCosine: mean(m.cosine), valCosineStd: Math.abs(m.cosine[0] - m.cosine[1]) / 2, valGram: mean(m.gram), valL1: mean(m.l1) };
    };
    const init = await Stitch.create({ ...base(), seed: 3 });
    const want0 = await recordOf(init);
    for (const k of ['valCosine', 'valCosineStd', 'valGram', 'valL1'] as const) expect(h[0][k]).to.be.closeTo(want0[k], 1e-6);
    // The last epoch's weights are in the checkpoint: its record is theirs.
    const c = JSON.parse(await fs.readFile(ck, 'utf8')) as Ck;
    expect(c.epoch).to.equal(2);
    expect(c.samples).to.equal(10);
    expect(c.history).to.deep.equal(JSON.parse(JSON.stringify(h)));
    const last = await Stitch.create({ ...base(), init: { weight: { data: Float32Array.from(c.weights.weight), dims: [4, 6, 1, 1] }, bias: { data: Float32Array.from(c.weights.bias), dims: [4] } } });
    const want2 = await recordOf(last);
    for (const k of ['valCosine', 'valCosineStd', 'valGram', 'valL1'] as const) expect(h[2][k]).to.be.closeTo(want2[k], 1e-6);
    // The kept weights are the best epoch's (first of the highest validation cosine).
    const best = h.reduce((b, r) => (r.valCosine > b.valCosine ? r : b), h[0]);
    const t = s.record.training as Record<string, unknown>;
    expect(t).to.deep.equal({
      epochs: 2,
      samplesPerEpoch: 5,
      batchSize: 2,
      lr: 0.01,
      seed: '3',
      samples: 10,
      bestEpoch: best.epoch,
      bestValCosine: best.valCosine,
      testNetwork: 'tiny-cls',
      testLayer: 'layer2',
      validationImages: 2,
    });
    expect(c.best.epoch).to.equal(best.epoch);
    expect(Array.from(s.weights.weight.data)).to.deep.equal(Array.from(Float32Array.from(c.best.weight)));
    expect(Array.from(s.weights.bias.data)).to.deep.equal(Array.from(Float32Array.from(c.best.bias)));
    if (best.epoch === 0) expect(Array.from(s.weights.weight.data)).to.deep.equal(Array.from(init.weights.weight.data));
    if (best.epoch === 2) expect(Array.from(s.weights.weight.data)).to.deep.equal(Array.from(Float32Array.from(c.weights.weight)));
    expect(s.record.init).to.equal('default');
  });

  it("Adam's first step moves every weight by lr against its gradient's sign (one batch of all images)", async () => {
    const ck = await tmp('ck1.json');
    const lr = 0.003;
    await trainStitch({ ...base(), epochs: 1, batchSize: 5, lr, seed: 1, checkpoint: ck });
    const c = JSON.parse(await fs.readFile(ck, 'utf8')) as Ck;
    const init = await Stitch.create({ ...base(), seed: 1 });
    const w0 = init.weights.weight.data;
    const b0 = init.weights.bias.data;
    let moved = 0;
    const deltas = [...c.weights.weight.map((v, i) => v - w0[i]), ...c.weights.bias.map((v, i) => v - b0[i])];
    for (const d of deltas) {
      if (Math.abs(d) < 1e-7) continue; // a weight whose gradient is exactly zero (a dead ReLU channel) stays
      expect(Math.abs(d)).to.be.closeTo(lr, lr * 1e-3);
      moved++;
    }
    expect(moved).to.be.at.least(deltas.length / 2);
    // The Adam state is saved with the first step counted.
    const adam = c.adam as { weight: { t: number; m: number[] }; bias: { t: number } };
    expect(adam.weight.t).to.equal(1);
    expect(adam.bias.t).to.equal(1);
    // m = (1 − β1) g: its sign is the gradient's, so the step went against it.
    adam.weight.m.forEach((m, i) => {
      if (Math.abs(deltas[i]) >= 1e-7) expect(Math.sign(deltas[i])).to.equal(-Math.sign(m));
    });
  });

  it('a resumed run (after a finished epoch, or a cancellation) ends as an unbroken one; a finished run trains nothing', async () => {
    const settings = { ...base(), batchSize: 2, samplesPerEpoch: 4, seed: 'r', lr: 0.02 };
    const ckA = await tmp('a.json');
    const a = await trainStitch({ ...settings, epochs: 3, checkpoint: ckA });
    const ckB = await tmp('b.json');
    await trainStitch({ ...settings, epochs: 1, checkpoint: ckB });
    const epochsSeen: number[] = [];
    const b = await trainStitch({ ...settings, epochs: 3, checkpoint: ckB, onEpoch: (r) => epochsSeen.push(r.epoch) });
    expect(epochsSeen).to.deep.equal([2, 3]);
    const strip = (h: unknown) => (JSON.parse(JSON.stringify(h)) as EpochRecord[]).map((r) => ({ ...r, seconds: 0 }));
    expect(strip(b.record.history)).to.deep.equal(strip(a.record.history));
    expect(Array.from(b.weights.weight.data)).to.deep.equal(Array.from(a.weights.weight.data));
    const ca = JSON.parse(await fs.readFile(ckA, 'utf8')) as Ck;
    const cb = JSON.parse(await fs.readFile(ckB, 'utf8')) as Ck;
    expect(cb.weights).to.deep.equal(ca.weights);
    expect(cb.adam).to.deep.equal(ca.adam);
    expect(cb.best).to.deep.equal(ca.best);
    expect((b.record.training as { samples: number }).samples).to.equal(12);
    // Cancelled in epoch 2: the checkpoint keeps epoch 1, and a run started again ends as the unbroken one.
    const ckC = await tmp('c.json');
    const ac = new AbortController();
    let thrown: unknown;
    await trainStitch({
      ...settings,
      epochs: 3,
      checkpoint: ckC,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.epoch === 2 && p.step === 1) ac.abort(new Error('cancelled by the test'));
      },
    }).catch((e: unknown) => (thrown = e));
    expect(String(thrown)).to.contain('cancelled by the test');
    expect((JSON.parse(await fs.readFile(ckC, 'utf8')) as Ck).epoch).to.equal(1);
    const c = await trainStitch({ ...settings, epochs: 3, checkpoint: ckC });
    expect(Array.from(c.weights.weight.data)).to.deep.equal(Array.from(a.weights.weight.data));
    expect(strip(c.record.history)).to.deep.equal(strip(a.record.history));
    // Cancelled in epoch 1 (the checkpoint holds only the initialization, no Adam state yet): the same.
    const ckE = await tmp('e.json');
    const ac1 = new AbortController();
    thrown = undefined;
    await trainStitch({
      ...settings,
      epochs: 3,
      checkpoint: ckE,
      signal: ac1.signal,
      onProgress: () => ac1.abort(new Error('cancelled in epoch 1')),
    }).catch((e: unknown) => (thrown = e));
    expect(String(thrown)).to.contain('cancelled in epoch 1');
    const e0 = JSON.parse(await fs.readFile(ckE, 'utf8')) as Ck;
    expect([e0.epoch, e0.adam]).to.deep.equal([0, null]);
    const e = await trainStitch({ ...settings, epochs: 3, checkpoint: ckE });
    expect(Array.from(e.weights.weight.data)).to.deep.equal(Array.from(a.weights.weight.data));
    expect(strip(e.record.history)).to.deep.equal(strip(a.record.history));
    // Already finished: nothing trains, the same stitch comes back.
    let steps = 0;
    const d = await trainStitch({ ...settings, epochs: 3, checkpoint: ckA, onProgress: () => steps++ });
    expect(steps).to.equal(0);
    expect(Array.from(d.weights.bias.data)).to.deep.equal(Array.from(a.weights.bias.data));
    expect(d.record.history).to.deep.equal(JSON.parse(JSON.stringify(a.record.history)));
    // An already aborted signal stops before anything is made.
    const gone = new AbortController();
    gone.abort(new Error('before start'));
    thrown = undefined;
    await trainStitch({ ...settings, signal: gone.signal }).catch((e: unknown) => (thrown = e));
    expect(String(thrown)).to.contain('before start');
  });

  it('refuses a checkpoint of other settings, one that is not a checkpoint, and one it cannot read', async () => {
    const settings = { ...base(), epochs: 1, batchSize: 5 };
    const ck = await tmp('s.json');
    await trainStitch({ ...settings, checkpoint: ck });
    for (const other of [{ lr: 0.02 }, { seed: 9 }, { batchSize: 4 }, { samplesPerEpoch: 4 }, { validation: uniformImages('tp-val2', 2) }, { testLayer: 'layer1' }, { range: [0, 2] as [number, number] }]) {
      const e = await rejectsGanvas(trainStitch({ ...settings, ...other, checkpoint: ck }), 'BAD_INPUT');
      expect(e.message).to.equal(
        `checkpoint ${ck} belongs to a run with other settings (models, layers, seed, batch size, lr, data or init differ); resume with the same settings, or give another checkpoint path`,
      );
    }
    const bad = await tmp('bad.json');
    await fs.writeFile(bad, '{"format": "x"}');
    let e = await rejectsGanvas(trainStitch({ ...settings, checkpoint: bad }), 'BAD_INPUT');
    expect(e.message).to.equal(`${bad} is not a stitch checkpoint (format "x"); delete it to start over`);
    await fs.writeFile(bad, '{');
    e = await rejectsGanvas(trainStitch({ ...settings, checkpoint: bad }), 'BAD_INPUT');
    expect(e.message).to.match(new RegExp(`^${bad.replace(/[.]/g, '\\.')} is not a stitch checkpoint \\(.+\\); delete it to start over$`));
    const dir = path.dirname(bad);
    e = await rejectsGanvas(trainStitch({ ...settings, checkpoint: dir }), 'BAD_INPUT');
    expect(e.message).to.match(new RegExp(`^cannot read checkpoint ${dir}: `));
    expect(e.cause, 'the underlying error is kept').to.be.instanceOf(Error);
    await fs.writeFile(bad, '{');
    e = await rejectsGanvas(trainStitch({ ...settings, checkpoint: bad }), 'BAD_INPUT');
    expect(e.cause).to.be.instanceOf(SyntaxError);
  });

  it('refuses bad settings and data with what was wrong', async () => {
    const msg = async (over: Record<string, unknown>, code = 'BAD_INPUT') => (await rejectsGanvas(trainStitch({ ...base(), ...over }), code)).message;
    expect(await msg({ epochs: 0 })).to.equal('epochs must be an integer in 1..100000, got 0');
    expect(await msg({ epochs: 1.5 })).to.equal('epochs must be an integer in 1..100000, got 1.5');
    expect(await msg({ epochs: 100001 })).to.equal('epochs must be an integer in 1..100000, got 100001');
    expect(await msg({ batchSize: 0 })).to.equal('batchSize must be an integer in 1..4096, got 0');
    expect(await msg({ batchSize: 4097 })).to.equal('batchSize must be an integer in 1..4096, got 4097');
    for (const lr of [0, -1, NaN, Infinity]) expect(await msg({ lr })).to.equal(`lr must be a positive finite number, got ${lr}`);
    expect(await msg({ train: { data: new Float32Array(0), dims: [0, 1, 16, 16] } })).to.equal('the training set is empty');
    expect(await msg({ train: { count: 0, images: () => train } })).to.equal('the training set is empty');
    expect(await msg({ samplesPerEpoch: 6 })).to.equal('samplesPerEpoch must be an integer in 1..5, got 6');
    expect(await msg({ samplesPerEpoch: 0 })).to.equal('samplesPerEpoch must be an integer in 1..5, got 0');
    expect(await msg({ validation: { data: new Float32Array(0), dims: [0, 1, 16, 16] } })).to.equal('the validation set is empty');
    // Training images of another shape than the validation images.
    const rgb = uniformImages('tp-rgb', 5, 3);
    expect(await msg({ train: rgb, epochs: 1 })).to.equal(
      'training images are [3, 16, 16] per image but validation images are [1, 16, 16]; both must have the same channels and size',
    );
    expect(await msg({ train: uniformImages('tp-8', 5, 1, 8), epochs: 1 })).to.match(/^images are 8×8, but tiny-cls takes 16×16/);
    const flat: ImageSource = { count: 5, images: (idx) => ({ data: new Float32Array(idx.length * 256), dims: [idx.length * 256] }) };
    expect(await msg({ train: flat, epochs: 1 }, 'NOT_4D')).to.match(/images/);
    // A NaN image after the first step makes the loss NaN: refused with where and the lr.
    let calls = 0;
    const poisoned: ImageSource = {
      count: 5,
      images: (idx) => {
        const t = tensorSource(train).images(idx) as FloatTensor;
        if (calls++ === 1) t.data[3] = NaN;
        return t;
      },
    };
    expect(await msg({ train: poisoned, epochs: 1, batchSize: 2, lr: 0.05 }, 'RUNTIME')).to.equal('the training loss became NaN in epoch 1, step 1; lower lr (now 0.05)');
  });

  it('draws each epoch as a seeded shuffle of the training set, cut to samplesPerEpoch, in batches', async () => {
    const asked: number[][] = [];
    const src: ImageSource = {
      count: 5,
      images: (idx) => {
        asked.push([...idx]);
        return tensorSource(train).images(idx);
      },
    };
    await trainStitch({ ...base(), train: src, epochs: 3, batchSize: 2, seed: 'o' });
    expect(asked.map((a) => a.length)).to.deep.equal([2, 2, 1, 2, 2, 1, 2, 2, 1]);
    const perEpoch = [0, 1, 2].map((e) => asked.slice(3 * e, 3 * e + 3).flat());
    for (const p of perEpoch) expect([...p].sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect(new Set(perEpoch.map((p) => p.join())).size).to.be.above(1);
    // The same seed draws the same order; samplesPerEpoch takes the order's first images.
    const again: number[][] = [];
    const src2: ImageSource = { count: 5, images: (idx) => (again.push([...idx]), tensorSource(train).images(idx)) };
    const s = await trainStitch({ ...base(), train: src2, epochs: 3, batchSize: 2, seed: 'o', samplesPerEpoch: 3 });
    expect(again.map((a) => a.length)).to.deep.equal([2, 1, 2, 1, 2, 1]);
    for (let e = 0; e < 3; e++) expect(again.slice(2 * e, 2 * e + 2).flat()).to.deep.equal(perEpoch[e].slice(0, 3));
    expect((s.record.history as EpochRecord[]).map((r) => r.samples)).to.deep.equal([0, 3, 6, 9]);
    // Another seed, another order.
    const other: number[][] = [];
    await trainStitch({ ...base(), train: { count: 5, images: (idx) => (other.push([...idx]), tensorSource(train).images(idx)) }, epochs: 3, batchSize: 5, seed: 'p' });
    expect(other.map((o) => o.join())).to.not.deep.equal(perEpoch.map((p) => p.join()));
  });

  it('keeps the first of equal best epochs: a generator that ignores LayerY never improves on the initialization', async () => {
    const flat = await constantGenerator();
    const s = await trainStitch({ ...base(), generator: flat, layerY: 'h', epochs: 2, batchSize: 5 });
    const h = s.record.history as EpochRecord[];
    expect(h.map((r) => r.valCosine)).to.deep.equal([h[0].valCosine, h[0].valCosine, h[0].valCosine]);
    expect((s.record.training as { bestEpoch: number }).bestEpoch).to.equal(0);
  });

  it('trains on one image and validates on one', async () => {
    const s = await trainStitch({ ...base(), train: uniformImages('tp-one', 1), validation: uniformImages('tp-one-v', 1), epochs: 1, batchSize: 1 });
    expect((s.record.history as EpochRecord[]).map((r) => [r.epoch, r.samples])).to.deep.equal([
      [0, 0],
      [1, 1],
    ]);
    expect((s.record.training as { validationImages: number }).validationImages).to.equal(1);
  });

  it('tensorSource picks rows by index', () => {
    const t = { data: Float32Array.from({ length: 12 }, (_, i) => i), dims: [3, 1, 2, 2] };
    const src = tensorSource(t);
    expect(src.count).to.equal(3);
    const r = src.images([2, 0, 2]) as FloatTensor;
    expect(r.dims).to.deep.equal([3, 1, 2, 2]);
    expect(Array.from(r.data)).to.deep.equal([8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11]);
    expect(tensorSource({ data: new Float32Array(0), dims: [0, 1, 2, 2] }).count).to.equal(0);
  });

  it('takes the test network as a path, a bundle or a feature extractor (layer default LayerX), and the image range', async () => {
    const fx = await FeatureExtractor.open(cls, 'layer2', rt);
    const common = { ...base(), epochs: 1, batchSize: 5, seed: 2 };
    const a = await trainStitch(common);
    const b = await trainStitch({ ...common, testNetwork: await openModel(cls) });
    const c = await trainStitch({ ...common, testNetwork: fx, testLayer: 'ignored when an extractor is given' });
    for (const s of [b, c]) expect(s.record.history).to.deep.equal((a.record.history as EpochRecord[]).map((r, i) => ({ ...r, seconds: (s.record.history as EpochRecord[])[i].seconds })));
    const d = await trainStitch({ ...common, testLayer: undefined });
    expect((d.record.training as { testLayer: string }).testLayer).to.equal('layer1');
    expect((d.record.history as EpochRecord[])[0].valCosine).to.not.equal((a.record.history as EpochRecord[])[0].valCosine);
    // Images in [0, 255] with range [0, 255] train as the same images in [0, 1].
    const scale = (t: FloatTensor) => ({ data: t.data.map((v) => 255 * v), dims: t.dims });
    const e = await trainStitch({ ...common, train: scale(train), validation: scale(validation), range: [0, 255] });
    const ha = a.record.history as EpochRecord[];
    const he = e.record.history as EpochRecord[];
    for (let i = 0; i < 2; i++) expect(he[i].valCosine).to.be.closeTo(ha[i].valCosine, 1e-4);
    // Through Stitch.train too.
    const f = await Stitch.train(common);
    expect(Array.from(f.weights.weight.data)).to.deep.equal(Array.from(a.weights.weight.data));
  });
});

/**
 * Independent checks of ganvas's model stitching (paper 003 §3.1, §3.4, §4.1.3) against computations written from
 * the paper: PyTorch on the recipes' own modules and weights (test/stitching/stitch_torch.py), float64 central
 * differences, hand-worked cases, and FeatureExtractor.preprocess for the in-graph preprocessing.
 *
 * Covered: the training graph's loss, gradients and reconstructions on six layer pairs (both resize directions of
 * the stitch layer, both channel conversions of the second preprocessing), the standalone export, Stitch.evaluate,
 * two trainStitch steps against torch.optim.Adam, the least-squares init, the §3.4 metrics, the preprocessing
 * graph and compose. Every check was seen to fail under a deliberate mutation of the code it checks.
 *
 * Batches are small (2–8 images) so that the file runs in well under 90 s on a loaded 2-core machine (measured
 * 30–45 s); one Python process per group. STITCH_REF_VERBOSE=1 prints the measured margins.
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ActivationMetrics,
  FeatureExtractor,
  Feeds,
  FloatTensor,
  Preprocess,
  Runtime,
  Stitch,
  activationMetrics,
  compose,
  decodeModel,
  defaultInit,
  demoModelDir,
  fashionMnist,
  gramCosine,
  gradientModel,
  ImageSource,
  initializersToInputs,
  inputsToInitializers,
  loss,
  lossAndGradients,
  meanAbsDiff,
  openModel,
  pixelCosine,
  preprocessModel,
  randn,
  readNpy,
  tensorSource,
  trainStitch,
  tissueCrops,
  trainingModel,
  writeNpy,
} from 'ganvas';
import { GraphBuilder } from '../builder';
import { throwsGanvas } from '../util';

const ROOT = path.join(__dirname, '..', '..', '..');
const PY = path.join(ROOT, 'test', 'stitching', 'stitch_torch.py');
const rt = new Runtime({ threads: 1 });

// ------------------------------------------------------------------------------------------------ helpers
type Json = Record<string, unknown>;

/** The measured margins, printed with STITCH_REF_VERBOSE=1 (for stating tolerances). */
function note(what: string, v: unknown): void {
  if (process.env.STITCH_REF_VERBOSE) console.log(`      [measured] ${what}: ${JSON.stringify(v)}`);
}

/** Temporary folders made by this file, removed at the end. */
const made: string[] = [];

async function tmp(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-stitch-ref-'));
  made.push(d);
  return d;
}

async function python(jobs: Json[]): Promise<Json[]> {
  const dir = await tmp();
  const file = path.join(dir, 'jobs.json');
  await fs.writeFile(file, JSON.stringify({ jobs }));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('/usr/bin/python3', [PY, file], { maxBuffer: 64 * 1024 * 1024 }, (err, out, errOut) => {
      if (err) reject(new Error(`${PY} failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  return (JSON.parse(stdout) as { results: Json[] }).results;
}

async function put(dir: string, name: string, t: FloatTensor): Promise<void> {
  await fs.writeFile(path.join(dir, name), writeNpy(t));
}

async function get(dir: string, name: string): Promise<FloatTensor> {
  return readNpy(await fs.readFile(path.join(dir, name)));
}

function maxAbs(a: FloatTensor | ArrayLike<number>, b: FloatTensor | ArrayLike<number>): number {
  const x = 'data' in a ? a.data : a;
  const y = 'data' in b ? b.data : b;
  if ('dims' in a && 'dims' in b) expect(a.dims).to.deep.equal(b.dims);
  expect(x.length).to.equal(y.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

function maxOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** ‖a − b‖₂ / ‖b‖₂ */
function relErr(a: FloatTensor, b: FloatTensor): number {
  expect(a.dims).to.deep.equal(b.dims);
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i++) {
    d += (a.data[i] - b.data[i]) ** 2;
    n += b.data[i] ** 2;
  }
  return Math.sqrt(d / n);
}

function topIndices(a: Float32Array, k: number): number[] {
  return Array.from(a.keys())
    .sort((i, j) => Math.abs(a[j]) - Math.abs(a[i]))
    .slice(0, k);
}

const WEIGHT = 's/weight';
const BIAS = 's/bias';

/** The step's gradient model, as train.ts builds it. */
async function gradientSession(stitch: Stitch, images: FloatTensor) {
  const X = stitch.parts.layerX.name;
  const grad = await gradientModel(trainingModel(stitch.parts, stitch.imageSpec(images)), {
    wrt: [WEIGHT, BIAS],
    loss: loss.meanL1(`d/${X}`, `c/${X}`),
  });
  return rt.session(grad);
}

/**
 * The stitch's inputs for Python: images, weights, the generator's own inputs for the seeds (z, noise) and
 * ganvas's tail feeds (StyleGAN: w and the RGB skip crossing the cut, the later noises).
 */
async function writeStitchInputs(dir: string, stitch: Stitch, images: FloatTensor, seeds: string[], feeds: Feeds): Promise<void> {
  await put(dir, 'image.npy', images);
  await put(dir, 'weight.npy', stitch.weights.weight);
  await put(dir, 'bias.npy', stitch.weights.bias);
  const gen = stitch.generator.inputs(seeds);
  for (const [k, v] of Object.entries(gen)) await put(dir, `${k}.npy`, v as FloatTensor);
  for (const t of stitch.cut.split.tailInputs) {
    const f = feeds[`g/${t.name}`] as FloatTensor | undefined;
    if (t.role === 'layer') continue;
    expect(f, `tail feed ${t.name}`).to.not.equal(undefined);
    const v = f as FloatTensor;
    if (t.role === 'input') await put(dir, `tail_${t.name}.npy`, v);
    else if (v.dims.length === 2) await put(dir, 'tail_w.npy', v);
    else await put(dir, 'tail_skip.npy', v);
  }
}

// ------------------------------------------------------------------------- 1. gradients, loss, reconstructions
interface Pair {
  name: string;
  classifier: string;
  layerX: string;
  generator: string;
  layerY: string;
  images: () => Promise<FloatTensor>;
  /** A test network and layer for Stitch.evaluate (paper Table 1's metrics) against PyTorch. */
  test?: [string, string];
}

const PAIRS: Pair[] = [
  {
    name: 'fmnist-resnet layer1 → fmnist-stylegan b16.conv0',
    classifier: 'fmnist-resnet',
    layerX: 'layer1',
    generator: 'fmnist-stylegan',
    layerY: 'b16.conv0',
    images: async () => (await fashionMnist('test', { count: 4, offset: 100 })).images,
    test: ['fmnist-testnet', 'layer2'],
  },
  // The two directions of the stitch layer's nearest resize (§3.1), on the same classifier and generator.
  {
    name: 'fmnist-resnet layer2 (8×8) → fmnist-stylegan b16.conv0 (16×16): 1×1 conv, then up-sampling',
    classifier: 'fmnist-resnet',
    layerX: 'layer2',
    generator: 'fmnist-stylegan',
    layerY: 'b16.conv0',
    images: async () => (await fashionMnist('test', { count: 2, offset: 200 })).images,
  },
  {
    name: 'fmnist-resnet layer1 (16×16) → fmnist-stylegan b8.conv1 (8×8): down-sampling, then 1×1 conv',
    classifier: 'fmnist-resnet',
    layerX: 'layer1',
    generator: 'fmnist-stylegan',
    layerY: 'b8.conv1',
    images: async () => (await fashionMnist('test', { count: 2, offset: 300 })).images,
  },
  {
    name: 'ihc-features layer2 → ihc-gan l16',
    classifier: 'ihc-features',
    layerX: 'layer2',
    generator: 'ihc-gan',
    layerY: 'l16',
    images: () => tissueCrops({ count: 2, seed: 'stitch-ref', split: 'validation' }),
  },
  // Across domains, so that the training graph's second preprocessing (generator image → classifier input)
  // converts channels and resizes inside the differentiated graph: RGB 64×64 → gray 32×32, gray 32×32 → RGB 64×64.
  {
    name: 'fmnist-resnet layer1 → ihc-gan l16 (reconstruction RGB 64×64 → classifier gray 32×32)',
    classifier: 'fmnist-resnet',
    layerX: 'layer1',
    generator: 'ihc-gan',
    layerY: 'l16',
    images: async () => (await fashionMnist('test', { count: 2, offset: 400 })).images,
  },
  {
    name: 'ihc-features layer2 → fmnist-stylegan b16.conv0 (reconstruction gray 32×32 → classifier RGB 64×64)',
    classifier: 'ihc-features',
    layerX: 'layer2',
    generator: 'fmnist-stylegan',
    layerY: 'b16.conv0',
    images: () => tissueCrops({ count: 2, seed: 'stitch-ref-x', split: 'validation' }),
  },
];

describe('stitching reference checks (paper 003)', () => {
  after(async () => {
    await rt.release();
    await Promise.all(made.map((d) => fs.rm(d, { recursive: true, force: true })));
  });

for (const P of PAIRS) {
  describe(`stitching vs PyTorch: ${P.name}`, function () {
    this.timeout(180_000);
    let stitch: Stitch;
    let images: FloatTensor;
    let seeds: string[];
    let ours: { loss: number; gw: FloatTensor; gb: FloatTensor; rec: FloatTensor };
    let torch: Json;
    let dir: string;
    let fdAt: [string, number][];

    before(async () => {
      images = await P.images();
      const n = images.dims[0];
      seeds = Array.from({ length: n }, (_, i) => `stitch-ref:${i}`);
      stitch = await Stitch.create({
        classifier: demoModelDir(P.classifier),
        layerX: P.layerX,
        generator: demoModelDir(P.generator),
        layerY: P.layerY,
        runtime: rt,
        seed: 'stitch-ref',
      });
      const feeds = await stitch.tailFeeds(seeds);
      const session = await gradientSession(stitch, images);
      const r = await lossAndGradients(session, { ...feeds, image: images, [WEIGHT]: stitch.weights.weight, [BIAS]: stitch.weights.bias });
      const rec = await stitch.invert(images, { seeds });
      ours = { loss: r.loss, gw: r.grads[WEIGHT], gb: r.grads[BIAS], rec };
      dir = await tmp();
      await writeStitchInputs(dir, stitch, images, seeds, feeds);
      // Central differences (float64, h = 1e-6) on the two steepest weights, one fixed other weight and the steepest
      // bias. The loss has kinks (|·|, ReLU): h = 1e-4 already steps across some and misses by 0.7%; 1e-6 does not.
      fdAt = [...topIndices(ours.gw.data, 2).map((i) => ['weight', i] as [string, number]), ['weight', 7], ['bias', topIndices(ours.gb.data, 1)[0]]];
            const job: Json = { kind: 'stitch', dir, classifier: P.classifier, generator: P.generator, layerX: P.layerX, layerY: P.layerY, fd: fdAt, fd_h: 1e-6 };
      if (P.test) Object.assign(job, { test_network: P.test[0], test_layer: P.test[1] });
      [torch] = await python([job]);
    });

    if (P.generator === 'fmnist-stylegan') {
      it("the tail feeds are the head's w, RGB skip and noises of the seeds (PyTorch head from the same z and noise)", () => {
        expect(torch.head_w_maxdiff as number).to.be.below(1e-5);
        expect(torch.head_skip_maxdiff as number).to.be.below(1e-5);
        expect(torch.head_noise_maxdiff as number).to.equal(0);
      });
    }

    it("the training loss (L1 at LayerX) equals PyTorch's to 3e-5 relative", () => {
      const t = torch.loss as number;
      note('loss ganvas / torch / rel', [ours.loss, t, Math.abs(ours.loss - t) / t]);
      expect(t).to.be.above(0);
      expect(Math.abs(ours.loss - t) / t).to.be.below(3e-5);
    });

    // Both are float32; where an element of d − c lies within rounding of 0 the two may take |·|'s other side, which
    // is what the 3e-4 allows (measured: 5e-7 … 8e-5).
    it("the gradients w.r.t. the 1×1 weight and bias equal PyTorch autograd's (3e-4 relative)", async () => {
      const gw = await get(dir, 'gw.npy');
      const gb = await get(dir, 'gb.npy');
      note('grad rel err w, b; max|gw|', [relErr(ours.gw, gw), relErr(ours.gb, gb), maxOf(gw.data), maxAbs(ours.gw, gw) / maxOf(gw.data)]);
      expect(maxOf(gw.data)).to.be.above(1e-4);
      expect(relErr(ours.gw, gw)).to.be.below(3e-4);
      expect(relErr(ours.gb, gb)).to.be.below(3e-4);
      expect(maxAbs(ours.gw, gw)).to.be.below(3e-4 * maxOf(gw.data));
      expect(maxAbs(ours.gb, gb)).to.be.below(3e-4 * maxOf(gb.data));
    });

    it('the gradients equal float64 central differences of the PyTorch loss on chosen entries', () => {
      const fd = torch.fd as number[];
      const scale = Math.max(maxOf(ours.gw.data), maxOf(ours.gb.data));
      note('fd [entry, ganvas, fd]', fdAt.map(([kind, i], k) => [kind, i, (kind === 'weight' ? ours.gw : ours.gb).data[i], fd[k]]));
      fdAt.forEach(([kind, i], k) => {
        const g = (kind === 'weight' ? ours.gw : ours.gb).data[i];
        expect(Math.abs(g - fd[k]), `${kind}[${i}]: ganvas ${g}, central difference ${fd[k]}`).to.be.below(1e-4 * scale + 1e-3 * Math.abs(fd[k]));
      });
    });

    it("the inverter's reconstructions equal PyTorch's (1e-4 absolute in [-1, 1])", async () => {
      const rec = await get(dir, 'rec.npy');
      note('rec max abs diff', maxAbs(ours.rec, rec));
      expect(maxAbs(ours.rec, rec)).to.be.below(1e-4);
      expect(maxOf(rec.data)).to.be.above(0.1);
    });

    if (P.test) {
      const [testName, testLayer] = P.test;
      it(`Stitch.evaluate with ${testName}.${testLayer} gives PyTorch's metrics of the PyTorch reconstructions (1e-5)`, async () => {
        const testNet = await FeatureExtractor.open(demoModelDir(testName), testLayer, rt);
        const { metrics } = await stitch.evaluate(testNet, images, { seeds });
        const ref = torch.eval as Record<keyof ActivationMetrics, number[]>;
        note('evaluate max abs diff cos, gram, l1', [maxAbs(metrics.cosine, ref.cosine), maxAbs(metrics.gram, ref.gram), maxAbs(metrics.l1, ref.l1)]);
        for (const k of ['cosine', 'gram', 'l1'] as const) {
          expect(metrics[k].length).to.equal(images.dims[0]);
          expect(maxAbs(metrics[k], ref[k]), k).to.be.below(1e-5);
        }
      });
    }

    if (P.classifier === 'fmnist-resnet' && P.layerX === 'layer1' && P.layerY === 'b16.conv0') {
      it("the standalone export (head inside, fed z and noise) gives PyTorch's reconstructions", async () => {
        const m = stitch.exportModel();
        expect(m.inputNames()).to.not.include(WEIGHT);
        const s = await rt.session(m);
        // Only the generator inputs the tail and head still read (noise_b16_conv0 feeds LayerY itself, which the
        // stitch replaces, so the export has no such input).
        const all: Feeds = { ...stitch.generator.inputs(seeds), image: images };
        const feeds: Feeds = {};
        for (const n of m.inputNames()) feeds[n] = all[n];
        const out = await s.run(feeds);
        const rec = await get(dir, 'rec.npy');
        expect(maxAbs(out[s.outputNames[0]], rec)).to.be.below(1e-4);
      });
    }
  });
}

// -------------------------------------------------------------------- 2. training steps (§4.1.3)
// Two epochs of one batch of 8 each: one Adam step alone cannot tell the betas apart (its bias correction makes the
// first step lr · g / (|g| + ε) whatever they are), the second can.
describe('two trainStitch steps (Adam lr 0.01, batch 8) vs PyTorch', function () {
  this.timeout(180_000);
  const seed = 'stitch-ref';
  let asked: number[][];
  let reported: number[];
  let history: { trainLoss?: number }[];
  /** Weights after step 1 and after step 2, from the trainer's checkpoint. */
  let after: { weight: number[]; bias: number[] }[];
  let init: ReturnType<typeof defaultInit>;
  let ours: { loss: number; gw: FloatTensor; gb: FloatTensor }[];
  let torch: Json[];
  let dirs: string[];

  before(async () => {
    const train = (await fashionMnist('train', { count: 8, offset: 1000 })).images;
    const all = tensorSource(train);
    asked = [];
    // The trainer draws its batches through this source: it records which images, in which order.
    const source: ImageSource = {
      count: 8,
      images: (idx) => {
        asked.push([...idx]);
        return all.images(idx);
      },
    };
    init = defaultInit(16, 64, 'stitch-ref-train');
    reported = [];
    after = [];
    const ck = path.join(await tmp(), 'checkpoint.json');
    const readCk = (): { weight: number[]; bias: number[] } => (JSON.parse(readFileSync(ck, 'utf8')) as { weights: { weight: number[]; bias: number[] } }).weights;
    const models = { classifier: demoModelDir('fmnist-resnet'), layerX: 'layer1', generator: demoModelDir('fmnist-stylegan'), layerY: 'b16.conv0', runtime: rt };
    const trained = await trainStitch({
      ...models,
      init,
      seed,
      train: source,
      validation: (await fashionMnist('test', { count: 2 })).images,
      testNetwork: demoModelDir('fmnist-testnet'),
      epochs: 2,
      samplesPerEpoch: 8,
      batchSize: 8,
      checkpoint: ck,
      onProgress: (p) => reported.push(p.loss),
      // onEpoch runs before that epoch's checkpoint is written: at epoch 2 the file holds epoch 1.
      onEpoch: (r) => {
        if (r.epoch === 2) after.push(readCk());
      },
    });
    after.push(readCk());
    history = trained.record.history as { trainLoss?: number }[];

    // The same steps rebuilt from what train.ts documents: the batch it asked for in epoch e, generator seeds
    // "stitch-train:<seed>:<e>:<j>" for sample j, the initial weights, then the trainer's weights after step 1.
    const stitch = await Stitch.create({ ...models, init });
    const weights = [init, { weight: { data: Float32Array.from(after[0].weight), dims: init.weight.dims }, bias: { data: Float32Array.from(after[0].bias), dims: init.bias.dims } }];
    ours = [];
    dirs = [];
    const jobs: Json[] = [];
    for (let e = 1; e <= 2; e++) {
      const images = all.images(asked[e - 1]) as FloatTensor;
      const seeds = asked[e - 1].map((_, j) => `stitch-train:${seed}:${e}:${j}`);
      stitch.setWeights(weights[e - 1]);
      const feeds = await stitch.tailFeeds(seeds);
      const r = await lossAndGradients(await gradientSession(stitch, images), { ...feeds, image: images, [WEIGHT]: stitch.weights.weight, [BIAS]: stitch.weights.bias });
      ours.push({ loss: r.loss, gw: r.grads[WEIGHT], gb: r.grads[BIAS] });
      const dir = await tmp();
      await writeStitchInputs(dir, stitch, images, seeds, feeds);
      dirs.push(dir);
      jobs.push({ kind: 'stitch', dir, classifier: 'fmnist-resnet', generator: 'fmnist-stylegan', layerX: 'layer1', layerY: 'b16.conv0' });
    }
    // Adam from the initial weights with ganvas's two gradients (in the first job's folder).
    for (let k = 0; k < 2; k++) {
      await put(dirs[0], `grad_weight_${k + 1}.npy`, ours[k].gw);
      await put(dirs[0], `grad_bias_${k + 1}.npy`, ours[k].gb);
    }
    jobs[0].adam_grads = [
      ['grad_weight_1.npy', 'grad_bias_1.npy'],
      ['grad_weight_2.npy', 'grad_bias_2.npy'],
    ];
    jobs[0].lr = 0.01;
    torch = await python(jobs);
  });

  it('the trainer drew one batch of all 8 images per epoch, in a new order each epoch', () => {
    expect(asked.length).to.equal(2);
    for (const a of asked) expect([...a].sort((x, y) => x - y)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(asked[0]).to.not.deep.equal(asked[1]);
  });

  it("the losses the steps report equal PyTorch's forward of the same batch with the weights before the step (3e-5 relative)", () => {
    const t = torch.map((r) => r.loss as number);
    note('step losses reported / torch', [reported, t]);
    expect(reported.length).to.equal(2);
    for (let k = 0; k < 2; k++) {
      expect(Math.abs(reported[k] - t[k]) / t[k]).to.be.below(3e-5);
      expect(history[k + 1].trainLoss).to.be.closeTo(reported[k], 1e-12);
      expect(ours[k].loss).to.equal(reported[k]);
    }
  });

  it("the steps' gradients equal PyTorch autograd's (3e-4 relative)", async () => {
    for (let k = 0; k < 2; k++) {
      const gw = await get(dirs[k], 'gw.npy');
      const gb = await get(dirs[k], 'gb.npy');
      note(`step ${k + 1} grad rel err`, [relErr(ours[k].gw, gw), relErr(ours[k].gb, gb)]);
      expect(relErr(ours[k].gw, gw)).to.be.below(3e-4);
      expect(relErr(ours[k].gb, gb)).to.be.below(3e-4);
    }
  });

  it('the new weights equal torch.optim.Adam(lr=0.01) stepped with the same gradients (and, step 1, with its own)', async () => {
    const d = dirs[0];
    // The first step moved every weight by about lr (lr · g / (|g| + ε)).
    const moved = after[0].weight.map((v, i) => Math.abs(v - init.weight.data[i]));
    expect(Math.max(...moved)).to.be.within(0.009, 0.0101);
    for (let k = 1; k <= 2; k++) {
      const w = await get(d, `adam_ganvas_weight_${k}.npy`);
      const b = await get(d, `adam_ganvas_bias_${k}.npy`);
      note(`adam step ${k} max abs diff w, b`, [maxAbs(after[k - 1].weight, w.data), maxAbs(after[k - 1].bias, b.data)]);
      expect(maxAbs(after[k - 1].weight, w.data)).to.be.below(2e-7);
      expect(maxAbs(after[k - 1].bias, b.data)).to.be.below(2e-7);
    }
    const tw = await get(d, 'adam_torch_weight.npy');
    const tb = await get(d, 'adam_torch_bias.npy');
    expect(maxAbs(after[0].weight, tw.data)).to.be.below(1e-5);
    expect(maxAbs(after[0].bias, tb.data)).to.be.below(1e-5);
  });
});

// ------------------------------------------------------------------ the least-squares initialization (init.ts)
describe('the least-squares init vs a float64 PyTorch ridge regression', function () {
  this.timeout(120_000);
  it("Stitch.create({ init: 'lstsq' }) solves the ridge regression init.ts documents, on the same generated images", async () => {
    // layer2 is 8×8, b16.conv0 16×16: the regression's inputs are nearest-resized.
    const samples = 12;
    const stitch = await Stitch.create({
      classifier: demoModelDir('fmnist-resnet'),
      layerX: 'layer2',
      generator: demoModelDir('fmnist-stylegan'),
      layerY: 'b16.conv0',
      runtime: rt,
      init: 'lstsq',
      initSamples: samples,
      seed: 'stitch-ref',
    });
    // init.ts draws sample i from seed "lstsq:<seed>:<i>".
    const seeds = Array.from({ length: samples }, (_, i) => `lstsq:stitch-ref:${i}`);
    const dir = await tmp();
    for (const [k, v] of Object.entries(stitch.generator.inputs(seeds))) await put(dir, `${k}.npy`, v as FloatTensor);
    const [r] = await python([{ kind: 'lstsq', dir, classifier: 'fmnist-resnet', layerX: 'layer2', layerY: 'b16.conv0', ridge: 1e-3 }]);
    const w = await get(dir, 'lstsq_weight.npy');
    const b = await get(dir, 'lstsq_bias.npy');
    const r2 = (stitch.record.lstsq as { r2: number }).r2;
    note('lstsq rel err w, b; r2 ganvas / torch', [relErr(stitch.weights.weight, w), relErr(stitch.weights.bias, b), r2, r.r2]);
    expect(relErr(stitch.weights.weight, w)).to.be.below(1e-4);
    expect(relErr(stitch.weights.bias, b)).to.be.below(1e-4);
    expect(r2).to.be.closeTo(r.r2 as number, 1e-5);
    expect(r2).to.be.within(0.05, 1);
  });
});

// ------------------------------------------------------------------------------------- 3. metrics (§3.4)
describe('stitching metrics (paper 003 §3.4) vs PyTorch and by hand', function () {
  this.timeout(60_000);
  const t = (dims: number[], data: number[]): FloatTensor => ({ data: Float32Array.from(data), dims });

  it('pixelCosine, gramCosine, meanAbsDiff and activationMetrics equal a float64 PyTorch implementation on random tensors', async () => {
    const dims = [3, 5, 4, 6];
    const a = randn('metrics-a', dims);
    const noise = randn('metrics-noise', dims);
    const b: FloatTensor = { data: a.data.map((v, i) => v + 0.7 * noise.data[i]), dims };
    // An all-zero pixel in sample 0 (cosine 0 there) and negative values everywhere (ReLU-free activations).
    for (let k = 0; k < 5; k++) a.data[(0 * 5 + k) * 24 + 3] = 0;
    const dir = await tmp();
    await put(dir, 'a.npy', a);
    await put(dir, 'b.npy', b);
    const dir2 = await tmp();
    // A second case with a large eps, so that the max(‖·‖‖·‖, ε) clamp is active on every pixel.
    const small: FloatTensor = { data: a.data.map((v) => v * 0.01), dims };
    await put(dir2, 'a.npy', small);
    await put(dir2, 'b.npy', b);
    await python([
      { kind: 'metrics', dir },
      { kind: 'metrics', dir: dir2, eps: 0.5 },
    ]);
    const check = async (d: string, m: ActivationMetrics) => {
      const cos = await get(d, 'cos.npy');
      const gram = await get(d, 'gram.npy');
      const l1 = await get(d, 'l1.npy');
      note('metrics max abs diff cos, gram, l1', [maxAbs(m.cosine, cos.data), maxAbs(m.gram, gram.data), maxAbs(m.l1, l1.data)]);
      expect(maxAbs(m.cosine, cos.data)).to.be.below(1e-6);
      expect(maxAbs(m.gram, gram.data)).to.be.below(1e-6);
      expect(maxAbs(m.l1, l1.data)).to.be.below(1e-6);
    };
    await check(dir, { cosine: pixelCosine(a, b), gram: gramCosine(a, b), l1: meanAbsDiff(a, b) });
    await check(dir, activationMetrics(a, b));
    await check(dir2, activationMetrics(small, b, 0.5));
    // The random case is not degenerate: the three metrics differ between samples and from 0 and 1.
    const m = activationMetrics(a, b);
    for (const v of [...m.cosine, ...m.gram]) expect(v).to.be.within(0.1, 0.999);
  });

  // 2 channels × 1×2 pixels. α′ (a): channel 0 = [1, 0], channel 1 = [0, 2] → pixel vectors (1, 0), (0, 2).
  // α (b): channel 0 = [1, 3], channel 1 = [1, 4] → pixel vectors (1, 1), (3, 4).
  const a = t([1, 2, 1, 2], [1, 0, 0, 2]);
  const b = t([1, 2, 1, 2], [1, 3, 1, 4]);

  it('a hand-worked 2×1×2 case: cosine (1/√2 + 0.8)/2, L1 1.5, Gram 78/√(17·727)', () => {
    // Pixel 0: (1,0)·(1,1) / (1·√2) = 1/√2; pixel 1: (0,2)·(3,4) / (2·5) = 0.8.
    expect(pixelCosine(a, b)[0]).to.be.closeTo((Math.SQRT1_2 + 0.8) / 2, 1e-12);
    // |1−1| + |0−3| + |0−1| + |2−4| = 6 over 4 values.
    expect(meanAbsDiff(a, b)[0]).to.be.closeTo(1.5, 1e-12);
    // G(α′) = [[1, 0], [0, 4]], G(α) = [[10, 13], [13, 17]]: Σ G⊙G = 10 + 68 = 78, ‖G(α′)‖ = √17, ‖G(α)‖ = √727.
    expect(gramCosine(a, b)[0]).to.be.closeTo(78 / Math.sqrt(17 * 727), 1e-12);
    // Order of the arguments does not matter for these symmetric metrics.
    expect(pixelCosine(b, a)[0]).to.be.closeTo(pixelCosine(a, b)[0], 1e-15);
  });

  it('eps clamps the denominator (max(‖α′‖‖α‖, ε), not a sum): ε = 10 gives (1/10 + 8/10)/2', () => {
    expect(pixelCosine(a, b, 10)[0]).to.be.closeTo((0.1 + 0.8) / 2, 1e-12);
    expect(gramCosine(a, b, 1000)[0]).to.be.closeTo(78 / 1000, 1e-12);
  });

  it('an all-zero activation pixel gives cosine 0 there, not NaN; all-zero activations give Gram cosine 0', () => {
    const z = t([1, 2, 1, 2], [0, 0, 0, 2]); // pixel 0 is (0, 0)
    const c = pixelCosine(z, b)[0];
    expect(Number.isNaN(c)).to.equal(false);
    expect(c).to.be.closeTo((0 + 0.8) / 2, 1e-12);
    const zero = t([1, 2, 1, 2], [0, 0, 0, 0]);
    const m = activationMetrics(zero, zero);
    expect(m.cosine[0]).to.equal(0);
    expect(m.gram[0]).to.equal(0);
    expect(m.l1[0]).to.equal(0);
  });

  it('NaN, infinite and mis-shaped activations are refused with a GanvasError', () => {
    const fns = [pixelCosine, gramCosine, meanAbsDiff, (x: FloatTensor, y: FloatTensor) => activationMetrics(x, y)];
    for (const fn of fns) {
      throwsGanvas(() => fn(t([1, 2, 1, 2], [1, NaN, 0, 2]), b), 'BAD_INPUT');
      throwsGanvas(() => fn(a, t([1, 2, 1, 2], [1, 3, Infinity, 4])), 'BAD_INPUT');
      throwsGanvas(() => fn(a, t([1, 2, 2, 1], [1, 3, 1, 4])), 'BAD_INPUT');
      throwsGanvas(() => fn(t([2, 1, 2], [1, 0, 0, 2]), t([2, 1, 2], [1, 3, 1, 4])), 'BAD_INPUT');
      throwsGanvas(() => fn(a, t([2, 2, 1, 2], [1, 3, 1, 4, 1, 3, 1, 4])), 'BAD_INPUT');
    }
  });
});

// ------------------------------------------------------------------------ 4. preprocessing graph and compose
describe('stitching pieces: preprocessing graph = FeatureExtractor.preprocess; compose round trips', function () {
  this.timeout(60_000);
  const GRAY: Omit<Preprocess, 'size'> = { channels: 1, range: [0, 1], mean: [0.3], std: [0.2] };
  const RGB: Omit<Preprocess, 'size'> = { channels: 3, range: [0, 255], mean: [100, 120, 90], std: [50, 60, 55] };
  const sizes: { label: string; from: [number, number]; to: [number, number] }[] = [
    { label: 'no resize', from: [12, 10], to: [12, 10] },
    { label: '28×28 → 32×32 (Fashion-MNIST to the demo size)', from: [28, 28], to: [32, 32] },
    { label: '16×20 → 32×10 (integer up and down)', from: [16, 20], to: [32, 10] },
    { label: '9×7 → 3×16 (fractional)', from: [9, 7], to: [3, 16] },
  ];
  const conversions: { label: string; from: number; p: Omit<Preprocess, 'size'> }[] = [
    { label: 'gray → gray', from: 1, p: GRAY },
    { label: 'gray → RGB', from: 1, p: RGB },
    { label: 'RGB → gray', from: 3, p: GRAY },
    { label: 'RGB → RGB', from: 3, p: RGB },
  ];
  for (const conv of conversions) {
    for (const sz of sizes) {
      it(`${conv.label}, ${sz.label}`, async () => {
        const bundle = await openModel(demoModelDir('fmnist-resnet'));
        const pre: Preprocess = { ...conv.p, size: sz.to };
        const fx = await FeatureExtractor.open({ ...bundle, manifest: { ...bundle.manifest, preprocess: pre } }, 'layer1', rt);
        const range: [number, number] = [-1, 1];
        const images = randn(`pre:${conv.label}:${sz.label}`, [2, conv.from, ...sz.from]);
        const want = fx.preprocess(images, range);
        const m = preprocessModel(pre, { channels: conv.from, height: sz.from[0], width: sz.from[1], range });
        const s = await rt.session(m);
        const got = (await s.run({ image: images }))['input'];
        note('preprocess max abs diff', maxAbs(got, want));
        expect(got.dims).to.deep.equal([2, conv.p.channels, ...sz.to]);
        expect(maxAbs(got, want)).to.be.below(1e-4 * Math.max(1, maxOf(want.data)));
      });
    }
  }

  /** x [N, 2, 4, 4] → conv → relu → conv → y [N, 3, 4, 4] */
  function small(opset = 13) {
    const g = new GraphBuilder(opset);
    g.input('x', ['N', 2, 4, 4]);
    const h = g.node('Relu', [g.conv('x', 2, 4, 'h')], 'r');
    g.conv(h, 4, 3, 'y');
    g.output('y', ['N', 3, 4, 4]);
    return g.build(`small opset ${opset}`);
  }
  /** The same network cut in two: x → r, and r′ → y. */
  function halves() {
    const m = small();
    const a = new GraphBuilder();
    a.input('x', ['N', 2, 4, 4]);
    const b = new GraphBuilder();
    b.input('in', ['N', 4, 4, 4]);
    const g = m.graph;
    const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
    const [c1, relu, c2] = g.node ?? [];
    const copyInit = (gb: GraphBuilder, name: string) => {
      const t = inits.get(name);
      gb.init(name, (t?.dims ?? []).map(Number), Float32Array.from(t?.floatData ?? []));
    };
    for (const n of [...(c1.input ?? []).slice(1)]) copyInit(a, n);
    a.node('Conv', c1.input ?? [], 'h', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
    a.node('Relu', relu.input ?? [], 'r');
    a.output('r', ['N', 4, 4, 4]);
    for (const n of [...(c2.input ?? []).slice(1)]) copyInit(b, n);
    b.node('Conv', ['in', ...(c2.input ?? []).slice(1)], 'y', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
    b.output('y', ['N', 3, 4, 4]);
    return { whole: m, a: a.build('first half'), b: b.build('second half') };
  }

  it('compose of two halves, initializersToInputs and inputsToInitializers all give the whole model’s outputs', async () => {
    const { whole, a, b } = halves();
    const x = randn('compose-x', [3, 2, 4, 4]);
    const ref = (await (await rt.session(whole)).run({ x }))['y'];
    const composed = compose(
      [
        { model: a, prefix: 'a/' },
        { model: b, prefix: 'b/', connect: { in: 'a/r' } },
      ],
      { outputs: ['b/y'] },
    );
    expect(composed.inputNames()).to.deep.equal(['a/x']);
    const y1 = (await (await rt.session(composed)).run({ 'a/x': x }))['b/y'];
    expect(maxAbs(y1, ref)).to.equal(0);
    // Weights fed as inputs are not bit-identical to initializers (measured 2.4e-7): onnxruntime pre-packs
    // constant convolution weights, so the two run different kernels.
    const tol = 1e-6 * maxOf(ref.data);
    // Weights to inputs: the same outputs when the values are fed back; different ones when they are changed.
    const names = (whole.graph.initializer ?? []).map((t) => t.name ?? '').filter((n) => n.startsWith('w') || n.startsWith('b'));
    expect(names.length).to.equal(4);
    const { model: open, values } = initializersToInputs(whole, names);
    expect(open.inputNames()).to.include.members(names);
    const so = await rt.session(open);
    const y2 = (await so.run({ x, ...values }))['y'];
    expect(maxAbs(y2, ref)).to.be.below(tol);
    const bumped = { ...values, [names[3]]: { data: values[names[3]].data.map((v) => v + 1), dims: values[names[3]].dims } };
    expect(maxAbs((await so.run({ x, ...bumped }))['y'], ref)).to.be.above(0.5);
    note('compose, initializersToInputs max abs diff to the whole model', [maxAbs(y1, ref), maxAbs(y2, ref)]);
    const frozen = inputsToInitializers(open, values);
    expect(frozen.inputNames()).to.deep.equal(['x']);
    const y3 = (await (await rt.session(frozen)).run({ x }))['y'];
    expect(maxAbs(y3, ref)).to.be.below(tol);
    // And through bytes (a saved file) as well.
    const again = (await (await rt.session(decodeModel(frozen.bytes(), 'frozen copy'))).run({ x }))['y'];
    expect(maxAbs(again, y3)).to.equal(0);
  });

  it('compose refuses mismatched opsets, duplicate prefixes, unknown tensors and inputs, with GanvasErrors', () => {
    const { a, b } = halves();
    throwsGanvas(() => compose([{ model: small(13), prefix: 'a/' }, { model: small(12), prefix: 'b/' }], { outputs: ['a/y'] }), 'UNSUPPORTED');
    throwsGanvas(() => compose([{ model: a, prefix: 'p/' }, { model: b, prefix: 'p/', connect: { in: 'p/r' } }], { outputs: ['p/y'] }), 'BAD_INPUT');
    const e = throwsGanvas(() => compose([{ model: a, prefix: 'a/' }, { model: b, prefix: 'b/', connect: { in: 'a/relu' } }], { outputs: ['b/y'] }), 'BAD_INPUT');
    expect(e.message).to.contain('a/relu');
    throwsGanvas(() => compose([{ model: a, prefix: 'a/' }, { model: b, prefix: 'b/', connect: { nope: 'a/r' } }], { outputs: ['b/y'] }), 'BAD_INPUT');
    // A piece may only read earlier pieces.
    throwsGanvas(() => compose([{ model: b, prefix: 'b/', connect: { in: 'a/r' } }, { model: a, prefix: 'a/' }], { outputs: ['b/y'] }), 'BAD_INPUT');
    throwsGanvas(() => compose([{ model: a, prefix: 'a/' }], { outputs: ['a/nothing'] }), 'BAD_INPUT');
    throwsGanvas(() => compose([], { outputs: [] }), 'BAD_INPUT');
    throwsGanvas(() => initializersToInputs(a, ['no-such-weight']), 'BAD_INPUT');
    const { model: open, values } = initializersToInputs(small(), ['w0']);
    throwsGanvas(() => inputsToInitializers(open, { w0: { data: new Float32Array(3), dims: [3] } }), 'BAD_INPUT');
    throwsGanvas(() => inputsToInitializers(open, { nope: values.w0 }), 'BAD_INPUT');
  });
});

});

/**
 * Issue 19 (mutation testing), second part for src/inversion/render.ts: imageModel's declared interface, the
 * inversion graph of a classifier opened afresh in each test (graphs are cached per classifier model, so a graph
 * built by an earlier run would hide a changed build), and invert()'s seeds, value range, progress and refusals —
 * each against a hand-worked case or an independent computation. In its own file so that the results recorded
 * against inversionParts.test.ts and inversion.test.ts stay as they were.
 */
import { expect } from 'chai';
import {
  FeatureExtractor,
  FloatTensor,
  ImageParameterization,
  Runtime,
  fftImage,
  imageModel,
  inversionGraph,
  inversionMethods,
  invert,
  jitter,
  lossAndGradients,
  onnx,
  pixelImage,
} from 'ganvas';
import { GraphBuilder } from './builder';
import { modelFolder, tinyClassifier } from './models';
import { rejectsGanvas } from './util';
import { randomTensor } from './inversionHelpers';

const dimsOf = (v: onnx.IValueInfoProto) => v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));

/**
 * A classifier written for ONNX opset 17 (the shipped models are all opset 13): image [N,1,8,8] → conv → relu =
 * layer1 → conv → relu = layer2. A new folder per call, so each test opens a classifier no graph was built for.
 */
function opset17Classifier(): Promise<string> {
  const g = new GraphBuilder(17);
  const x = g.input('image', ['N', 1, 8, 8]);
  const l1 = g.node('Relu', [g.conv(x, 1, 4)], 'l1');
  g.node('Relu', [g.conv(l1, 4, 6)], 'l2');
  g.output('l2', ['N', 6, 8, 8]);
  return modelFolder(g, {
    format: 'ganvas-manifest/1',
    name: 'cls17',
    model: 'model.onnx',
    role: 'classifier',
    inputs: [{ name: 'image', kind: 'image', shape: ['N', 1, 8, 8] }],
    outputs: [{ name: 'l2', kind: 'features' }],
    preprocess: { size: [8, 8], channels: 1, range: [0, 1], mean: [0.5], std: [0.25] },
    layers: { layer1: 'l1', layer2: 'l2' },
  });
}

/** Runs `body` with a Runtime of its own, released afterwards (also when the body fails). */
async function withRuntime<T>(body: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = new Runtime({ threads: 1 });
  try {
    return await body(rt);
  } finally {
    await rt.release();
  }
}

/** Σ over images of the mean |a − t| over each image's values (the paper's L1 at LayerX), in float64. */
function l1PerImageSum(a: Float32Array, t: Float32Array, n: number): number {
  const per = a.length / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * per; j < (i + 1) * per; j++) s += Math.abs(a[j] - t[j]);
    sum += s / per;
  }
  return sum;
}

function unitImages(seed: string, n: number, size = 16): FloatTensor {
  const r = randomTensor(seed, [n, 1, size, size], 0.2);
  return { data: r.data.map((v) => Math.min(1, Math.max(0, 0.5 + v))), dims: r.dims };
}

describe('inversion: imageModel and the inversion graph, afresh (issue 19)', function () {
  this.timeout(300000);

  it('imageModel declares θ ("theta…", [N, ...thetaDims]), the jitter feeds and image [N, C, H, W] float, and its output has those dims', async () => {
    // fftImage stores W//2 + 1 = 3 complex columns of a 5-wide image as 6 reals; jitter (pad 2, shift 1) takes two
    // one-hot choices among 2·1 + 1 = 3 shifts per image.
    const { model, theta, feeds } = imageModel(fftImage(), 3, 4, 5, { transforms: [jitter()] });
    expect(theta.startsWith('theta'), theta).to.equal(true);
    expect(model.graph.name).to.equal('inversion image');
    expect(model.proto.producerName).to.equal('ganvas');
    expect(model.source).to.equal('fft(sd=0.01, decay=1, decorrelate=true) → jitter(pad=2, shift=1) image 3×4×5');
    const inputs = model.graph.input ?? [];
    expect(inputs.map((v) => v.name)).to.deep.equal([theta, ...feeds.map((f) => f.name)]);
    expect(inputs.map(dimsOf)).to.deep.equal([['N', 3, 4, 6], ['N', 3, 1, 1], ['N', 3, 1, 1]]);
    const outputs = model.graph.output ?? [];
    expect(outputs.map((v) => v.name)).to.deep.equal(['image']);
    expect(outputs[0].type?.tensorType?.elemType).to.equal(onnx.TensorProto.DataType.FLOAT);
    expect(outputs.map(dimsOf)).to.deep.equal([['N', 3, 4, 5]]);
    // Running it for 2 images gives what it declares (N = 2). Image 0 takes the middle shift on both axes: the
    // image without jitter (imageModel with no transforms, same θ); image 1 the last ones: values in (0, 1) too.
    await withRuntime(async (rt) => {
      const th = randomTensor('image-model', [2, 3, 4, 6], 0.5);
      const oneHots = { data: Float32Array.from([0, 1, 0, 0, 0, 1]), dims: [2, 3, 1, 1] };
      const out = (await (await rt.session(model)).run({ [theta]: th, [feeds[0].name]: oneHots, [feeds[1].name]: oneHots })).image;
      expect(out.dims).to.deep.equal([2, 3, 4, 5]);
      const plain = imageModel(fftImage(), 3, 4, 5);
      const ref = (await (await rt.session(plain.model)).run({ [plain.theta]: th })).image;
      expect(ref.dims).to.deep.equal([2, 3, 4, 5]);
      ref.data.subarray(0, 60).forEach((v, i) => expect(out.data[i], `pixel ${i}`).to.be.closeTo(v, 1e-6));
      expect(Array.from(out.data).every((v) => v > 0 && v < 1)).to.equal(true);
    });
  });

  it('inversionGraph of a fresh classifier: θ "inv/theta…", target "inversion_target", its sources, the classifier\'s opset, and a loss that is the L1 of the features', async () => {
    await withRuntime(async (rt) => {
      const fx = await FeatureExtractor.open(await opset17Classifier(), 'layer2', rt);
      expect(fx.model.source).to.match(/up to layer2$/);
      const g = await inversionGraph(fx, inversionMethods.plain());
      expect(g.theta.startsWith('inv/theta'), g.theta).to.equal(true);
      expect(g.target).to.equal('inversion_target');
      expect(g.feeds).to.deep.equal([]);
      expect(g.gradient.source).to.equal(`gradient of pixel(sd=0.01) inversion of ${fx.model.source} w.r.t. ${g.theta}`);
      expect(g.image.source).to.equal('pixel(sd=0.01) image 1×8×8');
      // Both halves are written for the classifier's opset 17, not imageModel's default 13.
      expect(g.gradient.proto.opsetImport?.find((o) => !o.domain)?.version).to.equal(17);
      expect(g.image.proto.opsetImport?.map((o) => [o.domain, o.version])).to.deep.equal([['', 17]]);
      // The graph's loss for θ and a target, against the features of θ's image computed apart (JavaScript
      // preprocessing, the truncated classifier), summed over 2 images.
      const theta = randomTensor('graph-theta', [2, 1, 8, 8]);
      const image = (await (await rt.session(g.image)).run({ [g.image.inputNames()[0]]: theta })).image;
      const feats = await fx.features(image, [0, 1]);
      expect(feats.dims).to.deep.equal([2, 6, 8, 8]);
      const target = randomTensor('graph-target', [...feats.dims], 0.3);
      const r = await lossAndGradients(await rt.session(g.gradient), { [g.theta]: theta, [g.target]: target });
      const want = l1PerImageSum(feats.data, target.data, 2);
      expect(want).to.be.above(0.1);
      expect(r.loss).to.be.closeTo(want, 1e-5 * want);
      expect(r.grads[g.theta].dims).to.deep.equal([2, 1, 8, 8]);
    });
  });

  it('one graph per transform list: jitter(pad 3, shift 2) does not reuse jitter()\'s (5 shifts to choose from, not 3)', async () => {
    await withRuntime(async (rt) => {
      const fx = await FeatureExtractor.open(await opset17Classifier(), 'layer1', rt);
      const a = await inversionGraph(fx, { parameterization: fftImage(), transforms: [jitter()] });
      const b = await inversionGraph(fx, { parameterization: fftImage(), transforms: [jitter({ pad: 3, shift: 2 })] });
      expect(a.feeds.map((f) => f.perImage)).to.deep.equal([[3, 1, 1], [3, 1, 1]]);
      expect(b.feeds.map((f) => f.perImage)).to.deep.equal([[5, 1, 1], [5, 1, 1]]);
      expect(b.feeds.every((f) => f.name.startsWith('inv/'))).to.equal(true);
      expect(await inversionGraph(fx, { parameterization: fftImage(), transforms: [jitter({ pad: 3, shift: 2 })] })).to.equal(b);
    });
  });

  it('refuses a classifier whose manifest lost its "preprocess" after opening, by name, in inversionGraph and in invert', async () => {
    await withRuntime(async (rt) => {
      for (const call of ['inversionGraph', 'invert'] as const) {
        const fx = await FeatureExtractor.open(await opset17Classifier(), 'layer1', rt);
        delete (fx.bundle.manifest as { preprocess?: unknown }).preprocess;
        const p = call === 'invert' ? invert(fx, unitImages('no-pre', 1, 8), { steps: 1 }) : inversionGraph(fx, inversionMethods.plain());
        const e = await rejectsGanvas(p, 'BAD_MANIFEST');
        expect(e.message, call).to.equal('cls17 has no "preprocess" in its manifest');
      }
    });
  });
});

describe('inversion: invert()\'s seeds, range, progress and refusals (issue 19)', function () {
  this.timeout(300000);
  const rt = new Runtime({ threads: 1 });
  let fx: FeatureExtractor;
  before(async () => {
    fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
  });
  after(() => rt.release());

  it('refuses originals that are not 4-D, or not the classifier\'s size and channels, naming them and the fix', async () => {
    const e3 = await rejectsGanvas(invert(fx, { data: new Float32Array(256), dims: [1, 16, 16] }, { steps: 1 }), 'NOT_4D');
    expect(e3.message).to.equal('originals must be 4-D (N, C, H, W), got dims [1, 16, 16]');
    for (const [dims, got] of [
      [[1, 1, 12, 16], '1×12×16'],
      [[1, 1, 16, 12], '1×16×12'],
      [[1, 3, 16, 16], '3×16×16'],
    ] as const) {
      const n = (dims as readonly number[]).reduce((a, b) => a * b, 1);
      const e = await rejectsGanvas(invert(fx, { data: new Float32Array(n).fill(0.5), dims: [...dims] as number[] }, { steps: 1 }), 'BAD_INPUT');
      expect(e.message).to.equal(
        `tiny-cls inverts images of its input size 1×16×16 (manifest preprocess), got ${got}; resize the images and convert their channels first`,
      );
    }
  });

  it('refuses an empty range (lo = hi) with its own message, before any work', async () => {
    for (const range of [[0, 0], [255, 255]] as [number, number][]) {
      const e = await rejectsGanvas(invert(fx, unitImages('empty-range', 1), { steps: 1, range }), 'BAD_INPUT');
      expect(e.message).to.equal(`range must be [lo, hi] with lo < hi, e.g. [0, 1], got ${JSON.stringify(range)}`);
    }
  });

  it('range [0, 255]: originals × 255 give the reconstructions × 255 and the same losses; [−1, 1] likewise', async () => {
    const originals = unitImages('range', 2);
    const opts = { ...inversionMethods.plain(), steps: 3, seed: 'range' };
    const unit = await invert(fx, originals, opts);
    for (const [lo, hi] of [[0, 255], [-1, 1]] as [number, number][]) {
      const scaled = { data: originals.data.map((v) => lo + v * (hi - lo)), dims: originals.dims };
      const r = await invert(fx, scaled, { ...opts, range: [lo, hi] });
      expect(r.images.dims).to.deep.equal(unit.images.dims);
      // The range maps are float32 round trips, so the targets (and everything after) agree to rounding.
      unit.images.data.forEach((v, i) => expect(r.images.data[i], `[${lo}, ${hi}] pixel ${i}`).to.be.closeTo(lo + v * (hi - lo), 1e-4 * (hi - lo)));
      Array.from(unit.loss).forEach((v, i) => expect(r.loss[i], `[${lo}, ${hi}] loss ${i}`).to.be.closeTo(v, 1e-4 * v));
    }
    // Reconstructions in [0, 255] really span more than [0, 1] (the plain sigmoid starts near 0.5, i.e. 127.5).
    const big = await invert(fx, { data: originals.data.map((v) => v * 255), dims: originals.dims }, { ...opts, range: [0, 255] });
    expect(Math.min(...big.images.data)).to.be.above(100);
  });

  it('each image index has its own start: two copies of one image get different reconstructions', async () => {
    const one = unitImages('copies', 1);
    const two = { data: new Float32Array(2 * 256), dims: [2, 1, 16, 16] };
    two.data.set(one.data, 0);
    two.data.set(one.data, 256);
    // Plain pixels and no transforms: only the initial θ can tell the copies apart.
    const r = await invert(fx, two, { ...inversionMethods.plain(), steps: 2, seed: 3 });
    const a = Array.from(r.images.data.subarray(0, 256));
    const b = Array.from(r.images.data.subarray(256));
    expect(a).to.not.deep.equal(b);
  });

  it('the transforms\' randomness follows the seed and the index: with a start that ignores the seed, seeds a and b differ, a and a do not', async () => {
    const base = pixelImage();
    const fixedStart: ImageParameterization = { ...base, name: 'pixel(fixed start)', init: (_seed, c, h, w) => base.init('fixed', c, h, w) };
    const originals = unitImages('jitter-stream', 1);
    const opts = { parameterization: fixedStart, transforms: [jitter()], steps: 4 };
    const a = await invert(fx, originals, { ...opts, seed: 'a' });
    const a2 = await invert(fx, originals, { ...opts, seed: 'a' });
    const b = await invert(fx, originals, { ...opts, seed: 'b' });
    expect(Array.from(a2.images.data)).to.deep.equal(Array.from(a.images.data));
    expect(Array.from(b.images.data)).to.not.deep.equal(Array.from(a.images.data));
    // Without the jitter the seed has nothing left to change.
    const still = await invert(fx, originals, { ...opts, transforms: [], seed: 'a' });
    expect(Array.from((await invert(fx, originals, { ...opts, transforms: [], seed: 'b' })).images.data)).to.deep.equal(Array.from(still.images.data));
    // Two copies in one call: the same start, different jitter streams (indices 0 and 1).
    const two = { data: new Float32Array(2 * 256), dims: [2, 1, 16, 16] };
    two.data.set(originals.data, 0);
    two.data.set(originals.data, 256);
    const r = await invert(fx, two, { ...opts, seed: 'a' });
    expect(Array.from(r.images.data.subarray(0, 256))).to.deep.equal(Array.from(a.images.data));
    expect(Array.from(r.images.data.subarray(256))).to.not.deep.equal(Array.from(a.images.data));
  });

  it('onProgress: 3 images in batches of 2 for 2 steps report 2, 4 (batch 1), 5, 6 (batch 2) of 6 image-steps, and the history has 2 steps per batch', async () => {
    const seen: [number, number][] = [];
    const r = await invert(fx, unitImages('progress', 3), { ...inversionMethods.plain(), steps: 2, batchSize: 2, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).to.deep.equal([[2, 6], [4, 6], [5, 6], [6, 6]]);
    expect(r.history.map((h) => h.length)).to.deep.equal([2, 2]);
  });
});

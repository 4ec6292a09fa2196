/**
 * Issue 19 (mutation testing): the inversion parts' settings, names and refusals, and invert()'s bookkeeping, each
 * against a hand-worked case or an independent computation (numpy for the FFT). In its own file so that
 * inversion.test.ts, and mutation results recorded against it, stay as they were.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import {
  COLOR_CORRELATION_SVD_SQRT,
  FeatureExtractor,
  FloatTensor,
  Runtime,
  activationL1,
  colorCorrelationNormalized,
  demoModelDir,
  fashionMnist,
  fftImage,
  gaussian,
  gradientModel,
  imageModel,
  inversionGraph,
  inversionMethods,
  invert,
  jitter,
  lossAndGradients,
  onnx,
  pixelImage,
  rfftColumns,
  spectrumScale,
} from 'ganvas';
import { tinyClassifier } from './models';
import { rejectsGanvas, throwsGanvas } from './util';
import { identityParam, randomTensor } from './inversionHelpers';

const rt = new Runtime({ threads: 1 });

describe('inversion: parts by hand (issue 19)', function () {
  this.timeout(120000);

  it('activationL1: per image the mean |a − t| over C·H·W, summed over images, in the graph and in JavaScript', async () => {
    const obj = activationL1();
    expect(obj.name).to.equal('L1(LayerX)');
    // Image 0: |1|, |2|, |3|, |4| → 2.5; image 1: |0−1|, |0+1|, |0−2|, |0+2| → 1.5.
    const a = Float32Array.from([1, 2, 3, 4, 0, 0, 0, 0]);
    const t = Float32Array.from([0, 0, 0, 0, 1, -1, 2, -2]);
    expect(Array.from(obj.perImage(a, t, 4))).to.deep.equal([2.5, 1.5]);
    // The graph's loss on [2, 1, 2, 2] activations (rank 4): 2.5 + 1.5, and its gradient sign(a − t) / 4.
    const { model, theta } = imageModel(identityParam, 1, 2, 2);
    const gm = await gradientModel(model, { wrt: [theta], loss: obj.loss('image', 'target', 4) });
    const r = await lossAndGradients(await rt.session(gm), { [theta]: { data: a, dims: [2, 1, 2, 2] }, target: { data: t, dims: [2, 1, 2, 2] } });
    expect(r.loss).to.be.closeTo(4, 1e-6);
    expect(Array.from(r.grads[theta].data)).to.deep.equal([0.25, 0.25, 0.25, 0.25, -0.25, 0.25, -0.25, 0.25]);
  });

  it('jitter: defaults pad 2 and shift 1, its name, the identity at shift 0, and refusals that say what is allowed', async () => {
    expect(jitter().name).to.equal('jitter(pad=2, shift=1)');
    expect(jitter({ pad: 3 }).name).to.equal('jitter(pad=3, shift=1)');
    // Pad 0 (with shift 0, the identity) is allowed: "an integer ≥ 0".
    expect(jitter({ pad: 0, shift: 0 }).name).to.equal('jitter(pad=0, shift=0)');
    const feedsOf = (t: ReturnType<typeof jitter>, h = 6, w = 6) => imageModel(identityParam, 1, h, w, { transforms: [t] }).feeds;
    expect(feedsOf(jitter()).map((f) => f.perImage)).to.deep.equal([[3, 1, 1], [3, 1, 1]]);
    expect(feedsOf(jitter({ shift: 2 })).map((f) => f.perImage)).to.deep.equal([[5, 1, 1], [5, 1, 1]]);
    const fs = feedsOf(jitter());
    expect(fs[0].name).to.not.equal(fs[1].name);
    // Fed as [N, 2·shift + 1, 1, 1].
    const dimsOf = (v: onnx.IValueInfoProto) => v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
    const jm = imageModel(identityParam, 1, 6, 6, { transforms: [jitter()] }).model;
    expect((jm.graph.input ?? []).slice(1).map(dimsOf)).to.deep.equal([['N', 3, 1, 1], ['N', 3, 1, 1]]);
    // A draw at the top of [0, 1) picks the last shift, the bottom the first.
    const out = new Float32Array(3);
    fs[0].sample(() => 0.9999999, out);
    expect(Array.from(out)).to.deep.equal([0, 0, 1]);
    fs[0].sample(() => 0, out);
    expect(Array.from(out)).to.deep.equal([1, 0, 0]);
    // Shift 0: the image passes unchanged (the padding is never seen).
    const { model, theta } = imageModel(identityParam, 2, 3, 4, { transforms: [jitter({ shift: 0 })] });
    const img = randomTensor('jitter-0', [2, 2, 3, 4]);
    expect(Array.from((await (await rt.session(model)).run({ [theta]: img })).image.data)).to.deep.equal(Array.from(img.data));
    // Refusals.
    for (const [opts, re] of [
      [{ pad: 1.5 }, /jitter: pad must be an integer ≥ 0, got 1\.5/],
      [{ pad: -1 }, /jitter: pad must be an integer ≥ 0, got -1/],
      [{ pad: 1, shift: 2 }, /jitter: shift must be an integer between 0 and pad \(1\), got 2/],
      [{ shift: -1 }, /shift must be an integer between 0 and pad \(2\), got -1/],
      [{ shift: 0.5 }, /shift must be an integer between 0 and pad \(2\), got 0\.5/],
    ] as const) {
      expect(throwsGanvas(() => jitter(opts), 'BAD_INPUT').message).to.match(re);
    }
    // The padding must be smaller than the image along both axes (reflection reads pad rows inside it).
    expect(throwsGanvas(() => feedsOf(jitter({ pad: 2, shift: 1 }), 2, 5), 'BAD_INPUT').message).to.match(/reflection padding by 2 needs images larger than 2 pixels, got 2×5/);
    expect(throwsGanvas(() => feedsOf(jitter({ pad: 2, shift: 1 }), 5, 2), 'BAD_INPUT').message).to.match(/got 5×2/);
    expect(feedsOf(jitter({ pad: 2, shift: 1 }), 3, 3)).to.have.length(2);
  });

  it('pixelImage and fftImage: names, θ shapes, the initial draw (N(0, sd²) from the seed), and refusals', () => {
    expect(pixelImage().name).to.equal('pixel(sd=0.01)');
    expect(fftImage().name).to.equal('fft(sd=0.01, decay=1, decorrelate=true)');
    expect(fftImage({ sd: 0.1, decayPower: 2, decorrelate: false }).name).to.equal('fft(sd=0.1, decay=2, decorrelate=false)');
    expect(pixelImage().thetaDims(3, 5, 7)).to.deep.equal([3, 5, 7]);
    // W = 7 and 6: W//2 + 1 = 4 stored columns, real then imaginary parts.
    expect(fftImage().thetaDims(3, 5, 7)).to.deep.equal([3, 5, 8]);
    expect(fftImage().thetaDims(1, 5, 6)).to.deep.equal([1, 5, 8]);
    expect([1, 2, 6, 7].map(rfftColumns)).to.deep.equal([1, 2, 4, 4]);
    const z = gaussian('init-seed', 2 * 3 * 4);
    const p = pixelImage({ sd: 0.5 }).init('init-seed', 2, 3, 4);
    expect(p).to.have.length(24);
    p.forEach((v, i) => expect(v).to.be.closeTo(0.5 * z[i], 1e-7));
    const dflt = pixelImage().init('init-seed', 2, 3, 4);
    dflt.forEach((v, i) => expect(v).to.be.closeTo(0.01 * z[i], 1e-9));
    const f = fftImage({ sd: 2 }).init('init-seed', 1, 3, 2); // 1 × 3 × 2·2
    expect(f).to.have.length(12);
    f.forEach((v, i) => expect(v).to.be.closeTo(2 * z[i], 1e-6));
    expect(Array.from(pixelImage({ sd: 0 }).init('s', 1, 2, 2), Math.abs)).to.deep.equal([0, 0, 0, 0]);
    for (const sd of [-1, NaN, Infinity]) {
      expect(throwsGanvas(() => pixelImage({ sd }), 'BAD_INPUT').message).to.contain(`pixelImage: sd must be a finite number ≥ 0, got ${sd}`);
      expect(throwsGanvas(() => fftImage({ sd }), 'BAD_INPUT').message).to.contain(`fftImage: sd must be a finite number ≥ 0, got ${sd}`);
    }
    expect(throwsGanvas(() => fftImage({ decayPower: Infinity }), 'BAD_INPUT').message).to.contain('fftImage: decayPower must be finite, got Infinity');
    expect(throwsGanvas(() => fftImage({ decayPower: NaN }), 'BAD_INPUT').message).to.contain('decayPower must be finite, got NaN');
  });

  it('Lucid\'s colour matrix normalized by its largest column norm, √(0.26² + 0.27² + 0.27²) = 0.4619524', () => {
    const m = colorCorrelationNormalized();
    const norm = Math.sqrt(0.26 ** 2 + 0.27 ** 2 + 0.27 ** 2);
    expect(norm).to.be.closeTo(0.4619524, 1e-7);
    const raw = [[0.26, 0.09, 0.02], [0.27, 0.0, -0.05], [0.27, -0.09, 0.03]];
    raw.forEach((row, i) => row.forEach((v, j) => expect(m[i][j], `(${i}, ${j})`).to.be.closeTo(v / norm, 1e-12)));
    expect(COLOR_CORRELATION_SVD_SQRT).to.deep.equal(raw);
  });

  it('spectrumScale with other decay powers: 1/f², and 1 everywhere at decay 0', () => {
    const s2 = spectrumScale(4, 6, 2);
    expect(s2[0]).to.be.closeTo(36, 1e-9); // floor 1/6, squared
    expect(s2[1 * 4 + 0]).to.be.closeTo(16, 1e-9); // fy = 1/4
    expect(s2[2 * 4 + 3]).to.be.closeTo(2, 1e-9); // f² = 1/2
    expect(s2[3 * 4 + 1]).to.be.closeTo(1 / (1 / 16 + 1 / 36), 1e-9); // fy = −1/4, fx = 1/6
    expect(Array.from(spectrumScale(3, 5, 0)).every((v) => v === 1)).to.equal(true);
    expect(spectrumScale(3, 5, 0)).to.have.length(3 * 3);
  });

  it('fftImage with decorrelate false is the one-channel image per channel; with decay 2 it matches numpy', async () => {
    const [h, w] = [5, 6];
    const K = rfftColumns(w);
    const th = randomTensor('fft-nodec', [1, 3, h, 2 * K], 0.5);
    const three = imageModel(fftImage({ decorrelate: false }), 3, h, w);
    const all = (await (await rt.session(three.model)).run({ [three.theta]: th })).image.data;
    const one = imageModel(fftImage(), 1, h, w);
    const s1 = await rt.session(one.model);
    for (let c = 0; c < 3; c++) {
      const part = th.data.subarray(c * h * 2 * K, (c + 1) * h * 2 * K);
      const img = (await s1.run({ [one.theta]: { data: part, dims: [1, 1, h, 2 * K] } })).image.data;
      for (let i = 0; i < h * w; i++) expect(all[c * h * w + i]).to.be.closeTo(img[i], 1e-6);
    }
    const d2 = imageModel(fftImage({ decayPower: 2 }), 1, h, w);
    const th2 = randomTensor('fft-decay2', [1, 1, h, 2 * K], 0.05);
    const ours = (await (await rt.session(d2.model)).run({ [d2.theta]: th2 })).image.data;
    const py = `
import json, sys, numpy as np
d = json.loads(sys.stdin.read())
h, w = d["h"], d["w"]
K = w // 2 + 1
t = np.array(d["theta"], dtype=np.float64).reshape(h, 2 * K)
fy = np.fft.fftfreq(h)[:, None]
fx = np.fft.fftfreq(w)[: K]
scale = 1.0 / np.maximum(np.sqrt(fx * fx + fy * fy), 1.0 / max(h, w)) ** 2
img = np.fft.irfft2((t[:, :K] + 1j * t[:, K:]) * scale, s=(h, w), norm="ortho") / 4.0
print(json.dumps((1 / (1 + np.exp(-img))).ravel().tolist()))
`;
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ h, w, theta: Array.from(th2.data) }) }).toString()) as number[];
    ref.forEach((v, i) => expect(ours[i], `pixel ${i}`).to.be.closeTo(v, 2e-6));
    expect(Math.max(...ref) - Math.min(...ref)).to.be.above(0.05);
  });

  it('imageModel: named after its parts and size, opset 13 unless told', () => {
    const m = imageModel(pixelImage(), 1, 8, 8, { transforms: [jitter()] });
    expect(m.model.source).to.equal('pixel(sd=0.01) → jitter(pad=2, shift=1) image 1×8×8');
    expect(m.model.proto.opsetImport?.[0].version).to.equal(13);
    expect(imageModel(pixelImage(), 1, 8, 8, { opset: 17 }).model.proto.opsetImport?.[0].version).to.equal(17);
    expect(imageModel(pixelImage(), 1, 8, 8).model.source).to.equal('pixel(sd=0.01) image 1×8×8');
  });
});

describe('inversion: invert() bookkeeping (issue 19)', function () {
  this.timeout(300000);
  let fx: FeatureExtractor;
  let originals: FloatTensor;
  before(async () => {
    fx = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer1', rt);
    originals = (await fashionMnist('test', { count: 4, offset: 20 })).images;
  });

  it('returns per image the L1 of its reconstruction\'s features, a loss history per batch and step, and the time', async () => {
    const r = await invert(fx, originals, { ...inversionMethods.plain(), steps: 3, batchSize: 3, seed: 2 });
    expect(r.history.map((h) => h.length)).to.deep.equal([3, 3]);
    const a = await fx.features(r.images, [0, 1]);
    const b = await fx.features(originals, [0, 1]);
    const per = a.data.length / 4;
    for (let i = 0; i < 4; i++) {
      let s = 0;
      for (let j = i * per; j < (i + 1) * per; j++) s += Math.abs(a.data[j] - b.data[j]);
      expect(r.loss[i], `image ${i}`).to.be.closeTo(s / per, 1e-5);
    }
    // The history is the batch's summed loss: the first step's losses of batches {0, 1, 2} and {3} add up to the
    // first step's loss of the four in one batch (each image's start depends on the seed and its index only).
    const whole = await invert(fx, originals, { ...inversionMethods.plain(), steps: 1, batchSize: 4, seed: 2 });
    expect(r.history[0][0] + r.history[1][0]).to.be.closeTo(whole.history[0][0], 1e-4 * whole.history[0][0]);
    expect(r.history[0][2]).to.be.below(r.history[0][0]);
    expect(r.seconds).to.be.above(0);
    expect(r.seconds).to.be.below(3600);
  });

  it('indexOffset: images 2 and 3 inverted alone (offset 2) equal the same images inverted with the whole set', async () => {
    const opts = { steps: 3, batchSize: 2, seed: 4 };
    const whole = await invert(fx, originals, opts);
    const tail = { data: originals.data.slice(2 * 32 * 32), dims: [2, 1, 32, 32] };
    const alone = await invert(fx, tail, { ...opts, indexOffset: 2 });
    expect(Array.from(alone.images.data)).to.deep.equal(Array.from(whole.images.data.subarray(2 * 32 * 32)));
    const unshifted = await invert(fx, tail, opts);
    expect(Array.from(unshifted.images.data)).to.not.deep.equal(Array.from(alone.images.data));
  });

  it('its defaults are FFT-DEC with jitter, lr 0.05, range [0, 1], 512 steps and batches of 32', async () => {
    const base = { steps: 2, seed: 6 };
    const dflt = await invert(fx, originals, base);
    const explicit = await invert(fx, originals, { ...base, ...inversionMethods.fftDec(), lr: 0.05, range: [0, 1], objective: activationL1(), adam: {} });
    expect(Array.from(dflt.images.data)).to.deep.equal(Array.from(explicit.images.data));
    const plain = await invert(fx, originals, { ...base, ...inversionMethods.plain() });
    expect(Array.from(plain.images.data)).to.not.deep.equal(Array.from(dflt.images.data));
    const noJitter = await invert(fx, originals, { ...base, ...inversionMethods.fftDecNoJitter() });
    expect(Array.from(noJitter.images.data)).to.not.deep.equal(Array.from(dflt.images.data));
    const otherLr = await invert(fx, originals, { ...base, lr: 0.02 });
    expect(Array.from(otherLr.images.data)).to.not.deep.equal(Array.from(dflt.images.data));
    const otherAdam = await invert(fx, originals, { ...base, adam: { beta1: 0.5 } });
    expect(Array.from(otherAdam.images.data)).to.not.deep.equal(Array.from(dflt.images.data));
    // 40 images, stopped at the first progress report: the first batch holds 32 images of 40 × 512 image-steps.
    const many = (await fashionMnist('test', { count: 40 })).images;
    const ac = new AbortController();
    const seen: [number, number][] = [];
    await invert(fx, many, { ...inversionMethods.plain(), signal: ac.signal, onProgress: (d, t) => (seen.push([d, t]), ac.abort()) }).catch(() => undefined);
    expect(seen[0]).to.deep.equal([32, 40 * 512]);
  });

  it('opens a classifier given as a model directory at opts.layer (default layer2), and checks a given extractor\'s layer by name or alias', async () => {
    const dir = await tinyClassifier();
    const img = randomTensor('tiny-originals', [2, 1, 16, 16], 0.2);
    const unit = { data: img.data.map((v) => 0.5 + v), dims: img.dims };
    const opts = { steps: 2, seed: 1, runtime: rt };
    const byDir = await invert(dir, unit, opts);
    const l2 = await FeatureExtractor.open(dir, 'layer2', rt);
    const byFx = await invert(l2, unit, opts);
    expect(Array.from(byDir.images.data)).to.deep.equal(Array.from(byFx.images.data));
    const l1 = await invert(dir, unit, { ...opts, layer: 'layer1' });
    expect(Array.from(l1.images.data)).to.not.deep.equal(Array.from(byFx.images.data));
    // l2 is cut at tensor "l2", alias "layer2": both names are accepted, another layer is refused.
    await invert(l2, unit, { ...opts, layer: 'l2' });
    await invert(l2, unit, { ...opts, layer: 'layer2' });
    const e = await rejectsGanvas(invert(l2, unit, { ...opts, layer: 'layer1' }), 'BAD_INPUT');
    expect(e.message).to.contain('the feature extractor is cut at l2, but layer "layer1" was asked for');
    expect(e.message).to.contain('FeatureExtractor.open(model, "layer1")');
  });

  it('refusals name the value and what would be right', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ steps: 0 }, 'steps must be a positive integer (e.g. 512), got 0'],
      [{ steps: 1.5 }, 'steps must be a positive integer (e.g. 512), got 1.5'],
      [{ batchSize: 0 }, 'batchSize must be a positive integer (e.g. 32), got 0'],
      [{ range: [1, 0] }, 'range must be [lo, hi] with lo < hi, e.g. [0, 1], got [1,0]'],
      [{ range: [0, 0] }, 'got [0,0]'],
      [{ range: [0, Infinity] }, 'range must be [lo, hi]'],
      [{ range: [NaN, 1] }, 'range must be [lo, hi]'],
      [{ range: [0, 1, 2] }, 'got [0,1,2]'],
      [{ range: 'unit' }, 'got "unit"'],
      [{ indexOffset: -1 }, 'indexOffset must be a non-negative integer, got -1'],
      [{ indexOffset: 0.5 }, 'indexOffset must be a non-negative integer, got 0.5'],
    ];
    for (const [opts, msg] of cases) {
      const e = await rejectsGanvas(invert(fx, originals, { steps: 1, ...opts } as never), 'BAD_INPUT');
      expect(e.message, JSON.stringify(opts)).to.contain(msg);
    }
    const nan = { data: originals.data.slice(), dims: originals.dims };
    nan.data[2 * 1024 + 5] = -Infinity;
    expect((await rejectsGanvas(invert(fx, nan, { steps: 1 }), 'BAD_INPUT')).message).to.contain('non-finite value (-Infinity) at index 2053 (image 2)');
    expect((await rejectsGanvas(invert(fx, { data: new Float32Array(0), dims: [0, 1, 32, 32] }, { steps: 1 }), 'BAD_INPUT')).message).to.contain('originals holds no images');
    const e = await rejectsGanvas(invert(fx, { data: new Float32Array(32 * 28), dims: [1, 1, 32, 28] }, { steps: 1 }), 'BAD_INPUT');
    expect(e.message).to.contain('inverts images of its input size 1×32×32 (manifest preprocess), got 1×32×28');
    // Accepted edge values: indexOffset 0 and a range that is not [0, 1].
    await invert(fx, originals, { steps: 1, indexOffset: 0, range: [-1, 1] });
  });

  it('builds one inversion graph per (classifier, method, objective)', async () => {
    const a = await inversionGraph(fx, inversionMethods.plain());
    expect(await inversionGraph(fx, inversionMethods.plain())).to.equal(a);
    expect(await inversionGraph(fx, inversionMethods.fftDec())).to.not.equal(a);
    expect(a.target).to.equal('inversion_target');
    expect(a.theta.startsWith('inv/')).to.equal(true);
    expect(a.feeds).to.have.length(0);
    const j = await inversionGraph(fx, inversionMethods.fftDec());
    expect(j.feeds.map((f) => f.name.startsWith('inv/'))).to.deep.equal([true, true]);
  });
});

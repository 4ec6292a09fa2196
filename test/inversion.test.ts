/**
 * Gradient-descent inversion (paper 003 §3.3): the parts against independent computations (numpy's irfft2 for the
 * FFT parameterization, a hand-written reflect-pad-and-shift for jitter, finite differences for every gradient),
 * and the render loop's promises (it inverts, it is reproducible, it stops when asked, it refuses bad input).
 */
import { expect } from 'chai';
import seedrandom from 'seedrandom';
import { execFileSync } from 'child_process';
import {
  FeatureExtractor,
  FloatTensor,
  Runtime,
  demoModelDir,
  fftImage,
  gaussian,
  gradientModel,
  imageModel,
  inversionGraph,
  inversionMethods,
  invert,
  jitter,
  loss,
  lossAndGradients,
  pixelImage,
  spectrumScale,
  activationL1,
  fashionMnist,
} from 'ganvas';
import { tinyClassifier } from './models';
import { rejectsGanvas, throwsGanvas } from './util';
import { identityParam, randomTensor } from './inversionHelpers';

const rt = new Runtime({ threads: 1 });

/** Central finite differences of f at `indices` of x (step h). */
async function finiteDifferences(f: (x: Float32Array) => Promise<number>, x: Float32Array, indices: number[], h: number): Promise<number[]> {
  const out: number[] = [];
  for (const i of indices) {
    const v = x[i];
    x[i] = v + h;
    const up = await f(x);
    x[i] = v - h;
    const down = await f(x);
    x[i] = v;
    out.push((up - down) / (2 * h));
  }
  return out;
}

function pickIndices(n: number, count: number, seed: string): number[] {
  const u = gaussian(seed, count);
  return Array.from(u, (v, k) => Math.floor(Math.abs(v * 7919 + k * 104729)) % n);
}

describe('inversion: FFT parameterization (FFT-DEC\'s h)', function () {
  this.timeout(60000);

  for (const [c, h, w] of [
    [3, 8, 10],
    [1, 6, 7],
    [3, 5, 4],
  ]) {
    it(`matches numpy's irfft2(norm="ortho") / 4, Lucid's colour correlation and a sigmoid (${c}×${h}×${w})`, async () => {
      const param = fftImage();
      const { model, theta } = imageModel(param, c, h, w);
      const K = Math.floor(w / 2) + 1;
      const th = randomTensor(`fft-${c}-${h}-${w}`, [2, c, h, 2 * K], 0.3);
      const s = await rt.session(model);
      const ours = (await s.run({ [theta]: th })).image;
      // Independent: numpy's inverse real FFT with the scale written from Lucid's rfft2d_freqs.
      const py = `
import json, sys, numpy as np
d = json.loads(sys.stdin.read())
n, c, h, w = d["n"], d["c"], d["h"], d["w"]
K = w // 2 + 1
t = np.array(d["theta"], dtype=np.float64).reshape(n, c, h, 2 * K)
spec = t[..., :K] + 1j * t[..., K:]
fy = np.fft.fftfreq(h)[:, None]
fx = np.fft.fftfreq(w)[: K]
freqs = np.sqrt(fx * fx + fy * fy)
scale = 1.0 / np.maximum(freqs, 1.0 / max(h, w))
img = np.fft.irfft2(spec * scale, s=(h, w), norm="ortho") / 4.0
if c == 3:
    m = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
    m = m / np.max(np.linalg.norm(m, axis=0))
    img = np.einsum("ck,nkhw->nchw", m, img)
print(json.dumps((1 / (1 + np.exp(-img))).ravel().tolist()))
`;
      const ref = JSON.parse(
        execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ n: 2, c, h, w, theta: Array.from(th.data) }) }).toString(),
      ) as number[];
      expect(ours.dims).to.deep.equal([2, c, h, w]);
      let worst = 0;
      ref.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ours.data[i]))));
      expect(worst).to.be.below(2e-6);
      // The image is not flat grey (the test would be weak if the sigmoid squashed everything to 0.5).
      const spread = Math.max(...ref) - Math.min(...ref);
      expect(spread).to.be.above(0.2);
    });
  }

  it('the spectrum scale is 1 / max(√(fx² + fy²), 1/max(H, W))', () => {
    const s = spectrumScale(4, 6);
    // (ky, kx) = (0, 0): the floor 1/6 → 6; (1, 0): fy = 1/4 → 4; (2, 3): fy = −1/2, fx = 1/2 → 1/√0.5.
    expect(s[0]).to.be.closeTo(6, 1e-12);
    expect(s[1 * 4 + 0]).to.be.closeTo(4, 1e-12);
    expect(s[2 * 4 + 3]).to.be.closeTo(1 / Math.sqrt(0.5), 1e-12);
  });

  for (const [name, param] of [
    ['fft', fftImage()],
    ['pixel', pixelImage()],
  ] as const) {
    it(`${name}: the gradient engine's dL/dθ matches finite differences`, async () => {
      const [c, h, w] = [3, 6, 8];
      const { model, theta } = imageModel(param, c, h, w);
      const dims = [2, ...param.thetaDims(c, h, w)];
      const th = randomTensor(`grad-${name}`, dims, 0.5);
      const weights = randomTensor('weights', [2, c, h, w]);
      const gm = await gradientModel(model, { wrt: [theta], loss: loss.sum(loss.mul('image', loss.feed('w'))) });
      const gs = await rt.session(gm);
      const fs0 = await rt.session(model);
      const r = await lossAndGradients(gs, { [theta]: th, w: weights });
      const f = async (x: Float32Array) => {
        const img = (await fs0.run({ [theta]: { data: x, dims } })).image.data;
        let s = 0;
        for (let i = 0; i < img.length; i++) s += img[i] * weights.data[i];
        return s;
      };
      const idx = pickIndices(th.data.length, 24, name);
      const fd = await finiteDifferences(f, th.data, idx, 1e-2);
      idx.forEach((i, k) => {
        const g = r.grads[theta].data[i];
        expect(Math.abs(g - fd[k]), `θ[${i}]: ${g} vs ${fd[k]}`).to.be.below(2e-3 + 1e-2 * Math.abs(fd[k]));
      });
    });
  }
});

describe('inversion: jitter (paper 003 §3.3, pad by 2 then shift by up to one pixel)', function () {
  this.timeout(60000);
  const [c, h, w] = [2, 5, 6];

  /** The stated transform by hand: reflection-pad by `pad`, then the H×W window at (pad + dy, pad + dx). */
  function byHand(img: FloatTensor, dy: number, dx: number): Float32Array {
    const [n, C, H, W] = img.dims;
    const refl = (i: number, size: number) => (i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i);
    const out = new Float32Array(img.data.length);
    for (let b = 0; b < n * C; b++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) out[(b * H + y) * W + x] = img.data[(b * H + refl(y + dy, H)) * W + refl(x + dx, W)];
      }
    }
    return out;
  }

  function oneHot(k: number, at: number, n: number): FloatTensor {
    const data = new Float32Array(n * k);
    for (let i = 0; i < n; i++) data[i * k + at] = 1;
    return { data, dims: [n, k, 1, 1] };
  }

  for (const [pad, shift] of [
    [2, 1],
    [2, 2],
  ]) {
    it(`pad ${pad}, shift ${shift}: every shift equals the hand-made reflect-pad-and-crop, and the gradient is its exact transpose`, async () => {
      const { model, theta, feeds } = imageModel(identityParam, c, h, w, { transforms: [jitter({ pad, shift })] });
      expect(feeds.map((f) => f.perImage)).to.deep.equal([
        [2 * shift + 1, 1, 1],
        [2 * shift + 1, 1, 1],
      ]);
      const img = randomTensor('jitter-img', [2, c, h, w]);
      const s = await rt.session(model);
      const weights = randomTensor('jitter-w', [2, c, h, w]);
      const gm = await gradientModel(model, { wrt: [theta], loss: loss.sum(loss.mul('image', loss.feed('w'))) });
      const gs = await rt.session(gm);
      const k = 2 * shift + 1;
      for (let dy = -shift; dy <= shift; dy++) {
        for (let dx = -shift; dx <= shift; dx++) {
          const f = { [feeds[0].name]: oneHot(k, dy + shift, 2), [feeds[1].name]: oneHot(k, dx + shift, 2) };
          const out = (await s.run({ [theta]: img, ...f })).image;
          expect(Array.from(out.data)).to.deep.equal(Array.from(byHand(img, dy, dx)), `shift (${dy}, ${dx})`);
          // dL/dimage for L = Σ w ⊙ jitter(image) is the transpose: each w lands on the pixel it was read from.
          const expected = new Float64Array(img.data.length);
          const probe = { data: new Float32Array(img.data.length), dims: img.dims };
          for (let i = 0; i < img.data.length; i++) {
            // Which input index does output index j read? Mark input i and see where it appears.
            probe.data.fill(0);
            probe.data[i] = 1;
            const moved = byHand(probe, dy, dx);
            for (let j = 0; j < moved.length; j++) if (moved[j] === 1) expected[i] += weights.data[j];
          }
          const r = await lossAndGradients(gs, { [theta]: img, w: weights, ...f });
          const got = r.grads[theta].data;
          for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - expected[i]), `grad at ${i}`).to.be.below(1e-6);
        }
      }
    });
  }

  it('draws every shift, uniformly, from the image\'s own stream', () => {
    const { feeds } = imageModel(identityParam, c, h, w, { transforms: [jitter()] });
    const random = seedrandom.alea('jitter-draws');
    const counts = [0, 0, 0];
    const out = new Float32Array(3);
    for (let i = 0; i < 3000; i++) {
      feeds[0].sample(random, out);
      expect(out.reduce((a, b) => a + b, 0)).to.equal(1);
      counts[out.indexOf(1)]++;
    }
    for (const n of counts) expect(n).to.be.within(900, 1100);
  });

  it('refuses a shift larger than the padding, and padding as large as the image', async () => {
    throwsGanvas(() => jitter({ pad: 1, shift: 2 }), 'BAD_INPUT');
    throwsGanvas(() => jitter({ pad: 1.5 }), 'BAD_INPUT');
    throwsGanvas(() => imageModel(identityParam, 1, 2, 2, { transforms: [jitter({ pad: 2 })] }), 'BAD_INPUT');
    // Shift 0 is the identity, with nothing to feed.
    expect(imageModel(identityParam, 1, 4, 4, { transforms: [jitter({ shift: 0 })] }).feeds).to.have.length(0);
  });
});

describe('inversion: objective and the composed graph', function () {
  this.timeout(120000);

  it('L1 at LayerX through a small classifier: dL/dθ matches finite differences (FFT-DEC with a fixed jitter)', async () => {
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const graph = await inversionGraph(fx, inversionMethods.fftDec());
    const s = await rt.session(graph.gradient);
    const param = fftImage();
    const dims = [2, ...param.thetaDims(1, 16, 16)];
    const th = randomTensor('objective-theta', dims, 0.5);
    const target = await fx.features(randomTensor('objective-target', [2, 1, 16, 16], 0.3), [-1, 1]);
    const oneHot = (at: number) => ({ data: new Float32Array([0, 0, 0].map((_, i) => (i === at ? 1 : 0)).concat([1, 0, 0])), dims: [2, 3, 1, 1] });
    const feeds = { [graph.target]: target, [graph.feeds[0].name]: oneHot(0), [graph.feeds[1].name]: oneHot(2) };
    const r = await lossAndGradients(s, { ...feeds, [graph.theta]: th });
    const f = async (x: Float32Array) => (await lossAndGradients(s, { ...feeds, [graph.theta]: { data: x, dims } })).loss;
    // Directional derivatives (along the gradient and three random directions): the L1 loss and the ReLUs have many
    // kinks, and one coordinate's partial is small beside float32 rounding of the loss, so single-coordinate
    // differences are noisy; a direction moves every coordinate and measures g·u well above that noise.
    const g = r.grads[graph.theta].data;
    const gNorm = Math.hypot(...g);
    expect(gNorm).to.be.above(1e-3);
    for (const d of [g, ...[1, 2, 3].map((k) => gaussian(`direction-${k}`, g.length))]) {
      const norm = Math.hypot(...d);
      const u = d.map((v) => v / norm);
      const h = 1e-2;
      const fd = ((await f(th.data.map((v, i) => v + h * u[i]))) - (await f(th.data.map((v, i) => v - h * u[i])))) / (2 * h);
      const gu = g.reduce((acc, v, i) => acc + v * u[i], 0);
      expect(Math.abs(fd - gu), `g·u ${gu} vs finite difference ${fd}`).to.be.below(0.03 * gNorm);
    }
  });

  it('the in-graph preprocessing is the manifest\'s: the graph\'s loss equals L1 of FeatureExtractor features (ihc-features, RGB, per-channel mean/std)', async () => {
    const fx = await FeatureExtractor.open(demoModelDir('ihc-features'), 'layer1', rt);
    const graph = await inversionGraph(fx, inversionMethods.plain());
    const s = await rt.session(graph.gradient);
    const th = randomTensor('pre-theta', [2, 3, 64, 64], 1);
    const image = await (await rt.session(graph.image)).run({ [(await rt.session(graph.image)).inputs[0].name]: th });
    const target = await fx.features(randomTensor('pre-target', [2, 3, 64, 64], 0.2), [-1, 1]);
    const r = await lossAndGradients(s, { [graph.theta]: th, [graph.target]: target });
    const reached = await fx.features(image.image, [0, 1]);
    const per = activationL1().perImage(reached.data, target.data, reached.data.length / 2);
    expect(r.loss).to.be.closeTo(per[0] + per[1], 1e-4 * (per[0] + per[1]));
  });
});

describe('inversion: invert()', function () {
  this.timeout(300000);
  let fx: FeatureExtractor;
  let originals: FloatTensor;

  before(async () => {
    fx = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer1', rt);
    originals = (await fashionMnist('test', { count: 4, offset: 10 })).images;
  });

  for (const name of ['plain', 'fftDec'] as const) {
    it(`${name}: inverting fmnist-resnet layer1 reduces the L1 objective to under half of the start's`, async () => {
      const r = await invert(fx, originals, { ...inversionMethods[name](), steps: 256, seed: 3 });
      const start = r.history[0][0] / 4;
      const end = r.loss.reduce((a, b) => a + b, 0) / 4;
      expect(r.images.dims).to.deep.equal([4, 1, 32, 32]);
      expect(Math.min(...r.images.data)).to.be.at.least(0);
      expect(Math.max(...r.images.data)).to.be.at.most(1);
      expect(end, `mean L1 ${start} → ${end}`).to.be.below(0.5 * start);
    });
  }

  it('is bit-reproducible from its seed, and another seed gives another result', async () => {
    const opts = { steps: 12, seed: 7 };
    const a = await invert(fx, originals, opts);
    const b = await invert(fx, originals, opts);
    expect(Buffer.from(a.images.data.buffer).equals(Buffer.from(b.images.data.buffer))).to.equal(true);
    const c = await invert(fx, originals, { ...opts, seed: 8 });
    expect(Buffer.from(a.images.data.buffer).equals(Buffer.from(c.images.data.buffer))).to.equal(false);
  });

  it('an image\'s result does not depend on how the images were batched (each image has its own seeded stream)', async () => {
    const whole = await invert(fx, originals, { steps: 12, seed: 5, batchSize: 4 });
    const split = await invert(fx, originals, { steps: 12, seed: 5, batchSize: 3 });
    let worst = 0;
    for (let i = 0; i < whole.images.data.length; i++) worst = Math.max(worst, Math.abs(whole.images.data[i] - split.images.data[i]));
    expect(worst).to.be.below(1e-4);
  });

  it('returns the reconstructions in the originals\' range', async () => {
    const scaled = { data: originals.data.map((v) => v * 2 - 1), dims: originals.dims };
    const a = await invert(fx, originals, { steps: 4, seed: 1 });
    const b = await invert(fx, scaled, { steps: 4, seed: 1, range: [-1, 1] });
    for (let i = 0; i < a.images.data.length; i++) expect(b.images.data[i]).to.be.closeTo(a.images.data[i] * 2 - 1, 1e-5);
  });

  it('reports progress in image-steps and stops within a step when cancelled', async () => {
    const controller = new AbortController();
    const seen: [number, number][] = [];
    const p = invert(fx, originals, {
      steps: 50,
      batchSize: 2,
      signal: controller.signal,
      onProgress: (done, total) => {
        seen.push([done, total]);
        if (seen.length === 3) controller.abort();
      },
    });
    let error: unknown;
    try {
      await p;
    } catch (e) {
      error = e;
    }
    expect((error as Error)?.name).to.equal('AbortError');
    expect(seen).to.deep.equal([
      [2, 200],
      [4, 200],
      [6, 200],
    ]);
    const aborted = new AbortController();
    aborted.abort();
    let calls = 0;
    await invert(fx, originals, { steps: 5, signal: aborted.signal, onProgress: () => calls++ }).catch((e: Error) => expect(e.name).to.equal('AbortError'));
    expect(calls).to.equal(0);
  });

  it('refuses bad input with clear GanvasErrors', async () => {
    const e1 = await rejectsGanvas(invert(fx, fashionMnistSized(28), { steps: 2 }), 'BAD_INPUT');
    expect(e1.message).to.match(/1×32×32.*1×28×28/);
    const rgb = { data: new Float32Array(3 * 32 * 32), dims: [1, 3, 32, 32] };
    await rejectsGanvas(invert(fx, rgb, { steps: 2 }), 'BAD_INPUT');
    await rejectsGanvas(invert(demoModelDir('fmnist-resnet'), originals, { layer: 'layer9', steps: 2 }), 'NO_SUCH_LAYER');
    await rejectsGanvas(invert(fx, originals, { layer: 'layer3', steps: 2 }), 'BAD_INPUT');
    for (const steps of [0, -1, 2.5, NaN]) await rejectsGanvas(invert(fx, originals, { steps }), 'BAD_INPUT');
    await rejectsGanvas(invert(fx, originals, { batchSize: 0 }), 'BAD_INPUT');
    await rejectsGanvas(invert(fx, originals, { lr: -1 }), 'BAD_INPUT');
    const nan = { data: originals.data.slice(), dims: originals.dims };
    nan.data[40] = NaN;
    const e2 = await rejectsGanvas(invert(fx, nan, { steps: 2 }), 'BAD_INPUT');
    expect(e2.message).to.match(/non-finite/);
    await rejectsGanvas(invert(fx, { data: new Float32Array(0), dims: [0, 1, 32, 32] }, { steps: 2 }), 'BAD_INPUT');
    await rejectsGanvas(invert(fx, originals, { range: [1, 0] }), 'BAD_INPUT');
  });

});

function fashionMnistSized(size: number): FloatTensor {
  return { data: new Float32Array(size * size), dims: [1, 1, size, size] };
}

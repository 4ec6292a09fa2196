/**
 * Paper 003's metrics (§3.4, metrics.ts) and the stitch's initializations (init.ts), checked in-process in
 * milliseconds (issue 19): the metrics on a 2-sample, 2-channel, 1×3-pixel case worked by hand (values in the
 * comments); the least-squares init on stand-in models whose LayerY activations are an exact (or noisy) 1×1 conv of
 * nearest-resized LayerX activations, checked by recovering the conv, by the ridge problem's stationarity
 * conditions (its gradient is zero at the solution), and by R² computed from the residuals row by row.
 */
import { expect } from 'chai';
import {
  Cut,
  FeatureExtractor,
  FloatTensor,
  GanvasError,
  METRIC_EPS,
  activationMetrics,
  choleskySolve,
  defaultInit,
  evaluateInversion,
  gramCosine,
  gramMatrix,
  lstsqInit,
  meanAbsDiff,
  meanStd,
  pixelCosine,
  randn,
  summarizeMetrics,
} from 'ganvas';
import { rejectsGanvas, throwsGanvas } from '../util';

const t = (dims: number[], data: number[]): FloatTensor => ({ data: Float32Array.from(data), dims });

describe('stitching parts: the §3.4 metrics by hand (metrics.ts)', () => {
  // N = 2, C = 2, H = 1, W = 3 (layout [n][c][h][w]).
  // Sample 0: α′ pixel vectors (1,0), (0,2), (3,4); α: (1,1), (3,4), (3,4).
  // Sample 1: α′ (2,0), (0,0), (0,−1); α: (−1,0), (0,1), (5,0).
  const a = t([2, 2, 1, 3], [1, 0, 3, 0, 2, 4, 2, 0, 0, 0, 0, -1]);
  const b = t([2, 2, 1, 3], [1, 3, 3, 1, 4, 4, -1, 0, 5, 0, 1, 0]);
  // Cosines: sample 0: 1/√2, 8/(2·5), 25/(5·5); sample 1: −2/2, 0 (a zero vector: 0/ε), 0/5.
  const cos = [(Math.SQRT1_2 + 0.8 + 1) / 3, -1 / 3];
  // L1: sample 0: (0+3+0 + 1+2+0)/6; sample 1: (3+0+5 + 0+1+1)/6.
  const l1 = [1, 10 / 6];
  // Gram: sample 0: G(α′) = [[10, 12], [12, 20]], G(α) = [[19, 25], [25, 33]]: Σ G⊙G = 190 + 600 + 660 = 1450,
  // ‖G(α′)‖² = 100 + 288 + 400 = 788, ‖G(α)‖² = 361 + 1250 + 1089 = 2700.
  // Sample 1: G(α′) = [[4, 0], [0, 1]], G(α) = [[26, 0], [0, 1]]: Σ = 105, norms² 17 and 677.
  const gram = [1450 / Math.sqrt(788 * 2700), 105 / Math.sqrt(17 * 677)];

  const close = (got: ArrayLike<number>, want: number[], tol = 1e-12) => {
    expect(got.length).to.equal(want.length);
    want.forEach((w, i) => expect(got[i]).to.be.closeTo(w, tol));
  };

  it('pixel cosine, L1 and Gram cosine per sample; activationMetrics gives all three', () => {
    expect(METRIC_EPS).to.equal(1e-8);
    close(pixelCosine(a, b), cos);
    close(meanAbsDiff(a, b), l1);
    close(gramCosine(a, b), gram);
    const m = activationMetrics(a, b);
    close(m.cosine, cos);
    close(m.l1, l1);
    close(m.gram, gram);
    // The metrics are symmetric in their arguments.
    close(activationMetrics(b, a).gram, gram);
  });

  it('gramMatrix: the C×C channel products of one sample, both triangles', () => {
    expect(Array.from(gramMatrix(a, 0))).to.deep.equal([10, 12, 12, 20]);
    expect(Array.from(gramMatrix(b, 0))).to.deep.equal([19, 25, 25, 33]);
    expect(Array.from(gramMatrix(a, 1))).to.deep.equal([4, 0, 0, 1]);
    // Three channels, 2×2 pixels: rows (1,2,3,4), (0,1,0,1), (2,0,0,1).
    const c3 = t([1, 3, 2, 2], [1, 2, 3, 4, 0, 1, 0, 1, 2, 0, 0, 1]);
    expect(Array.from(gramMatrix(c3, 0))).to.deep.equal([30, 6, 6, 6, 2, 1, 6, 1, 5]);
    expect(throwsGanvas(() => gramMatrix(t([2, 3], [1, 2, 3, 4, 5, 6]), 0), 'NOT_4D').message).to.equal('activations must be 4-D (N, C, H, W), got dims [2, 3]');
  });

  it('eps clamps the denominator, max(‖α′‖‖α‖, ε), in every metric activationMetrics computes', () => {
    // ε = 10: sample 0's pixels 1/10, 8/10, 25/25; sample 1's −2/10, 0, 0.
    close(pixelCosine(a, b, 10), [(0.1 + 0.8 + 1) / 3, -0.2 / 3]);
    // ε = 2000 exceeds every product of norms: each ratio is its numerator / 2000.
    const m = activationMetrics(a, b, 2000);
    close(m.cosine, [(1 + 8 + 25) / 6000, -2 / 6000]);
    close(m.gram, [1450 / 2000, 105 / 2000]);
    close(m.l1, l1);
    close(gramCosine(a, b, 2000), [1450 / 2000, 105 / 2000]);
    // All-zero activations: 0 everywhere, not NaN.
    const z = t([1, 2, 1, 1], [0, 0]);
    expect(activationMetrics(z, z)).to.deep.equal({ cosine: Float64Array.from([0]), gram: Float64Array.from([0]), l1: Float64Array.from([0]) });
  });

  it('refuses mis-shaped and non-finite activations, saying which', () => {
    for (const fn of [pixelCosine, gramCosine, meanAbsDiff, (x: FloatTensor, y: FloatTensor) => activationMetrics(x, y)]) {
      const nan = t([2, 2, 1, 3], Array.from(a.data));
      nan.data[4] = NaN;
      expect(throwsGanvas(() => fn(nan, b), 'BAD_INPUT').message).to.equal('activations hold a non-finite value (NaN) at index 4');
      const inf = t([2, 2, 1, 3], Array.from(b.data));
      inf.data[11] = -Infinity;
      expect(throwsGanvas(() => fn(a, inf), 'BAD_INPUT').message).to.equal('activations hold a non-finite value (-Infinity) at index 11');
      expect(throwsGanvas(() => fn(a, t([2, 2, 3, 1], Array.from(b.data))), 'BAD_INPUT').message).to.equal(
        'activations to compare must both be N×C×H×W of the same shape, got [2, 2, 1, 3] and [2, 2, 3, 1]',
      );
      expect(throwsGanvas(() => fn(t([12], Array.from(a.data)), t([12], Array.from(b.data))), 'BAD_INPUT').message).to.equal(
        'activations to compare must both be N×C×H×W of the same shape, got [12] and [12]',
      );
      throwsGanvas(() => fn(a, t([2, 2, 3], Array.from(b.data))), 'BAD_INPUT');
      // Dims that agree as far as the shorter goes: one of them 3-D, or 5-D.
      expect(throwsGanvas(() => fn(t([2, 2, 1], Array.from(a.data)), a), 'BAD_INPUT').message).to.equal(
        'activations to compare must both be N×C×H×W of the same shape, got [2, 2, 1] and [2, 2, 1, 3]',
      );
      expect(throwsGanvas(() => fn(a, t([2, 2, 1, 3, 1], Array.from(b.data))), 'BAD_INPUT').message).to.equal(
        'activations to compare must both be N×C×H×W of the same shape, got [2, 2, 1, 3] and [2, 2, 1, 3, 1]',
      );
      throwsGanvas(() => fn(t([2, 2, 3], Array.from(a.data)), b), 'BAD_INPUT');
    }
  });

  it('meanStd: mean and population standard deviation; summarizeMetrics applies it to each metric', () => {
    expect(meanStd([1, 2, 3, 4])).to.deep.equal({ mean: 2.5, std: Math.sqrt(1.25) });
    expect(meanStd(Float64Array.from([-3]))).to.deep.equal({ mean: -3, std: 0 });
    expect(throwsGanvas(() => meanStd([]), 'BAD_INPUT').message).to.equal('meanStd of no values');
    const s = summarizeMetrics({ cosine: Float64Array.from([0, 1]), gram: Float64Array.from([2, 2]), l1: Float64Array.from([1, 5]) });
    expect(s).to.deep.equal({ cosine: { mean: 0.5, std: 0.5 }, gram: { mean: 2, std: 0 }, l1: { mean: 3, std: 2 } });
  });

  it('evaluateInversion: the test network sees reconstructions and originals, each in its own range', async () => {
    // A stand-in test network that maps its input's range onto [0, 1] and returns it as the "activations".
    const calls: { range: [number, number]; opts: unknown }[] = [];
    const net = {
      features: async (x: FloatTensor, range: [number, number], opts: unknown) => {
        calls.push({ range, opts });
        return { data: x.data.map((v) => (v - range[0]) / (range[1] - range[0])), dims: x.dims };
      },
    } as unknown as FeatureExtractor;
    // a, b rescaled: reconstructions given in [−1, 3], originals in [10, 14]; the net maps them back to a and b.
    const rec = { data: a.data.map((v) => 4 * v - 1), dims: a.dims };
    const orig = { data: b.data.map((v) => 4 * v + 10), dims: b.dims };
    const opts = { batchSize: 7 };
    const m = await evaluateInversion(net, orig, rec, [10, 14], [-1, 3], opts);
    close(m.cosine, cos, 1e-6);
    close(m.gram, gram, 1e-6);
    close(m.l1, l1, 1e-6);
    expect(calls.map((c) => c.range).sort()).to.deep.equal([
      [-1, 3],
      [10, 14],
    ]);
    expect(calls.every((c) => c.opts === opts)).to.equal(true);
    // Without reconstructionRange both are read in the originals' range.
    calls.length = 0;
    const same = await evaluateInversion(net, orig, { data: b.data.map((v) => 4 * v + 10), dims: b.dims }, [10, 14]);
    close(same.l1, [0, 0]);
    close(same.cosine, [1, 1], 1e-6);
    expect(calls.map((c) => c.range)).to.deep.equal([
      [10, 14],
      [10, 14],
    ]);
    expect(calls.map((c) => c.opts)).to.deep.equal([{}, {}]);
    const e = await rejectsGanvas(evaluateInversion(net, orig, t([1, 2, 1, 3], [1, 2, 3, 4, 5, 6]), [10, 14]), 'BAD_INPUT');
    expect(e.message).to.equal('2 originals but 1 reconstructions; they must pair up');
  });
});

// ------------------------------------------------------------------------------------------------ init.ts
/** Row-major n×n times n×m. */
function matmul(A: Float64Array, n: number, X: Float64Array, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) for (let k = 0; k < n; k++) out[i * m + c] += A[i * n + k] * X[k * m + c];
  return out;
}

/**
 * Stand-ins for a generator cut at LayerY (C_y × hy × wy) and a classifier at LayerX (C_x × hx × wx): sample i's
 * LayerX activations are randn(`x:<seed>`); its LayerY activations are W·x + b at the nearest LayerX pixel
 * (row ⌊i·hx/hy⌋, column ⌊j·wx/wy⌋), plus `noise`·randn(`y:<seed>`). The "image" rendered is x itself.
 */
function standIns(o: { cx: number; cy: number; x: [number, number]; y: [number, number]; W: number[]; b: number[]; noise?: number; constantX?: boolean }) {
  const [hx, wx] = o.x;
  const [hy, wy] = o.y;
  const seedsSeen: string[][] = [];
  const ranges: [number, number][] = [];
  const xOf = (seed: string) => (o.constantX ? { data: new Float32Array(o.cx * hx * wx).fill(1), dims: [o.cx, hx, wx] } : randn(`x:${seed}`, [o.cx, hx, wx]));
  const cut = {
    layer: { channels: o.cy, height: hy, width: wy },
    generator: { range: [-1, 1] as [number, number] },
    sample: async (seeds: string[]) => {
      seedsSeen.push(seeds);
      const n = seeds.length;
      const X = new Float32Array(n * o.cx * hx * wx);
      const Y = new Float32Array(n * o.cy * hy * wy);
      seeds.forEach((seed, s) => {
        const x = xOf(seed);
        X.set(x.data, s * x.data.length);
        const e = randn(`y:${seed}`, [o.cy, hy, wy]);
        for (let c = 0; c < o.cy; c++)
          for (let i = 0; i < hy; i++)
            for (let j = 0; j < wy; j++) {
              const si = Math.floor((i * hx) / hy);
              const sj = Math.floor((j * wx) / wy);
              let v = o.b[c];
              for (let k = 0; k < o.cx; k++) v += o.W[c * o.cx + k] * x.data[(k * hx + si) * wx + sj];
              Y[((s * o.cy + c) * hy + i) * wy + j] = v + (o.noise ?? 0) * e.data[(c * hy + i) * wy + j];
            }
      });
      return { activations: { data: Y, dims: [n, o.cy, hy, wy] }, carry: { x: { data: X, dims: [n, o.cx, hx, wx] } } };
    },
    render: async (_acts: FloatTensor, carry: Record<string, FloatTensor>) => carry.x,
  } as unknown as Cut;
  const fx = {
    layer: { channels: o.cx, height: hx, width: wx },
    features: async (images: FloatTensor, range: [number, number]) => {
      ranges.push(range);
      return images;
    },
  } as unknown as FeatureExtractor;
  /** The rows (x with a trailing 1, y) the regression sees, rebuilt here from the same seeds. */
  const rows = (seeds: string[]) => {
    const out: { x: number[]; y: number[] }[] = [];
    return cut.sample(seeds).then(({ activations, carry }) => {
      seedsSeen.pop();
      const X = carry.x.data;
      for (let s = 0; s < seeds.length; s++)
        for (let i = 0; i < hy; i++)
          for (let j = 0; j < wy; j++) {
            const x: number[] = [];
            for (let k = 0; k < o.cx; k++) x.push(X[((s * o.cx + k) * hx + Math.floor((i * hx) / hy)) * wx + Math.floor((j * wx) / wy)]);
            x.push(1);
            const y: number[] = [];
            for (let c = 0; c < o.cy; c++) y.push(activations.data[((s * o.cy + c) * hy + i) * wy + j]);
            out.push({ x, y });
          }
      return out;
    });
  };
  return { cut, fx, seedsSeen, ranges, rows };
}

describe('stitching parts: initializing the 1×1 stitch (init.ts)', () => {
  it("default: PyTorch's Conv2d init, uniform in ±1/√C_x, seeded", () => {
    const w = defaultInit(4, 600, 'di');
    expect(w.weight.dims).to.deep.equal([600, 4, 1, 1]);
    expect(w.bias.dims).to.deep.equal([600]);
    expect(w.weight.data).to.have.length(2400);
    expect(w.bias.data).to.have.length(600);
    for (const d of [w.weight.data, w.bias.data]) {
      const v = Array.from(d);
      // Bound 1/√4 = 0.5, reached within 2% at both ends; mean near 0 (uniform: sd 0.5/√3 / √n).
      expect(Math.max(...v)).to.be.within(0.49, 0.5);
      expect(Math.min(...v)).to.be.within(-0.5, -0.49);
      expect(v.reduce((x, y) => x + y, 0) / v.length).to.be.within(-0.05, 0.05);
    }
    // The bias is not a copy of the weight's first values.
    expect(Array.from(w.bias.data.slice(0, 10))).to.not.deep.equal(Array.from(w.weight.data.slice(0, 10)));
    expect(Array.from(defaultInit(4, 600, 'di').weight.data)).to.deep.equal(Array.from(w.weight.data));
    expect(Array.from(defaultInit(4, 600, 'dj').weight.data)).to.not.deep.equal(Array.from(w.weight.data));
    const wide = Array.from(defaultInit(100, 50, 1).weight.data);
    expect(Math.max(...wide.map(Math.abs))).to.be.within(0.099, 0.1);
  });

  it('choleskySolve solves A·X = B for symmetric positive definite A; refuses a singular A', () => {
    // [[4, 2], [2, 3]]⁻¹ = [[3, −2], [−2, 4]] / 8.
    const inv = choleskySolve(Float64Array.from([4, 2, 2, 3]), 2, Float64Array.from([1, 0, 0, 1]), 2);
    [3 / 8, -2 / 8, -2 / 8, 4 / 8].forEach((v, i) => expect(inv[i]).to.be.closeTo(v, 1e-15));
    const A = Float64Array.from([6, 2, 1, 2, 5, 2, 1, 2, 4]);
    const B = Float64Array.from([1, -2, 0, 3, 7, 1]);
    const X = choleskySolve(A, 3, B, 2);
    matmul(A, 3, X, 2).forEach((v, i) => expect(v).to.be.closeTo(B[i], 1e-12));
    // The singularity test is relative to the matrix's scale: the same system in units of 1e-7 solves alike.
    const tiny = choleskySolve(A.map((v) => v * 1e-7), 3, B.map((v) => v * 1e-7), 2);
    tiny.forEach((v, i) => expect(v).to.be.closeTo(X[i], 1e-9));
    // The inputs are left alone.
    expect(Array.from(B)).to.deep.equal([1, -2, 0, 3, 7, 1]);
    // Singular, indefinite, and singular up to rounding (x and 0.1·x: 0.01·d − (0.1·√d)² is not exactly 0).
    // A pivot is at rounding level relative to its own diagonal entry, not another one: here the second pivot is
    // (1 + 1e-13) − 1 ≈ 1e-13, below 1e-12 of its diagonal 1 though far above 1e-12 of the off-diagonal 1e-4.
    for (const S of [[1, 1, 1, 1], [-1, 0, 0, 1], [1, 0, 0, 0], [40, 4, 4, 0.4], [7, 0.7, 0.7, 0.07], [1e-8, 1e-4, 1e-4, 1 + 1e-13]]) {
      expect(throwsGanvas(() => choleskySolve(Float64Array.from(S), 2, Float64Array.from([1, 1]), 1), 'BAD_INPUT').message).to.equal(
        'the least-squares system is singular (classifier activations are constant or collinear); use a ridge > 0 or init "default"',
      );
    }
  });

  // LayerX 3 channels at 3×2, LayerY 2 channels at 4×5: rows ⌊i·3/4⌋ = 0,0,1,2, columns ⌊j·2/5⌋ = 0,0,0,1,1.
  const shape = { cx: 3, cy: 2, x: [3, 2] as [number, number], y: [4, 5] as [number, number], W: [0.5, -1, 2, 0, 1.5, -0.25], b: [0.3, -2] };

  it('lstsq recovers an exact 1×1 conv of nearest-resized LayerX activations (ridge 0: R² = 1)', async () => {
    const s = standIns(shape);
    const fit = await lstsqInit(s.cut, s.fx, { samples: 5, batchSize: 2, ridge: 0, seed: 'ex' });
    expect(fit.weight.dims).to.deep.equal([2, 3, 1, 1]);
    expect(fit.bias.dims).to.deep.equal([2]);
    Array.from(fit.weight.data).forEach((v, i) => expect(v).to.be.closeTo(shape.W[i], 1e-5));
    Array.from(fit.bias.data).forEach((v, i) => expect(v).to.be.closeTo(shape.b[i], 1e-5));
    expect(fit.r2).to.be.closeTo(1, 1e-9);
    // Samples are drawn in batches from seeds "lstsq:<seed>:<i>", and read in the generator's range.
    expect(s.seedsSeen).to.deep.equal([
      ['lstsq:ex:0', 'lstsq:ex:1'],
      ['lstsq:ex:2', 'lstsq:ex:3'],
      ['lstsq:ex:4'],
    ]);
    expect(s.ranges).to.deep.equal([
      [-1, 1],
      [-1, 1],
      [-1, 1],
    ]);
  });

  it('lstsq with noise and a ridge: the gradient of Σ‖y − Wx − b‖² + λ‖W‖² is zero at the fit; R² from the residuals', async () => {
    const ridge = 0.3;
    const s = standIns({ ...shape, noise: 0.8 });
    const fit = await lstsqInit(s.cut, s.fx, { samples: 6, batchSize: 4, ridge, seed: 7 });
    const rows = await s.rows(Array.from({ length: 6 }, (_, i) => `lstsq:7:${i}`));
    // λ = ridge · mean over the C_x weight columns of Σ x_k² (the bias column is not shrunk).
    let diag = 0;
    for (const r of rows) for (let k = 0; k < 3; k++) diag += r.x[k] ** 2;
    const lambda = (ridge * diag) / 3;
    const theta = (c: number) => [...Array.from(fit.weight.data.slice(c * 3, c * 3 + 3)), fit.bias.data[c]];
    let sse = 0;
    let sst = 0;
    for (let c = 0; c < 2; c++) {
      const th = theta(c);
      const grad = [0, 0, 0, 0];
      let mean = 0;
      for (const r of rows) mean += r.y[c] / rows.length;
      for (const r of rows) {
        const res = r.x.reduce((acc, x, k) => acc + x * th[k], 0) - r.y[c];
        r.x.forEach((x, k) => (grad[k] += x * res));
        sse += res * res;
        sst += (r.y[c] - mean) ** 2;
      }
      for (let k = 0; k < 3; k++) grad[k] += lambda * th[k];
      // Relative to the size of the terms (float32 weights): Σ|x·y| is about rows · 1.
      grad.forEach((g) => expect(Math.abs(g)).to.be.below(1e-4 * rows.length));
    }
    expect(fit.r2).to.be.closeTo(1 - sse / sst, 1e-5);
    // The noise and the ridge keep the fit away from both ends.
    expect(fit.r2).to.be.within(0.2, 0.99);
    // A larger ridge shrinks the weights (not the bias's role): ‖W‖ drops.
    const big = await lstsqInit(standIns({ ...shape, noise: 0.8 }).cut, s.fx, { samples: 6, batchSize: 4, ridge: 100, seed: 7 });
    const norm = (w: Float32Array) => Math.hypot(...Array.from(w));
    expect(norm(big.weight.data)).to.be.below(0.2 * norm(fit.weight.data));
  });

  it('lstsq defaults: 512 samples in batches of 64 from seed 0, ridge 1e-3 (a tiny shrink of the exact fit)', async () => {
    const s = standIns({ cx: 1, cy: 1, x: [1, 1], y: [1, 1], W: [2], b: [1] });
    const fit = await lstsqInit(s.cut, s.fx);
    expect(s.seedsSeen.map((x) => x.length)).to.deep.equal([64, 64, 64, 64, 64, 64, 64, 64]);
    expect(s.seedsSeen[0][0]).to.equal('lstsq:0:0');
    expect(s.seedsSeen[7][63]).to.equal('lstsq:0:511');
    // One input x, y = 2x + 1 exactly: ridge λ = 1e-3·Σx² makes w = Sxy'/(Sxx' + λ) on centred sums.
    const rows = await s.rows(s.seedsSeen.flat());
    const n = rows.length;
    const mx = rows.reduce((a, r) => a + r.x[0], 0) / n;
    const sxx = rows.reduce((a, r) => a + (r.x[0] - mx) ** 2, 0);
    const lambda = 1e-3 * rows.reduce((a, r) => a + r.x[0] ** 2, 0);
    const w = (2 * sxx) / (sxx + lambda);
    expect(fit.weight.data[0]).to.be.closeTo(w, 1e-5);
    expect(fit.bias.data[0]).to.be.closeTo(1 + (2 - w) * mx, 1e-5);
    expect(w).to.be.below(2 - 1e-4);
  });

  it('lstsq refuses bad samples and ridge, a singular system without ridge, and stops on an aborted signal', async () => {
    const s = standIns(shape);
    for (const samples of [0, -1, 1.5, NaN]) {
      expect((await rejectsGanvas(lstsqInit(s.cut, s.fx, { samples }), 'BAD_INPUT')).message).to.equal(`lstsq samples must be a positive integer, got ${samples}`);
    }
    for (const ridge of [-1, NaN, Infinity]) {
      expect((await rejectsGanvas(lstsqInit(s.cut, s.fx, { ridge }), 'BAD_INPUT')).message).to.equal(`ridge must be a finite number ≥ 0, got ${ridge}`);
    }
    expect(s.seedsSeen).to.have.length(0);
    // Constant LayerX activations are collinear with the bias column: singular without a ridge, whatever the
    // rounding of the pivot (before session 11, 2 samples gave weights of 1e47 here, 1 and 3 the error).
    const flat = standIns({ ...shape, constantX: true });
    for (const samples of [1, 2, 3, 5]) {
      expect((await rejectsGanvas(lstsqInit(flat.cut, flat.fx, { samples, ridge: 0 }), 'BAD_INPUT')).message).to.match(/^the least-squares system is singular/);
    }
    // A ridge makes the same data solvable; every sample is one image, so one sample suffices.
    const ok = await lstsqInit(flat.cut, flat.fx, { samples: 1, ridge: 1e-3 });
    expect(Array.from(ok.weight.data).every(Number.isFinite)).to.equal(true);
    const ac = new AbortController();
    ac.abort(new Error('stop here'));
    let err: unknown;
    await lstsqInit(s.cut, s.fx, { samples: 4, signal: ac.signal }).catch((e: unknown) => (err = e));
    expect(String(err)).to.include('stop here');
    expect(err instanceof GanvasError || err instanceof Error).to.equal(true);
    expect(s.seedsSeen).to.have.length(0);
  });
});

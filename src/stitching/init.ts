/**
 * Initializing the 1×1 stitch (paper 003 does not say how; both options are measured in README).
 *
 * - `default`: PyTorch's Conv2d initialization (kaiming_uniform with a = √5): weight and bias uniform in
 *   ±1/√C_x, seeded.
 * - `lstsq`: closed form. Generate images, read the generator's own LayerY activations (the targets) and the
 *   classifier's LayerX activations of the same images, resized to LayerY's size by nearest neighbour (the inputs),
 *   and solve the ridge regression Y ≈ W·X + b per pixel. It starts the stitch where the generator's activations
 *   are the best linear function of the classifier's — on images the generator made, which is what the stitch must
 *   reproduce for the inversion to come out right.
 */
import { checkpoint, operationSignal } from '../interrupt';
import seedrandom from 'seedrandom';
import { GanvasError } from '../errors';
import type { Cut } from '../generator';
import type { FeatureExtractor } from '../features';
import { Seed } from '../runtime/noise';
import { FloatTensor, nearestIndex } from '../runtime/tensor';

export interface StitchWeights {
  /** [C_y, C_x, 1, 1] */
  weight: FloatTensor;
  /** [C_y] */
  bias: FloatTensor;
}

export function defaultInit(cx: number, cy: number, seed: Seed): StitchWeights {
  const rng = seedrandom(`stitch-init:${seed}`);
  const bound = 1 / Math.sqrt(cx);
  const weight = new Float32Array(cy * cx).map(() => (2 * rng() - 1) * bound);
  const bias = new Float32Array(cy).map(() => (2 * rng() - 1) * bound);
  return { weight: { data: weight, dims: [cy, cx, 1, 1] }, bias: { data: bias, dims: [cy] } };
}

export interface LstsqOptions {
  /** Generated images to fit on (default 512). */
  samples?: number;
  /** Ridge strength relative to the mean diagonal of XᵀX (default 1e-3). */
  ridge?: number;
  seed?: Seed;
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Ridge regression of the generator's LayerY activations on nearest-resized classifier LayerX activations of
 * generated images. Sums run in float64; the (C_x + 1)² normal equations are solved by Cholesky.
 */
export async function lstsqInit(cut: Cut, classifierAtX: FeatureExtractor, opts: LstsqOptions = {}): Promise<StitchWeights & { r2: number }> {
  const samples = opts.samples ?? 512;
  const signal = operationSignal(opts.signal);
  if (!Number.isInteger(samples) || samples < 1) throw new GanvasError('BAD_INPUT', `lstsq samples must be a positive integer, got ${samples}`);
  const ridge = opts.ridge ?? 1e-3;
  if (!(ridge >= 0 && Number.isFinite(ridge))) throw new GanvasError('BAD_INPUT', `ridge must be a finite number ≥ 0, got ${ridge}`);
  const bs = opts.batchSize ?? 64;
  const cy = cut.layer.channels;
  const [hy, wy] = [cut.layer.height, cut.layer.width];
  const cx = classifierAtX.layer.channels;
  const [hx, wx] = [classifierAtX.layer.height, classifierAtX.layer.width];
  const sy = nearestIndex(hy, hx);
  const sx = nearestIndex(wy, wx);
  const d = cx + 1;
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d * cy);
  const ySum = new Float64Array(cy);
  const ySq = new Float64Array(cy);
  let rows = 0;
  const xrow = new Float64Array(d);
  const range = cut.generator.range;
  for (let start = 0; start < samples; start += bs) {
    await checkpoint(signal);
    const seeds = Array.from({ length: Math.min(bs, samples - start) }, (_, i) => `lstsq:${opts.seed ?? 0}:${start + i}`);
    const head = await cut.sample(seeds);
    const images = await cut.render(head.activations, head.carry);
    const fx = await classifierAtX.features(images, range);
    const A = head.activations.data;
    for (let n = 0; n < seeds.length; n++) {
      for (let y = 0; y < hy; y++) {
        for (let x = 0; x < wy; x++) {
          // Stryker disable next-line EqualityOperator: k = cx would write xrow[cx], which the next line sets to 1
          for (let k = 0; k < cx; k++) xrow[k] = fx.data[((n * cx + k) * hx + sy[y]) * wx + sx[x]];
          xrow[cx] = 1;
          // Stryker disable next-line EqualityOperator: i = d: the inner loop starts at j = d and runs no step
          for (let i = 0; i < d; i++) {
            const xi = xrow[i];
            // Stryker disable next-line EqualityOperator: j = d adds NaN at lower-triangle entry (i + 1, 0), which the symmetrization below overwrites (past the end for i = d − 1)
            for (let j = i; j < d; j++) xtx[i * d + j] += xi * xrow[j];
          }
          for (let c = 0; c < cy; c++) {
            const t = A[((n * cy + c) * hy + y) * wy + x];
            // Stryker disable next-line AssignmentOperator: ySum enters SST only squared, so its sign does not matter
            ySum[c] += t;
            ySq[c] += t * t;
            // Stryker disable next-line EqualityOperator: i = d indexes past xty's end (a typed array drops that write)
            for (let i = 0; i < d; i++) xty[i * cy + c] += xrow[i] * t;
          }
          rows++;
        }
      }
    }
  }
  // Stryker disable next-line EqualityOperator: i = d writes past the end; j = i copies the diagonal onto itself
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) xtx[i * d + j] = xtx[j * d + i];
  let diag = 0;
  for (let i = 0; i < cx; i++) diag += xtx[i * d + i];
  const lambda = (ridge * diag) / cx;
  const a = Float64Array.from(xtx);
  for (let i = 0; i < cx; i++) a[i * d + i] += lambda; // the bias column is not shrunk
  const sol = choleskySolve(a, d, xty, cy);
  const weight = new Float32Array(cy * cx);
  const bias = new Float32Array(cy);
  // Stryker disable next-line EqualityOperator: c = cy writes past the ends of weight and bias
  for (let c = 0; c < cy; c++) {
    // Stryker disable next-line EqualityOperator: k = cx writes the next row's first weight, which the next c overwrites (past the end for the last)
    for (let k = 0; k < cx; k++) weight[c * cx + k] = sol[k * cy + c];
    bias[c] = sol[cx * cy + c];
  }
  // R² of the fit on its own data: 1 − SSE / SST, SSE from the normal equations (yᵀy − 2 wᵀXᵀy + wᵀXᵀXw).
  let sse = 0;
  let sst = 0;
  for (let c = 0; c < cy; c++) {
    let wxy = 0;
    let wxxw = 0;
    for (let i = 0; i < d; i++) {
      wxy += sol[i * cy + c] * xty[i * cy + c];
      let row = 0;
      for (let j = 0; j < d; j++) row += xtx[i * d + j] * sol[j * cy + c];
      wxxw += sol[i * cy + c] * row;
    }
    sse += ySq[c] - 2 * wxy + wxxw;
    sst += ySq[c] - (ySum[c] * ySum[c]) / rows;
  }
  return { weight: { data: weight, dims: [cy, cx, 1, 1] }, bias: { data: bias, dims: [cy] }, r2: 1 - sse / sst };
}

/** Solves A·X = B for symmetric positive definite A (n×n) and B (n×m), row-major, by Cholesky. */
export function choleskySolve(A: Float64Array, n: number, B: Float64Array, m: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      // Stryker disable next-line EqualityOperator: k = j subtracts L[i][j]·L[j][j] while L[i][j] is still 0
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        // A pivot left at rounding level of its diagonal entry is a singular system too: exact collinearity (a
        // constant LayerX channel beside the bias column) leaves n − (√n)², which rounds to 0 or to ±n·2⁻⁵², and
        // solving on with ±1e-14 pivots gave weights of 1e47 instead of this error (issue 19, session 11).
        if (!(s > 1e-12 * A[i * n + i])) {
          throw new GanvasError('BAD_INPUT', 'the least-squares system is singular (classifier activations are constant or collinear); use a ridge > 0 or init "default"');
        }
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  const X = Float64Array.from(B);
  for (let c = 0; c < m; c++) {
    // Stryker disable next-line EqualityOperator: i = n reads and writes past X's end (NaN dropped with the write)
    for (let i = 0; i < n; i++) {
      let s = X[i * m + c];
      for (let k = 0; k < i; k++) s -= L[i * n + k] * X[k * m + c];
      X[i * m + c] = s / L[i * n + i];
    }
    // Stryker disable next-line ArithmeticOperator: starting at i = n only reads and writes past X's end
    for (let i = n - 1; i >= 0; i--) {
      let s = X[i * m + c];
      for (let k = i + 1; k < n; k++) s -= L[k * n + i] * X[k * m + c];
      X[i * m + c] = s / L[i * n + i];
    }
  }
  return X;
}

/**
 * Paper 003's evaluation metrics (§3.4), computed between a test network's LayerX′ activations of the original
 * image (α) and of its reconstruction (α′), per image:
 *
 * - cosine: per-pixel cosine over channels, C_ij = α′[:, i, j] · α[:, i, j] / max(‖α′[:, i, j]‖₂ ‖α[:, i, j]‖₂, ε),
 *   averaged over H × W;
 * - L1: mean |α′ − α| over C × H × W;
 * - Gram cosine: G(α)_ij = vec(α[i]) · vec(α[j]) (channels i, j), then
 *   sum(G(α′) ⊙ G(α)) / max(‖G(α′)‖₂ ‖G(α)‖₂, ε) with Frobenius norms.
 *
 * ε = 1e-8 (PyTorch's cosine_similarity default; the paper does not give its value). Sums run in float64.
 */
import { GanvasError } from '../errors';
import type { FeatureExtractor } from '../features';
import type { RunOptions } from '../generator';
import { FloatTensor, nchw } from '../runtime/tensor';

export const METRIC_EPS = 1e-8;

export interface ActivationMetrics {
  cosine: Float64Array;
  gram: Float64Array;
  l1: Float64Array;
}

function sameShape(a: FloatTensor, b: FloatTensor): void {
  if (a.dims.length !== 4 || b.dims.length !== 4 || a.dims.some((d, i) => d !== b.dims[i])) {
    throw new GanvasError('BAD_INPUT', `activations to compare must both be N×C×H×W of the same shape, got [${a.dims.join(', ')}] and [${b.dims.join(', ')}]`);
  }
  for (const t of [a, b]) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) throw new GanvasError('BAD_INPUT', `activations hold a non-finite value (${t.data[i]}) at index ${i}`);
    }
  }
}

/** Mean over pixels of the cosine over channels, per sample. */
export function pixelCosine(a: FloatTensor, b: FloatTensor, eps = METRIC_EPS): Float64Array {
  sameShape(a, b);
  // Stryker disable next-line StringLiteral: sameShape has refused a tensor that is not 4-D, so this name is never shown
  const { n, c, h, w } = nchw(a, 'activations');
  const hw = h * w;
  const out = new Float64Array(n);
  // Stryker disable next-line EqualityOperator: s = n computes a NaN that the write past out's end drops
  for (let s = 0; s < n; s++) {
    let total = 0;
    for (let p = 0; p < hw; p++) {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let k = 0; k < c; k++) {
        const i = (s * c + k) * hw + p;
        const x = a.data[i];
        const y = b.data[i];
        dot += x * y;
        na += x * x;
        nb += y * y;
      }
      total += dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), eps);
    }
    out[s] = total / hw;
  }
  return out;
}

/** mean |a − b|, per sample. */
export function meanAbsDiff(a: FloatTensor, b: FloatTensor): Float64Array {
  sameShape(a, b);
  const n = a.dims[0];
  const per = a.data.length / n;
  const out = new Float64Array(n);
  // Stryker disable next-line EqualityOperator: s = n computes a NaN that the write past out's end drops
  for (let s = 0; s < n; s++) {
    let t = 0;
    for (let i = s * per; i < (s + 1) * per; i++) t += Math.abs(a.data[i] - b.data[i]);
    out[s] = t / per;
  }
  return out;
}

/** The C×C Gram matrix of sample s: G_ij = Σ_p α[i, p] α[j, p]. */
export function gramMatrix(t: FloatTensor, s: number): Float64Array {
  const { c, h, w } = nchw(t, 'activations');
  const hw = h * w;
  const g = new Float64Array(c * c);
  const base = s * c * hw;
  // Stryker disable next-line EqualityOperator: i = c: the inner loop starts at j = c and runs no step
  for (let i = 0; i < c; i++) {
    for (let j = i; j < c; j++) {
      let d = 0;
      for (let p = 0; p < hw; p++) d += t.data[base + i * hw + p] * t.data[base + j * hw + p];
      g[i * c + j] = d;
      g[j * c + i] = d;
    }
  }
  return g;
}

/** Cosine between the flattened Gram matrices, per sample. */
export function gramCosine(a: FloatTensor, b: FloatTensor, eps = METRIC_EPS): Float64Array {
  sameShape(a, b);
  const n = a.dims[0];
  const out = new Float64Array(n);
  // Stryker disable next-line EqualityOperator: s = n computes a NaN that the write past out's end drops
  for (let s = 0; s < n; s++) {
    const ga = gramMatrix(a, s);
    const gb = gramMatrix(b, s);
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < ga.length; i++) {
      dot += ga[i] * gb[i];
      na += ga[i] * ga[i];
      nb += gb[i] * gb[i];
    }
    out[s] = dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), eps);
  }
  return out;
}

/** All three metrics of §3.4 between reconstruction activations `a` and original activations `b`, per sample. */
export function activationMetrics(a: FloatTensor, b: FloatTensor, eps = METRIC_EPS): ActivationMetrics {
  return { cosine: pixelCosine(a, b, eps), gram: gramCosine(a, b, eps), l1: meanAbsDiff(a, b) };
}

/** Mean and (population) standard deviation. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) throw new GanvasError('BAD_INPUT', 'meanStd of no values');
  let m = 0;
  for (let i = 0; i < n; i++) m += values[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i] - m) ** 2;
  return { mean: m, std: Math.sqrt(v / n) };
}

/** Per-sample metrics averaged: { cosine: {mean, std}, gram: …, l1: … }. */
export function summarizeMetrics(m: ActivationMetrics): Record<keyof ActivationMetrics, { mean: number; std: number }> {
  return { cosine: meanStd(m.cosine), gram: meanStd(m.gram), l1: meanStd(m.l1) };
}

/**
 * Paper 003 Fig. 2: the test network's activations of the originals and of their reconstructions, compared.
 * `range` is the originals' value range, `reconstructionRange` the reconstructions' (a generator's, say).
 */
export async function evaluateInversion(
  testNet: FeatureExtractor,
  originals: FloatTensor,
  reconstructions: FloatTensor,
  range: [number, number],
  reconstructionRange: [number, number] = range,
  opts: RunOptions = {},
): Promise<ActivationMetrics> {
  if (originals.dims[0] !== reconstructions.dims[0]) {
    throw new GanvasError('BAD_INPUT', `${originals.dims[0]} originals but ${reconstructions.dims[0]} reconstructions; they must pair up`);
  }
  const a = await testNet.features(reconstructions, reconstructionRange, opts);
  const b = await testNet.features(originals, range, opts);
  return activationMetrics(a, b);
}

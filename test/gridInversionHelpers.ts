/**
 * Helpers shared by gridInversion.test.ts and gridInversionParts.test.ts (paper 000's Algorithm 1).
 */
import { Cut, FeatureExtractor, FloatTensor, HeadResult } from 'ganvas';

/** The head of `seeds` plus y at feature-map pixels, computed through the plain (non-composed) path. */
export async function targetsFor(cut: Cut, fx: FeatureExtractor, seeds: number[], at: [number, number][]): Promise<{ head: HeadResult; y: FloatTensor }> {
  const head = await cut.sample(seeds);
  const img = await cut.render(head.activations, head.carry);
  const f = await fx.features(img, cut.generator.range);
  const [n, c, h, w] = f.dims;
  const y = new Float32Array(n * c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) y[i * c + k] = f.data[((i * c + k) * h + at[i][0]) * w + at[i][1]];
  return { head, y: { data: y, dims: [n, c] } };
}

export function meanVectors(acts: FloatTensor): Float32Array {
  const [n, c, h, w] = acts.dims;
  const v = new Float32Array(n * 2 * c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let p = 0; p < h * w; p++) s += acts.data[(i * c + k) * h * w + p];
      v[i * 2 * c + k] = v[i * 2 * c + c + k] = s / (h * w);
    }
  }
  return v;
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    r += b[i] ** 2;
  }
  return Math.sqrt(d / Math.max(r, 1e-30));
}

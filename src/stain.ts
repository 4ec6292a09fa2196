/**
 * Colour deconvolution for immunohistochemistry (Ruifrok & Johnston 2001): RGB → optical density → the
 * hematoxylin, eosin and DAB stain amounts, with the stain vectors and log compensation of scikit-image's
 * `rgb2hed`, so results match it (test/stain.test.ts checks that against skimage itself).
 *
 * Used as an oracle segmentation of generated tissue images: which pixels are hematoxylin (nuclei), DAB-positive,
 * or neither.
 */
import { GanvasError } from './errors';
import { FloatTensor, nchw } from './runtime/tensor';

/** Rows: the RGB optical-density vectors of hematoxylin, eosin and DAB (skimage's rgb_from_hed). */
export const RGB_FROM_HED = [
  [0.65, 0.7, 0.29],
  [0.07, 0.99, 0.11],
  [0.27, 0.57, 0.78],
];

function inverse3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: inverse3 only inverts the constant RGB_FROM_HED (det ≈ 0.378), never singular
  if (Math.abs(det) < 1e-12) throw new GanvasError('BAD_INPUT', 'the stain matrix is singular');
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}

export const HED_FROM_RGB = inverse3(RGB_FROM_HED);

/**
 * Stain amounts of sample n of an RGB image tensor (values in `range`): a [3, H·W] array of H, E, D, each ≥ 0.
 * As skimage: rgb clipped at 1e-6, od = log(rgb) / log(1e-6), stains = od · HED_FROM_RGB, clipped at 0.
 */
export function rgbToHed(images: FloatTensor, n: number, range: [number, number] = [-1, 1]): Float32Array[] {
  const { c, h, w } = nchw(images, 'images');
  if (c !== 3) throw new GanvasError('BAD_INPUT', `colour deconvolution needs RGB images, got ${c} channel(s)`);
  const [lo, hi] = range;
  const hw = h * w;
  const out = [new Float32Array(hw), new Float32Array(hw), new Float32Array(hw)];
  const logAdjust = Math.log(1e-6);
  const base = n * 3 * hw;
  // Stryker disable next-line EqualityOperator: p <= hw only writes past the typed arrays' end (dropped)
  for (let p = 0; p < hw; p++) {
    const od = [0, 1, 2].map((k) => {
      const v = Math.min(1, Math.max(1e-6, (images.data[base + k * hw + p] - lo) / (hi - lo)));
      return Math.log(v) / logAdjust;
    });
    for (let s = 0; s < 3; s++) {
      const v = od[0] * HED_FROM_RGB[0][s] + od[1] * HED_FROM_RGB[1][s] + od[2] * HED_FROM_RGB[2][s];
      // Stryker disable next-line EqualityOperator: v >= 0 gives 0 for v = 0 too
      out[s][p] = v > 0 ? v : 0;
    }
  }
  return out;
}

export type StainClass = 'hematoxylin' | 'dab' | 'background';
export const STAIN_CLASSES: StainClass[] = ['hematoxylin', 'dab', 'background'];

export interface StainThresholds {
  hematoxylin: number;
  dab: number;
}

/**
 * Oracle label per pixel: DAB-positive where D exceeds its threshold (DAB dominates the brown signal it shares
 * with hematoxylin), else hematoxylin where H exceeds its threshold, else background. Labels index STAIN_CLASSES.
 */
export function stainLabels(hed: Float32Array[], t: StainThresholds): Uint8Array {
  const [H, , D] = hed;
  const out = new Uint8Array(H.length);
  // Stryker disable next-line EqualityOperator: p <= H.length only writes past the typed array's end (dropped)
  for (let p = 0; p < H.length; p++) {
    out[p] = D[p] > t.dab ? 1 : H[p] > t.hematoxylin ? 0 : 2;
  }
  return out;
}

/** Thresholds from images: each stain's mean plus one standard deviation over all their pixels. */
export function stainThresholds(images: FloatTensor, range: [number, number] = [-1, 1]): StainThresholds {
  const stats = [0, 2].map(() => ({ s: 0, s2: 0, n: 0 }));
  for (let n = 0; n < images.dims[0]; n++) {
    const hed = rgbToHed(images, n, range);
    [hed[0], hed[2]].forEach((ch, k) => {
      for (const v of ch) {
        stats[k].s += v;
        stats[k].s2 += v * v;
        stats[k].n++;
      }
    });
  }
  const thr = stats.map(({ s, s2, n }) => {
    const m = s / n;
    return m + Math.sqrt(Math.max(0, s2 / n - m * m));
  });
  return { hematoxylin: thr[0], dab: thr[1] };
}

/**
 * Colour deconvolution (src/stain.ts) from its model rather than from skimage: Ruifrok & Johnston's optical density
 * is linear in the stain amounts, od = s · RGB_FROM_HED with od = log(rgb) / log(1e-6), so a pixel made from known
 * stain amounts must deconvolve back to them. Also the clipping ends, the range mapping, which sample is read, the
 * oracle labels' strict thresholds, and stainThresholds (mean + one standard deviation per stain over every pixel of
 * every image) against a two-pass computation.
 */
import { expect } from 'chai';
import { FloatTensor, GanvasError, RGB_FROM_HED, STAIN_CLASSES, rgbToHed, stainLabels, stainThresholds } from 'ganvas';

/** RGB in [0, 1] of a pixel holding stain amounts s = [H, E, D] (the forward model). */
function pixelOf(s: number[]): number[] {
  return [0, 1, 2].map((k) => Math.exp(Math.log(1e-6) * (s[0] * RGB_FROM_HED[0][k] + s[1] * RGB_FROM_HED[1][k] + s[2] * RGB_FROM_HED[2][k])));
}

/** An NCHW tensor [N, 3, 1, P] from per-sample lists of RGB pixels in [0, 1], mapped into `range`. */
function tensorOf(samples: number[][][], range: [number, number] = [-1, 1]): FloatTensor {
  const n = samples.length;
  const p = samples[0].length;
  const data = new Float32Array(n * 3 * p);
  samples.forEach((px, b) => px.forEach((rgb, i) => rgb.forEach((v, k) => (data[(b * 3 + k) * p + i] = range[0] + v * (range[1] - range[0])))));
  return { data, dims: [n, 3, 1, p] };
}

const STAINS = [
  [0.3, 0, 0],
  [0, 0.4, 0],
  [0, 0, 0.25],
  [0.2, 0.1, 0.15],
  [0.05, 0.3, 0.02],
];

describe('colour deconvolution from its model', () => {
  it('a pixel made of known H, E, D amounts deconvolves back to them (default range [-1, 1])', () => {
    const hed = rgbToHed(tensorOf([STAINS.map(pixelOf)]), 0);
    STAINS.forEach((s, i) => s.forEach((v, k) => expect(hed[k][i], `pixel ${i} stain ${k}`).to.be.closeTo(v, 2e-4)));
  });

  it('reads sample n of a batch and maps the given value range', () => {
    const range: [number, number] = [0, 255];
    const first = STAINS.map(pixelOf);
    const second = [...STAINS].reverse().map(pixelOf);
    const t = tensorOf([first, second], range);
    const hed = rgbToHed(t, 1, range);
    [...STAINS].reverse().forEach((s, i) => s.forEach((v, k) => expect(hed[k][i], `sample 1 pixel ${i} stain ${k}`).to.be.closeTo(v, 1e-3)));
    const hed0 = rgbToHed(t, 0, range);
    STAINS.forEach((s, i) => s.forEach((v, k) => expect(hed0[k][i], `sample 0 pixel ${i} stain ${k}`).to.be.closeTo(v, 1e-3)));
  });

  it('white is no stain; values past white clip to white; values at or below black clip at 1e-6 (optical density 1)', () => {
    // Pixels: white, brighter than white (2 in [-1, 1]), black, below black (−3), mid grey.
    const data = new Float32Array(3 * 5);
    const vals = [1, 2, -1, -3, 0];
    vals.forEach((v, i) => [0, 1, 2].forEach((k) => (data[k * 5 + i] = v)));
    const hed = rgbToHed({ data, dims: [1, 3, 1, 5] }, 0);
    for (let k = 0; k < 3; k++) {
      expect(hed[k][0], `white, stain ${k}`).to.equal(0);
      expect(hed[k][1], `past white, stain ${k}`).to.equal(0);
      expect(hed[k][3], `below black equals black, stain ${k}`).to.equal(hed[k][2]);
      for (let i = 0; i < 5; i++) expect(hed[k][i] >= 0 && Number.isFinite(hed[k][i]), `pixel ${i} stain ${k}: finite, ≥ 0`).to.equal(true);
    }
    // Mid grey (0.5) has density g·(1, 1, 1) with g = log 0.5 / log 1e-6, black has (1, 1, 1): the amounts are
    // linear in the density, so grey's are g times black's (clipped at 0 in the same places).
    const g = Math.log(0.5) / Math.log(1e-6);
    for (let k = 0; k < 3; k++) expect(hed[k][4], `grey stain ${k} = g · black`).to.be.closeTo(g * hed[k][2], 1e-5);
    // Black is not stainless.
    expect(hed[0][2] + hed[1][2] + hed[2][2]).to.be.greaterThan(0.5);
  });

  it('amounts below zero clip to 0: a pixel whose density lies outside the stains\' cone', () => {
    // A negative hematoxylin "amount" whose density is still positive on every channel (a valid pixel, darker
    // than white): od = (0.0155, 0.319, 0.0965).
    const s = [-0.05, 0.3, 0.1];
    const hed = rgbToHed(tensorOf([[pixelOf(s)]]), 0);
    expect(hed[0][0]).to.equal(0);
    expect(hed[1][0]).to.be.closeTo(0.3, 2e-4);
    expect(hed[2][0]).to.be.closeTo(0.1, 2e-4);
  });

  it('refuses images that are not RGB, saying how many channels it got, and tensors that are not 4-D, naming them', () => {
    expect(() => rgbToHed({ data: new Float32Array(12), dims: [3, 2, 2] }, 0)).to.throw(GanvasError, 'images must be 4-D (N, C, H, W), got dims [3, 2, 2]');
    for (const c of [1, 4]) {
      expect(() => rgbToHed({ data: new Float32Array(c * 4), dims: [1, c, 2, 2] }, 0)).to.throw(GanvasError, `colour deconvolution needs RGB images, got ${c} channel(s)`);
    }
  });
});

describe('oracle labels and thresholds', () => {
  it('labels index STAIN_CLASSES: DAB, hematoxylin, background', () => {
    const hed = [Float32Array.from([0.5, 0.5, 0.0]), new Float32Array(3), Float32Array.from([0.5, 0.0, 0.0])];
    const named = Array.from(stainLabels(hed, { hematoxylin: 0.25, dab: 0.25 }), (l) => STAIN_CLASSES[l]);
    expect(named).to.deep.equal(['dab', 'hematoxylin', 'background']);
    expect(STAIN_CLASSES.length).to.equal(3);
  });

  it('labels need the stain to exceed its threshold, not equal it', () => {
    // Values exact in float32, so "equal" is equal.
    const H = Float32Array.from([0.25, 0.25, 0.5, 0.0]);
    const E = new Float32Array(4);
    const D = Float32Array.from([0.125, 0.1251, 0.0, 0.5]);
    // pixel 0: D = t.dab, H = t.hem → background; 1: D just above → DAB; 2: H above → hematoxylin; 3: D above → DAB.
    expect(Array.from(stainLabels([H, E, D], { hematoxylin: 0.25, dab: 0.125 }))).to.deep.equal([2, 1, 0, 1]);
    expect(Array.from(stainLabels([Float32Array.from([0.5]), E.subarray(0, 1), Float32Array.from([0.5])], { hematoxylin: 0.5, dab: 0.5 }))).to.deep.equal([2]);
  });

  it('stainThresholds is each stain\'s mean plus one (population) standard deviation over all pixels of all images, H and D only', () => {
    const range: [number, number] = [0, 1];
    // Two images of four pixels with different stain mixes; eosin is large so that reading it instead of DAB shows.
    const a = [[0.3, 0.5, 0.0], [0.1, 0.6, 0.2], [0.0, 0.7, 0.05], [0.25, 0.4, 0.1]];
    const b = [[0.05, 0.9, 0.3], [0.2, 0.8, 0.0], [0.4, 0.5, 0.15], [0.0, 0.2, 0.02]];
    const t = tensorOf([a.map(pixelOf), b.map(pixelOf)], range);
    const thr = stainThresholds(t, range);
    const stat = (k: number) => {
      const v = [0, 1].flatMap((n) => Array.from(rgbToHed(t, n, range)[k]));
      const m = v.reduce((s, x) => s + x, 0) / v.length;
      const sd = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
      return m + sd;
    };
    expect(thr.hematoxylin).to.be.closeTo(stat(0), 1e-5);
    expect(thr.dab).to.be.closeTo(stat(2), 1e-5);
    // By hand from the amounts put in: H = 0.3 0.1 0 0.25 0.05 0.2 0.4 0 → mean 0.1625, sd 0.1380.
    const hs = [0.3, 0.1, 0, 0.25, 0.05, 0.2, 0.4, 0];
    const hm = hs.reduce((s, x) => s + x, 0) / 8;
    expect(thr.hematoxylin).to.be.closeTo(hm + Math.sqrt(hs.reduce((s, x) => s + (x - hm) ** 2, 0) / 8), 1e-3);
    // The default range is [-1, 1].
    const t2 = tensorOf([a.map(pixelOf), b.map(pixelOf)]);
    const thr2 = stainThresholds(t2);
    expect(thr2.hematoxylin).to.be.closeTo(thr.hematoxylin, 1e-3);
    expect(thr2.dab).to.be.closeTo(thr.dab, 1e-3);
  });

  it('a one-colour batch has threshold = its amount (zero spread, never NaN from rounding)', () => {
    // The last two: a colour and pixel count (one image) for which E[x²] − E[x]² rounds below zero, for H and for D
    // (found by a search), where a square root without the clamp gives NaN.
    const cases: [number[], number, number][] = [
      ...STAINS.map((s): [number[], number, number] => [s, 2, 7]),
      [[0.4839999999999982, 0.1, 0.32599999999999973], 1, 41],
      [[0.07399999999999807, 0.1, 0.21099999999999763], 1, 46],
    ];
    for (const [s, images, pixels] of cases) {
      const px = pixelOf(s);
      const t = tensorOf(Array.from({ length: images }, () => Array(pixels).fill(px)), [0, 1]);
      const one = rgbToHed(t, 0, [0, 1]);
      const thr = stainThresholds(t, [0, 1]);
      expect(thr.hematoxylin, `H of ${s}`).to.be.closeTo(one[0][0], 1e-6);
      expect(thr.dab, `D of ${s}`).to.be.closeTo(one[2][0], 1e-6);
    }
  });
});

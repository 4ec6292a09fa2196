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
import { checkpoint, operationSignal } from './interrupt';
import { writeFileAtomic } from './io';
import { FloatTensor, nchw, pixelVector } from './runtime/tensor';
import { ActivationVector, Provenance, composeBatch, indexSeeds, randomPositions, visualize, vectorsFromProvenance } from './visualize';
import { contactSheet } from './runtime/image';
import { quantileSorted, withSummary } from './runtime/describe';
import { promises as fs } from 'fs';
import { integerIn, positiveInt } from './validate';

export interface TileabilityOptions extends RunOptions {
  /** Grid size compared against `full` (default 2). */
  grid?: number;
  /**
   * Erosion k of the feature-map mask (odd; 1 = none). Default: from the size ratio r between the feature map and
   * the hidden layer, k = 2⌊r⌋ − 1 (see defaultErosion): 3 at 2×, 1 at 1×, as the authors' evaluation sets it.
   */
  erosion?: number;
}

export interface Score {
  /** Cosine similarity of the two feature vectors: the tileability score. */
  cosine: number;
  /** Mean absolute difference of the two feature vectors. */
  l1: number;
  /**
   * How much the `full` render varies over the image (inside a border, TEXTURE_MARGIN): the spatial standard
   * deviation of each channel, averaged over channels, in units of the generator's output range (0 = one flat
   * colour, 0.5 = half the pixels at each end).
   * Flat background tiles perfectly (cosine ≈ 1) and has texture ≈ 0; `rank(scan, { minTexture })` leaves it out.
   * Absent in scans saved before ganvas computed it.
   */
  texture?: number;
}

/**
 * The border left out of `texture` on each side (1/8 of the size): convolutions' zero padding draws a frame around
 * every `full` render. Measured on ihc-gan l16 (512 vectors), whose `full` renders are all flat inside: with the
 * frame they scored texture 0.007–0.10, spread like real textures; without it ≤ 1e-7.
 */
export const TEXTURE_MARGIN = 0.125;

/** textureThreshold's least threshold: a spatial std of 1% of the output range, flat to the eye. */
export const TEXTURE_FLOOR = 0.01;

/**
 * The `texture` of every image in rows `from`…`to`−1 of `images` (values in `range`): per channel the standard
 * deviation over H×W (without a border of `margin` × the size on each side), averaged over channels, divided by
 * the range's width.
 */
export function spatialStd(images: FloatTensor, range: [number, number], from = 0, to?: number, margin = 0): number[] {
  const { n, c, h, w } = nchw(images, 'images');
  const end = to ?? n;
  const scale = range[1] - range[0];
  const my = Math.floor(h * margin);
  const mx = Math.floor(w * margin);
  const count = (h - 2 * my) * (w - 2 * mx);
  const out: number[] = [];
  for (let i = from; i < end; i++) {
    let sum = 0;
    for (let k = 0; k < c; k++) {
      const base = (i * c + k) * h * w;
      let m = 0;
      for (let y = my; y < h - my; y++) for (let x = mx; x < w - mx; x++) m += images.data[base + y * w + x];
      m /= count;
      let v = 0;
      for (let y = my; y < h - my; y++) for (let x = mx; x < w - mx; x++) v += (images.data[base + y * w + x] - m) ** 2;
      sum += Math.sqrt(v / count);
    }
    out.push(sum / c / scale);
  }
  return out;
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

/**
 * The default erosion k for a feature map fh×fw compared against a hidden layer h×w: k = 2⌊r⌋ − 1 with r the
 * smaller of fh/h and fw/w (k = 1, no erosion, when the feature map is not finer than the layer).
 *
 * Paper 000's text does not mention erosion; the authors' published evaluation (run_eval) pairs StyleGAN2's
 * b16.conv1 (16×16) with ResNet50 layer2 at 256 px (32×32, r = 2) using k = 3, and b32.conv1 (32×32, r = 1) using
 * k = 1. 2⌊r⌋ − 1 is the one rule through both that also keeps its meaning at other ratios: it removes r − 1
 * feature positions on each side of a block — about one hidden-layer position's worth, where features mix vector
 * and background — so a grid(2) block (2r positions wide) always keeps its 2 central positions.
 */
export function defaultErosion(layerHeight: number, layerWidth: number, featHeight: number, featWidth: number): number {
  const r = Math.min(featHeight / layerHeight, featWidth / layerWidth);
  return r >= 1 ? 2 * Math.floor(r) - 1 : 1;
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
): Promise<{ scores: Score[]; erosion: number }> {
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
  const images = await cut.render(both.activations, both.carry, { batchSize: opts.batchSize, signal: opts.signal });
  await checkpoint(opts.signal);
  const feats = await fx.features(images, cut.generator.range, { batchSize: opts.batchSize, signal: opts.signal });
  const texture = spatialStd(images, cut.generator.range, 0, n, TEXTURE_MARGIN);
  const [, , fh, fw] = feats.dims;
  const erosion = opts.erosion ?? defaultErosion(h, w, fh, fw);
  const fm = featureMask(gm, fh, fw, erosion, ` of ${fx.name} at ${fx.layer.aliases[0] ?? fx.layer.name}`);
  const scores: Score[] = [];
  for (let i = 0; i < n; i++) {
    const a = maskedMean(feats, i, null);
    const b = maskedMean(feats, n + i, fm);
    scores.push({ cosine: cosineSimilarity(a, b), l1: meanAbsDifference(a, b), texture: texture[i] });
  }
  return { scores, erosion };
}

/** Tileability scores of vectors, each rendered on its own sample (provenance seed). */
export async function tileability(cut: Cut, fx: FeatureExtractor, vectors: readonly ActivationVector[], opts: TileabilityOptions = {}): Promise<Score[]> {
  const seeds = vectors.map((v, i) => {
    if (!v.provenance) throw new GanvasError('BAD_INPUT', `vector ${i} has no provenance (its background sample)`);
    return v.provenance.seed;
  });
  const { unique, index } = indexSeeds(seeds);
  const signal = operationSignal(opts.signal);
  const head = await cut.sample(unique, { batchSize: opts.batchSize, signal });
  await checkpoint(signal);
  return (await scoreOnHead(cut, fx, head, index, vectors.map((v) => v.vector), { ...opts, signal })).scores;
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
  /**
   * Score only vectors from…to−1 of the scan (default 0…count): the entries are exactly those a full scan has at
   * these indices when `from` is a multiple of the chunk (batchSize), since chunks then start at the same indices.
   * The command line's workers and shards use it to split a scan.
   */
  from?: number;
  to?: number;
}

/** The most vectors one scan scores: its positions and entries are held in memory (2^22 entries ≈ 400 MB; the paper scores 2048). */
export const MAX_SCAN_COUNT = 2 ** 22;

/**
 * The scan's random positions, drawn once per cut and (seed, count) and kept packed (y, x pairs in an Int32Array, 8
 * bytes a vector) while the cut lives. A batch job scans one chunk (`from`…`to`) per call, and drawing all `count`
 * positions each time made its total cost grow with count²: measured 1.5 ms per call at count 8192 (0.19 s over the
 * 128 chunks of a 28 s `ganvas scan`) and 14.5 ms at 100k, 23 s over the 100k-vector job's 1563 chunks.
 */
const positionsOf = new WeakMap<Cut, { key: string; yx: Int32Array }>();

function scanPositions(cut: Cut, seed: number, count: number): Int32Array {
  const key = `${seed}:${count}:${cut.layer.height}:${cut.layer.width}`;
  let kept = positionsOf.get(cut);
  if (kept?.key !== key) {
    kept = { key, yx: Int32Array.from(randomPositions(seed, count, cut.layer.height, cut.layer.width).flat()) };
    positionsOf.set(cut, kept);
  }
  return kept.yx;
}

/** Scores `count` random vectors (one per generated sample) in chunks, reporting progress. */
export async function scan(cut: Cut, fx: FeatureExtractor, opts: ScanOptions = {}): Promise<Scan> {
  const count = positiveInt(opts.count ?? 2048, 'scan count', MAX_SCAN_COUNT);
  const seed = integerIn(opts.seed ?? 0, 'scan seed', -(2 ** 31), 2 ** 31);
  const chunk = positiveInt(opts.batchSize ?? 64, 'batchSize');
  const from = opts.from ?? 0;
  const to = opts.to ?? count;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > count || from > to) {
    throw new GanvasError('BAD_INPUT', `from…to must be integers with 0 ≤ from ≤ to ≤ count (${count}), got ${from}…${to}`);
  }
  const yx = scanPositions(cut, seed, count);
  const entries: ScanEntry[] = [];
  let erosion = opts.erosion ?? 1;
  // Stops between chunks (and between the head, tail and feature runs of one) on `signal` or a kernel interrupt.
  const signal = operationSignal(opts.signal);
  for (let start = from; start < to; start += chunk) {
    await checkpoint(signal);
    const end = Math.min(to, start + chunk);
    const seeds = Array.from({ length: end - start }, (_, i) => seed * count + start + i);
    const head = await cut.sample(seeds, { batchSize: chunk, signal });
    await checkpoint(signal);
    const vectors = seeds.map((_, i) => pixelVector(head.activations, i, yx[2 * (start + i)], yx[2 * (start + i) + 1]));
    // The 2·chunk renders (full and grid) run as onnxruntime calls of `chunk` rows, with a checkpoint between: a
    // native call cannot be interrupted, and at 2×128 rows an ihc-gan tail call took ~1 s on the loaded 2-core
    // machine (load 12–17), the scan stopping 0.78 s after a kernel interrupt. Scans of 256 took 4.9 s (128-row
    // calls) vs 4.1 s (64), medians of 3 under that load: no measurable cost.
    const scored = await scoreOnHead(cut, fx, head, seeds.map((_, i) => i), vectors, { ...opts, batchSize: chunk, signal });
    erosion = scored.erosion;
    const scores = scored.scores;
    scores.forEach((s, i) => {
      const y = yx[2 * (start + i)];
      const x = yx[2 * (start + i) + 1];
      entries.push({ ...s, provenance: { model: cut.generator.name, layer: cut.layerName, seed: seeds[i], y, x } });
    });
    opts.onProgress?.(end - from, to - from);
  }
  return scanSummary({
    format: 'ganvas-scan/1',
    generator: cut.generator.name,
    layer: cut.layerName,
    extractor: fx.name,
    featureLayer: fx.layer.aliases[0] ?? fx.layer.name,
    grid: opts.grid ?? 2,
    erosion,
    count,
    seed,
    entries,
  });
}

/** A scan shows in a notebook as one paragraph (what, how many, score quantiles), not 2048 entries. */
function scanSummary(s: Scan): Scan {
  return withSummary(s, (x) => {
    const c = x.entries.map((e) => e.cosine).sort((a, b) => a - b);
    const q = (p: number) => quantileSorted(c, p).toFixed(3);
    return (
      `Scan of ${x.entries.length} vectors: ${x.generator} ${x.layer} × ${x.extractor} ${x.featureLayer}, grid(${x.grid}), ` +
      `erosion ${x.erosion}, seed ${x.seed}; cosine p1 ${q(0.01)}, median ${q(0.5)}, p99 ${q(0.99)}. ` +
      `rank(scan) orders the entries, gallery(cut, rank(scan).slice(0, 8)) shows the top.`
    );
  });
}

export interface RankOptions {
  /**
   * Leave out entries whose `full` render is flatter than this (`texture` below it): flat background tiles
   * perfectly and would otherwise fill the top of the ranking. `textureThreshold(scan)` picks one from the scan;
   * README ("What we found") has the values measured on the demo models. Default: keep everything.
   */
  minTexture?: number;
}

/**
 * Entries by descending score (most tileable first). Ties keep scan order, so rankings are repeatable. An entry
 * whose score is not a number (NaN: a degenerate feature map) ranks last: a NaN comparison made the sort
 * inconsistent and misordered the finite scores around it.
 */
export function rank(s: Scan, opts: RankOptions = {}): ScanEntry[] {
  if (!s || !Array.isArray(s.entries)) throw new GanvasError('BAD_INPUT', 'rank() needs a scan ({entries: [...]}) as returned by scan() or loadScan()');
  let entries = s.entries.map((e, i) => ({ e, i }));
  const min = opts.minTexture;
  if (min !== undefined) {
    if (!Number.isFinite(min) || min < 0) throw new GanvasError('BAD_INPUT', `minTexture must be a number ≥ 0 (a spatial std in units of the output range, e.g. 0.05), got ${min}`);
    if (s.entries.some((e) => typeof e.texture !== 'number')) {
      throw new GanvasError('BAD_INPUT', 'this scan has no texture values (saved by an older ganvas): run scan() again to rank with minTexture');
    }
    entries = entries.filter((x) => (x.e.texture as number) >= min);
  }
  const score = (e: ScanEntry) => (typeof e?.cosine === 'number' && !Number.isNaN(e.cosine) ? e.cosine : -Infinity);
  const valid = (e: ScanEntry) => (typeof e?.cosine === 'number' && !Number.isNaN(e.cosine) ? 0 : 1);
  return entries.sort((a, b) => valid(a.e) - valid(b.e) || score(b.e) - score(a.e) || a.i - b.i).map((x) => x.e);
}

/**
 * A texture threshold that splits a scan's entries into flat and textured: Otsu's threshold (the cut that maximizes
 * the between-class variance) over their `texture` values, which on the demo models falls in the gap between the
 * flat-background mode near 0 and the textures (README, "What we found"). Use as rank(scan, { minTexture }).
 * Never below `floor` (default TEXTURE_FLOOR): when every render is flat — ihc-gan's `full` renders all are,
 * texture ≤ 1e-7 — Otsu would split float noise; with the floor, rank keeps nothing, which is the honest answer.
 */
export function textureThreshold(s: Scan, opts: { floor?: number; bins?: number } = {}): number {
  const bins = opts.bins ?? 256;
  const floor = opts.floor ?? TEXTURE_FLOOR;
  const xs = s.entries.map((e) => e.texture);
  if (xs.length === 0 || xs.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new GanvasError('BAD_INPUT', 'textureThreshold needs a scan with texture values (run scan() again if it was saved by an older ganvas)');
  }
  const vals = xs as number[];
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  if (hi <= lo) return Math.max(lo, floor);
  const hist = new Float64Array(bins);
  for (const x of vals) hist[Math.min(bins - 1, Math.floor(((x - lo) / (hi - lo)) * bins))]++;
  const total = vals.length;
  let sumAll = 0;
  for (let b = 0; b < bins; b++) sumAll += b * hist[b];
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let bestB = 0;
  for (let b = 0; b < bins - 1; b++) {
    w0 += hist[b];
    sum0 += b * hist[b];
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const d = sum0 / w0 - (sumAll - sum0) / w1;
    const between = w0 * w1 * d * d;
    if (between > best) {
      best = between;
      bestB = b;
    }
  }
  // Halfway between the two classes' nearest members: inside the gap, not on the edge of a histogram bin.
  const cut = lo + ((bestB + 1) / bins) * (hi - lo);
  const below = Math.max(...vals.filter((x) => x < cut));
  const above = Math.min(...vals.filter((x) => x >= cut));
  return Math.max((below + above) / 2, floor);
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
  return scanSummary(s);
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
  const signal = operationSignal(opts.signal);
  for (const g of sizes) {
    const s = await scan(cut, fx, { erosion: 1, ...opts, grid: g, onProgress: undefined, signal });
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
  const signal = operationSignal(opts.signal);
  const vectors = await vectorsFromProvenance(cut, entries.map((e) => e.provenance), { ...opts, signal });
  const g = opts.grid ?? 2;
  await checkpoint(signal);
  const grid = await visualize(cut, vectors, { ...opts, grid: g, signal });
  await checkpoint(signal);
  const full = await visualize(cut, vectors, { ...opts, grid: 'full', signal });
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

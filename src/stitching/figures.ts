/**
 * The figures of paper 003, for any set of stitches:
 *
 * - Fig. 4: originals on top, one row of reconstructions per stitch (per layer); column i uses generator seed i in
 *   every row, as the paper keeps one z per column (`reconstructionSheet`);
 * - Figs. 10–11: one image reconstructed with many seeds, the original first (`variationSheet`);
 * - Fig. 9 (and Fig. 3's selection): the k images of a validation set whose reconstructions have the lowest (or
 *   highest) test-network cosine, with it under each (`cosineExtremes`);
 * - Fig. 5: the end-layer sweep, validation cosine and L1 relative to samplings distance 0, read from the stitches'
 *   training records (`endLayerSweep`).
 *
 * Originals (in the classifier's range) and reconstructions (in the generator's) are mapped to [0, 1] for a sheet.
 */
import { GanvasError } from '../errors';
import type { FeatureExtractor } from '../features';
import { ModelBundle } from '../manifest';
import { contactSheet, SheetRow } from '../runtime/image';
import { Seed } from '../runtime/noise';
import { FloatTensor, concatBatch, mapRange, nchw, sliceBatch } from '../runtime/tensor';
import { DemoStitchQuery, bestEpoch, demoStitchFiles, readStitchRecord, validationHistory } from './demo';
import { evaluateInversion } from './metrics';
import { Stitch } from './stitch';
import type { LineSeries } from '../widgets/lines';

/** "layer1 → b16.conv0": a stitch's row label in the figures and the widget. */
export function stitchLabel(s: Stitch): string {
  return `${s.layerX} → ${s.layerY}`;
}

function classifierRange(s: Stitch): [number, number] {
  // Stryker disable next-line OptionalChaining,ArrayDeclaration: Stitch.create refuses a classifier without preprocess, so the fallback never runs
  return s.parts.classifier.manifest.preprocess?.range ?? [0, 1];
}

/** Integer cell scale so that an image of width w is shown about `px` wide. */
function scaleFor(w: number, px = 96): number {
  return Math.max(1, Math.round(px / w));
}

export interface ReconstructionSheetOptions {
  /** Generator seeds, one per image (default: image i gets seed i, the same in every row). */
  seeds?: Seed[];
  /** Row labels, one per stitch (default "layerX → layerY"). */
  labels?: string[];
  /** Cell scale (default: about 96 px per image). */
  scale?: number;
  /** Label column width in pixels (default 130). */
  labelWidth?: number;
}

/** Paper 003 Fig. 4: the originals, then one row per stitch. */
export async function reconstructionSheet(stitches: Stitch[], images: FloatTensor, opts: ReconstructionSheetOptions = {}): Promise<Buffer> {
  if (stitches.length === 0) throw new GanvasError('BAD_INPUT', 'reconstructionSheet needs at least one stitch');
  const { n, w } = nchw(images, 'images');
  const seeds = opts.seeds ?? Array.from({ length: n }, (_, i) => i);
  const rows: SheetRow[] = [{ label: 'original', images: mapRange(images, classifierRange(stitches[0])) }];
  for (const [i, s] of stitches.entries()) {
    const rec = await s.invert(images, { seeds });
    rows.push({ label: opts.labels?.[i] ?? stitchLabel(s), images: mapRange(rec, s.generator.range) });
  }
  return contactSheet(rows, { range: [0, 1], scale: opts.scale ?? scaleFor(w), labelWidth: opts.labelWidth ?? 130 });
}

/**
 * Paper 003 Figs. 10–11: `image` (batch 1) reconstructed once per seed, the original first, wrapped into rows of
 * `columns` (default 8).
 */
export async function variationSheet(stitch: Stitch, image: FloatTensor, seeds: Seed[], opts: { columns?: number; scale?: number } = {}): Promise<Buffer> {
  const { w } = nchw(image, 'image');
  const columns = opts.columns ?? 8;
  if (!Number.isInteger(columns) || columns < 1) throw new GanvasError('BAD_INPUT', `columns must be a positive integer, got ${columns}`);
  const rec = mapRange(await stitch.variations(image, seeds), stitch.generator.range);
  const original = mapRange(image, classifierRange(stitch));
  const rows: SheetRow[] = [];
  // A row is one batch: an original of another size or channel count than the generator's images (a 64×64 RGB
  // classifier stitched into a 32×32 gray generator) gets a row of its own; before session 11 concatBatch refused it.
  const inline = original.dims.every((d, i) => i === 0 || d === rec.dims[i]);
  if (!inline) rows.push({ images: original, captions: ['original'] });
  const all = inline ? concatBatch([original, rec]) : rec;
  const captions = [...(inline ? ['original'] : []), ...seeds.map((s) => `seed ${s}`)];
  for (let i = 0; i < all.dims[0]; i += columns) {
    const j = Math.min(all.dims[0], i + columns);
    rows.push({ images: sliceBatch(all, i, j), captions: captions.slice(i, j) });
  }
  return contactSheet(rows, { range: [0, 1], scale: opts.scale ?? scaleFor(w, 64) });
}

export interface CosineExtremes {
  /** Indices into the images, lowest cosine first (or highest first with `highest`). */
  indices: number[];
  cosine: number[];
  originals: FloatTensor;
  /** Reconstructions of those images, in the generator's range. */
  reconstructions: FloatTensor;
  /** Originals above reconstructions, the cosine under each reconstruction. */
  png: Buffer;
  /** Mean cosine over all images (to compare the selection with). */
  meanCosine: number;
}

/**
 * Paper 003 Fig. 9: invert every image (image i with seed i, as Stitch.evaluate does), score each reconstruction
 * with the test network's pixel cosine (§3.4), and return the `count` lowest (or, with `highest`, Fig. 3's
 * highest) with their reconstructions and a sheet.
 */
export async function cosineExtremes(
  stitch: Stitch,
  testNet: FeatureExtractor,
  images: FloatTensor,
  opts: { count?: number; highest?: boolean; batchSize?: number } = {},
): Promise<CosineExtremes> {
  const { n, w } = nchw(images, 'images');
  const count = opts.count ?? 8;
  if (!Number.isInteger(count) || count < 1 || count > n) throw new GanvasError('BAD_INPUT', `count must be an integer in 1..${n} (the number of images), got ${count}`);
  const seeds = Array.from({ length: n }, (_, i) => i);
  const rec = await stitch.invert(images, { seeds, batchSize: opts.batchSize });
  // Stryker disable next-line ObjectLiteral,LogicalOperator: a batch size splits the test network's runs, not the values
  const m = await evaluateInversion(testNet, images, rec, classifierRange(stitch), stitch.generator.range, { batchSize: opts.batchSize ?? 500 });
  // Stryker disable next-line MethodExpression,ArithmeticOperator: seeds is not read after this line (sorting it in place is harmless), and V8's stable sort keeps tied entries in their (index) order for any tie-break ≥ 0 (checked with 10 to 1,000 entries, all or a third tied)
  const order = seeds.slice().sort((a, b) => (opts.highest ? m.cosine[b] - m.cosine[a] : m.cosine[a] - m.cosine[b]) || a - b);
  const indices = order.slice(0, count);
  const pick = (t: FloatTensor) => concatBatch(indices.map((i) => sliceBatch(t, i, i + 1)));
  const originals = pick(images);
  const reconstructions = pick(rec);
  const cosine = indices.map((i) => m.cosine[i]);
  const png = await contactSheet(
    [
      { label: 'original', images: mapRange(originals, classifierRange(stitch)), captions: indices.map((i) => `#${i}`) },
      { label: stitchLabel(stitch), images: mapRange(reconstructions, stitch.generator.range), captions: cosine.map((c) => `cos ${c.toFixed(3)}`) },
    ],
    { range: [0, 1], scale: scaleFor(w), labelWidth: 130 },
  );
  let sum = 0;
  for (const c of m.cosine) sum += c;
  return { indices, cosine, originals, reconstructions, png, meanCosine: sum / n };
}

export interface EndLayerPoint {
  distance: number;
  layerY: string;
  /** Best validation cosine (the kept epoch) and that epoch's validation L1. */
  cosine: number;
  l1: number;
  /** Divided by the distance-0 stitch's value (paper Fig. 5); undefined when there is no distance-0 stitch. */
  relativeCosine?: number;
  relativeL1?: number;
}

export interface EndLayerLine {
  layerX: string;
  points: EndLayerPoint[];
}

/**
 * Paper 003 §4.4, Fig. 5: for each classifier layer, the demo stitches into the generator layers at samplings
 * distances −2…+2 (those that exist), with their best validation cosine and L1 from the training records, and both
 * relative to distance 0. Layers with no stitch at all are left out.
 */
export async function endLayerSweep(classifier: string | ModelBundle, generator: string | ModelBundle, query: DemoStitchQuery = {}): Promise<EndLayerLine[]> {
  const entries = await demoStitchFiles(classifier, generator, { ...query, distances: query.distances ?? [-2, -1, 0, 1, 2] });
  const lines = new Map<string, EndLayerPoint[]>();
  for (const e of entries) {
    if (!e.exists) continue;
    const { record } = await readStitchRecord(e.file);
    const best = bestEpoch(validationHistory(record, e.file));
    const pts = lines.get(e.layerX) ?? [];
    pts.push({ distance: e.distance, layerY: e.layerY, cosine: best.valCosine, l1: best.valL1 });
    lines.set(e.layerX, pts);
  }
  const out: EndLayerLine[] = [];
  for (const [layerX, points] of lines) {
    points.sort((a, b) => a.distance - b.distance);
    const zero = points.find((p) => p.distance === 0);
    if (zero) {
      for (const p of points) {
        p.relativeCosine = p.cosine / zero.cosine;
        p.relativeL1 = p.l1 / zero.l1;
      }
    }
    out.push({ layerX, points });
  }
  return out;
}

/** Fig. 5's curves: one series per classifier layer, the relative cosine (or L1) against the samplings distance. */
export function endLayerSeries(lines: EndLayerLine[], metric: 'cosine' | 'l1' = 'cosine'): LineSeries[] {
  return lines.map((l) => ({
    name: l.layerX,
    x: l.points.map((p) => p.distance),
    y: l.points.map((p) => (metric === 'cosine' ? p.relativeCosine : p.relativeL1) ?? null),
  }));
}

/** The stitches' validation curves from their training records: validation cosine against training samples. */
export function validationSeries(stitches: Stitch[], metric: 'valCosine' | 'valL1' | 'valGram' = 'valCosine'): LineSeries[] {
  return stitches.map((s) => {
    const h = validationHistory(s.record, s.name);
    return { name: stitchLabel(s), x: h.map((p) => p.samples), y: h.map((p) => p[metric]) };
  });
}

/**
 * Annotated datasets (paper 000 §4.3): random label maps painted with library vectors give (image, label map)
 * pairs from an unconditionally trained generator. Written as PNG files plus index.json; resumable: a run that
 * was interrupted continues where the index ends, regenerating (deterministically) any pair not yet indexed, so
 * there are never duplicates or gaps.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError } from './errors';
import { Cut } from './generator';
import { writeFileAtomic } from './io';
import { VectorLibrary } from './library';
import { MaskKind, randomLabels } from './masks';
import { Painter, labelsToRgb, rgbToPng } from './paint';
import { rawToPng, toPng } from './runtime/image';

export interface DatasetOptions {
  dir: string;
  count: number;
  /** Dataset seed: pair i uses mask seed "<seed>:<i>" and background sample seed·count + i. Default 0. */
  seed?: number;
  kind?: MaskKind;
  /** Library vector names to use as classes (default: all). */
  classes?: string[];
  keepShare?: number;
  onProgress?: (done: number, total: number) => void;
  /** Pairs written between index updates (default 16). */
  flushEvery?: number;
  /**
   * Make only pairs from…to−1 (default 0…count), with the seeds they have in the whole dataset; the index then lists
   * those. The command line's workers and shards use it to split a dataset.
   */
  from?: number;
  to?: number;
}

export interface DatasetEntry {
  id: number;
  sampleSeed: number;
  maskSeed: string;
  image: string;
  label: string;
  mask: string;
}

export interface DatasetIndex {
  format: 'ganvas-dataset/1';
  model: string;
  layer: string;
  kind: MaskKind;
  seed: number;
  count: number;
  /** Label value k+1 in label PNGs is class k; 0 means "kept" (unpainted). */
  classes: { label: number; name: string; color: string }[];
  entries: DatasetEntry[];
}

export async function generateDataset(cut: Cut, library: VectorLibrary, opts: DatasetOptions): Promise<DatasetIndex> {
  library.checkFits(cut);
  const names = opts.classes ?? library.entries.map((e) => e.name);
  if (names.length === 0) throw new GanvasError('BAD_INPUT', 'the dataset needs at least one class vector in the library');
  if (names.length > 254) throw new GanvasError('BAD_INPUT', 'at most 254 classes fit an 8-bit label PNG');
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0) {
    throw new GanvasError('BAD_INPUT', `classes lists ${[...new Set(twice)].map((n) => `"${n}"`).join(', ')} more than once; name each class once`);
  }
  const classes = names.map((n, i) => ({ label: i + 1, name: n, color: library.get(n).color }));
  const palette: Record<string, Float32Array> = Object.fromEntries(names.map((n) => [library.get(n).color, library.get(n).vector]));
  const painter = new Painter(cut, palette);
  const seed = opts.seed ?? 0;
  const kind = opts.kind ?? 'voronoi';
  const indexFile = path.join(opts.dir, 'index.json');
  let index: DatasetIndex = {
    format: 'ganvas-dataset/1', model: cut.generator.name, layer: cut.layerName, kind, seed, count: opts.count, classes, entries: [],
  };
  const existing = await fs.readFile(indexFile, 'utf8').then((t) => JSON.parse(t) as DatasetIndex, () => undefined);
  if (existing) {
    const same = existing.model === index.model && existing.layer === index.layer && existing.kind === kind && existing.seed === seed &&
      JSON.stringify(existing.classes) === JSON.stringify(classes);
    if (!same) {
      throw new GanvasError('BAD_INPUT', `${opts.dir} holds a dataset made with other settings (${existing.model} at ${existing.layer}, ${existing.kind}, seed ${existing.seed}); choose another directory to start a new one`);
    }
    index = { ...existing, count: Math.max(opts.count, existing.count) };
  }
  for (const sub of ['images', 'labels', 'masks']) await fs.mkdir(path.join(opts.dir, sub), { recursive: true });
  const { height: h, width: w } = cut.layer;
  const flush = opts.flushEvery ?? 16;
  let pending = 0;
  const from = opts.from ?? 0;
  const to = opts.to ?? opts.count;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > opts.count || from > to) {
    throw new GanvasError('BAD_INPUT', `from…to must be integers with 0 ≤ from ≤ to ≤ count (${opts.count}), got ${from}…${to}`);
  }
  for (let i = from + index.entries.length; i < to; i++) {
    const maskSeed = `${seed}:${i}`;
    const sampleSeed = seed * opts.count + i;
    const layerLabels = randomLabels(maskSeed, h, w, classes.length, { kind, keepShare: opts.keepShare });
    const painted = await painter.paintLabels(layerLabels, { seed: sampleSeed });
    const [, , H, W] = painted.image.dims;
    const big = painted.imageLabels;
    const label = Buffer.alloc(H * W);
    for (let p = 0; p < big.data.length; p++) label[p] = big.data[p] + 1;
    const name = String(i).padStart(6, '0');
    const entry: DatasetEntry = { id: i, sampleSeed, maskSeed, image: `images/${name}.png`, label: `labels/${name}.png`, mask: `masks/${name}.png` };
    await writeFileAtomic(path.join(opts.dir, entry.image), await toPng(painted.image, 0, { range: cut.generator.range }));
    await writeFileAtomic(path.join(opts.dir, entry.label), await rawToPng(label, W, H, 1));
    await writeFileAtomic(path.join(opts.dir, entry.mask), await rgbToPng(labelsToRgb(big, painter.colors)));
    index.entries.push(entry);
    if (++pending >= flush || i === to - 1) {
      await writeFileAtomic(indexFile, JSON.stringify(index, null, 1));
      pending = 0;
    }
    opts.onProgress?.(i + 1 - from, to - from);
  }
  await writeFileAtomic(indexFile, JSON.stringify(index, null, 1));
  return index;
}

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
import { checkpoint, operationSignal } from './interrupt';
import { ensureDir, removeOrphanTemps, writeFileAtomic } from './io';
import { VectorLibrary } from './library';
import { MaskKind, randomLabels } from './masks';
import { Painter, labelsToRgb, rgbToPng } from './paint';
import { rawToPng, toPng } from './runtime/image';
import { integerIn, plainObject, positiveInt, show } from './validate';

export interface DatasetOptions {
  dir: string;
  count: number;
  /** Dataset seed: pair i uses mask seed "<seed>:<i>" and background sample seed "dataset:<seed>:<i>". Default 0. */
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
  /**
   * Stops between pairs (rejects with the signal's reason) after writing the index of every pair finished, so a
   * later call with the same settings resumes there. A kernel interrupt stops it the same way.
   */
  signal?: AbortSignal;
}

export interface DatasetEntry {
  id: number;
  /** Background sample seed: "dataset:<seed>:<id>" (datasetSampleSeed). */
  sampleSeed: string;
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

/** The most pairs one dataset holds (file names are six digits). */
export const MAX_DATASET_COUNT = 1_000_000;

/**
 * The background sample seed of pair i of the dataset with seed `seed`: a string naming both, so datasets with
 * different seeds never share a background (before: seed·count + i, so a "test" set with seed 1 and 5 pairs reused
 * backgrounds 5…9 of a "train" set with seed 0 and 10 pairs — leakage between splits believed independent).
 */
export function datasetSampleSeed(seed: number, i: number): string {
  return `dataset:${seed}:${i}`;
}

export async function generateDataset(cut: Cut, library: VectorLibrary, opts: DatasetOptions): Promise<DatasetIndex> {
  plainObject(opts, 'generateDataset options');
  if (!(library instanceof VectorLibrary)) throw new GanvasError('BAD_INPUT', 'generateDataset needs a VectorLibrary (its vectors are the classes)');
  if (typeof opts.dir !== 'string' || opts.dir === '') throw new GanvasError('BAD_INPUT', `dir must be a directory path, got ${show(opts.dir)}`);
  positiveInt(opts.count, 'count (pairs to generate)', MAX_DATASET_COUNT);
  integerIn(opts.seed ?? 0, 'seed', -(2 ** 31), 2 ** 31);
  if (opts.flushEvery !== undefined) positiveInt(opts.flushEvery, 'flushEvery');
  if (opts.classes !== undefined && !(Array.isArray(opts.classes) && opts.classes.every((c) => typeof c === 'string'))) {
    throw new GanvasError('BAD_INPUT', `classes must be a list of library vector names, got ${show(opts.classes)}`);
  }
  if (opts.kind !== undefined && !['voronoi', 'blobs', 'strokes'].includes(opts.kind)) {
    throw new GanvasError('BAD_INPUT', `kind must be "voronoi", "blobs" or "strokes", got ${show(opts.kind)}`);
  }
  if (opts.keepShare !== undefined && !(typeof opts.keepShare === 'number' && opts.keepShare >= 0 && opts.keepShare <= 1)) {
    throw new GanvasError('BAD_INPUT', `keepShare is a probability in [0, 1], got ${show(opts.keepShare)}`);
  }
  // Checked before anything is read or written (the folders were made before this check).
  const from = opts.from ?? 0;
  const to = opts.to ?? opts.count;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > opts.count || from > to) {
    throw new GanvasError('BAD_INPUT', `from…to must be integers with 0 ≤ from ≤ to ≤ count (${opts.count}), got ${from}…${to}`);
  }
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
  const existing = await readIndex(indexFile);
  if (existing) {
    const same = existing.model === index.model && existing.layer === index.layer && existing.kind === kind && existing.seed === seed &&
      JSON.stringify(existing.classes) === JSON.stringify(classes);
    if (!same) {
      throw new GanvasError('BAD_INPUT', `${opts.dir} holds a dataset made with other settings (${existing.model} at ${existing.layer}, ${existing.kind}, seed ${existing.seed}); choose another directory to start a new one`);
    }
    if (existing.count !== opts.count) {
      throw new GanvasError(
        'BAD_INPUT',
        `${opts.dir} holds a dataset of ${existing.count} pairs (${existing.entries.length} written); resume it with count ${existing.count}, or choose another directory for ${opts.count} pairs`,
      );
    }
    // A part (from…to) lists pairs from…: entry k is pair from + k (this compared with k, so a part could not resume).
    const first = existing.entries[0]?.id;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: with no entries `first` is undefined, which Number.isInteger refuses anyway
    if (existing.entries.length > 0 && first !== from && Number.isInteger(first)) {
      throw new GanvasError(
        'BAD_INPUT',
        `${opts.dir} holds the pairs from ${first} on (a part of a dataset); resume it with from ${first}, or choose another directory`,
      );
    }
    // `some`, not `find`: a null entry (a hand-edited index) is the element found, and null is falsy.
    const stale = existing.entries.some((e, k) => e?.id !== from + k || e.sampleSeed !== datasetSampleSeed(seed, from + k));
    if (stale) {
      throw new GanvasError('BAD_INPUT', `${opts.dir} holds pairs made with other per-sample seeds (an older ganvas); choose another directory to start a new dataset`);
    }
    index = existing;
  }
  for (const sub of ['images', 'labels', 'masks']) await ensureDir(path.join(opts.dir, sub));
  // Temporaries of a run that was killed mid-write: their pairs are regenerated below.
  for (const sub of ['.', 'images', 'labels', 'masks']) await removeOrphanTemps(path.join(opts.dir, sub));
  const { height: h, width: w } = cut.layer;
  const flush = opts.flushEvery ?? 16;
  let pending = 0;
  const signal = operationSignal(opts.signal);
  for (let i = from + index.entries.length; i < to; i++) {
    try {
      await checkpoint(signal);
    } catch (e) {
      // Every pair in entries is completely written (each file atomically): index them before stopping.
      // Stryker disable next-line ConditionalExpression,EqualityOperator: with nothing pending the index on disk already has these entries; rewriting it changes no byte
      if (pending > 0) await writeFileAtomic(indexFile, JSON.stringify(index, null, 1));
      throw e;
    }
    const maskSeed = `${seed}:${i}`;
    const sampleSeed = datasetSampleSeed(seed, i);
    const layerLabels = randomLabels(maskSeed, h, w, classes.length, { kind, keepShare: opts.keepShare });
    const painted = await painter.paintLabels(layerLabels, { seed: sampleSeed });
    const [, , H, W] = painted.image.dims;
    const big = painted.imageLabels;
    const label = Buffer.alloc(H * W);
    // Stryker disable next-line EqualityOperator: p = length writes past the Buffer's end, which is dropped
    for (let p = 0; p < big.data.length; p++) label[p] = big.data[p] + 1;
    const name = String(i).padStart(6, '0');
    const entry: DatasetEntry = { id: i, sampleSeed, maskSeed, image: `images/${name}.png`, label: `labels/${name}.png`, mask: `masks/${name}.png` };
    await writeFileAtomic(path.join(opts.dir, entry.image), await toPng(painted.image, 0, { range: cut.generator.range }));
    await writeFileAtomic(path.join(opts.dir, entry.label), await rawToPng(label, W, H, 1));
    await writeFileAtomic(path.join(opts.dir, entry.mask), await rgbToPng(labelsToRgb(big, painter.colors)));
    index.entries.push(entry);
    // Stryker disable next-line ConditionalExpression,ArithmeticOperator: the index is written after the loop too; this only flushes the last pair one write earlier
    if (++pending >= flush || i === to - 1) {
      await writeFileAtomic(indexFile, JSON.stringify(index, null, 1));
      pending = 0;
    }
    opts.onProgress?.(i + 1 - from, to - from);
  }
  await writeFileAtomic(indexFile, JSON.stringify(index, null, 1));
  return index;
}

/** The index of an earlier run in the directory, undefined when there is none; a damaged one is refused, not overwritten. */
async function readIndex(file: string): Promise<DatasetIndex | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GanvasError('BAD_PATH', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let json: DatasetIndex;
  try {
    json = JSON.parse(text) as DatasetIndex;
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `${file} is not valid JSON (${(e as Error).message}); it is not a ganvas dataset index — choose another directory`, { cause: e });
  }
  if (json?.format !== 'ganvas-dataset/1' || !Array.isArray(json.entries) || !Number.isInteger(json.count)) {
    throw new GanvasError('BAD_INPUT', `${file} is not a ganvas dataset index ("format": "ganvas-dataset/1" with entries and count); choose another directory`);
  }
  return json;
}

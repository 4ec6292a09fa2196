/**
 * The shipped demo stitches (models/stitches/<classifier>-<layerX>__<generator>-<layerY>/stitch.json): which exist
 * for a classifier × generator pair, opened together so they share one generator and runtime, and their training
 * records read without opening any model (the end-layer sweep of paper 003 §4.4 only needs the records).
 *
 * Missing stitches are not errors here: demo stitches are trained over time, and a notebook should show what
 * exists and say what does not. Everything else (a malformed file, a model that changed under a stitch) is.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, describeError } from '../errors';
import { FeatureExtractor } from '../features';
import { Generator } from '../generator';
import { ModelBundle, demoModelDir, openModel } from '../manifest';
import { Runtime } from '../runtime/session';
import { STITCH_FORMAT, Stitch, StitchRecord, demoStitchPath } from './stitch';
import { targetLayers } from './targetLayer';

export interface DemoStitchEntry {
  classifier: string;
  layerX: string;
  generator: string;
  layerY: string;
  /** Samplings distance from the paper's rule (0 = the rule's own layer). */
  distance: number;
  file: string;
  exists: boolean;
}

export interface DemoStitchQuery {
  /** Classifier layers (default: every layer alias in the classifier's manifest). */
  layers?: string[];
  /** Samplings distances (default [0]; the sweep uses −2…+2). */
  distances?: number[];
  /** Where the stitch folders are (default the shipped models/stitches). */
  dir?: string;
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function bundle(x: string | ModelBundle): Promise<ModelBundle> {
  return typeof x === 'string' ? openModel(x.includes('/') ? x : demoModelDir(x)) : x;
}

/**
 * Where the demo stitches of a pair are (or would be), one entry per (layer, distance) the generator has a layer
 * for, in layer then distance order. `classifier` and `generator` are demo model names or opened bundles.
 */
export async function demoStitchFiles(classifier: string | ModelBundle, generator: string | ModelBundle, query: DemoStitchQuery = {}): Promise<DemoStitchEntry[]> {
  const c = await bundle(classifier);
  const g = await bundle(generator);
  const layers = query.layers ?? Object.keys(c.manifest.layers);
  if (layers.length === 0) throw new GanvasError('BAD_INPUT', `${c.manifest.name} names no layers in its manifest; pass layers: ["…"]`);
  const out: DemoStitchEntry[] = [];
  for (const layerX of layers) {
    for (const t of await targetLayers(c, layerX, g, query.distances ?? [0])) {
      const file = query.dir
        ? path.join(query.dir, `${c.manifest.name}-${layerX}__${g.manifest.name}-${t.layer}`, 'stitch.json')
        : demoStitchPath(c.manifest.name, layerX, g.manifest.name, t.layer);
      out.push({ classifier: c.manifest.name, layerX, generator: g.manifest.name, layerY: t.layer, distance: t.distance, file, exists: await exists(file) });
    }
  }
  return out;
}

export interface DemoStitches {
  stitches: Stitch[];
  /** The entries of the stitches opened, in the same order. */
  entries: DemoStitchEntry[];
  /** The entries asked for that have no stitch file (yet). */
  missing: DemoStitchEntry[];
  /** One line per missing stitch, for printing. */
  notes: string[];
}

/**
 * Opens the demo stitches of a pair that exist (one generator and runtime shared by all), and lists the missing
 * ones with a note each.
 */
export async function loadDemoStitches(
  classifier: string | ModelBundle,
  generator: string | ModelBundle,
  opts: DemoStitchQuery & { runtime?: Runtime } = {},
): Promise<DemoStitches> {
  const c = await bundle(classifier);
  const gb = await bundle(generator);
  const all = await demoStitchFiles(c, gb, opts);
  const entries = all.filter((e) => e.exists);
  const missing = all.filter((e) => !e.exists);
  const gen = new Generator(gb, opts.runtime);
  const stitches: Stitch[] = [];
  for (const e of entries) stitches.push(await Stitch.load(e.file, { classifier: c, generator: gen, runtime: gen.runtime }));
  const notes = missing.map(
    (m) => `no stitch ${m.classifier}.${m.layerX} → ${m.generator}.${m.layerY} (distance ${m.distance}) yet: ${shortPath(m.file)} does not exist`,
  );
  return { stitches, entries, missing, notes };
}

/** A saved stitch's layers and training record, read without opening its models. */
export async function readStitchRecord(file: string): Promise<{ layerX: string; layerY: string; classifier: string; generator: string; record: StitchRecord }> {
  let j: { format?: unknown; layerX?: unknown; layerY?: unknown; classifier?: { name?: unknown }; generator?: { name?: unknown }; record?: unknown };
  try {
    j = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `cannot read stitch file ${file}: ${describeError(e)}`, { cause: e });
  }
  if (j?.format !== STITCH_FORMAT) throw new GanvasError('BAD_INPUT', `${file} is not a stitch file (format ${JSON.stringify(j?.format)}, expected "${STITCH_FORMAT}")`);
  const record = j.record && typeof j.record === 'object' && !Array.isArray(j.record) ? (j.record as StitchRecord) : {};
  return { layerX: String(j.layerX), layerY: String(j.layerY), classifier: String(j.classifier?.name), generator: String(j.generator?.name), record };
}

/** One validation row of a stitch's training history (record.history, written by the trainer). */
export interface ValidationPoint {
  epoch: number;
  samples: number;
  valCosine: number;
  valL1: number;
  valGram: number;
}

/** The validation curve of a training record; refuses a record without one. */
export function validationHistory(record: StitchRecord, what = 'stitch'): ValidationPoint[] {
  const h = record.history;
  if (!Array.isArray(h) || h.length === 0) throw new GanvasError('BAD_INPUT', `${what} has no training history (record.history); was it trained with Stitch.train?`);
  return h.map((r: unknown, i: number) => {
    const o = r as Record<string, unknown>;
    const num = (k: string) => {
      const v = o?.[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new GanvasError('BAD_INPUT', `${what}: record.history[${i}].${k} is ${JSON.stringify(v)}, expected a finite number`);
      return v;
    };
    return { epoch: num('epoch'), samples: num('samples'), valCosine: num('valCosine'), valL1: num('valL1'), valGram: num('valGram') };
  });
}

/** The kept (best validation cosine) epoch of a training history, as the trainer keeps it: first of the highest. */
export function bestEpoch(history: ValidationPoint[]): ValidationPoint {
  return history.reduce((best, p) => (p.valCosine > best.valCosine ? p : best), history[0]);
}

/**
 * The test network a stitch was validated with (record.training.testNetwork / testLayer, a demo model name),
 * opened as a feature extractor; the paper's Table 1 metrics and Fig. 9 use it.
 */
export async function testNetworkOf(stitch: Stitch, runtime?: Runtime): Promise<FeatureExtractor> {
  const t = stitch.record.training as { testNetwork?: unknown; testLayer?: unknown } | undefined;
  if (!t || typeof t.testNetwork !== 'string') {
    throw new GanvasError('BAD_INPUT', `${stitch.name} does not record its test network (record.training.testNetwork); open one with FeatureExtractor.open`);
  }
  const layer = typeof t.testLayer === 'string' ? t.testLayer : stitch.layerX;
  const dir = t.testNetwork.includes('/') ? t.testNetwork : demoModelDir(t.testNetwork);
  return FeatureExtractor.open(dir, layer, runtime ?? stitch.runtime);
}

/** models/stitches/… for the shipped stitches (the full path elsewhere). */
function shortPath(file: string): string {
  const rel = path.relative(path.dirname(demoModelDir('stitches')), file);
  return rel.startsWith('..') ? file : path.join('models', rel);
}

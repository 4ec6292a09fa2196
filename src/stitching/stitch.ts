/**
 * A stitch (paper 003): a classifier's LayerX, a 1×1 convolution, and a generator's LayerY. Once trained, it
 * inverts the classifier in one forward pass (`invert`): the image's LayerX activations go through the 1×1 conv
 * into the generator, which renders them with a seed's style and noise after LayerY.
 *
 * A stitch is saved as one JSON file (weights as base64 float32, layers, the models' digests, provenance and
 * training figures), written atomically: a kill at any instant leaves the previous file or the new one.
 */
import { checkpoint, operationSignal } from '../interrupt';
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, describeError } from '../errors';
import { FeatureExtractor } from '../features';
import { Cut, Generator, RunOptions, takeRows } from '../generator';
import { writeFileAtomic } from '../io';
import { ModelBundle, demoModelDir, openModel } from '../manifest';
import { inputsToInitializers } from '../onnx/compose';
import { resolveLayer } from '../onnx/layers';
import { OnnxModel } from '../onnx/model';
import { Seed } from '../runtime/noise';
import { Feeds, ModelSession, Runtime } from '../runtime/session';
import { FloatTensor, nchw } from '../runtime/tensor';
import { BIAS, IMAGE, ImageSpec, StitchParts, WEIGHT, injectedModel, inverterModel, reconstructionName, standaloneInverterModel, stitchParts } from './compose';
import { StitchWeights, defaultInit, lstsqInit } from './init';
import { ActivationMetrics, evaluateInversion } from './metrics';
import { TargetLayer, targetLayer } from './targetLayer';
import type { TrainOptions } from './train';

export const STITCH_FORMAT = 'ganvas-stitch/1';

export interface StitchModels {
  classifier: string | ModelBundle;
  /** The classifier layer to invert (LayerX). */
  layerX: string;
  generator: string | ModelBundle | Generator;
  /** The generator layer to stitch into (LayerY); default: the paper's rule (targetLayer). */
  layerY?: string;
  runtime?: Runtime;
}

export interface CreateOptions extends StitchModels {
  /** "default" (PyTorch's Conv2d init), "lstsq" (ridge regression on generated images) or given weights. */
  init?: 'default' | 'lstsq' | StitchWeights;
  seed?: Seed;
  /** Generated images for the lstsq init (default 512). */
  initSamples?: number;
  /** Stops the least-squares fit between batches (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface InvertOptions extends RunOptions {
  /** One generator seed for every image (default 0). */
  seed?: Seed;
  /** One generator seed per image (overrides seed). */
  seeds?: Seed[];
  /** Value range of the images (default: the classifier's preprocess.range). */
  range?: [number, number];
  /** Stops between batches: the promise rejects with the signal's reason, as invert() in src/inversion does. */
  signal?: AbortSignal;
}

/** Provenance and figures kept with a saved stitch. */
export interface StitchRecord {
  [key: string]: unknown;
}

interface ModelRef {
  name: string;
  /** Where it was opened from, relative to the stitch file when saved. */
  dir: string;
  digest: string;
}

interface StitchFile {
  format: string;
  classifier: ModelRef;
  layerX: string;
  generator: ModelRef;
  layerY: string;
  weight: { dims: number[]; base64: string };
  bias: { dims: number[]; base64: string };
  record: StitchRecord;
}

async function bundleOf(x: string | ModelBundle): Promise<ModelBundle> {
  return typeof x === 'string' ? openModel(x) : x;
}

function b64(t: FloatTensor): { dims: number[]; base64: string } {
  return { dims: [...t.dims], base64: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64') };
}

function unb64(v: unknown, what: string, dims: number[]): FloatTensor {
  const o = v as { dims?: unknown; base64?: unknown } | undefined;
  if (!o || !Array.isArray(o.dims) || typeof o.base64 !== 'string') throw new GanvasError('BAD_INPUT', `stitch file: "${what}" is missing or malformed`);
  const buf = Buffer.from(o.base64, 'base64');
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== 4 * n || o.dims.length !== dims.length || o.dims.some((d, i) => d !== dims[i])) {
    throw new GanvasError('BAD_INPUT', `stitch file: "${what}" has shape [${o.dims.join(', ')}], the models need [${dims.join(', ')}]`);
  }
  const data = new Float32Array(n);
  new Uint8Array(data.buffer).set(buf);
  for (let i = 0; i < n; i++) if (!Number.isFinite(data[i])) throw new GanvasError('BAD_INPUT', `stitch file: "${what}" holds a non-finite value`);
  return { data, dims };
}

/** Where a shipped demo stitch lives: models/stitches/<classifier>-<layerX>__<generator>-<layerY>/stitch.json. */
export function demoStitchPath(classifier: string, layerX: string, generator: string, layerY: string): string {
  return path.join(demoModelDir('stitches'), `${classifier}-${layerX}__${generator}-${layerY}`, 'stitch.json');
}

export class Stitch {
  private inverters = new Map<string, Promise<ModelSession>>();
  private lastCarry?: { key: string; carry: Record<string, FloatTensor> };
  record: StitchRecord = {};

  private constructor(
    readonly parts: StitchParts,
    readonly generator: Generator,
    readonly cut: Cut,
    readonly target: TargetLayer | undefined,
    public weights: StitchWeights,
  ) {}

  /** Opens the models, resolves both layers and initializes the 1×1 conv. */
  static async create(opts: CreateOptions): Promise<Stitch> {
    const rt = opts.runtime ?? (opts.generator instanceof Generator ? opts.generator.runtime : new Runtime());
    const classifier = await bundleOf(opts.classifier);
    if (classifier.manifest.role === 'generator') {
      throw new GanvasError('BAD_MANIFEST', `${classifier.manifest.name} is a generator; the network to invert must be a classifier or features model`);
    }
    if (!classifier.manifest.preprocess) throw new GanvasError('BAD_MANIFEST', `${classifier.manifest.name} has no "preprocess" in its manifest`);
    const generator = opts.generator instanceof Generator ? opts.generator : new Generator(await bundleOf(opts.generator), rt);
    const layerX = await resolveLayer(classifier.model, opts.layerX);
    let target: TargetLayer | undefined;
    let layerY = opts.layerY;
    if (layerY === undefined) {
      target = await targetLayer(classifier, opts.layerX, generator.bundle);
      layerY = target.layer;
    }
    const cut = await generator.cut(layerY);
    const parts = await stitchParts(classifier, layerX, generator.bundle, cut);
    const cx = layerX.channels;
    const cy = cut.layer.channels;
    let weights: StitchWeights;
    const init = opts.init ?? 'default';
    const record: StitchRecord = {};
    if (init === 'default') weights = defaultInit(cx, cy, opts.seed ?? 0);
    else if (init === 'lstsq') {
      const fx = await FeatureExtractor.open(classifier, opts.layerX, rt);
      const t0 = Date.now();
      const fit = await lstsqInit(cut, fx, { samples: opts.initSamples, seed: opts.seed, signal: opts.signal });
      weights = { weight: fit.weight, bias: fit.bias };
      record.lstsq = { r2: fit.r2, samples: opts.initSamples ?? 512, seconds: (Date.now() - t0) / 1000 };
      // Stryker disable next-line ConditionalExpression: a string init has no .weight, so the typeof test is implied by the next
    } else if (typeof init === 'object' && init.weight && init.bias) {
      weights = init;
    } else {
      throw new GanvasError('BAD_INPUT', `init must be "default", "lstsq" or { weight, bias }, got ${JSON.stringify(init)}`);
    }
    const s = new Stitch(parts, generator, cut, target, weights);
    s.setWeights(weights);
    s.record = { init: typeof init === 'string' ? init : 'given', ...record };
    return s;
  }

  /** Trains a stitch with the paper's settings as defaults (see trainStitch in ./train). */
  static async train(opts: TrainOptions): Promise<Stitch> {
    // Loaded here: train.ts builds on this class.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { trainStitch } = require('./train') as typeof import('./train');
    return trainStitch(opts);
  }

  get layerX(): string {
    return this.parts.layerX.aliases[0] ?? this.parts.layerX.name;
  }

  get layerY(): string {
    return this.cut.layerName;
  }

  get runtime(): Runtime {
    return this.generator.runtime;
  }

  /** "fmnist-resnet.layer1 → fmnist-stylegan.b16.conv0" */
  get name(): string {
    return `${this.parts.classifier.manifest.name}.${this.layerX} → ${this.parts.generator.manifest.name}.${this.layerY}`;
  }

  setWeights(w: StitchWeights): void {
    const cx = this.parts.layerX.channels;
    const cy = this.cut.layer.channels;
    const wd = w.weight.dims;
    if (wd.length !== 4 || wd[0] !== cy || wd[1] !== cx || wd[2] !== 1 || wd[3] !== 1 || w.weight.data.length !== cy * cx) {
      throw new GanvasError('BAD_INPUT', `stitch weight must be [${cy}, ${cx}, 1, 1] (LayerY channels, LayerX channels), got [${wd.join(', ')}]`);
    }
    if (w.bias.dims.length !== 1 || w.bias.dims[0] !== cy || w.bias.data.length !== cy) {
      throw new GanvasError('BAD_INPUT', `stitch bias must be [${cy}], got [${w.bias.dims.join(', ')}]`);
    }
    for (const t of [w.weight, w.bias]) {
      if (!t.data.every(Number.isFinite)) throw new GanvasError('BAD_INPUT', 'stitch weights hold a non-finite value');
    }
    this.weights = w;
  }

  /** The images' spec; refuses a wrong size, channel count, empty batch or non-finite pixels. */
  imageSpec(images: FloatTensor, range?: [number, number]): ImageSpec {
    const { n, c, h, w } = nchw(images, 'images');
    const pre = this.parts.classifier.manifest.preprocess;
    // Stryker disable next-line all: create refuses a classifier without preprocess, so this line never throws
    if (!pre) throw new GanvasError('BAD_MANIFEST', 'classifier without preprocess');
    if (n < 1) throw new GanvasError('BAD_INPUT', 'no images to invert (batch of 0)');
    if (c !== 1 && c !== 3) throw new GanvasError('BAD_INPUT', `images must have 1 or 3 channels, got ${c} (dims [${images.dims.join(', ')}])`);
    if (h !== pre.size[0] || w !== pre.size[1]) {
      throw new GanvasError(
        'BAD_INPUT',
        `images are ${h}×${w}, but ${this.parts.classifier.manifest.name} takes ${pre.size[0]}×${pre.size[1]}; resize them first (the stitch was trained at that size)`,
      );
    }
    const r = range ?? pre.range;
    if (!Array.isArray(r) || r.length !== 2 || !(r[1] > r[0])) throw new GanvasError('BAD_INPUT', `range must be [low, high] with low < high, got ${JSON.stringify(r)}`);
    for (let i = 0; i < images.data.length; i++) {
      if (!Number.isFinite(images.data[i])) throw new GanvasError('BAD_INPUT', `images hold a non-finite value (${images.data[i]}) at index ${i}`);
    }
    return { channels: c, height: h, width: w, range: [r[0], r[1]] };
  }

  private inverter(spec: ImageSpec): Promise<ModelSession> {
    const key = JSON.stringify(spec);
    let s = this.inverters.get(key);
    // Stryker disable next-line ConditionalExpression: a cache; building the session again gives the same one, only slower
    if (!s) {
      s = this.runtime.session(inverterModel(this.parts, spec));
      // Stryker disable next-line ArrowFunction: a failed session is kept only where building it again would fail the same way
      s.catch(() => this.inverters.delete(key));
      this.inverters.set(key, s);
    }
    return s;
  }

  /** The generator-side feeds (style, noise, skips after LayerY) for the given seeds, named as the inverter reads them. */
  async tailFeeds(seeds: readonly Seed[]): Promise<Feeds> {
    // The head runs once per distinct seed (one seed for a whole batch is common: Fig. 4 uses one z per column),
    // and the last distinct-seed set is kept: a widget re-inverting as the user draws asks for the same seed
    // every stroke. Measured by the stitch widget: about 15% of a stroke was this head run.
    const unique = [...new Set(seeds)];
    const key = JSON.stringify(unique.map((x) => [typeof x, x]));
    // Stryker disable next-line ConditionalExpression: a cache of the head's carry; running the head again gives the same carry
    let carry = this.lastCarry?.key === key ? this.lastCarry.carry : undefined;
    // Stryker disable next-line ConditionalExpression: the same cache
    if (!carry) {
      carry = (await this.cut.sample(unique)).carry;
      this.lastCarry = { key, carry };
    }
    const feeds: Feeds = {};
    const at = new Map(unique.map((x, i) => [x, i]));
    // Stryker disable next-line ConditionalExpression: with all seeds distinct the rows are 0…n−1, the carry itself
    const rows = unique.length === seeds.length ? undefined : seeds.map((x) => at.get(x) as number);
    for (const [k, v] of Object.entries(carry)) feeds[`g/${k}`] = rows ? takeRows(v, rows) : v;
    return feeds;
  }

  /** Reconstructions of `images` in one forward pass each (in the generator's value range). */
  async invert(images: FloatTensor, opts: InvertOptions = {}): Promise<FloatTensor> {
    const spec = this.imageSpec(images, opts.range);
    const signal = operationSignal(opts.signal);
    const n = images.dims[0];
    const seeds = opts.seeds ?? Array.from({ length: n }, () => opts.seed ?? 0);
    if (seeds.length !== n) throw new GanvasError('BAD_INPUT', `${seeds.length} seeds for ${n} images; give one seed per image, or seed`);
    const session = await this.inverter(spec);
    const bs = opts.batchSize ?? 64;
    const per = images.data.length / n;
    const out = reconstructionName(this.parts);
    const chunks: Float32Array[] = [];
    let dims: number[] = [];
    for (let i = 0; i < n; i += bs) {
      // The first chunk runs at once (a widget stroke is one chunk); later ones yield first, so an interrupt is seen.
      // Stryker disable next-line ConditionalExpression,EqualityOperator: both branches refuse an aborted signal; checkpoint only also yields
      if (i > 0) await checkpoint(signal);
      else signal.throwIfAborted();
      const j = Math.min(n, i + bs);
      const feeds = await this.tailFeeds(seeds.slice(i, j));
      feeds[IMAGE] = { data: images.data.subarray(i * per, j * per), dims: [j - i, ...images.dims.slice(1)] };
      feeds[WEIGHT] = this.weights.weight;
      feeds[BIAS] = this.weights.bias;
      const r = (await session.run(feeds, [out]))[out];
      chunks.push(r.data);
      dims = [...r.dims];
      opts.onProgress?.(j, n);
    }
    const data = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.length;
    }
    return { data, dims: [n, ...dims.slice(1)] };
  }

  /** The activations the stitch writes into LayerY for `images` (N × C_y × H_y × W_y), before the generator tail. */
  async injected(images: FloatTensor, opts: Pick<InvertOptions, 'range'> = {}): Promise<FloatTensor> {
    const spec = this.imageSpec(images, opts.range);
    const session = await this.runtime.session(injectedModel(this.parts, spec));
    return (await session.run({ [IMAGE]: images, [WEIGHT]: this.weights.weight, [BIAS]: this.weights.bias }, ['s/y']))['s/y'];
  }

  /** One image reconstructed with each seed (paper Figs. 10–11). */
  async variations(image: FloatTensor, seeds: Seed[], opts: Omit<InvertOptions, 'seed' | 'seeds'> = {}): Promise<FloatTensor> {
    const { n } = nchw(image, 'image');
    if (n !== 1) throw new GanvasError('BAD_INPUT', `variations() takes one image (batch 1), got ${n}`);
    if (seeds.length === 0) throw new GanvasError('BAD_INPUT', 'variations() needs at least one seed');
    const per = image.data.length;
    const batch = new Float32Array(per * seeds.length);
    for (let i = 0; i < seeds.length; i++) batch.set(image.data, i * per);
    return this.invert({ data: batch, dims: [seeds.length, ...image.dims.slice(1)] }, { ...opts, seeds });
  }

  /**
   * Paper 003 Table 1 for this stitch: invert `images` (seeds 0…N−1, one per image, unless given) and compare the
   * test network's activations of originals and reconstructions. `seconds` covers inversion and metrics.
   */
  async evaluate(testNet: FeatureExtractor, images: FloatTensor, opts: InvertOptions = {}): Promise<{ metrics: ActivationMetrics; seconds: number }> {
    const t0 = performance.now();
    // Seed i for image i unless the caller chose seeds (or one seed for all).
    const seeds = opts.seeds ?? (opts.seed === undefined ? Array.from({ length: images.dims[0] }, (_, i) => i) : undefined);
    const rec = await this.invert(images, { ...opts, seeds });
    // Stryker disable next-line OptionalChaining,ArrayDeclaration: create refuses a classifier without preprocess, so the fallback never runs
    const range = opts.range ?? this.parts.classifier.manifest.preprocess?.range ?? [0, 1];
    // Stryker disable next-line ObjectLiteral,LogicalOperator: a batch size splits the test network's runs, not the values
    const metrics = await evaluateInversion(testNet, images, rec, range, this.generator.range, { batchSize: opts.batchSize ?? 500 });
    return { metrics, seconds: (performance.now() - t0) / 1000 };
  }

  /**
   * The whole inverter as one standalone ONNX model (classifier head → 1×1 → resize → generator tail, with the
   * generator head inside): inputs `image` (in `range`, default the classifier's) and those of the generator's own
   * inputs (z, noise) that the inversion reads — a noise input used only before LayerY is pruned away, so feed
   * the ones the model lists (`exportFeeds` does that with ganvas's draws for a seed); output the reconstruction.
   */
  exportModel(range?: [number, number]): OnnxModel {
    const pre = this.parts.classifier.manifest.preprocess;
    // Stryker disable next-line all: create refuses a classifier without preprocess, so this line never throws
    if (!pre) throw new GanvasError('BAD_MANIFEST', 'classifier without preprocess');
    const spec: ImageSpec = { channels: pre.channels, height: pre.size[0], width: pre.size[1], range: range ?? pre.range };
    const m = standaloneInverterModel(this.parts, spec);
    return inputsToInitializers(m, { [WEIGHT]: this.weights.weight, [BIAS]: this.weights.bias });
  }

  /** Feeds for the exported model: `image` plus the generator inputs it lists, drawn for `seeds` as ganvas draws them. */
  exportFeeds(model: OnnxModel, images: FloatTensor, seeds: Seed[]): Feeds {
    const all = this.generator.inputs(seeds);
    const feeds: Feeds = { [IMAGE]: images };
    for (const name of model.inputNames()) if (name !== IMAGE) feeds[name] = all[name];
    return feeds;
  }

  async exportOnnx(file: string, range?: [number, number]): Promise<void> {
    await writeFileAtomic(file, this.exportModel(range).bytes());
  }

  /** Saves the stitch as one JSON file (atomically). Model locations are stored relative to the file. */
  async save(file: string): Promise<void> {
    if (typeof file !== 'string' || file === '') throw new GanvasError('BAD_INPUT', 'save() needs a file path such as "stitch.json"');
    const rel = (dir: string) => path.relative(path.dirname(path.resolve(file)), dir) || '.';
    const body: StitchFile = {
      format: STITCH_FORMAT,
      classifier: { name: this.parts.classifier.manifest.name, dir: rel(this.parts.classifier.dir), digest: this.parts.classifier.model.digest() },
      layerX: this.layerX,
      generator: { name: this.parts.generator.manifest.name, dir: rel(this.parts.generator.dir), digest: this.parts.generator.model.digest() },
      layerY: this.layerY,
      weight: b64(this.weights.weight),
      bias: b64(this.weights.bias),
      record: this.record,
    };
    await writeFileAtomic(file, JSON.stringify(body, null, 1) + '\n');
  }

  /**
   * Loads a saved stitch. The models are opened from where the file says (relative to it), or from `classifier` /
   * `generator` when given; either way their digests must match the ones the stitch was trained with.
   */
  static async load(file: string, opts: { classifier?: string | ModelBundle; generator?: string | ModelBundle | Generator; runtime?: Runtime } = {}): Promise<Stitch> {
    let text: string;
    try {
      if ((await fs.stat(file)).isDirectory()) file = path.join(file, 'stitch.json');
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      throw new GanvasError('BAD_INPUT', `cannot read stitch file ${file}: ${describeError(e)}`, { cause: e });
    }
    let j: StitchFile;
    try {
      j = JSON.parse(text) as StitchFile;
    } catch (e) {
      throw new GanvasError('BAD_INPUT', `${file} is not a stitch file (invalid JSON: ${describeError(e)})`, { cause: e });
    }
    if (j?.format !== STITCH_FORMAT) throw new GanvasError('BAD_INPUT', `${file} is not a stitch file (format ${JSON.stringify(j?.format)}, expected "${STITCH_FORMAT}")`);
    const base = path.dirname(path.resolve(file));
    const open = async (given: string | ModelBundle | undefined, ref: ModelRef): Promise<ModelBundle> => {
      if (given !== undefined) return bundleOf(given);
      const dir = path.resolve(base, ref.dir);
      try {
        return await openModel(dir);
      } catch {
        return openModel(demoModelDir(ref.name));
      }
    };
    const classifier = await open(opts.classifier, j.classifier);
    const genGiven = opts.generator instanceof Generator ? opts.generator.bundle : opts.generator;
    const generatorBundle = await open(genGiven, j.generator);
    for (const [b, ref, role] of [[classifier, j.classifier, 'classifier'], [generatorBundle, j.generator, 'generator']] as const) {
      if (b.model.digest() !== ref.digest) {
        throw new GanvasError(
          'BAD_INPUT',
          `${file} was trained with ${role} ${ref.name} (digest ${ref.digest.slice(0, 12)}), but ${b.manifest.name} at ${b.dir} is a different model ` +
            `(digest ${b.model.digest().slice(0, 12)}); a stitch only works with the exact models it was trained for`,
        );
      }
    }
    const generator = opts.generator instanceof Generator ? opts.generator : new Generator(generatorBundle, opts.runtime);
    const s = await Stitch.create({ classifier, layerX: j.layerX, generator, layerY: j.layerY, runtime: opts.runtime, init: 'default' });
    const cx = s.parts.layerX.channels;
    const cy = s.cut.layer.channels;
    s.setWeights({ weight: unb64(j.weight, 'weight', [cy, cx, 1, 1]), bias: unb64(j.bias, 'bias', [cy]) });
    s.record = j.record ?? {};
    return s;
  }
}

/**
 * A generator opened from its manifest, and a cut through one of its hidden layers.
 *
 * Every sample is named by a seed: its latent (and any other random input) is drawn from that seed alone, so an
 * activation vector's provenance (model, layer, seed, y, x) is enough to regenerate it anywhere.
 */
import { GanvasError } from './errors';
import { LayerTable, LayerTableOptions, layerTable } from './layerBrowser';
import { memoPromise } from './memo';
import { ModelBundle, imageOutput, openModel } from './manifest';
import { Split, split } from './onnx/split';
import { LayerInfo } from './onnx/layers';
import { Seed, randnPerSample, uniform } from './runtime/noise';
import { Feeds, ModelSession, Runtime, toFloatTensor } from './runtime/session';
import { FloatTensor, numel, zeros } from './runtime/tensor';

export interface SampleOptions {
  /** Seeds for the noise inputs (kind "noise"), one per sample; default: the sample seeds. */
  noiseSeeds?: Seed[];
  /** Values for inputs to use as given instead of drawing them (e.g. a fixed style vector), batch-sized. */
  fixed?: Record<string, FloatTensor>;
}

export interface RunOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Stops between batches (rejects with the signal's reason); a kernel interrupt stops the work too. */
  signal?: AbortSignal;
}

export class Generator {
  readonly runtime: Runtime;
  private cuts = new Map<string, Promise<Cut>>();

  constructor(
    readonly bundle: ModelBundle,
    runtime?: Runtime,
  ) {
    if (bundle.manifest.role !== 'generator') {
      throw new GanvasError(
        'BAD_MANIFEST',
        `${bundle.manifest.name} is a ${bundle.manifest.role}, not a generator (its manifest's "role")`,
      );
    }
    this.runtime = runtime ?? new Runtime();
  }

  static async open(location: string | ModelBundle, runtime?: Runtime): Promise<Generator> {
    return new Generator(typeof location === 'string' ? await openModel(location) : location, runtime);
  }

  get name(): string {
    return this.bundle.manifest.name;
  }

  /** The value range of generated pixels, from the manifest. */
  get range(): [number, number] {
    return imageOutput(this.bundle.manifest).range;
  }

  get outputName(): string {
    return imageOutput(this.bundle.manifest).name;
  }

  /**
   * The model's inputs for a batch of sample seeds: latents from the sample seed, noise from the noise seed.
   * Input i of sample s is drawn from the seed string "<input name>:<s>", independent of batch composition.
   */
  inputs(seeds: readonly Seed[], opts: SampleOptions = {}): Feeds {
    if (seeds.length === 0) throw new GanvasError('BAD_INPUT', 'at least one seed is needed');
    const noiseSeeds = opts.noiseSeeds ?? seeds;
    if (noiseSeeds.length !== seeds.length) {
      throw new GanvasError('BAD_INPUT', `noiseSeeds has ${noiseSeeds.length} seeds for ${seeds.length} samples`);
    }
    const feeds: Feeds = {};
    for (const inp of this.bundle.manifest.inputs) {
      const fixed = opts.fixed?.[inp.name];
      if (fixed) {
        if (fixed.dims[0] !== seeds.length) {
          throw new GanvasError('BAD_INPUT', `fixed input "${inp.name}" has batch ${fixed.dims[0]}, expected ${seeds.length}`);
        }
        feeds[inp.name] = fixed;
        continue;
      }
      const per = inp.shape.slice(1).map((d) => {
        if (typeof d !== 'number') {
          throw new GanvasError('BAD_MANIFEST', `input "${inp.name}" of ${this.name} has a symbolic axis "${d}" after the batch axis; the manifest must give its size`);
        }
        return d;
      });
      const which = inp.kind === 'noise' ? noiseSeeds : seeds;
      const names = which.map((s) => `${inp.name}:${s}`);
      switch (inp.distribution ?? 'normal') {
        case 'normal':
          feeds[inp.name] = randnPerSample(names, per);
          break;
        case 'zeros':
          feeds[inp.name] = zeros([seeds.length, ...per]);
          break;
        case 'uniform': {
          const n = numel(per);
          const data = new Float32Array(seeds.length * n);
          names.forEach((s, i) => data.set(uniform(s, n), i * n));
          feeds[inp.name] = { data, dims: [seeds.length, ...per] };
          break;
        }
      }
    }
    return feeds;
  }

  async session(): Promise<ModelSession> {
    return this.runtime.session(this.bundle.model);
  }

  /** Images for the given seeds, in the manifest's value range. */
  async generate(seeds: readonly Seed[], opts: SampleOptions & RunOptions = {}): Promise<FloatTensor> {
    const s = await this.session();
    const out = await s.runBatched(this.inputs(seeds, opts), { ...opts, outputs: [this.outputName] });
    return out[this.outputName];
  }

  /**
   * The layer browser: the manifest's named layers first, then the other spatial activations, each with its
   * shape and what it is; `{ all: true }` adds style vectors, modulation intermediates, noise maps and the output.
   * A notebook shows the result as a table.
   */
  layers(opts: LayerTableOptions = {}): Promise<LayerTable> {
    return layerTable(this.bundle.model, this.name, opts);
  }

  /** The generator cut at a hidden layer (split once per layer and cached). */
  cut(layer: string): Promise<Cut> {
    return memoPromise(this.cuts, layer, async () => new Cut(this, await split(this.bundle.model, layer)));
  }
}

/** What the head produced for a batch: the activations, and what the tail needs besides them. */
export interface HeadResult {
  activations: FloatTensor;
  /** Crossing tensors and original inputs read after the cut, keyed by tail input name. */
  carry: Record<string, FloatTensor>;
}

/** A generator cut at one hidden layer: read activations out with the head, write them back in with the tail. */
export class Cut {
  constructor(
    readonly generator: Generator,
    readonly split: Split,
  ) {}

  get layer(): LayerInfo {
    return this.split.layer;
  }

  /** The name users gave (an alias when there is one). */
  get layerName(): string {
    return this.split.layer.aliases[0] ?? this.split.layer.name;
  }

  /** Runs the head on the samples named by `seeds`. */
  async sample(seeds: readonly Seed[], opts: SampleOptions & RunOptions = {}): Promise<HeadResult> {
    return this.head(this.generator.inputs(seeds, opts), opts);
  }

  /** Runs the head on explicit model inputs. */
  async head(feeds: Feeds, opts: RunOptions = {}): Promise<HeadResult> {
    const rt = this.generator.runtime;
    const headSession = await rt.session(this.split.head);
    const headFeeds: Feeds = {};
    for (const n of this.split.headInputs) headFeeds[n] = feeds[n];
    const out = await headSession.runBatched(headFeeds, opts);
    const carry: Record<string, FloatTensor> = {};
    for (const t of this.split.tailInputs) {
      if (t.role === 'crossing') carry[t.name] = out[t.name];
      if (t.role === 'input') {
        const f = feeds[t.name];
        carry[t.name] = f && 'type' in f ? toFloatTensor(f) : (f as FloatTensor);
      }
    }
    return { activations: out[this.split.layer.name], carry };
  }

  /** Runs the tail: (possibly edited) activations plus the carried tensors → images. */
  async render(activations: FloatTensor, carry: Record<string, FloatTensor>, opts: RunOptions = {}): Promise<FloatTensor> {
    const expected = this.split.layer.dims;
    if (activations.dims.length !== 4 || activations.dims.slice(1).some((d, i) => d !== expected[i + 1])) {
      throw new GanvasError(
        'BAD_INPUT',
        `activations for ${this.layerName} must have shape [N, ${expected.slice(1).join(', ')}], got [${activations.dims.join(', ')}]`,
      );
    }
    const tailSession = await this.generator.runtime.session(this.split.tail);
    const feeds: Feeds = { [this.split.layer.name]: activations };
    for (const t of this.split.tailInputs) {
      if (t.role === 'layer') continue;
      const c = carry[t.name];
      if (!c) throw new GanvasError('BAD_INPUT', `render() needs "${t.name}" (${t.role}) in carry; pass the carry returned by sample()`);
      feeds[t.name] = c;
    }
    const out = await tailSession.runBatched(feeds, { ...opts, outputs: [this.generator.outputName] });
    return out[this.generator.outputName];
  }
}

/** Picks samples `index` (with repeats) out of every tensor of a batch: background i for render j. */
export function takeSamples<T extends Record<string, FloatTensor>>(batch: T, index: readonly number[]): T {
  const out: Record<string, FloatTensor> = {};
  for (const [k, t] of Object.entries(batch)) out[k] = takeRows(t, index);
  return out as T;
}

export function takeRows(t: FloatTensor, index: readonly number[]): FloatTensor {
  const per = numel(t.dims.slice(1));
  const data = new Float32Array(index.length * per);
  index.forEach((src, i) => {
    if (src < 0 || src >= t.dims[0]) throw new GanvasError('BAD_INPUT', `sample index ${src} is out of range 0..${t.dims[0] - 1}`);
    data.set(t.data.subarray(src * per, (src + 1) * per), i * per);
  });
  return { data, dims: [index.length, ...t.dims.slice(1)] };
}

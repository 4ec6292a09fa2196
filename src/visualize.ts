/**
 * Visualizing activation vectors (paper 000 §3.1): write a vector v into a hidden layer — at every position
 * (full) or in a grid of g×g blocks — and let the rest of the generator render it, in one forward pass.
 */
import { GanvasError } from './errors';
import { checkpoint, operationSignal } from './interrupt';
import { Cut, HeadResult, RunOptions, SampleOptions, takeSamples } from './generator';
import { GridSize, Mask, gridMask } from './gridMask';
import { Seed, uniform } from './runtime/noise';
import { FloatTensor, concatBatch, pixelVector, sliceBatch } from './runtime/tensor';
import { finiteVector, fitsMemory, integerIn, pixelPosition, plainObject, positiveInt } from './validate';

/** Where a vector came from: enough to regenerate it (same model, layer, seed → same vector). */
export interface Provenance {
  model: string;
  layer: string;
  seed: Seed;
  y: number;
  x: number;
}

export interface ActivationVector {
  vector: Float32Array;
  provenance?: Provenance;
}

/** What fills the positions the mask leaves free. */
export type Background =
  | 'original' // the background sample's own activations (default)
  | { position: [number, number] } // another vector of the same image, at (y, x)
  | { vector: Float32Array }; // a chosen vector

export interface VisualizeOptions extends RunOptions {
  /** 'full' (default) or a grid size g. */
  grid?: GridSize;
  background?: Background;
  /**
   * The sample whose activations (and noise, style) form the background. Default: each vector's own sample
   * (its provenance seed), as in the authors' evaluation; vectors without provenance need this.
   */
  backgroundSeed?: Seed;
  /** Noise seed for the tail's noise inputs; default: the background sample's seed. */
  noiseSeed?: Seed;
}

export interface SampleVectorsOptions extends RunOptions {
  count: number;
  /** Scan seed: samples get seeds seed·count … seed·count + count − 1; positions come from the seed too. */
  seed?: number;
}

/** Activation vectors at random positions of freshly generated samples, each with its provenance. */
export async function sampleVectors(cut: Cut, opts: SampleVectorsOptions): Promise<{ vectors: ActivationVector[]; head: HeadResult; seeds: number[] }> {
  plainObject(opts, 'sampleVectors options');
  const count = positiveInt(opts.count, 'sampleVectors count');
  // The head runs on all samples at once: refuse before allocating what cannot fit (1e9 aborted V8 before).
  fitsMemory(count, cut.layer.channels * cut.layer.height * cut.layer.width, 'sampleVectors count');
  const seed = integerIn(opts.seed ?? 0, 'sampleVectors seed', -(2 ** 31), 2 ** 31);
  if (opts.batchSize !== undefined) positiveInt(opts.batchSize, 'batchSize');
  const seeds = Array.from({ length: count }, (_, i) => seed * count + i);
  const head = await cut.sample(seeds, opts);
  const at = randomPositions(seed, count, cut.layer.height, cut.layer.width);
  const vectors = seeds.map((s, i): ActivationVector => {
    const [y, x] = at[i];
    return {
      vector: pixelVector(head.activations, i, y, x),
      provenance: { model: cut.generator.name, layer: cut.layerName, seed: s, y, x },
    };
  });
  return { vectors, head, seeds };
}

/**
 * The distinct seeds in first-seen order and, for each input seed, its row among them: vectors that share a
 * background sample share one head run.
 */
export function indexSeeds(seeds: readonly Seed[]): { unique: Seed[]; index: number[] } {
  const row = new Map<Seed, number>();
  const index = seeds.map((s) => {
    let k = row.get(s);
    if (k === undefined) row.set(s, (k = row.size));
    return k;
  });
  return { unique: [...row.keys()], index };
}

/** The random (y, x) of each of a scan's `count` samples, derived from the scan seed alone. */
export function randomPositions(seed: number, count: number, h: number, w: number): [number, number][] {
  const u = uniform(`positions:${seed}:${count}`, 2 * count);
  // Stryker disable ArithmeticOperator: u < 1, so ⌊u·h⌋ ≤ h − 1 already and the clamp never acts (h − 1 → h + 1 survives);
  // this also hides the killed u·h → u/h (randomPositions test in visualize.test)
  return Array.from({ length: count }, (_, i) => [
    Math.min(h - 1, Math.floor(u[2 * i] * h)),
    Math.min(w - 1, Math.floor(u[2 * i + 1] * w)),
  ]);
  // Stryker restore ArithmeticOperator
}

/** Regenerates vectors from their provenance (the inverse of sampleVectors' bookkeeping). */
export async function vectorsFromProvenance(cut: Cut, provenance: readonly Provenance[], opts: RunOptions = {}): Promise<ActivationVector[]> {
  if (!Array.isArray(provenance)) throw new GanvasError('BAD_INPUT', 'vectorsFromProvenance needs a list of provenances {model, layer, seed, y, x}');
  for (const [i, p] of provenance.entries()) {
    plainObject(p, `provenance ${i}`);
    pixelPosition(p.y, p.x, cut.layer.height, cut.layer.width, `provenance ${i}`);
    if (typeof p.seed !== 'string' && !Number.isFinite(p.seed)) throw new GanvasError('BAD_INPUT', `provenance ${i} has seed ${String(p.seed)}; a seed is a finite number or a string`);
  }
  for (const p of provenance) {
    if (p.model !== cut.generator.name || (p.layer !== cut.layerName && p.layer !== cut.layer.name)) {
      throw new GanvasError(
        'BAD_INPUT',
        `a vector from ${p.model} at ${p.layer} cannot be regenerated with ${cut.generator.name} at ${cut.layerName}`,
      );
    }
  }
  const { unique, index } = indexSeeds(provenance.map((p) => p.seed));
  const head = await cut.sample(unique, opts);
  return provenance.map((p, i) => ({ vector: pixelVector(head.activations, index[i], p.y, p.x), provenance: p }));
}

/**
 * Writes v into sample n of `acts` (in place) where the mask is 1; where it is 0, writes `fill` if given
 * (otherwise the original activations stay).
 */
export function writeVector(acts: FloatTensor, n: number, v: Float32Array, mask: Mask, fill?: Float32Array): void {
  const [, c, h, w] = acts.dims;
  if (v.length !== c) throw new GanvasError('BAD_INPUT', `the vector has ${v.length} channels, the layer has ${c}`);
  if (fill && fill.length !== c) throw new GanvasError('BAD_INPUT', `the background vector has ${fill.length} channels, the layer has ${c}`);
  if (mask.height !== h || mask.width !== w) {
    throw new GanvasError('BAD_INPUT', `the mask is ${mask.height}×${mask.width}, the layer is ${h}×${w}`);
  }
  const base = n * c * h * w;
  for (let i = 0; i < h * w; i++) {
    const src = mask.data[i] ? v : fill;
    if (!src) continue;
    for (let k = 0; k < c; k++) acts.data[base + k * h * w + i] = src[k];
  }
}

/**
 * Builds the edited activations for each vector on its background sample and returns them with the carry the
 * tail needs. Pure bookkeeping, shared by visualize() and the tileability scan. `mask` is one mask for all
 * vectors, or one per vector (the scan renders full and grid(g) of the same vectors in one batch).
 */
export function composeBatch(
  head: HeadResult,
  backgroundIndex: readonly number[],
  vectors: readonly Float32Array[],
  mask: Mask | readonly Mask[],
  background: Background = 'original',
): HeadResult {
  if (Array.isArray(mask) && mask.length !== vectors.length) {
    throw new GanvasError('BAD_INPUT', `composeBatch got ${mask.length} masks for ${vectors.length} vectors`);
  }
  const picked = takeSamples({ activations: head.activations, ...head.carry }, backgroundIndex);
  const { activations, ...carry } = picked;
  vectors.forEach((v, i) => {
    let fill: Float32Array | undefined;
    if (background !== 'original') {
      fill = 'vector' in background ? background.vector : pixelVector(activations, i, background.position[0], background.position[1]);
    }
    writeVector(activations, i, v, Array.isArray(mask) ? (mask as readonly Mask[])[i] : (mask as Mask), fill);
  });
  return { activations, carry };
}

/** The head run on each vector's background seed (distinct seeds once), after checking the options. */
async function sampleBackgrounds(cut: Cut, vectors: readonly ActivationVector[], opts: VisualizeOptions): Promise<{ head: HeadResult; index: number[] }> {
  if (!Array.isArray(vectors) || vectors.length === 0) throw new GanvasError('BAD_INPUT', 'visualize() needs a non-empty list of vectors ({vector, provenance?})');
  if (opts.batchSize !== undefined) positiveInt(opts.batchSize, 'batchSize');
  vectors.forEach((v, i) => {
    plainObject(v, `vector ${i} ({vector: Float32Array, provenance?})`);
    finiteVector(v.vector, vectors.length === 1 ? 'the vector' : `vector ${i}`, cut.layer.channels);
    // Stryker disable next-line OptionalChaining: provenance is defined inside this if
    if (v.provenance !== undefined) pixelPosition(v.provenance?.y, v.provenance?.x, cut.layer.height, cut.layer.width, `vector ${i}'s provenance`);
  });
  const bg: unknown = opts.background;
  if (bg !== undefined && bg !== 'original' && !(typeof bg === 'object' && bg !== null && ('vector' in bg || 'position' in bg))) {
    throw new GanvasError('BAD_INPUT', `background must be 'original', {position: [y, x]} or {vector: Float32Array}, got ${JSON.stringify(bg)}`);
  }
  if (opts.background && opts.background !== 'original' && 'vector' in opts.background) finiteVector(opts.background.vector, 'the background vector', cut.layer.channels);
  const seeds: Seed[] = vectors.map((v, i) => {
    const s = opts.backgroundSeed ?? v.provenance?.seed;
    if (s === undefined) throw new GanvasError('BAD_INPUT', `vector ${i} has no provenance: pass backgroundSeed`);
    return s;
  });
  if (opts.background && opts.background !== 'original' && 'position' in opts.background) {
    const pos = opts.background.position;
    if (!Array.isArray(pos) || pos.length !== 2) throw new GanvasError('BAD_INPUT', 'background position must be [y, x]');
    pixelPosition(pos[0], pos[1], cut.layer.height, cut.layer.width, 'background position');
  }
  const { unique, index } = indexSeeds(seeds);
  const sampleOpts: SampleOptions = opts.noiseSeed !== undefined ? { noiseSeeds: unique.map(() => opts.noiseSeed as Seed) } : {};
  return { head: await cut.sample(unique, { ...sampleOpts, batchSize: opts.batchSize, signal: opts.signal }), index };
}

/** The vectors written with grid `g` into their backgrounds, rendered: one image per vector. */
async function renderOn(
  cut: Cut,
  { head, index }: { head: HeadResult; index: number[] },
  vectors: readonly ActivationVector[],
  g: GridSize,
  opts: VisualizeOptions,
): Promise<FloatTensor> {
  const mask = gridMask(cut.layer.height, cut.layer.width, g);
  const batch = composeBatch(head, index, vectors.map((v) => v.vector), mask, opts.background);
  return cut.render(batch.activations, batch.carry, opts);
}

/** Renders each vector into its background sample with the chosen mask: one image per vector. */
export async function visualize(cut: Cut, vectors: readonly ActivationVector[], opts: VisualizeOptions = {}): Promise<FloatTensor> {
  // Over many vectors both runs are batched; each stops between batches on `signal` or a kernel interrupt.
  const signal = operationSignal(opts.signal);
  const backgrounds = await sampleBackgrounds(cut, vectors, { ...opts, signal });
  if (vectors.length > (opts.batchSize ?? 32)) await checkpoint(signal);
  return renderOn(cut, backgrounds, vectors, opts.grid ?? 'full', { ...opts, signal });
}

/** Fig. 7: for each vector, the row grid(1) … grid(5) and full. Returns one tensor per vector (a row each). */
export async function gridSweep(cut: Cut, vectors: readonly ActivationVector[], sizes: GridSize[] = [1, 2, 3, 4, 5, 'full'], opts: VisualizeOptions = {}): Promise<FloatTensor[]> {
  // The backgrounds are the same for every grid size: one head run, then one render per size.
  const signal = operationSignal(opts.signal);
  const backgrounds = await sampleBackgrounds(cut, vectors, { ...opts, signal });
  const perSize: FloatTensor[] = [];
  for (const g of sizes) {
    await checkpoint(signal);
    perSize.push(await renderOn(cut, backgrounds, vectors, g, { ...opts, signal }));
  }
  return vectors.map((_, i) => concatBatch(perSize.map((t) => sliceBatch(t, i, i + 1))));
}

/**
 * Which grid size is best? Paper 000, appendix §7, Algorithm 1 ("Gradient Descent inversion from LayerY") and
 * its Fig. 9.
 *
 * Generate images, run each through the feature extractor F_Y to LayerY and take y, the activation vector at a
 * random pixel. Then invert F_Y through the generator G_X from its hidden layer X, optimizing only two vectors
 * v1, v2 of LayerX: `a` holds v1 on the blue pixels of the grid mask of size g (gridMask's 1s, where visualize
 * writes a vector) and v2 on the white ones (its 0s); g = 0 is a single vector everywhere. The loss is
 * |mean_{h,w} F_Y(G_X(a)) − y| (L1); everything else the tail reads (style, noise, skip branches after the cut:
 * the `carry` of cut.sample) stays the image's own. At the end, cos(mean_{h,w} F_Y(G_X(a)), y) says how well a
 * grid of size g can reproduce y. The paper plots mean ± std over 3 runs of 512 images; its answer is g = 2.
 *
 * The differentiable chain is one ONNX graph — [generator tail 'g/', in-graph preprocessing 'p/', truncated
 * feature extractor 'f/'] by compose() — and its gradient model (src/autodiff) gives dL/da for a whole batch of
 * images in one onnxruntime call. dL/dv1 and dL/dv2 are then sums of dL/da over the blue and white pixels (the
 * chain rule of the layout a = v1·M + v2·(1 − M), exact), and Adam steps the 2·C values of every image; Adam is
 * elementwise, so one Adam over the batch is each image's own Adam.
 *
 * The other way — laying out `a` from v1, v2 inside the graph (Unsqueeze, Mul by the mask, Add) and asking the
 * autodiff for dL/dv1, dL/dv2 — does the same arithmetic in onnxruntime (`layout: 'graph'`, same numbers, tested).
 * Measured by `npm run bench:grid-inversion` (batch 64, one thread): 0.98–1.04× the JS layout's time on the demo
 * pairs, so the simpler 'js' is the default; 83–88% of a step is onnxruntime's forward + backward either way.
 */
import { checkpoint, operationSignal } from './interrupt';
import { promises as fs } from 'fs';
import { GanvasError, describeError } from './errors';
import { FeatureExtractor } from './features';
import { Cut, HeadResult } from './generator';
import { Mask, gridMask, resizeMask } from './gridMask';
import { writeFileAtomic } from './io';
import { mapFor, memoPromise } from './memo';
import { Emitter } from './autodiff/emit';
import { gradientModel, lossAndGradients } from './autodiff/gradient';
import { loss } from './autodiff/loss';
import { Adam } from './autodiff/optim';
import { compose } from './onnx/compose';
import { OnnxModel, defaultOpset, onnx, withGraph } from './onnx/model';
import { preprocessModel } from './onnx/pieces';
import { makeValueInfo } from './onnx/types';
import { gaussian, uniform } from './runtime/noise';
import { Feeds, ModelSession } from './runtime/session';
import { FloatTensor, numel } from './runtime/tensor';
import { cosineSimilarity } from './tileability';

/** How v1 and v2 start. */
export type InversionInit =
  /** Both the image's own mean activation vector at LayerX (over h, w): a vector the generator itself makes. */
  | 'mean'
  /** Both zero. */
  | 'zeros'
  /** Independent Gaussian draws with the image's per-channel mean and std at LayerX (seeded; v2 = v1 for g = 0). */
  | 'random';

/**
 * Learning-rate schedule. Measured on fmnist-stylegan (y made from one repeated vector, whose answer is known):
 * with a constant lr of 0.05, Adam's fixed-size steps on the L1 loss can throw an image that started at cosine
 * 0.989 to 0.79 and keep it there; decaying lr to 0 (cosine) lets every image settle.
 */
export type InversionSchedule = 'cosine' | 'constant';

/** Where a is laid out from v1, v2: in JavaScript (gradient w.r.t. a, summed per region) or inside the graph. */
export type InversionLayout = 'js' | 'graph';

export interface InvertOptions {
  /** Adam steps (default 30). */
  steps?: number;
  /** Adam learning rate (default 0.05). */
  lr?: number;
  /** Initialization of v1, v2 (default 'mean'). */
  init?: InversionInit;
  /** Learning-rate schedule: 'cosine' (default) decays lr to 0 over the steps; 'constant' keeps it. */
  schedule?: InversionSchedule;
  /** Seed of the 'random' initialization (default 0). */
  initSeed?: number;
  /** Images per onnxruntime call (default 64). */
  batchSize?: number;
  layout?: InversionLayout;
  signal?: AbortSignal;
  /** Called after every step of every batch, counting image·steps. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Defaults (the paper leaves steps, learning rate and initialization open), from measurements (README "What we
 * found: grid size"; 512 images × 3 runs per setting, the same algorithm in PyTorch on an accelerator):
 * - steps 30: the mean cosine still rises from 30 to 100 steps (fmnist 0.78 → 0.81, ihc 0.88 → 0.95 from 'mean'),
 *   but 30 is what the full experiment (512 images × 6 g × 3 runs, two pairs) affords on two cores; g = 0 is the
 *   worst at 10, 30 and 100 steps alike, while the best g moves (fmnist: 3 throughout; ihc from 'mean': 3 at 30
 *   steps, 2 at 100).
 * - lr 0.05 with a cosine decay: on a y whose answer is known (made from one repeated vector), a constant lr of
 *   0.05 can throw an image that started at cosine 0.989 to 0.79 for good; the decay lets the last steps settle.
 *   (Constant lr over 30 steps on 16 fmnist images: 0.02 → 0.79 / 0.81 at g = 0 / 2, 0.1 → 0.81 / 0.82, 0.3 →
 *   0.77 / 0.80; with the decay, on 32 other images: 0.02 → 0.762 / 0.791, 0.05 → 0.776 / 0.809, 0.1 → 0.779 /
 *   0.800.)
 * - init 'mean' (the image's own mean activation vector): robust on both pairs. 'zeros' fails on ihc-gan (cosine
 *   0.65 at 30 steps: its pixel norm after every layer has no direction to work with at 0), and 'random' is better
 *   on ihc-gan (0.93 vs 0.89 at g = 2, 30 steps) but worse on fmnist-stylegan (0.745–0.776 vs 0.757–0.781 across g).
 */
export const INVERSION_DEFAULTS = { steps: 30, lr: 0.05, init: 'mean' as InversionInit, schedule: 'cosine' as InversionSchedule, batchSize: 64 };

/** The differentiable chain a → image → preprocessing → features, and what it needs besides a. */
export interface InversionChain {
  /** The composed forward model: 'g/<layer>' and the carried tensors → 'f/<feature layer>'. */
  forward: OnnxModel;
  /** Its gradient model: loss Σ_images mean_c |mean_{h,w} F − y| and dL/d('g/<layer>'). */
  gradient: OnnxModel;
  /** The layer input of the composed graph. */
  layerInput: string;
  /** The feature output of the composed graph. */
  featureOutput: string;
  /** Carry name (tail input) → composed input name. */
  carryInputs: Record<string, string>;
  /** Channels, height, width of LayerX and of the feature map. */
  layer: { c: number; h: number; w: number };
  features: { c: number; h: number; w: number };
}

/** Name of the target feed (y, [N, C_Y]) of the gradient models. */
export const TARGET_FEED = 'y';

const chains = new WeakMap<Cut, Map<FeatureExtractor, Promise<InversionChain>>>();

function staticDims(dims: readonly (number | string)[], what: string): number[] {
  return dims.slice(1).map((d) => {
    if (typeof d !== 'number') throw new GanvasError('BAD_INPUT', `${what} has a symbolic axis "${d}" after the batch axis`);
    return d;
  });
}

/** The L1 loss of Algorithm 1, per image summed over the batch (so each image's gradient is its own). */
function l1Loss(featureOutput: string, channels: number) {
  return loss.scale(loss.sum(loss.abs(loss.sub(loss.spatialMean(featureOutput), loss.feed(TARGET_FEED, ['N', channels])))), 1 / channels);
}

/** Composes generator tail, preprocessing and feature extractor, and builds the gradient model (cached). */
export function inversionChain(cut: Cut, fx: FeatureExtractor): Promise<InversionChain> {
  return memoPromise(mapFor(chains, cut), fx, async () => {
    const gen = cut.generator;
    const tail = cut.split.tail;
    const p = fx.bundle.manifest.preprocess;
    if (!p) throw new GanvasError('BAD_MANIFEST', `${fx.name} has no "preprocess" in its manifest`);
    // The image's shape: one probe render of the tail (the manifest does not record it).
    const head = await cut.sample([0]);
    const img = await cut.render(head.activations, head.carry);
    const [, ic, ih, iw] = img.dims;
    const layerInput = `g/${cut.layer.name}`;
    const featureOutput = `f/${fx.layer.name}`;
    const forward = compose(
      [
        { model: tail, prefix: 'g/' },
        { model: preprocessModel(p, { channels: ic, height: ih, width: iw, range: gen.range }, defaultOpset(tail)), prefix: 'p/', connect: { image: `g/${gen.outputName}` } },
        { model: fx.model, prefix: 'f/', connect: { [fx.inputName]: 'p/input' } },
      ],
      { outputs: [featureOutput], source: `${gen.name} from ${cut.layerName} → ${fx.name} ${fx.layer.aliases[0] ?? fx.layer.name}` },
    );
    const [c, h, w] = staticDims(cut.layer.dims, `layer ${cut.layerName}`);
    const [fc, fh, fw] = staticDims(fx.layer.dims, `feature layer ${fx.layer.name}`);
    const gradient = await gradientModel(forward, { wrt: [layerInput], loss: l1Loss(featureOutput, fc) });
    const carryInputs: Record<string, string> = {};
    for (const t of cut.split.tailInputs) if (t.role !== 'layer') carryInputs[t.name] = `g/${t.name}`;
    return { forward, gradient, layerInput, featureOutput, carryInputs, layer: { c, h, w }, features: { c: fc, h: fh, w: fw } };
  });
}

const graphLayouts = new WeakMap<InversionChain, Map<string, Promise<{ model: OnnxModel; gradient: OnnxModel }>>>();

/**
 * The chain with a's layout in-graph: inputs `l/v1`, `l/v2` [N, C] and `l/mask` [1, 1, h, w] (1 = blue);
 * a = v1·mask + v2·(1 − mask). Gradients w.r.t. v1 and v2 come out of onnxruntime directly.
 */
function graphLayoutChain(chain: InversionChain): Promise<{ model: OnnxModel; gradient: OnnxModel }> {
  return memoPromise(mapFor(graphLayouts, chain), 'graph', async () => {
    const { c, h, w } = chain.layer;
    const opset = defaultOpset(chain.forward);
    const e = new Emitter('layout/', opset);
    const v1 = e.unsqueeze('v1', [2, 3]);
    const v2 = e.unsqueeze('v2', [2, 3]);
    const inv = e.sub(e.scalar(1), 'mask');
    e.opInto('Add', [e.mul(v1, 'mask'), e.mul(v2, inv)], 'a');
    const proto = onnx.ModelProto.create({ irVersion: 8, opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: opset })], graph: onnx.GraphProto.create({ name: 'layout' }) });
    const layout = withGraph(new OnnxModel(proto, 'layout'), {
      name: 'layout',
      node: e.nodes,
      initializer: e.initializers,
      input: [makeValueInfo('v1', 'float32', ['N', c]), makeValueInfo('v2', 'float32', ['N', c]), makeValueInfo('mask', 'float32', [1, 1, h, w])],
      output: [makeValueInfo('a', 'float32', ['N', c, h, w])],
    }, 'grid layout');
    layout.proto.opsetImport = [onnx.OperatorSetIdProto.create({ domain: '', version: opset })];
    const model = compose(
      [
        { model: layout, prefix: 'l/' },
        { model: chain.forward, prefix: '', connect: { [chain.layerInput]: 'l/a' } },
      ],
      { outputs: [chain.featureOutput] },
    );
    const gradient = await gradientModel(model, { wrt: ['l/v1', 'l/v2'], loss: l1Loss(chain.featureOutput, chain.features.c) });
    return { model, gradient };
  });
}

/**
 * Checks a grid size against LayerX and the feature map: g must be 0 … min(h, w) − 1, and for g ≥ 1 the mask,
 * carried to the feature map (nearest, as the tileability score does), must still hold both blue and white
 * pixels — otherwise the feature map samples only one of the two vectors' regions and cannot tell g apart.
 */
export function inversionMask(chain: InversionChain, g: number, names = { layer: 'LayerX', features: 'LayerY' }): Mask | null {
  const { h, w } = chain.layer;
  const top = Math.min(h, w) - 1;
  if (!Number.isInteger(g) || g < 0 || g > top) {
    throw new GanvasError(
      'BAD_INPUT',
      `grid size ${String(g)} does not fit the ${h}×${w} layer ${names.layer}: use an integer from 0 (one vector everywhere) to ${top}`,
    );
  }
  if (g === 0) return null;
  const mask = gridMask(h, w, g);
  const { h: fh, w: fw } = chain.features;
  const carried = resizeMask(mask, fh, fw);
  let blue = 0;
  for (const m of carried.data) blue += m;
  if (blue === 0 || blue === fh * fw) {
    throw new GanvasError(
      'BAD_INPUT',
      `the ${fh}×${fw} feature map ${names.features} is too coarse for grid size ${g} on the ${h}×${w} layer ${names.layer}: ` +
        `carried to it (nearest), the grid mask covers ${blue === 0 ? 'none' : 'all'} of its positions, so the features sample ` +
        `only one of the two vectors' regions. Use a finer feature layer (e.g. layer1) or other grid sizes.`,
    );
  }
  return mask;
}

/** a[i] = v1 of image i on the mask's blue pixels, v2 on the white ones (v1 everywhere when mask is null). */
export function layoutVectors(v: Float32Array, mask: Mask | null, n: number, c: number, h: number, w: number, out?: Float32Array): Float32Array {
  const hw = h * w;
  const a = out ?? new Float32Array(n * c * hw);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const b = v[i * 2 * c + k];
      const wh = v[i * 2 * c + c + k];
      const base = (i * c + k) * hw;
      if (!mask) a.fill(b, base, base + hw);
      else for (let p = 0; p < hw; p++) a[base + p] = mask.data[p] ? b : wh;
    }
  }
  return a;
}

/**
 * dL/dv1, dL/dv2 from dL/da: sums over the blue and the white pixels. With no mask (g = 0) a is one vector, and
 * both v1 and v2 receive its gradient, the sum over every pixel (so they stay equal).
 */
export function reduceLayoutGradient(gradA: Float32Array, mask: Mask | null, n: number, c: number, h: number, w: number, out?: Float32Array): Float32Array {
  const hw = h * w;
  const g = out ?? new Float32Array(n * 2 * c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const base = (i * c + k) * hw;
      let blue = 0;
      let white = 0;
      if (!mask) for (let p = 0; p < hw; p++) blue += gradA[base + p];
      else for (let p = 0; p < hw; p++) if (mask.data[p]) blue += gradA[base + p];
      else white += gradA[base + p];
      g[i * 2 * c + k] = blue;
      g[i * 2 * c + c + k] = mask ? white : blue;
    }
  }
  return g;
}

/** Spatial mean of every image's features: [N, C, H, W] → N·C values. */
function spatialMeans(f: FloatTensor): Float32Array {
  const [n, c, h, w] = f.dims;
  const hw = h * w;
  const out = new Float32Array(n * c);
  for (let i = 0; i < n * c; i++) {
    let s = 0;
    for (let p = 0; p < hw; p++) s += f.data[i * hw + p];
    out[i] = s / hw;
  }
  return out;
}

/** The initial v1, v2 of every image of a batch (N × 2C). */
export function initialVectors(acts: FloatTensor, init: InversionInit, g: number, initSeeds: readonly string[]): Float32Array {
  const [n, c, h, w] = acts.dims;
  const hw = h * w;
  const v = new Float32Array(n * 2 * c);
  if (init === 'zeros') return v;
  for (let i = 0; i < n; i++) {
    const noise = init === 'random' ? gaussian(initSeeds[i], 2 * c) : undefined;
    for (let k = 0; k < c; k++) {
      const base = (i * c + k) * hw;
      let s = 0;
      let s2 = 0;
      for (let p = 0; p < hw; p++) {
        s += acts.data[base + p];
        s2 += acts.data[base + p] ** 2;
      }
      const mean = s / hw;
      if (!noise) {
        v[i * 2 * c + k] = v[i * 2 * c + c + k] = mean;
        continue;
      }
      const std = Math.sqrt(Math.max(0, s2 / hw - mean * mean));
      v[i * 2 * c + k] = mean + std * noise[k];
      v[i * 2 * c + c + k] = g === 0 ? v[i * 2 * c + k] : mean + std * noise[c + k];
    }
  }
  return v;
}

function checkInvertOptions(o: InvertOptions): Required<Pick<InvertOptions, 'steps' | 'lr' | 'init' | 'batchSize' | 'layout' | 'schedule'>> {
  const schedule = o.schedule ?? INVERSION_DEFAULTS.schedule;
  if (schedule !== 'cosine' && schedule !== 'constant') throw new GanvasError('BAD_INPUT', `schedule must be 'cosine' or 'constant', got ${JSON.stringify(schedule)}`);
  const steps = o.steps ?? INVERSION_DEFAULTS.steps;
  const lr = o.lr ?? INVERSION_DEFAULTS.lr;
  const init = o.init ?? INVERSION_DEFAULTS.init;
  const batchSize = o.batchSize ?? INVERSION_DEFAULTS.batchSize;
  const layout = o.layout ?? 'js';
  if (!Number.isInteger(steps) || steps < 0) throw new GanvasError('BAD_INPUT', `steps must be a non-negative integer, got ${steps}`);
  if (!(Number.isFinite(lr) && lr > 0)) throw new GanvasError('BAD_INPUT', `lr must be a positive finite number, got ${lr}`);
  if (!['mean', 'zeros', 'random'].includes(init)) throw new GanvasError('BAD_INPUT', `init must be 'mean', 'zeros' or 'random', got ${JSON.stringify(init)}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new GanvasError('BAD_INPUT', `batchSize must be a positive integer, got ${batchSize}`);
  if (layout !== 'js' && layout !== 'graph') throw new GanvasError('BAD_INPUT', `layout must be 'js' or 'graph', got ${JSON.stringify(layout)}`);
  return { steps, lr, init, batchSize, layout, schedule };
}

export interface InversionOutcome {
  /** v1 then v2 of every image: N × 2C. */
  vectors: Float32Array;
  /** cos(mean_{h,w} F_Y(G_X(a)), y) per image at the end. */
  cosines: number[];
  /** The final L1 loss per image (mean over channels of |mean_{h,w} F − y|). */
  l1: number[];
}

/** Rows [start, end) of a tensor (a view, no copy). */
function rows(t: FloatTensor, start: number, end: number): FloatTensor {
  const per = numel(t.dims.slice(1));
  return { data: t.data.subarray(start * per, end * per), dims: [end - start, ...t.dims.slice(1)] };
}

function carryFeeds(chain: InversionChain, carry: Record<string, FloatTensor>, start: number, end: number): Feeds {
  const feeds: Feeds = {};
  for (const [name, input] of Object.entries(chain.carryInputs)) {
    const t = carry[name];
    if (!t) throw new GanvasError('BAD_INPUT', `the inversion needs "${name}" in carry; pass the carry returned by cut.sample()`);
    feeds[input] = rows(t, start, end);
  }
  return feeds;
}

/** Features of the chain for given activations (one row per image), batched. */
export async function chainFeatures(cut: Cut, chain: InversionChain, activations: FloatTensor, carry: Record<string, FloatTensor>, batchSize = 64): Promise<FloatTensor> {
  const session = await cut.generator.runtime.session(chain.forward);
  const n = activations.dims[0];
  const parts: Float32Array[] = [];
  let dims: number[] = [];
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const out = await session.run({ ...carryFeeds(chain, carry, s, e), [chain.layerInput]: rows(activations, s, e) }, [chain.featureOutput]);
    parts.push(out[chain.featureOutput].data);
    dims = [...out[chain.featureOutput].dims];
  }
  const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, dims: [n, ...dims.slice(1)] };
}

/**
 * One evaluation of Algorithm 1's loss and its gradient w.r.t. v1, v2 for a batch (one onnxruntime call, JS
 * layout): `vectors` is N × 2C (v1 then v2 per image). The loss is the sum over images of mean_c |mean_{h,w} F − y|.
 */
export async function inversionGradient(
  cut: Cut,
  fx: FeatureExtractor,
  head: HeadResult,
  y: FloatTensor,
  g: number,
  vectors: Float32Array,
): Promise<{ loss: number; grad: Float32Array }> {
  const chain = await inversionChain(cut, fx);
  const mask = inversionMask(chain, g, { layer: cut.layerName, features: `of ${fx.name}` });
  const { c, h, w } = chain.layer;
  const n = head.activations.dims[0];
  if (vectors.length !== n * 2 * c) throw new GanvasError('BAD_INPUT', `vectors must hold ${n} × 2 × ${c} values (v1, v2 per image), got ${vectors.length}`);
  const session = await cut.generator.runtime.session(chain.gradient);
  const a = layoutVectors(vectors, mask, n, c, h, w);
  const r = await lossAndGradients(session, { ...carryFeeds(chain, head.carry, 0, n), [TARGET_FEED]: y, [chain.layerInput]: { data: a, dims: [n, c, h, w] } });
  return { loss: r.loss, grad: reduceLayoutGradient(r.grads[chain.layerInput].data, mask, n, c, h, w) };
}

/**
 * Algorithm 1 for a batch of targets: for image i (head row i: its activations start v1, v2 under 'mean', its
 * carry stays fixed) invert y[i] with grid size g. Returns the optimized vectors and the final cosine and L1.
 */
export async function invertTargets(
  cut: Cut,
  fx: FeatureExtractor,
  head: HeadResult,
  y: FloatTensor,
  g: number,
  opts: InvertOptions = {},
): Promise<InversionOutcome> {
  const o = checkInvertOptions(opts);
  const signal = operationSignal(opts.signal);
  const chain = await inversionChain(cut, fx);
  const mask = inversionMask(chain, g, { layer: cut.layerName, features: `of ${fx.name} at ${fx.layer.aliases[0] ?? fx.layer.name}` });
  const n = head.activations.dims[0];
  if (n < 1) throw new GanvasError('BAD_INPUT', 'the inversion needs at least one image (got 0)');
  const { c, h, w } = chain.layer;
  const fc = chain.features.c;
  if (y.dims.length !== 2 || y.dims[0] !== n || y.dims[1] !== fc) {
    throw new GanvasError('BAD_INPUT', `targets y must have shape [${n}, ${fc}] (one ${fc}-channel vector of ${fx.name} per image), got [${y.dims.join(', ')}]`);
  }
  const rt = cut.generator.runtime;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the two layouts give the same vectors (to 1e-5, tested); the choice is speed
  const useGraph = o.layout === 'graph';
  const graph = useGraph ? await graphLayoutChain(chain) : undefined;
  const gradSession: ModelSession = await rt.session(graph ? graph.gradient : chain.gradient);
  const initSeeds = Array.from({ length: n }, (_, i) => `grid-inversion-init:${opts.initSeed ?? 0}:${i}`);
  const vectors = initialVectors(head.activations, o.init, g, initSeeds);
  const maskFeed: FloatTensor = { data: mask ? Float32Array.from(mask.data) : new Float32Array(h * w).fill(1), dims: [1, 1, h, w] };
  const total = n * o.steps;
  let done = 0;
  for (let s = 0; s < n; s += o.batchSize) {
    const e = Math.min(n, s + o.batchSize);
    const b = e - s;
    const v = vectors.subarray(s * 2 * c, e * 2 * c);
    const adam = new Adam({ lr: o.lr });
    const feeds: Feeds = { ...carryFeeds(chain, head.carry, s, e), [TARGET_FEED]: rows(y, s, e) };
    const a = new Float32Array(b * c * h * w);
    const grad = new Float32Array(b * 2 * c);
    const v1 = new Float32Array(b * c);
    const v2 = new Float32Array(b * c);
    const before = new Float32Array(b * 2 * c);
    for (let step = 0; step < o.steps; step++) {
      await checkpoint(signal);
      if (graph) {
        // Stryker disable next-line EqualityOperator: i = b copies an empty subarray to v1's end
        for (let i = 0; i < b; i++) {
          v1.set(v.subarray(i * 2 * c, i * 2 * c + c), i * c);
          v2.set(v.subarray(i * 2 * c + c, (i + 1) * 2 * c), i * c);
        }
        const r = await lossAndGradients(gradSession, { ...feeds, 'l/v1': { data: v1, dims: [b, c] }, 'l/v2': { data: v2, dims: [b, c] }, 'l/mask': maskFeed });
        const g1 = r.grads['l/v1'].data;
        const g2 = r.grads['l/v2'].data;
        // Stryker disable next-line EqualityOperator: i = b computes NaN that the writes past grad's end drop
        for (let i = 0; i < b; i++) {
          for (let k = 0; k < c; k++) {
            // g = 0: one vector; both halves take the total, as in the JS layout.
            const t1 = g1[i * c + k];
            const t2 = g2[i * c + k];
            // Stryker disable next-line ArithmeticOperator: with g = 0 the mask feed is all ones, so v2 is laid nowhere and t2 = 0
            grad[i * 2 * c + k] = mask ? t1 : t1 + t2;
            // Stryker disable next-line ArithmeticOperator: as above, t2 = 0 when there is no mask
            grad[i * 2 * c + c + k] = mask ? t2 : t1 + t2;
          }
        }
      } else {
        layoutVectors(v, mask, b, c, h, w, a);
        const r = await lossAndGradients(gradSession, { ...feeds, [chain.layerInput]: { data: a, dims: [b, c, h, w] } });
        reduceLayoutGradient(r.grads[chain.layerInput].data, mask, b, c, h, w, grad);
      }
      if (o.schedule === 'constant') adam.step(v, grad);
      else {
        // Adam's own step at its base lr, scaled by the schedule: θ ← θ + s_t·Δ with s_t = ½(1 + cos(π t / T)).
        before.set(v);
        adam.step(v, grad);
        const st = 0.5 * (1 + Math.cos((Math.PI * step) / o.steps));
        // Stryker disable next-line EqualityOperator: i = v.length writes NaN past v's end, which a typed array drops
        for (let i = 0; i < v.length; i++) v[i] = before[i] + st * (v[i] - before[i]);
      }
      done += b;
      opts.onProgress?.(done, total);
    }
  }
  await checkpoint(signal);
  const a = { data: layoutVectors(vectors, mask, n, c, h, w), dims: [n, c, h, w] };
  const feats = spatialMeans(await chainFeatures(cut, chain, a, head.carry, o.batchSize));
  const cosines: number[] = [];
  const l1: number[] = [];
  for (let i = 0; i < n; i++) {
    const m = feats.subarray(i * fc, (i + 1) * fc);
    const t = y.data.subarray(i * fc, (i + 1) * fc);
    cosines.push(cosineSimilarity(m, t));
    let d = 0;
    for (let k = 0; k < fc; k++) d += Math.abs(m[k] - t[k]);
    l1.push(d / fc);
  }
  return { vectors, cosines, l1 };
}

// ---------------------------------------------------------------------------------------------------------------
// The experiment: runs × grid sizes, resumable.

/** The image a target came from and the feature-map pixel y was read at. */
export interface InversionTarget {
  seed: number;
  y: number;
  x: number;
}

/** What the results depend on: a results file is reused only for the same settings. */
export interface GridInversionSettings {
  generator: string;
  layer: string;
  extractor: string;
  featureLayer: string;
  count: number;
  seed: number;
  steps: number;
  lr: number;
  init: InversionInit;
  schedule: InversionSchedule;
  loss: 'l1';
}

export interface GridInversionCell {
  run: number;
  grid: number;
  /** Final cosine per image, in target order. */
  cosines: number[];
  /** Final L1 per image. */
  l1: number[];
  mean: number;
  /** Std over the run's images. */
  std: number;
  /** Wall seconds the cell took. */
  seconds: number;
  /** v1 then v2 per image (only with keepVectors). */
  vectors?: number[][];
}

export interface GridInversionResult {
  format: 'ganvas-grid-inversion/1';
  settings: GridInversionSettings;
  /** Run index → its targets. */
  targets: Record<string, InversionTarget[]>;
  cells: GridInversionCell[];
}

export interface GridInversionOptions extends Omit<InvertOptions, 'initSeed' | 'onProgress'> {
  /** Images per run (default 512, as in the paper). */
  count?: number;
  /** Runs, each on different images (default 3). */
  runs?: number;
  /** Grid sizes (default 0 … 5; 0 = one vector everywhere). */
  sizes?: number[];
  /** Seed: run r uses sample seeds (seed + r)·count … (seed + r)·count + count − 1 (default 0). */
  seed?: number;
  /** Results file (JSON): finished (run, g) cells are kept there and skipped when rerun with the same settings. */
  file?: string;
  /** Keep the optimized v1, v2 of every image in the results (to render them with renderInversions). */
  keepVectors?: boolean;
  /** Progress over the pending work, in image·steps. */
  onProgress?: (done: number, total: number) => void;
}

/** Run r's sample seeds and feature-map positions. */
export function inversionTargets(settings: Pick<GridInversionSettings, 'count' | 'seed'>, run: number, fh: number, fw: number): InversionTarget[] {
  const { count, seed } = settings;
  const u = uniform(`grid-inversion:${seed + run}:${count}`, 2 * count);
  return Array.from({ length: count }, (_, i) => ({
    seed: (seed + run) * count + i,
    y: Math.min(fh - 1, Math.floor(u[2 * i] * fh)),
    x: Math.min(fw - 1, Math.floor(u[2 * i + 1] * fw)),
  }));
}

function pixelsAt(f: FloatTensor, targets: readonly InversionTarget[]): FloatTensor {
  const [n, c, h, w] = f.dims;
  const out = new Float32Array(n * c);
  targets.forEach((t, i) => {
    for (let k = 0; k < c; k++) out[i * c + k] = f.data[((i * c + k) * h + t.y) * w + t.x];
  });
  return { data: out, dims: [n, c] };
}

function meanStd(xs: readonly number[], sample = false): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const d = sample ? xs.length - 1 : xs.length;
  const std = d > 0 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / d) : 0;
  return { mean, std };
}

export async function loadGridInversion(file: string): Promise<GridInversionResult> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `cannot read grid-inversion results ${file}: ${describeError(e)}`, { cause: e });
  }
  const r = json as GridInversionResult;
  if (r?.format !== 'ganvas-grid-inversion/1' || !Array.isArray(r.cells) || typeof r.settings !== 'object') {
    throw new GanvasError('BAD_INPUT', `${file} is not a ganvas grid-inversion results file (expected "format": "ganvas-grid-inversion/1")`);
  }
  return r;
}

async function existing(file: string | undefined, settings: GridInversionSettings): Promise<GridInversionResult | undefined> {
  if (!file) return undefined;
  const there = await fs.stat(file).then(() => true, () => false);
  if (!there) return undefined;
  const r = await loadGridInversion(file);
  const diff = (Object.keys(settings) as (keyof GridInversionSettings)[])
    .filter((k) => JSON.stringify(r.settings[k]) !== JSON.stringify(settings[k]))
    .map((k) => `${k}: file ${JSON.stringify(r.settings[k])}, now ${JSON.stringify(settings[k])}`);
  if (diff.length > 0) {
    throw new GanvasError(
      'BAD_INPUT',
      `${file} holds grid-inversion results for other settings (${diff.join('; ')}); ` +
        `rerun with the file's settings to resume it, or give another file`,
    );
  }
  return r;
}

/**
 * The experiment of paper 000's appendix §7 for one (generator layer, feature layer) pair: `runs` runs of
 * `count` images, each inverted with every grid size in `sizes`. Finished (run, g) cells are written to `file`
 * (atomically) as they complete; a rerun with the same settings skips them, other settings are refused.
 */
export async function gridInversion(cut: Cut, fx: FeatureExtractor, opts: GridInversionOptions = {}): Promise<GridInversionResult> {
  const o = checkInvertOptions(opts);
  const signal = operationSignal(opts.signal);
  const count = opts.count ?? 512;
  const runs = opts.runs ?? 3;
  const sizes = opts.sizes ?? [0, 1, 2, 3, 4, 5];
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(count) || count < 1) throw new GanvasError('BAD_INPUT', `count (images per run) must be a positive integer, got ${count}`);
  if (!Number.isInteger(runs) || runs < 1) throw new GanvasError('BAD_INPUT', `runs must be a positive integer, got ${runs}`);
  if (!Number.isInteger(seed) || seed < 0) throw new GanvasError('BAD_INPUT', `seed must be a non-negative integer, got ${seed}`);
  if (!Array.isArray(sizes) || sizes.length === 0) throw new GanvasError('BAD_INPUT', 'sizes must list at least one grid size, e.g. [0, 1, 2, 3, 4, 5]');
  const chain = await inversionChain(cut, fx);
  const names = { layer: cut.layerName, features: `of ${fx.name} at ${fx.layer.aliases[0] ?? fx.layer.name}` };
  for (const g of sizes) inversionMask(chain, g, names); // every size checked before any work
  const settings: GridInversionSettings = {
    generator: cut.generator.name,
    layer: cut.layerName,
    extractor: fx.name,
    featureLayer: fx.layer.aliases[0] ?? fx.layer.name,
    count,
    seed,
    steps: o.steps,
    lr: o.lr,
    init: o.init,
    schedule: o.schedule,
    loss: 'l1',
  };
  const result: GridInversionResult = (await existing(opts.file, settings)) ?? { format: 'ganvas-grid-inversion/1', settings, targets: {}, cells: [] };
  const has = (run: number, g: number) => result.cells.some((c) => c.run === run && c.grid === g);
  const pending = (run: number) => sizes.filter((g) => !has(run, g));
  const total = Array.from({ length: runs }, (_, r) => pending(r).length).reduce((a, b) => a + b, 0) * count * o.steps;
  let done = 0;
  const { h: fh, w: fw } = chain.features;
  for (let run = 0; run < runs; run++) {
    const todo = pending(run);
    // Stryker disable next-line ConditionalExpression: a run with nothing left only samples its images again (the same targets) before its empty loop
    if (todo.length === 0) continue;
    await checkpoint(signal);
    const targets = inversionTargets(settings, run, fh, fw);
    // Stryker disable next-line ObjectLiteral: a batch size splits the head's runs, not the values
    const head = await cut.sample(targets.map((t) => t.seed), { batchSize: o.batchSize });
    const y = pixelsAt(await chainFeatures(cut, chain, head.activations, head.carry, o.batchSize), targets);
    result.targets[String(run)] = targets;
    for (const g of todo) {
      const t0 = Date.now();
      const base = done;
      const out = await invertTargets(cut, fx, head, y, g, {
        ...o,
        initSeed: seed + run,
        signal,
        onProgress: (d) => opts.onProgress?.(base + d, total),
      });
      done = base + count * o.steps;
      const { mean, std } = meanStd(out.cosines);
      const cell: GridInversionCell = { run, grid: g, cosines: out.cosines, l1: out.l1, mean, std, seconds: (Date.now() - t0) / 1000 };
      if (opts.keepVectors) {
        const c2 = 2 * chain.layer.c;
        cell.vectors = Array.from({ length: count }, (_, i) => Array.from(out.vectors.subarray(i * c2, (i + 1) * c2)));
      }
      result.cells.push(cell);
      result.cells.sort((a, b) => a.run - b.run || a.grid - b.grid);
      if (opts.file) await writeFileAtomic(opts.file, JSON.stringify(result));
    }
  }
  return result;
}

export interface GridCurvePoint {
  grid: number;
  /** Mean over runs of the run's mean cosine (Fig. 9's line). */
  mean: number;
  /** Std over runs of the run means (Fig. 9's band; sample std, n − 1). */
  std: number;
  /** Std over all images of all runs. */
  imageStd: number;
  /** Each run's mean cosine. */
  runs: number[];
  images: number;
}

/** Fig. 9's curve from results: per grid size, mean ± std over runs. */
export function gridInversionCurve(result: GridInversionResult): GridCurvePoint[] {
  const sizes = [...new Set(result.cells.map((c) => c.grid))].sort((a, b) => a - b);
  return sizes.map((g) => {
    const cells = result.cells.filter((c) => c.grid === g).sort((a, b) => a.run - b.run);
    const runs = cells.map((c) => c.mean);
    const all = cells.flatMap((c) => c.cosines);
    return { grid: g, ...meanStd(runs, true), imageStd: meanStd(all).std, runs, images: all.length };
  });
}

/**
 * Renders stored inversions: for cells kept with keepVectors, the images of `indices` (target order) of run `run`
 * at grid size g, each on its own sample (carry). Returns the originals and the inversions, one row per index.
 */
export async function renderInversions(cut: Cut, result: GridInversionResult, run: number, g: number, indices: readonly number[]): Promise<{ original: FloatTensor; inverted: FloatTensor }> {
  const cell = result.cells.find((c) => c.run === run && c.grid === g);
  if (!cell) throw new GanvasError('BAD_INPUT', `the results hold no cell for run ${run}, grid size ${g}`);
  if (!cell.vectors) throw new GanvasError('BAD_INPUT', `run ${run}, grid size ${g} was computed without keepVectors: true; rerun with it to render inversions`);
  const targets = result.targets[String(run)];
  if (indices.length === 0) throw new GanvasError('BAD_INPUT', 'renderInversions needs at least one index');
  for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= targets.length) throw new GanvasError('BAD_INPUT', `index ${i} is outside 0 … ${targets.length - 1}`);
  const head = await cut.sample(indices.map((i) => targets[i].seed));
  const [, c, h, w] = head.activations.dims;
  const v = new Float32Array(indices.length * 2 * c);
  indices.forEach((i, j) => v.set(cell.vectors?.[i] ?? [], j * 2 * c));
  const mask = g === 0 ? null : gridMask(h, w, g);
  const a: FloatTensor = { data: layoutVectors(v, mask, indices.length, c, h, w), dims: [indices.length, c, h, w] };
  const original = await cut.render(head.activations, head.carry);
  const inverted = await cut.render(a, head.carry);
  return { original, inverted };
}

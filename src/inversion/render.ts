/**
 * Gradient-descent inversion (paper 003 §3.3, Algorithm 1): from a classifier's LayerX activations of an image,
 * optimize an image whose activations match them. Built from Lucent-style parts — a parameterization (PLAIN's
 * pixels or FFT-DEC's decorrelated spectrum), a list of transforms (one-pixel jitter), an objective (L1 at LayerX)
 * — that all become one ONNX graph: θ → image → transforms → the classifier's preprocessing → the classifier up to
 * LayerX → loss, differentiated by src/autodiff. One onnxruntime call per step computes the loss and dL/dθ for a
 * whole batch; JavaScript only draws the transforms' randomness and steps Adam.
 *
 * Speed (`npm run bench:inversion -- --sweep`, bench/results/inversion-sweep.txt, on the shared 2-core machine;
 * wall and CPU time per image-step):
 * - batch size: flat from 8 to 128 within the noise (fmnist-resnet layer4 PLAIN: 0.54, 0.52, 0.56 ms CPU at 8, 32,
 *   128), so the default is 32;
 * - threads: onnxruntime's second intra-op thread made every step slower on this machine, in wall time as in CPU
 *   time (layer4 PLAIN at batch 32: 1.75 against 0.75 ms wall; ihc-features layer3: 5.35 against 1.97 ms): its
 *   threads wait on these small convolutions, and the other core is rarely free. The bench runs one thread.
 * - two batches in flight do not help: onnxruntime-node 1.23 runs `session.run` synchronously on the JavaScript
 *   thread (its backend wraps the call in setImmediate), so batches interleave on one core. Using the second core
 *   would take a second process or worker thread with its own session — not done here.
 * The transforms run in the graph, not in JavaScript: one call per step, no hand-over of the image and its
 * gradient.
 */
import { checkpoint, operationSignal } from '../interrupt';
import { GanvasError } from '../errors';
import { FeatureExtractor } from '../features';
import type { ModelBundle } from '../manifest';
import { mapFor, memoPromise } from '../memo';
import { defaultOpset, onnx, OnnxModel } from '../onnx/model';
import { compose } from '../onnx/compose';
import { preprocessModel } from '../onnx/pieces';
import { makeValueInfo } from '../onnx/types';
import { Emitter } from '../autodiff/emit';
import { gradientModel, lossAndGradients } from '../autodiff/gradient';
import { Adam, AdamOptions } from '../autodiff/optim';
import { Feeds, Runtime } from '../runtime/session';
import { FloatTensor, concatBatch, mapRange, nchw, numel } from '../runtime/tensor';
import type { Seed } from '../runtime/noise';
import seedrandom from 'seedrandom';
import { ImageParameterization, fftImage, pixelImage } from './parameterization';
import { Transform, TransformFeed, feedDims, jitter } from './transforms';
import { Objective, activationL1 } from './objective';

/** A parameterization and its transforms: one of the paper's methods, or your own. */
export interface InversionMethod {
  parameterization: ImageParameterization;
  transforms: Transform[];
}

/** The paper's baselines (§3.3). */
export const inversionMethods = {
  /** PLAIN: sigmoid of free pixels, no transforms. */
  plain: (): InversionMethod => ({ parameterization: pixelImage(), transforms: [] }),
  /** FFT-DEC: colour-decorrelated Fourier space with one-pixel jitter. */
  fftDec: (): InversionMethod => ({ parameterization: fftImage(), transforms: [jitter()] }),
  /** The paper's ablation (§4.2): FFT-DEC without the jitter. */
  fftDecNoJitter: (): InversionMethod => ({ parameterization: fftImage(), transforms: [] }),
};

export interface InversionOptions {
  /** The layer to invert from, when the classifier is given as a model (default "layer2"). */
  layer?: string;
  /** The Runtime to open a classifier given as a model in (a FeatureExtractor brings its own). */
  runtime?: Runtime;
  /** θ → image (default FFT-DEC's fftImage()). */
  parameterization?: ImageParameterization;
  /** Applied to the image before the classifier at every step (default [jitter()], FFT-DEC's). */
  transforms?: Transform[];
  /** Default: L1 between LayerX activations. */
  objective?: Objective;
  /** Optimization steps per image (default 512, the paper's n). */
  steps?: number;
  /** Adam's learning rate (default 0.05, the paper's). */
  lr?: number;
  /** Adam's other settings (beta1, beta2, eps). */
  adam?: Omit<AdamOptions, 'lr'>;
  /** Images optimized together in one onnxruntime call (default 32); each image keeps its own parameters. */
  batchSize?: number;
  /** Seeds the initial θ and the transforms' randomness; image i's stream depends only on (seed, i). */
  seed?: Seed;
  /**
   * Index of the first original in a larger set (default 0): image i's stream is then (seed, indexOffset + i), so
   * inverting images a…b−1 of a set alone gives what inverting the whole set gives them when a is a multiple of
   * batchSize (the command line's workers and shards split an inversion this way).
   */
  indexOffset?: number;
  /** Value range of the originals; the reconstructions are returned in the same range (default [0, 1]). */
  range?: [number, number];
  /** Called after every step of every batch with image-steps done and in total (g.progress() shows an ETA). */
  onProgress?: (done: number, total: number) => void;
  /** Stops the run between steps: the returned promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface Inversion {
  /** The reconstructions, N×C×H×W in `range`. */
  images: FloatTensor;
  /** The objective of each final image, without transforms. */
  loss: Float64Array;
  /** The optimizing image's loss summed over each batch at every step (for convergence plots), [batch][step]. */
  history: Float64Array[];
  /** Wall time of the whole call. */
  seconds: number;
}

/** The inversion graph of one classifier layer: θ, transform feeds and target in; loss and dL/dθ out. */
export interface InversionGraph {
  /** Outputs `loss` and dL/dθ (lossAndGradients reads them). */
  gradient: OnnxModel;
  /** θ → the image in [0, 1], without transforms (the reconstruction). */
  image: OnnxModel;
  /** Name of θ's input in `gradient`: [N, ...parameterization.thetaDims(C, H, W)]. */
  theta: string;
  /** Name of the LayerX activations of the originals in `gradient`. */
  target: string;
  /** The transforms' run-time inputs of `gradient`. */
  feeds: TransformFeed[];
}

const graphs = new WeakMap<OnnxModel, Map<string, Promise<InversionGraph>>>();

/**
 * The front of the inversion graph: θ (and the transforms' feeds) → `image` [N, C, H, W] in [0, 1]. Without
 * transforms it is what the optimizer's θ looks like (the reconstruction).
 */
export function imageModel(
  param: ImageParameterization,
  c: number,
  h: number,
  w: number,
  opts: { transforms?: Transform[]; opset?: number } = {},
): { model: OnnxModel; theta: string; feeds: TransformFeed[] } {
  const opset = opts.opset ?? 13;
  const e = new Emitter('', opset);
  const theta = e.fresh('theta');
  let x = param.emit(e, theta, c, h, w);
  const feeds: TransformFeed[] = [];
  for (const t of opts.transforms ?? []) {
    const r = t.emit(e, x, c, h, w);
    x = r.output;
    feeds.push(...r.feeds);
  }
  e.opInto('Identity', [x], 'image');
  const graph = onnx.GraphProto.create({
    name: 'inversion image',
    node: e.nodes,
    initializer: e.initializers,
    input: [
      makeValueInfo(theta, 'float32', ['N', ...param.thetaDims(c, h, w)]),
      ...feeds.map((f) => makeValueInfo(f.name, 'float32', feedDims(f))),
    ],
    output: [makeValueInfo('image', 'float32', ['N', c, h, w])],
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: opset })],
    producerName: 'ganvas',
    graph,
  });
  const names = [param.name, ...(opts.transforms ?? []).map((t) => t.name)].join(' → ');
  return { model: new OnnxModel(proto, `${names} image ${c}×${h}×${w}`), theta, feeds };
}

/**
 * θ → image → transforms (piece "inv/"), the classifier's preprocessing as its manifest gives it (preprocessModel,
 * piece "pre/"), the classifier up to LayerX (piece "cls/"), composed into one graph; then its gradient model.
 */
export function inversionGraph(fx: FeatureExtractor, method: InversionMethod, objective: Objective = activationL1()): Promise<InversionGraph> {
  const { parameterization, transforms } = method;
  return memoPromise(
    mapFor(graphs, fx.model),
    JSON.stringify([parameterization.name, transforms.map((t) => t.name), objective.name]),
    () => build(fx, parameterization, transforms, objective),
  );
}

async function build(fx: FeatureExtractor, param: ImageParameterization, transforms: Transform[], objective: Objective): Promise<InversionGraph> {
  const p = fx.bundle.manifest.preprocess;
  if (!p) throw new GanvasError('BAD_MANIFEST', `${fx.name} has no "preprocess" in its manifest`);
  const [h, w] = p.size;
  const c = p.channels;
  const opset = defaultOpset(fx.model);
  const front = imageModel(param, c, h, w, { transforms, opset });
  const pre = preprocessModel(p, { channels: c, height: h, width: w, range: [0, 1] }, opset);
  const layer = `cls/${fx.layer.name}`;
  const composite = compose(
    [
      { model: front.model, prefix: 'inv/' },
      { model: pre, prefix: 'pre/', connect: { image: 'inv/image' } },
      { model: fx.model, prefix: 'cls/', connect: { [fx.inputName]: 'pre/input' } },
    ],
    { outputs: [layer], source: `${param.name} inversion of ${fx.model.source}` },
  );
  const theta = `inv/${front.theta}`;
  const target = 'inversion_target';
  const rank = fx.layer.dims.length;
  const gradient = await gradientModel(composite, { wrt: [theta], loss: objective.loss(layer, target, rank) });
  return {
    gradient,
    image: imageModel(param, c, h, w, { opset }).model,
    theta,
    target,
    feeds: front.feeds.map((f) => ({ ...f, name: `inv/${f.name}` })),
  };
}

function checkPositiveInteger(v: number, what: string, example: string): void {
  if (!(Number.isInteger(v) && v >= 1)) throw new GanvasError('BAD_INPUT', `${what} must be a positive integer (e.g. ${example}), got ${v}`);
}

/**
 * Inverts `originals` from LayerX of a classifier by gradient descent (paper 003 Algorithm 1). `classifier` is a
 * FeatureExtractor (already cut at LayerX) or a model directory / bundle with `opts.layer`. The originals must
 * be the classifier's input size and channels (manifest preprocess); images are optimized in [0, 1] and the
 * classifier's preprocessing (range, mean, std) is applied inside the graph.
 */
export async function invert(
  classifier: FeatureExtractor | string | ModelBundle,
  originals: FloatTensor,
  opts: InversionOptions = {},
): Promise<Inversion> {
  const t0 = Date.now();
  const steps = opts.steps ?? 512;
  checkPositiveInteger(steps, 'steps', '512');
  const batchSize = opts.batchSize ?? 32;
  checkPositiveInteger(batchSize, 'batchSize', '32');
  const range = opts.range ?? [0, 1];
  if (!(Array.isArray(range) && range.length === 2 && Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[1] > range[0])) {
    throw new GanvasError('BAD_INPUT', `range must be [lo, hi] with lo < hi, e.g. [0, 1], got ${JSON.stringify(range)}`);
  }
  const method = inversionMethods.fftDec();
  const param = opts.parameterization ?? method.parameterization;
  const transforms = opts.transforms ?? method.transforms;
  const objective = opts.objective ?? activationL1();
  const seed = String(opts.seed ?? 0);
  const offset = opts.indexOffset ?? 0;
  checkNonNegativeInteger(offset);
  // Adam validates lr and its other options.
  const adamOptions: AdamOptions = { ...(opts.adam ?? {}), lr: opts.lr ?? 0.05 };
  new Adam(adamOptions);

  let fx: FeatureExtractor;
  if (classifier instanceof FeatureExtractor) {
    if (opts.layer !== undefined && !isCutAt(classifier, opts.layer)) {
      throw new GanvasError(
        'BAD_INPUT',
        `the feature extractor is cut at ${classifier.layer.name}, but layer "${opts.layer}" was asked for; ` +
          `open one at that layer (FeatureExtractor.open(model, "${opts.layer}")) or omit layer`,
      );
    }
    fx = classifier;
  } else {
    fx = await FeatureExtractor.open(classifier, opts.layer ?? 'layer2', opts.runtime);
  }
  const p = fx.bundle.manifest.preprocess;
  if (!p) throw new GanvasError('BAD_MANIFEST', `${fx.name} has no "preprocess" in its manifest`);
  const [H, W] = p.size;
  const C = p.channels;
  const { n, c, h, w } = nchw(originals, 'originals');
  if (c !== C || h !== H || w !== W) {
    throw new GanvasError(
      'BAD_INPUT',
      `${fx.name} inverts images of its input size ${C}×${H}×${W} (manifest preprocess), got ${c}×${h}×${w}; ` +
        `resize the images and convert their channels first`,
    );
  }
  if (n === 0) throw new GanvasError('BAD_INPUT', 'originals holds no images');
  for (let i = 0; i < originals.data.length; i++) {
    if (!Number.isFinite(originals.data[i])) {
      throw new GanvasError('BAD_INPUT', `originals holds a non-finite value (${originals.data[i]}) at index ${i} (image ${Math.floor(i / (C * H * W))})`);
    }
  }
  const signal = operationSignal(opts.signal);
  signal.throwIfAborted();

  const built = await inversionGraph(fx, { parameterization: param, transforms }, objective);
  const session = await fx.runtime.session(built.gradient);
  const imageSession = await fx.runtime.session(built.image);
  const unit: [number, number] = [0, 1];
  // Mapped also when range is [0, 1]: mapRange onto the same range is the identity (0 + (x − 0)·1, exact), and one
  // copy of the originals costs nothing next to the optimization (a shortcut for [0, 1] was an equivalent branch).
  const inUnit = mapRange(originals, range, unit);
  // The batch size only bounds memory: each image's features are the same in a batch of any size (default 32).
  // Stryker disable next-line ObjectLiteral: see above
  const targets = await fx.features(inUnit, unit, { batchSize });
  const targetPer = numel(targets.dims.slice(1));
  const thetaPer = numel(param.thetaDims(C, H, W));
  const total = n * steps;
  let done = 0;
  const thetaDims = param.thetaDims(C, H, W);
  /** Optimizes images [start, end) as one batch; returns the reconstruction and the loss at every step. */
  const optimize = async (start: number, end: number): Promise<{ image: FloatTensor; losses: Float64Array }> => {
    const b = end - start;
    const theta = new Float32Array(b * thetaPer);
    const randoms: (() => number)[] = [];
    for (let i = 0; i < b; i++) {
      theta.set(param.init(`${seed}/${offset + start + i}`, C, H, W), i * thetaPer);
      randoms.push(seedrandom.alea(`${seed}/${offset + start + i}/transforms`));
    }
    const feedData = built.feeds.map((f) => new Float32Array(b * numel(f.perImage)));
    const feeds: Feeds = {
      [built.theta]: { data: theta, dims: [b, ...thetaDims] },
      [built.target]: { data: targets.data.subarray(start * targetPer, end * targetPer), dims: [b, ...targets.dims.slice(1)] },
    };
    built.feeds.forEach((f, k) => (feeds[f.name] = { data: feedData[k], dims: [b, ...f.perImage] }));
    // One Adam over the batch's θ: its update is elementwise, so every image keeps its own moments.
    const adam = new Adam(adamOptions);
    const losses = new Float64Array(steps);
    for (let s = 0; s < steps; s++) {
      await checkpoint(signal);
      for (let i = 0; i < b; i++) {
        built.feeds.forEach((f, k) => {
          const per = numel(f.perImage);
          f.sample(randoms[i], feedData[k].subarray(i * per, (i + 1) * per));
        });
      }
      const r = await lossAndGradients(session, feeds);
      losses[s] = r.loss;
      adam.step(theta, r.grads[built.theta].data);
      done += b;
      opts.onProgress?.(done, total);
    }
    const out = await imageSession.run({ [imageSession.inputs[0].name]: { data: theta, dims: [b, ...thetaDims] } });
    return { image: out.image, losses };
  };
  const results: { image: FloatTensor; losses: Float64Array }[] = [];
  for (let start = 0; start < n; start += batchSize) results.push(await optimize(start, Math.min(n, start + batchSize)));
  const parts = results.map((r) => r.image);
  const history = results.map((r) => r.losses);
  const images = concatBatch(parts);
  // Stryker disable next-line ObjectLiteral: as for the targets, the batch size only bounds memory
  const reached = await fx.features(images, unit, { batchSize });
  const loss = objective.perImage(reached.data, targets.data, targetPer);
  return {
    images: mapRange(images, unit, range),
    loss,
    history,
    seconds: (Date.now() - t0) / 1000,
  };
}

function isCutAt(fx: FeatureExtractor, layer: string): boolean {
  return fx.layer.name === layer || fx.layer.aliases.includes(layer);
}

function checkNonNegativeInteger(offset: number): void {
  if (!Number.isInteger(offset) || offset < 0) throw new GanvasError('BAD_INPUT', `indexOffset must be a non-negative integer, got ${offset}`);
}

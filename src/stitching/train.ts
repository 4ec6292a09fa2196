/**
 * Training a stitch (paper 003 §3.1, §4.1.3): every network frozen, only the 1×1 convolution trained, to minimize
 * the L1 loss between the classifier's LayerX activations of the original image and of its reconstruction. Adam
 * with lr 0.01, batch size 8, a random generator seed per sample. After each epoch the stitch is evaluated on the
 * validation set with the test network (pixel cosine, §3.4), and the kept weights are those of the epoch with the
 * highest validation cosine (as Table 1 reports).
 *
 * One ONNX gradient model does a whole step: preprocessing → classifier to LayerX → 1×1 conv → resize → generator
 * tail → preprocessing → classifier to LayerX → L1, with gradients w.r.t. the conv's weight and bias. The
 * generator head runs separately once per batch for the seeds' style and noise.
 *
 * Resumable: with `checkpoint`, the state (weights, Adam moments, best weights, history) is written atomically
 * after every epoch, and a run started again with the same settings continues after the last finished epoch, so a
 * kill -9 loses at most the running epoch. Seeded: the epoch order, the generator seeds and the initialization all
 * derive from `seed`, so a resumed run ends with the same weights as an unbroken one.
 */
import { checkpoint, operationSignal } from '../interrupt';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import seedrandom from 'seedrandom';
import { GanvasError, describeError } from '../errors';
import { FeatureExtractor } from '../features';
import { writeFileAtomic } from '../io';
import { Adam, AdamState } from '../autodiff/optim';
import { gradientModel, lossAndGradients } from '../autodiff/gradient';
import { loss } from '../autodiff/loss';
import type { ModelBundle } from '../manifest';
import { openModel } from '../manifest';
import { Seed } from '../runtime/noise';
import { FloatTensor } from '../runtime/tensor';
import { BIAS, IMAGE, WEIGHT, trainingModel } from './compose';
import { StitchWeights } from './init';
import { meanStd } from './metrics';
import { CreateOptions, Stitch } from './stitch';

/** Training images, drawn by index (a tensor, a data set on disk, crops made on the fly). */
export interface ImageSource {
  /** Number of images (indices 0…count−1). */
  count: number;
  images(indices: number[]): Promise<FloatTensor> | FloatTensor;
}

export function tensorSource(t: FloatTensor): ImageSource {
  const n = t.dims[0];
  const per = n > 0 ? t.data.length / n : 0;
  return {
    count: n,
    images: (idx) => {
      const data = new Float32Array(idx.length * per);
      idx.forEach((i, k) => data.set(t.data.subarray(i * per, (i + 1) * per), k * per));
      return { data, dims: [idx.length, ...t.dims.slice(1)] };
    },
  };
}

export interface EpochRecord {
  epoch: number;
  /** Training samples seen so far. */
  samples: number;
  /** Mean training loss (L1 at LayerX) over the epoch; for epoch 0 (the initialization) undefined. */
  trainLoss?: number;
  valCosine: number;
  valCosineStd: number;
  valGram: number;
  valL1: number;
  /** Wall seconds of the epoch's training steps. */
  seconds: number;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  samplesPerSecond: number;
  etaSeconds: number;
}

export interface TrainOptions extends Omit<CreateOptions, 'init'> {
  init?: CreateOptions['init'];
  train: ImageSource | FloatTensor;
  validation: FloatTensor;
  /** The test network for the validation cosine (paper: a second network), and its layer (default layerX). */
  testNetwork: string | ModelBundle | FeatureExtractor;
  testLayer?: string;
  /** Value range of the training and validation images (default the classifier's preprocess.range). */
  range?: [number, number];
  epochs?: number;
  /** Samples per epoch (default: the whole training set). */
  samplesPerEpoch?: number;
  batchSize?: number;
  lr?: number;
  /** A file to checkpoint to after every epoch (and resume from). */
  checkpoint?: string;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  signal?: AbortSignal;
}

interface Checkpoint {
  format: 'ganvas-stitch-checkpoint/1';
  config: string;
  epoch: number;
  samples: number;
  weights: { weight: number[]; bias: number[] };
  best: { weight: number[]; bias: number[]; epoch: number; cosine: number };
  adam: { weight: AdamJson; bias: AdamJson } | null;
  history: EpochRecord[];
}

interface AdamJson {
  m: number[];
  v: number[];
  t: number;
}

const toJson = (s: AdamState | undefined): AdamJson | null => (s ? { m: Array.from(s.m), v: Array.from(s.v), t: s.t } : null);
const fromJson = (j: AdamJson): AdamState => ({ m: Float64Array.from(j.m), v: Float64Array.from(j.v), t: j.t });

function positiveInt(name: string, v: number, max = 1e9): void {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new GanvasError('BAD_INPUT', `${name} must be an integer in 1..${max}, got ${v}`);
}

/** Seed of the generator for training sample j of epoch e. */
function trainSeed(seed: Seed, epoch: number, j: number): string {
  return `stitch-train:${seed}:${epoch}:${j}`;
}

/** The epoch's sample order: a seeded shuffle of the training set, cut to samplesPerEpoch. */
function epochOrder(count: number, take: number, seed: Seed, epoch: number): number[] {
  const rng = seedrandom(`stitch-order:${seed}:${epoch}`);
  const idx = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, take);
}

/**
 * Trains a stitch and returns it with the best epoch's weights; `stitch.record.history` holds the validation
 * curve (epoch 0 = the initialization).
 */
export async function trainStitch(opts: TrainOptions): Promise<Stitch> {
  const epochs = opts.epochs ?? 30;
  const signal = operationSignal(opts.signal);
  positiveInt('epochs', epochs, 100000);
  const bs = opts.batchSize ?? 8;
  positiveInt('batchSize', bs, 4096);
  const lr = opts.lr ?? 0.01;
  if (!(Number.isFinite(lr) && lr > 0)) throw new GanvasError('BAD_INPUT', `lr must be a positive finite number, got ${lr}`);
  const source = 'count' in opts.train && typeof (opts.train as ImageSource).images === 'function' ? (opts.train as ImageSource) : tensorSource(opts.train as FloatTensor);
  if (source.count < 1) throw new GanvasError('BAD_INPUT', 'the training set is empty');
  const perEpoch = opts.samplesPerEpoch ?? source.count;
  positiveInt('samplesPerEpoch', perEpoch, source.count);
  if (opts.validation.dims[0] < 1) throw new GanvasError('BAD_INPUT', 'the validation set is empty');
  const seed = opts.seed ?? 0;

  await checkpoint(signal);
  const stitch = await Stitch.create({ ...opts, init: opts.init ?? 'default', signal });
  const rt = stitch.runtime;
  const range = opts.range ?? stitch.parts.classifier.manifest.preprocess?.range ?? [0, 1];
  const spec = stitch.imageSpec(opts.validation, range);
  const testNet =
    opts.testNetwork instanceof FeatureExtractor
      ? opts.testNetwork
      : await FeatureExtractor.open(typeof opts.testNetwork === 'string' ? await openModel(opts.testNetwork) : opts.testNetwork, opts.testLayer ?? stitch.layerX, rt);

  const config = createHash('sha1')
    .update(
      JSON.stringify({
        classifier: stitch.parts.classifier.model.digest(),
        generator: stitch.parts.generator.model.digest(),
        test: testNet.model.digest(),
        layerX: stitch.layerX,
        layerY: stitch.layerY,
        init: stitch.record.init,
        seed,
        bs,
        lr,
        perEpoch,
        count: source.count,
        range,
        val: createHash('sha1').update(new Uint8Array(opts.validation.data.buffer, opts.validation.data.byteOffset, opts.validation.data.byteLength)).digest('hex'),
      }),
    )
    .digest('hex');

  const grad = await gradientModel(trainingModel(stitch.parts, spec), {
    wrt: [WEIGHT, BIAS],
    loss: loss.meanL1(`d/${stitch.parts.layerX.name}`, `c/${stitch.parts.layerX.name}`),
  });
  const session = await rt.session(grad);
  const w = Float32Array.from(stitch.weights.weight.data);
  const b = Float32Array.from(stitch.weights.bias.data);
  const wDims = [...stitch.weights.weight.dims];
  const bDims = [...stitch.weights.bias.dims];
  const adamW = new Adam({ lr });
  const adamB = new Adam({ lr });
  let history: EpochRecord[] = [];
  let startEpoch = 1;
  let samples = 0;
  let best = { weight: Float32Array.from(w), bias: Float32Array.from(b), epoch: 0, cosine: -Infinity };

  const validate = async (epoch: number, trainLoss: number | undefined, seconds: number): Promise<EpochRecord> => {
    const ev = await stitch.evaluate(testNet, opts.validation, { range, signal });
    const c = meanStd(ev.metrics.cosine);
    const r: EpochRecord = {
      epoch,
      samples,
      trainLoss,
      valCosine: c.mean,
      valCosineStd: c.std,
      valGram: meanStd(ev.metrics.gram).mean,
      valL1: meanStd(ev.metrics.l1).mean,
      seconds,
    };
    if (r.valCosine > best.cosine) best = { weight: Float32Array.from(w), bias: Float32Array.from(b), epoch, cosine: r.valCosine };
    return r;
  };

  let resumed = false;
  if (opts.checkpoint) {
    const ck = await readCheckpoint(opts.checkpoint);
    if (ck) {
      if (ck.config !== config) {
        throw new GanvasError(
          'BAD_INPUT',
          `checkpoint ${opts.checkpoint} belongs to a run with other settings (models, layers, seed, batch size, lr, data or init differ); ` +
            'resume with the same settings, or give another checkpoint path',
        );
      }
      w.set(ck.weights.weight);
      b.set(ck.weights.bias);
      if (ck.adam) {
        adamW.restore(w, fromJson(ck.adam.weight));
        adamB.restore(b, fromJson(ck.adam.bias));
      }
      best = { weight: Float32Array.from(ck.best.weight), bias: Float32Array.from(ck.best.bias), epoch: ck.best.epoch, cosine: ck.best.cosine };
      history = ck.history;
      startEpoch = ck.epoch + 1;
      samples = ck.samples;
      resumed = true;
    }
  }
  const setStitch = (ww: Float32Array, bb: Float32Array) => stitch.setWeights({ weight: { data: Float32Array.from(ww), dims: wDims }, bias: { data: Float32Array.from(bb), dims: bDims } });
  const save = async (epoch: number) => {
    if (!opts.checkpoint) return;
    const ck: Checkpoint = {
      format: 'ganvas-stitch-checkpoint/1',
      config,
      epoch,
      samples,
      weights: { weight: Array.from(w), bias: Array.from(b) },
      best: { weight: Array.from(best.weight), bias: Array.from(best.bias), epoch: best.epoch, cosine: best.cosine },
      adam: adamW.state() && adamB.state() ? { weight: toJson(adamW.state()) as AdamJson, bias: toJson(adamB.state()) as AdamJson } : null,
      history,
    };
    await writeFileAtomic(opts.checkpoint, JSON.stringify(ck));
  };

  if (!resumed) {
    setStitch(w, b);
    const r = await validate(0, undefined, 0);
    history.push(r);
    opts.onEpoch?.(r);
    await save(0);
  }

  const steps = Math.ceil(perEpoch / bs);
  const t0 = performance.now();
  let done = 0;
  const total = (epochs - startEpoch + 1) * steps;
  for (let epoch = startEpoch; epoch <= epochs; epoch++) {
    const order = epochOrder(source.count, perEpoch, seed, epoch);
    const te = performance.now();
    let lossSum = 0;
    let lossCount = 0;
    for (let s = 0; s < steps; s++) {
      // Cancelling loses at most this epoch: the checkpoint holds the last finished one.
      await checkpoint(signal);
      const idx = order.slice(s * bs, (s + 1) * bs);
      const images = await source.images(idx);
      if (s === 0 && epoch === startEpoch) {
        stitch.imageSpec(images, range);
        if (images.dims.length !== 4 || images.dims.slice(1).some((d, i) => d !== opts.validation.dims[i + 1])) {
          throw new GanvasError(
            'BAD_INPUT',
            `training images are [${images.dims.slice(1).join(', ')}] per image but validation images are [${opts.validation.dims.slice(1).join(', ')}]; both must have the same channels and size`,
          );
        }
      }
      const feeds = await stitch.tailFeeds(idx.map((_, k) => trainSeed(seed, epoch, s * bs + k)));
      feeds[IMAGE] = images;
      feeds[WEIGHT] = { data: w, dims: wDims };
      feeds[BIAS] = { data: b, dims: bDims };
      const r = await lossAndGradients(session, feeds);
      if (!Number.isFinite(r.loss)) throw new GanvasError('RUNTIME', `the training loss became ${r.loss} in epoch ${epoch}, step ${s}; lower lr (now ${lr})`);
      adamW.step(w, r.grads[WEIGHT].data);
      adamB.step(b, r.grads[BIAS].data);
      lossSum += r.loss * idx.length;
      lossCount += idx.length;
      samples += idx.length;
      done++;
      if (opts.onProgress) {
        const el = (performance.now() - t0) / 1000;
        opts.onProgress({
          epoch,
          epochs,
          step: s + 1,
          steps,
          loss: r.loss,
          samplesPerSecond: (done * bs) / el,
          etaSeconds: (el / done) * (total - done),
        });
      }
    }
    const seconds = (performance.now() - te) / 1000;
    setStitch(w, b);
    const rec = await validate(epoch, lossSum / lossCount, seconds);
    history.push(rec);
    opts.onEpoch?.(rec);
    await save(epoch);
  }
  setStitch(best.weight, best.bias);
  stitch.record = {
    ...stitch.record,
    training: {
      epochs,
      samplesPerEpoch: perEpoch,
      batchSize: bs,
      lr,
      seed: String(seed),
      samples,
      bestEpoch: best.epoch,
      bestValCosine: best.cosine,
      testNetwork: testNet.name,
      testLayer: testNet.layer.aliases[0] ?? testNet.layer.name,
      validationImages: opts.validation.dims[0],
    },
    history,
  };
  return stitch;
}

async function readCheckpoint(file: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GanvasError('BAD_INPUT', `cannot read checkpoint ${file}: ${describeError(e)}`, { cause: e });
  }
  try {
    const ck = JSON.parse(text) as Checkpoint;
    if (ck.format !== 'ganvas-stitch-checkpoint/1') throw new Error(`format ${JSON.stringify(ck.format)}`);
    return ck;
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `${file} is not a stitch checkpoint (${describeError(e)}); delete it to start over`, { cause: e });
  }
}

export type { StitchWeights };

/**
 * `ganvas invert`: the gradient-descent inversion baselines of paper 003 (§3.3: PLAIN, FFT-DEC and FFT-DEC without
 * jitter) over an image set — reconstruct each image from a classifier layer's activations. Chunks are the
 * library's batches (`--batch` images, optimized together, each with its own parameters) and each image's random
 * streams are named by its index in the whole set (invert's indexOffset), so any split gives the same bits.
 */
import { Command, Option } from 'commander';
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError } from '../errors';
import { FeatureExtractor } from '../features';
import { writeFileAtomic } from '../io';
import { inversionMethods, invert } from '../inversion';
import { toPng } from '../runtime/image';
import { readNpy } from '../runtime/npy';
import { Runtime } from '../runtime/session';
import { FloatTensor, sliceBatch } from '../runtime/tensor';
import { fashionMnist, tissueCrops } from '../stitching/data';
import { ChunkTask, releasedOnFailure, fileDigest, prepareDir } from './job';
import { JobCommand, JobStart, RunFlags, addRunOptions, bundleDigests, defaultThreads, executeJob, intOption, modelLocation, numberOption } from './common';
import { Shard, shardFile, shardTag } from './shard';

const METHODS = { plain: inversionMethods.plain, 'fft-dec': inversionMethods.fftDec, 'fft-dec-no-jitter': inversionMethods.fftDecNoJitter };
type MethodName = keyof typeof METHODS;

export interface InvertOpen {
  classifier: string;
  layer: string;
  method: MethodName;
  images: string;
  count: number;
  steps: number;
  lr: number;
  seed: number;
  batch: number;
  range: [number, number];
  pngDir: string | null;
}

export interface InvertCtx {
  o: InvertOpen;
  rt: Runtime;
  fx: FeatureExtractor;
  images: FloatTensor;
}

/** The image set: "fmnist-test" (Fashion-MNIST test images, [0, 1]), "tissue-validation" (ihc.png crops), or a .npy file. */
export async function loadImages(source: string, count: number | undefined): Promise<FloatTensor> {
  if (source === 'fmnist-test') return (await fashionMnist('test', { count: count ?? 500 })).images;
  if (source === 'tissue-validation') return tissueCrops({ count: count ?? 300, seed: 0, split: 'validation' });
  if (source.endsWith('.npy')) {
    const t = readNpy(await fs.readFile(source).catch((e: unknown) => {
      throw new GanvasError('BAD_INPUT', `cannot read images ${source}: ${(e as Error).message}`, { cause: e });
    }));
    if (t.dims.length !== 4) throw new GanvasError('BAD_INPUT', `${source} must hold N×C×H×W images, got shape (${t.dims.join(', ')})`);
    if (count !== undefined && count > t.dims[0]) throw new GanvasError('BAD_INPUT', `--count ${count} is more than the ${t.dims[0]} images in ${source}`);
    return count !== undefined ? sliceBatch(t, 0, count) : t;
  }
  throw new GanvasError('BAD_INPUT', `--images must be fmnist-test, tissue-validation or a .npy file of N×C×H×W images, got "${source}"`);
}

export const invertTask: ChunkTask<InvertOpen, InvertCtx> = {
  async open(o, threads) {
    const rt = new Runtime({ threads, spinning: false }); // batch job: no busy-waiting threads (RuntimeOptions.spinning)
    return releasedOnFailure(rt, async () => {
      const fx = await FeatureExtractor.open(o.classifier, o.layer, rt);
      const images = await loadImages(o.images, o.count);
      return { o, rt, fx, images };
    });
  },
  async run(ctx, [from, to], c) {
    const { o } = ctx;
    const r = await invert(ctx.fx, sliceBatch(ctx.images, from, to), {
      ...METHODS[o.method](), steps: o.steps, lr: o.lr, seed: o.seed, batchSize: o.batch, range: o.range, indexOffset: from,
      onProgress: (done) => c.onProgress(Math.floor(done / o.steps)),
    });
    if (o.pngDir) {
      for (let i = 0; i < to - from; i++) await writeFileAtomic(path.join(o.pngDir, `${String(from + i).padStart(6, '0')}.png`), await toPng(r.images, i, { range: o.range }));
    }
    return Array.from(r.loss, (loss, i) => ({ index: from + i, loss }));
  },
  async close(ctx) {
    await ctx.rt.release();
  },
};

interface InvertFlags extends RunFlags {
  classifier: string;
  layer: string;
  method: MethodName;
  images: string;
  count?: number;
  steps: number;
  lr: number;
  seed: number;
  batch: number;
  range: string;
  pngDir?: string;
  out: string;
}

export function invertCommand(): Command {
  const cmd = new Command('invert')
    .description('gradient-descent inversion baselines (paper 003 §3.3: PLAIN, FFT-DEC): reconstruct each image of a set from a classifier layer; writes each image\'s final loss (and PNGs with --png-dir)')
    .requiredOption('-c, --classifier <model>', 'classifier: a model directory or a shipped demo model name, e.g. fmnist-resnet')
    .option('-l, --layer <name>', 'the classifier layer inverted (LayerX)', 'layer2')
    .addOption(new Option('-m, --method <name>', 'PLAIN (free pixels), FFT-DEC (decorrelated Fourier space + jitter) or FFT-DEC without jitter').choices(Object.keys(METHODS)).default('fft-dec'))
    .requiredOption('--images <set>', 'the images: fmnist-test, tissue-validation, or a .npy file of N×C×H×W images in --range')
    .addOption(new Option('-n, --count <n>', 'number of images (default: 500 fmnist-test, 300 tissue-validation, all of a .npy)').argParser(intOption(1, '--count')))
    .addOption(new Option('--steps <n>', 'Adam steps per image (the paper\'s n)').argParser(intOption(1, '--steps')).default(512))
    .addOption(new Option('--lr <x>', 'Adam learning rate').argParser(numberOption('--lr', 1e-9, 100)).default(0.05))
    .addOption(new Option('--seed <n>', 'seed of the initial parameters and the jitter (image i\'s stream depends on seed and i only)').argParser(intOption(0, '--seed')).default(0))
    .addOption(new Option('--batch <n>', 'images optimized together per onnxruntime call, and per chunk; part of the result\'s identity').argParser(intOption(1, '--batch')).default(32))
    .option('--range <lo,hi>', 'value range of the images', '0,1')
    .option('--png-dir <dir>', 'also write each reconstruction as <dir>/<index>.png')
    .requiredOption('-o, --out <file>', 'output JSON file (a shard writes <file> with ".shard-iiii-of-nnnn" before the extension)');
  addRunOptions(cmd);
  cmd.action(async (flags: InvertFlags) => {
    const start = await invertStart(flags);
    const written = await executeJob(flags, start, () => prepareInvert(flags, start));
    if (!flags.quiet) process.stderr.write(`wrote ${written}\n`);
  });
  return cmd;
}

function parseRange(text: string): [number, number] {
  const parts = text.split(',').map(Number);
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[1] > parts[0])) {
    throw new GanvasError('BAD_INPUT', `--range must be "lo,hi" with lo < hi, e.g. 0,1 or -1,1; got "${text}"`);
  }
  return [parts[0], parts[1]];
}

export async function invertStart(flags: InvertFlags): Promise<JobStart<InvertOpen>> {
  const out = path.resolve(flags.out);
  const images = flags.images.endsWith('.npy') ? path.resolve(flags.images) : flags.images;
  const range = parseRange(flags.range);
  // The set's size decides the chunks (a .npy file's length is read; the named sets are cheap to make).
  const preview = await loadImages(images, flags.count);
  const open: InvertOpen = {
    classifier: path.resolve(await modelLocation(flags.classifier, '--classifier')),
    layer: flags.layer, method: flags.method, images, count: preview.dims[0], steps: flags.steps, lr: flags.lr, seed: flags.seed, batch: flags.batch, range,
    pngDir: flags.pngDir ? path.resolve(flags.pngDir) : null,
  };
  return {
    command: 'invert', open, total: open.count, chunkSize: open.batch,
    workDir: (shard: Shard | undefined) => path.join(path.dirname(out), `.${path.basename(out)}.${shard ? shardTag(shard) : 'all'}.ganvas-work`),
    outFile: (shard: Shard | undefined) => shardFile(out, shard),
  };
}

export async function prepareInvert(flags: InvertFlags, start: JobStart<InvertOpen>): Promise<JobCommand<InvertOpen, InvertCtx>> {
  const { open } = start;
  await prepareDir(path.dirname(path.resolve(flags.out)), 'the output directory');
  if (open.pngDir) await prepareDir(open.pngDir, 'the PNG directory');
  const ctx = await invertTask.open(open, flags.threads ?? defaultThreads(flags.workers));
  // Its models are released if a later step refuses the settings (a longer-lived process calling main(argv)).
  return releasedOnFailure(ctx.rt, async () => {
    const models: Record<string, string> = { ...(await bundleDigests('classifier', ctx.fx.bundle)) };
    if (open.images.endsWith('.npy')) models[`images/${path.basename(open.images)}`] = await fileDigest(open.images);
    const header = {
      format: 'ganvas-inversions/1', classifier: ctx.fx.name, layer: ctx.fx.layer.aliases[0] ?? ctx.fx.layer.name, method: open.method,
      images: open.images.endsWith('.npy') ? path.basename(open.images) : open.images, count: open.count, steps: open.steps, lr: open.lr, seed: open.seed, batch: open.batch, range: open.range,
    };
    return {
      ...start, task: invertTask, ctx, header,
      spec: {
        command: 'invert',
        args: { classifier: header.classifier, layer: open.layer, method: open.method, images: header.images, count: open.count, steps: open.steps, lr: open.lr, seed: open.seed, batch: open.batch, range: open.range, pngs: open.pngDir !== null },
        models,
      },
      entries: (results) => (results as unknown[][]).flat(),
    };
  });
}

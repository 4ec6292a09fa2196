/**
 * Subcommands that are one piece of work with the library's own checkpoint, run in one process (not split into
 * chunks: an epoch of stitch training depends on the one before; a grid-size cell already runs every image of a
 * run in one batch stream): `ganvas stitch-train` (paper 003) and `ganvas grid-inversion` (paper 000, Algorithm 1).
 * Both resume after a kill from the checkpoint kept in their work directory, refuse a resume with other arguments
 * or changed model files, and write their result atomically only when done.
 */
import { Command, Option } from 'commander';
import * as path from 'path';
import { GanvasError } from '../errors';
import { FeatureExtractor } from '../features';
import { Generator } from '../generator';
import { InversionInit, InversionSchedule, gridInversion } from '../gridInversion';
import { writeFileAtomic } from '../io';
import { openModel } from '../manifest';
import { Runtime } from '../runtime/session';
import { FloatTensor } from '../runtime/tensor';
import { fashionMnist, tissueCrops } from '../stitching/data';
import { Stitch } from '../stitching/stitch';
import { ImageSource, tensorSource, trainStitch } from '../stitching/train';
import { bundleDigests, defaultThreads, intOption, modelLocation, numberOption } from './common';
import { claimJob, removeWorkDir } from './job';
import { Progress } from './progress';

function workDirOf(out: string): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.ganvas-work`);
}

function sizesOption(text: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  const sizes = items.map(Number);
  // An empty item is refused: Number('') is 0, and "0,,2" or "" would have meant grid size 0.
  if (items.some((s) => s === '') || !sizes.every((g) => Number.isInteger(g) && g >= 0)) {
    throw new GanvasError('BAD_INPUT', `--sizes must list grid sizes ≥ 0 separated by commas, e.g. 0,1,2,3,4,5; got "${text}"`);
  }
  return sizes;
}

interface GridFlags {
  generator: string;
  layer: string;
  features: string;
  featureLayer: string;
  count: number;
  runs: number;
  sizes: string;
  seed: number;
  steps: number;
  lr: number;
  init: InversionInit;
  schedule: InversionSchedule;
  batch: number;
  threads?: number;
  keepVectors?: boolean;
  quiet?: boolean;
  progressInterval: number;
  out: string;
}

function gridInversionCommand(): Command {
  return new Command('grid-inversion')
    .description('grid-size inversion (paper 000, appendix Algorithm 1): invert feature targets into two vectors laid out by grid(g) for each grid size; one process, resumable')
    .requiredOption('-g, --generator <model>', 'generator: a model directory or a shipped demo model name')
    .requiredOption('-l, --layer <name>', 'generator layer (LayerX) whose two vectors are optimized')
    .requiredOption('-f, --features <model>', 'feature extractor: a model directory or a shipped demo model name')
    .option('--feature-layer <name>', 'feature layer (LayerY) whose activations are the targets', 'layer2')
    .addOption(new Option('-n, --count <n>', 'images per run').argParser(intOption(1, '--count')).default(512))
    .addOption(new Option('--runs <n>', 'runs, each on other images').argParser(intOption(1, '--runs')).default(3))
    .option('--sizes <list>', 'grid sizes, comma-separated (0 = one vector everywhere)', '0,1,2,3,4,5')
    .addOption(new Option('--seed <n>', 'seed of the images and the random initialization').argParser(intOption(0, '--seed')).default(0))
    .addOption(new Option('--steps <n>', 'Adam steps').argParser(intOption(1, '--steps')).default(30))
    .addOption(new Option('--lr <x>', 'Adam learning rate').argParser(numberOption('--lr', 1e-9, 100)).default(0.05))
    .addOption(new Option('--init <how>', 'initialization of the two vectors').choices(['mean', 'zeros', 'random']).default('mean'))
    .addOption(new Option('--schedule <s>', 'learning-rate schedule').choices(['cosine', 'constant']).default('cosine'))
    .addOption(new Option('--batch <n>', 'images per onnxruntime call').argParser(intOption(1, '--batch')).default(64))
    .addOption(new Option('--threads <n>', 'onnxruntime threads (default: all cores)').argParser(intOption(1, '--threads')))
    .option('--keep-vectors', 'keep the optimized vectors of every image in the result')
    .option('-q, --quiet', 'no progress output')
    .addOption(new Option('--progress-interval <s>', 'seconds between progress lines when stderr is not a terminal').argParser(intOption(1, '--progress-interval')).default(10))
    .requiredOption('-o, --out <file>', 'result JSON (loadGridInversion reads it); written when every cell is done')
    .action(async (f: GridFlags) => {
      const out = path.resolve(f.out);
      const rt = new Runtime({ threads: f.threads ?? defaultThreads(1), spinning: false });
      try {
        const gen = await Generator.open(await modelLocation(f.generator, '--generator'), rt);
        const cut = await gen.cut(f.layer);
        const fx = await FeatureExtractor.open(await modelLocation(f.features, '--features'), f.featureLayer, rt);
        const sizes = sizesOption(f.sizes);
        const work = workDirOf(out);
        await claimJob(work, {
          command: 'grid-inversion',
          args: { generator: gen.name, layer: f.layer, features: fx.name, featureLayer: f.featureLayer, count: f.count, runs: f.runs, sizes, seed: f.seed, steps: f.steps, lr: f.lr, init: f.init, schedule: f.schedule, batch: f.batch, keepVectors: Boolean(f.keepVectors) },
          models: { ...(await bundleDigests('generator', gen.bundle)), ...(await bundleDigests('features', fx.bundle)) },
        });
        let progress: Progress | undefined;
        const result = await gridInversion(cut, fx, {
          count: f.count, runs: f.runs, sizes, seed: f.seed, steps: f.steps, lr: f.lr, init: f.init, schedule: f.schedule, batchSize: f.batch,
          keepVectors: f.keepVectors, file: path.join(work, 'partial.json'),
          onProgress: (done, total) => {
            progress ??= new Progress('grid-inversion (image·steps)', total, 0, { quiet: f.quiet, interval: f.progressInterval });
            progress.update(done);
          },
        });
        progress?.finish();
        await writeFileAtomic(out, JSON.stringify(result));
        await removeWorkDir(work);
        if (!f.quiet) process.stderr.write(`wrote ${out}\n`);
      } finally {
        await rt.release();
      }
    });
}

/** A training or validation set by name. */
async function imageSet(name: string, role: 'train' | 'validation'): Promise<ImageSource | FloatTensor> {
  const m = /^(fmnist-train|fmnist-test|tissue-train|tissue-validation)(?::(\d+))?$/.exec(name);
  if (!m) throw new GanvasError('BAD_INPUT', `the ${role} set must be fmnist-train, fmnist-test[:count], tissue-train or tissue-validation[:count], got "${name}"`);
  const count = m[2] !== undefined ? Number(m[2]) : undefined;
  switch (m[1]) {
    case 'fmnist-train':
      return role === 'train' ? tensorSource((await fashionMnist('train', { count })).images) : (await fashionMnist('train', { count })).images;
    case 'fmnist-test':
      return (await fashionMnist('test', { count: count ?? 500 })).images;
    case 'tissue-train':
      return { count: count ?? 156680, images: (idx: number[]) => tissueCrops({ count: idx.length, indices: idx, seed: 0, split: 'train' }) };
    default:
      return tissueCrops({ count: count ?? 300, seed: 0, split: 'validation' });
  }
}

interface StitchFlags {
  classifier: string;
  layerX: string;
  generator: string;
  layerY?: string;
  testNetwork: string;
  train: string;
  validation: string;
  init: 'lstsq' | 'default';
  epochs: number;
  perEpoch?: number;
  batch: number;
  lr: number;
  seed: number;
  threads?: number;
  quiet?: boolean;
  progressInterval: number;
  out: string;
}

function stitchTrainCommand(): Command {
  return new Command('stitch-train')
    .description('train a stitch (paper 003: a 1×1 conv from a classifier layer into a generator layer), checkpointing every epoch; one process, resumable')
    .requiredOption('-c, --classifier <model>', 'classifier: a model directory or a shipped demo model name, e.g. fmnist-resnet')
    .requiredOption('--layer-x <name>', 'the classifier layer inverted (LayerX)')
    .requiredOption('-g, --generator <model>', 'generator: a model directory or a shipped demo model name')
    .option('--layer-y <name>', 'the generator layer stitched into (LayerY; default: the paper\'s rule)')
    .requiredOption('--test-network <model>', 'a second classifier for the validation cosine (the paper\'s test network), e.g. fmnist-testnet')
    .option('--train <set>', 'training images: fmnist-train or tissue-train', 'fmnist-train')
    .option('--validation <set>', 'validation images: fmnist-test[:count] or tissue-validation[:count]', 'fmnist-test:500')
    .addOption(new Option('--init <how>', 'initial weights: least-squares fit on generated images, or PyTorch\'s default init').choices(['lstsq', 'default']).default('lstsq'))
    .addOption(new Option('--epochs <n>', 'training epochs').argParser(intOption(1, '--epochs')).default(30))
    .addOption(new Option('--per-epoch <n>', 'samples per epoch (default: the whole training set)').argParser(intOption(1, '--per-epoch')))
    .addOption(new Option('--batch <n>', 'batch size').argParser(intOption(1, '--batch')).default(8))
    .addOption(new Option('--lr <x>', 'Adam learning rate').argParser(numberOption('--lr', 1e-9, 100)).default(0.01))
    .addOption(new Option('--seed <n>', 'seed of the init, the sample order and the generator samples').argParser(intOption(0, '--seed')).default(0))
    .addOption(new Option('--threads <n>', 'onnxruntime threads (default: all cores)').argParser(intOption(1, '--threads')))
    .option('-q, --quiet', 'no progress output')
    .addOption(new Option('--progress-interval <s>', 'seconds between progress lines when stderr is not a terminal').argParser(intOption(1, '--progress-interval')).default(10))
    .requiredOption('-o, --out <file>', 'the trained stitch (stitch.json; Stitch.load reads it), written when training ends')
    .action(async (f: StitchFlags) => {
      const out = path.resolve(f.out);
      const rt = new Runtime({ threads: f.threads ?? defaultThreads(1), spinning: false });
      try {
        const classifier = await openModel(await modelLocation(f.classifier, '--classifier'));
        const generator = await openModel(await modelLocation(f.generator, '--generator'));
        const test = await openModel(await modelLocation(f.testNetwork, '--test-network'));
        const train = await imageSet(f.train, 'train');
        const validation = (await imageSet(f.validation, 'validation')) as FloatTensor;
        const work = workDirOf(out);
        await claimJob(work, {
          command: 'stitch-train',
          args: { classifier: classifier.manifest.name, layerX: f.layerX, generator: generator.manifest.name, layerY: f.layerY ?? null, testNetwork: test.manifest.name, train: f.train, validation: f.validation, init: f.init, epochs: f.epochs, perEpoch: f.perEpoch ?? null, batch: f.batch, lr: f.lr, seed: f.seed },
          models: { ...(await bundleDigests('classifier', classifier)), ...(await bundleDigests('generator', generator)), ...(await bundleDigests('test', test)) },
        });
        let progress: Progress | undefined;
        let base = 0;
        const stitch: Stitch = await trainStitch({
          classifier, layerX: f.layerX, generator, layerY: f.layerY, runtime: rt, init: f.init, seed: f.seed, train, validation, testNetwork: test,
          epochs: f.epochs, samplesPerEpoch: f.perEpoch, batchSize: f.batch, lr: f.lr, checkpoint: path.join(work, 'checkpoint.json'),
          onProgress: (p) => {
            progress ??= new Progress('stitch-train (steps)', p.epochs * p.steps, 0, { quiet: f.quiet, interval: f.progressInterval });
            base = (p.epoch - 1) * p.steps;
            progress.update(base + p.step);
          },
          onEpoch: (r) => {
            if (!f.quiet) process.stderr.write(`\nepoch ${r.epoch}: val cosine ${r.valCosine.toFixed(4)} ± ${r.valCosineStd.toFixed(3)}, gram ${r.valGram.toFixed(4)}, L1 ${r.valL1.toFixed(4)}\n`);
          },
        });
        progress?.finish();
        await stitch.save(out);
        await removeWorkDir(work);
        if (!f.quiet) process.stderr.write(`wrote ${out}\n`);
      } finally {
        await rt.release();
      }
    });
}

export function extraCommands(): Command[] {
  return [stitchTrainCommand(), gridInversionCommand()];
}

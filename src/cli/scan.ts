/**
 * `ganvas scan`: the tileability scan (paper 000 §4.2) of N random activation vectors of a generator's layer,
 * scored with a feature extractor; the output is the library's scan JSON (loadScan reads it) plus the job spec.
 * Chunks are the library's batches: vectors k·batch … (k+1)·batch − 1 are sampled, rendered and scored in one
 * onnxruntime call per model whichever worker or shard runs them, so every split gives the same bits.
 */
import { Command, Option } from 'commander';
import * as path from 'path';
import { FeatureExtractor } from '../features';
import { Cut, Generator } from '../generator';
import { Runtime } from '../runtime/session';
import { Scan, scan } from '../tileability';
import { ChunkTask, releasedOnFailure, prepareDir } from './job';
import { JobCommand, JobStart, RunFlags, addRunOptions, bundleDigests, defaultThreads, executeJob, intOption, modelLocation } from './common';
import { Shard, shardFile, shardTag } from './shard';

export interface ScanOpen {
  generator: string;
  layer: string;
  features: string;
  featureLayer: string;
  count: number;
  seed: number;
  grid: number;
  /** Null: the library's default (from the feature map's size ratio to the layer). */
  erosion: number | null;
  batch: number;
}

export interface ScanCtx {
  o: ScanOpen;
  rt: Runtime;
  gen: Generator;
  cut: Cut;
  fx: FeatureExtractor;
}

export const scanTask: ChunkTask<ScanOpen, ScanCtx> = {
  async open(o, threads) {
    // Batch job: no busy-waiting threads (RuntimeOptions.spinning), no second start-up allocation (memPattern).
    const rt = new Runtime({ threads, spinning: false, memPattern: false });
    return releasedOnFailure(rt, async () => {
      const gen = await Generator.open(o.generator, rt);
      const cut = await gen.cut(o.layer);
      const fx = await FeatureExtractor.open(o.features, o.featureLayer, rt);
      return { o, rt, gen, cut, fx };
    });
  },
  async run(ctx, [from, to], c) {
    // The whole library result: its header holds what only a computation tells (the default erosion comes from
    // the feature map's size), and every chunk's header is the same.
    return scan(ctx.cut, ctx.fx, { ...scanSettings(ctx.o), from, to, onProgress: (done) => c.onProgress(done) });
  },
  async close(ctx) {
    await ctx.rt.release();
  },
};

function scanSettings(o: ScanOpen): { count: number; seed: number; grid: number; erosion?: number; batchSize: number } {
  return { count: o.count, seed: o.seed, grid: o.grid, ...(o.erosion !== null ? { erosion: o.erosion } : {}), batchSize: o.batch };
}

interface ScanFlags extends RunFlags {
  generator: string;
  layer: string;
  features: string;
  featureLayer: string;
  count: number;
  seed: number;
  grid: number;
  erosion?: number;
  batch: number;
  out: string;
}

export function scanCommand(): Command {
  const cmd = new Command('scan')
    .description('tileability scan (paper 000 §4.2): score N random activation vectors of a generator layer; writes the scan JSON (ganvas loadScan reads it)')
    .requiredOption('-g, --generator <model>', 'generator: a model directory (ganvas.json + model.onnx) or a shipped demo model name, e.g. fmnist-stylegan')
    .requiredOption('-l, --layer <name>', 'the generator layer to scan (an alias from the manifest, e.g. b8.conv1, or a tensor name)')
    .requiredOption('-f, --features <model>', 'feature extractor: a classifier/features model directory or demo name, e.g. fmnist-resnet')
    .option('--feature-layer <name>', 'layer of the feature extractor whose features are compared', 'layer2')
    .addOption(new Option('-n, --count <n>', 'number of vectors (one per generated sample)').argParser(intOption(1, '--count')).default(2048))
    .addOption(new Option('--seed <n>', 'scan seed: sample seeds seed·count + i and the random positions derive from it').argParser(intOption(0, '--seed')).default(0))
    .addOption(new Option('--grid <g>', 'grid size compared against "full"').argParser(intOption(1, '--grid')).default(2))
    .addOption(new Option('--erosion <k>', 'erosion of the feature-map mask (odd; 1 = none; default: the library\'s, from the feature map\'s size ratio to the layer, recorded in the output)').argParser(intOption(1, '--erosion')))
    .addOption(new Option('--batch <n>', 'vectors per chunk and per onnxruntime call; part of the result\'s identity (other values may change the last bits)').argParser(intOption(1, '--batch')).default(64))
    .requiredOption('-o, --out <file>', 'output JSON file (a shard writes <file> with ".shard-iiii-of-nnnn" before the extension)');
  addRunOptions(cmd);
  cmd.action(async (flags: ScanFlags) => {
    const start = await scanStart(flags);
    const written = await executeJob(flags, start, () => prepareScan(flags, start));
    if (!flags.quiet) process.stderr.write(`wrote ${written}\n`);
  });
  return cmd;
}

export async function scanStart(flags: ScanFlags): Promise<JobStart<ScanOpen>> {
  const out = path.resolve(flags.out);
  const open: ScanOpen = {
    generator: path.resolve(await modelLocation(flags.generator, '--generator')),
    layer: flags.layer,
    features: path.resolve(await modelLocation(flags.features, '--features')),
    featureLayer: flags.featureLayer,
    count: flags.count,
    seed: flags.seed,
    grid: flags.grid,
    erosion: flags.erosion ?? null,
    batch: flags.batch,
  };
  return {
    command: 'scan', open, total: open.count, chunkSize: open.batch,
    workDir: (shard: Shard | undefined) => path.join(path.dirname(out), `.${path.basename(out)}.${shard ? shardTag(shard) : 'all'}.ganvas-work`),
    outFile: (shard: Shard | undefined) => shardFile(out, shard),
  };
}

export async function prepareScan(flags: ScanFlags, start: JobStart<ScanOpen>): Promise<JobCommand<ScanOpen, ScanCtx>> {
  await prepareDir(path.dirname(path.resolve(flags.out)), 'the output directory');
  const open = start.open;
  const ctx = await scanTask.open(open, flags.threads ?? defaultThreads(flags.workers));
  // Its models are released if a later step refuses the settings (a longer-lived process calling main(argv)).
  return releasedOnFailure(ctx.rt, async () => {
    // A scan of no vectors checks the settings up front; the output's header comes from the chunks (headerFrom).
    const { entries: _none, ...header } = await scan(ctx.cut, ctx.fx, { ...scanSettings(open), from: 0, to: 0 });
    void _none;
    const strip = (r: Scan): Record<string, unknown> => {
      const { entries: _e, ...h } = r;
      void _e;
      return h;
    };
    const models = { ...(await bundleDigests('generator', ctx.gen.bundle)), ...(await bundleDigests('features', ctx.fx.bundle)) };
    return {
      ...start, task: scanTask, ctx, header,
      spec: {
        command: 'scan',
        args: { generator: ctx.gen.name, layer: open.layer, features: ctx.fx.name, featureLayer: open.featureLayer, count: open.count, seed: open.seed, grid: open.grid, erosion: open.erosion, batch: open.batch },
        models,
      },
      entries: (results) => (results as Scan[]).flatMap((r) => r.entries),
      // A shard without chunks (more shards than chunks) scores one vector for the header alone.
      headerFrom: async (results) => strip(results.length > 0 ? (results[0] as Scan) : await scan(ctx.cut, ctx.fx, { ...scanSettings(open), from: 0, to: 1 })),
    };
  });
}

/**
 * `ganvas dataset`: a painted segmentation dataset (paper 000 §4.3) — random label maps painted with a vector
 * library's vectors — as PNG files plus index.json, made by the library's generateDataset. Each chunk of pairs is
 * generated into a scratch directory of the job (generateDataset resumes there by itself), then its files are
 * moved into the output directory and the chunk's index entries recorded; every pair is painted alone, from seeds
 * given by its index, so any split of the pairs gives the same files.
 */
import { Command, Option } from 'commander';
import { promises as fs } from 'fs';
import * as path from 'path';
import { DatasetEntry, generateDataset } from '../dataset';
import { describeError, GanvasError } from '../errors';
import { Cut, Generator } from '../generator';
import { VectorLibrary } from '../library';
import { MaskKind } from '../masks';
import { Runtime } from '../runtime/session';
import { ChunkTask, releasedOnFailure, fileDigest, prepareDir } from './job';
import { JobCommand, JobStart, RunFlags, addRunOptions, bundleDigests, defaultThreads, executeJob, intOption, modelLocation, numberOption } from './common';
import { Shard, shardTag } from './shard';

export interface DatasetOpen {
  generator: string;
  layer: string;
  library: string;
  count: number;
  seed: number;
  kind: MaskKind;
  classes: string[] | null;
  keepShare: number | null;
  out: string;
}

export interface DatasetCtx {
  o: DatasetOpen;
  rt: Runtime;
  gen: Generator;
  cut: Cut;
  library: VectorLibrary;
}

function settings(o: DatasetOpen): { count: number; seed: number; kind: MaskKind; classes?: string[]; keepShare?: number } {
  return { count: o.count, seed: o.seed, kind: o.kind, ...(o.classes ? { classes: o.classes } : {}), ...(o.keepShare !== null ? { keepShare: o.keepShare } : {}) };
}

/** Moves a chunk's files into the output directory; a file already moved (a resumed chunk) is fine. */
async function moveInto(from: string, to: string, rel: string): Promise<void> {
  const src = path.join(from, rel);
  const dst = path.join(to, rel);
  try {
    await fs.rename(src, dst);
  } catch (e) {
    // Stryker disable next-line ArrowFunction: undefined is as falsy as false
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && (await fs.stat(dst).then(() => true, () => false))) return;
    throw new GanvasError('RUNTIME', `cannot move ${src} to ${dst}: ${describeError(e)}`, { cause: e });
  }
}

export const datasetTask: ChunkTask<DatasetOpen, DatasetCtx> = {
  async open(o, threads) {
    const rt = new Runtime({ threads, spinning: false }); // batch job: no busy-waiting threads (RuntimeOptions.spinning)
    return releasedOnFailure(rt, async () => {
      const gen = await Generator.open(o.generator, rt);
      const cut = await gen.cut(o.layer);
      const library = await VectorLibrary.load(o.library, cut);
      return { o, rt, gen, cut, library };
    });
  },
  async run(ctx, [from, to], c) {
    const part = path.join(c.workDir, `part-${from}-${to}`);
    const index = await generateDataset(ctx.cut, ctx.library, { ...settings(ctx.o), dir: part, from, to, onProgress: (done) => c.onProgress(done) });
    for (const sub of ['images', 'labels', 'masks']) await fs.mkdir(path.join(ctx.o.out, sub), { recursive: true });
    for (const e of index.entries) for (const rel of [e.image, e.label, e.mask]) await moveInto(part, ctx.o.out, rel);
    // Stryker disable next-line BooleanLiteral: the part folder exists (the moves came from it), so removing it needs no force
    await fs.rm(part, { recursive: true, force: true });
    return index.entries;
  },
  async close(ctx) {
    await ctx.rt.release();
  },
};

interface DatasetFlags extends RunFlags {
  generator: string;
  layer: string;
  library: string;
  count: number;
  seed: number;
  kind: string;
  classes?: string;
  keepShare?: number;
  chunk: number;
  out: string;
}

export function datasetCommand(): Command {
  const cmd = new Command('dataset')
    .description('painted segmentation dataset (paper 000 §4.3): random label maps painted with library vectors → images/, labels/, masks/ PNGs and index.json')
    .requiredOption('-g, --generator <model>', 'generator: a model directory or a shipped demo model name')
    .requiredOption('-l, --layer <name>', 'the layer painted (the library\'s layer)')
    .requiredOption('--library <file>', 'vector library JSON (VectorLibrary.save) whose vectors are the classes')
    .addOption(new Option('-n, --count <n>', 'number of (image, label map) pairs').argParser(intOption(1, '--count')).default(1000))
    .addOption(new Option('--seed <n>', 'dataset seed (mask and sample seeds of pair i derive from it and i)').argParser(intOption(0, '--seed')).default(0))
    .addOption(new Option('--kind <kind>', 'random label-map kind').choices(['voronoi', 'blobs', 'strokes']).default('voronoi'))
    .option('--classes <names>', 'comma-separated library vector names to use as classes (default: all)')
    .addOption(new Option('--keep-share <p>', 'share of regions left unpainted, in [0, 1] (library default 0.25)').argParser(numberOption('--keep-share', 0, 1)))
    .addOption(new Option('--chunk <n>', 'pairs per chunk (the unit of checkpointing and of work handed to a worker)').argParser(intOption(1, '--chunk')).default(16))
    .requiredOption('-o, --out <dir>', 'output directory: index.json (a shard writes index.shard-iiii-of-nnnn.json) and the PNG folders');
  addRunOptions(cmd);
  cmd.action(async (flags: DatasetFlags) => {
    const start = await datasetStart(flags);
    const written = await executeJob(flags, start, () => prepareDataset(flags, start));
    if (!flags.quiet) process.stderr.write(`wrote ${written}\n`);
  });
  return cmd;
}

export async function datasetStart(flags: DatasetFlags): Promise<JobStart<DatasetOpen>> {
  const out = path.resolve(flags.out);
  const open: DatasetOpen = {
    generator: path.resolve(await modelLocation(flags.generator, '--generator')),
    layer: flags.layer,
    library: path.resolve(flags.library),
    count: flags.count,
    seed: flags.seed,
    kind: flags.kind as MaskKind,
    classes: flags.classes ? flags.classes.split(',').map((s) => s.trim()).filter((s) => s !== '') : null,
    keepShare: flags.keepShare ?? null,
    out,
  };
  return {
    command: 'dataset', open, total: open.count, chunkSize: flags.chunk,
    workDir: (shard: Shard | undefined): string => path.join(out, '.ganvas-work', shard ? shardTag(shard) : 'all'),
    outFile: (shard) => path.join(out, shard ? `index.${shardTag(shard)}.json` : 'index.json'),
  };
}

export async function prepareDataset(flags: DatasetFlags, start: JobStart<DatasetOpen>): Promise<JobCommand<DatasetOpen, DatasetCtx>> {
  const { open } = start;
  const out = open.out;
  await prepareDir(out, 'the output directory');
  const ctx = await datasetTask.open(open, flags.threads ?? defaultThreads(flags.workers));
  // Its models are released if a later step refuses the settings (a longer-lived process calling main(argv)).
  return releasedOnFailure(ctx.rt, async () => {
    const models = { ...(await bundleDigests('generator', ctx.gen.bundle)), ...(await libraryDigests(open.library)) };
    // The header as the library writes it: a dataset of no pairs (validates the library and classes up front).
    const headerDir = path.join(out, '.ganvas-work', `header-${process.pid}`);
    let header: Record<string, unknown>;
    try {
      const { entries: _none, ...h } = await generateDataset(ctx.cut, ctx.library, { ...settings(open), dir: headerDir, from: 0, to: 0 });
      void _none;
      header = h;
    } finally {
      // Stryker disable next-line BooleanLiteral: without force a missing folder rejects, and the rejection is caught just after
      await fs.rm(headerDir, { recursive: true, force: true }).catch(() => undefined);
    }
    return {
      ...start, task: datasetTask, ctx, header,
      spec: {
        command: 'dataset',
        args: { generator: ctx.gen.name, layer: open.layer, count: open.count, seed: open.seed, kind: open.kind, classes: open.classes, keepShare: open.keepShare, chunk: flags.chunk },
        models,
      },
      entries: (results) => (results as DatasetEntry[][]).flat(),
    };
  });
}

async function libraryDigests(file: string): Promise<Record<string, string>> {
  const json = JSON.parse(await fs.readFile(file, 'utf8').catch((e: unknown) => {
    throw new GanvasError('BAD_INPUT', `cannot read library ${file}: ${describeError(e)}`, { cause: e });
  })) as { vectors?: string };
  const npy = typeof json.vectors === 'string' ? path.join(path.dirname(file), json.vectors) : file.replace(/\.json$/, '.npy');
  return { [`library/${path.basename(file)}`]: await fileDigest(file), [`library/${path.basename(npy)}`]: await fileDigest(npy) };
}

/**
 * What every job command shares: model locations, the --workers/--threads/--shard options, the run itself
 * (job → chunks → assembled output written atomically), and the output layout of a shard file.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GanvasError } from '../errors';
import { writeFileAtomic } from '../io';
import { ModelBundle, demoModelDir, demoModels } from '../manifest';
import { ChunkTask, JobSpec, WorkerPool, fileDigest, removeWorkDir, runJob } from './job';
import { Shard, chunkRanges, resolveShard, shardChunks } from './shard';
import { ShardInfo, assemble, serialize } from './output';

export function intOption(min: number, what: string): (text: string) => number {
  return (text: string) => {
    if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError(`${what} must be a whole number, got "${text}"`);
    const n = Number(text);
    if (n < min) throw new InvalidArgumentError(`${what} must be at least ${min}, got ${n}`);
    return n;
  };
}

export function numberOption(what: string, lo: number, hi: number): (text: string) => number {
  return (text: string) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < lo || n > hi) throw new InvalidArgumentError(`${what} must be a number in [${lo}, ${hi}], got "${text}"`);
    return n;
  };
}

export interface RunFlags {
  workers: number;
  threads?: number;
  shard?: string;
  shardCount?: number;
  quiet?: boolean;
  progressInterval: number;
}

/** Adds --workers, --threads, --shard, --shard-count, --quiet and --progress-interval. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-w, --workers <n>', 'worker processes on this machine, each with its own onnxruntime sessions; the output does not depend on it').argParser(intOption(1, '--workers')).default(1))
    .addOption(new Option('--threads <n>', 'onnxruntime threads per worker (default: the cores divided among the workers)').argParser(intOption(1, '--threads')))
    .addOption(new Option('--shard <i/n>', 'run only shard i of n (0-based) and write <out> with ".shard-iiii-of-nnnn" inserted; combine the shards with "ganvas merge". Default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with --shard-count'))
    .addOption(new Option('--shard-count <n>', 'number of shards when the index comes from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job: its completions)').argParser(intOption(1, '--shard-count')))
    .addOption(new Option('-q, --quiet', 'no progress output'))
    .addOption(new Option('--progress-interval <s>', 'seconds between progress lines when stderr is not a terminal').argParser(intOption(1, '--progress-interval')).default(10));
}

/** A model directory, or the name of a shipped demo model. */
export async function modelLocation(given: string, what: string): Promise<string> {
  if (await fs.stat(given).then(() => true, () => false)) return given;
  const demos = await demoModels();
  if (demos.includes(given)) return demoModelDir(given);
  throw new GanvasError('BAD_INPUT', `${what} "${given}" is neither a model directory (ganvas.json + model.onnx) nor a shipped demo model (${demos.join(', ')})`);
}

/** SHA-256 of a model's manifest and ONNX file, keyed "<role>/<file name>". */
export async function bundleDigests(role: string, bundle: ModelBundle): Promise<Record<string, string>> {
  const manifest = path.join(bundle.dir, 'ganvas.json');
  const onnx = path.join(bundle.dir, bundle.manifest.model);
  return {
    [`${role}/ganvas.json`]: await fileDigest(manifest),
    [`${role}/${path.basename(onnx)}`]: await fileDigest(onnx),
  };
}

export function defaultThreads(workers: number): number {
  return Math.max(1, Math.floor(os.cpus().length / workers));
}

/** What a job needs before any model is opened: enough to start the worker processes early. */
export interface JobStart<Open> {
  command: string;
  open: Open;
  total: number;
  chunkSize: number;
  workDir: (shard: Shard | undefined) => string;
  outFile: (shard: Shard | undefined) => string;
}

export interface JobCommand<Open, Ctx> extends JobStart<Open> {
  task: ChunkTask<Open, Ctx>;
  /** Opened in this process (header, validation); reused for --workers 1. */
  ctx: Ctx;
  header: Record<string, unknown>;
  /** The header from the chunk results, when parts of it are only known once something was computed. */
  headerFrom?: (results: unknown[]) => Promise<Record<string, unknown>>;
  spec: JobSpec;
  /** Chunk results → entries. */
  entries: (results: unknown[]) => unknown[];
}

/**
 * Runs a job: resolves the shard, starts the worker processes (they open their models while this process opens
 * its own in `prepare`), computes the missing chunks, writes the output atomically, removes the work directory.
 */
export async function executeJob<Open, Ctx>(flags: RunFlags, start: JobStart<Open>, prepare: () => Promise<JobCommand<Open, Ctx>>): Promise<string> {
  const shard = resolveShard(flags.shard, flags.shardCount);
  const workDir = start.workDir(shard);
  const outFile = start.outFile(shard);
  const threads = flags.threads ?? defaultThreads(flags.workers);
  const mine = shardChunks(chunkRanges(start.total, start.chunkSize), shard);
  const n = Math.min(flags.workers, mine.length);
  const pool = n > 1 ? new WorkerPool(n, path.join(__dirname, 'worker.js'), { type: 'open', command: start.command, open: start.open, threads, workDir, models: {} }) : undefined;
  let job: JobCommand<Open, Ctx>;
  try {
    job = await prepare();
  } catch (e) {
    pool?.kill();
    throw e;
  }
  const local: typeof job.task = {
    open: async () => job.ctx,
    run: (ctx, r, c) => job.task.run(ctx, r, c),
    close: async () => undefined,
  };
  // This process's own models (opened by prepare) are released when the job ends, also when it fails: main(argv)
  // may run in a longer-lived process (a notebook, the in-process tests), where sessions left open would pile up.
  let entries: unknown[];
  let header: Record<string, unknown>;
  let info: ShardInfo | undefined;
  try {
    const results = await runJob(
      {
        spec: job.spec, total: job.total, chunkSize: job.chunkSize, shard, workDir, workers: flags.workers, threads, open: job.open,
        progress: { label: `${job.command}${shard ? ` ${shard.index}/${shard.count}` : ''}`, quiet: flags.quiet, interval: flags.progressInterval },
      },
      local,
      pool,
    );
    entries = job.entries(results);
    if (shard) {
      const k = Math.ceil(job.total / job.chunkSize);
      const from = mine.length > 0 ? mine[0][0] : Math.min(job.total, Math.floor((shard.index * k) / shard.count) * job.chunkSize);
      info = { index: shard.index, count: shard.count, from, to: mine.length > 0 ? mine[mine.length - 1][1] : from };
    }
    header = job.headerFrom ? await job.headerFrom(results) : job.header;
  } finally {
    await job.task.close(job.ctx);
  }
  await writeFileAtomic(outFile, serialize(assemble(header, entries, job.spec, info)));
  await removeWorkDir(workDir);
  return outFile;
}

/**
 * A chunked, resumable job: the items 0…total−1 are cut into chunks at fixed indices; each finished chunk is a
 * JSON file written atomically into the job's work directory, so a job killed at any instant (kill -9 included)
 * and started again with the same arguments computes only the chunks without a file. The work directory also
 * holds job.json — the arguments that shape the output and the SHA-256 of every model file — and a resume with
 * other arguments or a changed model is refused. Chunks are computed in this process (--workers 1) or handed to
 * N child processes, each with its own onnxruntime sessions; which process computes a chunk never changes its bits
 * because its boundaries, inputs and batch are fixed by index.
 */
import { ChildProcess, fork } from 'child_process';
import { createHash } from 'crypto';
import { createReadStream, promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, describeError } from '../errors';
import { writeFileAtomic } from '../io';
import { Progress, ProgressOptions } from './progress';
import { Range, Shard, chunkRanges, shardChunks } from './shard';

/** What shapes a job's output: the same spec gives the same bytes. */
export interface JobSpec {
  command: string;
  args: Record<string, string | number | boolean | null | string[] | number[]>;
  /** File (relative name, e.g. "generator/model.onnx") → SHA-256, hex. */
  models: Record<string, string>;
}

export interface ChunkContext {
  /** The job's work directory (for chunk-private scratch files). */
  workDir: string;
  onProgress: (done: number) => void;
}

/** A command's computation, run in the parent (--workers 1) or in each worker process. */
export interface ChunkTask<Open, Ctx> {
  open(args: Open, threads: number): Promise<Ctx>;
  run(ctx: Ctx, range: Range, c: ChunkContext): Promise<unknown>;
  close(ctx: Ctx): Promise<void>;
}

export interface JobPlan<Open> {
  spec: JobSpec;
  total: number;
  chunkSize: number;
  shard?: Shard;
  workDir: string;
  workers: number;
  threads: number;
  /** What a worker needs to open its models (paths, names): sent to child processes. */
  open: Open;
  progress: ProgressOptions & { label: string };
}

// Stryker disable next-line ArithmeticOperator: the size only picks the faster of two ways to the same digest
const WHOLE_FILE_DIGEST = 64 * 1024 * 1024;

/**
 * Runs `open` (which opens models in `rt`); if it fails, the sessions it opened are released before the error goes on.
 * A task's open() and a command's prepare step use it: main(argv) may run inside a longer-lived process.
 */
export async function releasedOnFailure<T>(rt: { release(): Promise<void> }, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    await rt.release();
    throw e;
  }
}

/**
 * SHA-256 of a file: read whole up to 64 MiB, streamed beyond (model files can be gigabytes). Every process of a
 * job takes the digests of its models; measured in fresh processes, the two demo models' four files took 18–22 ms
 * CPU streamed and 10–12 ms read whole (the stream's 64 KiB pieces and its first use cost more than the hashing).
 */
export async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  try {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: read whole or streamed, the digest is the same
    if ((await fs.stat(file)).size <= WHOLE_FILE_DIGEST) h.update(await fs.readFile(file));
    else for await (const piece of createReadStream(file)) h.update(piece as Buffer);
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `cannot read ${file} to take its digest: ${describeError(e)}`, { cause: e });
  }
  return h.digest('hex');
}

// Stryker disable next-line EqualityOperator,ConditionalExpression: object keys are distinct (a <= b is a < b), and V8's sort
// reads only whether the result is below 0 (a > b ? 1 : 0 and a >= b ? 1 : 0 give the same order; checked with 31 keys)
const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

export function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(byKey)) : v));
}

/** Differences between two specs, for messages: ["models: generator/model.onnx ab12… → cd34…", "args.count: 10 → 20"]. */
export function specDifferences(a: JobSpec, b: JobSpec): { models: string[]; args: string[] } {
  const diff = (x: Record<string, unknown>, y: Record<string, unknown>, prefix: string): string[] =>
    [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => canonical(x[k]) !== canonical(y[k])).map((k) => `${prefix}${k}: ${short(x[k])} → ${short(y[k])}`);
  return { models: diff(a.models, b.models, ''), args: [...diff(a.args, b.args, '--'), ...(a.command !== b.command ? [`command: ${a.command} → ${b.command}`] : [])] };
}

function short(v: unknown): string {
  if (v === undefined) return '(none)';
  const s = typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? `${v.slice(0, 12)}…` : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

interface JobFile {
  format: 'ganvas-job/1';
  spec: JobSpec;
  total: number;
  chunkSize: number;
  shard: { index: number; count: number } | null;
}

export function chunkFile(workDir: string, r: Range): string {
  return path.join(workDir, `chunk-${String(r[0]).padStart(9, '0')}-${String(r[1]).padStart(9, '0')}.json`);
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(() => true, () => false);
}

/** Creates the work directory and proves it writable, or says clearly that it is not. */
export async function prepareDir(dir: string, what: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    const probe = path.join(dir, '.write-test');
    // Stryker disable next-line StringLiteral: what the probe file holds does not matter
    await writeFileAtomic(probe, 'ok');
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: the file was just written, so removing it needs no force
    await fs.rm(probe, { force: true });
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `cannot write ${what} ${dir}: ${describeError(e)}. Choose a writable location for --out.`, { cause: e });
  }
}

/** Checks or writes job.json: a resume must have the arguments and model digests of the run it continues. */
async function claimWorkDir(plan: Pick<JobPlan<unknown>, 'workDir' | 'spec' | 'total' | 'chunkSize' | 'shard'>): Promise<void> {
  const file = path.join(plan.workDir, 'job.json');
  const mine: JobFile = {
    format: 'ganvas-job/1', spec: plan.spec, total: plan.total, chunkSize: plan.chunkSize,
    shard: plan.shard ? { index: plan.shard.index, count: plan.shard.count } : null,
  };
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    let old: JobFile | undefined;
    try {
      old = JSON.parse(text) as JobFile;
    } catch {
      // Torn by nothing (written atomically), but be safe: treat as absent. (StrykerJS's BlockStatement mutant here,
      // an empty catch, is equivalent: old stays undefined.)
      old = undefined;
    }
    if (old && old.format === 'ganvas-job/1') {
      const d = specDifferences(old.spec, mine.spec);
      if (d.models.length > 0) {
        throw new GanvasError(
          'BAD_INPUT',
          `the model files changed since the interrupted run in ${plan.workDir} started (${d.models.join('; ')}); ` +
            `its finished chunks were computed with the old model and cannot be mixed with new ones. ` +
            `Restore the old model, or delete ${plan.workDir} to start over with the new one.`,
        );
      }
      // Differing arguments make the canonical texts differ too (the spec is part of both).
      if (canonical(old) !== canonical(mine)) {
        const shardDiff = canonical(old.shard) !== canonical(mine.shard) ? [`shard: ${short(old.shard)} → ${short(mine.shard)}`] : [];
        throw new GanvasError(
          'BAD_INPUT',
          `${plan.workDir} holds an interrupted run with other arguments (${[...d.args, ...shardDiff].join('; ') || 'chunking differs'}); ` +
            `rerun with the same arguments to resume it, or delete ${plan.workDir} to start over.`,
        );
      }
      return;
    }
  }
  await writeFileAtomic(file, JSON.stringify(mine, null, 1));
}

/**
 * For commands that are one piece of work with their own checkpoint (stitch training, grid-size inversion): the
 * work directory, its job.json checked against the arguments and model digests as for chunked jobs.
 */
export async function claimJob(workDir: string, spec: JobSpec): Promise<void> {
  await prepareDir(workDir, 'the work directory');
  await claimWorkDir({ workDir, spec, total: 1, chunkSize: 1, shard: undefined });
}

/** Runs the plan's chunks (those of its shard), skipping finished ones; returns every chunk's result in order. */
export async function runJob<Open, Ctx>(plan: JobPlan<Open>, task: ChunkTask<Open, Ctx>, pool?: WorkerPool): Promise<unknown[]> {
  await prepareDir(plan.workDir, 'the work directory');
  await claimWorkDir(plan as JobPlan<unknown>);
  const mine = shardChunks(chunkRanges(plan.total, plan.chunkSize), plan.shard);
  const todo: Range[] = [];
  let resumed = 0;
  for (const r of mine) {
    if (await exists(chunkFile(plan.workDir, r))) resumed += r[1] - r[0];
    else todo.push(r);
  }
  const items = mine.reduce((a, r) => a + r[1] - r[0], 0);
  const progress = new Progress(plan.progress.label, items, resumed, plan.progress);
  const partial = new Map<number, number>();
  let finished = resumed;
  const report = (): void => progress.update(finished + [...partial.values()].reduce((a, b) => a + b, 0));
  const onChunkProgress = (r: Range, done: number): void => {
    partial.set(r[0], done);
    report();
  };
  const onChunkDone = (r: Range): void => {
    partial.delete(r[0]);
    finished += r[1] - r[0];
    report();
  };
  if (pool && todo.length === 0) pool.kill();
  if (todo.length > 0) {
    if (!pool || pool.size <= 1 || todo.length === 1) {
      pool?.kill();
      const ctx = await task.open(plan.open, plan.threads);
      try {
        for (const r of todo) {
          const result = await task.run(ctx, r, { workDir: plan.workDir, onProgress: (d) => onChunkProgress(r, d) });
          await writeFileAtomic(chunkFile(plan.workDir, r), JSON.stringify(result));
          onChunkDone(r);
        }
      } finally {
        await task.close(ctx);
      }
    } else {
      await pool.run(todo, onChunkProgress, onChunkDone);
    }
  }
  progress.finish();
  const results: unknown[] = [];
  for (const r of mine) {
    const file = chunkFile(plan.workDir, r);
    try {
      results.push(JSON.parse(await fs.readFile(file, 'utf8')));
    } catch (e) {
      throw new GanvasError('RUNTIME', `chunk ${r[0]}…${r[1] - 1} is missing or unreadable (${file}): ${describeError(e)}; rerun to recompute it`, { cause: e });
    }
  }
  return results;
}

/** Messages between the parent and a worker process. */
export type ToWorker =
  | { type: 'open'; command: string; open: unknown; threads: number; workDir: string; models: Record<string, string> }
  | { type: 'chunk'; range: Range }
  | { type: 'close' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; range: Range; done: number }
  | { type: 'done'; range: Range }
  | { type: 'error'; message: string; code?: string };

/**
 * N child processes (not worker threads: onnxruntime-node cannot be loaded again in a new thread once one has
 * exited), each opening its own models and sessions. The pool is started before the parent opens its own copy of
 * the models (for the output header and argument checks), so the workers' start-up overlaps the parent's.
 * Chunks are handed out in index order to whichever worker is free; each worker writes its chunk files itself.
 * Any failure stops all workers; finished chunks stay.
 */
export class WorkerPool {
  private readonly children: ChildProcess[] = [];
  private readonly ready: Promise<void>[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>[] = [];
  private readonly listeners: ((w: number, m: FromWorker) => void)[] = [];
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.kill();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };

  constructor(n: number, workerModule: string, open: Extract<ToWorker, { type: 'open' }>) {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    // Workers make no TLS connections, so they start without NODE_EXTRA_CA_CERTS: with it set, Node parses that CA
    // bundle at every start, measured 45 ms CPU per process (`node -e 0`: 0.065 → 0.02 s, Debian's
    // ca-certificates.crt, as this project's development machines set it).
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    for (let w = 0; w < n; w++) {
      const child = fork(workerModule, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...env, GANVAS_WORKER: String(w) } });
      this.children.push(child);
      this.exited.push(new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))));
      this.ready.push(
        new Promise((resolve, reject) => {
          child.on('message', (m: FromWorker) => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'error') reject(new GanvasError('RUNTIME', `worker ${w}: ${m.message}`));
            for (const l of this.listeners) l(w, m);
          });
          child.on('error', (e) => reject(new GanvasError('RUNTIME', `worker ${w}: ${describeError(e)}`)));
          void this.exited[w].then(({ code, signal }) => reject(new GanvasError('RUNTIME', `worker ${w} exited with ${signal ?? `code ${code}`} while opening its models`)));
        }),
      );
      // A failure is reported by run(); an unobserved rejection must not end the process first.
      this.ready[w].catch(() => undefined);
      child.send(open);
    }
  }

  get size(): number {
    return this.children.length;
  }

  /** Computes the chunks; resolves when all are done and every worker has exited cleanly. */
  async run(todo: Range[], onProgress: (r: Range, done: number) => void, onDone: (r: Range) => void): Promise<void> {
    const queue = [...todo];
    const current: (Range | undefined)[] = this.children.map(() => undefined);
    let failure: ((e: Error) => void) | undefined;
    const failed = new Promise<never>((_, reject) => (failure = reject));
    failed.catch(() => undefined);
    const next = (w: number): void => {
      current[w] = queue.shift();
      this.children[w].send(current[w] ? ({ type: 'chunk', range: current[w] as Range } satisfies ToWorker) : ({ type: 'close' } satisfies ToWorker));
    };
    this.listeners.push((w, m) => {
      if (m.type === 'progress') onProgress(m.range, m.done);
      else if (m.type === 'done') {
        onDone(m.range);
        next(w);
      } else if (m.type === 'error') failure?.(new GanvasError('RUNTIME', `worker ${w}: ${m.message}`));
    });
    try {
      await Promise.race([
        failed,
        Promise.all(
          this.children.map(async (_, w) => {
            await this.ready[w];
            next(w);
            const { code, signal } = await this.exited[w];
            if (code !== 0 || current[w] !== undefined) {
              const at = current[w];
              throw new GanvasError('RUNTIME', `worker ${w} exited with ${signal ?? `code ${code}`}${at ? ` while computing items ${at[0]}…${at[1] - 1}` : ''}`);
            }
          }),
        ),
      ]);
    } finally {
      this.kill();
    }
  }

  /** Stops every worker still running (SIGKILL: their finished chunks are already on disk). */
  kill(): void {
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: SIGKILL to a child that has exited does nothing
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/** Removes a finished job's work directory. */
export async function removeWorkDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  // A dataset's work directories share <dir>/.ganvas-work/: removed with the last of them (rmdir fails when not empty).
  if (path.basename(path.dirname(dir)) === '.ganvas-work') await fs.rmdir(path.dirname(dir)).catch(() => undefined);
}

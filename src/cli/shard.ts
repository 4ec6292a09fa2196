/**
 * Sharding for schedulers: which deterministic part of a job this process runs. A job is a list of chunks whose
 * boundaries are fixed by item index (chunk k holds items k·size … (k+1)·size − 1), so a chunk's result does not
 * depend on which process, worker or shard computes it; shard i of n takes a contiguous block of chunks.
 */
import * as path from 'path';
import { GanvasError } from '../errors';

export interface Shard {
  index: number;
  count: number;
  /** Where the shard came from, for messages: "--shard", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX". */
  source: string;
}

export type Range = [number, number];

function wholeNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) throw new GanvasError('BAD_INPUT', `${what} must be a whole number, got "${text}"`);
  return Number(text.trim());
}

function checked(index: number, count: number, source: string): Shard {
  if (count < 1) throw new GanvasError('BAD_INPUT', `${source}: the shard count must be at least 1, got ${count}`);
  if (index < 0 || index >= count) {
    throw new GanvasError('BAD_INPUT', `${source}: shard index ${index} is out of range; with ${count} shard(s) it must be 0…${count - 1}`);
  }
  return { index, count, source };
}

/**
 * The shard to run: `--shard i/n` when given; else a Slurm job array (index = SLURM_ARRAY_TASK_ID −
 * SLURM_ARRAY_TASK_MIN, divided by SLURM_ARRAY_TASK_STEP; count = SLURM_ARRAY_TASK_COUNT); else a Kubernetes
 * Indexed Job (JOB_COMPLETION_INDEX, with the count from `--shard-count`). Undefined: the whole job.
 */
export function resolveShard(spec: string | undefined, shardCount: number | undefined, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (spec !== undefined) {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
    if (!m) throw new GanvasError('BAD_INPUT', `--shard must be "i/n" (0-based shard i of n, e.g. 0/4), got "${spec}"`);
    return checked(Number(m[1]), Number(m[2]), '--shard');
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_ID !== '') {
    const id = wholeNumber(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID');
    const min = env.SLURM_ARRAY_TASK_MIN ? wholeNumber(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN') : 0;
    const step = env.SLURM_ARRAY_TASK_STEP ? wholeNumber(env.SLURM_ARRAY_TASK_STEP, 'SLURM_ARRAY_TASK_STEP') : 1;
    if (env.SLURM_ARRAY_TASK_COUNT === undefined) {
      throw new GanvasError('BAD_INPUT', 'SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard i/n explicitly');
    }
    const count = wholeNumber(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT');
    const max = env.SLURM_ARRAY_TASK_MAX ? wholeNumber(env.SLURM_ARRAY_TASK_MAX, 'SLURM_ARRAY_TASK_MAX') : min + (count - 1) * step;
    // Only a regular array (min-max:step) maps task ids onto 0…count−1; "--array=0,3,7" does not.
    if (step < 1 || (id - min) % step !== 0 || (max - min) / step + 1 !== count) {
      throw new GanvasError(
        'BAD_INPUT',
        `the Slurm array (ids ${min}…${max}, step ${step}, ${count} tasks) is not a regular range; submit it as --array=0-${count - 1} or pass --shard i/n explicitly`,
      );
    }
    return checked((id - min) / step, count, 'SLURM_ARRAY_TASK_ID');
  }
  if (env.JOB_COMPLETION_INDEX !== undefined && env.JOB_COMPLETION_INDEX !== '') {
    const index = wholeNumber(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX');
    if (shardCount === undefined) {
      throw new GanvasError('BAD_INPUT', 'JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): pass --shard-count with the Job\'s completions');
    }
    return checked(index, shardCount, 'JOB_COMPLETION_INDEX');
  }
  if (shardCount !== undefined) {
    throw new GanvasError('BAD_INPUT', '--shard-count is given but no shard index: pass --shard i/n, or run inside a Slurm array or a Kubernetes Indexed Job');
  }
  return undefined;
}

/** Chunks of `size` items over 0…total−1, boundaries at multiples of size. */
export function chunkRanges(total: number, size: number): Range[] {
  const out: Range[] = [];
  for (let s = 0; s < total; s += size) out.push([s, Math.min(total, s + size)]);
  return out;
}

/** Shard i of n: chunks ⌊i·K/n⌋ … ⌊(i+1)·K/n⌋ − 1 of K (contiguous, sizes differing by at most one). */
export function shardChunks(chunks: readonly Range[], shard: Shard | undefined): Range[] {
  if (!shard) return [...chunks];
  const k = chunks.length;
  return chunks.slice(Math.floor((shard.index * k) / shard.count), Math.floor(((shard.index + 1) * k) / shard.count));
}

export function shardTag(shard: Shard): string {
  const width = Math.max(4, String(shard.count).length);
  return `shard-${String(shard.index).padStart(width, '0')}-of-${String(shard.count).padStart(width, '0')}`;
}

/** `out/scan.json` → `out/scan.shard-0003-of-0008.json` (the extension kept last). */
export function shardFile(file: string, shard: Shard | undefined): string {
  if (!shard) return file;
  const ext = path.extname(file);
  return path.join(path.dirname(file), `${path.basename(file, ext)}.${shardTag(shard)}${ext}`);
}

/**
 * Running the `ganvas` command in this process (issue 19: mutation testing of src/cli): main(argv) with stdout and
 * stderr captured, scheduler variables set only as a test asks, and everything restored afterwards. Much faster than
 * a child process per command (test/cli-helpers.ts), so that each mutant of src/cli costs seconds, not minutes.
 */
import * as path from 'path';
import type * as MainModule from '../dist/cli/main';
import type * as CommonModule from '../dist/cli/common';
import type * as ShardModule from '../dist/cli/shard';
import type * as ProgressModule from '../dist/cli/progress';
import type * as TasksModule from '../dist/cli/tasks';
import type * as OutputModule from '../dist/cli/output';
import type * as JobModule from '../dist/cli/job';
import type * as InvertModule from '../dist/cli/invert';
import type * as ScanModule from '../dist/cli/scan';
import type * as MergeModule from '../dist/cli/merge';
import type * as DatasetModule from '../dist/cli/dataset';
import { childEnv } from './mutationBridge';

/** The compiled package the tests import as 'ganvas' (under StrykerJS: the sandbox's mutated build). */
const ROOT = path.dirname(require.resolve('ganvas/package.json'));
const load = <T>(name: string): T => require(path.join(ROOT, 'dist', 'cli', `${name}.js`)) as T;

export const cli = {
  main: (): typeof MainModule => load('main'),
  common: (): typeof CommonModule => load('common'),
  shard: (): typeof ShardModule => load('shard'),
  progress: (): typeof ProgressModule => load('progress'),
  tasks: (): typeof TasksModule => load('tasks'),
  output: (): typeof OutputModule => load('output'),
  job: (): typeof JobModule => load('job'),
  invert: (): typeof InvertModule => load('invert'),
  scan: (): typeof ScanModule => load('scan'),
  merge: (): typeof MergeModule => load('merge'),
  dataset: (): typeof DatasetModule => load('dataset'),
};

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const SCHEDULER = /^(SLURM_|JOB_COMPLETION_INDEX$)/;

/**
 * Sets `env` (undefined: removed) with every scheduler variable removed first, runs fn, restores process.env.
 * `forChildren`: also what carries the active mutant into forked workers (test/mutationBridge.ts).
 */
export async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>, forChildren = false): Promise<T> {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (SCHEDULER.test(k)) delete process.env[k];
  for (const [k, v] of Object.entries({ ...env, ...(forChildren ? childEnv() : {}) })) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** Captures what fn writes to stdout and stderr (stderr not a terminal), restoring both writers afterwards. */
export async function captured<T>(fn: () => Promise<T>, tty = false): Promise<{ value: T; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  const ttyWas = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  Object.defineProperty(process.stderr, 'isTTY', { value: tty, configurable: true, writable: true });
  try {
    const value = await fn();
    return { value, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    if (ttyWas) Object.defineProperty(process.stderr, 'isTTY', ttyWas);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
  }
}

/** `ganvas <args>` in this process: its exit status and output. */
export async function ganvasHere(args: string[], env: Record<string, string | undefined> = {}, forChildren = false): Promise<Ran> {
  const r = await withEnv(env, () => captured(() => cli.main().main(['node', 'ganvas', ...args])), forChildren);
  return { code: r.value, stdout: r.stdout, stderr: r.stderr };
}

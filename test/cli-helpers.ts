/** Running the `ganvas` command from tests: one child process per invocation, scheduler variables removed. */
import { spawn } from 'child_process';
import * as path from 'path';
import { childEnv } from './mutationBridge';

export const CLI = path.join(path.dirname(require.resolve('ganvas/package.json')), 'dist', 'cli', 'main.js');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function ganvas(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...cleanEnv(), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The test's own environment without scheduler variables (a test run inside a Slurm job must not shard); under
 * StrykerJS, with what carries the active mutant and the coverage across (test/mutationBridge.ts).
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env, ...childEnv() };
  for (const k of Object.keys(env)) if (k.startsWith('SLURM_') || k === 'JOB_COMPLETION_INDEX') delete env[k];
  return env;
}


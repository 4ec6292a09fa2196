/**
 * A real cluster run (issue 17): a single-node Slurm on this machine (scripts/slurm-local.sh: munged, slurmctld and
 * slurmd started directly), a sharded scan submitted as one `sbatch --array` job whose tasks find their shard in
 * SLURM_ARRAY_TASK_ID (no --shard), `ganvas merge`, and the bytes compared with a single-process run. When Slurm
 * cannot be started this test fails with the script's message — it never skips.
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI, ganvas } from './cli-helpers';

const ROOT = path.dirname(require.resolve('ganvas/package.json'));
const SCRIPT = path.join(ROOT, 'scripts', 'slurm-local.sh');

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout = 300000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}${err && !(typeof (err as { code?: unknown }).code === 'number') ? `\n${err.message}` : ''}` });
    });
  });
}

describe('ganvas on a single-node Slurm cluster', function () {
  this.timeout(900000);
  const slurmDir = process.env.GANVAS_SLURM_DIR ?? '/tmp/ganvas-slurm';
  const env: NodeJS.ProcessEnv = { ...process.env, GANVAS_SLURM_DIR: slurmDir, SLURM_CONF: path.join(slurmDir, 'slurm.conf') };
  for (const k of Object.keys(env)) if (k.startsWith('SLURM_') && k !== 'SLURM_CONF') delete env[k];
  let tmp: string;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-slurm-test-'));
    const started = await sh('bash', [SCRIPT, 'start'], env, 120000);
    if (started.code !== 0) {
      throw new Error(`could not start the single-node Slurm (bash scripts/slurm-local.sh start, exit ${started.code}):\n${started.out}\n` +
        'It needs root and Debian\'s slurm-wlm and munge (bash scripts/system-deps.sh installs them).');
    }
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('a scan submitted as sbatch --array=0-2, merged, has the bytes of a single-process run', async () => {
    const args = ['-g', 'fmnist-stylegan', '-l', 'b8.conv1', '-f', 'fmnist-resnet', '--feature-layer', 'layer1', '-n', '80', '--batch', '16'];
    const out = path.join(tmp, 'scan.json');
    const job = path.join(tmp, 'scan.sbatch');
    // The job script of docs/cluster.md, cut down: each array task runs its shard (found in SLURM_ARRAY_TASK_ID).
    await fs.writeFile(
      job,
      ['#!/bin/bash', '#SBATCH --job-name=ganvas-scan', '#SBATCH --cpus-per-task=1', `#SBATCH --output=${tmp}/slurm-%A_%a.out`, 'set -euo pipefail',
        `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} scan ${args.join(' ')} --out ${JSON.stringify(out)} --threads 1`, ''].join('\n'),
    );
    const sub = await sh('sbatch', ['--array=0-2', '--wait', '--parsable', job], env, 600000);
    const logs = (await fs.readdir(tmp)).filter((f) => f.startsWith('slurm-'));
    const logText = (await Promise.all(logs.map((f) => fs.readFile(path.join(tmp, f), 'utf8')))).join('\n');
    expect(sub.code, `sbatch --wait failed:\n${sub.out}\ntask logs:\n${logText}`).to.equal(0);
    expect(logs, 'one log per array task').to.have.length(3);
    const shards = [0, 1, 2].map((i) => path.join(tmp, `scan.shard-000${i}-of-0003.json`));
    const merged = path.join(tmp, 'merged.json');
    const m = await ganvas(['merge', ...shards, '-o', merged]);
    expect(m.code, m.stderr).to.equal(0);
    const single = path.join(tmp, 'single.json');
    const s = await ganvas(['scan', ...args, '-o', single, '-q']);
    expect(s.code, s.stderr).to.equal(0);
    expect((await fs.readFile(merged)).equals(await fs.readFile(single)), 'merged Slurm shards = one run').to.equal(true);
  });
});

/**
 * The `ganvas` command on one machine (issue 17): throughput of --workers 2 against --workers 1 for the scan and the
 * dataset generator (target ≥ 1.7× on 2 cores), the scan with --workers 2 against PyTorch's split reference with 2
 * threads (bench/tileability_torch.py on the same inputs; target ≥ 1.5×), and the CPU time of 4 shards + merge
 * against one run (target ≤ 5% more). Every ganvas time is a whole command as a user runs it (process start, model
 * loading and splitting, digests, writing the output); PyTorch's is its compute loop only.
 * Throughput is given two ways: whole commands (N items / wall seconds, start-up included), and marginal — the
 * extra items per extra second between a run of N/4 and one of N items, i.e. the rate of a long job, where a
 * fixed start-up (about 0.4 s CPU per process, measured: Node + modules 0.15 s, splitting the generator 0.18 s,
 * sessions 0.05 s) no longer matters. Sharding's cost is that fixed start-up once per shard, so its share shrinks
 * with N; it is measured at --shard-vectors (default 8192, a small real job).
 * CPU times are the children's user + system time (bash `times`, which includes the worker processes).
 *
 *   npm run bench:cli [-- --count 2048 --pairs 1024 --shard-vectors 8192]
 */
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FloatTensor, Generator, Runtime, VectorLibrary, demoModelDir, loadScan, pixelVector, randomPositions, writeNpy } from 'ganvas';
import { intArg, machine, table } from './util';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

interface Timed {
  wall: number;
  cpu: number;
}

/** Runs `ganvas args` under bash and returns wall seconds and the CPU seconds of it and all its descendants. */
function run(args: string[]): Timed {
  const quoted = [process.execPath, CLI, ...args, '-q'].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = performance.now();
  const out = execFileSync('bash', ['-c', `${quoted} >&2 && times`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const wall = (performance.now() - t0) / 1000;
  const line = out.trim().split('\n')[1] ?? '';
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`cannot read bash times output: ${out}`);
  return { wall, cpu: secs[0] + secs[1] };
}

async function main(): Promise<void> {
  const count = intArg('count', 2048);
  const pairs = intArg('pairs', 1024);
  const shardVectors = intArg('shard-vectors', 8192);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-bench-cli-'));
  const scanArgs = ['scan', '-g', 'fmnist-stylegan', '-l', 'b8.conv1', '-f', 'fmnist-resnet', '--feature-layer', 'layer1', '-n', String(count), '--batch', '64'];
  const t0 = performance.now();

  // Warm the file cache and the JIT paths once (not timed).
  run([...scanArgs.map((a) => (a === String(count) ? '64' : a)), '-o', path.join(tmp, 'warm.json')]);

  const small = (args: string[], n: number): string[] => args.map((a, i) => (args[i - 1] === '-n' ? String(n) : a));
  const s1 = run([...scanArgs, '-o', path.join(tmp, 's1.json'), '--workers', '1']);
  const s2 = run([...scanArgs, '-o', path.join(tmp, 's2.json'), '--workers', '2']);
  const q = Math.max(1, Math.round(count / 4));
  const s1q = run([...small(scanArgs, q), '-o', path.join(tmp, 's1q.json'), '--workers', '1']);
  const s2q = run([...small(scanArgs, q), '-o', path.join(tmp, 's2q.json'), '--workers', '2']);
  const marginal = (n: number, big: Timed, nq: number, little: Timed): number => (n - nq) / Math.max(1e-9, big.wall - little.wall);
  const same = (await fs.readFile(path.join(tmp, 's1.json'))).equals(await fs.readFile(path.join(tmp, 's2.json')));

  // PyTorch split reference, 2 threads, on the scan's own inputs (z and noise of every sample seed, the positions).
  const rt = new Runtime({ threads: 1 });
  const gen = new Generator(await import('ganvas').then((g) => g.openDemoModel('fmnist-stylegan')), rt);
  const cut = await gen.cut('b8.conv1');
  const inputs = path.join(tmp, 'torch-inputs');
  await fs.mkdir(inputs);
  const scanOut = await loadScan(path.join(tmp, 's1.json'));
  const feeds = gen.inputs(scanOut.entries.map((e) => Number(e.provenance.seed)));
  for (const [name, t] of Object.entries(feeds)) await fs.writeFile(path.join(inputs, `${name}.npy`), writeNpy(t as FloatTensor));
  const pos = randomPositions(0, count, cut.layer.height, cut.layer.width);
  await fs.writeFile(path.join(inputs, 'positions.npy'), writeNpy({ data: Float32Array.from(pos.flat()), dims: [count, 2] }));
  const torch = JSON.parse(
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'bench', 'tileability_torch.py'), '--inputs', inputs, '--layer', 'b8.conv1', '--feature-layer', 'layer1', '--threads', '2', '--batch', '64', '--style', 'split'], { encoding: 'utf8', maxBuffer: 64 << 20 }),
  ) as { seconds: number; scores: number[]; torch: string };
  let maxDiff = 0;
  scanOut.entries.forEach((e, i) => (maxDiff = Math.max(maxDiff, Math.abs(e.cosine - torch.scores[i]))));

  // Sharding overhead: 4 shards one after another + merge, against one run; one thread each, so CPU time is work.
  const shardArgs = small(scanArgs, shardVectors);
  const one = run([...shardArgs, '-o', path.join(tmp, 'one.json'), '--workers', '1', '--threads', '1']);
  const shardRuns = [0, 1, 2, 3].map((i) => run([...shardArgs, '-o', path.join(tmp, 'sh.json'), '--shard', `${i}/4`, '--threads', '1']));
  const merge = run(['merge', ...[0, 1, 2, 3].map((i) => path.join(tmp, `sh.shard-000${i}-of-0004.json`)), '-o', path.join(tmp, 'merged.json')]);
  const shardCpu = shardRuns.reduce((a, r) => a + r.cpu, 0) + merge.cpu;
  const mergedSame = (await fs.readFile(path.join(tmp, 'merged.json'))).equals(await fs.readFile(path.join(tmp, 'one.json')));

  // Dataset: a library of 4 vectors taken from samples, then --workers 1 against --workers 2.
  const head = await cut.sample([101, 102, 103, 104]);
  const lib = VectorLibrary.for(cut);
  ['#ff0000', '#0000ff', '#ffff00', '#ff00ff'].forEach((c, i) => lib.add(`v${i}`, c, pixelVector(head.activations, i, 3, 3)));
  const libFile = path.join(tmp, 'lib', 'classes.json');
  await lib.save(libFile);
  await rt.release();
  const dsArgs = ['dataset', '-g', demoModelDir('fmnist-stylegan'), '-l', 'b8.conv1', '--library', libFile, '-n', String(pairs)];
  const d1 = run([...dsArgs, '-o', path.join(tmp, 'ds1'), '--workers', '1']);
  const d2 = run([...dsArgs, '-o', path.join(tmp, 'ds2'), '--workers', '2']);
  const pq = Math.max(1, Math.round(pairs / 4));
  const d1q = run([...small(dsArgs, pq), '-o', path.join(tmp, 'ds1q'), '--workers', '1']);
  const d2q = run([...small(dsArgs, pq), '-o', path.join(tmp, 'ds2q'), '--workers', '2']);
  const dsSame = (await fs.readFile(path.join(tmp, 'ds1', 'index.json'))).equals(await fs.readFile(path.join(tmp, 'ds2', 'index.json')));

  console.log(`bench/cli — ganvas command, fmnist-stylegan b8.conv1 × fmnist-resnet layer1, scan N = ${count}, dataset ${pairs} pairs, shards at N = ${shardVectors}; ${machine()}`);
  const m = { s1: marginal(count, s1, q, s1q), s2: marginal(count, s2, q, s2q), d1: marginal(pairs, d1, pq, d1q), d2: marginal(pairs, d2, pq, d2q) };
  console.log(table(
    ['measure', 'ganvas', 'reference', 'ratio', 'target', 'same output'],
    [
      ['scan --workers 2 vs 1, marginal vectors/s (long-job rate)', m.s2, m.s1, m.s2 / m.s1, '≥ 1.7', same ? 'bit-identical' : 'DIFFERENT'],
      ['scan --workers 2 vs 1, whole command vectors/s', count / s2.wall, count / s1.wall, s1.wall / s2.wall, '(≥ 1.7)', ''],
      ['dataset --workers 2 vs 1, marginal pairs/s', m.d2, m.d1, m.d2 / m.d1, '≥ 1.7', dsSame ? 'index identical' : 'DIFFERENT'],
      ['dataset --workers 2 vs 1, whole command pairs/s', pairs / d2.wall, pairs / d1.wall, d1.wall / d2.wall, '(≥ 1.7)', ''],
      [`scan --workers 2 (whole command) vs PyTorch ${torch.torch} split, 2 threads, vectors/s`, count / s2.wall, count / torch.seconds, torch.seconds / s2.wall, '≥ 1.5', `max |Δ score| ${maxDiff.toExponential(1)}`],
      [`4 shards + merge vs one run, total CPU s (N = ${shardVectors}, 1 thread)`, shardCpu, one.cpu, shardCpu / one.cpu, '≤ 1.05', mergedSame ? 'bit-identical' : 'DIFFERENT'],
    ],
  ));
  console.log(`seconds: scan w1 ${s1.wall.toFixed(1)} (N/4: ${s1q.wall.toFixed(1)}), w2 ${s2.wall.toFixed(1)} (N/4: ${s2q.wall.toFixed(1)}); PyTorch ${torch.seconds.toFixed(1)}; ` +
    `dataset w1 ${d1.wall.toFixed(1)} (${d1q.wall.toFixed(1)}), w2 ${d2.wall.toFixed(1)} (${d2q.wall.toFixed(1)}); ` +
    `shards CPU ${shardRuns.map((r) => r.cpu.toFixed(1)).join(' + ')} + merge ${merge.cpu.toFixed(2)} vs one run ${one.cpu.toFixed(1)}; bench ${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
  await fs.rm(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * Benchmark for issue 7: one loss+gradient run of a ganvas gradient model against one forward run of the same
 * ONNX model (target ≤ 3×), and against PyTorch autograd on the same architecture on this machine.
 *
 * The PyTorch side (bench/autodiff_torch.py, run with Debian's /usr/bin/python3 and torch 1.13) builds the zoo's
 * architectures with seeded random weights, exports them to ONNX the way the recipes do, and times forward and
 * forward + backward there; this script times the same ONNX files in onnxruntime. Shipped models in models/<name>/
 * are timed too when they exist (ONNX side only).
 *
 * Two architectures outside the zoo are built there too (issue 13): a torchvision ResNet-18 with its
 * overlapping 3×3 stride-2 max-pool stem, and a StyleGAN2 generator with the fused, demodulated convolution.
 *
 *   npm run build && npm run build:test && node build/bench/autodiff.js [--batch 8] [--reps 50] [--threads 1] [--no-torch]
 *     [--only resnet18-maxpool,stylegan2-fused]   (model names, zoo or shipped; default all)
 *     [--baseline /path/to/an/older/ganvas/dist/index.js]   (its gradient models timed alongside)
 */
import { spawnSync } from 'child_process';
import { existsSync, readdirSync } from 'fs';
import * as path from 'path';
import { FloatTensor, OnnxModel, Runtime, decodeModel, gradientModel, loadModel, loss, randn } from 'ganvas';
import { intArg } from './util';

interface TorchModel {
  onnx: string;
  inputs: Record<string, number[]>;
  output: string;
  torchForwardMs: Timing;
  torchGradMs: Timing;
  /** False for the architectures outside the zoo (issue 13). */
  zoo: boolean;
}
interface TorchResult {
  models: Record<string, TorchModel>;
  threads: number;
  torch: string;
  batch: number;
}

/**
 * [best wall, median wall, median CPU] ms of reps runs after 3 warm-ups. On a machine shared with other work (model
 * training, here) wall time depends on what else runs; CPU time of this process (all its threads) much less so,
 * which is why the default is one thread on each side and CPU time is the headline figure.
 */
type Timing = [number, number, number];

/**
 * Times runs interleaved (a, b, …, a, b, …) after 3 warm-ups of each, so that a slow stretch of the machine
 * (another process, frequency changes) lands on every side of a ratio rather than on one.
 */
async function timeRuns(fns: (() => Promise<unknown>)[], reps: number): Promise<Timing[]> {
  for (let i = 0; i < 3; i++) for (const fn of fns) await fn();
  const wall: number[][] = fns.map(() => []);
  const cpu: number[][] = fns.map(() => []);
  for (let i = 0; i < reps; i++) {
    for (const [k, fn] of fns.entries()) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await fn();
      wall[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu[k].push((c.user + c.system) / 1000);
    }
  }
  return fns.map((_, k): Timing => {
    wall[k].sort((x, y) => x - y);
    cpu[k].sort((x, y) => x - y);
    return [wall[k][0], wall[k][wall[k].length >> 1], cpu[k][cpu[k].length >> 1]];
  });
}

/**
 * Another build of ganvas (--baseline DIR: a checkout of an older commit, built with `npx tsc -p tsconfig.json`):
 * its gradient models are timed in the same interleaved runs, so a change of the rules shows as two ratios measured
 * under the same conditions. Only what the benchmark calls is declared (an I/O boundary).
 */
interface BaselineGanvas {
  loadModel(file: string): Promise<{ bytes(): Uint8Array; inputNames(): string[] }>;
  gradientModel(model: unknown, opts: { wrt: string[]; loss: unknown }): Promise<{ bytes(): Uint8Array }>;
  loss: { mse(output: string): unknown };
}

interface Row {
  model: string;
  fwd: Timing;
  grad: Timing;
  base?: Timing;
  torchFwd?: Timing;
  torchGrad?: Timing;
}

async function timeModel(
  rt: Runtime,
  file: string,
  output: string,
  feeds: Record<string, FloatTensor> | undefined,
  batch: number,
  reps: number,
  baseline?: BaselineGanvas,
) {
  const model = await loadModel(file);
  const fwd = await rt.session(model);
  const gm = await gradientModel(model, { wrt: model.inputNames(), loss: loss.mse(output) });
  const grad = await rt.session(gm);
  const f = feeds ?? feedsFor(model, batch);
  const runs = [() => fwd.runRaw(f, [output]), () => grad.runRaw(f)];
  if (baseline) {
    const bm = await baseline.loadModel(file);
    const bg = await baseline.gradientModel(bm, { wrt: bm.inputNames(), loss: baseline.loss.mse(output) });
    const base = await rt.session(decodeModel(bg.bytes(), `baseline gradient of ${file}`));
    runs.push(() => base.runRaw(f));
  }
  const [fwdMs, gradMs, baseMs] = await timeRuns(runs, reps);
  return { fwdMs, gradMs, baseMs };
}

function feedsFor(model: OnnxModel, batch: number): Record<string, FloatTensor> {
  const feeds: Record<string, FloatTensor> = {};
  for (const name of model.inputNames()) {
    const declared = model.valueInfo(name)?.type?.tensorType?.shape?.dim ?? [];
    const dims = declared.map((d, i) => (i === 0 ? batch : Number(d.dimValue ?? NaN)));
    if (dims.some((d) => !(d > 0))) {
      throw new Error(`${model.source}: input "${name}" needs fixed sizes on every axis but the batch axis to be benchmarked`);
    }
    feeds[name] = randn(`bench:${name}`, dims);
  }
  return feeds;
}

async function main() {
  const batch = intArg('batch', 8);
  const reps = intArg('reps', 50);
  const threads = intArg('threads', 1);
  const rt = new Runtime({ threads });
  const rows: Row[] = [];
  const at = process.argv.indexOf('--only');
  const only = at >= 0 ? (process.argv[at + 1] ?? '').split(',').filter((m) => m) : [];
  const wanted = (name: string) => only.length === 0 || only.includes(name);
  let torch: TorchResult | undefined;
  if (!process.argv.includes('--no-torch')) {
    const script = path.resolve(__dirname, '../../bench/autodiff_torch.py');
    const r = spawnSync('/usr/bin/python3', [script, '--out', '/tmp/ganvas-bench', '--batch', String(batch), '--threads', String(threads), '--reps', String(reps), ...(only.length > 0 ? ['--only', only.join(',')] : [])], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) {
      console.error(`PyTorch side failed (${r.status}): ${r.stderr.slice(-2000)}`);
    } else {
      torch = JSON.parse(r.stdout.trim().split('\n').pop() as string) as TorchResult;
    }
  }
  const at2 = process.argv.indexOf('--baseline');
  const baseline = at2 >= 0 ? (require(path.resolve(process.argv[at2 + 1])) as BaselineGanvas) : undefined;
  if (torch) {
    for (const [name, m] of Object.entries(torch.models)) {
      const feeds: Record<string, FloatTensor> = {};
      for (const [n, dims] of Object.entries(m.inputs)) feeds[n] = randn(`bench:${n}`, dims);
      const t = await timeModel(rt, m.onnx, m.output, feeds, batch, reps, baseline);
      rows.push({
        model: `${name} (${m.zoo ? 'zoo' : 'other'} arch.)`,
        fwd: t.fwdMs,
        grad: t.gradMs,
        base: t.baseMs,
        torchFwd: m.torchForwardMs,
        torchGrad: m.torchGradMs,
      });
    }
  }
  const modelsDir = path.resolve(__dirname, '../../models');
  const shipped = existsSync(modelsDir) ? readdirSync(modelsDir).filter((d) => wanted(d) && existsSync(path.join(modelsDir, d, 'model.onnx'))).sort() : [];
  for (const name of shipped) {
    const file = path.join(modelsDir, name, 'model.onnx');
    const output = (await loadModel(file)).outputNames()[0];
    const t = await timeModel(rt, file, output, undefined, batch, reps, baseline);
    rows.push({ model: `${name} (shipped)`, fwd: t.fwdMs, grad: t.gradMs, base: t.baseMs });
  }
  await rt.release();
  const missing = only.filter((m) => !rows.some((r) => r.model.startsWith(`${m} (`)));
  if (missing.length > 0) throw new Error(`--only: no model named ${missing.join(', ')} (zoo, issue-13 or shipped)`);

  console.log(`\nautodiff benchmark: batch ${batch}, ${threads} threads, ${reps} timed runs after 3 warm-ups` + (torch ? `, torch ${torch.torch}` : ''));
  console.log('loss = mean(output²), gradients w.r.t. every input; ratio = loss+grad ÷ forward (target ≤ 3);');
  console.log('vs torch = ours (loss+grad) ÷ torch (forward+backward): below 1 means onnxruntime is faster');
  if (baseline) console.log(`baseline = the gradient models of ${process.argv[at2 + 1]}, timed in the same interleaved runs`);
  for (const [k, title] of [[2, 'CPU time per run, median (ms)'], [0, 'wall time, best run (ms)'], [1, 'wall time, median run (ms)']] as const) {
    console.log(`\n${title}`);
    table(
      rows.map((r) => [
        r.model,
        f(r.fwd[k]),
        f(r.grad[k]),
        (r.grad[k] / r.fwd[k]).toFixed(2),
        f(r.torchFwd?.[k]),
        f(r.torchGrad?.[k]),
        r.torchGrad ? (r.grad[k] / r.torchGrad[k]).toFixed(2) : '—',
        ...(baseline ? [f(r.base?.[k]), r.base ? (r.base[k] / r.fwd[k]).toFixed(2) : '—'] : []),
      ]),
      baseline !== undefined,
    );
  }
}

function f(x?: number): string {
  return x === undefined ? '—' : x.toFixed(1);
}

function table(lines: string[][], withBaseline: boolean): void {
  const header = ['model', 'ORT fwd', 'ORT loss+grad', 'ratio', 'torch fwd', 'torch fwd+bwd', 'vs torch'];
  if (withBaseline) header.push('baseline loss+grad', 'baseline ratio');
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

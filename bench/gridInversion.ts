/**
 * Which grid size is best? Paper 000's Algorithm 1 / Fig. 9 on the shipped models (README "What we found: grid
 * size"):
 *
 *   npm run bench:grid-inversion                         timing + the full experiment + the curve tables
 *   npm run bench:grid-inversion -- --only timing        per-step timing only (a minute)
 *   npm run bench:grid-inversion -- --only study         how the curve moves with steps and initialization
 *   npm run bench:grid-inversion -- --only full --pair ihc-gan --threads 1   one pair's experiment (resumable)
 *   npm run bench:grid-inversion -- --only report        the tables and docs/grid-inversion.svg from the results files
 *                                                        (--sweep 0: without the forward tileability sweep)
 *
 * Timing: ms per image·step at batch 64 for the two ways of building a from v1, v2 (JS layout + gradient w.r.t. a
 * summed per region, or the layout inside the ONNX graph), interleaved; the share spent inside onnxruntime; and
 * from it the time per image per g and for the full experiment (512 images × 6 g × 3 runs).
 * Full experiment: gridInversion() with the default settings, results in docs/grid-inversion-<generator>.json
 * (resumable: rerunning continues where it stopped); wall time summed over its cells.
 * Curve: mean ± std over runs per g, next to the forward tileability score against g (sweepCurve, 512 vectors).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  FeatureExtractor,
  GridInversionResult,
  Generator,
  INVERSION_DEFAULTS,
  InversionInit,
  Runtime,
  gridInversion,
  gridInversionCurve,
  loadGridInversion,
  gridCurveSvg,
  inversionChain,
  invertTargets,
  openDemoModel,
  progress,
  sweepCurve,
  writeFileAtomic,
} from 'ganvas';
import { arg, intArg, machine, median, table } from './util';

const PAIRS: { gen: string; layer: string; fx: string; fl: string }[] = [
  { gen: 'fmnist-stylegan', layer: 'b8.conv1', fx: 'fmnist-resnet', fl: 'layer1' },
  { gen: 'ihc-gan', layer: 'l16', fx: 'ihc-features', fl: 'layer1' },
];
const SIZES = [0, 1, 2, 3, 4, 5];

/** The pairs chosen with --pair (a generator name; default both). */
function pairs(): typeof PAIRS {
  const only = arg('pair', 'all');
  const out = PAIRS.filter((p) => only === 'all' || p.gen === only);
  if (out.length === 0) throw new Error(`--pair must be one of ${PAIRS.map((p) => p.gen).join(', ')} or all, got "${only}"`);
  return out;
}

async function open(rt: Runtime, p: (typeof PAIRS)[number]) {
  const gen = new Generator(await openDemoModel(p.gen), rt);
  const cut = await gen.cut(p.layer);
  const fx = await FeatureExtractor.open(await openDemoModel(p.fx), p.fl, rt);
  return { cut, fx, name: `${p.gen} ${p.layer} × ${p.fx} ${p.fl}` };
}

async function timing(rt: Runtime, batch: number, steps: number): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const p of pairs()) {
    const { cut, fx, name } = await open(rt, p);
    const chain = await inversionChain(cut, fx);
    const seeds = Array.from({ length: batch }, (_, i) => 100000 + i);
    const head = await cut.sample(seeds);
    const y = { data: new Float32Array(batch * chain.features.c).fill(0.5), dims: [batch, chain.features.c] };
    const session = await rt.session(chain.gradient);
    const run = (layout: 'js' | 'graph') => invertTargets(cut, fx, head, y, 2, { steps, layout, batchSize: batch });
    await run('js');
    await run('graph'); // warm-up: sessions built, first runs done
    const js: number[] = [];
    const graph: number[] = [];
    let inside = 0;
    let total = 0;
    for (let r = 0; r < 3; r++) {
      const before = session.stats.seconds;
      let t0 = process.hrtime.bigint();
      await run('js');
      const t = Number(process.hrtime.bigint() - t0) / 1e6;
      js.push(t / (batch * steps));
      inside += session.stats.seconds - before;
      total += t / 1000;
      t0 = process.hrtime.bigint();
      await run('graph');
      graph.push(Number(process.hrtime.bigint() - t0) / 1e6 / (batch * steps));
    }
    const ms = median(js);
    const perImageG = (ms * INVERSION_DEFAULTS.steps) / 1000;
    const full = (ms * INVERSION_DEFAULTS.steps * 512 * SIZES.length * 3) / 60000;
    rows.push([name, ms, median(graph), median(graph) / ms, `${((100 * inside) / total).toFixed(1)}%`, perImageG, full]);
  }
  console.log(`\nper image·step, batch ${batch}, ${steps} steps per timed run, median of 3 (JS and graph layout interleaved); ${INVERSION_DEFAULTS.steps} steps per inversion`);
  console.log(
    table(['generator × extractor', 'JS layout ms', 'graph layout ms', 'graph ÷ JS', 'in onnxruntime (JS layout)', 's per image per g', 'full experiment min (512 × 6 g × 3 runs)'], rows),
  );
}

function curveTable(results: { name: string; result: GridInversionResult; sweep?: { grid: number | 'full'; mean: number; std: number }[] }[]): void {
  for (const { name, result, sweep } of results) {
    const curve = gridInversionCurve(result);
    const best = curve.reduce((a, b) => (b.mean > a.mean ? b : a));
    const rows = curve.map((p) => {
      const fwd = sweep?.find((s) => s.grid === p.grid);
      return [
        p.grid === best.grid ? `**${p.grid}**` : String(p.grid),
        p.mean,
        p.std,
        p.imageStd,
        p.runs.map((r) => r.toFixed(4)).join(', '),
        p.mean - best.mean === 0 ? '—' : (p.mean - best.mean).toFixed(4),
        fwd ? `${fwd.mean.toFixed(3)} ± ${fwd.std.toFixed(3)}` : '—',
      ];
    });
    const secs = result.cells.reduce((a, c) => a + c.seconds, 0);
    const s = result.settings;
    console.log(`\n${name}: ${s.count} images × ${new Set(result.cells.map((c) => c.run)).size} runs, ${s.steps} steps, lr ${s.lr}, init ${s.init}; computed in ${(secs / 60).toFixed(1)} min (sum over cells)`);
    console.log(table(['g', 'mean cosine', 'std over runs', 'std over images', 'run means', 'vs best', 'forward tileability (sweepCurve)'], rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(4) : c)))));
    if (sweep) console.log(`forward tileability score (sweepCurve, erosion 1): ${sweep.map((q) => `g=${q.grid} ${q.mean.toFixed(3)} ± ${q.std.toFixed(3)}`).join(', ')}`);
  }
}

function resultFile(gen: string, count: number): string {
  return path.join(__dirname, '..', '..', 'docs', `grid-inversion-${gen}${count === 512 ? '' : `-${count}`}.json`);
}

async function full(rt: Runtime, count: number, runs: number, batch: number): Promise<void> {
  for (const p of pairs()) {
    const { cut, fx } = await open(rt, p);
    await gridInversion(cut, fx, { count, runs, sizes: SIZES, batchSize: batch, file: resultFile(p.gen, count), onProgress: progress(`${p.gen}: inversion`) });
  }
}

/** The curve tables and the SVG from every results file there is (both pairs when both have run). */
async function report(rt: Runtime, count: number): Promise<void> {
  const out: { name: string; result: GridInversionResult; sweep?: { grid: number | 'full'; mean: number; std: number }[] }[] = [];
  for (const p of PAIRS) {
    const file = resultFile(p.gen, count);
    const there = await fs.stat(file).then(() => true, () => false);
    if (!there) continue;
    const { cut, fx, name } = await open(rt, p);
    const result = await loadGridInversion(file);
    const sweepCount = intArg('sweep', Math.min(count, 512), 0);
    const sweep = sweepCount > 0 ? await sweepCurve(cut, fx, { count: sweepCount, seed: 0, sizes: [1, 2, 3, 4, 5] }) : undefined;
    out.push({ name, result, sweep });
  }
  if (out.length === 0) return;
  console.log('\nFig. 9 on the shipped models (cosine of mean_{h,w} F_Y(G_X(a)) with y; bold: best g)');
  curveTable(out);
  const svg = gridCurveSvg(out.map((o) => ({ name: o.name, points: gridInversionCurve(o.result) })));
  await writeFileAtomic(path.join(__dirname, '..', '..', 'docs', `grid-inversion${count === 512 ? '' : `-${count}`}.svg`), svg);
}

async function study(rt: Runtime, count: number, batch: number): Promise<void> {
  const settings: { steps: number; init: InversionInit }[] = [
    { steps: 10, init: 'mean' },
    { steps: 30, init: 'mean' },
    { steps: 100, init: 'mean' },
    { steps: 30, init: 'zeros' },
    { steps: 30, init: 'random' },
  ];
  const docs = path.join(__dirname, '..', '..', 'docs');
  for (const p of pairs()) {
    const { cut, fx, name } = await open(rt, p);
    const rows: (string | number)[][] = [];
    for (const s of settings) {
      const file = path.join(docs, 'grid-inversion-study', `${p.gen}-${s.steps}-${s.init}.json`);
      const r = await gridInversion(cut, fx, { count, runs: 1, sizes: SIZES, seed: 7, batchSize: batch, steps: s.steps, init: s.init, file, onProgress: progress(`${p.gen} ${s.steps} ${s.init}`) });
      const curve = gridInversionCurve(r);
      const best = curve.reduce((a, b) => (b.mean > a.mean ? b : a));
      const order = [...curve].sort((a, b) => b.mean - a.mean).map((c) => c.grid).join(' > ');
      rows.push([s.steps, s.init, ...curve.map((c) => c.mean.toFixed(4)), best.grid, order, (r.cells.reduce((a, c) => a + c.seconds, 0) / 60).toFixed(1)]);
    }
    console.log(`\n${name}: mean cosine per g, ${count} images (seed 7), lr ${INVERSION_DEFAULTS.lr} (${INVERSION_DEFAULTS.schedule})`);
    console.log(table(['steps', 'init', ...SIZES.map((g) => `g=${g}`), 'best g', 'order', 'min'], rows));
  }
}

async function main(): Promise<void> {
  const only = arg('only', 'all');
  const threads = intArg('threads', 2);
  const batch = intArg('batch', INVERSION_DEFAULTS.batchSize);
  const rt = new Runtime({ threads });
  console.log(`bench/gridInversion — paper 000 Algorithm 1 / Fig. 9; ${threads} thread(s); ${machine()}; defaults: ${JSON.stringify(INVERSION_DEFAULTS)}`);
  if (only === 'all' || only === 'timing') await timing(rt, batch, intArg('timing-steps', 3));
  if (only === 'all' || only === 'full') await full(rt, intArg('count', 512), intArg('runs', 3), batch);
  if (only === 'all' || only === 'full' || only === 'report') await report(rt, intArg('count', 512));
  if (only === 'all' || only === 'study') await study(rt, intArg('study-count', 64), batch);
  await rt.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

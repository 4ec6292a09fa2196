/**
 * Is the cut free? Head + tail (with the crossing tensors handed over in JavaScript) against the full generator,
 * at batch 1 and 32, on the shipped demo generator. Target: ratio ≤ 1.05.
 *
 *   npm run bench:split [-- --model fmnist-stylegan --layer b16.conv1 --processes 5 --repeats-1 600 --repeats-32 40
 *                          --warmup-1 1000 --warmup-32 5 --threads 1 --breakdown]
 *
 * --breakdown also times the same two paths through onnxruntime-node directly (interleaved with the others), to
 * show which part of the ratio is onnxruntime's own cost of running two sessions instead of one.
 *
 * Both sides are measured in steady state, as in an interactive session that paints again and again: the warm-up
 * rounds (interleaved like the timed ones; 1000 at batch 1 is about 5 s) let V8 optimise the JavaScript on both
 * paths and the process's memory settle. Measured in windows of 300 rounds, the head + tail path reads 1–2%
 * higher in the first 1.5 s of a process than from the third second on, while the full model stays flat.
 */
import { spawnSync } from 'child_process';
import { Generator, Runtime, openDemoModel } from 'ganvas';
import { arg, intArg, machine, median, table, timeInterleaved } from './util';

interface Measured {
  batch: number;
  full: number;
  split: number;
  /** Median of the ratios of neighbouring runs (each pair ran back to back). */
  pair: number;
  /** With --breakdown: the same two paths through onnxruntime-node directly, without ganvas. */
  rawFull?: number;
  rawSplit?: number;
}

/** One process's measurement: both paths interleaved, at batch 1 and 32. */
async function measure({ modelName, layer, threads, breakdown, repeats, warmups }: Options): Promise<Measured[]> {
  const rt = new Runtime({ threads });
  const gen = new Generator(await openDemoModel(modelName), rt);
  const cut = await gen.cut(layer);
  const full = await gen.session();
  const out: Measured[] = [];
  for (const batch of [1, 32]) {
    const feeds = gen.inputs(Array.from({ length: batch }, (_, i) => i));
    const fns: (() => Promise<unknown>)[] = [
      () => full.run(feeds),
      async () => {
        const h = await cut.head(feeds);
        await cut.render(h.activations, h.carry);
      },
    ];
    if (breakdown) {
      // onnxruntime alone: the same sessions, tensors made once, the head's outputs fed to the tail as they come.
      const head = await rt.session(cut.split.head);
      const tail = await rt.session(cut.split.tail);
      const ortFeeds = full.checkFeeds(feeds);
      const headFeeds = Object.fromEntries(head.inputs.map((i) => [i.name, ortFeeds[i.name]]));
      fns.push(
        () => full.ortSession.run(ortFeeds),
        async () => {
          const h = await head.ortSession.run(headFeeds);
          await tail.ortSession.run(Object.fromEntries(tail.inputs.map((i) => [i.name, h[i.name] ?? ortFeeds[i.name]])));
        },
      );
    }
    const [full_, split_, rawFull, rawSplit] = await timeInterleaved(fns, { repeats: repeats[batch], warmup: warmups[batch] });
    // The paired ratio: slow stretches of a shared machine cancel in it, where they can shift one of the medians.
    const m: Measured = { batch, full: median(full_), split: median(split_), pair: median(split_.map((s, i) => s / full_[i])) };
    if (breakdown) Object.assign(m, { rawFull: median(rawFull), rawSplit: median(rawSplit) });
    out.push(m);
  }
  await rt.release();
  return out;
}

/** The command line, read inside main() so that a bad flag ends in its message, not a stack trace. */
function options() {
  return {
    modelName: arg('model', 'fmnist-stylegan'),
    layer: arg('layer', 'b16.conv1'),
    threads: intArg('threads', 1),
    processes: intArg('processes', 5),
    breakdown: process.argv.includes('--breakdown'),
    repeats: { 1: intArg('repeats-1', 600), 32: intArg('repeats-32', 40) } as Record<number, number>,
    warmups: { 1: intArg('warmup-1', 1000, 0), 32: intArg('warmup-32', 5, 0) } as Record<number, number>,
  };
}
type Options = ReturnType<typeof options>;

async function main(): Promise<void> {
  const opts = options();
  const { modelName, layer, threads, processes, breakdown, repeats, warmups } = opts;
  if (process.argv.includes('--child')) {
    console.log(JSON.stringify(await measure(opts)));
    return;
  }
  // The batch-1 ratio moves by up to 3% from one process to the next while staying stable within one, so the
  // figure is the median over fresh processes, with the spread printed beside it.
  const runs: Measured[][] = [];
  for (let p = 0; p < processes; p++) {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2), '--child'], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`measuring process ${p + 1} failed:\n${child.stderr}`);
    runs.push(JSON.parse(child.stdout.trim().split('\n').pop() as string) as Measured[]);
    process.stderr.write(`process ${p + 1}/${processes} done\n`);
  }
  const rows = [1, 32].map((batch, b) => {
    const m = runs.map((r) => r[b]);
    const ratios = m.map((x) => x.split / x.full);
    const row: (string | number)[] = [
      batch,
      median(m.map((x) => x.full)),
      median(m.map((x) => x.split)),
      median(ratios),
      `${fmtRatio(Math.min(...ratios))}–${fmtRatio(Math.max(...ratios))}`,
      median(m.map((x) => x.pair)),
    ];
    if (breakdown) row.push(median(m.map((x) => (x.rawSplit as number) / (x.rawFull as number))));
    return row;
  });
  console.log(
    `bench/split — ${modelName} cut at ${layer}; ${threads} thread(s); ${machine()}; ${processes} fresh processes, each ` +
      `timing both paths interleaved (batch 1: ${warmups[1]} warm-up + ${repeats[1]} timed rounds; batch 32: ${warmups[32]} + ${repeats[32]})`,
  );
  console.log(
    table(
      [
        'batch',
        'full model ms',
        'head + tail ms',
        'ratio (median of processes; target ≤ 1.05)',
        'lowest–highest process',
        'median of paired ratios',
        ...(breakdown ? ['onnxruntime alone: head + tail ÷ full'] : []),
      ],
      rows,
    ),
  );
}

const fmtRatio = (x: number) => x.toFixed(3);

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

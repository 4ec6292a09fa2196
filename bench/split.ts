/**
 * Is the cut free? Head + tail (with the crossing tensors handed over in JavaScript) against the full generator,
 * at batch 1 and 32, on the shipped demo generator. Target: ratio ≤ 1.05.
 *
 *   npm run bench:split [-- --model fmnist-stylegan --layer b16.conv1 --repeats-1 600 --repeats-32 40
 *                          --warmup-1 300 --warmup-32 5]
 *
 * Both sides are measured in steady state, as in an interactive session that paints again and again: the warm-up
 * rounds (interleaved like the timed ones) let V8 optimise the JavaScript on both paths and onnxruntime's arenas
 * settle. With only a handful of rounds the first timed runs still include that start-up and read 1–3% higher.
 */
import { Generator, Runtime, openDemoModel } from 'ganvas';
import { arg, machine, median, table, timeInterleaved } from './util';

async function main(): Promise<void> {
  const modelName = arg('model', 'fmnist-stylegan');
  const layer = arg('layer', 'b16.conv1');
  const threads = Number(arg('threads', '1'));
  const rt = new Runtime({ threads });
  const gen = new Generator(await openDemoModel(modelName), rt);
  const cut = await gen.cut(layer);
  const full = await gen.session();
  const rows: (string | number)[][] = [];
  const warmups: string[] = [];
  for (const batch of [1, 32]) {
    const seeds = Array.from({ length: batch }, (_, i) => i);
    const feeds = gen.inputs(seeds);
    const repeats = count(`repeats-${batch}`, batch === 1 ? 600 : 40, 1);
    const warmup = count(`warmup-${batch}`, batch === 1 ? 300 : 5, 0);
    warmups.push(`${warmup} at batch ${batch}`);
    const [full_, split_] = await timeInterleaved(
      [
        () => full.run(feeds),
        async () => {
          const h = await cut.head(feeds);
          await cut.render(h.activations, h.carry);
        },
      ],
      { repeats, warmup },
    );
    const tFull = median(full_);
    const tSplit = median(split_);
    // Also the median of the ratios of neighbouring runs: each pair ran back to back, so slow stretches of a
    // shared machine cancel in it, where they can shift one of the two medians above.
    const pairRatio = median(split_.map((s, i) => s / full_[i]));
    rows.push([batch, tFull, tSplit, tSplit / tFull, pairRatio]);
  }
  console.log(`bench/split — ${modelName} cut at ${layer}; ${threads} thread(s); ${machine()}; medians of interleaved runs after ${warmups.join(', ')} warm-up rounds`);
  console.log(table(['batch', 'full model ms', 'head + tail ms', 'ratio of medians (target ≤ 1.05)', 'median of paired ratios'], rows));
  await rt.release();
}

/** An integer flag `--name` of at least `min`, or the default. */
function count(name: string, dflt: number, min: number): number {
  const v = Number(arg(name, String(dflt)));
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${arg(name, '')}`);
  return v;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * Is the cut free? Head + tail (with the crossing tensors handed over in JavaScript) against the full generator,
 * at batch 1 and 32, on the shipped demo generator. Target: ratio ≤ 1.05.
 *
 *   npm run bench:split [-- --model fmnist-stylegan --layer b16.conv1 --repeats-1 600 --repeats-32 40]
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
  for (const batch of [1, 32]) {
    const seeds = Array.from({ length: batch }, (_, i) => i);
    const feeds = gen.inputs(seeds);
    const repeats = Number(arg(`repeats-${batch}`, batch === 1 ? '600' : '40'));
    if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats-${batch} must be a positive integer, got ${arg(`repeats-${batch}`, '')}`);
    const [full_, split_] = await timeInterleaved(
      [
        () => full.run(feeds),
        async () => {
          const h = await cut.head(feeds);
          await cut.render(h.activations, h.carry);
        },
      ],
      { repeats, warmup: 5 },
    );
    const tFull = median(full_);
    const tSplit = median(split_);
    // Also the median of the ratios of neighbouring runs: each pair ran back to back, so slow stretches of a
    // shared machine cancel in it, where they can shift one of the two medians above.
    const pairRatio = median(split_.map((s, i) => s / full_[i]));
    rows.push([batch, tFull, tSplit, tSplit / tFull, pairRatio]);
  }
  console.log(`bench/split — ${modelName} cut at ${layer}; ${threads} thread(s); ${machine()}; medians of interleaved runs`);
  console.log(table(['batch', 'full model ms', 'head + tail ms', 'ratio of medians (target ≤ 1.05)', 'median of paired ratios'], rows));
  await rt.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * The tileability scan (paper 000 §4.2) at the paper's size, N = 2048, on fmnist-stylegan (cut at b8.conv1) with
 * fmnist-resnet (layer1): vectors per second, the share of time inside onnxruntime (target: our own overhead ≤ 20%),
 * and the same computation in PyTorch eager (Debian's torch, the recipes' modules, the same inputs) — both the
 * speed ratio (target ≥ 3×) and the largest score difference, an independent check of the numbers. Two PyTorch
 * references: "split", which cuts the generator and truncates the classifier as ganvas does (the fair, strong
 * baseline the target is measured against), and "whole", the modules used as they are (whole generator per pass
 * with a forward hook writing the layer, whole classifier), which is what a script built on the modules does.
 *
 *   npm run bench:tileability [-- --count 2048 --threads 1 --no-whole]
 */
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FeatureExtractor, Generator, Runtime, openDemoModel, randomPositions, scan, writeNpy, FloatTensor } from 'ganvas';
import { arg, intArg, machine, table } from './util';

async function main(): Promise<void> {
  const count = intArg('count', 2048);
  const threads = intArg('threads', 1);
  const layer = arg('layer', 'b8.conv1');
  const featureLayer = arg('feature-layer', 'layer1');
  const batch = 64;
  const rt = new Runtime({ threads });
  const gen = new Generator(await openDemoModel('fmnist-stylegan'), rt);
  const cut = await gen.cut(layer);
  const fx = await FeatureExtractor.open(await openDemoModel('fmnist-resnet'), featureLayer, rt);
  // Warm-up: sessions created, first-run allocations done.
  await scan(cut, fx, { count: batch, seed: 99, batchSize: batch });
  const sessions = [await rt.session(cut.split.head), await rt.session(cut.split.tail), await fx.session()];
  const before = sessions.map((s) => s.stats.seconds);
  const t0 = performance.now();
  const result = await scan(cut, fx, { count, seed: 0, batchSize: batch });
  const wall = (performance.now() - t0) / 1000;
  const inOrt = sessions.reduce((a, s, i) => a + s.stats.seconds - before[i], 0);

  // The same inputs for PyTorch: every sample's z and noise, and the positions.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-bench-'));
  const seeds = result.entries.map((e) => Number(e.provenance.seed));
  const feeds = gen.inputs(seeds);
  for (const [name, t] of Object.entries(feeds)) await fs.writeFile(path.join(dir, `${name}.npy`), writeNpy(t as FloatTensor));
  const pos = randomPositions(0, count, cut.layer.height, cut.layer.width);
  await fs.writeFile(path.join(dir, 'positions.npy'), writeNpy({ data: Float32Array.from(pos.flat()), dims: [count, 2] }));
  type TorchOut = { seconds: number; scores: number[]; torch: string };
  const torchRun = (style: string): TorchOut =>
    JSON.parse(
      execFileSync('/usr/bin/python3', [path.join(__dirname, '..', '..', 'bench', 'tileability_torch.py'), '--inputs', dir, '--layer', layer, '--feature-layer', featureLayer, '--threads', String(threads), '--batch', String(batch), '--style', style], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as TorchOut;
  const torchOut = torchRun('split');
  const torchWhole = process.argv.includes('--no-whole') ? undefined : torchRun('whole');
  let maxDiff = 0;
  result.entries.forEach((e, i) => (maxDiff = Math.max(maxDiff, Math.abs(e.cosine - torchOut.scores[i]))));
  if (torchWhole) result.entries.forEach((e, i) => (maxDiff = Math.max(maxDiff, Math.abs(e.cosine - torchWhole.scores[i]))));
  await fs.rm(dir, { recursive: true, force: true });

  console.log(`bench/tileability — fmnist-stylegan ${layer} × fmnist-resnet ${featureLayer}, N = ${count}, grid(2), erosion 3, ${threads} thread(s); ${machine()}`);
  const rows: (string | number)[][] = [
    ['ganvas (onnxruntime-node)', wall, count / wall, torchOut.seconds / wall],
    [`PyTorch ${torchOut.torch} eager, split like ganvas`, torchOut.seconds, count / torchOut.seconds, 1],
  ];
  if (torchWhole) {
    rows.push([`PyTorch ${torchWhole.torch} eager, whole models + hook`, torchWhole.seconds, count / torchWhole.seconds, torchOut.seconds / torchWhole.seconds]);
  }
  console.log(table(['implementation', 'seconds', 'vectors/s', 'speed-up vs PyTorch split (target ≥ 3)'], rows));
  if (torchWhole) console.log(`ganvas against the whole-model PyTorch loop: ${(torchWhole.seconds / wall).toFixed(2)}× faster`);
  console.log(table(
    ['time inside onnxruntime', 'ganvas own overhead (target ≤ 20%)', 'largest score difference to PyTorch'],
    [[`${((100 * inOrt) / wall).toFixed(1)}%`, `${((100 * (wall - inOrt)) / wall).toFixed(1)}%`, maxDiff.toExponential(2)]],
  ));
  await rt.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * Painting latency (paper 000 §3.2 use): one paint = mask PNG in → painted image PNG out, p50 and p95 over 200
 * paints on ihc-gan (target p95 ≤ 30 ms on a 2-core machine); and dataset throughput in (image, label) pairs/s.
 *
 *   npm run bench:paint [-- --model ihc-gan --layer l16]
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Generator, Painter, Runtime, VectorLibrary, generateDataset, labelsToRgb, openDemoModel, randomLabels, rgbToPng, sampleVectors, toPng } from 'ganvas';
import { arg, intArg, machine, percentile, table } from './util';

async function main(): Promise<void> {
  const model = arg('model', 'ihc-gan');
  const layer = arg('layer', 'l16');
  const threads = intArg('threads', 2);
  const rt = new Runtime({ threads });
  const gen = new Generator(await openDemoModel(model), rt);
  const cut = await gen.cut(layer);
  const { vectors } = await sampleVectors(cut, { count: 3, seed: 1 });
  const lib = VectorLibrary.for(cut);
  ['#ff0000', '#0000ff', '#ffff00'].forEach((c, i) => lib.add(`v${i}`, c, vectors[i].vector, vectors[i].provenance));
  const painter = new Painter(cut, lib);
  // 200 different masks at 4× the layer's resolution, as a canvas would send them.
  const masks: Buffer[] = [];
  for (let i = 0; i < 200; i++) {
    const l = randomLabels(`bench:${i}`, cut.layer.height * 4, cut.layer.width * 4, 3, { kind: 'strokes' });
    masks.push(await rgbToPng(labelsToRgb(l, painter.colors)));
  }
  for (let i = 0; i < 10; i++) await painter.paint(masks[i], { seed: 0 });
  const ms: number[] = [];
  for (const m of masks) {
    const t0 = performance.now();
    const p = await painter.paint(m, { seed: 0 });
    await toPng(p.image, 0, { range: gen.range });
    ms.push(performance.now() - t0);
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-bench-ds-'));
  const n = 64;
  const t0 = performance.now();
  await generateDataset(cut, lib, { dir, count: n });
  const pairsPerSec = n / ((performance.now() - t0) / 1000);
  await fs.rm(dir, { recursive: true, force: true });
  console.log(`bench/paint — ${model} at ${layer} (${cut.layer.dims.join('×')}), ${threads} thread(s); ${machine()}`);
  console.log(table(
    ['paint: mask PNG → image PNG', 'p50 ms', 'p95 ms (target ≤ 30)', 'max ms'],
    [['200 different masks', percentile(ms, 50), percentile(ms, 95), Math.max(...ms)]],
  ));
  console.log(table(['dataset', 'pairs', 'pairs/s'], [['voronoi masks, 3 classes, PNG image + label + mask', n, pairsPerSec]]));
  await rt.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

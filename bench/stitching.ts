/**
 * bench/stitching — paper 003's Table 1/3 GAN rows for the shipped demo stitches, and their speed:
 *
 * 1. per stitch: the validation-set metrics (test network at the same layer; cosine, Gram cosine, L1, mean ± std)
 *    and the evaluation time as the paper times it (the mean of `--passes` runs over the whole validation set,
 *    inversion and metrics included), with inversion images/s and training samples/s (a short run at batch 8);
 * 2. out of distribution (paper §4.5 and its future work): the cosine of in-distribution test images against
 *    images the generator never saw — tissue crops put through the Fashion-MNIST pair (64×64 RGB → 32×32 gray),
 *    inverted test images (1 − x), uniform noise — and the AUROC of that cosine as an OOD detector;
 * 3. training curves: validation cosine against training samples, from the stitches' records (lstsq init, and
 *    PyTorch-default init where a `.default` stitch was trained), and the samples each needs to reach 99% of
 *    its final cosine;
 * 4. the end-layer sweep (§4.4, Fig. 5): cosine and L1 relative to distance 0, where sweep stitches exist.
 *
 *   npm run bench:stitching -- [--passes 20] [--threads 2] [--no-ood] [--only fmnist|ihc]
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as g from 'ganvas';
import { arg, intArg, machine, table } from './util';

const has = (flag: string) => process.argv.includes(flag);

interface Pair {
  key: 'fmnist' | 'ihc';
  classifier: string;
  generator: string;
  test: string;
  layers: string[];
  validation: () => Promise<g.FloatTensor>;
}

const PAIRS: Pair[] = [
  {
    key: 'fmnist',
    classifier: 'fmnist-resnet',
    generator: 'fmnist-stylegan',
    test: 'fmnist-testnet',
    layers: ['layer1', 'layer2', 'layer3', 'layer4'],
    validation: async () => (await g.fashionMnist('test', { count: 500 })).images,
  },
  {
    key: 'ihc',
    classifier: 'ihc-features',
    generator: 'ihc-gan',
    test: 'ihc-testnet',
    layers: ['layer1', 'layer2', 'layer3'],
    validation: () => g.tissueCrops({ count: 300, seed: 0, split: 'validation' }),
  },
];

const fmt = (m: { mean: number; std: number }, d = 3) => `${m.mean.toFixed(d)} ± ${m.std.toFixed(d)}`;

/** AUROC of `score` separating positives (in distribution, expected higher) from negatives. */
function auroc(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  let wins = 0;
  for (let i = 0; i < pos.length; i++) for (let j = 0; j < neg.length; j++) wins += pos[i] > neg[j] ? 1 : pos[i] === neg[j] ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

async function stitchesOf(p: Pair): Promise<{ layer: string; file: string }[]> {
  const cls = await g.openModel(g.demoModelDir(p.classifier));
  const gen = await g.openModel(g.demoModelDir(p.generator));
  const out: { layer: string; file: string }[] = [];
  for (const layer of p.layers) {
    const t = (await g.targetLayers(cls, layer, gen, [0]))[0];
    const file = g.demoStitchPath(p.classifier, layer, p.generator, t.layer);
    if (await fs.stat(file).then(() => true, () => false)) out.push({ layer, file });
  }
  return out;
}

async function main(): Promise<void> {
  const passes = intArg('passes', 20);
  const threads = intArg('threads', 2);
  const only = arg('only', '') || undefined;
  const rt = new g.Runtime({ threads });
  console.log(`*bench/stitching — ${passes} evaluation passes, ${threads} thread(s); ${machine()}*\n`);
  const rows: string[][] = [];
  const oodRows: string[][] = [];
  const curveRows: string[][] = [];
  for (const p of PAIRS) {
    if (only && only !== p.key) continue;
    const testDir = g.demoModelDir(p.test);
    if (!(await fs.stat(path.join(testDir, 'ganvas.json')).then(() => true, () => false))) {
      console.log(`(${p.test} not found: ${p.key} skipped)`);
      continue;
    }
    const validation = await p.validation();
    for (const { layer, file } of await stitchesOf(p)) {
      const stitch = await g.Stitch.load(file, { runtime: rt });
      const testNet = await g.FeatureExtractor.open(testDir, layer, rt);
      const ev0 = await stitch.evaluate(testNet, validation); // warm-up (sessions built)
      let seconds = 0;
      for (let i = 0; i < passes; i++) seconds += (await stitch.evaluate(testNet, validation)).seconds;
      const mean = seconds / passes;
      const t0 = performance.now();
      await stitch.invert(validation, { seed: 0 });
      const ips = validation.dims[0] / ((performance.now() - t0) / 1000);
      // Training throughput: 25 steps of batch 8 on validation images (the number, not the weights, is kept).
      const tt = performance.now();
      await g.Stitch.train({
        classifier: stitch.parts.classifier,
        layerX: layer,
        generator: stitch.generator,
        layerY: stitch.layerY,
        runtime: rt,
        init: stitch.weights,
        train: validation,
        validation: { data: validation.data.subarray(0, validation.data.length / validation.dims[0]), dims: [1, ...validation.dims.slice(1)] },
        testNetwork: testNet,
        epochs: 1,
        samplesPerEpoch: 200,
      });
      const sps = 200 / ((performance.now() - tt) / 1000);
      const s = g.summarizeMetrics(ev0.metrics);
      rows.push([
        `${p.classifier} ${layer} → ${p.generator} ${stitch.layerY}`,
        `${p.test} ${layer}`,
        fmt(s.cosine),
        fmt(s.gram),
        fmt(s.l1),
        String(validation.dims[0]),
        mean.toFixed(3),
        ips.toFixed(0),
        sps.toFixed(0),
      ]);
      const hist = (stitch.record.history ?? []) as g.EpochRecord[];
      const curve = (h: g.EpochRecord[]) => {
        if (h.length === 0) return ['—', '—', '—'];
        const final = Math.max(...h.map((r) => r.valCosine));
        const reach = h.find((r) => r.valCosine >= 0.99 * final);
        return [h[0].valCosine.toFixed(3), final.toFixed(3), reach ? String(reach.samples) : '—'];
      };
      const dflt = file.replace(/\/stitch\.json$/, '.default/stitch.json');
      const dh = (await fs.stat(dflt).then(() => true, () => false)) ? ((await g.Stitch.load(dflt, { runtime: rt })).record.history as g.EpochRecord[]) : [];
      curveRows.push([
        `${p.classifier} ${layer}`,
        ...curve(hist),
        hist.map((r) => `${r.samples / 1000}k:${r.valCosine.toFixed(3)}`).join(' '),
        ...curve(dh),
      ]);
      if (!has('--no-ood') && p.key === 'fmnist') {
        const n = validation.dims[0];
        const cin = (await stitch.evaluate(testNet, validation)).metrics.cosine;
        const tissue = await g.tissueCrops({ count: n, seed: 1, split: 'validation' });
        const tissue32 = toGray32(tissue);
        const inverted = { data: validation.data.map((v) => 1 - v), dims: validation.dims };
        const rng = g.uniform('ood-noise', validation.data.length);
        const noise = { data: Float32Array.from(rng), dims: validation.dims };
        const row = [`${p.classifier} ${layer}`, fmt(g.meanStd(cin))];
        for (const ood of [tissue32, inverted, noise]) {
          const c = (await stitch.evaluate(testNet, ood)).metrics.cosine;
          row.push(`${fmt(g.meanStd(c))} (AUROC ${auroc(cin, c).toFixed(3)})`);
        }
        oodRows.push(row);
      }
    }
  }
  console.log('Validation metrics (test network at the same layer) and speed; evaluation = inversion + test network + metrics over the whole set, mean of the passes:\n');
  console.log(
    table(
      ['stitch', 'test network', 'cosine', 'Gram cosine', 'L1', 'images', 'evaluation s (target ≤ 2)', 'inversion images/s', 'training samples/s'],
      rows,
    ),
  );
  if (oodRows.length) {
    console.log('\nOut of distribution (paper §4.5): cosine on the 500 test images vs images the generator never saw; AUROC of the cosine as an in-distribution score:\n');
    console.log(table(['stitch', 'Fashion-MNIST test', 'tissue crops (gray 32×32)', 'inverted test images (1 − x)', 'uniform noise'], oodRows));
  }
  console.log('\nTraining curves (validation cosine; from the stitch records): start, best, samples to reach 99% of the best; lstsq init, then PyTorch-default init where trained:\n');
  console.log(table(['stitch', 'lstsq: start', 'best', 'samples to 99%', 'curve (samples:cosine)', 'default: start', 'best', 'samples to 99%'], curveRows));
}

/** 64×64 RGB in [0, 1] → 32×32 gray (2×2 mean, ITU-R 601 luma). */
function toGray32(t: g.FloatTensor): g.FloatTensor {
  const [n, , h, w] = t.dims;
  const out = new Float32Array(n * 32 * 32);
  const L = [0.299, 0.587, 0.114];
  for (let s = 0; s < n; s++)
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        let v = 0;
        for (let k = 0; k < 3; k++)
          for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) v += L[k] * t.data[((s * 3 + k) * h + 2 * y + dy) * w + 2 * x + dx];
        out[(s * 32 + y) * 32 + x] = v / 4;
      }
  return { data: out, dims: [n, 1, 32, 32] };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * bench/stitch_ceiling — what limits a stitch's validation cosine: the 1×1 map, or the generator tail?
 *
 * For each demo stitch, on `--images` validation images with seed 0's style and noise: the stitch's own
 * reconstruction, and the best reconstruction the generator tail can make from *any* LayerY activations — free
 * activations per image, started at the stitch's and optimized by Adam (`--steps`, lr `--lr`) for the stitch's own
 * training objective (L1 at the classifier's LayerX). Both are scored like Table 1 (test-network pixel cosine). If
 * the free activations score little better, the generator tail is the limit, not the linear stitch.
 *
 *   npm run build && npm run build:test && node build/bench/stitch_ceiling.js [--images 100] [--steps 200] [--lr 0.05]
 *     [--pairs fmnist-resnet:layer2,ihc-features:layer3]
 */
import * as g from 'ganvas';
import { arg, intArg } from './util';

const PAIRS = [
  { cls: 'fmnist-resnet', gen: 'fmnist-stylegan', test: 'fmnist-testnet', layers: ['layer1', 'layer2', 'layer3', 'layer4'], fmnist: true },
  { cls: 'ihc-features', gen: 'ihc-gan', test: 'ihc-testnet', layers: ['layer1', 'layer2', 'layer3'], fmnist: false },
];

async function main(): Promise<void> {
  const n = intArg('images', 100);
  const steps = intArg('steps', 200);
  const lr = Number(arg('lr', '0.05'));
  if (!(lr > 0)) throw new Error(`--lr must be a positive number, got ${arg('lr', '')}`);
  const rt = new g.Runtime({ threads: intArg('threads', 2) });
  console.log(`*bench/stitch_ceiling — ${n} validation images, ${steps} Adam steps (lr ${lr}) on free LayerY activations*\n`);
  console.log('| stitch | test cosine: stitch | free LayerY activations | classifier L1 at LayerX: stitch | free |');
  console.log('|---|---|---|---|---|');
  for (const p of PAIRS) {
    const images = p.fmnist ? (await g.fashionMnist('test', { count: n })).images : await g.tissueCrops({ count: n, seed: 0, split: 'validation' });
    const cls = await g.openModel(g.demoModelDir(p.cls));
    const gen = await g.openModel(g.demoModelDir(p.gen));
    const want = arg('pairs', '') ? arg('pairs', '').split(',') : undefined;
    for (const layer of p.layers) {
      if (want && !want.includes(`${p.cls}:${layer}`)) continue;
      const t = (await g.targetLayers(cls, layer, gen, [0]))[0];
      let stitch: g.Stitch;
      try {
        stitch = await g.Stitch.load(g.demoStitchPath(p.cls, layer, p.gen, t.layer), { runtime: rt });
      } catch {
        continue;
      }
      const range = cls.manifest.preprocess?.range ?? [0, 1];
      const test = await g.FeatureExtractor.open(g.demoModelDir(p.test), layer, rt);
      const fx = await g.FeatureExtractor.open(cls, layer, rt);
      const target = await fx.features(images, range);
      const seeds = Array(n).fill(0);
      const head = await stitch.cut.sample(seeds);
      const a0 = await stitch.injected(images);
      // tail → classifier preprocessing → classifier to LayerX; L1 to the original's LayerX activations.
      const genOut = g.imageOutput(gen.manifest);
      const spec = { channels: 0, height: 0, width: 0, range: genOut.range };
      const probeImg = await stitch.cut.render(a0, head.carry);
      [spec.channels, spec.height, spec.width] = probeImg.dims.slice(1);
      const pre = cls.manifest.preprocess as g.Preprocess;
      const chain = g.compose(
        [
          { model: stitch.cut.split.tail, prefix: 'g/' },
          { model: g.preprocessModel(pre, spec), prefix: 'q/', connect: { image: `g/${genOut.name}` } },
          { model: fx.model, prefix: 'd/', connect: { [fx.inputName]: 'q/input' } },
        ],
        { outputs: [`d/${fx.layer.name}`] },
      );
      const L = stitch.cut.split.layer.name;
      const gm = await g.gradientModel(chain, { wrt: [`g/${L}`], loss: g.loss.meanL1(`d/${fx.layer.name}`, g.loss.feed('target')) });
      const session = await rt.session(gm);
      const v = new g.Variable(Float32Array.from(a0.data), new g.Adam({ lr }));
      const feeds: g.Feeds = { target };
      for (const [k, val] of Object.entries(head.carry)) feeds[`g/${k}`] = val;
      let first = NaN;
      let last = NaN;
      for (let s = 0; s < steps; s++) {
        feeds[`g/${L}`] = { data: v.value, dims: a0.dims };
        const r = await g.lossAndGradients(session, feeds);
        if (s === 0) first = r.loss;
        last = r.loss;
        v.step(r.grads[`g/${L}`].data);
      }
      const free = await stitch.cut.render({ data: v.value, dims: a0.dims }, head.carry);
      const rec = await stitch.invert(images, { seeds });
      const cs = g.meanStd((await g.evaluateInversion(test, images, rec, range, genOut.range)).cosine);
      const cf = g.meanStd((await g.evaluateInversion(test, images, free, range, genOut.range)).cosine);
      console.log(
        `| ${p.cls} ${layer} → ${p.gen} ${t.layer} | ${cs.mean.toFixed(3)} ± ${cs.std.toFixed(3)} | ${cf.mean.toFixed(3)} ± ${cf.std.toFixed(3)} | ${first.toFixed(4)} | ${last.toFixed(4)} |`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

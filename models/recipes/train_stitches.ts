/**
 * Trains the demo stitches of paper 003 with ganvas's own trainer (Stitch.train) and writes them to
 * models/stitches/<classifier>-<layerX>__<generator>-<layerY>/stitch.json.
 *
 *   npm run build && npm run build:test && node build/models/recipes/train_stitches.js [--pair fmnist|ihc]
 *     [--layers layer1,layer2] [--distance 0] [--init lstsq|default] [--epochs 10] [--per-epoch 2000]
 *     [--threads 1] [--out DIR]
 *
 * Pairs (paper 003 §4.2/§4.3 at our scale): fmnist-resnet → fmnist-stylegan, test network fmnist-testnet,
 * validation = the first 500 Fashion-MNIST test images, training = the 60000 training images; ihc-features →
 * ihc-gan, test network ihc-testnet, validation = 300 tissue crops from the held-out columns, training = crops
 * from the training columns, made on the fly (a virtual set of 156 680, the paper's Digipath size).
 * Resumable: the checkpoint of each stitch is kept under <out>/checkpoints/ (git-ignored) until it finishes.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as g from 'ganvas';
import { arg } from '../../bench/util';

const PAIRS = {
  fmnist: { classifier: 'fmnist-resnet', generator: 'fmnist-stylegan', test: 'fmnist-testnet', layers: ['layer1', 'layer2', 'layer3', 'layer4'] },
  ihc: { classifier: 'ihc-features', generator: 'ihc-gan', test: 'ihc-testnet', layers: ['layer1', 'layer2', 'layer3'] },
} as const;

async function main(): Promise<void> {
  const pairName = arg('pair', 'fmnist') as keyof typeof PAIRS;
  const pair = PAIRS[pairName];
  if (!pair) throw new Error(`--pair must be fmnist or ihc, got ${pairName}`);
  const layers = arg('layers', pair.layers.join(',')).split(',');
  const distance = Number(arg('distance', '0'));
  const init = arg('init', 'lstsq') as 'lstsq' | 'default';
  const epochs = Number(arg('epochs', '10'));
  const perEpoch = Number(arg('per-epoch', '2000'));
  const threads = Number(arg('threads', '1'));
  const out = path.resolve(arg('out', path.join(g.demoModelDir('stitches'))));
  const rt = new g.Runtime({ threads });
  const classifier = await g.openModel(g.demoModelDir(pair.classifier));
  const generator = await g.openModel(g.demoModelDir(pair.generator));
  let train: g.ImageSource;
  let validation: g.FloatTensor;
  if (pairName === 'fmnist') {
    train = g.tensorSource((await g.fashionMnist('train')).images);
    validation = (await g.fashionMnist('test', { count: 500 })).images;
  } else {
    train = { count: 156680, images: (idx) => g.tissueCrops({ count: idx.length, indices: idx, seed: 0, split: 'train' }) };
    validation = await g.tissueCrops({ count: 300, seed: 0, split: 'validation' });
  }
  for (const layerX of layers) {
    const targets = await g.targetLayers(classifier, layerX, generator, [distance]);
    if (targets.length === 0) {
      console.log(`${layerX}: no generator layer at distance ${distance}; skipped`);
      continue;
    }
    const t = targets[0];
    const name = `${pair.classifier}-${layerX}__${pair.generator}-${t.layer}`;
    const suffix = init === 'lstsq' ? '' : `.${init}`;
    const file = path.join(out, name + suffix, 'stitch.json');
    await fs.mkdir(path.join(out, 'checkpoints'), { recursive: true });
    const checkpoint = path.join(out, "checkpoints", `${name}${suffix}.x${perEpoch}.json`);
    console.log(`${name} (${init} init, ${epochs} epochs × ${perEpoch}): ${t.explanation}`);
    const t0 = Date.now();
    const stitch = await g.Stitch.train({
      classifier,
      layerX,
      generator,
      layerY: t.layer,
      runtime: rt,
      init,
      seed: 0,
      train,
      validation,
      testNetwork: g.demoModelDir(pair.test),
      epochs,
      samplesPerEpoch: perEpoch,
      checkpoint,
      onEpoch: (r) =>
        console.log(
          `  epoch ${r.epoch}: samples ${r.samples} loss ${r.trainLoss?.toFixed(4) ?? '—'} val cosine ${r.valCosine.toFixed(4)} ± ${r.valCosineStd.toFixed(3)} ` +
            `gram ${r.valGram.toFixed(4)} L1 ${r.valL1.toFixed(4)} (${r.seconds.toFixed(0)} s)`,
        ),
    });
    stitch.record = {
      ...stitch.record,
      distance: t.distance,
      explanation: t.explanation,
      recipe: 'models/recipes/train_stitches.ts',
      command: `node build/models/recipes/train_stitches.js ${process.argv.slice(2).join(' ')}`.trim(),
      wallSeconds: (Date.now() - t0) / 1000,
      machine: `${os.cpus().length}-core ${os.cpus()[0]?.model ?? 'CPU'}, onnxruntime ${threads} thread(s)`,
      date: new Date().toISOString().slice(0, 10),
    };
    await stitch.save(file);
    console.log(`  saved ${path.relative(process.cwd(), file)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

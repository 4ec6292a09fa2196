import { expect } from 'chai';
import { promises as fs } from 'fs';
import { execFile } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import {
  FeatureExtractor,
  FloatTensor,
  Generator,
  GanvasError,
  Runtime,
  Stitch,
  decodeModel,
  demoModelDir,
  fashionMnist,
  meanStd,
  nearestIndex,
  openModel,
  randn,
  stitchLayerModel,
  targetLayers,
  tissueCrops,
} from 'ganvas';
import { rejectsGanvas } from '../util';

const rt = new Runtime({ threads: 1 });
const demo = (n: string) => openModel(demoModelDir(n));

function maxDiff(a: FloatTensor, b: FloatTensor): number {
  expect(a.dims).to.deep.equal(b.dims);
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
  return d;
}

async function tmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-stitch-'));
}

describe('stitching: the 1×1 stitch layer', () => {
  // The resize must pick source row floor(i · in / out) (PyTorch's nearest) for every size pair: integer
  // up-sampling (Resize), integer down-sampling (strided Slice) and anything else (Gather).
  for (const [from, to] of [
    [[4, 4], [8, 8]],
    [[8, 8], [4, 4]],
    [[7, 5], [3, 9]],
    [[3, 6], [7, 2]],
    [[6, 6], [6, 12]],
  ] as [[number, number], [number, number]][]) {
    it(`nearest resize ${from.join('×')} → ${to.join('×')} reads row floor(i·in/out), column likewise`, async () => {
      const cin = 3;
      const cout = 2;
      const m = stitchLayerModel(cin, cout, from, to);
      const s = await rt.session(m);
      const x = randn('stitch-x', [2, cin, from[0], from[1]]);
      const weight = randn('stitch-w', [cout, cin, 1, 1]);
      const bias = randn('stitch-b', [cout]);
      const y = (await s.run({ x, weight, bias }))['y'];
      expect(y.dims).to.deep.equal([2, cout, to[0], to[1]]);
      const sy = nearestIndex(to[0], from[0]);
      const sx = nearestIndex(to[1], from[1]);
      let worst = 0;
      for (let n = 0; n < 2; n++)
        for (let o = 0; o < cout; o++)
          for (let i = 0; i < to[0]; i++)
            for (let j = 0; j < to[1]; j++) {
              let v = bias.data[o];
              for (let c = 0; c < cin; c++) v += weight.data[o * cin + c] * x.data[((n * cin + c) * from[0] + sy[i]) * from[1] + sx[j]];
              worst = Math.max(worst, Math.abs(v - y.data[((n * cout + o) * to[0] + i) * to[1] + j]));
            }
      expect(worst).to.be.below(1e-5);
    });
  }
});

describe('stitching: target layer (paper 003 §4.2, §4.4)', () => {
  it('maps LayerX to the generator layer as many up-samplings from the output as LayerX is down-samplings from the input', async () => {
    const cls = await demo('fmnist-resnet');
    const gen = await demo('fmnist-stylegan');
    // fmnist-resnet: 32×32 input; layer1..4 at 16, 8, 4, 2. fmnist-stylegan: 32×32 output, first layers of each
    // size b4.conv1, b8.conv0, b16.conv0, b32.conv0.
    const rule: Record<string, string> = { layer1: 'b16.conv0', layer2: 'b8.conv0', layer3: 'b4.conv1', layer4: 'b4.conv1' };
    for (const [x, y] of Object.entries(rule)) {
      const ts = await targetLayers(cls, x, gen);
      expect(ts.find((t) => t.distance === 0)?.layer, x).to.equal(y);
    }
    const sweep = await targetLayers(cls, 'layer2', gen);
    expect(sweep.map((t) => [t.distance, t.layer])).to.deep.equal([
      [-1, 'b4.conv1'],
      [0, 'b8.conv0'],
      [1, 'b16.conv0'],
      [2, 'b32.conv0'],
    ]);
    const l4 = (await targetLayers(cls, 'layer4', gen, [0]))[0];
    expect(l4.explanation).to.match(/2×2 layer, which fmnist-stylegan does not have; 4×4 is the nearest size/);
    const ihc = await demo('ihc-features');
    const ig = await demo('ihc-gan');
    for (const [x, y] of Object.entries({ layer1: 'l32', layer2: 'l16', layer3: 'l8' })) {
      expect((await targetLayers(ihc, x, ig, [0]))[0].layer).to.equal(y);
    }
  });
});

describe('stitching: Stitch', function () {
  this.timeout(300000);
  let stitch: Stitch;
  let images: FloatTensor;

  before(async () => {
    stitch = await Stitch.create({
      classifier: demoModelDir('fmnist-resnet'),
      layerX: 'layer2',
      generator: demoModelDir('fmnist-stylegan'),
      runtime: rt,
      seed: 1,
    });
    images = (await fashionMnist('test', { count: 6 })).images;
  });

  it('chooses LayerY by the paper rule and names the pair', () => {
    expect(stitch.layerY).to.equal('b8.conv0');
    expect(stitch.name).to.equal('fmnist-resnet.layer2 → fmnist-stylegan.b8.conv0');
    expect(stitch.weights.weight.dims).to.deep.equal([128, 32, 1, 1]);
  });

  it('inverts deterministically for a seed; other seeds give other images', async () => {
    const a = await stitch.invert(images, { seed: 5 });
    const b = await stitch.invert(images, { seed: 5, batchSize: 4 });
    expect(a.dims).to.deep.equal([6, 1, 32, 32]);
    expect(maxDiff(a, b)).to.equal(0);
    const c = await stitch.invert(images, { seed: 6 });
    expect(maxDiff(a, c)).to.be.above(1e-3);
  });

  it('equals the generator tail run on the resized 1×1 conv of the classifier activations (composition check)', async () => {
    const fx = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer2', rt);
    const x = await fx.features(images, [0, 1]);
    const { weight, bias } = stitch.weights;
    // 1×1 conv in JS, then nearest 8×8 → 8×8 (same size here), then the tail with seed 3's carry.
    const [n, cx, h, w] = x.dims;
    const cy = weight.dims[0];
    const a = new Float32Array(n * cy * h * w);
    for (let s = 0; s < n; s++)
      for (let o = 0; o < cy; o++)
        for (let p = 0; p < h * w; p++) {
          let v = bias.data[o];
          for (let c = 0; c < cx; c++) v += weight.data[o * cx + c] * x.data[(s * cx + c) * h * w + p];
          a[(s * cy + o) * h * w + p] = v;
        }
    const head = await stitch.cut.sample(Array(n).fill(3));
    const expected = await stitch.cut.render({ data: a, dims: [n, cy, h, w] }, head.carry);
    const got = await stitch.invert(images, { seed: 3 });
    expect(maxDiff(got, expected)).to.be.below(1e-4);
  });

  it('variations: one image, one reconstruction per seed', async () => {
    const one = { data: images.data.slice(0, 1024), dims: [1, 1, 32, 32] };
    const v = await stitch.variations(one, [0, 1, 2]);
    expect(v.dims).to.deep.equal([3, 1, 32, 32]);
    const again = await stitch.invert(one, { seed: 2 });
    expect(maxDiff({ data: v.data.slice(2 * 1024), dims: [1, 1, 32, 32] }, again)).to.equal(0);
  });

  it('exports a standalone ONNX inverter that gives the same images as invert', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'inverter.onnx');
    await stitch.exportOnnx(file);
    const m = await openModel(demoModelDir('fmnist-stylegan'));
    const gen = new Generator(m, rt);
    const session = await rt.session(decodeModel(await fs.readFile(file), file));
    const seeds = [0, 1, 2, 3, 4, 5];
    const all = gen.inputs(seeds);
    const feeds: Record<string, FloatTensor> = { image: images };
    for (const i of session.inputs) if (i.name !== 'image') feeds[i.name] = all[i.name] as FloatTensor;
    expect(session.inputs.map((i) => i.name)).to.include('z');
    // noise_b8_conv0 is read only before LayerY (b8.conv0's own output): pruned; exportFeeds gives what is listed.
    expect(session.inputs.map((i) => i.name)).to.not.include('noise_b8_conv0');
    expect(Object.keys(stitch.exportFeeds(session.model, images, seeds)).sort()).to.deep.equal(Object.keys(feeds).sort());
    const out = Object.values(await session.run(feeds))[0];
    const rec = await stitch.invert(images, { seeds });
    expect(maxDiff(out, rec)).to.be.below(1e-5);
  });

  it('saves and loads (one atomic file); the loaded stitch inverts identically', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'stitch.json');
    stitch.record = { note: 'test' };
    await stitch.save(file);
    expect(await fs.readdir(dir)).to.deep.equal(['stitch.json']);
    const loaded = await Stitch.load(file, { runtime: rt });
    expect(loaded.layerX).to.equal('layer2');
    expect(loaded.layerY).to.equal('b8.conv0');
    expect(loaded.record).to.deep.equal({ note: 'test' });
    expect(maxDiff(await loaded.invert(images, { seed: 1 }), await stitch.invert(images, { seed: 1 }))).to.equal(0);
    // A directory works too.
    expect((await Stitch.load(dir, { runtime: rt })).layerY).to.equal('b8.conv0');
  });

  it('refuses a stitch file for other models, with the digests', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'stitch.json');
    await stitch.save(file);
    const e = await rejectsGanvas(Stitch.load(file, { classifier: demoModelDir('fmnist-testnet'), runtime: rt }), 'BAD_INPUT');
    expect(e.message).to.match(/trained with classifier fmnist-resnet .*fmnist-testnet .* is a different model/);
    await fs.writeFile(path.join(dir, 'bad.json'), '{"format":"something"}');
    expect((await rejectsGanvas(Stitch.load(path.join(dir, 'bad.json')))).message).to.match(/not a stitch file/);
    await fs.writeFile(path.join(dir, 'half.json'), '{"format":"gan');
    expect((await rejectsGanvas(Stitch.load(path.join(dir, 'half.json')))).message).to.match(/invalid JSON/);
  });

  it('refuses bad images with the expected shape in the message', async () => {
    expect((await rejectsGanvas(stitch.invert(randn('x', [2, 1, 28, 28])))).message).to.match(/28×28, but fmnist-resnet takes 32×32/);
    expect((await rejectsGanvas(stitch.invert(randn('x', [2, 2, 32, 32])))).message).to.match(/1 or 3 channels, got 2/);
    const nan = randn('x', [1, 1, 32, 32]);
    nan.data[5] = NaN;
    expect((await rejectsGanvas(stitch.invert(nan))).message).to.match(/non-finite value \(NaN\) at index 5/);
    expect((await rejectsGanvas(stitch.invert(images, { seeds: [1, 2] }))).message).to.match(/2 seeds for 6 images/);
    expect((await rejectsGanvas(stitch.invert(randn('x', [2, 32, 32]) as FloatTensor))).code).to.equal('NOT_4D');
  });

  it('refuses layers that do not exist, naming nearby ones', async () => {
    const e = await rejectsGanvas(
      Stitch.create({ classifier: demoModelDir('fmnist-resnet'), layerX: 'layer5', generator: demoModelDir('fmnist-stylegan'), runtime: rt }),
      'NO_SUCH_LAYER',
    );
    expect(e.message).to.match(/"layer[1-4]"/);
    const e2 = await rejectsGanvas(
      Stitch.create({ classifier: demoModelDir('fmnist-resnet'), layerX: 'layer1', generator: demoModelDir('fmnist-stylegan'), layerY: 'b16.conv9', runtime: rt }),
      'NO_SUCH_LAYER',
    );
    expect(e2.message).to.match(/b16\.conv[01]/);
    const e3 = await rejectsGanvas(
      Stitch.create({ classifier: demoModelDir('fmnist-stylegan'), layerX: 'b8.conv0', generator: demoModelDir('fmnist-stylegan'), runtime: rt }),
      'BAD_MANIFEST',
    );
    expect(e3.message).to.match(/is a generator/);
    const wrong = { weight: randn('w', [10, 32, 1, 1]), bias: randn('b', [10]) };
    expect(() => stitch.setWeights(wrong)).to.throw(GanvasError, /must be \[128, 32, 1, 1\]/);
  });
});

describe('stitching: training', function () {
  this.timeout(600000);

  it('a trained stitch beats its initialization on held-out images; resuming from a checkpoint gives the same weights', async () => {
    const train = (await fashionMnist('train', { count: 400 })).images;
    const validation = (await fashionMnist('test', { count: 40, offset: 1000 })).images;
    const dir = await tmpDir();
    const common = {
      classifier: demoModelDir('fmnist-resnet'),
      layerX: 'layer1',
      generator: demoModelDir('fmnist-stylegan'),
      runtime: rt,
      train,
      validation,
      testNetwork: demoModelDir('fmnist-testnet'),
      samplesPerEpoch: 160,
      init: 'default' as const,
      seed: 7,
    };
    const full = await Stitch.train({ ...common, epochs: 3 });
    const history = full.record.history as { epoch: number; valCosine: number }[];
    expect(history.map((h) => h.epoch)).to.deep.equal([0, 1, 2, 3]);
    const best = Math.max(...history.map((h) => h.valCosine));
    // Measured: 0.46 at initialization (PyTorch default init), ≥ 0.8 after 480 samples. The margin asked: 0.2.
    expect(best - history[0].valCosine, JSON.stringify(history)).to.be.above(0.2);
    // Interrupted after 2 epochs (the checkpoint holds epoch 2), then resumed to 3.
    const ck = path.join(dir, 'ck.json');
    await Stitch.train({ ...common, epochs: 2, checkpoint: ck });
    const resumed = await Stitch.train({ ...common, epochs: 3, checkpoint: ck });
    expect(maxDiff(resumed.weights.weight, full.weights.weight)).to.equal(0);
    expect(maxDiff(resumed.weights.bias, full.weights.bias)).to.equal(0);
    // Other settings are refused rather than mixed into the checkpoint.
    const e = await rejectsGanvas(Stitch.train({ ...common, epochs: 3, checkpoint: ck, lr: 0.02 }), 'BAD_INPUT');
    expect(e.message).to.match(/belongs to a run with other settings/);
  });

  it('the least-squares initialization starts far closer than PyTorch\'s default (validation cosine)', async () => {
    const validation = (await fashionMnist('test', { count: 40, offset: 2000 })).images;
    const test = await FeatureExtractor.open(demoModelDir('fmnist-testnet'), 'layer1', rt);
    const opts = { classifier: demoModelDir('fmnist-resnet'), layerX: 'layer1', generator: demoModelDir('fmnist-stylegan'), runtime: rt };
    const dflt = await Stitch.create({ ...opts, init: 'default' });
    const lsq = await Stitch.create({ ...opts, init: 'lstsq', initSamples: 128 });
    const cd = meanStd((await dflt.evaluate(test, validation)).metrics.cosine).mean;
    const cl = meanStd((await lsq.evaluate(test, validation)).metrics.cosine).mean;
    // Measured 0.46 vs 0.71 on 500 images with 512 fitting samples.
    expect(cl - cd, `default ${cd}, lstsq ${cl}`).to.be.above(0.1);
    expect((lsq.record.lstsq as { r2: number }).r2).to.be.within(0, 1);
  });

  it('a cancelled training stops within a step, keeps the last finished epoch, and resumes from it', async () => {
    const train = (await fashionMnist('train', { count: 80 })).images;
    const validation = (await fashionMnist('test', { count: 8, offset: 3000 })).images;
    const ck = path.join(await tmpDir(), 'ck.json');
    const common = {
      classifier: demoModelDir('fmnist-resnet'),
      layerX: 'layer1',
      generator: demoModelDir('fmnist-stylegan'),
      runtime: rt,
      train,
      validation,
      testNetwork: demoModelDir('fmnist-testnet'),
      samplesPerEpoch: 40,
      epochs: 2,
      checkpoint: ck,
    };
    const ac = new AbortController();
    let steps = 0;
    const run = Stitch.train({ ...common, signal: ac.signal, onProgress: (p) => { steps++; if (p.epoch === 2 && p.step === 2) ac.abort(); } });
    const e = await run.then(() => undefined, (err: unknown) => err as Error);
    expect(e?.name).to.equal('AbortError');
    expect(steps).to.equal(5 + 2); // epoch 1's five steps, then two of epoch 2
    expect(JSON.parse(await fs.readFile(ck, 'utf8')).epoch).to.equal(1);
    const resumed = await Stitch.train(common);
    expect((resumed.record.history as { epoch: number }[]).map((h) => h.epoch)).to.deep.equal([0, 1, 2]);
    const pre = new AbortController();
    pre.abort();
    expect((await Stitch.train({ ...common, signal: pre.signal }).then(() => undefined, (err: unknown) => err as Error))?.name).to.equal('AbortError');
  });

  it('refuses bad training settings up front', async () => {
    const train = (await fashionMnist('train', { count: 16 })).images;
    const common = {
      classifier: demoModelDir('fmnist-resnet'),
      layerX: 'layer1',
      generator: demoModelDir('fmnist-stylegan'),
      runtime: rt,
      train,
      validation: train,
      testNetwork: demoModelDir('fmnist-testnet'),
    };
    expect((await rejectsGanvas(Stitch.train({ ...common, epochs: 0 }))).message).to.match(/epochs must be an integer/);
    expect((await rejectsGanvas(Stitch.train({ ...common, batchSize: 2.5 }))).message).to.match(/batchSize/);
    expect((await rejectsGanvas(Stitch.train({ ...common, lr: NaN }))).message).to.match(/lr must be/);
    expect((await rejectsGanvas(Stitch.train({ ...common, samplesPerEpoch: 17 }))).message).to.match(/samplesPerEpoch/);
    const rgb = { data: new Float32Array(3 * train.data.length), dims: [16, 3, 32, 32] };
    expect((await rejectsGanvas(Stitch.train({ ...common, validation: rgb, epochs: 1 }))).message).to.match(/training images are \[1, 32, 32\] per image but validation images are \[3, 32, 32\]/);
    const tissue = await tissueCrops({ count: 2, seed: 0, split: 'validation' });
    expect((await rejectsGanvas(Stitch.train({ ...common, validation: tissue }))).message).to.match(/64×64, but fmnist-resnet takes 32×32/);
  });
});

describe('stitching: a classifier we never trained (torchvision ResNet18, random weights, max-pool stem)', function () {
  this.timeout(600000);

  it('stitches into both demo generators (RGB 64×64 → gray 32×32 and → RGB 64×64), trains, inverts and exports alike', async () => {
    const dir = await tmpDir();
    const recipe = path.join(__dirname, '..', '..', '..', 'models', 'recipes', 'export_torchvision.py');
    await new Promise<void>((resolve, reject) =>
      execFile('/usr/bin/python3', [recipe, '--arch', 'resnet18', '--random-weights', '--seed', '1', '--size', '64', '--out', dir, '--no-fixture'], (err, _o, e) =>
        err ? reject(new Error(`export failed: ${e}`)) : resolve(),
      ),
    );
    const crops = await tissueCrops({ count: 8, seed: 0, split: 'validation' });
    for (const [gen, layerY, channels] of [['fmnist-stylegan', 'b4.conv1', 1], ['ihc-gan', 'l8', 3]] as const) {
      // resnet18 layer2 is 8×8 of a 64×64 input: 3 down-samplings → the generator layer 3 up-samplings from its output.
      const s = await Stitch.train({
        classifier: dir, layerX: 'layer2', generator: demoModelDir(gen), runtime: rt, init: 'lstsq', initSamples: 16,
        train: crops, validation: crops, testNetwork: dir, epochs: 1, samplesPerEpoch: 8,
      });
      expect(s.layerY).to.equal(layerY);
      const rec = await s.invert(crops, { seed: 1 });
      expect(rec.dims).to.deep.equal([8, channels, gen === 'ihc-gan' ? 64 : 32, gen === 'ihc-gan' ? 64 : 32]);
      expect(rec.data.every(Number.isFinite)).to.equal(true);
      const m = s.exportModel();
      const out = Object.values(await (await rt.session(m)).run(s.exportFeeds(m, crops, Array(8).fill(1))))[0];
      expect(maxDiff(out, rec)).to.be.below(1e-4);
    }
  });
});

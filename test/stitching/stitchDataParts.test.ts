/**
 * The stitching data sets (data.ts) and the demo-stitch helpers (demo.ts), checked fast (issue 19): Fashion-MNIST
 * against the idx files read here byte by byte, with resize cases worked by hand (size 28 = the raw pixels, 14 =
 * the mean of each 2×2 block, 56 = the ¼–¾ blend of align_corners=False); tissue crops found again in ihc.png
 * (read here with sharp) inside their split's columns; validation histories and the best epoch by hand.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import sharp from 'sharp';
import seedrandom from 'seedrandom';
import {
  FeatureExtractor,
  FloatTensor,
  Runtime,
  Stitch,
  bestEpoch,
  demoModelDir,
  demoStitchFiles,
  demoStitchPath,
  fashionMnist,
  loadDemoStitches,
  openModel,
  randn,
  readStitchRecord,
  targetLayers,
  testNetworkOf,
  tissueCrops,
  validationHistory,
} from 'ganvas';
import { tinyClassifier, tinyGenerator } from '../models';
import { rejectsGanvas, throwsGanvas } from '../util';
import { maxDiff, uniformImages } from './tiny';

const rt = new Runtime({ threads: 1 });
const FM = '/usr/share/datasets/fashion-mnist';

/** The test split's images as bytes: magic, count, rows, cols (big-endian), then the pixels. */
async function rawTest(): Promise<{ n: number; h: number; w: number; px: Buffer; labels: Buffer }> {
  const img = gunzipSync(await fs.readFile(`${FM}/t10k-images-idx3-ubyte.gz`));
  const lab = gunzipSync(await fs.readFile(`${FM}/t10k-labels-idx1-ubyte.gz`));
  return { n: img.readUInt32BE(4), h: img.readUInt32BE(8), w: img.readUInt32BE(12), px: img.subarray(16), labels: lab.subarray(8) };
}

describe('stitching parts: Fashion-MNIST (data.ts)', function () {
  this.timeout(120000);
  let raw: Awaited<ReturnType<typeof rawTest>>;
  before(async () => {
    raw = await rawTest();
  });

  it('size 28 gives the raw pixels / 255 and the labels, from offset on', async () => {
    expect([raw.n, raw.h, raw.w]).to.deep.equal([10000, 28, 28]);
    const { images, labels } = await fashionMnist('test', { count: 3, offset: 7, size: 28 });
    expect(images.dims).to.deep.equal([3, 1, 28, 28]);
    for (let i = 0; i < 3 * 784; i++) expect(images.data[i]).to.be.closeTo(raw.px[7 * 784 + i] / 255, 1e-6);
    expect(Array.from(labels)).to.deep.equal(Array.from(raw.labels.subarray(7, 10)));
  });

  it('size 14 averages each 2×2 block; size 56 blends neighbours ¼–¾ (align_corners=False), edges clamped', async () => {
    const px = (n: number, y: number, x: number) => raw.px[n * 784 + y * 28 + x] / 255;
    const half = (await fashionMnist('test', { count: 2, offset: 1, size: 14 })).images;
    for (let n = 0; n < 2; n++)
      for (let y = 0; y < 14; y++)
        for (let x = 0; x < 14; x++) {
          const want = (px(1 + n, 2 * y, 2 * x) + px(1 + n, 2 * y, 2 * x + 1) + px(1 + n, 2 * y + 1, 2 * x) + px(1 + n, 2 * y + 1, 2 * x + 1)) / 4;
          expect(half.data[(n * 14 + y) * 14 + x]).to.be.closeTo(want, 1e-5);
        }
    // Along one axis at 2×: output 2i+1 = ¾ x[i] + ¼ x[i+1], output 2i = ¼ x[i−1] + ¾ x[i], output 0 = x[0], 55 = x[27].
    const tap = (o: number): [number, number, number] => {
      if (o === 0) return [0, 0, 1];
      if (o === 55) return [27, 27, 1];
      const i = Math.floor(o / 2);
      return o % 2 === 1 ? [i, i + 1, 0.75] : [i - 1, i, 0.25];
    };
    const dbl = (await fashionMnist('test', { count: 1, offset: 4, size: 56 })).images;
    expect(dbl.dims).to.deep.equal([1, 1, 56, 56]);
    let worst = 0;
    for (let y = 0; y < 56; y++)
      for (let x = 0; x < 56; x++) {
        const [y0, y1, ay] = tap(y);
        const [x0, x1, ax] = tap(x);
        const v = ay * (ax * px(4, y0, x0) + (1 - ax) * px(4, y0, x1)) + (1 - ay) * (ax * px(4, y1, x0) + (1 - ax) * px(4, y1, x1));
        worst = Math.max(worst, Math.abs(v - dbl.data[y * 56 + x]));
      }
    expect(worst).to.be.below(1e-5);
    // Default size 32, in [0, 1]; the default count is the rest of the split.
    const rest = await fashionMnist('test', { offset: 9998 });
    expect(rest.images.dims).to.deep.equal([2, 1, 32, 32]);
    expect(Array.from(rest.labels)).to.deep.equal(Array.from(raw.labels.subarray(9998)));
    expect(Math.min(...rest.images.data)).to.be.at.least(0);
    expect(Math.max(...rest.images.data)).to.be.at.most(1);
    expect(Math.max(...rest.images.data)).to.be.above(0.5);
  });

  it('reads the train split from its own files, and refuses bad arguments', async () => {
    const img = gunzipSync(await fs.readFile(`${FM}/train-images-idx3-ubyte.gz`));
    const lab = gunzipSync(await fs.readFile(`${FM}/train-labels-idx1-ubyte.gz`));
    const { images, labels } = await fashionMnist('train', { count: 2, offset: 59998, size: 28 });
    for (let i = 0; i < 2 * 784; i++) expect(images.data[i]).to.be.closeTo(img[16 + 59998 * 784 + i] / 255, 1e-6);
    expect(Array.from(labels)).to.deep.equal([lab[8 + 59998], lab[8 + 59999]]);
    const msg = async (p: Promise<unknown>) => (await rejectsGanvas(p, 'BAD_INPUT')).message;
    expect(await msg(fashionMnist('val' as 'test'))).to.equal('split must be "train" or "test", got "val"');
    expect(await msg(fashionMnist('test', { offset: 10001 }))).to.equal('offset must be an integer in 0..10000, got 10001');
    expect(await msg(fashionMnist('test', { offset: -1 }))).to.equal('offset must be an integer in 0..10000, got -1');
    expect(await msg(fashionMnist('test', { offset: 9000, count: 1001 }))).to.equal('count must be an integer in 0..1000, got 1001');
    expect(await msg(fashionMnist('test', { count: 2.5 }))).to.equal('count must be an integer in 0..10000, got 2.5');
    expect(await msg(fashionMnist('test', { count: 1, size: 4097 }))).to.equal('size must be an integer in 0..4096, got 4097');
    const none = await fashionMnist('test', { offset: 10000 });
    expect(none.images.dims).to.deep.equal([0, 1, 32, 32]);
  });
});

describe('stitching parts: tissue crops (data.ts)', function () {
  this.timeout(120000);
  let slide: { data: Buffer; width: number; height: number };
  before(async () => {
    const { data, info } = await sharp('/usr/lib/python3/dist-packages/skimage/data/ihc.png').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    slide = { data, width: info.width, height: info.height };
  });

  /** The crop's 8 flips/rotations: for each, where in the slide (x0 within [lo, hi]) the crop is found, or none. */
  function find(crop: FloatTensor, k: number, size: number, lo: number, hi: number, transforms: number): { x0: number; y0: number } | undefined {
    const at = (c: number, y: number, x: number) => crop.data[((k * 3 + c) * size + y) * size + x];
    for (let t = 0; t < transforms; t++) {
      // t: bit 2 = transpose, bits 0–1 = flip rows / columns.
      const src = (y: number, x: number): [number, number] => {
        let [sy, sx] = t & 4 ? [x, y] : [y, x];
        if (t & 1) sy = size - 1 - sy;
        if (t & 2) sx = size - 1 - sx;
        return [sy, sx];
      };
      for (let y0 = 0; y0 + size <= slide.height; y0++)
        for (let x0 = lo; x0 <= hi; x0++) {
          let ok = true;
          for (let y = 0; y < size && ok; y++)
            for (let x = 0; x < size && ok; x++) {
              const [sy, sx] = src(y, x);
              for (let c = 0; c < 3 && ok; c++) if (Math.abs(slide.data[((y0 + sy) * slide.width + x0 + sx) * 3 + c] / 255 - at(c, y, x)) > 1e-6) ok = false;
            }
          if (ok) return { x0, y0 };
        }
    }
    return undefined;
  }

  it('validation crops are plain windows inside columns 400…511; train crops lie in columns 0…399, flipped or turned', async () => {
    expect([slide.width, slide.height]).to.deep.equal([512, 512]);
    const size = 6;
    const val = await tissueCrops({ count: 3, seed: 1, split: 'validation', size });
    expect(val.dims).to.deep.equal([3, 3, 6, 6]);
    for (let k = 0; k < 3; k++) expect(find(val, k, size, 400, 512 - size, 1), `validation crop ${k}`).to.not.equal(undefined);
    const tr = await tissueCrops({ count: 4, seed: 1, split: 'train', size });
    for (let k = 0; k < 4; k++) expect(find(tr, k, size, 0, 400 - size, 8), `train crop ${k}`).to.not.equal(undefined);
    // Without augmentation a train crop is a plain window.
    const plain = await tissueCrops({ count: 3, seed: 2, split: 'train', size, augment: false });
    for (let k = 0; k < 3; k++) expect(find(plain, k, size, 0, 400 - size, 1), `plain train crop ${k}`).to.not.equal(undefined);
    // Augmented crops are not all plain windows (4 rotations × 2 flips: 7 of 8 change the crop).
    const aug = await tissueCrops({ count: 6, seed: 3, split: 'train', size });
    let turned = 0;
    for (let k = 0; k < 6; k++) if (find(aug, k, size, 0, 400 - size, 1) === undefined) turned++;
    expect(turned).to.be.above(0);
  });

  it('crop i is drawn by the documented rule (top, left, quarter turns, mirror from seedrandom), built here with sharp', async () => {
    // The rule in TissueCropOptions' comment: u1…u4, the first draws of seedrandom("tissue:<split>:<seed>:<i>");
    // top ⌊u1·(512 − size + 1)⌋, left lo + ⌊u2·(hi − lo + 1)⌋ (train: lo 0, hi 400 − size; validation: 400, 512 −
    // size); with augmentation ⌊u3·4⌋ quarter turns counter-clockwise, then a left–right mirror when u4 < 0.5. A
    // seed names a set of images, so this rule is part of what a seed promises. The expected crop is cut, turned
    // (sharp turns clockwise: 360° − 90°·r) and mirrored by sharp, not by the code under test.
    const size = 16;
    const plane = async (img: sharp.Sharp) => new Uint8Array(await img.raw().toBuffer());
    const cases: [split: 'train' | 'validation', augment: boolean | undefined, count: number][] = [['train', undefined, 40], ['validation', undefined, 16], ['train', false, 6], ['validation', true, 8]];
    const seen = { turns: new Set<number>(), mirrored: 0, plain: 0, lefts: [] as number[] };
    for (const [split, augment, count] of cases) {
      const got = await tissueCrops({ count, seed: 'rule', split, size, augment, offset: 5 });
      const [lo, hi] = split === 'train' ? [0, 400 - size] : [400, 512 - size];
      for (let k = 0; k < count; k++) {
        const rng = seedrandom(`tissue:${split}:rule:${5 + k}`);
        const top = Math.floor(rng() * (512 - size + 1));
        const left = lo + Math.floor(rng() * (hi - lo + 1));
        const aug = augment ?? split === 'train';
        const turns = aug ? Math.floor(rng() * 4) : 0;
        const mirror = aug ? rng() < 0.5 : false;
        if (split === 'train' && aug) {
          seen.turns.add(turns);
          if (mirror) seen.mirrored++;
          else seen.plain++;
          seen.lefts.push(left);
        }
        const cut = await plane(sharp('/usr/lib/python3/dist-packages/skimage/data/ihc.png').removeAlpha().extract({ left, top, width: size, height: size }).rotate((360 - 90 * turns) % 360));
        const want = mirror ? await plane(sharp(Buffer.from(cut), { raw: { width: size, height: size, channels: 3 } }).flop()) : cut;
        for (let c = 0; c < 3; c++)
          for (let p = 0; p < size * size; p++) {
            const v = got.data[(k * 3 + c) * size * size + p];
            if (Math.abs(v - want[p * 3 + c] / 255) > 1e-6) expect.fail(`${split} crop ${5 + k} (augment ${augment}), channel ${c}, pixel ${p}: ${v} != ${want[p * 3 + c] / 255}`);
          }
      }
    }
    // The draws used all four turns, both mirror choices and left edges across the train range.
    expect([...seen.turns].sort()).to.deep.equal([0, 1, 2, 3]);
    expect(seen.mirrored).to.be.above(0);
    expect(seen.plain).to.be.above(0);
    expect(Math.max(...seen.lefts) - Math.min(...seen.lefts)).to.be.above(200);
  });

  it('crop i depends on (split, seed, index) alone; refusals', async () => {
    const a = await tissueCrops({ count: 4, seed: 'x', split: 'train', size: 8 });
    const b = await tissueCrops({ count: 2, seed: 'x', split: 'train', size: 8, offset: 2 });
    expect(Array.from(b.data)).to.deep.equal(Array.from(a.data.subarray(2 * 192)));
    const c = await tissueCrops({ count: 99, seed: 'x', split: 'train', size: 8, indices: [3, 0] });
    expect(c.dims).to.deep.equal([2, 3, 8, 8]);
    expect(Array.from(c.data.subarray(0, 192))).to.deep.equal(Array.from(a.data.subarray(3 * 192)));
    expect(Array.from(c.data.subarray(192))).to.deep.equal(Array.from(a.data.subarray(0, 192)));
    const d = await tissueCrops({ count: 4, seed: 'y', split: 'train', size: 8 });
    expect(maxDiff(a, d)).to.be.above(0.01);
    const def = await tissueCrops({ count: 1, seed: 0, split: 'validation' });
    expect(def.dims).to.deep.equal([1, 3, 64, 64]);
    const msg = async (o: object) => (await rejectsGanvas(tissueCrops({ count: 1, seed: 0, split: 'train', ...o } as never), 'BAD_INPUT')).message;
    expect(await msg({ split: 'test' })).to.equal('split must be "train" or "validation", got "test"');
    expect(await msg({ size: 113 })).to.equal('size must be an integer in 0..112, got 113');
    expect(await msg({ count: -1 })).to.equal('count must be an integer in 0..10000000, got -1');
    expect(await msg({ offset: 1.5 })).to.equal('offset must be an integer in 0..1000000000000, got 1.5');
    expect(await msg({ indices: [0, -2] })).to.equal('crop index must be an integer in 0..1000000000000, got -2');
  });
});

describe('stitching parts: demo stitches, records and histories (demo.ts)', function () {
  this.timeout(120000);
  let cls: string;
  let gen: string;
  let layerY1: string;
  let layerY2: string;
  before(async () => {
    cls = await tinyClassifier();
    gen = await tinyGenerator();
    const c = await openModel(cls);
    const g = await openModel(gen);
    layerY1 = (await targetLayers(c, 'layer1', g, [0]))[0].layer;
    layerY2 = (await targetLayers(c, 'layer2', g, [0]))[0].layer;
  });

  it('lists where each pair\'s stitches are, saved ones as existing; opens those and notes the rest', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-dp-'));
    const file = (x: string, y: string) => path.join(dir, `tiny-cls-${x}__tiny-gen-${y}`, 'stitch.json');
    let entries = await demoStitchFiles(cls, gen, { dir });
    expect(entries).to.deep.equal([
      { classifier: 'tiny-cls', layerX: 'layer1', generator: 'tiny-gen', layerY: layerY1, distance: 0, file: file('layer1', layerY1), exists: false },
      { classifier: 'tiny-cls', layerX: 'layer2', generator: 'tiny-gen', layerY: layerY2, distance: 0, file: file('layer2', layerY2), exists: false },
    ]);
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: layerY1, runtime: rt, init: { weight: randn('dp-w', [4, 6, 1, 1]), bias: randn('dp-b', [4]) } });
    s.record = { init: 'given', history: [] };
    await fs.mkdir(path.dirname(file('layer1', layerY1)), { recursive: true });
    await s.save(file('layer1', layerY1));
    // A folder where the file would be is not a stitch.
    await fs.mkdir(file('layer2', layerY2), { recursive: true });
    entries = await demoStitchFiles(await openModel(cls), await openModel(gen), { dir, layers: ['layer2', 'layer1'] });
    expect(entries.map((e) => [e.layerX, e.exists])).to.deep.equal([
      ['layer2', false],
      ['layer1', true],
    ]);
    const loaded = await loadDemoStitches(cls, gen, { dir, runtime: rt });
    expect(loaded.stitches).to.have.length(1);
    expect(loaded.entries.map((e) => e.layerX)).to.deep.equal(['layer1']);
    expect(loaded.missing.map((e) => e.layerX)).to.deep.equal(['layer2']);
    expect(Array.from(loaded.stitches[0].weights.weight.data)).to.deep.equal(Array.from(s.weights.weight.data));
    expect(loaded.stitches[0].runtime).to.equal(rt);
    expect(loaded.notes).to.deep.equal([`no stitch tiny-cls.layer2 → tiny-gen.${layerY2} (distance 0) yet: ${file('layer2', layerY2)} does not exist`]);
    const e = await rejectsGanvas(demoStitchFiles(cls, gen, { dir, layers: [] }), 'BAD_INPUT');
    expect(e.message).to.equal('tiny-cls names no layers in its manifest; pass layers: ["…"]');
  });

  it('demo names resolve to the shipped models and models/stitches (notes say models/…)', async () => {
    const entries = await demoStitchFiles('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1'] });
    expect(entries).to.have.length(1);
    expect(entries[0].file).to.equal(demoStitchPath('fmnist-resnet', 'layer1', 'fmnist-stylegan', entries[0].layerY));
    expect(entries[0].exists).to.equal(true);
    const two = await demoStitchFiles('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1'], distances: [0, 1] });
    expect(two.map((x) => x.distance)).to.deep.equal([0, 1]);
    const none = await loadDemoStitches('fmnist-resnet', gen, { layers: ['layer1'] });
    expect(none.stitches).to.have.length(0);
    expect(none.notes).to.have.length(1);
    expect(none.notes[0]).to.equal(`no stitch fmnist-resnet.layer1 → tiny-gen.${none.missing[0].layerY} (distance 0) yet: ${path.join('models', 'stitches', `fmnist-resnet-layer1__tiny-gen-${none.missing[0].layerY}`, 'stitch.json')} does not exist`);
  });

  it('readStitchRecord reads layers, names and record without opening models; refuses non-stitch files', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-dp-'));
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: layerY1, runtime: rt });
    s.record = { init: 'default', history: [{ epoch: 0 }] };
    const f = path.join(dir, 's.json');
    await s.save(f);
    expect(await readStitchRecord(f)).to.deep.equal({ layerX: 'layer1', layerY: layerY1, classifier: 'tiny-cls', generator: 'tiny-gen', record: s.record });
    const j = JSON.parse(await fs.readFile(f, 'utf8'));
    for (const record of [[1, 2], 'text', null, undefined]) {
      await fs.writeFile(f, JSON.stringify({ ...j, record }));
      expect((await readStitchRecord(f)).record).to.deep.equal({});
    }
    await fs.writeFile(f, JSON.stringify({ ...j, format: 'x/1' }));
    expect((await rejectsGanvas(readStitchRecord(f), 'BAD_INPUT')).message).to.equal(`${f} is not a stitch file (format "x/1", expected "ganvas-stitch/1")`);
    await fs.writeFile(f, 'null');
    expect((await rejectsGanvas(readStitchRecord(f), 'BAD_INPUT')).message).to.equal(`${f} is not a stitch file (format undefined, expected "ganvas-stitch/1")`);
    await fs.writeFile(f, '{');
    expect((await rejectsGanvas(readStitchRecord(f), 'BAD_INPUT')).message).to.match(new RegExp(`^cannot read stitch file ${f.replace(/[.]/g, '\\.')}: `));
    await fs.writeFile(f, JSON.stringify({ format: 'ganvas-stitch/1' }));
    expect(await readStitchRecord(f)).to.deep.equal({ layerX: 'undefined', layerY: 'undefined', classifier: 'undefined', generator: 'undefined', record: {} });
  });

  it('validationHistory keeps epoch, samples and the three metrics; bestEpoch is the first of the highest cosine', () => {
    const row = (epoch: number, valCosine: number) => ({ epoch, samples: 10 * epoch, valCosine, valL1: 1 - epoch / 10, valGram: 0.5, trainLoss: 3, seconds: 1 });
    const h = validationHistory({ history: [row(0, 0.2), row(1, 0.6), row(2, 0.4), row(3, 0.6)] });
    expect(h[1]).to.deep.equal({ epoch: 1, samples: 10, valCosine: 0.6, valL1: 0.9, valGram: 0.5 });
    expect(h).to.have.length(4);
    expect(bestEpoch(h).epoch).to.equal(1);
    expect(bestEpoch(h.slice(2)).epoch).to.equal(3);
    expect(bestEpoch([h[0]]).epoch).to.equal(0);
    expect(bestEpoch([h[2], h[0]]).epoch).to.equal(2);
    const msg = (r: Record<string, unknown>, what?: string) => throwsGanvas(() => validationHistory(r, what), 'BAD_INPUT').message;
    expect(msg({})).to.equal('stitch has no training history (record.history); was it trained with Stitch.train?');
    expect(msg({ history: [] }, 'my stitch')).to.equal('my stitch has no training history (record.history); was it trained with Stitch.train?');
    expect(msg({ history: 'x' })).to.equal('stitch has no training history (record.history); was it trained with Stitch.train?');
    expect(msg({ history: [row(0, 0.1), { ...row(1, 0.2), valL1: NaN }] })).to.equal('stitch: record.history[1].valL1 is null, expected a finite number');
    expect(msg({ history: [{ ...row(0, 0.1), samples: '3' }] }, 's')).to.equal('s: record.history[0].samples is "3", expected a finite number');
    expect(msg({ history: [{ ...row(0, 0.1), valGram: undefined }] })).to.equal('stitch: record.history[0].valGram is undefined, expected a finite number');
    expect(msg({ history: [{ ...row(0, 0.1), epoch: Infinity }] })).to.equal('stitch: record.history[0].epoch is null, expected a finite number');
    expect(msg({ history: [{ ...row(0, 0.1), valCosine: null }] })).to.equal('stitch: record.history[0].valCosine is null, expected a finite number');
    expect(msg({ history: [null] })).to.equal('stitch: record.history[0].epoch is undefined, expected a finite number');
  });

  it('testNetworkOf opens the recorded test network at its layer (default LayerX); refuses a stitch without one', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: layerY1, runtime: rt });
    const images = uniformImages('dp-tn', 2);
    s.record = { training: { testNetwork: cls, testLayer: 'layer2' } };
    const fx = await testNetworkOf(s);
    expect(fx.runtime).to.equal(rt);
    const want = await (await FeatureExtractor.open(cls, 'layer2', rt)).features(images, [0, 1]);
    expect(maxDiff(await fx.features(images, [0, 1]), want)).to.equal(0);
    s.record = { training: { testNetwork: cls } };
    const other = new Runtime({ threads: 1 });
    const fx1 = await testNetworkOf(s, other);
    expect(fx1.runtime).to.equal(other);
    const want1 = await (await FeatureExtractor.open(cls, 'layer1', rt)).features(images, [0, 1]);
    expect(maxDiff(await fx1.features(images, [0, 1]), want1)).to.equal(0);
    s.record = { training: { testNetwork: 'fmnist-resnet', testLayer: 'layer1' } };
    const demo = await testNetworkOf(s);
    expect(demo.bundle.dir).to.equal(demoModelDir('fmnist-resnet'));
    for (const record of [{}, { training: { testNetwork: 3 } }]) {
      s.record = record;
      expect((await rejectsGanvas(testNetworkOf(s), 'BAD_INPUT')).message).to.equal(
        `${s.name} does not record its test network (record.training.testNetwork); open one with FeatureExtractor.open`,
      );
    }
  });
});

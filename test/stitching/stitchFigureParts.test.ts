/**
 * Paper 003's figure helpers (figures.ts) on tiny models, in-process and fast (issue 19). Each sheet is compared
 * byte for byte with a contact sheet built here from what the figure is defined to show (originals in the
 * classifier's range, here [0, 2]; reconstructions inverted with the seeds the figure promises, in the generator's
 * [−1, 1]); the Fig. 9 selection against cosines computed apart and sorted here; the Fig. 5 sweep against values
 * worked by hand from written training records.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import {
  FeatureExtractor,
  FloatTensor,
  Runtime,
  STITCH_FORMAT,
  Stitch,
  activationMetrics,
  concatBatch,
  contactSheet,
  cosineExtremes,
  demoModelDir,
  demoStitchFiles,
  endLayerSeries,
  endLayerSweep,
  mapRange,
  randn,
  reconstructionSheet,
  sliceBatch,
  stitchLabel,
  validationSeries,
  variationSheet,
} from 'ganvas';
import { identityGenerator, tinyClassifier, tinyGenerator } from '../models';
import { rejectsGanvas, throwsGanvas } from '../util';
import { uniformImages } from './tiny';

const rt = new Runtime({ threads: 1 });

/** n images in (0, 2), the range of the classifier used here. */
function images(name: string, n: number): FloatTensor {
  const u = uniformImages(name, n);
  return { data: u.data.map((v) => 2 * v), dims: u.dims };
}

describe('stitching parts: the paper 003 figures (figures.ts)', function () {
  this.timeout(120000);
  let s1: Stitch;
  let s2: Stitch;
  let testNet: FeatureExtractor;
  let cls: string;

  before(async () => {
    // The tiny classifier, reading images in [0, 2] (so the originals' range is not the [0, 1] of a sheet).
    cls = await tinyClassifier();
    const mf = path.join(cls, 'ganvas.json');
    const j = JSON.parse(await fs.readFile(mf, 'utf8'));
    j.preprocess.range = [0, 2];
    await fs.writeFile(mf, JSON.stringify(j));
    const gen = await tinyGenerator();
    s1 = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: { weight: randn('fp-w1', [4, 6, 1, 1]), bias: randn('fp-b1', [4]) } });
    s2 = await Stitch.create({ classifier: cls, layerX: 'layer2', generator: gen, layerY: 'b8.conv1', runtime: rt, init: { weight: randn('fp-w2', [4, 8, 1, 1]), bias: randn('fp-b2', [4]) } });
    testNet = await FeatureExtractor.open(cls, 'layer2', rt);
  });

  it('labels a stitch "layerX → layerY"', () => {
    expect(stitchLabel(s1)).to.equal('layer1 → b8.conv1');
    expect(stitchLabel(s2)).to.equal('layer2 → b8.conv1');
  });

  it('reconstructionSheet (Fig. 4): originals, then one row per stitch, column i with seed i; options', async () => {
    const x = images('fp-rs', 3);
    const row = async (s: Stitch, label: string, seeds: number[]) => ({ label, images: mapRange(await s.invert(x, { seeds }), [-1, 1]) });
    const original = { label: 'original', images: mapRange(x, [0, 2]) };
    // 16-pixel images: cell scale round(96 / 16) = 6; label column 130.
    const want = await contactSheet([original, await row(s1, 'layer1 → b8.conv1', [0, 1, 2]), await row(s2, 'layer2 → b8.conv1', [0, 1, 2])], { range: [0, 1], scale: 6, labelWidth: 130 });
    const got = await reconstructionSheet([s1, s2], x);
    expect(Buffer.compare(got, want)).to.equal(0);
    const meta = await sharp(got).metadata();
    expect([meta.width, meta.height]).to.deep.equal([130 + 3 * (96 + 2) + 2, 3 * (96 + 2) + 2]);
    const want2 = await contactSheet([original, await row(s2, 'B', [5, 5, 7])], { range: [0, 1], scale: 2, labelWidth: 40 });
    expect(Buffer.compare(await reconstructionSheet([s2], x, { seeds: [5, 5, 7], labels: ['B'], scale: 2, labelWidth: 40 }), want2)).to.equal(0);
    // Labels given for some rows only: the rest keep theirs.
    const want3 = await contactSheet([original, await row(s1, 'A', [0, 1, 2]), await row(s2, 'layer2 → b8.conv1', [0, 1, 2])], { range: [0, 1], scale: 6, labelWidth: 130 });
    expect(Buffer.compare(await reconstructionSheet([s1, s2], x, { labels: ['A'] }), want3)).to.equal(0);
    expect((await rejectsGanvas(reconstructionSheet([], x), 'BAD_INPUT')).message).to.equal('reconstructionSheet needs at least one stitch');
    expect((await rejectsGanvas(reconstructionSheet([s1], { data: x.data, dims: [3, 16, 16] }), 'NOT_4D')).message).to.equal('images must be 4-D (N, C, H, W), got dims [3, 16, 16]');
  });

  it('variationSheet (Figs. 10–11): the original, then one reconstruction per seed, wrapped into rows', async () => {
    // Classifier and generator images of one shape (the demo pair, 1×32×32 both): the original leads the first row.
    const demo = await Stitch.create({ classifier: demoModelDir('fmnist-resnet'), layerX: 'layer2', generator: demoModelDir('fmnist-stylegan'), layerY: 'b8.conv0', runtime: rt, seed: 3 });
    const u = uniformImages('fp-vs', 1, 1, 32);
    const seeds = [3, 1, 4, 1, 5];
    const rec = await demo.variations(u, seeds);
    const all = concatBatch([mapRange(u, [0, 1]), mapRange(rec, [-1, 1])]);
    const captions = ['original', 'seed 3', 'seed 1', 'seed 4', 'seed 1', 'seed 5'];
    const rows = (k: number) => Array.from({ length: Math.ceil(6 / k) }, (_, r) => ({ images: sliceBatch(all, r * k, Math.min(6, r * k + k)), captions: captions.slice(r * k, r * k + k) }));
    // Rows of 4: [original, 3, 1, 4], [1, 5]; scale round(64 / 32) = 2.
    expect(Buffer.compare(await variationSheet(demo, u, seeds, { columns: 4 }), await contactSheet(rows(4), { range: [0, 1], scale: 2 }))).to.equal(0);
    // Default: 8 columns (one row here); a given scale; exactly two full rows of 3.
    expect(Buffer.compare(await variationSheet(demo, u, seeds, { scale: 3 }), await contactSheet(rows(8), { range: [0, 1], scale: 3 }))).to.equal(0);
    expect(Buffer.compare(await variationSheet(demo, u, seeds, { columns: 3 }), await contactSheet(rows(3), { range: [0, 1], scale: 2 }))).to.equal(0);
    // One column (the smallest allowed): one image per row.
    expect(Buffer.compare(await variationSheet(demo, u, seeds, { columns: 1 }), await contactSheet(rows(1), { range: [0, 1], scale: 2 }))).to.equal(0);
    // An image that is not N×C×H×W is named in the refusal.
    expect((await rejectsGanvas(variationSheet(demo, { data: u.data, dims: [1, 32, 32] }, seeds), 'NOT_4D')).message).to.equal('image must be 4-D (N, C, H, W), got dims [1, 32, 32]');
    for (const columns of [0, -1, 1.5]) {
      expect((await rejectsGanvas(variationSheet(demo, u, seeds, { columns }), 'BAD_INPUT')).message).to.equal(`columns must be a positive integer, got ${columns}`);
    }
  });

  it('variationSheet: an original of another size than the generator images gets a row of its own', async () => {
    // 16×16 originals (in [0, 2]), 8×8 reconstructions. Before session 11 this was a concatBatch refusal.
    const x = images('fp-vs2', 1);
    const seeds = [2, 7, 1];
    const rec = mapRange(await s1.variations(x, seeds), [-1, 1]);
    // round(64 / 16) = 4.
    const want = await contactSheet(
      [
        { images: mapRange(x, [0, 2]), captions: ['original'] },
        { images: sliceBatch(rec, 0, 2), captions: ['seed 2', 'seed 7'] },
        { images: sliceBatch(rec, 2, 3), captions: ['seed 1'] },
      ],
      { range: [0, 1], scale: 4 },
    );
    expect(Buffer.compare(await variationSheet(s1, x, seeds, { columns: 2 }), want)).to.equal(0);
  });

  it('cosineExtremes (Figs. 9, 3): image i inverted with seed i, the k lowest (or highest) test-network cosines', async () => {
    const n = 9;
    const x = images('fp-ce', n);
    const seeds = Array.from({ length: n }, (_, i) => i);
    const rec = await s1.invert(x, { seeds });
    const m = activationMetrics(await testNet.features(rec, [-1, 1]), await testNet.features(x, [0, 2]));
    const cos = Array.from(m.cosine);
    expect(new Set(cos).size).to.equal(n);
    const ascending = seeds.slice().sort((a, b) => cos[a] - cos[b]);
    const mean = cos.reduce((a, b) => a + b, 0) / n;
    const sheet = async (idx: number[]) => {
      const pick = (t: FloatTensor) => concatBatch(idx.map((i) => sliceBatch(t, i, i + 1)));
      return contactSheet(
        [
          { label: 'original', images: mapRange(pick(x), [0, 2]), captions: idx.map((i) => `#${i}`) },
          { label: 'layer1 → b8.conv1', images: mapRange(pick(rec), [-1, 1]), captions: idx.map((i) => `cos ${cos[i].toFixed(3)}`) },
        ],
        { range: [0, 1], scale: 6, labelWidth: 130 },
      );
    };
    for (const [opts, idx] of [
      [{}, ascending.slice(0, 8)],
      [{ count: 3 }, ascending.slice(0, 3)],
      [{ count: 2, highest: true, batchSize: 4 }, ascending.slice().reverse().slice(0, 2)],
      [{ count: 9, highest: false }, ascending],
      [{ count: 1 }, ascending.slice(0, 1)],
    ] as [{ count?: number; highest?: boolean; batchSize?: number }, number[]][]) {
      const got = await cosineExtremes(s1, testNet, x, opts);
      expect(got.indices).to.deep.equal(idx);
      got.cosine.forEach((c, k) => expect(c).to.be.closeTo(cos[idx[k]], 1e-6));
      expect(got.meanCosine).to.be.closeTo(mean, 1e-6);
      expect(Array.from(got.originals.data)).to.deep.equal(Array.from(concatBatch(idx.map((i) => sliceBatch(x, i, i + 1))).data));
      expect(got.reconstructions.dims).to.deep.equal([idx.length, 1, 8, 8]);
      expect(Array.from(got.reconstructions.data)).to.deep.equal(Array.from(concatBatch(idx.map((i) => sliceBatch(rec, i, i + 1))).data));
      expect(Buffer.compare(got.png, await sheet(idx))).to.equal(0);
    }
    for (const count of [0, 10, 2.5]) {
      expect((await rejectsGanvas(cosineExtremes(s1, testNet, x, { count }), 'BAD_INPUT')).message).to.equal(`count must be an integer in 1..9 (the number of images), got ${count}`);
    }
    expect((await rejectsGanvas(cosineExtremes(s1, testNet, { data: x.data, dims: [9, 16, 16] }), 'NOT_4D')).message).to.equal('images must be 4-D (N, C, H, W), got dims [9, 16, 16]');
    // Default count 8 is more than 5 images.
    await rejectsGanvas(cosineExtremes(s1, testNet, sliceBatch(x, 0, 5)), 'BAD_INPUT');
  });

  it('cosineExtremes breaks ties by index, lowest and highest alike', async () => {
    // The identity generator has no seed-dependent tail: copies of one image get the same reconstruction and cosine.
    const id = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: await identityGenerator(), layerY: 'h', runtime: rt, init: { weight: randn('fp-w3', [3, 6, 1, 1]), bias: randn('fp-b3', [3]) } });
    const x = images('fp-tie', 1);
    const four = concatBatch([x, x, x, x]);
    const low = await cosineExtremes(id, testNet, four, { count: 4 });
    expect(new Set(low.cosine).size).to.equal(1);
    expect(low.indices).to.deep.equal([0, 1, 2, 3]);
    expect((await cosineExtremes(id, testNet, four, { count: 3, highest: true })).indices).to.deep.equal([0, 1, 2]);
  });

  it('validationSeries: validation cosine (or L1, Gram) against training samples, one series per stitch', () => {
    const h = (k: number) => ({ history: [0, 1, 2].map((e) => ({ epoch: e, samples: 100 * e, valCosine: 0.5 + 0.1 * e + k, valL1: 1 - 0.1 * e, valGram: 0.9 - k, trainLoss: 1 })) });
    s1.record = h(0);
    s2.record = h(0.05);
    const [a, b] = validationSeries([s1, s2]);
    expect(a).to.deep.equal({ name: 'layer1 → b8.conv1', x: [0, 100, 200], y: [0.5, 0.6, 0.5 + 0.2] });
    expect(b.name).to.equal('layer2 → b8.conv1');
    expect(b.y).to.deep.equal([0.55, 0.5 + 0.1 + 0.05, 0.5 + 0.2 + 0.05]);
    expect(validationSeries([s1], 'valL1')[0].y).to.deep.equal([1, 0.9, 1 - 0.2]);
    expect(validationSeries([s2], 'valGram')[0].y).to.deep.equal([0.9 - 0.05, 0.9 - 0.05, 0.9 - 0.05]);
    s1.record = {};
    expect(throwsGanvas(() => validationSeries([s1]), 'BAD_INPUT').message).to.equal(`${s1.name} has no training history (record.history); was it trained with Stitch.train?`);
  });

  it('endLayerSweep (Fig. 5): best validation cosine and its L1 per samplings distance, relative to distance 0', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-fp-sweep-'));
    const files = await demoStitchFiles('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1', 'layer2'], distances: [-2, -1, 0, 1, 2], dir });
    const at = (x: string, d: number) => files.find((f) => f.layerX === x && f.distance === d)?.file as string;
    const write = async (file: string, history: [number, number][]) => {
      await fs.mkdir(path.dirname(file), { recursive: true });
      const record = { history: history.map(([valCosine, valL1], i) => ({ epoch: i, samples: 10 * i, valGram: 0.5, valCosine, valL1 })) };
      await fs.writeFile(file, JSON.stringify({ format: STITCH_FORMAT, layerX: 'x', layerY: 'y', classifier: { name: 'c' }, generator: { name: 'g' }, record }));
    };
    // layer1 at distances 1, −2, 0 (written out of order; −1 and +2 missing). Best epochs: the first of the highest cosine.
    await write(at('layer1', 1), [[0.6, 0.5], [0.7, 0.25], [0.7, 0.1]]);
    await write(at('layer1', -2), [[0.4, 0.8]]);
    await write(at('layer1', 0), [[0.8, 0.2], [0.75, 0.3]]);
    // layer2: no distance-0 stitch, so no relative values.
    await write(at('layer2', 2), [[0.3, 0.9]]);
    await write(at('layer2', -1), [[0.2, 0.6], [0.35, 0.7]]);
    const lines = await endLayerSweep('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1', 'layer2'], dir });
    expect(lines).to.deep.equal([
      {
        layerX: 'layer1',
        points: [
          { distance: -2, layerY: 'b4.conv1', cosine: 0.4, l1: 0.8, relativeCosine: 0.4 / 0.8, relativeL1: 0.8 / 0.2 },
          { distance: 0, layerY: 'b16.conv0', cosine: 0.8, l1: 0.2, relativeCosine: 1, relativeL1: 1 },
          { distance: 1, layerY: 'b32.conv0', cosine: 0.7, l1: 0.25, relativeCosine: 0.7 / 0.8, relativeL1: 0.25 / 0.2 },
        ],
      },
      {
        layerX: 'layer2',
        points: [
          { distance: -1, layerY: 'b4.conv1', cosine: 0.35, l1: 0.7 },
          { distance: 2, layerY: 'b32.conv0', cosine: 0.3, l1: 0.9 },
        ],
      },
    ]);
    expect(endLayerSeries(lines)).to.deep.equal([
      { name: 'layer1', x: [-2, 0, 1], y: [0.5, 1, 0.7 / 0.8] },
      { name: 'layer2', x: [-1, 2], y: [null, null] },
    ]);
    expect(endLayerSeries(lines, 'l1')[0].y).to.deep.equal([4, 1, 0.25 / 0.2]);
    expect(endLayerSeries(lines, 'cosine')[0].y).to.deep.equal([0.5, 1, 0.7 / 0.8]);
    // Only the distances asked for; a layer with no stitch at all is left out.
    const near = await endLayerSweep('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1', 'layer3'], dir, distances: [0, 1] });
    expect(near.map((l) => [l.layerX, l.points.map((p) => p.distance)])).to.deep.equal([['layer1', [0, 1]]]);
    // Distances asked for out of order still come out in order.
    const shuffled = await endLayerSweep('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1'], dir, distances: [1, 0, -2] });
    expect(shuffled).to.deep.equal([lines[0]]);
    // A record without a history is an error naming the file.
    await write(at('layer1', -1), []);
    const e = await rejectsGanvas(endLayerSweep('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1'], dir }), 'BAD_INPUT');
    expect(e.message).to.equal(`${at('layer1', -1)} has no training history (record.history); was it trained with Stitch.train?`);
  });
});

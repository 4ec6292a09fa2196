/**
 * The paper 003 figure helpers and the demo-stitch discovery: the lowest-cosine selection against Stitch.evaluate
 * and the shipped stitch's own training record, the end-layer sweep's relative values against hand-computed ones
 * from written records, and the sheets' layout.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import {
  FloatTensor,
  Runtime,
  STITCH_FORMAT,
  Stitch,
  bestEpoch,
  cosineExtremes,
  demoStitchFiles,
  endLayerSeries,
  endLayerSweep,
  fashionMnist,
  loadDemoStitches,
  mapRange,
  readStitchRecord,
  reconstructionSheet,
  sliceBatch,
  testNetworkOf,
  validationHistory,
  validationSeries,
  variationSheet,
} from 'ganvas';
import { rejectsGanvas, throwsGanvas } from '../util';

const rt = new Runtime({ threads: 1 });

describe('stitching: figures and demo stitches', function () {
  this.timeout(300_000);
  let stitches: Stitch[];
  let images: FloatTensor;

  before(async () => {
    ({ stitches } = await loadDemoStitches('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1', 'layer2'], runtime: rt }));
    images = (await fashionMnist('test', { count: 500 })).images;
  });

  it('loadDemoStitches opens what exists, shares one generator, and notes what is missing', async () => {
    expect(stitches.map((s) => s.name)).to.deep.equal(['fmnist-resnet.layer1 → fmnist-stylegan.b16.conv0', 'fmnist-resnet.layer2 → fmnist-stylegan.b8.conv0']);
    expect(stitches[0].generator).to.equal(stitches[1].generator);
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-nostitch-'));
    const none = await loadDemoStitches('fmnist-resnet', 'fmnist-stylegan', { dir: empty, runtime: rt });
    expect(none.stitches).to.have.length(0);
    expect(none.missing.map((m) => `${m.layerX}→${m.layerY}`)).to.deep.equal(['layer1→b16.conv0', 'layer2→b8.conv0', 'layer3→b4.conv1', 'layer4→b4.conv1']);
    expect(none.notes[2]).to.include('layer3 → fmnist-stylegan.b4.conv1 (distance 0)').and.include('does not exist');
  });

  it('cosineExtremes: the lowest-cosine images, with the same cosines as Stitch.evaluate and the mean the stitch was kept at', async () => {
    const s = stitches[1];
    const fx = await testNetworkOf(s);
    const low = await cosineExtremes(s, fx, images, { count: 8 });
    const { metrics } = await s.evaluate(fx, images);
    const all = Array.from(metrics.cosine);
    const sorted = all.map((c, i) => [c, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(low.indices).to.deep.equal(sorted.slice(0, 8).map((x) => x[1]));
    low.cosine.forEach((c, k) => expect(c).to.be.closeTo(all[low.indices[k]], 1e-9));
    // The trainer validated on these 500 images with seeds 0…499 and kept the best epoch's weights.
    const kept = bestEpoch(validationHistory(s.record)).valCosine;
    expect(low.meanCosine).to.be.closeTo(kept, 1e-5);
    const high = await cosineExtremes(s, fx, sliceBatch(images, 0, 50), { count: 3, highest: true });
    expect(high.cosine[0]).to.be.at.least(high.cosine[1]).and.at.least(high.cosine[2]);
    expect(high.cosine[2]).to.be.greaterThan(low.cosine[7]);
    // The reconstruction of index i is the image inverted with seed i.
    const i = low.indices[0];
    const direct = await s.invert(sliceBatch(images, i, i + 1), { seed: i });
    expect(Array.from(sliceBatch(low.reconstructions, 0, 1).data)).to.deep.equal(Array.from(direct.data));
    const meta = await sharp(low.png).metadata();
    expect([meta.width, meta.height]).to.deep.equal([130 + 8 * (96 + 2) + 2, 2 * (96 + 14 + 2) + 2]);
    await rejectsGanvas(cosineExtremes(s, fx, sliceBatch(images, 0, 4), { count: 5 }), 'BAD_INPUT');
  });

  it('reconstructionSheet: originals and one row per stitch; variationSheet wraps original + seeds into rows', async () => {
    const eight = sliceBatch(images, 0, 8);
    const sheet = await sharp(await reconstructionSheet(stitches, eight)).metadata();
    expect([sheet.width, sheet.height]).to.deep.equal([130 + 8 * (96 + 2) + 2, 3 * (96 + 2) + 2]);
    const v = await sharp(await variationSheet(stitches[0], sliceBatch(images, 0, 1), [0, 1, 2, 3, 4], { columns: 4 })).metadata();
    // 6 cells (original + 5) in rows of 4: 2 rows, captions under each; 64 px cells.
    expect([v.width, v.height]).to.deep.equal([4 * (64 + 2) + 2, 2 * (64 + 14 + 2) + 2]);
    await rejectsGanvas(reconstructionSheet([], eight), 'BAD_INPUT');
  });

  it('mapRange maps linearly and refuses an empty range', () => {
    const t = mapRange({ data: Float32Array.from([-1, 0, 1]), dims: [3] }, [-1, 1], [0, 1]);
    expect(Array.from(t.data)).to.deep.equal([0, 0.5, 1]);
    throwsGanvas(() => mapRange(t, [1, 1]), 'BAD_INPUT');
  });

  it('endLayerSweep: best validation cosine and L1 per distance, relative to distance 0, from the records', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sweep-'));
    const files = await demoStitchFiles('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1'], distances: [-2, -1, 0, 1, 2], dir });
    // layer1 (16×16) → b16 at 0; b8 at −1, b4 at −2, b32 at +1; no 64×64 layer, so no +2.
    expect(files.map((f) => [f.distance, f.layerY])).to.deep.equal([[-2, 'b4.conv1'], [-1, 'b8.conv0'], [0, 'b16.conv0'], [1, 'b32.conv0']]);
    const write = async (file: string, history: { valCosine: number; valL1: number }[]) => {
      await fs.mkdir(path.dirname(file), { recursive: true });
      const record = { history: history.map((h, i) => ({ epoch: i, samples: 1000 * i, valGram: 0.9, ...h })) };
      await fs.writeFile(file, JSON.stringify({ format: STITCH_FORMAT, layerX: 'layer1', layerY: 'x', classifier: { name: 'fmnist-resnet' }, generator: { name: 'fmnist-stylegan' }, record }));
    };
    // −2 missing; −1: best epoch 1 (0.6, L1 0.3); 0: best epoch 2 (0.8, L1 0.2); +1: best epoch 0 (0.7, L1 0.25).
    await write(files[1].file, [{ valCosine: 0.5, valL1: 0.4 }, { valCosine: 0.6, valL1: 0.3 }]);
    await write(files[2].file, [{ valCosine: 0.7, valL1: 0.3 }, { valCosine: 0.75, valL1: 0.1 }, { valCosine: 0.8, valL1: 0.2 }]);
    await write(files[3].file, [{ valCosine: 0.7, valL1: 0.25 }, { valCosine: 0.7, valL1: 0.5 }]);
    const [line, ...rest] = await endLayerSweep('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1'], dir });
    expect(rest).to.have.length(0);
    expect(line.layerX).to.equal('layer1');
    expect(line.points.map((p) => p.distance)).to.deep.equal([-1, 0, 1]);
    const want = [
      [0.6, 0.3, 0.6 / 0.8, 0.3 / 0.2],
      [0.8, 0.2, 1, 1],
      [0.7, 0.25, 0.7 / 0.8, 0.25 / 0.2],
    ];
    line.points.forEach((p, k) => {
      expect(p.cosine).to.equal(want[k][0]);
      expect(p.l1).to.equal(want[k][1]);
      expect(p.relativeCosine).to.be.closeTo(want[k][2], 1e-12);
      expect(p.relativeL1).to.be.closeTo(want[k][3], 1e-12);
    });
    const [series] = endLayerSeries([line], 'l1');
    expect(series.x).to.deep.equal([-1, 0, 1]);
    expect(series.y[1]).to.equal(1);
    expect((await readStitchRecord(files[2].file)).record.history).to.have.length(3);
  });

  it('validation curves come from the records; a record without history is a clear error', async () => {
    const [a] = validationSeries([stitches[0]]);
    expect(a.name).to.equal('layer1 → b16.conv0');
    expect(a.x[0]).to.equal(0);
    expect(a.y.length).to.equal(a.x.length).and.be.greaterThan(1);
    expect(throwsGanvas(() => validationHistory({}, 'my stitch')).message).to.match(/my stitch has no training history/);
    expect(throwsGanvas(() => validationHistory({ history: [{ epoch: 0, samples: 0, valCosine: 'x' }] })).message).to.match(/history\[0\]\.valCosine is "x"/);
    const bad = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-rec-')), 'stitch.json');
    await fs.writeFile(bad, '{"format":"other"}');
    expect((await rejectsGanvas(readStitchRecord(bad))).message).to.match(/not a stitch file/);
  });
});

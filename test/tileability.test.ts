import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  FeatureExtractor,
  GanvasError,
  Generator,
  Runtime,
  erodeMask,
  gallery,
  gridMask,
  loadScan,
  openModel,
  rank,
  resizeMask,
  sampleVectors,
  saveScan,
  scan,
  sweepCurve,
  tileability,
  visualize,
} from 'ganvas';
import { constantGenerator, tinyClassifier, tinyGenerator } from './models';

describe('tileability', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('identical renders with spatially constant features score exactly 1', async () => {
    const gen = await Generator.open(await constantGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier({ valid: true }), 'layer2', rt);
    const cut = await gen.cut('h');
    const { vectors } = await sampleVectors(cut, { count: 3 });
    const scores = await tileability(cut, fx, vectors, { erosion: 1 });
    for (const s of scores) {
      expect(s.cosine).to.equal(1);
      expect(s.l1).to.equal(0);
    }
  });

  it('matches an independent computation from the renders (mask resized, eroded, weighted mean, cosine)', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 4, seed: 5 });
    const scores = await tileability(cut, fx, vectors);
    const full = await fx.features(await visualize(cut, vectors, { grid: 'full' }), [-1, 1]);
    const grid = await fx.features(await visualize(cut, vectors, { grid: 2 }), [-1, 1]);
    const [, C, H, W] = full.dims;
    const m = erodeMask(resizeMask(gridMask(8, 8, 2), H, W), 3).data;
    for (let i = 0; i < vectors.length; i++) {
      const a: number[] = [];
      const b: number[] = [];
      for (let c = 0; c < C; c++) {
        let sa = 0;
        let sb = 0;
        let n = 0;
        for (let p = 0; p < H * W; p++) {
          sa += full.data[(i * C + c) * H * W + p];
          if (m[p]) {
            sb += grid.data[(i * C + c) * H * W + p];
            n++;
          }
        }
        a.push(sa / (H * W));
        b.push(sb / n);
      }
      const dot = a.reduce((s, x, k) => s + x * b[k], 0);
      const cos = dot / Math.hypot(...a) / Math.hypot(...b);
      expect(scores[i].cosine).to.be.closeTo(cos, 1e-6);
      expect(scores[i].l1).to.be.closeTo(a.reduce((s, x, k) => s + Math.abs(x - b[k]), 0) / C, 1e-6);
    }
  });

  it('a scan with the same seed gives the same ranking twice, agrees with tileability(), and reloads bit-identical', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const progress: number[] = [];
    const a = await scan(cut, fx, { count: 20, seed: 3, batchSize: 8, onProgress: (d) => progress.push(d) });
    const b = await scan(cut, fx, { count: 20, seed: 3, batchSize: 5 });
    expect(progress).to.deep.equal([8, 16, 20]);
    expect(rank(a).map((e) => e.provenance)).to.deep.equal(rank(b).map((e) => e.provenance));
    a.entries.forEach((e, i) => expect(e.cosine).to.be.closeTo(b.entries[i].cosine, 1e-6));
    const other = await scan(cut, fx, { count: 20, seed: 4 });
    expect(other.entries.map((e) => e.provenance.seed)).to.not.deep.equal(a.entries.map((e) => e.provenance.seed));
    // The scan's vectors are sampleVectors' vectors, and their scores are tileability()'s.
    const { vectors } = await sampleVectors(cut, { count: 20, seed: 3 });
    expect(vectors.map((v) => v.provenance)).to.deep.equal(a.entries.map((e) => e.provenance));
    const direct = await tileability(cut, fx, vectors.slice(0, 6));
    direct.forEach((s, i) => expect(s.cosine).to.be.closeTo(a.entries[i].cosine, 1e-6));
    const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-scan-')), 'scan.json');
    await saveScan(file, a);
    expect(await loadScan(file)).to.deep.equal(a);
    const ranked = rank(a);
    expect(ranked[0].cosine).to.be.at.least(ranked[ranked.length - 1].cosine);
  });

  it('galleries show grid(2) above full for the chosen entries, and the sweep curve has one point per g', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const s = await scan(cut, fx, { count: 8 });
    const top = rank(s).slice(0, 3);
    const gal = await gallery(cut, top);
    expect(gal.grid.dims).to.deep.equal([3, 1, 8, 8]);
    expect(gal.full.dims).to.deep.equal([3, 1, 8, 8]);
    expect(gal.png.subarray(1, 4).toString()).to.equal('PNG');
    const curve = await sweepCurve(cut, fx, { count: 6, sizes: [1, 2, 3] });
    expect(curve.map((p) => p.grid)).to.deep.equal([1, 2, 3]);
    for (const p of curve) expect(p.mean).to.be.within(-1, 1);
  });

  it('says so when the feature map is too coarse for the grid after erosion', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 1 });
    try {
      await tileability(cut, fx, vectors, { erosion: 5 });
      throw new Error('expected an error');
    } catch (e) {
      expect(e).to.be.instanceOf(GanvasError);
      expect((e as Error).message).to.include('covers no position');
    }
  });

  describe('FeatureExtractor.preprocess (hand-worked values)', () => {
    // A 2×2 image in [-1, 1] resized (nearest) to the classifier's 16×16: rows/columns 0–7 come from source 0.
    const at = (t: { data: Float32Array }, k: number, y: number, x: number) => t.data[(k * 16 + y) * 16 + x];

    it('RGB into a grey classifier: ITU-R 601 luma, range mapped, normalized', async () => {
      const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
      // r, g, b planes of pixels (0,0) (0,1) (1,0) (1,1)
      const img = { data: Float32Array.from([0.2, -1, 1, 0.5, /* g */ -0.4, 1, 1, 0, /* b */ 0.6, 0, 1, -0.5]), dims: [1, 3, 2, 2] };
      const out = fx.preprocess(img, [-1, 1]);
      expect(out.dims).to.deep.equal([1, 1, 16, 16]);
      const expected = (r: number, g: number, b: number) => (((0.299 * r + 0.587 * g + 0.114 * b + 1) / 2 - 0.5) / 0.25);
      expect(at(out, 0, 0, 0)).to.be.closeTo(expected(0.2, -0.4, 0.6), 1e-6);
      expect(at(out, 0, 3, 12)).to.be.closeTo(expected(-1, 1, 0), 1e-6);
      expect(at(out, 0, 9, 7)).to.be.closeTo(expected(1, 1, 1), 1e-6);
      expect(at(out, 0, 15, 15)).to.be.closeTo(expected(0.5, 0, -0.5), 1e-6);
    });

    it('grey into an RGB classifier: the channel repeated, each normalized with its own mean and std', async () => {
      const bundle = await openModel(await tinyClassifier());
      const pre = { size: [16, 16] as [number, number], channels: 3, range: [0, 1] as [number, number], mean: [0.5, 0.4, 0.3], std: [0.25, 0.5, 1] };
      const fx = await FeatureExtractor.open({ ...bundle, manifest: { ...bundle.manifest, preprocess: pre } }, 'layer2', rt);
      const out = fx.preprocess({ data: Float32Array.from([-1, 0, 0.5, 1]), dims: [1, 1, 2, 2] }, [-1, 1]);
      expect(out.dims).to.deep.equal([1, 3, 16, 16]);
      const v = [0, 0.5, 0.75, 1]; // the four pixels mapped to [0, 1]
      for (let k = 0; k < 3; k++) {
        expect(at(out, k, 0, 0)).to.be.closeTo((v[0] - pre.mean[k]) / pre.std[k], 1e-6);
        expect(at(out, k, 7, 8)).to.be.closeTo((v[1] - pre.mean[k]) / pre.std[k], 1e-6);
        expect(at(out, k, 8, 0)).to.be.closeTo((v[2] - pre.mean[k]) / pre.std[k], 1e-6);
        expect(at(out, k, 15, 9)).to.be.closeTo((v[3] - pre.mean[k]) / pre.std[k], 1e-6);
      }
    });
  });
});

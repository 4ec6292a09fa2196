import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import {
  Cut,
  FeatureExtractor,
  FloatTensor,
  GanvasError,
  Generator,
  Provenance,
  Runtime,
  ScanEntry,
  cosineSimilarity,
  featureMask,
  gallery,
  gridMask,
  loadScan,
  maskedMean,
  openModel,
  rank,
  sampleVectors,
  saveScan,
  scan,
  sweepCurve,
  tileability,
  visualize,
} from 'ganvas';
import { constantGenerator, identityGenerator, tinyClassifier, tinyGenerator } from './models';

// ---- An independent tileability (issue 19): masks, renders and scores written here from the paper's description
// (§4.2: mask the grid render's features with the grid mask, mean over H×W, cosine with the full render's mean),
// without the package's gridMask / resizeMask / erodeMask / visualize / maskedMean / cosineSimilarity.

/** Grid mask: blocks of g rows (columns) separated by one empty row, from row 0; a block must end before the last
 * row, so the last row and column are never covered (the authors' code). */
function handGrid(h: number, w: number, g: number): Uint8Array {
  const axis = (n: number) => Array.from({ length: n }, (_, i) => i % (g + 1) < g && i - (i % (g + 1)) + g - 1 <= n - 2);
  const rowsOn = axis(h);
  const colsOn = axis(w);
  return Uint8Array.from({ length: h * w }, (_, i) => (rowsOn[Math.floor(i / w)] && colsOn[i % w] ? 1 : 0));
}

/** Nearest-neighbour resize, PyTorch's mode='nearest': source index ⌊dst · in / out⌋. */
function handResize(m: Uint8Array, h: number, w: number, H: number, W: number): Uint8Array {
  return Uint8Array.from({ length: H * W }, (_, i) => m[Math.floor((Math.floor(i / W) * h) / H) * w + Math.floor(((i % W) * w) / W)]);
}

/** Erosion: a k×k window (k odd) entirely inside the map and the mask. */
function handErode(m: Uint8Array, H: number, W: number, k: number): Uint8Array {
  const r = (k - 1) / 2;
  return Uint8Array.from({ length: H * W }, (_, i) => {
    const y = Math.floor(i / W);
    const x = i % W;
    for (let yy = y - r; yy <= y + r; yy++) {
      for (let xx = x - r; xx <= x + r; xx++) if (yy < 0 || xx < 0 || yy >= H || xx >= W || !m[yy * W + xx]) return 0;
    }
    return 1;
  });
}

/** Renders the vector at `prov` (its own sample, its own position) with the positions of `mask` set to it. */
async function handRender(cut: Cut, prov: Provenance, mask: Uint8Array | 'all'): Promise<FloatTensor> {
  const head = await cut.sample([prov.seed]);
  const [, c, h, w] = head.activations.dims;
  const acts = Float32Array.from(head.activations.data);
  for (let k = 0; k < c; k++) {
    const v = head.activations.data[(k * h + prov.y) * w + prov.x];
    for (let p = 0; p < h * w; p++) if (mask === 'all' || mask[p]) acts[k * h * w + p] = v;
  }
  return cut.render({ data: acts, dims: head.activations.dims }, head.carry);
}

async function handScores(cut: Cut, fx: FeatureExtractor, provs: readonly Provenance[], g: number, erosion: number): Promise<{ cosine: number; l1: number }[]> {
  const { height: h, width: w } = cut.layer;
  const grid = handGrid(h, w, g);
  const out: { cosine: number; l1: number }[] = [];
  for (const prov of provs) {
    const full = await fx.features(await handRender(cut, prov, 'all'), cut.generator.range);
    const gridded = await fx.features(await handRender(cut, prov, grid), cut.generator.range);
    const [, C, H, W] = full.dims;
    const m = handErode(handResize(grid, h, w, H, W), H, W, erosion);
    const a: number[] = [];
    const b: number[] = [];
    for (let c = 0; c < C; c++) {
      let sa = 0;
      let sb = 0;
      let n = 0;
      for (let p = 0; p < H * W; p++) {
        sa += full.data[c * H * W + p];
        if (m[p]) {
          sb += gridded.data[c * H * W + p];
          n++;
        }
      }
      a.push(sa / (H * W));
      b.push(sb / n);
    }
    const dot = a.reduce((s, x, k) => s + x * b[k], 0);
    out.push({ cosine: dot / Math.max(Math.hypot(...a) * Math.hypot(...b), 1e-8), l1: a.reduce((s, x, k) => s + Math.abs(x - b[k]), 0) / C });
  }
  return out;
}

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

  it('matches an independent computation (own grid mask, resize, erosion, renders, weighted mean, cosine)', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 4, seed: 5 });
    const provs = vectors.map((v) => v.provenance as Provenance);
    for (const [g, erosion] of [[2, 3], [3, 1], [1, 1]]) {
      const scores = await tileability(cut, fx, vectors, { grid: g, erosion });
      const expected = await handScores(cut, fx, provs, g, erosion);
      scores.forEach((s, i) => {
        expect(s.cosine, `g=${g} erosion=${erosion} vector ${i}`).to.be.closeTo(expected[i].cosine, 1e-5);
        expect(s.l1, `g=${g} erosion=${erosion} vector ${i}`).to.be.closeTo(expected[i].l1, 1e-5);
      });
    }
  });

  it('the independent grid mask is the hand-written one (8×8 g=2, 6×12 g=2)', () => {
    const rows = (m: Uint8Array, w: number) => Array.from({ length: m.length / w }, (_, y) => m.subarray(y * w, (y + 1) * w).join(''));
    expect(rows(handGrid(8, 8, 2), 8)).to.deep.equal(['11011000', '11011000', '00000000', '11011000', '11011000', '00000000', '00000000', '00000000']);
    expect(rows(handGrid(6, 12, 2), 12)[4]).to.equal('110110110110');
  });

  it('rank() orders a scan exactly as independently computed scores do (descending)', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const s = await scan(cut, fx, { count: 10, seed: 7 });
    const expected = await handScores(cut, fx, s.entries.map((e) => e.provenance), 2, 3);
    const order = expected.map((e, i) => ({ c: e.cosine, i })).sort((a, b) => b.c - a.c);
    // No near-ties, so the expected order does not hinge on float rounding.
    for (let k = 1; k < order.length; k++) expect(order[k - 1].c - order[k].c, `gap ${k}`).to.be.greaterThan(1e-5);
    expect(rank(s).map((e) => e.provenance)).to.deep.equal(order.map((o) => s.entries[o.i].provenance));
    s.entries.forEach((e, i) => expect(e.cosine).to.be.closeTo(expected[i].cosine, 1e-5));
  });

  it('sweepCurve uses each grid size: mean and std of independently computed scores per g (erosion 1)', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const curve = await sweepCurve(cut, fx, { count: 5, seed: 1, sizes: [1, 3, 2] });
    expect(curve.map((p) => p.grid)).to.deep.equal([1, 3, 2]);
    // The scan's vectors are sampleVectors' (checked below): the same provenance for every g.
    const { vectors } = await sampleVectors(cut, { count: 5, seed: 1 });
    const means: number[] = [];
    for (const p of curve) {
      const xs = (await handScores(cut, fx, vectors.map((v) => v.provenance as Provenance), p.grid as number, 1)).map((e) => e.cosine);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
      expect(p.mean, `g=${p.grid} mean`).to.be.closeTo(mean, 1e-5);
      expect(p.std, `g=${p.grid} std`).to.be.closeTo(std, 1e-5);
      means.push(mean);
    }
    // The sizes give different curves here (else this test could not tell them apart).
    expect(Math.abs(means[0] - means[1])).to.be.greaterThan(1e-3);
    expect(Math.abs(means[1] - means[2])).to.be.greaterThan(1e-3);
  });

  it('gallery rows: grid(g) and full renders pixel for pixel (identity tail, hand-written masks)', async () => {
    // identity tail: the image is the 3×4×4 layer. grid(2) on 4×4 covers (0,0) (0,1) (1,0) (1,1); grid(1) covers
    // (0,0) (0,2) (2,0) (2,2).
    const gen = await Generator.open(await identityGenerator(), rt);
    const cut = await gen.cut('h');
    const entries: ScanEntry[] = [
      { cosine: 0.9, l1: 0.1, provenance: { model: 'identity-gen', layer: 'h', seed: 3, y: 2, x: 1 } },
      { cosine: 0.5, l1: 0.2, provenance: { model: 'identity-gen', layer: 'h', seed: 8, y: 3, x: 3 } },
    ];
    const sizes: number[] = [];
    for (const [g, covered] of [[2, [0, 1, 4, 5]], [1, [0, 2, 8, 10]]] as [number, number[]][]) {
      const gal = await gallery(cut, entries, { grid: g });
      expect(gal.entries).to.deep.equal(entries);
      const meta = await sharp(gal.png).metadata();
      sizes.push(meta.width ?? 0);
      expect(gal.grid.dims).to.deep.equal([2, 3, 4, 4]);
      for (let i = 0; i < 2; i++) {
        const { seed, y, x } = entries[i].provenance;
        const original = await gen.generate([seed]);
        for (let c = 0; c < 3; c++) {
          const v = original.data[c * 16 + y * 4 + x];
          for (let p = 0; p < 16; p++) {
            expect(gal.grid.data[(i * 3 + c) * 16 + p], `g=${g} entry ${i} c ${c} p ${p}`).to.equal(covered.includes(p) ? v : original.data[c * 16 + p]);
            expect(gal.full.data[(i * 3 + c) * 16 + p], `full entry ${i} c ${c} p ${p}`).to.equal(v);
          }
        }
      }
    }
    // The contact sheet: 60 px of labels, then the two 4×4 images per row scaled ×3 by default, ×1 on request.
    const small = await sharp((await gallery(cut, entries, { scale: 1 })).png).metadata();
    expect(sizes[0]).to.be.greaterThan(small.width ?? 0);
    expect(sizes[0] - 60).to.be.at.least(2 * 4 * 3);
  });

  it('rank() breaks ties by scan order', () => {
    const prov = (seed: number): Provenance => ({ model: 'm', layer: 'l', seed, y: 0, x: 0 });
    const entries = [0.5, 0.9, 0.5, 0.1, 0.5].map((cosine, i) => ({ cosine, l1: 0, provenance: prov(i) }));
    const s = { format: 'ganvas-scan/1' as const, generator: 'm', layer: 'l', extractor: 'f', featureLayer: 'x', grid: 2, erosion: 3, count: 5, seed: 0, entries };
    expect(rank(s).map((e) => e.provenance.seed)).to.deep.equal([1, 0, 2, 4, 3]);
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

  it('a scan in from…to pieces, interleaved with scans of other counts and seeds, keeps its own positions (the positions memo)', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const pieces: ScanEntry[] = [];
    const others: ScanEntry[] = [];
    for (const [from, to] of [[0, 4], [4, 9], [9, 12]]) {
      pieces.push(...(await scan(cut, fx, { count: 12, seed: 5, from, to, batchSize: 4 })).entries);
      others.push((await scan(cut, fx, { count: 7, seed: 5, from: to % 7, to: (to % 7) + 1 })).entries[0]);
      others.push((await scan(cut, fx, { count: 12, seed: 6, from, to: from + 1 })).entries[0]);
    }
    const whole = await sampleVectors(cut, { count: 12, seed: 5 });
    expect(pieces.map((e) => e.provenance)).to.deep.equal(whole.vectors.map((v) => v.provenance));
    const seven = (await sampleVectors(cut, { count: 7, seed: 5 })).vectors;
    const six = (await sampleVectors(cut, { count: 12, seed: 6 })).vectors;
    const want = [[4, 0], [9, 4], [12, 9]].flatMap(([to, from]) => [seven[to % 7].provenance, six[from].provenance]);
    expect(others.map((e) => e.provenance)).to.deep.equal(want);
  });

  it('smoke: gallery and sweepCurve run on a scan (shapes, a PNG, one point per g; values are checked above)', async () => {
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
      expect((e as Error).message).to.include('covers no position').and.include(` feature map of ${fx.name} at layer2 and eroded with k=5`);
    }
  });

  it('maskedMean, cosineSimilarity and featureMask on hand-worked values', () => {
    // 2 samples × 2 channels × 2×2; sample 1: channel 0 = 1, 2, 3, 4; channel 1 = −1, 0, 0, 5.
    const feat = { data: Float32Array.from([9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 4, -1, 0, 0, 5]), dims: [2, 2, 2, 2] };
    expect(Array.from(maskedMean(feat, 1, null))).to.deep.equal([2.5, 1]);
    const diag = { data: Uint8Array.from([1, 0, 0, 1]), height: 2, width: 2 };
    expect(Array.from(maskedMean(feat, 1, diag))).to.deep.equal([2.5, 2]);
    const top = { data: Uint8Array.from([1, 1, 0, 0]), height: 2, width: 2 };
    expect(Array.from(maskedMean(feat, 1, top))).to.deep.equal([1.5, -0.5]);
    expect(() => maskedMean(feat, 1, gridMask(3, 2, 'full'))).to.throw(GanvasError, /mask is 3×2, features are 2×2/);
    expect(() => maskedMean(feat, 1, gridMask(2, 3, 'full'))).to.throw(GanvasError, /mask is 2×3, features are 2×2/);
    expect(cosineSimilarity(Float32Array.from([3, 4]), Float32Array.from([4, 3]))).to.be.closeTo(24 / 25, 1e-7);
    expect(cosineSimilarity(Float32Array.from([0, 0]), Float32Array.from([1, 0]))).to.equal(0);
    // 4×4 layer, g=1 → corners (0,0) (0,2) (2,0) (2,2); at 8×8 each is a 2×2 block; a 3×3 erosion empties them.
    expect(Array.from(featureMask(gridMask(4, 4, 1), 8, 8, 1).data.subarray(0, 8))).to.deep.equal([1, 1, 0, 0, 1, 1, 0, 0]);
    expect(() => maskedMean({ data: new Float32Array(4), dims: [2, 2] }, 0, null)).to.throw(GanvasError, /features/);
    expect(() => featureMask(gridMask(4, 4, 1), 8, 8, 3)).to.throw(GanvasError, /carried to the 8×8 feature map and eroded with k=3 covers no position: the feature map is too coarse for this grid\. Use a smaller erosion/);
    expect(() => featureMask(gridMask(4, 4, 1), 8, 8, 3, ' of fx at layer9')).to.throw(
      GanvasError,
      /the grid mask \(4×4\) carried to the 8×8 feature map of fx at layer9 and eroded with k=3 covers no position/,
    );
  });

  it('scans record their settings, refuse bad counts, and tileability needs provenance; loadScan and gallery refuse bad input', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const d = await scan(cut, fx, { count: 2 });
    expect({ ...d, entries: d.entries.length }).to.deep.equal({
      format: 'ganvas-scan/1', generator: 'tiny-gen', layer: 'b8.conv1', extractor: fx.name, featureLayer: 'layer2',
      grid: 2, erosion: 3, count: 2, seed: 0, entries: 2,
    });
    const e = await scan(cut, fx, { count: 3, seed: 2, grid: 3, erosion: 1 });
    expect([e.grid, e.erosion, e.count, e.seed]).to.deep.equal([3, 1, 3, 2]);
    expect(e.entries.map((x) => x.provenance.seed)).to.deep.equal([6, 7, 8]); // seed · count + i
    expect((await scan(cut, fx, { count: 1 })).entries).to.have.length(1);
    for (const count of [0, -1, 2.5]) {
      await scan(cut, fx, { count }).then(
        () => expect.fail(`count ${count} accepted`),
        (err: Error) => expect(err).to.be.instanceOf(GanvasError).with.property('message', `scan count must be an integer from 1 to ${2 ** 22}, got ${count}`),
      );
    }
    await tileability(cut, fx, [{ vector: new Float32Array(4) }]).then(
      () => expect.fail('accepted'),
      (err: Error) => expect(err.message).to.equal('vector 0 has no provenance (its background sample)'),
    );
    await gallery(cut, []).then(
      () => expect.fail('accepted'),
      (err: Error) => expect(err.message).to.equal('a gallery needs at least one entry'),
    );
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-scan-bad-'));
    await fs.writeFile(path.join(dir, 'broken.json'), '{ not json');
    await fs.writeFile(path.join(dir, 'other.json'), JSON.stringify({ format: 'ganvas-library/1', entries: [] }));
    await fs.writeFile(path.join(dir, 'noentries.json'), JSON.stringify({ format: 'ganvas-scan/1' }));
    await loadScan(path.join(dir, 'broken.json')).then(
      () => expect.fail('accepted'),
      (err: Error) => {
        expect(err.message).to.match(/^cannot read scan .*broken\.json: /);
        expect(err.cause).to.be.instanceOf(SyntaxError);
      },
    );
    await fs.writeFile(path.join(dir, 'null.json'), 'null');
    for (const f of ['other.json', 'noentries.json', 'missing.json', 'null.json']) {
      await loadScan(path.join(dir, f)).then(
        () => expect.fail(`${f} accepted`),
        (err: Error) => expect(err, f).to.be.instanceOf(GanvasError),
      );
    }
    await loadScan(path.join(dir, 'other.json')).catch((err: Error) => expect(err.message).to.include('is not a ganvas scan'));
  });

  it('sweepCurve defaults to g = 1…5 and reports progress per size', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const progress: [number, number][] = [];
    const curve = await sweepCurve(cut, fx, { count: 2, onProgress: (done, total) => progress.push([done, total]) });
    expect(curve.map((p) => p.grid)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(progress).to.deep.equal([[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
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

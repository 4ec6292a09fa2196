/**
 * Issue #16: the texture of the `full` render (tells flat background from textures, as an option of rank), the
 * default erosion from the feature map / layer size ratio, FeatureExtractor.open without a layer, and ihc-features'
 * exact training mean/std.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  FeatureExtractor,
  GanvasError,
  Generator,
  Runtime,
  Scan,
  defaultErosion,
  demoModelDir,
  featureMask,
  gridMask,
  openModel,
  rank,
  sampleVectors,
  scan,
  spatialStd,
  textureThreshold,
  tileability,
  visualize,
} from 'ganvas';
import { tinyClassifier, tinyGenerator } from './models';

function fakeScan(entries: { cosine: number; texture?: number }[]): Scan {
  return {
    format: 'ganvas-scan/1', generator: 'g', layer: 'l', extractor: 'f', featureLayer: 'fl', grid: 2, erosion: 3, count: entries.length, seed: 0,
    entries: entries.map((e, i) => ({ ...e, l1: 0, provenance: { model: 'g', layer: 'l', seed: i, y: 0, x: 0 } })),
  };
}

describe('texture, default erosion, feature layer (issue 16)', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('defaultErosion follows the authors\' k per size ratio: 3 at 2×, 1 at 1×, 2⌊r⌋ − 1 elsewhere', () => {
    expect(defaultErosion(16, 16, 32, 32)).to.equal(3); // b16.conv1 × ResNet50 layer2 at 256 px
    expect(defaultErosion(32, 32, 32, 32)).to.equal(1); // b32.conv1 × the same
    expect(defaultErosion(8, 8, 16, 16)).to.equal(3);
    expect(defaultErosion(8, 8, 12, 12)).to.equal(1); // 1.5×
    expect(defaultErosion(8, 8, 32, 32)).to.equal(7); // 4×
    expect(defaultErosion(8, 8, 4, 4)).to.equal(1); // coarser
    expect(defaultErosion(8, 16, 16, 16)).to.equal(1); // the smaller ratio counts
  });

  it('hand-worked: grid(2) on 4×4 → 8×8 features, default k = 3 keeps the 2×2 centre of the one 4×4 block', () => {
    // gridMask(4, 4, 2): one block at rows/cols 0–1 (the next corner, 3, is not < 4 − 2). Resized ×2: rows/cols
    // 0–3. A 3×3 zero-padded erosion keeps the positions whose whole neighbourhood is inside: rows/cols 1–2.
    const m = featureMask(gridMask(4, 4, 2), 8, 8, defaultErosion(4, 4, 8, 8));
    const on: string[] = [];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) if (m.data[y * 8 + x]) on.push(`${y},${x}`);
    expect(on).to.deep.equal(['1,1', '1,2', '2,1', '2,2']);
    // At 1× the old fixed k = 3 left nothing; the default (k = 1) keeps the block.
    expect(() => featureMask(gridMask(8, 8, 2), 8, 8, 3)).to.throw(GanvasError, /covers no position/);
    expect(Array.from(featureMask(gridMask(8, 8, 2), 8, 8, defaultErosion(8, 8, 8, 8)).data)).to.deep.equal(Array.from(gridMask(8, 8, 2).data));
  });

  it('scan records the erosion it used, and scores equal tileability() with that k', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const s = await scan(cut, fx, { count: 4, seed: 1 });
    const [, , fh, fw] = (await fx.features(await visualize(cut, [{ vector: new Float32Array(cut.layer.channels) }], { backgroundSeed: 0, grid: 'full' }), gen.range)).dims;
    expect(s.erosion).to.equal(defaultErosion(cut.layer.height, cut.layer.width, fh, fw));
    const { vectors } = await sampleVectors(cut, { count: 2, seed: 3 });
    const a = await tileability(cut, fx, vectors);
    const b = await tileability(cut, fx, vectors, { erosion: defaultErosion(cut.layer.height, cut.layer.width, fh, fw) });
    expect(a.map((x) => x.cosine)).to.deep.equal(b.map((x) => x.cosine));
  });

  it('spatialStd: hand-worked values, border left out, flat = 0', () => {
    // One 1-channel 2×2 image in [-1, 1] with values −1, 1, −1, 1: mean 0, std 1 → 1 / (range width 2) = 0.5.
    const img = { data: Float32Array.from([-1, 1, -1, 1]), dims: [1, 1, 2, 2] };
    expect(spatialStd(img, [-1, 1])).to.deep.equal([0.5]);
    // 8×8: a bright 1-pixel frame around a flat inside; margin 1/8 leaves the frame out → 0.
    const f = new Float32Array(64).fill(0.2);
    for (let i = 0; i < 8; i++) f[i] = f[56 + i] = f[i * 8] = f[i * 8 + 7] = 1;
    const framed = { data: f, dims: [1, 1, 8, 8] };
    expect(spatialStd(framed, [0, 1], 0, 1, 0.125)[0]).to.equal(0);
    expect(spatialStd(framed, [0, 1])[0]).to.be.greaterThan(0.3);
    // Two channels average: channel 0 std 0.5 (values 0, 1), channel 1 flat → 0.25 in [0, 1].
    const two = { data: Float32Array.from([0, 1, 0, 1, 0.3, 0.3, 0.3, 0.3]), dims: [1, 2, 2, 2] };
    expect(spatialStd(two, [0, 1])[0]).to.be.closeTo(0.25, 1e-7);
  });

  it('scan entries carry the texture of their full render', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    const cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 3, seed: 2 });
    const scores = await tileability(cut, fx, vectors);
    const full = await visualize(cut, vectors, { grid: 'full' });
    const expected = spatialStd(full, gen.range, 0, undefined, 0.125);
    scores.forEach((s, i) => expect(s.texture).to.be.closeTo(expected[i], 1e-9));
  });

  it('rank(scan, { minTexture }) leaves flat entries out, keeps the order; old scans and bad values are refused', () => {
    const s = fakeScan([
      { cosine: 0.99, texture: 0.001 },
      { cosine: 0.9, texture: 0.2 },
      { cosine: 0.95, texture: 0.15 },
      { cosine: 0.5, texture: 0 },
    ]);
    expect(rank(s).map((e) => e.cosine)).to.deep.equal([0.99, 0.95, 0.9, 0.5]);
    expect(rank(s, { minTexture: 0.05 }).map((e) => e.cosine)).to.deep.equal([0.95, 0.9]);
    expect(() => rank(s, { minTexture: -1 })).to.throw(GanvasError, /minTexture/);
    expect(() => rank(fakeScan([{ cosine: 1 }]), { minTexture: 0.1 })).to.throw(GanvasError, /no texture values/);
    expect(rank(fakeScan([{ cosine: 1 }])).length).to.equal(1); // without the option, old scans rank as before
  });

  it('textureThreshold falls in the gap of a two-mode distribution', () => {
    const entries = [
      ...Array.from({ length: 60 }, (_, i) => ({ cosine: 1, texture: 0.001 * (i % 5) })),
      ...Array.from({ length: 40 }, (_, i) => ({ cosine: 0.9, texture: 0.1 + 0.005 * i })),
    ];
    const t = textureThreshold(fakeScan(entries));
    expect(t).to.be.greaterThan(0.004);
    expect(t).to.be.lessThan(0.11); // Otsu may take the lowest member of the broad mode with the flat ones
    expect(rank(fakeScan(entries), { minTexture: t }).every((e) => (e.texture as number) >= 0.1)).to.equal(true);
    expect(rank(fakeScan(entries), { minTexture: t }).length).to.be.at.least(38);
    expect(() => textureThreshold(fakeScan([{ cosine: 1 }]))).to.throw(GanvasError);
    // All flat (float noise, as ihc-gan's full renders): the floor keeps the threshold above the noise.
    expect(textureThreshold(fakeScan([{ cosine: 1, texture: 1e-8 }, { cosine: 1, texture: 7e-8 }, { cosine: 1, texture: 3e-8 }]))).to.equal(0.01);
  });

  it('FeatureExtractor.open without a layer: "layer2" for demo classifiers, a clear error elsewhere', async () => {
    const demo = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), undefined, rt);
    expect(demo.layer.aliases).to.include('layer2');
    try {
      await FeatureExtractor.open(await tinyClassifier(), undefined, rt);
      throw new Error('expected an error');
    } catch (e) {
      expect(e).to.be.instanceOf(GanvasError);
      expect((e as Error).message).to.include('needs a layer').and.include('layer1, layer2');
    }
    // One alias: that one.
    const dir = await tinyClassifier();
    const m = JSON.parse(await fs.readFile(path.join(dir, 'ganvas.json'), 'utf8')) as { layers: Record<string, string> };
    m.layers = { layer1: m.layers.layer1 };
    await fs.writeFile(path.join(dir, 'ganvas.json'), JSON.stringify(m));
    expect((await FeatureExtractor.open(await openModel(dir), undefined, rt)).layer.aliases).to.deep.equal(['layer1']);
  });

  it('ihc-features stores the exact mean/std it was trained with (weights.pt)', async () => {
    const dir = demoModelDir('ihc-features');
    const py = "import torch,json,sys; c=torch.load(sys.argv[1],map_location='cpu'); print(json.dumps({'mean':c['mean'].tolist(),'std':c['std'].tolist()}))";
    const trained = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, path.join(dir, 'weights.pt')], { encoding: 'utf8' })) as { mean: number[]; std: number[] };
    const manifest = (await openModel(dir)).manifest;
    expect(manifest.preprocess?.mean).to.deep.equal(trained.mean);
    expect(manifest.preprocess?.std).to.deep.equal(trained.std);
  });
});

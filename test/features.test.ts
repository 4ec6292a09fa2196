/**
 * FeatureExtractor (src/features.ts): the classifier fed generator images "the way it was trained" (paper 000 §4.2
 * uses a classifier's layer2 as the feature space): nearest resize to the manifest's size, channel conversion,
 * value-range mapping, per-channel normalization — each checked on hand-worked pixels; the default layer rule; the
 * refusals; and features() against a graph whose layer is a known function of its input.
 */
import { expect } from 'chai';
import * as os from 'os';
import * as path from 'path';
import { FeatureExtractor, FloatTensor, GanvasError, Manifest, ModelBundle, Runtime, demoModelDir, openModel } from 'ganvas';
import { GraphBuilder } from './builder';

type Preprocess = NonNullable<Manifest['preprocess']>;

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, `${what}: length`).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i], `${what}[${i}]`).to.be.closeTo(expected[i], 1e-5);
}

function rejects(p: Promise<unknown>): Promise<GanvasError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => {
      expect(e).to.be.instanceOf(GanvasError);
      return e as GanvasError;
    },
  );
}

describe('FeatureExtractor', function () {
  this.timeout(60_000);
  const rt = new Runtime();
  let testnet: ModelBundle;

  before(async () => {
    testnet = await openModel(demoModelDir('fmnist-testnet'));
  });

  /** The testnet classifier with another manifest (preprocess, layers, name, dir). */
  function variant(over: Partial<Manifest>, dir = testnet.dir): ModelBundle {
    return { ...testnet, dir, manifest: { ...testnet.manifest, ...over } };
  }

  async function withPreprocess(p: Preprocess): Promise<FeatureExtractor> {
    return FeatureExtractor.open(variant({ preprocess: p }), 'layer1', rt);
  }

  describe('preprocess (the classifier\'s training input)', () => {
    it('gray 2×2 in [-1, 1] → 4×4 in [0, 1], normalized: each pixel repeated 2×2 (nearest), ((v+1)/2 − mean)/std', async () => {
      const fx = await withPreprocess({ size: [4, 4], channels: 1, range: [0, 1], mean: [0.5], std: [0.25] });
      const images: FloatTensor = { data: Float32Array.from([-1, 0, 0.5, 1]), dims: [1, 1, 2, 2] };
      const out = fx.preprocess(images, [-1, 1]);
      expect(out.dims).to.deep.equal([1, 1, 4, 4]);
      // v → [0,1]: 0, 0.5, 0.75, 1 → normalized: -2, 0, 1, 2.
      const [a, b, c, d] = [-2, 0, 1, 2];
      expectClose(out.data, [a, a, b, b, a, a, b, b, c, c, d, d, c, c, d, d], 'upsampled');
    });

    it('downsamples by taking the top-left source pixel of each block; rows and columns resized separately (non-square)', async () => {
      // Output 2 rows × 3 columns from a 4×6 image: rows 0, 2 and columns 0, 2, 4 of the source.
      const fx = await withPreprocess({ size: [2, 3], channels: 1, range: [0, 24] });
      const src = Float32Array.from({ length: 24 }, (_, i) => i); // value = y·6 + x
      const out = fx.preprocess({ data: src, dims: [1, 1, 4, 6] }, [0, 24]);
      expect(out.dims).to.deep.equal([1, 1, 2, 3]);
      // No mean/std: the identity normalization (mean 0, std 1); same range: values unchanged.
      expectClose(out.data, [0, 2, 4, 12, 14, 16], 'picked pixels');
      // 3 rows × 2 columns from 3×2 (same size): the identity.
      const same = await withPreprocess({ size: [3, 2], channels: 1, range: [0, 1] });
      const img = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
      expectClose(same.preprocess({ data: img, dims: [1, 1, 3, 2] }, [0, 1]).data, Array.from(img), 'same size');
    });

    it('maps the value range linearly: [0, 255] → [-1, 1] and [lo, hi] ends land on the model\'s ends', async () => {
      const fx = await withPreprocess({ size: [1, 3], channels: 1, range: [-1, 1] });
      const out = fx.preprocess({ data: Float32Array.from([0, 63.75, 255]), dims: [1, 1, 1, 3] }, [0, 255]);
      expectClose(out.data, [-1, -0.5, 1], '[0,255] → [-1,1]');
      const fx2 = await withPreprocess({ size: [1, 2], channels: 1, range: [2, 6] });
      expectClose(fx2.preprocess({ data: Float32Array.from([-3, 1]), dims: [1, 1, 1, 2] }, [-3, 1]).data, [2, 6], '[-3,1] → [2,6]');
    });

    it('gray → RGB repeats the channel, each normalized with its own mean and std', async () => {
      const fx = await withPreprocess({ size: [1, 2], channels: 3, range: [0, 1], mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] });
      const out = fx.preprocess({ data: Float32Array.from([0.5, 1]), dims: [1, 1, 1, 2] }, [0, 1]);
      expect(out.dims).to.deep.equal([1, 3, 1, 2]);
      expectClose(out.data, [(0.5 - 0.1) / 0.5, (1 - 0.1) / 0.5, (0.5 - 0.2) / 0.25, (1 - 0.2) / 0.25, (0.5 - 0.3) / 2, (1 - 0.3) / 2], 'gray → RGB');
    });

    it('a one-value mean/std applies to every channel', async () => {
      const fx = await withPreprocess({ size: [1, 1], channels: 3, range: [0, 1], mean: [0.5], std: [0.5] });
      const out = fx.preprocess({ data: Float32Array.from([1, 0, 0.75]), dims: [1, 3, 1, 1] }, [0, 1]);
      expectClose(out.data, [1, -1, 0.5], 'RGB, shared mean/std');
    });

    it('RGB → RGB keeps each channel\'s own plane', async () => {
      const fx = await withPreprocess({ size: [1, 2], channels: 3, range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1] });
      const data = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]); // R plane, G plane, B plane
      expectClose(fx.preprocess({ data, dims: [1, 3, 1, 2] }, [0, 1]).data, Array.from(data), 'RGB planes');
    });

    it('RGB → gray is ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B), as PIL convert("L")', async () => {
      const fx = await withPreprocess({ size: [1, 2], channels: 1, range: [0, 1], mean: [0.5], std: [0.5] });
      // Pixel 0 pure red, pixel 1 (0.2, 0.4, 1).
      const data = Float32Array.from([1, 0.2, 0, 0.4, 0, 1]);
      const out = fx.preprocess({ data, dims: [1, 3, 1, 2] }, [0, 1]);
      expect(out.dims).to.deep.equal([1, 1, 1, 2]);
      const l0 = 0.299;
      const l1 = 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 1;
      expectClose(out.data, [(l0 - 0.5) / 0.5, (l1 - 0.5) / 0.5], 'luma');
      // Pure green and pure blue alone.
      const gb = fx.preprocess({ data: Float32Array.from([0, 0, 1, 0, 0, 1]), dims: [1, 3, 1, 2] }, [0, 1]);
      expectClose(gb.data, [(0.587 - 0.5) / 0.5, (0.114 - 0.5) / 0.5], 'green, blue');
    });

    it('each sample of a batch reads its own planes (gray → RGB and RGB → gray, 2 samples)', async () => {
      const rgb = await withPreprocess({ size: [1, 1], channels: 3, range: [0, 1] });
      const o1 = rgb.preprocess({ data: Float32Array.from([0.25, 0.75]), dims: [2, 1, 1, 1] }, [0, 1]);
      expectClose(o1.data, [0.25, 0.25, 0.25, 0.75, 0.75, 0.75], 'gray → RGB, two samples');
      const gray = await withPreprocess({ size: [1, 1], channels: 1, range: [0, 1] });
      const o2 = gray.preprocess({ data: Float32Array.from([0, 0, 0, 1, 1, 1]), dims: [2, 3, 1, 1] }, [0, 1]);
      expectClose(o2.data, [0, 0.299 + 0.587 + 0.114], 'RGB → gray, two samples');
    });

    it('2×2 images, two samples: each sample\'s planes hold H·W values (RGB → RGB, RGB → gray)', async () => {
      // Sample b, channel k, pixel p holds 100·b + 10·k + p.
      const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => 100 * Math.floor(i / 12) + 10 * Math.floor((i % 12) / 4) + (i % 4));
      const rgb = await withPreprocess({ size: [2, 2], channels: 3, range: [0, 1] });
      expectClose(rgb.preprocess({ data, dims: [2, 3, 2, 2] }, [0, 1]).data, Array.from(data), 'RGB → RGB');
      const gray = await withPreprocess({ size: [2, 2], channels: 1, range: [0, 1] });
      const luma = (b: number, p: number) => 0.299 * (100 * b + p) + 0.587 * (100 * b + 10 + p) + 0.114 * (100 * b + 20 + p);
      expectClose(gray.preprocess({ data, dims: [2, 3, 2, 2] }, [0, 1]).data, [0, 1, 2, 3, 0, 1, 2, 3].map((p, i) => luma(i < 4 ? 0 : 1, p)), 'RGB → gray');
    });

    it('refuses images with 2 or 4 channels, tensors that are not 4-D (naming them) and a manifest without preprocess', async () => {
      const fx = await withPreprocess({ size: [2, 2], channels: 1, range: [0, 1] });
      expect(() => fx.preprocess({ data: new Float32Array(4), dims: [1, 2, 2] }, [0, 1])).to.throw(GanvasError, 'images must be 4-D (N, C, H, W), got dims [1, 2, 2]');
      for (const c of [2, 4]) {
        expect(() => fx.preprocess({ data: new Float32Array(c * 4), dims: [1, c, 2, 2] }, [0, 1]), `${c} channels`)
          .to.throw(GanvasError, `images must have 1 or 3 channels, got ${c}`);
      }
      const bundle = variant({ preprocess: { size: [2, 2], channels: 1, range: [0, 1] } });
      const opened = await FeatureExtractor.open(bundle, 'layer1', rt);
      delete (bundle.manifest as { preprocess?: Preprocess }).preprocess;
      expect(() => opened.preprocess({ data: new Float32Array(4), dims: [1, 1, 2, 2] }, [0, 1])).to.throw(GanvasError, `${bundle.manifest.name} has no preprocess`);
    });
  });

  describe('open', () => {
    it('takes a directory, a ganvas.json path or an opened model; cuts at the layer; names and input come from the model', async () => {
      for (const loc of [demoModelDir('fmnist-testnet'), path.join(demoModelDir('fmnist-testnet'), 'ganvas.json'), testnet]) {
        const fx = await FeatureExtractor.open(loc, 'layer2', rt);
        expect(fx.name).to.equal('fmnist-testnet');
        expect(fx.layer.aliases).to.include('layer2');
        expect(fx.layer.name).to.equal(testnet.manifest.layers?.layer2);
        expect(fx.inputName).to.equal(testnet.model.inputNames()[0]);
        expect(fx.model.outputNames()).to.deep.equal([fx.layer.name]);
        expect(fx.runtime).to.equal(rt);
      }
    });

    it('without a layer: the only alias; "layer2" for a shipped demo classifier; otherwise a GanvasError listing the aliases', async () => {
      // A demo directory whose manifest has one alias: that one, not "layer2".
      const only = await FeatureExtractor.open(variant({ layers: { layer3: 'layer3' } }), undefined, rt);
      expect(only.layer.name).to.equal('layer3');
      const demo = await FeatureExtractor.open(demoModelDir('fmnist-testnet'));
      expect(demo.layer.aliases).to.include('layer2');
      expect(demo.runtime).to.be.instanceOf(Runtime);

      // The same four aliases in a directory of one's own: "layer2" means nothing there.
      const own = await rejects(FeatureExtractor.open(variant({}, path.join(os.tmpdir(), 'my-classifier'))));
      expect(own.code).to.equal('BAD_INPUT');
      expect(own.message).to.contain('FeatureExtractor.open("fmnist-testnet") needs a layer');
      expect(own.message).to.contain('e.g. FeatureExtractor.open(dir, "layer1", runtime)');
      expect(own.message).to.contain("Its manifest's layer aliases: layer1, layer2, layer3, layer4.");
      expect(own.message).to.contain('Any ONNX tensor name works too');
      // Not a demo: the models folder itself, a folder nested deeper in it, a sibling folder whose name starts
      // like it, a folder above it.
      const root = demoModelDir('.');
      for (const dir of [root, path.join(root, 'recipes', 'x'), `${path.resolve(root)}-other`, path.dirname(path.resolve(root)), path.join(root, '..', 'x..')]) {
        await rejects(FeatureExtractor.open(variant({}, dir), undefined, rt));
      }
      // A folder directly inside it is one, whatever its name ("..x" and "x.." are names, not the parent).
      for (const name of ['..x', 'x..', 'fmnist-testnet']) {
        const fx = await FeatureExtractor.open(variant({}, path.join(root, name)), undefined, rt);
        expect(fx.layer.aliases, name).to.include('layer2');
      }
      // A demo directory whose manifest has no "layer2".
      const noLayer2 = variant({ layers: { layer1: testnet.manifest.layers!.layer1, layer3: testnet.manifest.layers!.layer3 } });
      const e2 = await rejects(FeatureExtractor.open(noLayer2, undefined, rt));
      expect(e2.message).to.contain("Its manifest's layer aliases: layer1, layer3.");
      // No aliases at all.
      const none = await rejects(FeatureExtractor.open(variant({ layers: undefined }, os.tmpdir()), undefined, rt));
      expect(none.message).to.contain('e.g. FeatureExtractor.open(dir, "layerName", runtime)');
      expect(none.message).to.contain('Its manifest has no layer aliases; Any ONNX tensor name works too');
      const empty = await rejects(FeatureExtractor.open(variant({ layers: {} }), undefined, rt));
      expect(empty.message).to.contain('Its manifest has no layer aliases;');
    });

    it('refuses what is not a model, a generator and a manifest without preprocess', async () => {
      for (const [bad, got] of [[null, 'null'], [42, 'number'], [{}, 'object'], [undefined, 'undefined']] as [unknown, string][]) {
        const e = await rejects(FeatureExtractor.open(bad as string, 'layer1', rt));
        expect(e.code).to.equal('BAD_MANIFEST');
        expect(e.message).to.equal(`FeatureExtractor.open needs a model directory, a ganvas.json path or an opened model, got ${got}`);
      }
      const gen = await rejects(FeatureExtractor.open(demoModelDir('fmnist-stylegan'), 'b8.conv1', rt));
      expect(gen.code).to.equal('BAD_MANIFEST');
      expect(gen.message).to.equal('fmnist-stylegan is a generator; a feature extractor must be a classifier or features model');
      const noPre = await rejects(FeatureExtractor.open(variant({ preprocess: undefined }), 'layer1', rt));
      expect(noPre.code).to.equal('BAD_MANIFEST');
      expect(noPre.message).to.equal('fmnist-testnet has no "preprocess" in its manifest');
    });

    it('layers() browses the whole classifier, past the cut', async () => {
      const fx = await FeatureExtractor.open(testnet, 'layer1', rt);
      const table = await fx.layers();
      expect(table.map((r) => r.name).slice(0, 4)).to.deep.equal(['layer1', 'layer2', 'layer3', 'layer4']);
      expect(String(table)).to.match(/^fmnist-testnet: 4 named layers/);
      // Options reach the browser: all: true lists at least as many rows.
      expect((await fx.layers({ all: true })).length).to.be.at.least(table.length);
    });
  });

  describe('features', () => {
    it('are the chosen layer of the preprocessed images (a graph whose layer is Relu(2x − 1) of its input)', async () => {
      const g = new GraphBuilder();
      const x = g.input('image', ['N', 1, 2, 2]);
      const lin = g.node('Sub', [g.node('Mul', [x, g.init('two', [1], [2])], 'twice'), g.init('one', [1], [1])], 'lin');
      g.node('Relu', [lin], 'act');
      g.node('Neg', ['act'], 'out');
      g.output('out', ['N', 1, 2, 2]);
      const model = g.build('features-test');
      const manifest: Manifest = {
        format: 'ganvas-manifest/1',
        name: 'lin',
        model: 'model.onnx',
        role: 'features',
        inputs: [{ name: 'image', kind: 'image', shape: ['N', 1, 2, 2] }],
        outputs: [{ name: 'out', kind: 'features' }],
        preprocess: { size: [2, 2], channels: 1, range: [0, 1], mean: [0.25], std: [0.5] },
        layers: { act: 'act' },
      };
      const fx = await FeatureExtractor.open({ manifest, model, dir: os.tmpdir() }, undefined, rt);
      expect(fx.layer.name).to.equal('act');
      // Two 1×1 images in [-1, 1], upsampled to 2×2.
      const images: FloatTensor = { data: Float32Array.from([1, -0.6]), dims: [2, 1, 1, 1] };
      const progress: [number, number][] = [];
      const f = await fx.features(images, [-1, 1], { batchSize: 1, onProgress: (d, t) => progress.push([d, t]) });
      expect(f.dims).to.deep.equal([2, 1, 2, 2]);
      // 1 → 1 in [0,1] → (1 − 0.25)/0.5 = 1.5 → relu(2·1.5 − 1) = 2;  −0.6 → 0.2 → −0.1 → relu(−1.2) = 0.
      expectClose(f.data, [2, 2, 2, 2, 0, 0, 0, 0], 'features');
      expect(progress[progress.length - 1]).to.deep.equal([2, 2]);
    });
  });
});

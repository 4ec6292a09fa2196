/**
 * The stitched graphs of paper 003 (compose.ts) on tiny models, fast (issue 19): the training graph's two outputs
 * against the classifier run apart on the images and on their reconstructions, the graphs' names, and the refusals
 * (a classifier without preprocessing or with two inputs, a generator output of unknown shape).
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  FeatureExtractor,
  FloatTensor,
  ModelBundle,
  Runtime,
  Stitch,
  StitchParts,
  activationMetrics,
  demoModelDir,
  inverterModel,
  openModel,
  randn,
  standaloneInverterModel,
  trainingModel,
} from 'ganvas';
import { GraphBuilder } from '../builder';
import { modelFolder, tinyClassifier, tinyGenerator } from '../models';
import { rejectsGanvas, throwsGanvas } from '../util';
import { maxDiff, uniformImages } from './tiny';

const rt = new Runtime({ threads: 1 });
const spec = { channels: 1, height: 16, width: 16, range: [0, 1] as [number, number] };

describe('stitching parts: the stitched graphs (compose.ts)', function () {
  this.timeout(120000);
  let cls: string;
  let gen: string;
  let s: Stitch;

  before(async () => {
    cls = await tinyClassifier();
    gen = await tinyGenerator();
    s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: { weight: randn('cp-w', [4, 6, 1, 1]), bias: randn('cp-b', [4]) } });
  });

  it("the training graph: c/<LayerX> = the classifier's activations of the images, d/<LayerX> those of the reconstructions", async () => {
    const m = trainingModel(s.parts, spec);
    expect(m.source).to.equal('stitch training graph tiny-cls.l1 → tiny-gen.b8.conv1');
    const images = uniformImages('cp-img', 2);
    const feeds = { ...(await s.tailFeeds([4, 9])), image: images, 's/weight': s.weights.weight, 's/bias': s.weights.bias };
    const out = await (await rt.session(m)).run(feeds, ['c/l1', 'd/l1']);
    const fx = await FeatureExtractor.open(cls, 'layer1', rt);
    expect(maxDiff(out['c/l1'], await fx.features(images, [0, 1]))).to.be.below(1e-5);
    // The reconstructions (8×8 in [−1, 1]) go through the classifier's preprocessing for generator images.
    const rec = await s.invert(images, { seeds: [4, 9] });
    expect(maxDiff(out['d/l1'], await fx.features(rec, [-1, 1]))).to.be.below(1e-4);
  });

  it('the standalone inverter (generator head inside) gives what invert gives for the same seeds', async () => {
    // The demo StyleGAN's tail reads the head's mapped w besides LayerY ("crossing" tensors): in the standalone graph
    // they must come from the head inside it, not be left as inputs.
    const demo = await Stitch.create({ classifier: demoModelDir('fmnist-resnet'), layerX: 'layer2', generator: demoModelDir('fmnist-stylegan'), layerY: 'b8.conv0', runtime: rt, seed: 4 });
    const crossing = demo.parts.cut.split.tailInputs.filter((t) => t.role === 'crossing').map((t) => t.name);
    expect(crossing.length).to.be.above(0);
    for (const [st, images] of [[s, uniformImages('cp-sa', 3)], [demo, uniformImages('cp-sa2', 3, 1, 32)]] as [Stitch, FloatTensor][]) {
      const m = st.exportModel();
      for (const name of m.inputNames()) expect(name === 'image' || !name.includes('/'), `input ${name}`).to.equal(true);
      const [outName] = m.outputNames();
      const out = await (await rt.session(m)).run(st.exportFeeds(m, images, [2, 5, 2]), [outName]);
      expect(maxDiff(out[outName], await st.invert(images, { seeds: [2, 5, 2] }))).to.be.below(1e-5);
    }
  });

  it('names the inverter graphs by the pair', () => {
    expect(inverterModel(s.parts, spec).source).to.equal('stitched inverter tiny-cls.layer1 → tiny-gen.b8.conv1');
    expect(standaloneInverterModel(s.parts, spec).source).to.equal('stitched inverter tiny-cls → tiny-gen');
    // A LayerX without an alias is named by its tensor.
    const bare: StitchParts = { ...s.parts, layerX: { ...s.parts.layerX, aliases: [] } };
    expect(inverterModel(bare, spec).source).to.equal('stitched inverter tiny-cls.l1 → tiny-gen.b8.conv1');
  });

  it('refuses a classifier without preprocessing, for every graph', () => {
    const bundle: ModelBundle = { ...s.parts.classifier, manifest: { ...s.parts.classifier.manifest, preprocess: undefined } };
    const parts: StitchParts = { ...s.parts, classifier: bundle };
    for (const build of [inverterModel, standaloneInverterModel, trainingModel]) {
      expect(throwsGanvas(() => build(parts, spec), 'BAD_MANIFEST').message).to.equal('tiny-cls has no "preprocess" in its manifest');
    }
  });

  it('refuses a generator output of unknown shape (the training graph preprocesses it)', () => {
    const shapes: unknown[] = [
      undefined,
      {},
      { type: { tensorType: { shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimValue: 8 }, {}] } } } },
      { type: { tensorType: { shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimParam: 'H' }, { dimValue: 8 }] } } } },
      { type: { tensorType: { shape: { dim: [{ dimValue: 1 }, {}, { dimValue: 8 }, { dimValue: 8 }] } } } },
      { type: { tensorType: { shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimValue: 8 }] } } } },
    ];
    for (const info of shapes) {
      const tail = Object.create(s.parts.cut.split.tail);
      tail.valueInfo = () => info;
      const parts: StitchParts = { ...s.parts, cut: { ...s.parts.cut, split: { ...s.parts.cut.split, tail } } as StitchParts['cut'] };
      expect(throwsGanvas(() => trainingModel(parts, spec), 'BAD_MANIFEST').message).to.equal('tiny-gen\'s output "img" has no known N×C×H×W shape');
    }
  });

  it("a classifier reading [0, 2]: evaluate and the export take images in its range by default", async () => {
    const c2 = await tinyClassifier();
    const mf = path.join(c2, 'ganvas.json');
    const j = JSON.parse(await fs.readFile(mf, 'utf8'));
    j.preprocess.range = [0, 2];
    await fs.writeFile(mf, JSON.stringify(j));
    const t = await Stitch.create({ classifier: c2, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: s.weights });
    const u = uniformImages('cp-r2', 3);
    const images = { data: u.data.map((v) => 2 * v), dims: u.dims };
    const test = await FeatureExtractor.open(c2, 'layer2', rt);
    const rec = await t.invert(images, { seeds: [0, 1, 2] });
    // Read in [0, 2] by default: the same as saying so, not as reading them in [0, 1].
    expect(maxDiff(rec, await t.invert(images, { seeds: [0, 1, 2], range: [0, 2] }))).to.equal(0);
    expect(maxDiff(rec, await t.invert(images, { seeds: [0, 1, 2], range: [0, 1] }))).to.be.above(1e-3);
    const want = activationMetrics(await test.features(rec, [-1, 1]), await test.features(images, [0, 2]));
    const got = (await t.evaluate(test, images)).metrics;
    for (let i = 0; i < 3; i++) expect(got.l1[i]).to.be.closeTo(want.l1[i], 1e-6);
    const m = t.exportModel();
    const out = Object.values(await (await rt.session(m)).run(t.exportFeeds(m, images, [0, 1, 2])))[0];
    expect(maxDiff(out, rec)).to.be.below(1e-5);
  });

  it('invert reports progress per batch; variations, save and load refuse with what was wrong, keeping the cause', async () => {
    const calls: [number, number][] = [];
    await s.invert(uniformImages('cp-pr', 2), { batchSize: 1, onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).to.deep.equal([
      [1, 2],
      [2, 2],
    ]);
    const flat = { data: new Float32Array(256), dims: [1, 16, 16] };
    expect((await rejectsGanvas(s.variations(flat, [1]), 'NOT_4D')).message).to.equal('image must be 4-D (N, C, H, W), got dims [1, 16, 16]');
    expect((await rejectsGanvas(s.save(3 as unknown as string), 'BAD_INPUT')).message).to.equal('save() needs a file path such as "stitch.json"');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cp-'));
    const missing = await rejectsGanvas(Stitch.load(path.join(dir, 'none.json')), 'BAD_INPUT');
    expect((missing as Error & { cause?: { code?: string } }).cause?.code).to.equal('ENOENT');
    await fs.writeFile(path.join(dir, 'bad.json'), '{');
    const bad = await rejectsGanvas(Stitch.load(path.join(dir, 'bad.json')), 'BAD_INPUT');
    expect((bad as Error & { cause?: unknown }).cause).to.be.instanceOf(SyntaxError);
    // A different classifier under the stitch: both digests, shortened, in the message.
    const file = path.join(dir, 's.json');
    await s.save(file);
    const other = await openModel(await tinyClassifier({ valid: true }));
    const e = await rejectsGanvas(Stitch.load(file, { classifier: other, runtime: rt }), 'BAD_INPUT');
    expect(e.message).to.contain(`is a different model (digest ${other.model.digest().slice(0, 12)}); a stitch only works`);
  });

  it('refuses a classifier with two inputs before LayerX, naming them', async () => {
    const g = new GraphBuilder();
    const x = g.input('image', ['N', 1, 16, 16]);
    const extra = g.input('extra', ['N', 6, 16, 16]);
    const l1 = g.node('Relu', [g.node('Add', [g.conv(x, 1, 6), extra], 'sum')], 'l1');
    g.node('Flatten', [g.node('GlobalAveragePool', [l1], 'gap')], 'logits', { axis: 1 });
    g.output('logits', ['N', 6]);
    const dir = await modelFolder(g, {
      format: 'ganvas-manifest/1',
      name: 'two-in',
      model: 'model.onnx',
      role: 'classifier',
      inputs: [
        { name: 'image', kind: 'image', shape: ['N', 1, 16, 16] },
        { name: 'extra', kind: 'image', shape: ['N', 6, 16, 16] },
      ],
      outputs: [{ name: 'logits', kind: 'logits' }],
      preprocess: { size: [16, 16], channels: 1, range: [0, 1], mean: [0.5], std: [0.25] },
      layers: { layer1: 'l1' },
    });
    const bundle = await openModel(dir);
    const t = await Stitch.create({ classifier: bundle, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt });
    const e = await rejectsGanvas(t.invert(uniformImages('cp-two', 1)), 'UNSUPPORTED');
    expect(e.message).to.match(/ has 2 inputs \(image, extra\); a classifier to stitch must have exactly one image input$/);
    throwsGanvas(() => trainingModel(t.parts, spec), 'UNSUPPORTED');
  });
});

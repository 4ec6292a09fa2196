/**
 * Paper 003's stitch (stitch.ts) on tiny models made here (issue 19): each test runs in milliseconds to a few hundred
 * ms, so mutation testing can afford them. The 1×1 conv + nearest resize is recomputed by hand from the classifier's
 * own LayerX activations; the refusals are checked by their messages; save/load by the bytes that come back.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FeatureExtractor, FloatTensor, Generator, Runtime, STITCH_FORMAT, Stitch, activationMetrics, demoModelDir, demoStitchPath, meanStd, openModel, randn } from 'ganvas';
import { identityGenerator, styledGenerator, tinyClassifier, tinyGenerator } from '../models';
import { rejectsGanvas, throwsGanvas } from '../util';
import { maxDiff, uniformImages } from './tiny';

const rt = new Runtime({ threads: 1 });

/** The stitch's output by hand: y[n,o,i,j] = bias[o] + Σ_c W[o,c] · x[n, c, floor(i·H/h), floor(j·W/w)]. */
function byHand(x: FloatTensor, w: FloatTensor, b: FloatTensor, out: [number, number]): FloatTensor {
  const [n, cx, H, W] = x.dims;
  const cy = b.dims[0];
  const [h, ww] = out;
  const y = new Float32Array(n * cy * h * ww);
  for (let k = 0; k < n; k++)
    for (let o = 0; o < cy; o++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < ww; j++) {
          const si = Math.floor((i * H) / h);
          const sj = Math.floor((j * W) / ww);
          let v = b.data[o];
          for (let c = 0; c < cx; c++) v += w.data[o * cx + c] * x.data[((k * cx + c) * H + si) * W + sj];
          y[((k * cy + o) * h + i) * ww + j] = v;
        }
  return { data: y, dims: [n, cy, h, ww] };
}

describe('stitching parts: the Stitch on tiny models', function () {
  this.timeout(120000);
  let cls: string;
  let idGen: string;
  let gen: string;
  let stitch: Stitch;
  let fx: FeatureExtractor;
  const weights = () => ({ weight: randn('sp-w', [3, 6, 1, 1]), bias: randn('sp-b', [3]) });

  before(async () => {
    cls = await tinyClassifier();
    idGen = await identityGenerator();
    gen = await tinyGenerator();
    // identity generator: img = h (3×4×4), so the reconstruction IS what the stitch writes into LayerY.
    stitch = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: idGen, layerY: 'h', runtime: rt, init: weights() });
    fx = await FeatureExtractor.open(cls, 'layer1', rt);
  });

  it('names its layers and the pair; records the init', () => {
    expect(stitch.layerX).to.equal('layer1');
    expect(stitch.layerY).to.equal('h');
    expect(stitch.name).to.equal('tiny-cls.layer1 → identity-gen.h');
    expect(stitch.record).to.deep.equal({ init: 'given' });
    expect(stitch.runtime).to.equal(rt);
  });

  it('invert = the 1×1 conv of the classifier activations, nearest-resized 16×16 → 4×4, computed by hand', async () => {
    const images = uniformImages('sp-img', 3);
    const x = await fx.features(images, [0, 1]);
    const want = byHand(x, stitch.weights.weight, stitch.weights.bias, [4, 4]);
    const got = await stitch.invert(images);
    expect(maxDiff(got, want)).to.be.below(1e-5);
    expect(maxDiff(await stitch.injected(images), want)).to.be.below(1e-5);
    // Batches of 2 give the same images, and progress counts images: 2, 3.
    const calls: [number, number][] = [];
    const chunked = await stitch.invert(images, { batchSize: 2, onProgress: (d, t) => calls.push([d, t]) });
    expect(maxDiff(chunked, want)).to.be.below(1e-5);
    expect(calls).to.deep.equal([
      [2, 3],
      [3, 3],
    ]);
    // Another range: images in [0, 2] are the same pictures as images/2 in [0, 1].
    const doubled = { data: images.data.map((v) => 2 * v), dims: images.dims };
    expect(maxDiff(await stitch.invert(doubled, { range: [0, 2] }), want)).to.be.below(1e-5);
    expect(maxDiff(await stitch.injected(doubled, { range: [0, 2] }), want)).to.be.below(1e-5);
  });

  it('setWeights takes new weights (the next inversion uses them) and refuses wrong shapes and non-finite values', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: idGen, layerY: 'h', runtime: rt });
    expect(s.record).to.deep.equal({ init: 'default' });
    expect(s.weights.weight.dims).to.deep.equal([3, 6, 1, 1]);
    expect(s.weights.bias.dims).to.deep.equal([3]);
    const images = uniformImages('sp-img2', 1);
    const w = weights();
    s.setWeights(w);
    const x = await fx.features(images, [0, 1]);
    expect(maxDiff(await s.invert(images), byHand(x, w.weight, w.bias, [4, 4]))).to.be.below(1e-5);
    const bad = (weight: FloatTensor, bias: FloatTensor) => throwsGanvas(() => s.setWeights({ weight, bias }), 'BAD_INPUT').message;
    const wmsg = 'stitch weight must be [3, 6, 1, 1] (LayerY channels, LayerX channels), got ';
    expect(bad(randn('x', [3, 6, 1]), w.bias)).to.equal(wmsg + '[3, 6, 1]');
    expect(bad(randn('x', [6, 3, 1, 1]), w.bias)).to.equal(wmsg + '[6, 3, 1, 1]');
    expect(bad(randn('x', [3, 5, 1, 1]), w.bias)).to.equal(wmsg + '[3, 5, 1, 1]');
    expect(bad(randn('x', [3, 6, 2, 1]), w.bias)).to.equal(wmsg + '[3, 6, 2, 1]');
    expect(bad(randn('x', [3, 6, 1, 2]), w.bias)).to.equal(wmsg + '[3, 6, 1, 2]');
    expect(bad({ data: new Float32Array(17), dims: [3, 6, 1, 1] }, w.bias)).to.equal(wmsg + '[3, 6, 1, 1]');
    expect(bad(w.weight, randn('x', [4]))).to.equal('stitch bias must be [3], got [4]');
    expect(bad(w.weight, randn('x', [3, 1]))).to.equal('stitch bias must be [3], got [3, 1]');
    expect(bad(w.weight, { data: new Float32Array(2), dims: [3] })).to.equal('stitch bias must be [3], got [3]');
    // Each rule alone (18 values, the right count, under one wrong dimension).
    const d18 = (dims: number[]) => ({ data: new Float32Array(18), dims });
    expect(bad(d18([4, 6, 1, 1]), w.bias)).to.equal(wmsg + '[4, 6, 1, 1]');
    expect(bad(d18([3, 7, 1, 1]), w.bias)).to.equal(wmsg + '[3, 7, 1, 1]');
    expect(bad(d18([3, 6, 2, 1]), w.bias)).to.equal(wmsg + '[3, 6, 2, 1]');
    expect(bad(d18([3, 6, 1, 2]), w.bias)).to.equal(wmsg + '[3, 6, 1, 2]');
    expect(bad(d18([3, 6, 1, 1, 1]), w.bias)).to.equal(wmsg + '[3, 6, 1, 1, 1]');
    expect(bad(w.weight, { data: new Float32Array(3), dims: [4] })).to.equal('stitch bias must be [3], got [4]');
    expect(bad(w.weight, { data: new Float32Array(3), dims: [3, 1] })).to.equal('stitch bias must be [3], got [3, 1]');
    const nanW = { data: w.weight.data.slice(), dims: w.weight.dims };
    nanW.data[17] = NaN;
    expect(bad(nanW, w.bias)).to.equal('stitch weights hold a non-finite value');
    const infB = { data: w.bias.data.slice(), dims: w.bias.dims };
    infB.data[2] = Infinity;
    expect(bad(w.weight, infB)).to.equal('stitch weights hold a non-finite value');
    // The refused weights were not taken.
    expect(s.weights).to.equal(w);
  });

  it('refuses bad images with what was wrong and what is right', async () => {
    const msg = async (images: FloatTensor, range?: [number, number]) => (await rejectsGanvas(stitch.invert(images, range ? { range } : {}), 'BAD_INPUT')).message;
    expect(await msg({ data: new Float32Array(0), dims: [0, 1, 16, 16] })).to.equal('no images to invert (batch of 0)');
    expect(await msg(uniformImages('x', 1, 2))).to.equal('images must have 1 or 3 channels, got 2 (dims [1, 2, 16, 16])');
    expect(await msg(uniformImages('x', 1, 1, 8))).to.equal('images are 8×8, but tiny-cls takes 16×16; resize them first (the stitch was trained at that size)');
    const wide = { data: new Float32Array(16 * 17), dims: [1, 1, 16, 17] };
    expect(await msg(wide)).to.equal('images are 16×17, but tiny-cls takes 16×16; resize them first (the stitch was trained at that size)');
    const tall = { data: new Float32Array(16 * 17), dims: [1, 1, 17, 16] };
    expect(await msg(tall)).to.equal('images are 17×16, but tiny-cls takes 16×16; resize them first (the stitch was trained at that size)');
    expect(await msg(uniformImages('x', 1), [1, 1])).to.equal('range must be [low, high] with low < high, got [1,1]');
    expect(await msg(uniformImages('x', 1), [1, 0])).to.equal('range must be [low, high] with low < high, got [1,0]');
    expect(await msg(uniformImages('x', 1), [0, 1, 2] as unknown as [number, number])).to.equal('range must be [low, high] with low < high, got [0,1,2]');
    const nan = uniformImages('x', 2);
    nan.data[300] = NaN;
    expect(await msg(nan)).to.equal('images hold a non-finite value (NaN) at index 300');
    const inf = uniformImages('x', 1);
    inf.data[0] = -Infinity;
    expect(await msg(inf)).to.equal('images hold a non-finite value (-Infinity) at index 0');
    // A three-channel image is taken (and refused only by size here).
    expect(await msg(uniformImages('x', 1, 3, 8))).to.match(/^images are 8×8/);
    expect(await msg(uniformImages('x', 2), undefined).catch(() => 'x')).to.be.a('string');
  });

  it('invert takes one seed for all, or one per image, and refuses a count that does not match', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, seed: 3 });
    const images = uniformImages('sp-seeds', 3);
    const a = await s.invert(images);
    const b = await s.invert(images, { seeds: [0, 0, 0] });
    expect(maxDiff(a, b)).to.equal(0);
    const c = await s.invert(images, { seed: 5 });
    const d = await s.invert(images, { seeds: [5, 5, 5] });
    expect(maxDiff(c, d)).to.equal(0);
    expect(maxDiff(a, c)).to.be.above(1e-4);
    // Mixed seeds: image k is the image made alone with its seed.
    const mixed = await s.invert(images, { seeds: [5, 0, 5] });
    const per = 64;
    expect(Array.from(mixed.data.subarray(0, per))).to.deep.equal(Array.from(c.data.subarray(0, per)));
    expect(Array.from(mixed.data.subarray(per, 2 * per))).to.deep.equal(Array.from(a.data.subarray(per, 2 * per)));
    expect(Array.from(mixed.data.subarray(2 * per))).to.deep.equal(Array.from(c.data.subarray(2 * per)));
    // Three distinct seeds in batches of 2 equal three images made one at a time.
    const three = await s.invert(images, { seeds: [7, 8, 9], batchSize: 2 });
    for (let k = 0; k < 3; k++) {
      const one = await s.invert({ data: images.data.slice(k * 256, (k + 1) * 256), dims: [1, 1, 16, 16] }, { seed: 7 + k });
      expect(Math.max(...Array.from(one.data).map((v, i) => Math.abs(v - three.data[k * per + i])))).to.be.below(1e-6);
    }
    expect(three.dims).to.deep.equal([3, 1, 8, 8]);
    const e = await rejectsGanvas(s.invert(images, { seeds: [1, 2] }), 'BAD_INPUT');
    expect(e.message).to.equal('2 seeds for 3 images; give one seed per image, or seed');
    // An aborted signal stops before the first batch.
    const ac = new AbortController();
    ac.abort(new Error('stop here'));
    let thrown: unknown;
    await s.invert(images, { signal: ac.signal }).catch((x: unknown) => (thrown = x));
    expect(String(thrown)).to.contain('stop here');
    // …and one aborted after the first batch stops before the second.
    const ac2 = new AbortController();
    const seen: number[] = [];
    thrown = undefined;
    await s
      .invert(images, {
        batchSize: 1,
        signal: ac2.signal,
        onProgress: (done) => {
          seen.push(done);
          ac2.abort(new Error('second'));
        },
      })
      .catch((x: unknown) => (thrown = x));
    expect(seen).to.deep.equal([1]);
    expect(String(thrown)).to.contain('second');
  });

  it('variations: one image with each seed = invert of copies with those seeds; refusals', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, seed: 1 });
    const image = uniformImages('sp-var', 1);
    const v = await s.variations(image, [4, 2, 9]);
    expect(v.dims).to.deep.equal([3, 1, 8, 8]);
    for (const [k, seed] of [4, 2, 9].entries()) {
      const one = await s.invert(image, { seed });
      expect(Math.max(...Array.from(one.data).map((x, i) => Math.abs(x - v.data[k * 64 + i])))).to.be.below(1e-6);
    }
    expect((await rejectsGanvas(s.variations(uniformImages('x', 2), [1]), 'BAD_INPUT')).message).to.equal('variations() takes one image (batch 1), got 2');
    expect((await rejectsGanvas(s.variations(image, []), 'BAD_INPUT')).message).to.equal('variations() needs at least one seed');
  });

  it('evaluate: seed i for image i by default; the metrics are the test network\'s, compared apart', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, seed: 2 });
    const images = uniformImages('sp-eval', 3);
    const test = await FeatureExtractor.open(cls, 'layer2', rt);
    const ev = await s.evaluate(test, images);
    expect(ev.seconds).to.be.above(0).and.below(60);
    const rec = await s.invert(images, { seeds: [0, 1, 2] });
    // Originals in [0, 1], reconstructions in the generator's [-1, 1].
    const want = activationMetrics(await test.features(rec, [-1, 1]), await test.features(images, [0, 1]));
    for (const k of ['cosine', 'gram', 'l1'] as const) {
      expect(ev.metrics[k].length).to.equal(3);
      for (let i = 0; i < 3; i++) expect(ev.metrics[k][i]).to.be.closeTo(want[k][i], 1e-6);
    }
    // One seed for all when given.
    const one = await s.evaluate(test, images, { seed: 0, batchSize: 2 });
    const rec0 = await s.invert(images, { seed: 0 });
    const want0 = activationMetrics(await test.features(rec0, [-1, 1]), await test.features(images, [0, 1]));
    for (let i = 0; i < 3; i++) expect(one.metrics.l1[i]).to.be.closeTo(want0.l1[i], 1e-6);
    expect(Math.abs(one.metrics.l1[1] - ev.metrics.l1[1])).to.be.above(1e-7);
    // Images given in another range are compared in it.
    const doubled = { data: images.data.map((x) => 2 * x), dims: images.dims };
    const ev2 = await s.evaluate(test, doubled, { range: [0, 2] });
    for (let i = 0; i < 3; i++) expect(ev2.metrics.cosine[i]).to.be.closeTo(ev.metrics.cosine[i], 1e-5);
    expect(meanStd(ev.metrics.cosine).mean).to.be.within(-1, 1);
  });

  it('exports one standalone ONNX model that reproduces invert, with the feeds it lists', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: { weight: randn('ex-w', [4, 6, 1, 1]), bias: randn('ex-b', [4]) } });
    const images = uniformImages('sp-ex', 2);
    const m = s.exportModel();
    const feeds = s.exportFeeds(m, images, [3, 4]);
    expect(Object.keys(feeds)).to.include('image');
    const out = await (await rt.session(m)).run(feeds);
    const got = Object.values(out)[0];
    expect(maxDiff(got, await s.invert(images, { seeds: [3, 4] }))).to.be.below(1e-5);
    // In another range.
    const m2 = s.exportModel([0, 255]);
    const scaled = { data: images.data.map((x) => 255 * x), dims: images.dims };
    const got2 = Object.values(await (await rt.session(m2)).run(s.exportFeeds(m2, scaled, [3, 4])))[0];
    expect(maxDiff(got2, got)).to.be.below(1e-4);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sp-'));
    await s.exportOnnx(path.join(dir, 'inv.onnx'));
    expect(Buffer.compare(await fs.readFile(path.join(dir, 'inv.onnx')), Buffer.from(m.bytes()))).to.equal(0);
  });

  it('saves one JSON file and loads it back bit for bit (models relative to the file, or given)', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: { weight: randn('sv-w', [4, 6, 1, 1]), bias: randn('sv-b', [4]) } });
    s.record = { ...s.record, note: 'kept' };
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sp-'));
    const file = path.join(dir, 'stitch.json');
    await s.save(file);
    const text = await fs.readFile(file, 'utf8');
    expect(text.endsWith('}\n')).to.equal(true);
    const j = JSON.parse(text);
    expect(j.format).to.equal(STITCH_FORMAT);
    expect(j.layerX).to.equal('layer1');
    expect(j.layerY).to.equal('b8.conv1');
    expect(j.classifier.name).to.equal('tiny-cls');
    expect(j.classifier.dir).to.equal(path.relative(dir, cls));
    expect(j.generator.dir).to.equal(path.relative(dir, gen));
    expect(j.classifier.digest).to.equal((await openModel(cls)).model.digest());
    expect(j.weight.dims).to.deep.equal([4, 6, 1, 1]);
    expect(Buffer.from(j.weight.base64, 'base64').length).to.equal(4 * 24);
    for (const where of [file, dir]) {
      const l = await Stitch.load(where, { runtime: rt });
      expect(Array.from(l.weights.weight.data)).to.deep.equal(Array.from(s.weights.weight.data));
      expect(Array.from(l.weights.bias.data)).to.deep.equal(Array.from(s.weights.bias.data));
      expect(l.record).to.deep.equal({ init: 'given', note: 'kept' });
      expect(l.layerY).to.equal('b8.conv1');
    }
    // Given models (a Generator object too) are used instead.
    const g = new Generator(await openModel(gen), rt);
    const l2 = await Stitch.load(file, { classifier: cls, generator: g });
    expect(l2.generator).to.equal(g);
    const images = uniformImages('sp-sv', 2);
    expect(maxDiff(await l2.invert(images), await s.invert(images))).to.equal(0);
    // A file saved next to the models stores "." for the folder it sits in.
    const inCls = path.join(cls, 's.json');
    await s.save(inCls);
    expect(JSON.parse(await fs.readFile(inCls, 'utf8')).classifier.dir).to.equal('.');
    // A record-less file loads with an empty record.
    delete j.record;
    await fs.writeFile(path.join(dir, 'norec.json'), JSON.stringify(j));
    expect((await Stitch.load(path.join(dir, 'norec.json'), { runtime: rt })).record).to.deep.equal({});
    expect((await rejectsGanvas(s.save(''), 'BAD_INPUT')).message).to.equal('save() needs a file path such as "stitch.json"');
  });

  it('load falls back to the demo model of the recorded name when the recorded folder is gone', async () => {
    const shipped = demoStitchPath('fmnist-resnet', 'layer1', 'fmnist-stylegan', 'b16.conv0');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sp-'));
    const moved = path.join(dir, 'stitch.json');
    await fs.copyFile(shipped, moved);
    const a = await Stitch.load(moved, { runtime: rt });
    const b = await Stitch.load(shipped, { runtime: rt });
    expect(a.parts.classifier.dir).to.equal(demoModelDir('fmnist-resnet'));
    expect(a.parts.generator.dir).to.equal(demoModelDir('fmnist-stylegan'));
    expect(Array.from(a.weights.weight.data)).to.deep.equal(Array.from(b.weights.weight.data));
  });

  it('load refuses unreadable, non-JSON, foreign, malformed and mismatched files, saying which', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sp-'));
    const file = path.join(dir, 'stitch.json');
    await s.save(file);
    const good = JSON.parse(await fs.readFile(file, 'utf8'));
    const write = async (name: string, body: unknown) => {
      const f = path.join(dir, name);
      await fs.writeFile(f, typeof body === 'string' ? body : JSON.stringify(body));
      return f;
    };
    const msg = async (f: string, opts = {}) => (await rejectsGanvas(Stitch.load(f, { runtime: rt, ...opts }), 'BAD_INPUT')).message;
    expect(await msg(path.join(dir, 'none.json'))).to.match(/^cannot read stitch file .*none\.json: /);
    expect(await msg(await write('bad.json', '{nope'))).to.match(/^.*bad\.json is not a stitch file \(invalid JSON: /);
    const f1 = await write('fmt.json', { ...good, format: 'other/1' });
    expect(await msg(f1)).to.equal(`${f1} is not a stitch file (format "other/1", expected "ganvas-stitch/1")`);
    const f0 = await write('null.json', 'null');
    expect(await msg(f0)).to.equal(`${f0} is not a stitch file (format undefined, expected "ganvas-stitch/1")`);
    const f2 = await write('w.json', { ...good, weight: undefined });
    expect(await msg(f2)).to.equal('stitch file: "weight" is missing or malformed');
    const f3 = await write('b.json', { ...good, bias: { dims: 4, base64: good.bias.base64 } });
    expect(await msg(f3)).to.equal('stitch file: "bias" is missing or malformed');
    const f3b = await write('b2.json', { ...good, bias: { dims: [4], base64: 7 } });
    expect(await msg(f3b)).to.equal('stitch file: "bias" is missing or malformed');
    const f4 = await write('shape.json', { ...good, bias: { dims: [5], base64: Buffer.from(new Float32Array(5).buffer).toString('base64') } });
    expect(await msg(f4)).to.equal('stitch file: "bias" has shape [5], the models need [4]');
    const f5 = await write('shape2.json', { ...good, weight: { dims: [6, 4, 1, 1], base64: good.weight.base64 } });
    expect(await msg(f5)).to.equal('stitch file: "weight" has shape [6, 4, 1, 1], the models need [4, 6, 1, 1]');
    const f5b = await write('shape3.json', { ...good, weight: { dims: [4, 6, 1], base64: good.weight.base64 } });
    expect(await msg(f5b)).to.equal('stitch file: "weight" has shape [4, 6, 1], the models need [4, 6, 1, 1]');
    const f5c = await write('short.json', { ...good, bias: { dims: [4], base64: Buffer.from(new Float32Array(3).buffer).toString('base64') } });
    expect(await msg(f5c)).to.equal('stitch file: "bias" has shape [4], the models need [4]');
    const nan = new Float32Array(4);
    nan[3] = NaN;
    const f6 = await write('nan.json', { ...good, bias: { dims: [4], base64: Buffer.from(nan.buffer).toString('base64') } });
    expect(await msg(f6)).to.equal('stitch file: "bias" holds a non-finite value');
    // Another classifier under the stitch: the digests differ.
    const other = await tinyClassifier({ valid: true });
    const m = await msg(file, { classifier: other });
    expect(m).to.contain(`${file} was trained with classifier tiny-cls (digest ${good.classifier.digest.slice(0, 12)}), but tiny-cls at ${other} is a different model`);
    expect(m).to.contain('a stitch only works with the exact models it was trained for');
    const otherGen = await styledGenerator();
    expect(await msg(file, { generator: otherGen })).to.contain(`was trained with generator tiny-gen (digest ${good.generator.digest.slice(0, 12)})`);
  });

  it('create refuses a generator as the classifier, a classifier without preprocess, and a bad init', async () => {
    let e = await rejectsGanvas(Stitch.create({ classifier: gen, layerX: 'b8.conv1', generator: gen, runtime: rt }), 'BAD_MANIFEST');
    expect(e.message).to.equal('tiny-gen is a generator; the network to invert must be a classifier or features model');
    const b = await openModel(cls);
    const noPre = { ...b, manifest: { ...b.manifest, preprocess: undefined } } as typeof b;
    e = await rejectsGanvas(Stitch.create({ classifier: noPre, layerX: 'layer1', generator: gen, runtime: rt }), 'BAD_MANIFEST');
    expect(e.message).to.equal('tiny-cls has no "preprocess" in its manifest');
    e = await rejectsGanvas(Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: 'zeros' as 'default' }), 'BAD_INPUT');
    expect(e.message).to.equal('init must be "default", "lstsq" or { weight, bias }, got "zeros"');
    e = await rejectsGanvas(Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: { weight: randn('x', [4, 6, 1, 1]) } as never }), 'BAD_INPUT');
    expect(e.message).to.match(/^init must be "default", "lstsq" or \{ weight, bias \}, got \{"weight"/);
    e = await rejectsGanvas(Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: { bias: randn('x', [4]) } as never }), 'BAD_INPUT');
    expect(e.message).to.match(/^init must be "default", "lstsq" or \{ weight, bias \}, got \{"bias"/);
    // Given weights of the wrong shape are refused by setWeights' rule.
    e = await rejectsGanvas(Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: { weight: randn('x', [4, 5, 1, 1]), bias: randn('y', [4]) } }), 'BAD_INPUT');
    expect(e.message).to.equal('stitch weight must be [4, 6, 1, 1] (LayerY channels, LayerX channels), got [4, 5, 1, 1]');
  });

  it('without layerY takes the paper rule\'s layer; a Generator object brings its runtime', async () => {
    const g = new Generator(await openModel(gen), rt);
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: g });
    expect(s.layerY).to.equal('b8.conv1');
    expect(s.target?.layer).to.equal('b8.conv1');
    expect(s.runtime).to.equal(rt);
    expect(s.generator).to.equal(g);
    const given = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: g, layerY: 'b8.conv1' });
    expect(given.target).to.equal(undefined);
    // Default init is seeded: same seed same weights, other seed others.
    const a = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: g, layerY: 'b8.conv1', seed: 4 });
    const b = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: g, layerY: 'b8.conv1', seed: 4 });
    const c = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: g, layerY: 'b8.conv1' });
    expect(Array.from(a.weights.weight.data)).to.deep.equal(Array.from(b.weights.weight.data));
    expect(Array.from(a.weights.weight.data)).to.not.deep.equal(Array.from(c.weights.weight.data));
    expect(Array.from(c.weights.weight.data)).to.deep.equal(Array.from(given.weights.weight.data));
  });

  it('lstsq init records its fit and beats nothing else here but its own r²', async () => {
    const s = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: 'lstsq', initSamples: 16, seed: 1 });
    const r = s.record as { init: string; lstsq: { r2: number; samples: number; seconds: number } };
    expect(r.init).to.equal('lstsq');
    expect(r.lstsq.samples).to.equal(16);
    expect(r.lstsq.r2).to.be.within(-1e-6, 1 + 1e-6);
    expect(r.lstsq.seconds).to.be.within(0, 60);
    const d = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: 'lstsq', seed: 1 });
    expect((d.record as { lstsq: { samples: number } }).lstsq.samples).to.equal(512);
    // The fit used the samples and seed asked for: 16 samples fit otherwise than 512, seed 2 otherwise than seed 1.
    expect(Array.from(d.weights.weight.data)).to.not.deep.equal(Array.from(s.weights.weight.data));
    const e = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: gen, layerY: 'b8.conv1', runtime: rt, init: 'lstsq', initSamples: 16, seed: 2 });
    expect(Array.from(e.weights.weight.data)).to.not.deep.equal(Array.from(s.weights.weight.data));
  });
});

/**
 * The ganvas.json manifest, field by field (models/MANIFEST.md is the spec; issue 19): every refusal names the
 * field, what it got and what would be right, and lists every problem at once; a valid manifest of each role passes
 * unchanged (layers defaulting to {}); openModel checks the manifest against the graph's own inputs, outputs and
 * shapes, naming the field at fault. Graphs are hand-made (test/builder.ts), their shapes known.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Manifest, demoModelDir, demoModels, imageOutput, onnx, openDemoModel, openModel, validateManifest } from 'ganvas';
import { GraphBuilder } from './builder';
import { modelFolder, styledManifest } from './models';
import { styled } from './graphs';
import { rejectsGanvas, throwsGanvas } from './util';

type Json = Record<string, unknown>;

/** A valid generator manifest for styled() (z [N,8], noise [N,1,4,4] → img [N,1,4,4]). */
const gen = (over: Json = {}): Json => styledManifest(over);

function cls(over: Json = {}, pre: Json = {}): Json {
  return {
    format: 'ganvas-manifest/1',
    name: 'cls',
    role: 'classifier',
    model: 'model.onnx',
    inputs: [{ name: 'image', kind: 'image', shape: ['N', 3, 8, 6] }],
    outputs: [{ name: 'logits', kind: 'logits' }],
    preprocess: { size: [8, 6], channels: 3, range: [0, 1], mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], ...pre },
    ...over,
  };
}

/** The problems a manifest is refused with (the lines after "  - "); the message frame is checked too. */
function problems(json: unknown, source = 'x/ganvas.json'): string[] {
  const e = throwsGanvas(() => validateManifest(json, source), 'BAD_MANIFEST');
  const head = `${source} is not a valid ganvas manifest:\n  - `;
  const tail = '\nSee models/MANIFEST.md.';
  expect(e.message.startsWith(head), e.message).to.equal(true);
  expect(e.message.endsWith(tail), e.message).to.equal(true);
  return e.message.slice(head.length, e.message.length - tail.length).split('\n  - ');
}

/** The one problem of a manifest that has exactly one. */
function only(json: unknown): string {
  const p = problems(json);
  expect(p, p.join(' | ')).to.have.length(1);
  return p[0];
}

/** image [N,3,8,6] → 1×1 conv (4 ch) → Relu → GlobalAveragePool → Flatten → logits [N,4]; a second input `t`. */
function classifierGraph(opts: { imageDims?: (number | string)[]; second?: boolean; secondFirst?: boolean } = {}): GraphBuilder {
  const g = new GraphBuilder();
  const dims = opts.imageDims ?? ['N', 3, 8, 6];
  const extra = (): void => void g.input('t', ['N', 2]);
  if (opts.secondFirst) extra();
  const x = g.input('image', dims);
  if (opts.second && !opts.secondFirst) extra();
  const h = g.node('Relu', [g.conv(x, Number(dims[1]) || 3, 4, undefined, 1)], 'h');
  g.node('Flatten', [g.node('GlobalAveragePool', [h], 'pool')], 'logits', { axis: 1 });
  g.output('logits', ['N', 4]);
  return g;
}

const dirWith = (g: GraphBuilder | Uint8Array, manifest: unknown): Promise<string> => modelFolder(g, manifest, 'ganvas-manifestParts-');

describe('manifest parts: validateManifest', () => {
  it('passes a valid generator, classifier and features manifest as written, with layers defaulting to {}', () => {
    const g = gen({ description: 'd', provenance: { seed: 0 }, quality: { fid: 1 } });
    expect(validateManifest(g, 'g.json')).to.deep.equal({ layers: {}, ...g });
    const c = cls({ layers: { layer1: '/h' } });
    expect(validateManifest(c, 'c.json')).to.deep.equal(c);
    const f = cls({ role: 'features' });
    expect(validateManifest(f, 'f.json')).to.deep.equal({ ...f, layers: {} });
    // Given layers are kept, not replaced by the default.
    expect(validateManifest(gen({ layers: { a: 't' } }), 'g.json').layers).to.deep.equal({ a: 't' });
    // Optional preprocess parts: mean / std may be left out; a generator needs no preprocess.
    const bare = cls({}, {});
    delete (bare.preprocess as Json).mean;
    delete (bare.preprocess as Json).std;
    expect(validateManifest(bare, 'c.json').preprocess).to.deep.equal({ size: [8, 6], channels: 3, range: [0, 1] });
    expect(validateManifest(cls({}, { channels: 1, mean: [0.5], std: [1] }), 'c.json').preprocess?.channels).to.equal(1);
  });

  it('refuses what is not a JSON object, naming the source', () => {
    for (const bad of [null, undefined, [], [gen()], 'ganvas', 3, true]) {
      const e = throwsGanvas(() => validateManifest(bad, 'my/ganvas.json'), 'BAD_MANIFEST');
      expect(e.message, String(bad)).to.equal('my/ganvas.json must hold a JSON object (see models/MANIFEST.md)');
    }
  });

  it('top-level fields: format, name, role, model, inputs, outputs, each with what would be right', () => {
    expect(only(gen({ format: 'ganvas-manifest/2' }))).to.equal('"format" must be "ganvas-manifest/1", got "ganvas-manifest/2"');
    expect(only(gen({ format: undefined }))).to.equal('"format" must be "ganvas-manifest/1", got undefined');
    expect(only(gen({ name: '' }))).to.equal('"name" must be a non-empty string');
    expect(only(gen({ name: 7 }))).to.equal('"name" must be a non-empty string');
    expect(only(gen({ role: 'painter' }))).to.equal('"role" must be one of generator, classifier, features, got "painter"');
    expect(only(gen({ model: 3 }))).to.equal('"model" must be the ONNX file name, e.g. "model.onnx"');
    expect(only(gen({ inputs: [] }))).to.equal('"inputs" must list the graph inputs');
    expect(only(gen({ inputs: { z: 1 } }))).to.equal('"inputs" must list the graph inputs');
    // No outputs: the list and, for a generator, the image output are missing (outputs that are not a list: the list).
    expect(problems(gen({ outputs: [] }))).to.deep.equal(['"outputs" must list at least one output', 'a generator needs an image output with a "range" (e.g. [-1, 1])']);
    expect(problems(gen({ outputs: 'img' }))).to.deep.equal(['"outputs" must list at least one output']);
    // Every problem at once, in the order of the fields.
    expect(problems({ inputs: [{}] })).to.deep.equal([
      '"format" must be "ganvas-manifest/1", got undefined',
      '"name" must be a non-empty string',
      '"role" must be one of generator, classifier, features, got undefined',
      '"model" must be the ONNX file name, e.g. "model.onnx"',
      'inputs[0].name must be a string',
      'inputs[0].kind must be one of latent, noise, style, image, other',
      'inputs[0].shape must be a non-empty array such as ["N", 64]',
      '"outputs" must list at least one output',
    ]);
  });

  it('inputs: name, kind, distribution, and a null entry', () => {
    const withInput = (inp: unknown): Json => gen({ inputs: [{ name: 'z', kind: 'latent', shape: ['N', 8] }, inp] });
    expect(only(withInput({ name: 3, kind: 'noise', shape: ['N', 1] }))).to.equal('inputs[1].name must be a string');
    expect(only(withInput({ name: 'n', kind: 'Noise', shape: ['N', 1] }))).to.equal('inputs[1].kind must be one of latent, noise, style, image, other');
    for (const kind of ['latent', 'noise', 'style', 'image', 'other']) expect(() => validateManifest(withInput({ name: 'n', kind, shape: ['N', 1] }), 'm')).to.not.throw();
    for (const distribution of ['normal', 'uniform', 'zeros']) {
      expect(() => validateManifest(withInput({ name: 'n', kind: 'noise', shape: ['N', 1], distribution }), 'm'), distribution).to.not.throw();
    }
    expect(only(withInput({ name: 'n', kind: 'noise', shape: ['N', 1], distribution: 'gaussian' }))).to.equal(
      'inputs[1].distribution must be one of "normal", "uniform", "zeros", got "gaussian"',
    );
    expect(only(withInput({ name: 'n', kind: 'noise', shape: ['N', 1], distribution: null }))).to.equal(
      'inputs[1].distribution must be one of "normal", "uniform", "zeros", got null',
    );
    expect(problems(withInput(null))).to.deep.equal([
      'inputs[1].name must be a string',
      'inputs[1].kind must be one of latent, noise, style, image, other',
      'inputs[1].shape must be a non-empty array such as ["N", 64]',
    ]);
  });

  it('inputs[].shape: positive integers up to 2^20 or symbols; at most 2^26 values per sample (the batch axis not counted)', () => {
    const shaped = (shape: unknown): Json => gen({ inputs: [{ name: 'z', kind: 'latent', shape }] });
    const ok = (shape: unknown[]): void => {
      expect(() => validateManifest(shaped(shape), 'm'), JSON.stringify(shape)).to.not.throw();
    };
    ok(['N', 8]);
    ok([1]);
    ok(['batch', 'C']);
    ok([2 ** 20, 64]);
    ok(['N', 2 ** 20, 64]); // 2^26 values per sample: the limit itself
    ok([2 ** 20, 2 ** 6, 2 ** 20]); // a fixed batch of 2^20 is not part of a sample: 2^26
    expect(only(shaped([]))).to.equal('inputs[0].shape must be a non-empty array such as ["N", 64]');
    expect(only(shaped('N,8'))).to.equal('inputs[0].shape must be a non-empty array such as ["N", 64]');
    const axis = (j: number, got: string): string => `inputs[0].shape[${j}] must be a positive integer up to 1048576 or a symbolic name such as "N", got ${got}`;
    expect(only(shaped(['N', 0]))).to.equal(axis(1, '0'));
    expect(only(shaped(['N', -3]))).to.equal(axis(1, '-3'));
    expect(only(shaped(['N', 2.5]))).to.equal(axis(1, '2.5'));
    expect(only(shaped(['N', 2 ** 20 + 1]))).to.equal(axis(1, '1048577'));
    expect(only(shaped([0, 8]))).to.equal(axis(0, '0'));
    expect(only(shaped(['', 8]))).to.equal(axis(0, '""'));
    expect(only(shaped(['N', null]))).to.equal(axis(1, 'null'));
    expect(only(shaped(['N', '8', true]))).to.equal(axis(2, 'true'));
    expect(only(shaped(['N', 2 ** 20, 128]))).to.equal('inputs[0].shape describes 134217728 values per sample; ganvas feeds at most 67108864');
    expect(only(shaped(['N', 2 ** 10, 2 ** 10, 2 ** 10]))).to.equal('inputs[0].shape describes 1073741824 values per sample; ganvas feeds at most 67108864');
    // A bad axis is named once, and not multiplied into the sample size.
    expect(problems(shaped(['N', 2 ** 21, 2 ** 20]))).to.deep.equal([axis(1, '2097152')]);
  });

  it('outputs: a name, a range [low, high] with finite low < high, and a generator\'s image output', () => {
    const out = (o: unknown, role = 'classifier'): Json => (role === 'generator' ? gen({ outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }, o] }) : cls({ outputs: [o] }));
    expect(only(out({ name: 5, kind: 'logits' }))).to.equal('outputs[0].name must be a string');
    expect(only(out(null))).to.equal('outputs[0].name must be a string');
    const range = (got: string, i = 1): string => `outputs[${i}].range must be [low, high] with finite low < high (e.g. [-1, 1]), got ${got}`;
    expect(only(out({ name: 'b', kind: 'image', range: [1, -1] }, 'generator'))).to.equal(range('[1,-1]'));
    expect(only(out({ name: 'b', kind: 'image', range: [0, 0] }, 'generator'))).to.equal(range('[0,0]'));
    expect(only(out({ name: 'b', kind: 'image', range: [0, 1, 2] }, 'generator'))).to.equal(range('[0,1,2]'));
    expect(only(out({ name: 'b', kind: 'image', range: [0] }, 'generator'))).to.equal(range('[0]'));
    expect(only(out({ name: 'b', kind: 'image', range: [0, '1'] }, 'generator'))).to.equal(range('[0,"1"]'));
    expect(only(out({ name: 'b', kind: 'image', range: [Number.NEGATIVE_INFINITY, 1] }, 'generator'))).to.equal(range('[null,1]'));
    expect(only(out({ name: 'b', kind: 'image', range: [0, NaN] }, 'generator'))).to.equal(range('[0,null]'));
    expect(only(out({ name: 'b', kind: 'image', range: '0..1' }, 'generator'))).to.equal(range('"0..1"'));
    expect(only(out({ name: 'b', kind: 'image', range: null }, 'generator'))).to.equal(range('null'));
    expect(() => validateManifest(out({ name: 'b', kind: 'image', range: [0, 255] }, 'generator'), 'm')).to.not.throw();
    // A classifier's output needs no range; a generator needs one output with one (any, not only the first).
    expect(() => validateManifest(out({ name: 'logits', kind: 'logits', classes: ['a'] }), 'm')).to.not.throw();
    expect(only(gen({ outputs: [{ name: 'img', kind: 'image' }] }))).to.equal('a generator needs an image output with a "range" (e.g. [-1, 1])');
    expect(() => validateManifest(gen({ outputs: [{ name: 'aux', kind: 'features' }, { name: 'img', kind: 'image', range: [0, 1] }] }), 'm')).to.not.throw();
    expect(problems(gen({ outputs: [null] }))).to.deep.equal(['outputs[0].name must be a string', 'a generator needs an image output with a "range" (e.g. [-1, 1])']);
  });

  it('preprocess: required for classifiers and feature extractors only, and checked part by part', () => {
    const noPre = cls();
    delete noPre.preprocess;
    expect(only(noPre)).to.equal('a classifier needs "preprocess" ({size, channels, range, mean, std})');
    expect(only({ ...noPre, role: 'features' })).to.equal('a features needs "preprocess" ({size, channels, range, mean, std})');
    // No preprocess problem when the role itself is wrong or missing (the role is the problem).
    expect(only({ ...noPre, role: 'painter' })).to.match(/^"role" must be one of/);
    expect(only({ ...noPre, role: undefined })).to.match(/^"role" must be one of/);
    // A generator may carry one; it is not checked.
    expect(() => validateManifest(gen({ preprocess: 'ignored' }), 'm')).to.not.throw();
    expect(only(cls({ preprocess: [8, 6] }))).to.equal('"preprocess" must be an object {size, channels, range, mean, std}, got [8,6]');
    expect(only(cls({ preprocess: 'rgb' }))).to.equal('"preprocess" must be an object {size, channels, range, mean, std}, got "rgb"');
    expect(only(cls({ preprocess: 0 }))).to.equal('a classifier needs "preprocess" ({size, channels, range, mean, std})');
    const size = (got: string): string => `preprocess.size must be [H, W], positive integers up to 8192, got ${got}`;
    for (const [s, got] of [[[8], '[8]'], [[8, 6, 1], '[8,6,1]'], [[0, 6], '[0,6]'], [[8, 6.5], '[8,6.5]'], [[8193, 6], '[8193,6]'], [[8, '6'], '[8,"6"]'], ['8x6', '"8x6"']] as [unknown, string][]) {
      expect(only(cls({}, { size: s })), got).to.equal(size(got));
    }
    for (const s of [[1, 1], [8192, 8192]]) expect(() => validateManifest(cls({}, { size: s }), 'm'), String(s)).to.not.throw();
    expect(only(cls({}, { channels: 2, mean: undefined, std: undefined }))).to.equal('preprocess.channels must be 1 (grayscale) or 3 (RGB), got 2');
    expect(only(cls({}, { channels: '3', mean: undefined, std: undefined }))).to.equal('preprocess.channels must be 1 (grayscale) or 3 (RGB), got "3"');
    const range = (got: string): string => `preprocess.range must be [low, high] with finite low < high (the pixel range before normalization, e.g. [0, 1]), got ${got}`;
    expect(only(cls({}, { range: [255, 0] }))).to.equal(range('[255,0]'));
    expect(only(cls({}, { range: undefined }))).to.equal(range('undefined'));
    expect(() => validateManifest(cls({}, { range: [0, 255] }), 'm')).to.not.throw();
  });

  it('preprocess.mean / std: one finite number per channel, std > 0', () => {
    expect(only(cls({}, { mean: [0.5, 0.5] }))).to.equal('preprocess.mean must list 3 finite number(s), one per channel, got [0.5,0.5]');
    expect(only(cls({}, { std: [1, 1, 1, 1] }))).to.equal('preprocess.std must list 3 finite number(s), one per channel, got [1,1,1,1]');
    expect(only(cls({}, { mean: [0, NaN, 0] }))).to.equal('preprocess.mean must list 3 finite number(s), one per channel, got [0,null,0]');
    expect(only(cls({}, { mean: 0.5 }))).to.equal('preprocess.mean must list 3 finite number(s), one per channel, got 0.5');
    expect(only(cls({}, { std: [1, '1', 1] }))).to.equal('preprocess.std must list 3 finite number(s), one per channel, got [1,"1",1]');
    expect(only(cls({}, { std: [1, 0, 1] }))).to.equal('preprocess.std must be positive (inputs are divided by it), got [1,0,1]');
    expect(only(cls({}, { std: [1, 1, -2] }))).to.equal('preprocess.std must be positive (inputs are divided by it), got [1,1,-2]');
    // A mean may be zero or negative.
    expect(() => validateManifest(cls({}, { mean: [0, -1, 2] }), 'm')).to.not.throw();
    // With channels itself wrong, the count cannot be said.
    expect(problems(cls({}, { channels: 'rgb', mean: [0.5, 0.5, 0.5] }))).to.deep.equal([
      'preprocess.channels must be 1 (grayscale) or 3 (RGB), got "rgb"',
      'preprocess.mean must list one finite number per channel, got [0.5,0.5,0.5]',
      'preprocess.std must list one finite number per channel, got [0.2,0.25,0.3]',
    ]);
    // Both wrong: both named, mean first.
    expect(problems(cls({}, { mean: [1], std: [0, 0, 0] }))).to.deep.equal([
      'preprocess.mean must list 3 finite number(s), one per channel, got [1]',
      'preprocess.std must be positive (inputs are divided by it), got [0,0,0]',
    ]);
  });

  it('layers: an object mapping aliases to non-empty tensor names', () => {
    const msg = '"layers" must map aliases to tensor names, e.g. {"b16.conv1": "/b16/conv1/Mul_output_0"}';
    for (const bad of [null, ['h'], 'h', 3]) expect(only(gen({ layers: bad })), JSON.stringify(bad)).to.equal(msg);
    expect(problems(gen({ layers: { a: 'h', b: '', c: 3 } }))).to.deep.equal([
      'layers["b"] must be a tensor name (a non-empty string), got ""',
      'layers["c"] must be a tensor name (a non-empty string), got 3',
    ]);
    expect(validateManifest(gen({ layers: {} }), 'm').layers).to.deep.equal({});
  });
});

describe('manifest parts: imageOutput, demo models', () => {
  it('imageOutput is the first output with a range; none is refused by the model\'s name', () => {
    const m = validateManifest(gen({ outputs: [{ name: 'aux', kind: 'features' }, { name: 'img', kind: 'image', range: [0, 1] }, { name: 'img2', kind: 'image', range: [-1, 1] }] }), 'm') as Manifest;
    expect(imageOutput(m)).to.deep.equal({ name: 'img', kind: 'image', range: [0, 1] });
    const c = validateManifest(cls(), 'm');
    expect(throwsGanvas(() => imageOutput(c), 'BAD_MANIFEST').message).to.equal('cls has no image output with a "range"');
  });

  it('demoModels lists the shipped model directories (those with a ganvas.json), sorted; an unknown name lists them', async () => {
    const names = await demoModels();
    const root = path.dirname(demoModelDir('x'));
    expect(root).to.equal(path.join(__dirname, '..', '..', 'models'));
    const dirs = [];
    for (const n of await fs.readdir(root)) {
      if (await fs.stat(path.join(root, n, 'ganvas.json')).then(() => true, () => false)) dirs.push(n);
    }
    expect(names).to.deep.equal(dirs.sort());
    expect(names).to.not.include('recipes');
    expect(names).to.include('fmnist-stylegan');
    const e = await rejectsGanvas(openDemoModel('fmnist-stylegn'), 'BAD_MANIFEST');
    expect(e.message).to.equal(`no demo model "fmnist-stylegn"; shipped: ${names.join(', ')}`);
    expect((await openDemoModel('fmnist-resnet')).manifest.role).to.equal('classifier');
  });
});

describe('manifest parts: openModel', () => {
  it('opens a directory or the ganvas.json path itself; the bundle holds the manifest, the model with its aliases, the directory', async () => {
    const dir = await dirWith(styled(), gen({ layers: { 'b4.conv0': 'h' } }));
    for (const loc of [dir, path.join(dir, 'ganvas.json')]) {
      const b = await openModel(loc);
      expect(b.dir).to.equal(dir);
      expect(b.manifest).to.deep.equal(gen({ layers: { 'b4.conv0': 'h' } }));
      expect(b.model.aliases).to.deep.equal({ 'b4.conv0': 'h' });
      expect(b.model.inputNames()).to.deep.equal(['z', 'noise']);
    }
    // A manifest under another name, pointing at a model file of another name.
    await fs.rename(path.join(dir, 'model.onnx'), path.join(dir, 'g.onnx'));
    await fs.writeFile(path.join(dir, 'other.json'), JSON.stringify(gen({ model: 'g.onnx' })));
    expect((await openModel(path.join(dir, 'other.json'))).manifest.model).to.equal('g.onnx');
  });

  it('refuses a location that is not a non-empty string, saying what a location is', async () => {
    for (const bad of ['', 42, undefined]) {
      const e = await rejectsGanvas(openModel(bad as string), 'BAD_MANIFEST');
      expect(e.message).to.equal(`a model location must be a directory (with ganvas.json and model.onnx) or a ganvas.json path, got ${JSON.stringify(bad)}`);
    }
  });

  it('a missing location: the path and the cause; the demo models are listed only for a name under models/', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-manifestParts-'));
    const e = await rejectsGanvas(openModel(path.join(tmp, 'nope')), 'BAD_MANIFEST');
    expect(e.message).to.match(new RegExp(`^cannot open model ${path.join(tmp, 'nope')}: ENOENT`));
    expect(e.message).to.not.include('shipped');
    expect(e.message).to.not.include('demo');
    const d = await rejectsGanvas(openModel(demoModelDir('ihc-gam')), 'BAD_MANIFEST');
    expect(d.message).to.equal(`cannot open model ${demoModelDir('ihc-gam')}: ${(d.cause as Error).message} — no demo model "ihc-gam"; shipped: ${(await demoModels()).join(', ')}`);
  });

  it('a bare .onnx file is pointed at the manifest; a directory without ganvas.json and bad JSON are named by path', async () => {
    const dir = await dirWith(styled(), gen());
    const e = await rejectsGanvas(openModel(path.join(dir, 'model.onnx')), 'BAD_MANIFEST');
    expect(e.message).to.equal(
      `${path.join(dir, 'model.onnx')} is an ONNX file; ganvas opens a model directory holding model.onnx and its ganvas.json manifest ` +
        `(which says the model's role, inputs, image range and layer names — see models/MANIFEST.md and docs/own-models.md). ` +
        `Put the file in a directory with a ganvas.json and pass the directory.`,
    );
    await fs.rm(path.join(dir, 'ganvas.json'));
    const m = await rejectsGanvas(openModel(dir), 'BAD_MANIFEST');
    const file = path.join(dir, 'ganvas.json');
    expect(m.message).to.match(new RegExp(`^cannot read ${file}: ENOENT.*\\. A model directory holds model\\.onnx and ganvas\\.json \\(see models/MANIFEST\\.md\\)\\.$`));
    await fs.writeFile(file, '{"format": ');
    const j = await rejectsGanvas(openModel(dir), 'BAD_MANIFEST');
    expect(j.message).to.equal(`${file} is not valid JSON: ${(j.cause as Error).message}`);
    expect(j.cause).to.be.instanceOf(SyntaxError);
    // An invalid manifest is named by its path.
    await fs.writeFile(file, JSON.stringify(gen({ role: 'painter' })));
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.match(new RegExp(`^${file} is not a valid ganvas manifest:`));
  });

  it('inputs and outputs must be the graph\'s: unknown ones with the closest real name, undescribed ones, the real list', async () => {
    const file = (dir: string): string => path.join(dir, 'ganvas.json');
    // One misnamed input: both unknown (with a suggestion) and undescribed.
    const wrong = gen({ inputs: [{ name: 'z', kind: 'latent', shape: ['N', 8] }, { name: 'nois', kind: 'noise', shape: ['N', 1, 4, 4] }] });
    let dir = await dirWith(styled(), wrong);
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.equal(
      `${file(dir)} does not match model.onnx: the model has no input "nois" (did you mean "noise"?); ` +
        `the manifest does not describe input "noise"; the model's inputs are z, noise`,
    );
    // An input left out.
    dir = await dirWith(styled(), gen({ inputs: [{ name: 'z', kind: 'latent', shape: ['N', 8] }] }));
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.equal(
      `${file(dir)} does not match model.onnx: the manifest does not describe input "noise"; the model's inputs are z, noise`,
    );
    // An extra input only.
    const extra = gen();
    (extra.inputs as Json[]).push({ name: 'truncation', kind: 'other', shape: ['N', 1] });
    dir = await dirWith(styled(), extra);
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.match(
      new RegExp(`^${file(dir)} does not match model\\.onnx: the model has no input "truncation" \\(did you mean "[a-z]+"\\?\\); the model's inputs are z, noise$`),
    );
    // Inputs in another order are fine.
    dir = await dirWith(styled(), gen({ inputs: [...(gen().inputs as Json[])].reverse() }));
    expect((await openModel(dir)).manifest.inputs[0].name).to.equal('noise');
    // Outputs: a name the graph lacks.
    dir = await dirWith(styled(), gen({ outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }, { name: 'flat', kind: 'features' }] }));
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.equal(`${file(dir)} names output "flat", but model.onnx has outputs img`);
  });

  it('input shapes against the graph: rank, fixed axes; a generator must write a fixed axis the graph fixes', async () => {
    const file = (dir: string): string => path.join(dir, 'ganvas.json');
    const shaped = (z: unknown[], noise: unknown[] = ['N', 1, 4, 4]): Json =>
      gen({ inputs: [{ name: 'z', kind: 'latent', shape: z }, { name: 'noise', kind: 'noise', shape: noise }] });
    let dir = await dirWith(styled(), shaped(['N', 1, 8], ['N', 1, 4, 5]));
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.equal(
      `${file(dir)} does not match model.onnx:\n` +
        `  - inputs[0].shape [N, 1, 8] has 3 axes; the graph's input "z" has 2: [N, 8]\n` +
        `  - inputs[1].shape[3] is 5, but the graph's input "noise" has 4 there ([N, 1, 4, 4])`,
    );
    dir = await dirWith(styled(), shaped(['N', 'C']));
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.equal(
      `${file(dir)} does not match model.onnx:\n  - inputs[0].shape[1] is "C", but the graph's input "z" has the fixed size 8 there; write 8`,
    );
    // The batch axis: a fixed size where the graph is symbolic is taken; any symbol is fine.
    for (const z of [[2, 8], ['batch', 8]]) {
      dir = await dirWith(styled(), shaped(z, [z[0], 1, 4, 4]));
      expect((await openModel(dir)).manifest.inputs[0].shape, JSON.stringify(z)).to.deep.equal(z);
    }
    // A graph with a fixed batch: the manifest may leave it symbolic, not contradict it.
    const fixed = new GraphBuilder();
    fixed.node('Relu', [fixed.input('z', [2, 8])], 'y');
    fixed.output('y', [2, 8]);
    const m = gen({ inputs: [{ name: 'z', kind: 'latent', shape: ['N', 8] }], outputs: [{ name: 'y', kind: 'image', range: [0, 1] }] });
    dir = await dirWith(fixed, m);
    expect((await openModel(dir)).manifest.inputs[0].shape).to.deep.equal(['N', 8]);
    dir = await dirWith(fixed, { ...m, inputs: [{ name: 'z', kind: 'latent', shape: [3, 8] }] });
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.include(`inputs[0].shape[0] is 3, but the graph's input "z" has 2 there ([2, 8])`);
  });

  it('a graph input without a shape, or with symbolic axes, takes the manifest\'s shape', async () => {
    // The graph's noise input carries no shape at all: nothing to check it against.
    const proto = onnx.ModelProto.decode(styled().bytes());
    const noise = proto.graph!.input!.find((v) => v.name === 'noise')!;
    noise.type!.tensorType!.shape = null;
    const dir = await dirWith(onnx.ModelProto.encode(proto).finish(), gen({ inputs: [{ name: 'z', kind: 'latent', shape: ['N', 8] }, { name: 'noise', kind: 'noise', shape: ['N', 1, 4, 4, 1] }] }));
    expect((await openModel(dir)).manifest.inputs[1].shape).to.have.length(5);
    // A graph whose spatial axes are symbolic accepts fixed sizes.
    const g = new GraphBuilder();
    g.node('Relu', [g.input('z', ['N', 'C'])], 'y');
    g.output('y', ['N', 'C']);
    const d2 = await dirWith(g, gen({ inputs: [{ name: 'z', kind: 'latent', shape: ['N', 12] }], outputs: [{ name: 'y', kind: 'image', range: [0, 1] }] }));
    expect((await openModel(d2)).manifest.inputs[0].shape).to.deep.equal(['N', 12]);
  });

  it('a classifier may leave a fixed axis symbolic; its preprocess must fit the image input\'s channels, height and width', async () => {
    const file = (dir: string): string => path.join(dir, 'ganvas.json');
    let dir = await dirWith(classifierGraph(), cls({ inputs: [{ name: 'image', kind: 'image', shape: ['N', 'C', 'H', 'W'] }] }));
    expect((await openModel(dir)).manifest.role).to.equal('classifier');
    dir = await dirWith(classifierGraph(), cls({}, { size: [6, 8], channels: 1, mean: [0], std: [1] }));
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.equal(
      `${file(dir)} does not match model.onnx:\n` +
        `  - preprocess.channels is 1, but the graph's input "image" has 3 channels ([N, 3, 8, 6])\n` +
        `  - preprocess.size[0] (H) is 6, but the graph's input "image" is 8 there ([N, 3, 8, 6])\n` +
        `  - preprocess.size[1] (W) is 8, but the graph's input "image" is 6 there ([N, 3, 8, 6])`,
    );
    dir = await dirWith(classifierGraph(), cls({ role: 'features' }, { size: [8, 5] }));
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.equal(
      `${file(dir)} does not match model.onnx:\n  - preprocess.size[1] (W) is 5, but the graph's input "image" is 6 there ([N, 3, 8, 6])`,
    );
    // A graph with symbolic channels and size takes the preprocess's.
    dir = await dirWith(classifierGraph({ imageDims: ['N', 'C', 'H', 'W'] }), cls({ inputs: [{ name: 'image', kind: 'image', shape: ['N', 3, 8, 6] }] }, { size: [30, 20] }));
    expect((await openModel(dir)).manifest.preprocess?.size).to.deep.equal([30, 20]);
  });

  it('the preprocess is checked against the input of kind "image", else the first input, which must be N×C×H×W', async () => {
    const file = (dir: string): string => path.join(dir, 'ganvas.json');
    const two = (imageKind: string, first: boolean): Json => {
      const image = { name: 'image', kind: imageKind, shape: ['N', 3, 8, 6] };
      const t = { name: 't', kind: 'other', shape: ['N', 2] };
      return cls({ inputs: first ? [t, image] : [image, t] });
    };
    // The image input second, found by its kind: the preprocess fits it.
    let dir = await dirWith(classifierGraph({ second: true, secondFirst: true }), two('image', true));
    expect((await openModel(dir)).manifest.inputs).to.have.length(2);
    // No input of kind image: the first one is taken, and a 2-D input is not an image.
    dir = await dirWith(classifierGraph({ second: true, secondFirst: true }), two('other', true));
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.equal(
      `${file(dir)} does not match model.onnx:\n  - "preprocess" describes images, but the graph's input "t" has shape [N, 2], not [N, C, H, W]`,
    );
    dir = await dirWith(classifierGraph({ second: true }), two('other', false));
    expect((await openModel(dir)).manifest.inputs[0].name).to.equal('image');
    // An image input without a shape in the graph: nothing to check the preprocess against.
    const proto = onnx.ModelProto.decode(classifierGraph().bytes());
    proto.graph!.input![0].type!.tensorType!.shape = null;
    dir = await dirWith(onnx.ModelProto.encode(proto).finish(), cls({}, { size: [99, 99] }));
    expect((await openModel(dir)).manifest.preprocess?.size).to.deep.equal([99, 99]);
    // A generator's preprocess is not checked against the graph (generators take latents, not images).
    dir = await dirWith(styled(), gen({ preprocess: { size: [99, 99], channels: 3, range: [0, 1] } }));
    expect((await openModel(dir)).manifest.role).to.equal('generator');
  });
});

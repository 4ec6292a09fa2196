/**
 * draftManifest / writeManifest part by part (issue 19), from models/MANIFEST.md "A first manifest from the ONNX
 * file": input kinds guessed from name and shape (`noise…` or N×1×H×W: noise; the first 2-D input: latent;
 * `w…`/`style…`: style), latent / noise drawn from a normal, the image output (the first 4-D one, or
 * `imageOutput`), the range guessed [-1, 1], a classifier's preprocess from its image input, every guess stated in
 * `assumptions`. Hand-made graphs (test/builder.ts) whose shapes and layer counts are known.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { draftManifest, onnx, openModel, writeManifest } from 'ganvas';
import { Dim, GraphBuilder } from './builder';
import { rejectsGanvas } from './util';

let root = '';
let count = 0;
/** Writes the graph as <root>/<dir>/<file> (root: a fresh temporary directory) and returns the path. */
async function onnxFile(g: GraphBuilder | Uint8Array, dir = `m${count++}`, file = 'model.onnx'): Promise<string> {
  if (!root) root = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-draftParts-'));
  await fs.mkdir(path.join(root, dir), { recursive: true });
  const p = path.join(root, dir, file);
  await fs.writeFile(p, g instanceof GraphBuilder ? g.bytes() : g);
  return p;
}

/** Inputs of the given names and shapes, none read; one image output [N,1,4,4]. Never run (layers given). */
function inputsOnly(inputs: [string, Dim[]][], outputs: [string, Dim[] | undefined][] = [['img', ['N', 1, 4, 4]]]): GraphBuilder {
  const g = new GraphBuilder();
  for (const [n, d] of inputs) g.input(n, d);
  const seed = g.input('seed', ['N', 16]);
  for (const [n, d] of outputs) {
    g.node('Reshape', [seed, g.initInt64(`shape_${n}`, d ? d.map((x) => (typeof x === 'number' ? x : -1)) : [-1, 1, 4, 4])], n);
    g.output(n, d);
  }
  return g;
}

/**
 * A runnable generator: z [N,8] → Gemm → Reshape x4 [N,4,4,4] → Conv → LeakyRelu h → h × GlobalAveragePool(h)
 * [N,4,1,1] → Conv (1 ch) + noise [N,1,4,4] → Tanh img [N,1,4,4]; dangling ReduceMeans of h: [N,4,4,1], [N,4,1,4].
 * 4-D float tensors: x4, conv, h, pool, hp, conv2, sum, img, col, row (10); spatial (H > 1 and W > 1): 7.
 */
function runnable(imgDims: Dim[] | undefined = ['N', 1, 4, 4]): GraphBuilder {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 8]);
  const noise = g.input('noise', ['N', 1, 4, 4]);
  const fc = g.node('Gemm', [z, g.init('fc_w', [64, 8]), g.init('fc_b', [64])], 'fc', { transB: 1 });
  const x4 = g.node('Reshape', [fc, g.initInt64('shape4', [-1, 4, 4, 4])], 'x4');
  const h = g.node('LeakyRelu', [g.conv(x4, 4, 4)], 'h', { alpha: 0.2 });
  const hp = g.node('Mul', [h, g.node('GlobalAveragePool', [h], 'pool')], 'hp');
  const sum = g.node('Add', [g.conv(hp, 4, 1), noise], 'sum');
  g.node('Tanh', [sum], 'img');
  g.output('img', imgDims);
  g.node('ReduceMean', [h], 'col', { axes: [3], keepdims: 1 });
  g.node('ReduceMean', [h], 'row', { axes: [2], keepdims: 1 });
  return g;
}

/** A runnable classifier: image [N,3,8,6] (and `t` [N,2] unread) → conv → relu h → pool → Flatten logits [N,4]; h also an output. */
function classifier(opts: { logitsDims?: Dim[]; withT?: boolean } = {}): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input('image', ['N', 3, 8, 6]);
  if (opts.withT) g.input('t', ['N', 2]);
  const h = g.node('Relu', [g.conv(x, 3, 4, undefined, 1)], 'h');
  g.node('Flatten', [g.node('GlobalAveragePool', [h], 'pool')], 'logits', { axis: 1 });
  g.output('logits', opts.logitsDims ?? ['N', 4]);
  g.output('h', ['N', 4, 8, 6]);
  return g;
}

describe('manifestDraft parts: generators', function () {
  this.timeout(120_000);

  it('input kinds from name and shape, latent / noise drawn from a normal, every guess stated', async () => {
    const onnxPath = await onnxFile(
      inputsOnly([
        ['z', ['N', 8]], // the first 2-D input: latent
        ['c', ['N', 4]], // a later 2-D input: style
        ['w', ['N', 4, 4, 4]], // w…: style, whatever its shape
        ['ws_3', ['N', 4, 4, 4]],
        ['Style', ['N', 4, 4, 4]],
        ['styles_b4', ['N', 4, 4, 4]],
        ['wide', ['N', 4, 4, 4]], // not w_… nor style…: by shape, 4-D with 4 channels: other
        ['NoiseStrength', ['N', 8]], // noise…, whatever its shape
        ['n1', ['N', 1, 4, 4]], // N×1×H×W: noise
        ['rgb', ['N', 3, 4, 4]],
        ['seq', ['N', 2, 3]],
        ['mono', ['N', 1, 5]], // one channel, but not N×1×H×W
        ['flow_1', ['N', 4, 4, 4]], // ends in w_, does not start with it
      ]),
    );
    const d = await draftManifest(onnxPath, { kind: 'generator', range: [-1, 1], layers: {} });
    const kinds = d.manifest.inputs.map((i) => `${i.name}:${i.kind}:${i.distribution ?? '-'}`);
    expect(kinds).to.deep.equal([
      'z:latent:normal',
      'c:style:-',
      'w:style:-',
      'ws_3:style:-',
      'Style:style:-',
      'styles_b4:style:-',
      'wide:other:-',
      'NoiseStrength:noise:normal',
      'n1:noise:normal',
      'rgb:other:-',
      'seq:other:-',
      'mono:other:-',
      'flow_1:other:-',
      'seed:style:-',
    ]);
    expect(d.manifest.inputs[0]).to.deep.equal({ name: 'z', kind: 'latent', shape: ['N', 8], distribution: 'normal' });
    expect(d.manifest.inputs[2]).to.deep.equal({ name: 'w', kind: 'style', shape: ['N', 4, 4, 4] });
    expect(d.assumptions).to.deep.equal([
      'input "z" ["N",8]: kind "latent" guessed from its name and shape',
      'input "z": drawn from a standard normal distribution',
      'input "c" ["N",4]: kind "style" guessed from its name and shape',
      'input "w" ["N",4,4,4]: kind "style" guessed from its name and shape',
      'input "ws_3" ["N",4,4,4]: kind "style" guessed from its name and shape',
      'input "Style" ["N",4,4,4]: kind "style" guessed from its name and shape',
      'input "styles_b4" ["N",4,4,4]: kind "style" guessed from its name and shape',
      'input "wide" ["N",4,4,4]: kind "other" guessed from its name and shape',
      'input "NoiseStrength" ["N",8]: kind "noise" guessed from its name and shape',
      'input "NoiseStrength": drawn from a standard normal distribution',
      'input "n1" ["N",1,4,4]: kind "noise" guessed from its name and shape',
      'input "n1": drawn from a standard normal distribution',
      'input "rgb" ["N",3,4,4]: kind "other" guessed from its name and shape',
      'input "seq" ["N",2,3]: kind "other" guessed from its name and shape',
      'input "mono" ["N",1,5]: kind "other" guessed from its name and shape',
      'input "flow_1" ["N",4,4,4]: kind "other" guessed from its name and shape',
      'input "seed" ["N",16]: kind "style" guessed from its name and shape',
    ]);
  });

  it('a 2-D input named w… or noise… first; inputKinds overrides the guess (and states nothing)', async () => {
    const onnxPath = await onnxFile(inputsOnly([['w_avg', ['N', 8]], ['noise', ['N', 8]], ['x', ['N', 8]]]));
    const d = await draftManifest(onnxPath, { kind: 'generator', range: [0, 1], layers: {} });
    expect(d.manifest.inputs.map((i) => i.kind)).to.deep.equal(['style', 'noise', 'style', 'style']);
    const o = await draftManifest(onnxPath, { kind: 'generator', range: [0, 1], layers: {}, inputKinds: { w_avg: 'latent', noise: 'other', x: 'style', seed: 'other' } });
    expect(o.manifest.inputs).to.deep.equal([
      { name: 'w_avg', kind: 'latent', shape: ['N', 8], distribution: 'normal' },
      { name: 'noise', kind: 'other', shape: ['N', 8] },
      { name: 'x', kind: 'style', shape: ['N', 8] },
      { name: 'seed', kind: 'other', shape: ['N', 16] },
    ]);
    expect(o.assumptions).to.deep.equal(['input "w_avg": drawn from a standard normal distribution']);
    // An input of the first 2-D kind that is not first: style; given 'noise': drawn from a normal.
    const p = await draftManifest(onnxPath, { kind: 'generator', range: [0, 1], layers: {}, inputKinds: { x: 'noise' } });
    expect(p.manifest.inputs[2]).to.deep.equal({ name: 'x', kind: 'noise', shape: ['N', 8], distribution: 'normal' });
  });

  it('shapes: a symbolic batch becomes "N", a fixed batch is kept; a dynamic axis after it, or no shape, is refused', async () => {
    const d = await draftManifest(await onnxFile(inputsOnly([['z', ['batch', 8]], ['noise', [2, 1, 4, 4]]])), { kind: 'generator', layers: {} });
    expect(d.manifest.inputs.map((i) => i.shape)).to.deep.equal([['N', 8], [2, 1, 4, 4], ['N', 16]]);
    const dyn = await onnxFile(inputsOnly([['z', ['N', 8]], ['noise', ['N', 1, 'H', 'W']]]));
    const e = await rejectsGanvas(draftManifest(dyn, { kind: 'generator', layers: {} }), 'BAD_INPUT');
    expect(e.message).to.equal(
      'input "noise" has a dynamic axis 2 (H): ganvas needs every axis but the batch fixed. ' +
        'Re-export with dynamic_axes only on axis 0, e.g. torch.onnx.export(..., dynamic_axes={"noise": {0: "N"}}).',
    );
    const dyn1 = await onnxFile(inputsOnly([['z', ['N', 'C']]]));
    expect((await rejectsGanvas(draftManifest(dyn1, { kind: 'generator', layers: {} }), 'BAD_INPUT')).message).to.match(/^input "z" has a dynamic axis 1 \(C\)/);
    // No shape at all.
    const proto = onnx.ModelProto.decode(inputsOnly([['z', ['N', 8]]]).bytes());
    proto.graph!.input![0].type!.tensorType!.shape = null;
    const bare = await onnxFile(onnx.ModelProto.encode(proto).finish());
    expect((await rejectsGanvas(draftManifest(bare, { kind: 'generator', layers: {} }), 'BAD_INPUT')).message).to.equal(
      'input "z" has no shape in the ONNX graph; re-export it with shapes (torch.onnx.export does by default)',
    );
  });

  it('the image output: the first 4-D output, or imageOutput; none is refused, naming the outputs', async () => {
    const outs: [string, Dim[] | undefined][] = [['aux', ['N', 16]], ['img', ['N', 1, 4, 4]], ['img2', ['N', 4, 2, 2]]];
    const onnxPath = await onnxFile(inputsOnly([['z', ['N', 8]]], outs));
    const d = await draftManifest(onnxPath, { kind: 'generator', layers: {} });
    expect(d.manifest.outputs).to.deep.equal([{ name: 'img', kind: 'image', range: [-1, 1] }]);
    expect(d.assumptions).to.include('output "img": pixel range [-1, 1] guessed (tanh); pass range, e.g. [0, 1] for a sigmoid output');
    const given = await draftManifest(onnxPath, { kind: 'generator', layers: {}, imageOutput: 'img2', range: [0, 255] });
    expect(given.manifest.outputs).to.deep.equal([{ name: 'img2', kind: 'image', range: [0, 255] }]);
    expect(given.assumptions.join('\n')).to.not.include('pixel range');
    const e = await rejectsGanvas(draftManifest(onnxPath, { kind: 'generator', layers: {}, imageOutput: 'image' }), 'BAD_INPUT');
    expect(e.message).to.equal(`${onnxPath}: no 4-D image output among aux, img, img2 (imageOutput "image"); a generator needs one`);
    const flat = await onnxFile(inputsOnly([['z', ['N', 8]]], [['a', ['N', 16]], ['b', ['N', 4, 4]]]));
    expect((await rejectsGanvas(draftManifest(flat, { kind: 'generator', layers: {} }), 'BAD_INPUT')).message).to.equal(
      `${flat}: no 4-D image output among a, b; a generator needs one`,
    );
  });

  it('an output without a shape in the graph: its rank from a probe run', async () => {
    const d = await draftManifest(await onnxFile(runnable(undefined)), { kind: 'generator', range: [-1, 1], layers: { h: 'h' } });
    expect(d.manifest.outputs).to.deep.equal([{ name: 'img', kind: 'image', range: [-1, 1] }]);
    expect(d.manifest.layers).to.deep.equal({ h: 'h' });
    // A shapeless 2-D output is no image.
    const g = new GraphBuilder();
    g.node('Relu', [g.input('z', ['N', 8])], 'y');
    g.output('y');
    const p = await onnxFile(g);
    expect((await rejectsGanvas(draftManifest(p, { kind: 'generator', layers: {} }), 'BAD_INPUT')).message).to.equal(`${p}: no 4-D image output among y; a generator needs one`);
  });

  it('the rest of the manifest: name from the directory, description, model file name, format; layers or how many there are', async () => {
    const onnxPath = await onnxFile(runnable(), 'my-gan', 'g.onnx');
    const d = await draftManifest(onnxPath, { kind: 'generator', range: [-1, 1] });
    expect(d.manifest).to.deep.equal({
      format: 'ganvas-manifest/1',
      name: 'my-gan',
      role: 'generator',
      description: 'Drafted by ganvas draftManifest from g.onnx; confirm the assumptions.',
      model: 'g.onnx',
      inputs: [
        { name: 'z', kind: 'latent', shape: ['N', 8], distribution: 'normal' },
        { name: 'noise', kind: 'noise', shape: ['N', 1, 4, 4], distribution: 'normal' },
      ],
      outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
      layers: {},
    });
    expect(d.assumptions[d.assumptions.length - 1]).to.equal('no layer aliases: name the layers to cut at in "layers" (7 spatial tensors; list them with layers(model))');
    const named = await draftManifest(onnxPath, { kind: 'generator', range: [-1, 1], name: 'mine', description: 'a GAN', layers: { 'b4.conv': 'h' } });
    expect([named.manifest.name, named.manifest.description, named.manifest.layers]).to.deep.equal(['mine', 'a GAN', { 'b4.conv': 'h' }]);
    expect(named.assumptions.join('\n')).to.not.include('layer aliases');
  });
});

describe('manifestDraft parts: classifiers and feature extractors', function () {
  this.timeout(120_000);

  it('preprocess from the image input; range guessed [0, 1]; mean / std as given; logits for a 2-D output', async () => {
    const onnxPath = await onnxFile(classifier({ withT: true }));
    const d = await draftManifest(onnxPath, { kind: 'classifier', layers: {} });
    expect(d.manifest.inputs).to.deep.equal([
      { name: 'image', kind: 'image', shape: ['N', 3, 8, 6] },
      { name: 't', kind: 'other', shape: ['N', 2] },
    ]);
    expect(d.manifest.preprocess).to.deep.equal({ size: [8, 6], channels: 3, range: [0, 1] });
    expect(d.manifest.outputs).to.deep.equal([
      { name: 'logits', kind: 'logits' },
      { name: 'h', kind: 'features' },
    ]);
    expect(d.assumptions).to.deep.equal([
      'input "image" ["N",3,8,6]: kind "image" guessed from its name and shape',
      'input "t" ["N",2]: kind "other" guessed from its name and shape',
      'preprocess.range [0, 1] guessed: the pixel range the model was trained on before normalization',
      'preprocess.mean / std not given: none applied; give the exact values the model was trained with (not rounded)',
    ]);
    const full = await draftManifest(onnxPath, { kind: 'classifier', layers: {}, preprocess: { range: [0, 255], mean: [1, 2, 3], std: [4, 5, 6] } });
    expect(full.manifest.preprocess).to.deep.equal({ size: [8, 6], channels: 3, range: [0, 255], mean: [1, 2, 3], std: [4, 5, 6] });
    expect(full.assumptions.filter((a) => a.startsWith('preprocess'))).to.deep.equal([]);
    // Half the normalization: what is given is kept, and the rest is still stated.
    const mean = await draftManifest(onnxPath, { kind: 'classifier', layers: {}, preprocess: { mean: [1, 2, 3] } });
    expect(mean.manifest.preprocess).to.deep.equal({ size: [8, 6], channels: 3, range: [0, 1], mean: [1, 2, 3] });
    expect(mean.assumptions).to.include('preprocess.mean / std not given: none applied; give the exact values the model was trained with (not rounded)');
    const std = await draftManifest(onnxPath, { kind: 'classifier', layers: {}, preprocess: { std: [1, 2, 3] } });
    expect(std.manifest.preprocess).to.deep.equal({ size: [8, 6], channels: 3, range: [0, 1], std: [1, 2, 3] });
    expect(std.assumptions.filter((a) => a.startsWith('preprocess.mean'))).to.have.length(1);
  });

  it('a feature extractor\'s outputs are all features; a shapeless output is probed for its rank', async () => {
    const f = await draftManifest(await onnxFile(classifier()), { kind: 'features', layers: {} });
    expect(f.manifest.role).to.equal('features');
    expect(f.manifest.outputs).to.deep.equal([
      { name: 'logits', kind: 'features' },
      { name: 'h', kind: 'features' },
    ]);
    const c = await draftManifest(await onnxFile(classifier({ logitsDims: undefined })), { kind: 'classifier' });
    expect(c.manifest.outputs.map((o) => o.kind)).to.deep.equal(['logits', 'features']);
    // Spatial tensors of this classifier: the conv output and h (8×6); pool is 1×1.
    expect(c.assumptions[c.assumptions.length - 1]).to.equal('no layer aliases: name the layers to cut at in "layers" (2 spatial tensors; list them with layers(model))');
  });

  it('refusals: no image input, an image input that is not N×C×H×W, values the manifest refuses', async () => {
    const g = inputsOnly([['x', ['N', 8]]]);
    const p = await onnxFile(g);
    const e = await rejectsGanvas(draftManifest(p, { kind: 'classifier', layers: {} }), 'BAD_INPUT');
    expect(e.message).to.equal(`${p}: a classifier needs a 4-D image input (N×C×H×W); inputs: x ["N",8], seed ["N",16]`);
    const f = await rejectsGanvas(draftManifest(p, { kind: 'features', layers: {} }), 'BAD_INPUT');
    expect(f.message).to.match(/: a features needs a 4-D image input/);
    const forced = await rejectsGanvas(draftManifest(p, { kind: 'classifier', layers: {}, inputKinds: { x: 'image' } }), 'BAD_INPUT');
    expect(forced.message).to.equal('image input "x" must have fixed channels, height and width, got ["N",8]');
    const p3 = await onnxFile(inputsOnly([['x', ['N', 3, 8]]]));
    const forced3 = await rejectsGanvas(draftManifest(p3, { kind: 'features', layers: {}, inputKinds: { x: 'image' } }), 'BAD_INPUT');
    expect(forced3.message).to.equal('image input "x" must have fixed channels, height and width, got ["N",3,8]');
    // The draft gets the checks any manifest gets: a zero std is refused by validateManifest, named as a draft.
    const c = await onnxFile(classifier());
    const bad = await rejectsGanvas(draftManifest(c, { kind: 'classifier', layers: {}, preprocess: { mean: [0, 0, 0], std: [1, 0, 1] } }), 'BAD_MANIFEST');
    expect(bad.message).to.equal(
      `draft manifest for ${c} is not a valid ganvas manifest:\n  - preprocess.std must be positive (inputs are divided by it), got [1,0,1]\nSee models/MANIFEST.md.`,
    );
    const badRange = await rejectsGanvas(draftManifest(await onnxFile(runnable()), { kind: 'generator', range: [1, 1], layers: {} }), 'BAD_MANIFEST');
    expect(badRange.message).to.include('outputs[0].range must be [low, high] with finite low < high');
  });

  it('refusals: an unknown kind, an unreadable or non-ONNX file', async () => {
    const p = await onnxFile(classifier());
    for (const kind of ['painter', 'Generator', undefined]) {
      const e = await rejectsGanvas(draftManifest(p, { kind: kind as 'generator' }), 'BAD_INPUT');
      expect(e.message).to.equal(`kind must be "generator", "classifier" or "features", got ${JSON.stringify(kind)}`);
    }
    const missing = path.join(root, 'none', 'model.onnx');
    const m = await rejectsGanvas(draftManifest(missing, { kind: 'generator' }), 'BAD_INPUT');
    expect(m.message).to.match(new RegExp(`^cannot read ONNX model ${missing}: cannot read model file`));
    expect(m.cause).to.be.an('error');
    const junk = await onnxFile(new Uint8Array([1, 2, 3, 4, 5]));
    expect((await rejectsGanvas(draftManifest(junk, { kind: 'generator' }), 'BAD_INPUT')).message).to.match(new RegExp(`^cannot read ONNX model ${junk}: `));
  });
});

describe('manifestDraft parts: writeManifest', function () {
  this.timeout(120_000);
  after(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('writes ganvas.json beside the model (the draft, 2-space JSON), refuses to replace it unless overwrite, and the result opens', async () => {
    const onnxPath = await onnxFile(classifier(), 'cls-w', 'net.onnx');
    const opts = { kind: 'classifier' as const, layers: { h: 'h' }, preprocess: { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] } };
    const w = await writeManifest(onnxPath, opts);
    const file = path.join(root, 'cls-w', 'ganvas.json');
    expect(w.file).to.equal(file);
    const text = await fs.readFile(file, 'utf8');
    expect(text).to.equal(`${JSON.stringify(w.manifest, null, 2)}\n`);
    expect(JSON.parse(text)).to.deep.equal((await draftManifest(onnxPath, opts)).manifest);
    expect(w.assumptions).to.deep.equal((await draftManifest(onnxPath, opts)).assumptions);
    const b = await openModel(path.join(root, 'cls-w'));
    expect(b.manifest.model).to.equal('net.onnx');
    expect(b.model.aliases).to.deep.equal({ h: 'h' });
    // Not replaced without overwrite: the file is as it was.
    await fs.writeFile(file, '{"hand": "edited"}');
    const e = await rejectsGanvas(writeManifest(onnxPath, { ...opts, name: 'other' }), 'BAD_INPUT');
    expect(e.message).to.equal(`${file} exists; pass overwrite: true to replace it (or edit it by hand)`);
    expect(await fs.readFile(file, 'utf8')).to.equal('{"hand": "edited"}');
    const again = await writeManifest(onnxPath, { ...opts, name: 'other', overwrite: true });
    expect(JSON.parse(await fs.readFile(file, 'utf8')).name).to.equal('other');
    expect(again.manifest.name).to.equal('other');
    // A relative path is resolved against the working directory.
    const rel = path.relative(process.cwd(), onnxPath);
    expect((await writeManifest(rel, { ...opts, overwrite: true })).file).to.equal(file);
  });

  it('a draft that fails is not written', async () => {
    const onnxPath = await onnxFile(classifier(), 'cls-bad');
    await rejectsGanvas(writeManifest(onnxPath, { kind: 'classifier', layers: {}, preprocess: { std: [0, 0, 0] } }), 'BAD_MANIFEST');
    expect(await fs.readdir(path.join(root, 'cls-bad'))).to.deep.equal(['model.onnx']);
  });
});

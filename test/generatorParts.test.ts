/**
 * Issue 19: src/generator.ts piece by piece, on a made-up generator whose every input is used in a way the test can
 * see: the seeds → inputs rule (README: input i of sample s is drawn from the seed string "<input>:<s>"), each
 * distribution, noise seeds, fixed inputs, the head/tail cut and its carry, row picking, and every refusal.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { FloatTensor, Generator, Runtime, gaussian, openModel, takeRows, takeSamples, uniform } from 'ganvas';
import { GraphBuilder } from './builder';
import { modelFolder, styledGenerator } from './models';
import { rejectsGanvas, throwsGanvas } from './util';

/**
 * z [N, 4] (latent, normal), u [N, 2] (style, uniform), c [N, 4] (other, zeros), noise [N, 1, 2, 2] (noise):
 * h = Reshape(z) + noise + c (the layer, [N, 1, 2, 2]); img = h + Σu (broadcast). Outputs: `uo` = 2u first, then img.
 */
function graph(uDims: Array<string | number> = ['N', 2]): GraphBuilder {
  const g = new GraphBuilder();
  g.input('z', ['N', 4]);
  g.input('u', uDims);
  g.input('c', ['N', 4]);
  g.input('noise', ['N', 1, 2, 2]);
  const shape = g.initInt64('shape', [-1, 1, 2, 2]);
  const z4 = g.node('Reshape', ['z', shape], 'z4');
  const c4 = g.node('Reshape', ['c', shape], 'c4');
  const h = g.node('Add', [g.node('Add', [z4, 'noise'], 'zn'), c4], 'h');
  const su = g.node('Reshape', [g.node('ReduceSum', ['u', g.initInt64('ax', [1])], 'su', { keepdims: 1 }), g.initInt64('s4', [-1, 1, 1, 1])], 'su4');
  g.node('Add', [h, su], 'img');
  g.node('Mul', ['u', g.init('two', [1], [2])], 'uo');
  g.output('uo');
  g.output('img', ['N', 1, 2, 2]);
  return g;
}

const MANIFEST = {
  format: 'ganvas-manifest/1',
  name: 'parts-gen',
  model: 'model.onnx',
  role: 'generator',
  inputs: [
    { name: 'z', kind: 'latent', shape: ['N', 4] },
    { name: 'u', kind: 'style', shape: ['N', 2], distribution: 'uniform' },
    { name: 'c', kind: 'other', shape: ['N', 4], distribution: 'zeros' },
    { name: 'noise', kind: 'noise', shape: ['N', 1, 2, 2], distribution: 'normal' },
  ],
  outputs: [{ name: 'img', kind: 'image', range: [0, 4] }],
  layers: { feat: 'h' },
};

describe('generator.ts: a generator from its manifest', () => {
  let dir = '';
  const rt = new Runtime({ threads: 1 });
  let gen: Generator;
  before(async () => {
    dir = await modelFolder(graph(), MANIFEST, 'ganvas-generatorParts-');
    gen = await Generator.open(dir, rt);
  });
  after(async () => {
    await rt.release();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('name, range and output come from the manifest; open takes a folder, a ganvas.json path or an opened model', async () => {
    expect(gen.name).to.equal('parts-gen');
    expect(gen.range).to.deep.equal([0, 4]);
    expect(gen.outputName).to.equal('img');
    expect(gen.runtime).to.equal(rt);
    expect((await Generator.open(path.join(dir, 'ganvas.json'), rt)).name).to.equal('parts-gen');
    const bundle = await openModel(dir);
    const fromBundle = await Generator.open(bundle, rt);
    expect(fromBundle.bundle).to.equal(bundle);
    expect(new Generator(bundle).runtime).to.be.instanceOf(Runtime);
    for (const [bad, word] of [[null, 'null'], [42, 'number'], [{ model: 1 }, 'object'], [undefined, 'undefined']] as Array<[unknown, string]>) {
      const e = await rejectsGanvas(Generator.open(bad as string), 'BAD_MANIFEST');
      expect(e.message).to.equal(
        `Generator.open needs a model directory (with model.onnx and ganvas.json), a ganvas.json path or an opened model, got ${word}`,
      );
    }
  });

  it('refuses a classifier with its role named', async () => {
    let cdir = '';
    try {
      const g = new GraphBuilder();
      g.input('image', ['N', 1, 2, 2]);
      g.node('Flatten', ['image'], 'logits', { axis: 1 });
      g.output('logits', ['N', 4]);
      const m = {
        format: 'ganvas-manifest/1',
        name: 'not-a-gen',
        model: 'model.onnx',
        role: 'classifier',
        inputs: [{ name: 'image', kind: 'image', shape: ['N', 1, 2, 2] }],
        outputs: [{ name: 'logits', kind: 'logits' }],
        preprocess: { size: [2, 2], channels: 1, range: [0, 1] },
        layers: { flat: 'logits' },
      };
      cdir = await modelFolder(g, m, 'ganvas-generatorParts-cls-');
      const e = await rejectsGanvas(Generator.open(cdir, rt), 'BAD_MANIFEST');
      expect(e.message).to.equal('not-a-gen is a classifier, not a generator (its manifest\'s "role")');
    } finally {
      if (cdir) await fs.rm(cdir, { recursive: true, force: true });
    }
  });

  it('inputs: each drawn from "<input>:<seed>" by its distribution; noise from the noise seeds', () => {
    const feeds = gen.inputs([7, 'b']);
    const z = feeds.z as FloatTensor;
    expect(z.dims).to.deep.equal([2, 4]);
    expect(Array.from(z.data)).to.deep.equal([...gaussian('z:7', 4), ...gaussian('z:b', 4)]);
    const u = feeds.u as FloatTensor;
    expect(u.dims).to.deep.equal([2, 2]);
    expect(Array.from(u.data)).to.deep.equal(Array.from(Float32Array.from([...uniform('u:7', 2), ...uniform('u:b', 2)])));
    expect(Array.from(u.data).every((v) => v >= 0 && v < 1)).to.equal(true);
    const c = feeds.c as FloatTensor;
    expect(c.dims).to.deep.equal([2, 4]);
    expect(Array.from(c.data)).to.deep.equal(new Array(8).fill(0));
    const noise = feeds.noise as FloatTensor;
    expect(noise.dims).to.deep.equal([2, 1, 2, 2]);
    expect(Array.from(noise.data)).to.deep.equal([...gaussian('noise:7', 4), ...gaussian('noise:b', 4)]);
    // Other noise seeds change the noise only; a sample does not depend on its batch.
    const other = gen.inputs([7, 'b'], { noiseSeeds: [1, 2] });
    expect(Array.from((other.noise as FloatTensor).data)).to.deep.equal([...gaussian('noise:1', 4), ...gaussian('noise:2', 4)]);
    expect(Array.from((other.z as FloatTensor).data)).to.deep.equal(Array.from(z.data));
    expect(Array.from((gen.inputs(['b']).z as FloatTensor).data)).to.deep.equal(Array.from(z.data.subarray(4)));
  });

  it('inputs: a fixed input is used as given; refusals name the counts', () => {
    const fixedU = { data: Float32Array.from([0.5, 0.25, 1, 2]), dims: [2, 2] };
    const feeds = gen.inputs([1, 2], { fixed: { u: fixedU } });
    expect(feeds.u).to.equal(fixedU);
    expect(Array.from((feeds.z as FloatTensor).data)).to.deep.equal([...gaussian('z:1', 4), ...gaussian('z:2', 4)]);
    expect(throwsGanvas(() => gen.inputs([]), 'BAD_INPUT').message).to.equal('at least one seed is needed');
    expect(throwsGanvas(() => gen.inputs([1, 2], { noiseSeeds: [1] }), 'BAD_INPUT').message).to.equal('noiseSeeds has 1 seeds for 2 samples');
    expect(throwsGanvas(() => gen.inputs([1, 2, 3], { fixed: { u: fixedU } }), 'BAD_INPUT').message).to.equal(
      'fixed input "u" has batch 2, expected 3',
    );
  });

  it('generate: the image output (not the model’s first output), by hand from the inputs, in batches with progress', async () => {
    const seeds = [3, 4, 5];
    const feeds = gen.inputs(seeds);
    const z = (feeds.z as FloatTensor).data;
    const u = (feeds.u as FloatTensor).data;
    const n = (feeds.noise as FloatTensor).data;
    // img = (z + noise + c) + (u₀ + u₁) of the sample, with c = 0.
    const want = Array.from({ length: 12 }, (_, i) => z[i] + n[i] + u[2 * Math.floor(i / 4)] + u[2 * Math.floor(i / 4) + 1]);
    const seen: number[] = [];
    const img = await gen.generate(seeds, { batchSize: 2, onProgress: (d) => seen.push(d) });
    expect(img.dims).to.deep.equal([3, 1, 2, 2]);
    Array.from(img.data).forEach((v, i) => expect(v).to.be.closeTo(want[i], 1e-5));
    expect(seen).to.deep.equal([2, 3]);
    const ctl = new AbortController();
    ctl.abort(new Error('stop'));
    const e = await gen.generate(seeds, { signal: ctl.signal }).then(() => null, (x: Error) => x);
    expect(e?.message).to.equal('stop');
  });

  it('cut: split once per layer (cached), named by its alias; head + tail = generate', async () => {
    const cut = await gen.cut('feat');
    expect(await gen.cut('feat')).to.equal(cut);
    expect(cut.layerName).to.equal('feat');
    expect(cut.layer.name).to.equal('h');
    const byName = await gen.cut('h');
    expect(byName.layerName).to.equal('feat');
    const seeds = [8, 9];
    const { activations, carry } = await cut.sample(seeds);
    const feeds = gen.inputs(seeds);
    const z = (feeds.z as FloatTensor).data;
    const n = (feeds.noise as FloatTensor).data;
    expect(activations.dims).to.deep.equal([2, 1, 2, 2]);
    Array.from(activations.data).forEach((v, i) => expect(v).to.be.closeTo(z[i] + n[i], 1e-6));
    const img = await cut.render(activations, carry);
    const direct = await gen.generate(seeds);
    expect(Array.from(img.data)).to.deep.equal(Array.from(direct.data));
    // Edited activations: +1 everywhere raises every pixel by 1 (the tail adds Σu).
    const raised = await cut.render({ data: activations.data.map((v) => v + 1), dims: activations.dims }, carry);
    Array.from(raised.data).forEach((v, i) => expect(v).to.be.closeTo(direct.data[i] + 1, 1e-5));
    // A carried model input handed to head() as an ort.Tensor comes back as a FloatTensor.
    const ortFeeds = { ...feeds, u: new ort.Tensor('float32', (feeds.u as FloatTensor).data, [2, 2]) };
    const viaOrt = await cut.head(ortFeeds);
    for (const [k, v] of Object.entries(viaOrt.carry)) {
      expect(v.data, k).to.be.instanceOf(Float32Array);
      expect(Array.from(v.data), k).to.deep.equal(Array.from(carry[k].data));
    }
  });

  it('render refuses activations of another shape and a carry without what the tail needs', async () => {
    const cut = await gen.cut('feat');
    const { activations, carry } = await cut.sample([1]);
    for (const dims of [[1, 1, 2], [1, 2, 2, 2], [1, 1, 2, 3], [1, 1, 3, 2]]) {
      const bad = { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims };
      const e = await rejectsGanvas(cut.render(bad, carry), 'BAD_INPUT');
      expect(e.message).to.equal(`activations for feat must have shape [N, 1, 2, 2], got [${dims.join(', ')}]`);
    }
    const needed = Object.keys(carry);
    expect(needed.length).to.be.greaterThan(0);
    const { [needed[0]]: _dropped, ...partial } = carry;
    const e = await rejectsGanvas(cut.render(activations, partial), 'BAD_INPUT');
    expect(e.message).to.match(new RegExp(`^render\\(\\) needs "${needed[0]}" \\((crossing|input)\\) in carry; pass the carry returned by sample\\(\\)$`));
  });

  it('a symbolic axis after the batch axis is refused, naming the input and the axis', async () => {
    const m = JSON.parse(JSON.stringify(MANIFEST));
    m.inputs[1].shape = ['N', 'K'];
    const sdir = await modelFolder(graph(['N', 'K']), m, 'ganvas-generatorParts-sym-');
    try {
      const g = await Generator.open(sdir, rt);
      const e = throwsGanvas(() => g.inputs([1]), 'BAD_MANIFEST');
      expect(e.message).to.equal('input "u" of parts-gen has a symbolic axis "K" after the batch axis; the manifest must give its size');
      // Given as a fixed input, its size needs no manifest entry.
      expect(g.inputs([1], { fixed: { u: { data: new Float32Array(2), dims: [1, 2] } } }).u.dims).to.deep.equal([1, 2]);
    } finally {
      await fs.rm(sdir, { recursive: true, force: true });
    }
  });
});

describe('generator.ts: takeRows and takeSamples', () => {
  const t: FloatTensor = { data: Float32Array.from([0, 1, 2, 10, 11, 12, 20, 21, 22]), dims: [3, 3] };
  it('picks rows in the order given, with repeats, for every tensor of a batch', () => {
    const r = takeRows(t, [2, 0, 2]);
    expect(r.dims).to.deep.equal([3, 3]);
    expect(Array.from(r.data)).to.deep.equal([20, 21, 22, 0, 1, 2, 20, 21, 22]);
    expect(takeRows(t, []).dims).to.deep.equal([0, 3]);
    const four: FloatTensor = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), dims: [2, 1, 2, 2] };
    const both = takeSamples({ a: t, b: four }, [1, 1]);
    expect(Array.from(both.a.data)).to.deep.equal([10, 11, 12, 10, 11, 12]);
    expect(both.b.dims).to.deep.equal([2, 1, 2, 2]);
    expect(Array.from(both.b.data)).to.deep.equal([5, 6, 7, 8, 5, 6, 7, 8]);
  });

  it('refuses an index outside the batch, with the valid range', () => {
    expect(throwsGanvas(() => takeRows(t, [0, 3]), 'BAD_INPUT').message).to.equal('sample index 3 is out of range 0..2');
    expect(throwsGanvas(() => takeRows(t, [-1]), 'BAD_INPUT').message).to.equal('sample index -1 is out of range 0..2');
  });
});

describe('generator.ts: a cut whose tail reads tensors made before it (issue 19 survivors)', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('crossing tensors (the style) travel in carry; render passes batch size and progress on', async () => {
    const gen = await Generator.open(await styledGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const crossing = cut.split.tailInputs.filter((t) => t.role === 'crossing').map((t) => t.name);
    expect(crossing.length).to.be.greaterThan(0);
    const seeds = [1, 2, 3];
    const { activations, carry } = await cut.sample(seeds);
    for (const n of crossing) expect(carry[n], n).to.not.equal(undefined);
    const seen: number[] = [];
    const img = await cut.render(activations, carry, { batchSize: 2, onProgress: (d) => seen.push(d) });
    expect(seen).to.deep.equal([2, 3]);
    expect(Array.from(img.data)).to.deep.equal(Array.from((await gen.generate(seeds)).data));
  });
});

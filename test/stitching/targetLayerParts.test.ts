/**
 * Paper 003's target-layer rule (§4.2) and end-layer sweep (§4.4) on made-up models whose answer is worked out by
 * hand (issue 19): a generator whose first layer is 3×3 (not a power of two), two layers of the same size, a
 * classifier layer of a size no generator layer has, a generator without named layers, and the refusals.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GanvasError, Manifest, ModelBundle, openModel, targetLayer, targetLayers } from 'ganvas';
import { GraphBuilder } from '../builder';

async function writeModel(name: string, g: GraphBuilder, manifest: Omit<Manifest, 'format' | 'name' | 'model'>): Promise<ModelBundle> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ganvas-${name}-`));
  await fs.writeFile(path.join(dir, 'model.onnx'), g.bytes());
  await fs.writeFile(path.join(dir, 'ganvas.json'), JSON.stringify({ format: 'ganvas-manifest/1', name, model: 'model.onnx', ...manifest }));
  return openModel(dir);
}

/** z → 3×3 (b3) → 6×6 (b6) → 12×12 (b12.a, then b12.b) → 24×24 (b24) → img 24×24. */
function generatorGraph(outputLast = false, skip6 = false): GraphBuilder {
  const g = new GraphBuilder();
  g.input('z', ['N', 36]);
  const x3 = g.node('Reshape', ['z', g.initInt64('s3', [-1, 4, 3, 3])], 'x3');
  const up = (x: string, out: string) => g.node('Resize', [x, '', g.init(`sc_${out}`, [4], [1, 1, 2, 2])], out, { mode: 'nearest' });
  const c3 = g.conv(x3, 4, 4, 'c3');
  // skip6: 3×3 straight to 12×12 (one Resize by 4), so no generator layer is 6×6.
  const c6 = skip6 ? c3 : g.conv(up(c3, 'u6'), 4, 4, 'c6');
  const u12 = skip6 ? g.node('Resize', [c6, '', g.init('sc_u12', [4], [1, 1, 4, 4])], 'u12', { mode: 'nearest' }) : up(c6, 'u12');
  const c12a = g.conv(u12, 4, 4, 'c12a');
  const c12b = g.conv(c12a, 4, 4, 'c12b');
  if (outputLast) {
    // The output is the only 24×24 tensor: img = up(c12b summed over channels).
    up(g.node('ReduceSum', [c12b, g.initInt64('axes', [1])], 'rs12', { keepdims: 1 }), 'img');
  } else {
    const u24 = up(c12b, 'u24');
    g.node('Tanh', [g.conv(u24, 4, 1)], 'img');
  }
  g.output('img', ['N', 1, 24, 24]);
  return g;
}

const GEN = {
  role: 'generator' as const,
  inputs: [{ name: 'z', kind: 'latent' as const, shape: ['N', 36], distribution: 'normal' as const }],
  outputs: [{ name: 'img', kind: 'image' as const, range: [-1, 1] as [number, number] }],
  layers: {},
};

/** image 48×48 → 24 (layer1) → 12 (layer2) → 6 (layer3) → 3 (layer4); layer2 → 10×10 (odd, a valid 3×3 conv). */
function classifier(): Promise<ModelBundle> {
  const g = new GraphBuilder();
  g.input('image', ['N', 3, 48, 48]);
  const l24 = g.node('Relu', [g.conv('image', 3, 4, undefined, 3, 2)], 'l24');
  const l12 = g.node('Relu', [g.conv(l24, 4, 4, undefined, 3, 2)], 'l12');
  const l6 = g.node('Relu', [g.conv(l12, 4, 4, undefined, 3, 2)], 'l6');
  const l3 = g.node('Relu', [g.conv(l6, 4, 4, undefined, 3, 2)], 'l3');
  const l10 = g.node('Conv', [l12, g.init('vw', [4, 4, 3, 3]), g.init('vb', [4])], 'l10', { kernel_shape: [3, 3] });
  const pooled = (x: string, n: string) => g.node('Flatten', [g.node('GlobalAveragePool', [x], `gap_${n}`)], `flat_${n}`, { axis: 1 });
  g.node('Add', [pooled(l3, 'a'), pooled(l10, 'b')], 'logits');
  g.output('logits', ['N', 4]);
  return writeModel('cls48', g, {
    role: 'classifier',
    inputs: [{ name: 'image', kind: 'image', shape: ['N', 3, 48, 48] }],
    outputs: [{ name: 'logits', kind: 'logits', classes: ['a', 'b', 'c', 'd'] }],
    preprocess: { size: [48, 48], channels: 3, range: [0, 1], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    layers: { layer1: 'l24', layer2: 'l12', layer3: 'l6', layer4: 'l3', odd: 'l10' },
  });
}

describe('stitching: the target-layer rule on hand-worked models (paper 003 §4.2, §4.4)', function () {
  this.timeout(60000);
  let cls: ModelBundle;
  let gen: ModelBundle;
  before(async () => {
    cls = await classifier();
    gen = await writeModel('gen24', generatorGraph(), { ...GEN, layers: { b3: 'c3', b6: 'c6', 'b12.a': 'c12a', 'b12.b': 'c12b', b24: 'u24' } });
  });

  it('layer1 (24×24, one down-sampling from 48) → the first 12×12 layer, one up-sampling from the 24×24 output; the sweep around it', async () => {
    const ts = await targetLayers(cls, 'layer1', gen);
    // d = −2 … +2 from 12×12: 3, 6, 12, 24 and 48 (none: skipped).
    expect(ts.map((t) => [t.distance, t.layer, t.upsamplings, t.downsamplings])).to.deep.equal([
      [-2, 'b3', 3, 1],
      [-1, 'b6', 2, 1],
      [0, 'b12.a', 1, 1],
      [1, 'b24', 0, 1],
    ]);
    expect(ts[2].info.name).to.equal('c12a');
    expect([ts[2].info.height, ts[2].info.width]).to.deep.equal([12, 12]);
    expect(ts[2].explanation).to.equal(
      'layer1 of cls48 is 24×24, 1 down-sampling(s) from its 48×48 input; b12.a is the first 12×12 layer of gen24, 1 up-sampling(s) from its 24×24 output',
    );
    expect(ts[3].explanation).to.match(/; b24 is the first 24×24 layer of gen24, 0 up-sampling\(s\) from its 24×24 output \(samplings distance \+1 from the paper's rule\)$/);
    expect(ts[0].explanation).to.match(/\(samplings distance -2 from the paper's rule\)$/);
    const only = await targetLayer(cls, 'layer1', gen);
    expect([only.layer, only.distance]).to.deep.equal(['b12.a', 0]);
    expect((await targetLayers(cls, 'layer1', gen, [1, -1])).map((t) => t.layer)).to.deep.equal(['b24', 'b6']);
  });

  it('layer3 (6×6, three down-samplings) → b3 exactly; layer4 (3×3, four) asks for 1.5×1.5 and takes the nearest size, saying so', async () => {
    expect((await targetLayer(cls, 'layer3', gen)).layer).to.equal('b3');
    expect((await targetLayer(cls, 'layer3', gen)).explanation).to.not.match(/does not have/);
    const t4 = await targetLayer(cls, 'layer4', gen);
    expect([t4.layer, t4.downsamplings, t4.upsamplings]).to.deep.equal(['b3', 4, 3]);
    expect(t4.explanation).to.match(/ — the rule asks for a 1\.50×1\.50 layer, which gen24 does not have; 3×3 is the nearest size$/);
    // The sweep is taken around the size used: 3 → 6 → 12.
    const sweep4 = await targetLayers(cls, 'layer4', gen, [0, 1, 2]);
    expect(sweep4.map((t) => t.layer)).to.deep.equal(['b3', 'b6', 'b12.a']);
    // Only the distance-0 entry says the rule's size is missing; the others give their distance.
    expect(sweep4[1].explanation).to.match(/b6 is the first 6×6 layer of gen24, 2 up-sampling\(s\) from its 24×24 output \(samplings distance \+1 from the paper's rule\)$/);
    expect(sweep4[1].explanation).to.not.match(/does not have/);
  });

  it('a 10×10 LayerX (log2(48/10) = 2.26 down-samplings) asks for 5×5 and gets 6×6, the nearest size in log scale', async () => {
    const t = await targetLayer(cls, 'odd', gen);
    expect(t.layer).to.equal('b6');
    expect(t.downsamplings).to.be.closeTo(Math.log2(4.8), 1e-12);
    expect(t.explanation).to.match(/^odd of cls48 is 10×10, 2\.26 down-sampling\(s\) from its 48×48 input; b6 is the first 6×6 layer/);
    expect(t.explanation).to.match(/the rule asks for a 5\.00×5\.00 layer|the rule asks for a 5×5 layer/);
  });

  it('a tie in log distance goes to the layer earlier in the graph: 6×6 asked, 3×3 and 12×12 equally near', async () => {
    const gap = await writeModel('gen24-gap', generatorGraph(false, true), { ...GEN, layers: { b3: 'c3', 'b12.a': 'c12a', b24: 'u24' } });
    const t = await targetLayer(cls, 'layer2', gap);
    expect([t.layer, t.upsamplings]).to.deep.equal(['b3', 3]);
    expect(t.explanation).to.match(/the rule asks for a 6×6 layer, which gen24-gap does not have; 3×3 is the nearest size$/);
  });

  it('refuses a generator whose image output is not 4-D', async () => {
    const g = new GraphBuilder();
    g.input('z', ['N', 36]);
    g.node('Tanh', [g.node('Flatten', [g.conv(g.node('Reshape', ['z', g.initInt64('s', [-1, 4, 3, 3])], 'x3'), 4, 4, 'c3')], 'flat', { axis: 1 })], 'img');
    g.output('img', ['N', 36]);
    const flatOut = await writeModel('gen-vec', g, { ...GEN, layers: { b3: 'c3' } });
    const e = await targetLayer(cls, 'layer1', flatOut).then(() => null, (err: unknown) => err);
    expect(e).to.be.instanceOf(GanvasError);
    expect((e as GanvasError).code).to.equal('BAD_MANIFEST');
    expect((e as Error).message).to.equal("gen-vec's image output is not N×C×H×W");
  });

  it('without named layers, every 4-D hidden tensor but the output is a candidate (first of each size in graph order)', async () => {
    const plain = await writeModel('gen24-plain', generatorGraph(), GEN);
    const ts = await targetLayers(cls, 'layer1', plain);
    expect(ts.map((t) => [t.distance, t.layer])).to.deep.equal([
      [-2, 'x3'],
      [-1, 'u6'],
      [0, 'u12'],
      [1, 'u24'],
    ]);
    // The image output is never a candidate, named or not.
    const named = await writeModel('gen24-named-out', generatorGraph(), { ...GEN, layers: { b3: 'c3', b6: 'c6', 'b12.a': 'c12a', rgb: 'img' } });
    expect((await targetLayers(cls, 'layer1', named)).map((t) => t.layer)).to.deep.equal(['b3', 'b6', 'b12.a']);
    const last = await writeModel('gen24-last', generatorGraph(true), GEN);
    expect((await targetLayers(cls, 'layer1', last)).map((t) => t.layer)).to.deep.equal(['x3', 'u6', 'u12']);
  });

  it('refuses a classifier without preprocess, an unknown layer, and a generator with no 4-D hidden layer', async () => {
    // openModel refuses a classifier manifest without preprocess; a bundle made in code can still lack it.
    const noPre: ModelBundle = { ...cls, manifest: { ...cls.manifest, preprocess: undefined } };
    for (const [p, code, msg] of [
      [targetLayer(noPre, 'layer1', gen), 'BAD_MANIFEST', /cls48 has no "preprocess" in its manifest \(its input size is needed\)/],
      [targetLayer(cls, 'layer9', gen), 'NO_SUCH_LAYER', /layer9/],
    ] as [Promise<unknown>, string, RegExp][]) {
      const e = await p.then(() => null, (err: unknown) => err);
      expect(e).to.be.instanceOf(GanvasError);
      expect((e as GanvasError).code).to.equal(code);
      expect((e as Error).message).to.match(msg);
    }
    const g = new GraphBuilder();
    g.input('z', ['N', 16]);
    g.node('Reshape', [g.node('Tanh', ['z'], 'zt'), g.initInt64('s', [-1, 1, 4, 4])], 'img');
    g.output('img', ['N', 1, 4, 4]);
    const flat = await writeModel('gen-flat', g, { ...GEN, inputs: [{ name: 'z', kind: 'latent', shape: ['N', 16], distribution: 'normal' }] });
    const e = await targetLayer(cls, 'layer1', flat).then(() => null, (err: unknown) => err);
    expect(e).to.be.instanceOf(GanvasError);
    expect((e as GanvasError).code).to.equal('NO_SUCH_LAYER');
    expect((e as Error).message).to.equal('gen-flat has no 4-D hidden layer to stitch into');
  });
});

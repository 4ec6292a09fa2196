/**
 * What afterCutInfluence varies by default (src/faithfulness.ts, issue 19): "style and noise" — the original inputs
 * read after the cut and the crossing tensors that are not spatial. A per-layer style may be a vector, N×C×1×1, or a
 * rank-3 N×K×C stack (StyleGAN's w+ is N×18×512): none of these is a map. A map is a rank-4 tensor with a side
 * longer than 1, also when the other side is 1 (an N×C×1×W strip). Checked on a generator whose tail adds two
 * crossing tensors to the layer, one of each kind, so the default must equal varying the rank-3 one alone; and the
 * default thresholds of paintIoU over all eight default seeds.
 */
import { expect } from 'chai';
import { Generator, Painter, Runtime, afterCutInfluence, paintIoU, stainThresholds } from 'ganvas';
import { GraphBuilder } from './builder';
import { modelFolder } from './models';

/**
 * z, s [N, 8] → w = tanh(z) as N×2×4 (rank 3: a style stack, as StyleGAN's w+ is N×18×512) and u = tanh(s) as
 * N×1×1×8 (a 1×8 map); each is doubled (a Concat with itself) and laid out 2×2×4; the layer h = tanh(W + U) of
 * those; img = h + W + U with the tail's own doubling. The head needs w and u for h, and carrying them is cheaper
 * than carrying their doubled forms, so the tail reads w and u as crossing tensors.
 */
async function styleAndStrip(): Promise<string> {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 8]);
  const s = g.input('s', ['N', 8]);
  g.node('Tanh', [g.node('Reshape', [z, g.initInt64('w_shape', [-1, 2, 4])])], 'w');
  g.node('Tanh', [g.node('Reshape', [s, g.initInt64('u_shape', [-1, 1, 1, 8])])], 'u');
  const back = g.initInt64('back', [-1, 2, 2, 4]);
  const doubled = (t: string, axis: number) => g.node('Reshape', [g.node('Concat', [t, t], undefined, { axis }), back]);
  g.node('Tanh', [g.node('Add', [doubled('w', 2), doubled('u', 3)])], 'h');
  g.node('Add', [g.node('Add', ['h', doubled('w', 2)]), doubled('u', 3)], 'img');
  g.output('img', ['N', 2, 2, 4]);
  return modelFolder(g, {
    format: 'ganvas-manifest/1', name: 'style-strip', model: 'model.onnx', role: 'generator',
    inputs: ['z', 's'].map((name) => ({ name, kind: 'latent', shape: ['N', 8], distribution: 'normal' })),
    outputs: [{ name: 'img', kind: 'image', range: [-3, 3] }],
    layers: { h: 'h' },
  }, 'ganvas-style-strip-');
}

describe('faithfulness: what after-cut influence varies by default', function () {
  this.timeout(120_000);
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('a rank-3 style stack (N×2×4) varies, an N×1×1×8 strip stays: the default equals varying the stack alone', async () => {
    const cut = await (await Generator.open(await styleAndStrip(), rt)).cut('h');
    const crossing = cut.split.tailInputs.filter((t) => t.role === 'crossing').map((t) => t.name).sort();
    expect(crossing, 'the split hands w and u over').to.deep.equal(['u', 'w']);
    const painter = new Painter(cut, { '#ff0000': Float32Array.from([0.3, -0.2]) });
    const red = { data: new Uint8Array(24).map((_, i) => (i % 3 === 0 ? 255 : 0)), width: 4, height: 2 };
    const byDefault = await afterCutInfluence(painter, red, { others: [1, 2] });
    const stackOnly = await afterCutInfluence(painter, red, { others: [1, 2], vary: (name) => name === 'w' });
    const both = await afterCutInfluence(painter, red, { others: [1, 2], vary: (name) => name === 'w' || name === 'u' });
    expect(byDefault.varied).to.deep.equal(['w']);
    expect(byDefault.inside).to.equal(stackOnly.inside);
    // The stack changes the image; the strip would change it more (so a test that varied it would see it).
    expect(byDefault.inside).to.be.greaterThan(0);
    expect(both.inside).to.not.equal(byDefault.inside);
    // By hand: the painted image is v + W + U everywhere (W: w doubled, each value twice); with w from seed o, the
    // mean |Δimg| over channels and pixels, in range widths, is the mean |w_o − w_0| / 6.
    const w0 = (await cut.sample([0])).carry.w.data;
    let sum = 0;
    for (const o of [1, 2]) {
      const wo = (await cut.sample([o])).carry.w.data;
      for (let p = 0; p < 8; p++) sum += Math.abs(wo[p] - w0[p]) / 6;
    }
    expect(byDefault.inside).to.be.closeTo(sum / 16, 1e-6);
  });

  it('paintIoU\'s default thresholds come from the 256 samples "oracle:0" … "oracle:255", for every default seed', async () => {
    // img = h = tanh(z) laid out 3×8×8: the painted pixels are the vector's colour.
    const g = new GraphBuilder();
    const z = g.input('z', ['N', 192]);
    g.node('Tanh', [g.node('Reshape', [z, g.initInt64('shape', [-1, 3, 8, 8])])], 'h');
    g.node('Identity', ['h'], 'img');
    g.output('img', ['N', 3, 8, 8]);
    const dir = await modelFolder(g, {
      format: 'ganvas-manifest/1', name: 'identity-8x8', model: 'model.onnx', role: 'generator',
      inputs: [{ name: 'z', kind: 'latent', shape: ['N', 192], distribution: 'normal' }],
      outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
      layers: { h: 'h' },
    }, 'ganvas-identity-8x8-');
    const cut = await (await Generator.open(dir, rt)).cut('h');
    const v = { vector: Float32Array.from([-0.5, -0.3, 0.4]), provenance: { model: 'm', layer: 'h', seed: 0, y: 0, x: 0 } };
    const own = stainThresholds(await cut.generator.generate(Array.from({ length: 256 }, (_, i) => `oracle:${i}`)), [-1, 1]);
    const [auto] = await paintIoU(cut, [v]);
    const [explicit] = await paintIoU(cut, [v], { thresholds: own });
    expect(auto.ious).to.have.length(8);
    expect(auto.ious).to.deep.equal(explicit.ious);
    // Other samples give other thresholds and here other IoUs, so the comparison above can tell them apart.
    const other = stainThresholds(await cut.generator.generate(Array.from({ length: 256 }, (_, i) => `other:${i}`)), [-1, 1]);
    const [elsewhere] = await paintIoU(cut, [v], { thresholds: other });
    expect(elsewhere.ious).to.not.deep.equal(auto.ious);
  });
});

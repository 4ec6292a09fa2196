import { expect } from 'chai';
import {
  FloatTensor,
  OnnxModel,
  Runtime,
  layers,
  maxAbsDiff,
  randn,
  split,
  truncate,
  onnx,
  withGraph,
} from 'ganvas';
import { GraphBuilder } from './builder';
import { auxOutput, chain, skipBranch, styled, unet } from './graphs';
import { rejectsGanvas } from './util';

const rt = new Runtime({ threads: 1 });
after(() => rt.release());

async function runAll(model: OnnxModel, feeds: Record<string, FloatTensor>) {
  return (await rt.session(model)).run(feeds);
}

/** Runs head then tail (feeding crossing tensors and original inputs through) and compares with the full model. */
async function composeError(model: OnnxModel, layer: string, feeds: Record<string, FloatTensor>) {
  const s = await split(model, layer);
  const headFeeds = Object.fromEntries(s.headInputs.map((n) => [n, feeds[n]]));
  const headOut = await runAll(s.head, headFeeds);
  const tailFeeds: Record<string, FloatTensor> = {};
  for (const t of s.tailInputs) tailFeeds[t.name] = t.role === 'input' ? feeds[t.name] : headOut[t.name];
  const composed = await runAll(s.tail, tailFeeds);
  const full = await runAll(model, feeds);
  let err = 0;
  for (const k of Object.keys(full)) err = Math.max(err, maxAbsDiff(full[k], composed[k]));
  return { s, err, headOut };
}

describe('layers()', () => {
  it('lists every intermediate 4-D tensor in graph order with probed shapes, producer and op', async () => {
    const ls = await layers(unet().build());
    expect(ls.map((l) => l.name)).to.deep.equal(
      ls.slice().sort((a, b) => a.index - b.index).map((l) => l.name),
    );
    const byName = Object.fromEntries(ls.map((l) => [l.name, l]));
    expect(byName.e1.dims).to.deep.equal(['N', 4, 8, 8]);
    expect(byName.e1.op).to.equal('Relu');
    expect(byName.mid.dims).to.deep.equal(['N', 6, 2, 2]);
    expect(byName.c2.dims).to.deep.equal(['N', 12, 4, 4]);
    expect(byName.c2.op).to.equal('Concat');
    expect(ls.map((l) => l.name)).to.include.members(['e1', 'p1', 'e2', 'p2', 'mid', 'u2', 'c2', 'd2', 'u1', 'c1', 'y']);
  });

  it('lists the layers in an order derived independently: the build order by hand, and every producer before its readers', async () => {
    // Hand-written from test/graphs.ts unet(): the named 4-D tensors in the order the graph computes them (the
    // convolutions' outputs between them have generated names and are checked by the dependency rule below).
    const model = unet().build();
    const ls = await layers(model);
    const named = ['e1', 'p1', 'e2', 'p2', 'mid', 'u2', 'c2', 'd2', 'u1', 'c1', 'y'];
    expect(ls.map((l) => l.name).filter((n) => named.includes(n))).to.deep.equal(named);
    expect(ls).to.have.length(named.length + 4); // + the outputs of the conv nodes feeding e1, e2, mid, d2
    // Dependencies read straight from the ONNX proto: a node's 4-D inputs are listed before its outputs, and the
    // list is in the proto's node order.
    const position = new Map(ls.map((l, i) => [l.name, i]));
    const nodes = model.graph.node ?? [];
    let last = -1;
    nodes.forEach((node, k) => {
      for (const out of node.output ?? []) {
        const at = position.get(out);
        if (at === undefined) continue;
        expect(at, `${out} after the outputs of earlier nodes`).to.be.greaterThan(last);
        last = at;
        expect(ls[at].op).to.equal(node.opType);
        expect(ls[at].index).to.equal(k);
        for (const input of node.input ?? []) {
          const from = position.get(input);
          if (from !== undefined) expect(from, `${input} before ${out}`).to.be.lessThan(at);
        }
      }
    });
  });

  it('skips 2-D tensors and constants, and attaches manifest aliases', async () => {
    const model = styled().build().withAliases({ 'b4.conv0': 'h' });
    const ls = await layers(model);
    const names = ls.map((l) => l.name);
    expect(names).to.not.include('w'); // 2-D
    expect(names).to.not.include('flat'); // 2-D
    expect(names).to.not.include('gain'); // constant
    expect(ls.find((l) => l.name === 'h')?.aliases).to.deep.equal(['b4.conv0']);
  });
});

describe('split() and truncate()', () => {
  it('head then tail equals the full chain model at every layer (max abs ≤ 1e-5)', async () => {
    const model = chain().build();
    const feeds = { x: randn(1, [3, 3, 8, 8]) };
    for (const l of await layers(model)) {
      if (l.name === 'out') continue; // the output itself: the tail would be empty
      const { err, s } = await composeError(model, l.name, feeds);
      expect(err, l.name).to.be.at.most(1e-5);
      expect(s.tailInputs).to.deep.equal([{ name: l.name, role: 'layer' }]);
    }
  });

  it('turns UNet skip connections into tail inputs', async () => {
    const model = unet().build();
    const { s, err } = await composeError(model, 'mid', { x: randn(2, [2, 2, 8, 8]) });
    expect(err).to.be.at.most(1e-5);
    expect(s.tailInputs).to.deep.equal([
      { name: 'mid', role: 'layer' },
      { name: 'e1', role: 'crossing' },
      { name: 'e2', role: 'crossing' },
    ]);
    expect(s.headOutputs).to.deep.equal(['mid', 'e1', 'e2']);
    // The tail must not recompute the encoder: its nodes start after the bottleneck.
    const tailOps = (s.tail.graph.node ?? []).map((n) => n.output?.[0]);
    expect(tailOps).to.not.include('e1');
    expect(tailOps).to.not.include('p1');
  });

  it('keeps a noise input read only after the cut as a tail input, and the style vector crosses', async () => {
    const model = styled().build();
    const feeds = { z: randn(3, [2, 8]), noise: randn(4, [2, 1, 4, 4]) };
    const { s, err } = await composeError(model, 'h', feeds);
    expect(err).to.be.at.most(1e-5);
    expect(s.headInputs).to.deep.equal(['z']);
    expect(s.tailInputs.map((t) => `${t.role}:${t.name}`)).to.deep.equal([
      'layer:h',
      'crossing:style',
      'input:noise',
    ]);
  });

  it('moves a skip branch into the head when its result is smaller than what it reads (toRGB-style)', async () => {
    const feeds = { x: randn(6, [2, 2, 8, 8]) };
    const { s, err } = await composeError(skipBranch('narrow').build(), 'mid', feeds);
    expect(err).to.be.at.most(1e-5);
    // One channel crosses instead of the eight of `e`, and the tail no longer runs the skip conv.
    expect(s.tailInputs.map((t) => `${t.role}:${t.name}`)).to.deep.equal(['layer:mid', 'crossing:skip']);
    const tailMade = (s.tail.graph.node ?? []).flatMap((n) => n.output ?? []);
    expect(tailMade).to.not.include('skip_conv');
    expect(tailMade).to.not.include('skip');
  });

  it('leaves a skip branch in the tail when moving it would hand over more', async () => {
    const { s, err } = await composeError(skipBranch('widen').build(), 'mid', { x: randn(7, [2, 2, 8, 8]) });
    expect(err).to.be.at.most(1e-5);
    expect(s.tailInputs.map((t) => `${t.role}:${t.name}`)).to.deep.equal(['layer:mid', 'crossing:e']);
  });

  it('hoists a reader only with its producer: the cheapest valid plan, each node run once (issue 19)', async () => {
    // Per sample: thin 1×32×32 (1024 floats), h2 = mid's input 16×32×32, p = thin expanded to 16×32×32 and read by
    // a node after the cut (z), c = mean over H×W of p·h2 (16 floats). Each crossing tensor costs 8192 + floats.
    // Valid plans (a hoisted node takes its producers along): none → thin + h2 = 33792; {p} → p + h2 = 49152;
    // {p, c1} → p + c1 = 49152; {p, c1, c} → p + c = 32784, the minimum. Dropping the reader → producer edges
    // lets the cut hoist {c1, c} without p (thin + c = 17424): p would then run in the head (pulled in by c) and
    // again in the tail (for z), with thin crossing instead of p.
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 1, 32, 32]);
    const thin = g.node('Relu', [x], 'thin');
    const h2 = g.node('Tanh', [g.conv(thin, 1, 16, 'h2c', 1)], 'h2');
    const mid = g.node('Relu', [h2], 'mid');
    const p = g.node('Expand', [thin, g.initInt64('p_shape', [1, 16, 32, 32])], 'p');
    const c1 = g.node('Mul', [p, h2], 'c1');
    const c = g.node('ReduceMean', [c1], 'c', { axes: [2, 3], keepdims: 1 });
    const z = g.node('Add', [mid, p], 'z');
    g.node('Add', [z, c], 'y');
    g.output('y', ['N', 16, 32, 32]);
    const { s, err } = await composeError(g.build(), 'mid', { x: randn(10, [2, 1, 32, 32]) });
    expect(err).to.be.at.most(1e-5);
    expect(s.tailInputs.map((t) => `${t.role}:${t.name}`)).to.deep.equal(['layer:mid', 'crossing:p', 'crossing:c']);
    const made = (m: OnnxModel) => (m.graph.node ?? []).flatMap((n) => n.output ?? []);
    expect(made(s.tail)).to.deep.equal(['z', 'y']);
    expect(made(s.head).filter((t) => made(s.tail).includes(t)), 'computed on both sides').to.deep.equal([]);
  });

  it('never hands an int64 shape across when a float tensor can cross instead', async () => {
    const { s, err } = await composeError(skipBranch('shape').build(), 'mid', { x: randn(8, [2, 2, 8, 8]) });
    expect(err).to.be.at.most(1e-5);
    // The one-channel slice the shape is taken from crosses (smaller than `e`); the int64 shape itself never.
    expect(s.tailInputs.map((t) => `${t.role}:${t.name}`)).to.deep.equal(['layer:mid', 'crossing:e0']);
  });

  it('an output that needs only work before the cut is computed in the head and passed through the tail', async () => {
    const { s, err } = await composeError(auxOutput().build(), 'mid', { x: randn(9, [2, 2, 8, 8]) });
    expect(err).to.be.at.most(1e-5);
    expect(s.tailInputs.map((t) => `${t.role}:${t.name}`)).to.deep.equal(['layer:mid', 'crossing:aux']);
    expect((s.tail.graph.output ?? []).map((o) => o.name)).to.deep.equal(['y', 'aux']);
  });

  it('puts initializers and Constant nodes only where they are used', async () => {
    const s = await split(styled().build(), 'h');
    const inits = (m: OnnxModel) => (m.graph.initializer ?? []).map((t) => t.name);
    expect(inits(s.head)).to.include('const4');
    expect(inits(s.head)).to.not.include('noise_strength');
    expect(inits(s.tail)).to.include('noise_strength');
    expect(inits(s.tail)).to.not.include('map_w');
    expect(inits(s.tail)).to.not.include('const4');
    const constants = (m: OnnxModel) => (m.graph.node ?? []).filter((n) => n.opType === 'Constant').length;
    // The Constant `gain` is read on both sides: each side gets its own copy, it never crosses.
    expect(constants(s.head)).to.equal(1);
    expect(constants(s.tail)).to.equal(1);
    expect(s.tailInputs.map((t) => t.name)).to.not.include('gain');
  });

  it('a modified activation written into the tail changes the output (the cut is live)', async () => {
    const model = chain().build();
    const s = await split(model, 'h1');
    const x = randn(5, [1, 3, 8, 8]);
    const h = (await runAll(s.head, { x })).h1;
    const base = (await runAll(s.tail, { h1: h })).out;
    const edited = { data: h.data.map((v, i) => (i === 0 ? v + 5 : v)), dims: h.dims };
    const changed = (await runAll(s.tail, { h1: edited })).out;
    expect(maxAbsDiff(base, changed)).to.be.greaterThan(1e-3);
  });

  it('truncate() gives the model up to one tensor, equal to the full model there', async () => {
    const model = unet().build();
    const sub = await truncate(model, 'e2');
    expect(sub.outputNames()).to.deep.equal(['e2']);
    const x = randn(6, [1, 2, 8, 8]);
    const a = (await runAll(sub, { x })).e2;
    const b = (await runAll((await split(model, 'e2')).head, { x })).e2;
    expect(maxAbsDiff(a, b)).to.equal(0);
    expect(a.dims).to.deep.equal([1, 6, 4, 4]);
  });

  it('works with the batch axis symbolic in the cut tensors', async () => {
    const s = await split(unet().build(), 'mid');
    const vi = s.tail.graph.input?.[0];
    const dims = vi?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
    expect(dims).to.deep.equal(['N', 6, 2, 2]);
  });
});

describe('layer errors', () => {
  it('a layer that does not exist lists the closest names', async () => {
    const model = unet().build().withAliases({ 'enc.block2': 'e2' });
    const e = await rejectsGanvas(split(model, 'enc.blok2'));
    expect(e.code).to.equal('NO_SUCH_LAYER');
    expect(e.message).to.include('"enc.block2"');
    const e2 = await rejectsGanvas(split(model, 'midd'));
    expect(e2.message).to.match(/"mid"/);
  });

  it('a layer that is not 4-D says its shape', async () => {
    const e = await rejectsGanvas(split(styled().build(), 'w'));
    expect(e.code).to.equal('NOT_4D');
    expect(e.message).to.include('[N, 4]');
  });

  it('inputs and weights are refused with the reason', async () => {
    expect((await rejectsGanvas(split(chain().build(), 'x'))).message).to.include('is an input');
    expect((await rejectsGanvas(split(styled().build(), 'gain'))).message).to.include('constant');
  });

  it('an alias pointing nowhere blames the manifest', async () => {
    const e = await rejectsGanvas(split(chain().build().withAliases({ 'b8.conv0': 'gone' }), 'b8.conv0'));
    expect(e.message).to.include('manifest is out of date');
  });
});

// Issue 19 (mutation testing): the hoisting cost model and the sub-models' contents on graphs made for each rule.
// Per-sample crossing costs (src/onnx/split.ts): 8192 per tensor + its float32 elements per sample.
describe('split(): cost model and sub-model contents (issue 19)', () => {
  const plan = (s: { tailInputs: { role: string; name: string }[] }) => s.tailInputs.map((t) => `${t.role}:${t.name}`);
  const made = (m: OnnxModel) => (m.graph.node ?? []).flatMap((n) => n.output ?? []);

  it('a constant never crosses, so a Constant node read on both sides does not count as a crossing (no bias to hoist)', async () => {
    // e = c0·W (8 ch, 8×8: 512 floats) feeds mid; after the cut m = e·W and skip = Concat(m, e) (16 ch) — W is a
    // Constant node that the head reads too. Plans: none → e crosses (8704); {m} → m and e (17408); {m, skip} →
    // skip (9216). The cheapest is none. Counting W (8 floats: 8200) whenever m stays in the tail would make
    // {m, skip} cheapest (9216 < 16904).
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 2, 8, 8]);
    const w = g.constant('W', [1, 8, 1, 1], [0.5, -1, 2, 0.25, 1.5, -0.5, 1, 3]);
    const e = g.node('Mul', [g.conv(x, 2, 8), w], 'e');
    const mid = g.node('Relu', [g.conv(e, 8, 8)], 'mid');
    const m = g.node('Mul', [e, w], 'm');
    const skip = g.node('Concat', [m, e], 'skip', { axis: 1 });
    g.node('Add', [g.conv(mid, 8, 16), skip], 'y');
    g.output('y', ['N', 16, 8, 8]);
    const { s, err } = await composeError(g.build(), 'mid', { x: randn(11, [2, 2, 8, 8]) });
    expect(err).to.be.at.most(1e-5);
    expect(plan(s)).to.deep.equal(['layer:mid', 'crossing:e']);
    expect(made(s.tail)).to.include.members(['m', 'skip']);
  });

  it('a node nothing reads (dead code an exporter left) does not make its input cost a crossing', async () => {
    // skipBranch('narrow') hoists the skip branch (skip, one channel, crosses instead of the 8 channels of e). A
    // dead Identity reading the branch's inner tensor skip_conv must not count: counting it would add skip_conv's
    // crossing (8256) to the hoisted plan (8256 + 8256 > 8704, e's), and the branch would stay in the tail.
    const g = skipBranch('narrow');
    g.node('Identity', ['skip_conv'], 'unused');
    const { s, err } = await composeError(g.build(), 'mid', { x: randn(12, [2, 2, 8, 8]) });
    expect(err).to.be.at.most(1e-5);
    expect(plan(s)).to.deep.equal(['layer:mid', 'crossing:skip']);
    expect(made(s.head)).to.not.include('unused');
    expect(made(s.tail)).to.not.include('unused');
  });

  it('an output that needs only work before the cut stays in the tail when it is wider than what it is made from', async () => {
    // aux = Concat(e, e): 16 channels (9216) against e's 8 (8704): e crosses and the tail computes aux.
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 2, 8, 8]);
    const e = g.node('Relu', [g.conv(x, 2, 8)], 'e');
    const mid = g.node('Relu', [g.conv(e, 8, 8)], 'mid');
    g.conv(mid, 8, 1, 'y');
    g.output('y', ['N', 1, 8, 8]);
    g.node('Concat', [e, e], 'aux', { axis: 1 });
    g.output('aux', ['N', 16, 8, 8]);
    const { s, err } = await composeError(g.build(), 'mid', { x: randn(13, [2, 2, 8, 8]) });
    expect(err).to.be.at.most(1e-5);
    expect(plan(s)).to.deep.equal(['layer:mid', 'crossing:e']);
    expect(made(s.tail)).to.include('aux');
    expect(made(s.head)).to.not.include('aux');
    expect((s.tail.graph.output ?? []).map((o) => o.name)).to.deep.equal(['y', 'aux']);
  });

  it('each side keeps the value_info of its own intermediate tensors only (not of its inputs and outputs)', async () => {
    // chain(): x → conv → t1 → Relu → h1 → conv → t2 → Relu → h2 → conv → out. Cut at h1: the head holds t1
    // inside; the tail holds t2 and h2 (h1 is its input, out its output).
    const model = chain().build();
    const nodes = model.graph.node ?? [];
    const [t1, , t2] = nodes.map((n) => n.output?.[0] as string);
    const annotated = withGraph(model, {
      ...model.graph,
      valueInfo: [t1, 'h1', t2, 'h2', 'out'].map((name) => onnx.ValueInfoProto.create({ name, docString: `annotated ${name}` })),
    }, 'annotated chain');
    const s = await split(annotated, 'h1');
    const names = (m: OnnxModel) => (m.graph.valueInfo ?? []).map((v) => v.name);
    expect(names(s.head)).to.deep.equal([t1]);
    expect(names(s.tail)).to.deep.equal([t2, 'h2']);
    expect(s.tail.graph.valueInfo?.[0].docString).to.equal(`annotated ${t2}`);
    expect(names(await truncate(annotated, 'h2'))).to.deep.equal([t1, 'h1', t2]);
  });

  it('names the parts after the model and the layer, and truncate() keeps only the inputs the part reads', async () => {
    const model = styled().build('styled-test');
    const s = await split(model, 'h');
    expect(s.head.source).to.equal('head of styled-test at h');
    expect(s.tail.source).to.equal('tail of styled-test at h');
    const part = await truncate(model, 'h');
    expect(part.source).to.equal('styled-test up to h');
    // The noise input is read only after h.
    expect(part.inputNames()).to.deep.equal(['z']);
    expect(s.headInputs).to.deep.equal(['z']);
  });
});

describe('split(): nodes with an omitted optional output, sparse initializers (issue 19)', () => {
  it('a node after the cut whose optional output is omitted (\'\') still depends on the layer: its readers stay in the tail', async () => {
    // After the cut, x = Dropout(Relu(mid)) with its mask output omitted (''), then p = e·x and q = mean(p): 1 float.
    // Hoisting {p, q} would hand over q (8193) instead of e (8704), but p reads x, which needs the layer: the head
    // would compute past the cut and q would no longer follow an edited mid.
    const g = new GraphBuilder();
    const xin = g.input('x_in', ['N', 2, 8, 8]);
    const e = g.node('Relu', [g.conv(xin, 2, 8)], 'e');
    const mid = g.node('Relu', [g.conv(e, 8, 8)], 'mid');
    const x = g.node('Dropout', [g.node('Relu', [mid], 'r')], ['x', '']);
    const p = g.node('Mul', [e, x], 'p');
    const q = g.node('ReduceMean', [p], 'q', { axes: [1, 2, 3], keepdims: 1 });
    g.node('Add', [g.conv(mid, 8, 1), q], 'y');
    g.output('y', ['N', 1, 8, 8]);
    const { s, err } = await composeError(g.build(), 'mid', { x_in: randn(14, [2, 2, 8, 8]) });
    expect(err).to.be.at.most(1e-5);
    expect(s.tailInputs.map((t) => `${t.role}:${t.name}`)).to.deep.equal(['layer:mid', 'crossing:e']);
    expect((s.head.graph.node ?? []).map((n) => n.opType)).to.not.include('Dropout');
  });

  it('a sparse initializer goes only to the side that reads it', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 2, 4, 4]);
    const mid = g.node('Relu', [g.conv(x, 2, 2)], 'mid');
    g.node('Add', [mid, 'bias'], 'y');
    g.output('y', ['N', 2, 4, 4]);
    const model = g.build('sparse-test');
    // bias [1, 2, 4, 4] is zero but for two entries (flat indices 3 and 20).
    const bias = onnx.SparseTensorProto.create({
      dims: [1, 2, 4, 4],
      values: onnx.TensorProto.create({ name: 'bias', dims: [2], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [1.5, -2] }),
      indices: onnx.TensorProto.create({ dims: [2], dataType: onnx.TensorProto.DataType.INT64, int64Data: [3, 20] }),
    });
    const sparse = withGraph(model, { ...model.graph, sparseInitializer: [bias] }, 'sparse-test');
    const { s, err } = await composeError(sparse, 'mid', { x: randn(15, [1, 2, 4, 4]) });
    expect(err).to.be.at.most(1e-6);
    expect((s.tail.graph.sparseInitializer ?? []).map((t) => t.values?.name)).to.deep.equal(['bias']);
    expect(s.head.graph.sparseInitializer ?? []).to.deep.equal([]);
  });
});

/**
 * Composing graphs (src/onnx/compose.ts) and the small graphs ganvas composes with models (src/onnx/pieces.ts),
 * in this process on hand-built graphs (issue 19, mutation testing). The composed graph is run in onnxruntime and
 * compared with the pieces run one after another in their own sessions; the preprocessing and stitching graphs are
 * compared with their definitions written out per pixel here (the value-range map, mean/std normalization, ITU-R
 * 601 luma, the nearest source index floor(i · in / out), a 1×1 convolution), not with the code's folded affine.
 */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import {
  OnnxModel,
  compose,
  gaussian,
  initializersToInputs,
  inputsToInitializers,
  onnx,
  preprocessAffine,
  preprocessModel,
  stitchLayerModel,
} from 'ganvas';
import type { ComposePiece } from 'ganvas';
import { GraphBuilder } from './builder';
import { throwsGanvas } from './util';

type Feeds = Record<string, { data: Float32Array; dims: readonly number[] }>;

/** Runs a model in its own onnxruntime session: the independent reference for every graph here. */
async function run(model: OnnxModel, feeds: Feeds): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const s = await ort.InferenceSession.create(model.bytes(), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  try {
    const t: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) t[k] = new ort.Tensor('float32', v.data, [...v.dims]);
    const r = await s.run(t);
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { data: v.data as Float32Array, dims: [...v.dims].map(Number) }]));
  } finally {
    await s.release();
  }
}

function close(actual: Float32Array, expected: ArrayLike<number>, tol = 1e-5, what = ''): void {
  expect(actual.length, `${what} length`).to.equal(expected.length);
  for (let i = 0; i < actual.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`).to.be.at.most(tol * (1 + Math.abs(expected[i])));
  }
}

const names = (list: { name?: string | null }[] | null | undefined): string[] => (list ?? []).map((v) => v.name ?? '');
const dimsOf = (v: onnx.IValueInfoProto | undefined): (number | string)[] | undefined =>
  v?.type?.tensorType?.shape ? (v.type.tensorType.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue))) : undefined;

/** head: x [N,2] → h = relu(x · k) [N,2] (annotated), side = x + 1 (a second output); ir 7. */
function head(opset = 13): GraphBuilder {
  const g = new GraphBuilder(opset);
  g.input('x', ['N', 2]);
  g.node('Relu', [g.node('Mul', ['x', g.init('k', [2], [2, -3])], 'xk')], 'h');
  g.node('Add', ['x', g.init('one', [1], [1])], 'side');
  g.output('h', ['N', 2]);
  g.output('side', ['N', 2]);
  return g;
}

/** tail: h [N,2], noise [N,2] → y = h · w [N,2]; y2 = y + noise (unannotated). */
function tail(): GraphBuilder {
  const g = new GraphBuilder();
  g.input('h', ['N', 2]);
  g.input('noise', ['N', 2]);
  g.node('Mul', ['h', g.init('w', [2], [0.5, 4])], 'y');
  g.node('Add', ['y', 'noise'], 'y2');
  g.output('y', ['N', 2]);
  g.output('y2');
  return g;
}

describe('onnx compose: pieces wired into one graph', function () {
  this.timeout(60000);
  const x = { data: Float32Array.from([1, 2, -1, 0.5, 3, -2]), dims: [3, 2] };
  const noise = { data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), dims: [3, 2] };

  it('runs the chain in one graph as the pieces run one after another, with only what the outputs need', async () => {
    const A = head().build('head.onnx');
    const B = tail().build('tail.onnx');
    const m = compose([{ model: A, prefix: 'a/' }, { model: B, prefix: 'b/', connect: { h: 'a/h' } }], { outputs: ['b/y'] });
    const h = (await run(A, { x }))['h'];
    const y = (await run(B, { h, noise }))['y'];
    const got = (await run(m, { 'a/x': x }))['b/y'];
    expect(got.dims).to.deep.equal([3, 2]);
    close(got.data, y.data, 0, 'b/y');
    const g = m.graph;
    // The side output and the noise input are not needed for b/y: pruned, with their initializers.
    expect(names(g.input)).to.deep.equal(['a/x']);
    expect(names(g.initializer)).to.deep.equal(['a/k', 'b/w']);
    expect(g.node?.map((n) => [n.name, n.opType, n.input, n.output])).to.deep.equal([
      ['a/Mul_0', 'Mul', ['a/x', 'a/k'], ['a/xk']],
      ['a/Relu_1', 'Relu', ['a/xk'], ['a/h']],
      ['b/Mul_0', 'Mul', ['a/h', 'b/w'], ['b/y']],
    ]);
    expect(names(g.output)).to.deep.equal(['b/y']);
    expect(dimsOf(g.output?.[0])).to.deep.equal(['N', 2]);
    expect(g.output?.[0].type?.tensorType?.elemType).to.equal(onnx.TensorProto.DataType.FLOAT);
    // a/h is annotated (the head's output), b/y is the output itself: only a/h stays as value info.
    expect(names(g.valueInfo)).to.deep.equal(['a/h']);
    expect(dimsOf(g.valueInfo?.[0])).to.deep.equal(['N', 2]);
    expect(g.name).to.equal('composed');
    expect(m.source).to.equal('composed of head.onnx + tail.onnx');
  });

  it('exposes several outputs, typed from what the pieces annotate (float32 with no shape when nothing)', async () => {
    const A = head().build('head.onnx');
    const B = tail().build('tail.onnx');
    const m = compose([{ model: A, prefix: 'a/' }, { model: B, prefix: 'b/', connect: { h: 'a/h' } }], { outputs: ['b/y2', 'a/side', 'a/xk'], source: 'mine' });
    expect(m.source).to.equal('mine');
    const g = m.graph;
    expect(names(g.input)).to.deep.equal(['a/x', 'b/noise']);
    expect(names(g.initializer)).to.deep.equal(['a/k', 'a/one', 'b/w']);
    expect(g.output?.map((o) => [o.name, o.type?.tensorType?.elemType, dimsOf(o)])).to.deep.equal([
      ['b/y2', 1, undefined],
      ['a/side', 1, ['N', 2]],
      ['a/xk', 1, undefined],
    ]);
    // b/y is annotated and needed, a/side an output: the value infos are those not output.
    expect(names(g.valueInfo)).to.deep.equal(['a/h', 'b/y']);
    const r = await run(m, { 'a/x': x, 'b/noise': noise });
    const h = (await run(A, { x }))['h'];
    const ref = await run(B, { h, noise });
    close(r['b/y2'].data, ref['y2'].data, 0, 'y2');
    close(r['a/side'].data, Array.from(x.data, (v) => v + 1), 0, 'side');
    close(r['a/xk'].data, Array.from(x.data, (v, i) => v * [2, -3][i % 2]), 0, 'xk');
  });

  it('shares inputs by name when asked, and connects to graph inputs of earlier pieces', async () => {
    // Two pieces reading the same noise: p = relu(z), q = z · 3 + p.
    const g1 = new GraphBuilder();
    g1.input('z', ['N', 2]);
    g1.node('Relu', ['z'], 'p');
    g1.output('p', ['N', 2]);
    const g2 = new GraphBuilder();
    g2.input('z', ['N', 2]);
    g2.input('p', ['N', 2]);
    g2.node('Add', [g2.node('Mul', ['z', g2.init('three', [1], [3])], 'z3'), 'p'], 'q');
    g2.output('q', ['N', 2]);
    const P = g1.build('p.onnx');
    const Q = g2.build('q.onnx');
    const z = { data: Float32Array.from([-1, 2, 0.5, -0.25]), dims: [2, 2] };
    const expected = Array.from(z.data, (v) => 3 * v + Math.max(0, v));
    const shared = compose([{ model: P, prefix: 'p/', shareInputs: true }, { model: Q, prefix: 'q/', connect: { p: 'p/p' }, shareInputs: true }], { outputs: ['q/q'] });
    expect(names(shared.graph.input)).to.deep.equal(['z']);
    close((await run(shared, { z }))['q/q'].data, expected, 0, 'shared');
    // Without sharing, each piece has its own (prefixed) input; connecting to the first one's input does the same.
    const own = compose([{ model: P, prefix: 'p/' }, { model: Q, prefix: 'q/', connect: { p: 'p/p' } }], { outputs: ['q/q'] });
    expect(names(own.graph.input)).to.deep.equal(['p/z', 'q/z']);
    const linked = compose([{ model: P, prefix: 'p/' }, { model: Q, prefix: 'q/', connect: { p: 'p/p', z: 'p/z' } }], { outputs: ['q/q'] });
    expect(names(linked.graph.input)).to.deep.equal(['p/z']);
    close((await run(linked, { 'p/z': z }))['q/q'].data, expected, 0, 'linked');
    // Sharing in the second piece only: its z keeps its name, a new graph input beside p/z.
    const half = compose([{ model: P, prefix: 'p/' }, { model: Q, prefix: 'q/', connect: { p: 'p/p' }, shareInputs: true }], { outputs: ['q/q'] });
    expect(names(half.graph.input)).to.deep.equal(['p/z', 'z']);
    // A shared input an earlier piece also takes is not listed twice; a connected input is not shared.
    const both = compose([{ model: P, prefix: 'p/', shareInputs: true }, { model: Q, prefix: 'q/', connect: { p: 'p/p', z: 'p/p' }, shareInputs: true }], { outputs: ['q/q'] });
    expect(names(both.graph.input)).to.deep.equal(['z']);
    close((await run(both, { z }))['q/q'].data, Array.from(z.data, (v) => 4 * Math.max(0, v)), 0, 'both');
  });

  it('keeps the weights an old exporter lists as inputs as weights, and renames nameless nodes by their output', async () => {
    const proto = onnx.ModelProto.decode(head().bytes());
    const graph = proto.graph as onnx.GraphProto;
    graph.input.push(onnx.ValueInfoProto.create({ name: 'k', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } }));
    graph.node[0].name = '';
    const old = new OnnxModel(proto, 'old.onnx');
    expect(old.inputNames()).to.deep.equal(['x']);
    const m = compose([{ model: old, prefix: 'o/' }], { outputs: ['o/h'] });
    expect(names(m.graph.input)).to.deep.equal(['o/x']);
    expect(names(m.graph.initializer)).to.deep.equal(['o/k']);
    expect(m.graph.node?.map((n) => n.name)).to.deep.equal(['o/xk', 'o/Relu_1']);
    close((await run(m, { 'o/x': x }))['o/h'].data, Array.from(x.data, (v, i) => Math.max(0, v * [2, -3][i % 2])), 0, 'h');
  });

  it('keeps missing optional inputs and outputs empty, an output that is an input out of the value infos, and int64 types', async () => {
    // y = clip(x, max = 0.5) (no min: ''), with Dropout's missing mask output; s = Shape(x) (int64, annotated);
    // x is also listed as an output of the piece.
    const g = new GraphBuilder();
    g.input('x', ['N', 2]);
    const d = g.node('Dropout', ['x'], ['dx', '']);
    g.node('Clip', [d, '', g.init('hi', [], [0.5])], 'y');
    g.node('Shape', ['x'], 's');
    const p = onnx.ModelProto.decode(g.bytes());
    const graph = p.graph as onnx.GraphProto;
    graph.output.push(
      onnx.ValueInfoProto.create({ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } }),
      onnx.ValueInfoProto.create({ name: 's', type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimValue: 2 }] } } } }),
      onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } }),
    );
    const m = compose([{ model: new OnnxModel(p, 'opt.onnx'), prefix: 'o/' }], { outputs: ['o/y', 'o/s'] });
    expect(m.graph.node?.map((n) => [n.input, n.output])).to.deep.equal([
      [['o/x'], ['o/dx', '']],
      [['o/dx', '', 'o/hi'], ['o/y']],
      [['o/x'], ['o/s']],
    ]);
    expect(m.graph.output?.map((o) => [o.name, o.type?.tensorType?.elemType, dimsOf(o)])).to.deep.equal([['o/y', 1, ['N', 2]], ['o/s', 7, [2]]]);
    expect(names(m.graph.valueInfo)).to.deep.equal([]);
    expect(names(m.graph.input)).to.deep.equal(['o/x']);
    const r = await run(m, { 'o/x': x });
    close(r['o/y'].data, Array.from(x.data, (v) => Math.min(v, 0.5)), 0, 'clip');
    expect(throwsGanvas(() => compose([{ model: new OnnxModel(p, 'opt.onnx'), prefix: 'o/' }], { outputs: [''] }), 'BAD_INPUT').message).to.match(/^compose: no tensor "" to output/);
  });

  it('takes the highest ir version, the common opset and the highest version of every other domain', () => {
    const withImports = (g: GraphBuilder, ir: number, extra: onnx.IOperatorSetIdProto[]): OnnxModel => {
      const p = onnx.ModelProto.decode(g.bytes());
      p.irVersion = ir;
      p.opsetImport = [onnx.OperatorSetIdProto.create({ domain: 'ai.onnx', version: 13 }), ...extra.map((e) => onnx.OperatorSetIdProto.create(e))];
      return new OnnxModel(p, `ir${ir}`);
    };
    const A = withImports(head(), 7, [{ domain: 'com.microsoft', version: 1 }, { domain: 'org.x', version: 5 }]);
    const B = withImports(tail(), 9, [{ domain: 'com.microsoft', version: 3 }, { domain: 'org.y', version: 2 }]);
    const m = compose([{ model: A, prefix: 'a/' }, { model: B, prefix: 'b/', connect: { h: 'a/h' } }], { outputs: ['b/y'] });
    expect(Number(m.proto.irVersion)).to.equal(9);
    expect(m.proto.opsetImport.map((o) => [o.domain, Number(o.version)])).to.deep.equal([['', 13], ['com.microsoft', 3], ['org.x', 5], ['org.y', 2]]);
    const C = withImports(head(), 8, []);
    const D = withImports(tail(), 3, [{ domain: 'com.microsoft', version: 2 }]);
    const m2 = compose([{ model: C, prefix: 'c/' }, { model: D, prefix: 'd/', connect: { h: 'c/h' } }], { outputs: ['d/y'] });
    expect(Number(m2.proto.irVersion)).to.equal(8);
    expect(m2.proto.opsetImport.map((o) => [o.domain, Number(o.version)])).to.deep.equal([['', 13], ['com.microsoft', 2]]);
    expect(m2.proto.producerName).to.equal('ganvas');
  });

  it('refuses what it cannot compose, saying what would be right', () => {
    const A = head().build('head.onnx');
    const B = tail().build('tail.onnx');
    expect(throwsGanvas(() => compose([], { outputs: [] }), 'BAD_INPUT').message).to.equal('compose() needs at least one piece');
    expect(throwsGanvas(() => compose([{ model: A, prefix: 'p' }, { model: B, prefix: 'q' }, { model: B, prefix: 'p' }], { outputs: [] }), 'BAD_INPUT').message)
      .to.equal('two pieces share the prefix "p"; give each piece its own');
    const old = head(11).build('old.onnx');
    expect(throwsGanvas(() => compose([{ model: A, prefix: 'a/' }, { model: old, prefix: 'o/' }], { outputs: [] }), 'UNSUPPORTED').message).to.equal(
      'cannot compose models of different ONNX opsets (head.onnx: 13, old.onnx: 11); export them at the same opset ' +
        '(torch.onnx.export(..., opset_version=N)) or convert one with onnx.version_converter',
    );
    const fproto = onnx.ModelProto.decode(head().bytes());
    fproto.functions = [onnx.FunctionProto.create({ name: 'f', domain: 'local' })];
    expect(throwsGanvas(() => compose([{ model: new OnnxModel(fproto, 'fn.onnx'), prefix: 'f/' }], { outputs: [] }), 'UNSUPPORTED').message)
      .to.equal('fn.onnx defines model-local functions; inline them before composing (onnx.inliner)');
    const noInput = throwsGanvas(() => compose([{ model: A, prefix: 'a/' }, { model: B, prefix: 'b/', connect: { hh: 'a/h' } }], { outputs: ['b/y'] }), 'BAD_INPUT');
    expect(noInput.message).to.equal('piece "b/" (tail.onnx) has no input "hh" to connect; its inputs are h, noise (nearby: h, noise)');
    const noTarget = throwsGanvas(() => compose([{ model: A, prefix: 'a/' }, { model: B, prefix: 'b/', connect: { h: 'a/hh' } }], { outputs: ['b/y'] }), 'BAD_INPUT');
    expect(noTarget.message).to.match(/^piece "b\/" connects "h" to "a\/hh", which no earlier piece makes \(nearby: a\/h, /);
    // A piece may not read a later one's tensors.
    expect(throwsGanvas(() => compose([{ model: B, prefix: 'b/', connect: { h: 'a/h' } }, { model: A, prefix: 'a/' }], { outputs: [] })).message).to.equal(
      'piece "b/" connects "h" to "a/h", which no earlier piece makes',
    );
    const noOut = throwsGanvas(() => compose([{ model: A, prefix: 'a/' }], { outputs: ['a/hx'] }), 'BAD_INPUT');
    expect(noOut.message).to.match(/^compose: no tensor "a\/hx" to output \(nearby: a\/h, a\/x, /);
    // Prefixes that make one name twice: "a" + "bx" and "ab" + "x".
    const gx = new GraphBuilder();
    gx.input('x', ['N', 2]);
    gx.node('Relu', ['x'], 'bx');
    gx.output('bx');
    const X = gx.build('x.onnx');
    expect(throwsGanvas(() => compose([{ model: X, prefix: 'a' }, { model: X, prefix: 'ab' }], { outputs: [] }), 'BAD_INPUT').message)
      .to.equal('compose: tensor name "abx" occurs twice; use distinct prefixes');
    // A shared input named like an earlier piece's (non-input) tensor.
    const gh = new GraphBuilder();
    gh.input('a/h', ['N', 2]);
    gh.node('Relu', ['a/h'], 'r');
    gh.output('r');
    expect(throwsGanvas(() => compose([{ model: A, prefix: 'a/' }, { model: gh.build('h.onnx'), prefix: 'h/', shareInputs: true }], { outputs: [] })).message)
      .to.equal('compose: tensor name "a/h" occurs twice; use distinct prefixes');
    // Control flow.
    const ifProto = onnx.ModelProto.decode(head().bytes());
    const branch = onnx.GraphProto.create({ name: 'b', node: [], output: [] });
    (ifProto.graph as onnx.GraphProto).node.push(onnx.NodeProto.create({ name: 'cond', opType: 'If', input: ['x'], output: ['f'], attribute: [onnx.AttributeProto.create({ name: 'then_branch', g: branch })] }));
    expect(throwsGanvas(() => compose([{ model: new OnnxModel(ifProto, 'if.onnx'), prefix: 'i/' }], { outputs: [] }), 'UNSUPPORTED').message)
      .to.equal('compose: node "cond" (If) has a sub-graph; control flow cannot be composed yet');
    const loopProto = onnx.ModelProto.decode(head().bytes());
    (loopProto.graph as onnx.GraphProto).node.push(onnx.NodeProto.create({ name: 'sc', opType: 'Scan', input: ['x'], output: ['f'], attribute: [onnx.AttributeProto.create({ name: 'bodies', graphs: [branch] })] }));
    expect(throwsGanvas(() => compose([{ model: new OnnxModel(loopProto, 'scan.onnx'), prefix: 'i/' }], { outputs: [] }), 'UNSUPPORTED').message)
      .to.match(/node "sc" \(Scan\) has a sub-graph/);
  });
});

describe('onnx compose: weights as inputs and back', function () {
  this.timeout(60000);
  const x = { data: Float32Array.from([1, -2, 3, 0.5]), dims: [2, 2] };

  function model(): OnnxModel {
    const g = new GraphBuilder(12);
    g.input('x', ['N', 2]);
    const w = g.init('w', [1, 2], [3, -1]);
    const b = g.init('b', [2], [0.25, 0.5]);
    g.initInt64('shape', [-1, 2]);
    g.node('Reshape', [g.node('Add', [g.node('Mul', ['x', w], 'xw'), b], 'y0'), 'shape'], 'y');
    g.output('y', ['N', 2]);
    return g.build('w.onnx').withAliases({ out: 'y' });
  }

  it('turns chosen float weights into inputs with their values; fed back, the graph computes the same', async () => {
    const m = model();
    const { model: open, values } = initializersToInputs(m, ['b', 'w']);
    expect(Array.from(values.w.data)).to.deep.equal([3, -1]);
    expect(values.w.dims).to.deep.equal([1, 2]);
    expect(Array.from(values.b.data)).to.deep.equal([0.25, 0.5]);
    expect(names(open.graph.initializer)).to.deep.equal(['shape']);
    expect(names(open.graph.input)).to.deep.equal(['x', 'b', 'w']);
    expect(dimsOf(open.graph.input?.[2])).to.deep.equal([1, 2]);
    expect(open.graph.input?.[2].type?.tensorType?.elemType).to.equal(1);
    expect(open.inputNames()).to.deep.equal(['x', 'b', 'w']);
    expect(open.aliases).to.deep.equal({ out: 'y' });
    expect(open.source).to.equal('w.onnx');
    expect(open.proto.opsetImport.map((o) => Number(o.version))).to.deep.equal([12]);
    expect(Number(open.proto.irVersion)).to.equal(8);
    const ref = (await run(m, { x }))['y'];
    close((await run(open, { x, w: values.w, b: values.b }))['y'].data, ref.data, 0, 'same weights');
    // Other weights: y = x · w2 + b.
    const w2 = { data: Float32Array.from([2, 0.5]), dims: [1, 2] };
    close((await run(open, { x, w: w2, b: values.b }))['y'].data, [2 + 0.25, -1 + 0.5, 6 + 0.25, 0.25 + 0.5], 1e-6, 'new weights');
    // And back: a standalone file with the new weights, whose inputs are x only.
    const frozen = inputsToInitializers(open, { w: w2 });
    expect(names(frozen.graph.input)).to.deep.equal(['x', 'b']);
    expect(names(frozen.graph.initializer)).to.deep.equal(['shape', 'w']);
    expect(frozen.aliases).to.deep.equal({ out: 'y' });
    expect(frozen.proto.opsetImport.map((o) => Number(o.version))).to.deep.equal([12]);
    close((await run(frozen, { x, b: values.b }))['y'].data, [2.25, -0.5, 6.25, 0.75], 1e-6, 'frozen');
    const all = inputsToInitializers(open, { w: values.w, b: values.b });
    expect(names(all.graph.input)).to.deep.equal(['x']);
    close((await run(all, { x }))['y'].data, ref.data, 0, 'round trip');
  });

  it('refuses unknown names, non-float weights and values of the wrong shape', () => {
    const m = model();
    expect(throwsGanvas(() => initializersToInputs(m, ['ww']), 'BAD_INPUT').message).to.equal('w.onnx has no initializer "ww" (nearby: w, b, shape)');
    expect(throwsGanvas(() => initializersToInputs(m, ['shape']), 'BAD_INPUT').message).to.equal('initializer "shape" is not float32; only float32 weights can become inputs');
    const { model: open } = initializersToInputs(m, ['w']);
    const v = (data: number[], dims: number[]) => ({ data: Float32Array.from(data), dims });
    expect(throwsGanvas(() => inputsToInitializers(open, { ww: v([1, 2], [1, 2]) }), 'BAD_INPUT').message).to.equal('w.onnx has no input "ww" (nearby: w, x)');
    expect(throwsGanvas(() => inputsToInitializers(open, { w: v([1, 2], [2, 1]) }), 'BAD_INPUT').message).to.equal('value for input "w" has shape [2, 1], the graph expects [1, 2]');
    expect(throwsGanvas(() => inputsToInitializers(open, { w: v([1, 2], [2]) }), 'BAD_INPUT').message).to.equal('value for input "w" has shape [2], the graph expects [1, 2]');
    expect(throwsGanvas(() => inputsToInitializers(open, { w: v([1, 2, 3, 4], [1, 2, 2]) })).message).to.match(/has shape \[1, 2, 2\], the graph expects \[1, 2\]/);
    // A symbolic axis takes any size; an input with no recorded shape takes any shape.
    const fixed = inputsToInitializers(m, { x: v([1, 2, 3, 4, 5, 6], [3, 2]) });
    expect(names(fixed.graph.input)).to.deep.equal([]);
    expect(names(fixed.graph.initializer)).to.deep.equal(['w', 'b', 'shape', 'x']);
    const p = onnx.ModelProto.decode(model().bytes());
    (p.graph as onnx.GraphProto).input[0] = onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: 1 } } });
    const loose = inputsToInitializers(new OnnxModel(p, 'loose'), { x: v([1, 2, 3], [3]) });
    expect(names(loose.graph.initializer)).to.deep.equal(['w', 'b', 'shape', 'x']);
  });
});

/** The preprocessing written out per pixel from its definition (manifest preprocess; FeatureExtractor.preprocess). */
function preprocessReference(
  image: Float32Array, n: number, c: number, h: number, w: number, range: [number, number],
  p: { channels: number; size: [number, number]; range: [number, number]; mean?: number[]; std?: number[] },
): Float32Array {
  const [H, W] = p.size;
  const out = new Float32Array(n * p.channels * H * W);
  const px = (b: number, ch: number, y: number, x: number) => image[((b * c + ch) * h + y) * w + x];
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < p.channels; k++) {
      const mean = p.mean === undefined ? 0 : p.mean.length === 1 ? p.mean[0] : p.mean[k];
      const std = p.std === undefined ? 1 : p.std.length === 1 ? p.std[0] : p.std[k];
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const y = Math.floor((i * h) / H);
          const x = Math.floor((j * w) / W);
          let v: number;
          if (c === p.channels) v = px(b, k, y, x);
          else if (c === 1) v = px(b, 0, y, x);
          else v = 0.299 * px(b, 0, y, x) + 0.587 * px(b, 1, y, x) + 0.114 * px(b, 2, y, x);
          const unit = (v - range[0]) / (range[1] - range[0]);
          out[((b * p.channels + k) * H + i) * W + j] = (p.range[0] + unit * (p.range[1] - p.range[0]) - mean) / std;
        }
      }
    }
  }
  return out;
}

describe('onnx pieces: in-graph preprocessing and the stitching layer', function () {
  this.timeout(60000);

  it('the affine map, worked by hand: gray [−1, 1] → RGB [0, 1] normalized', () => {
    // scale = (1 − 0) / (1 − (−1)) = 0.5; bias_k = (0 − (−1)·0.5 − mean_k) / std_k; weight_k = 0.5 / std_k.
    const { weight, bias } = preprocessAffine({ size: [4, 4], channels: 3, range: [0, 1], mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] }, 1, [-1, 1]);
    expect(Array.from(weight)).to.deep.equal([1, 2, 0.25]);
    expect(Array.from(bias)).to.deep.equal([0, 1, 0.25]);
    // RGB [0, 255] → gray [−1, 1], one mean and std for every channel: the luma weights times 2/255/0.5.
    const g = preprocessAffine({ size: [4, 4], channels: 1, range: [-1, 1], mean: [0.5], std: [0.5] }, 3, [0, 255]);
    close(g.weight, [0.299 * 4 / 255, 0.587 * 4 / 255, 0.114 * 4 / 255], 1e-6, 'luma');
    close(g.bias, [(-1 - 0.5) / 0.5], 1e-6, 'bias');
    // Same channels, no mean/std: a diagonal 3×3 with scale 2 / 10 and bias −1 − 0·0.2.
    const d = preprocessAffine({ size: [4, 4], channels: 3, range: [-1, 1] }, 3, [0, 10]);
    close(d.weight, [0.2, 0, 0, 0, 0.2, 0, 0, 0, 0.2], 1e-7, 'diag');
    close(d.bias, [-1, -1, -1], 1e-7, 'diag bias');
  });

  it('refuses channel counts other than 1 and 3, an empty range and a zero or non-finite std', () => {
    const p = { size: [4, 4] as [number, number], channels: 3, range: [0, 1] as [number, number] };
    expect(throwsGanvas(() => preprocessAffine(p, 2, [0, 1]), 'BAD_INPUT').message).to.equal('images must have 1 or 3 channels, got 2');
    expect(throwsGanvas(() => preprocessAffine({ ...p, channels: 4 }, 3, [0, 1]), 'BAD_MANIFEST').message).to.equal('preprocess.channels must be 1 or 3, got 4');
    expect(throwsGanvas(() => preprocessAffine({ ...p, channels: 2 }, 1, [0, 1]), 'BAD_MANIFEST').message).to.equal('preprocess.channels must be 1 or 3, got 2');
    expect(throwsGanvas(() => preprocessAffine(p, 3, [1, 1]), 'BAD_INPUT').message).to.equal('value range [1, 1] is empty; expected [low, high] with low < high');
    expect(throwsGanvas(() => preprocessAffine(p, 3, [1, 0]), 'BAD_INPUT').message).to.match(/value range \[1, 0\] is empty/);
    expect(throwsGanvas(() => preprocessAffine(p, 3, [0, NaN]), 'BAD_INPUT').message).to.match(/value range \[0, NaN\] is empty/);
    expect(throwsGanvas(() => preprocessAffine({ ...p, std: [1, 0, 1] }, 3, [0, 1]), 'BAD_MANIFEST').message).to.equal('preprocess.std[1] is 0; it must be a non-zero number');
    expect(throwsGanvas(() => preprocessAffine({ ...p, std: [Infinity] }, 3, [0, 1]), 'BAD_MANIFEST').message).to.equal('preprocess.std[0] is Infinity; it must be a non-zero number');
    expect(throwsGanvas(() => preprocessAffine({ ...p, std: [1, 1, NaN] }, 3, [0, 1])).message).to.match(/std\[2\] is NaN/);
  });

  it('the preprocessing graph equals the per-pixel definition: up, down and fractional resizes, channel changes', async () => {
    const cases: [number, number, number, [number, number], { channels: number; size: [number, number]; range: [number, number]; mean?: number[]; std?: number[] }][] = [
      [1, 3, 5, [-1, 1], { channels: 3, size: [6, 10], range: [0, 1], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }], // ×2 up both axes
      [3, 8, 6, [0, 255], { channels: 1, size: [4, 3], range: [-1, 1], mean: [0.5], std: [0.5] }], // ÷2 down both
      [3, 9, 7, [0, 1], { channels: 3, size: [3, 5], range: [0, 1], mean: [0.25] }], // 9 → 3 (÷3 slice), 7 → 5 (gather)
      [1, 4, 4, [0, 1], { channels: 1, size: [4, 4], range: [0, 2], mean: [1] }], // no resize at all
      [3, 5, 4, [0, 1], { channels: 3, size: [3, 8], range: [0, 1], std: [2] }], // 5 → 3 gather, 4 → 8 up
    ];
    for (const [c, h, w, range, p] of cases) {
      const n = 2;
      const image = { data: gaussian(`pre-${c}-${h}-${w}`, n * c * h * w).map((v) => range[0] + (range[1] - range[0]) * (0.5 + 0.2 * v)), dims: [n, c, h, w] };
      const m = preprocessModel(p, { channels: c, height: h, width: w, range });
      const out = (await run(m, { image }))['input'];
      expect(out.dims, `${c}×${h}×${w} → ${p.size}`).to.deep.equal([n, p.channels, ...p.size]);
      close(out.data, preprocessReference(image.data, n, c, h, w, range, p), 1e-5, `${c}×${h}×${w} → ${p.channels}×${p.size}`);
      expect(m.inputNames()).to.deep.equal(['image']);
      expect(dimsOf(m.graph.input?.[0])).to.deep.equal(['N', c, h, w]);
      expect(dimsOf(m.graph.output?.[0])).to.deep.equal(['N', p.channels, ...p.size]);
      expect(m.source).to.equal(`preprocessing of ${c}×${h}×${w} images in [${range.join(', ')}] for ${p.channels}×${p.size[0]}×${p.size[1]}`);
      expect(Number(m.proto.irVersion)).to.equal(8);
      expect(m.proto.producerName).to.equal('ganvas');
      expect(m.proto.opsetImport.map((o) => [o.domain, Number(o.version)])).to.deep.equal([['', 13]]);
    }
    // The node kinds say which resize each axis took.
    const ops = (h: number, w: number, H: number, W: number) =>
      preprocessModel({ channels: 1, size: [H, W], range: [0, 1] }, { channels: 1, height: h, width: w, range: [0, 1] }).graph.node?.map((nd) => nd.opType);
    expect(ops(4, 4, 8, 4)).to.deep.equal(['Conv', 'Resize', 'Identity']);
    expect(ops(9, 7, 3, 7)).to.deep.equal(['Conv', 'Slice', 'Identity']);
    expect(ops(7, 9, 7, 4)).to.deep.equal(['Conv', 'Gather', 'Identity']);
    expect(ops(4, 4, 4, 4)).to.deep.equal(['Conv', 'Identity']);
    // Another opset is carried through.
    const m17 = preprocessModel({ channels: 1, size: [2, 2], range: [0, 1] }, { channels: 1, height: 4, width: 4, range: [0, 1] }, 17);
    expect(m17.proto.opsetImport.map((o) => Number(o.version))).to.deep.equal([17]);
    const img = { data: Float32Array.from({ length: 16 }, (_, i) => i / 16), dims: [1, 1, 4, 4] };
    close((await run(m17, { image: img }))['input'].data, [0, 2 / 16, 8 / 16, 10 / 16], 1e-7, 'opset 17');
  });

  /** y[b, o, i, j] = bias[o] + Σ_c weight[o, c] · x[b, c, floor(i·h/H), floor(j·w/W)]. */
  function stitchReference(x: Float32Array, n: number, cin: number, h: number, w: number, weight: Float32Array, bias: Float32Array, cout: number, H: number, W: number): Float32Array {
    const y = new Float32Array(n * cout * H * W);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < cout; o++) {
        for (let i = 0; i < H; i++) {
          for (let j = 0; j < W; j++) {
            let s = bias[o];
            const si = Math.floor((i * h) / H);
            const sj = Math.floor((j * w) / W);
            for (let c = 0; c < cin; c++) s += weight[o * cin + c] * x[((b * cin + c) * h + si) * w + sj];
            y[((b * cout + o) * H + i) * W + j] = s;
          }
        }
      }
    }
    return y;
  }

  it('the stitching layer: a 1×1 convolution and a nearest resize, growing, shrinking or same size', async () => {
    const cases: [number, number, [number, number], [number, number], string[]][] = [
      [3, 2, [2, 3], [4, 6], ['Conv', 'Resize', 'Resize', 'Identity']], // grow: conv first
      [2, 4, [8, 6], [4, 3], ['Slice', 'Slice', 'Conv', 'Identity']], // shrink: resize first
      [4, 3, [5, 5], [5, 5], ['Conv', 'Identity']],
      [2, 2, [6, 4], [4, 5], ['Gather', 'Gather', 'Conv', 'Identity']], // 24 → 20 pixels: shrink, both gathers
      [2, 2, [3, 4], [4, 3], ['Conv', 'Gather', 'Gather', 'Identity']], // 12 → 12 pixels, not the same: conv first
    ];
    for (const [cin, cout, from, to, ops] of cases) {
      const n = 2;
      const m = stitchLayerModel(cin, cout, from, to);
      const x = { data: gaussian(`stitch-x-${cin}-${from}`, n * cin * from[0] * from[1]), dims: [n, cin, ...from] };
      const weight = { data: gaussian(`stitch-w-${cin}-${cout}`, cout * cin), dims: [cout, cin, 1, 1] };
      const bias = { data: gaussian(`stitch-b-${cout}`, cout), dims: [cout] };
      const y = (await run(m, { x, weight, bias }))['y'];
      expect(y.dims, `${from} → ${to}`).to.deep.equal([n, cout, ...to]);
      close(y.data, stitchReference(x.data, n, cin, from[0], from[1], weight.data, bias.data, cout, to[0], to[1]), 1e-5, `${from} → ${to}`);
      expect(m.graph.node?.map((nd) => nd.opType), `${from} → ${to}`).to.deep.equal(ops);
      expect(m.inputNames()).to.deep.equal(['x', 'weight', 'bias']);
      expect(m.graph.input?.map(dimsOf)).to.deep.equal([['N', cin, ...from], [cout, cin, 1, 1], [cout]]);
      expect(dimsOf(m.graph.output?.[0])).to.deep.equal(['N', cout, ...to]);
      expect(m.source).to.equal(`1×1 stitch ${cin}→${cout}, ${from[0]}×${from[1]} → ${to[0]}×${to[1]}`);
    }
    expect(stitchLayerModel(1, 1, [2, 2], [2, 2], 15).proto.opsetImport.map((o) => Number(o.version))).to.deep.equal([15]);
  });

  it('composes with a model: preprocessing in front of a classifier-like piece runs as the two in turn', async () => {
    const p = { channels: 3, size: [4, 4] as [number, number], range: [0, 1] as [number, number], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
    const pre = preprocessModel(p, { channels: 1, height: 8, width: 8, range: [-1, 1] });
    const g = new GraphBuilder();
    g.input('input', ['N', 3, 4, 4]);
    g.node('ReduceMean', [g.conv('input', 3, 2, 'feat')], 'score', { axes: [2, 3], keepdims: 0 });
    g.output('score', ['N', 2]);
    const cls = g.build('cls.onnx');
    const pieces: ComposePiece[] = [{ model: pre, prefix: 'pre/' }, { model: cls, prefix: 'cls/', connect: { input: 'pre/input' } }];
    const m = compose(pieces, { outputs: ['cls/score'] });
    const image = { data: gaussian('composed-image', 2 * 64).map((v) => Math.tanh(v)), dims: [2, 1, 8, 8] };
    const mid = (await run(pre, { image }))['input'];
    const ref = (await run(cls, { input: mid }))['score'];
    close((await run(m, { 'pre/image': image }))['cls/score'].data, ref.data, 1e-6, 'score');
  });
});

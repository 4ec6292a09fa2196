/**
 * The Emitter that gradient rules write through (issue 19, mutation testing of emit.ts), checked by running what it
 * emits in onnxruntime and comparing with values worked out here in JavaScript: arithmetic, re-layouts, reductions
 * in both opset spellings (ReduceMean's axes as an attribute before opset 18, as an input from 18), zeros that stay
 * zero under inf, attributes of every kind, shared scalars, multi-output nodes, named outputs; and the bookkeeping
 * rules rely on: fresh names that avoid the model's, the opset a rule asks for and why, and the tensor under an
 * emitted Expand.
 */
import { expect } from 'chai';
import { Emitter, FloatTensor, OnnxModel, onnx } from 'ganvas';
import { rt } from './check';

after(() => rt.release());

const F32 = onnx.TensorProto.DataType.FLOAT;

/** Runs the emitted nodes as a graph with float inputs `inputs` and the given outputs. */
async function run(e: Emitter, inputs: Record<string, FloatTensor>, outputs: string[]): Promise<Record<string, FloatTensor>> {
  const vi = (name: string, dims?: readonly number[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: F32, shape: dims ? { dim: dims.map((d) => ({ dimValue: d })) } : undefined } } });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: e.opset }],
    graph: {
      name: 'emitted',
      node: e.nodes,
      input: Object.entries(inputs).map(([n, t]) => vi(n, t.dims)),
      initializer: e.initializers,
      output: outputs.map((n) => vi(n)),
    },
  });
  const s = await rt.session(new OnnxModel(proto, `emitted (opset ${e.opset})`));
  return s.run(inputs);
}

// x[n, c, w] = n·100 + c·10 + w − 50 (so every value is distinct and signs differ); y[c, 0] = c + 2.
const x: FloatTensor = { data: Float32Array.from({ length: 24 }, (_, i) => Math.floor(i / 12) * 100 + (Math.floor(i / 4) % 3) * 10 + (i % 4) - 50), dims: [2, 3, 4] };
const y: FloatTensor = { data: Float32Array.from([2, 3, 4]), dims: [3, 1] };
const X = (n: number, c: number, w: number) => x.data[n * 12 + c * 4 + w];
function table(dims: number[], f: (...i: number[]) => number): number[] {
  const out: number[] = [];
  const rec = (pre: number[]) => {
    if (pre.length === dims.length) out.push(f(...pre));
    else for (let i = 0; i < dims[pre.length]; i++) rec([...pre, i]);
  };
  rec([]);
  return out;
}
function expectTensor(t: FloatTensor, dims: number[], values: number[], tol = 1e-4): void {
  expect(t.dims, 'dims').to.deep.equal(dims);
  expect(t.data.length).to.equal(values.length);
  values.forEach((v, i) => expect(t.data[i], `element ${i}`).to.be.closeTo(v, tol));
}

describe('autodiff: the Emitter, run in onnxruntime', () => {
  it('add, sub, mul, div, neg broadcast as ONNX does; a shared scalar is one initializer', async () => {
    const e = new Emitter('t/', 13);
    const two = e.scalar(2.5);
    expect(e.scalar(2.5)).to.equal(two);
    expect(e.scalar(-2.5)).to.not.equal(two);
    expect(e.initializers.length).to.equal(2);
    const outs = [e.add('x', 'y'), e.sub('x', 'y'), e.mul('x', 'y'), e.div('x', 'y'), e.neg('x'), e.mul('x', two), e.add('x', e.scalar(-2.5))];
    const r = await run(e, { x, y }, outs);
    const yv = (c: number) => c + 2;
    const fs: ((n: number, c: number, w: number) => number)[] = [
      (n, c, w) => X(n, c, w) + yv(c),
      (n, c, w) => X(n, c, w) - yv(c),
      (n, c, w) => X(n, c, w) * yv(c),
      (n, c, w) => X(n, c, w) / yv(c),
      (n, c, w) => -X(n, c, w),
      (n, c, w) => 2.5 * X(n, c, w),
      (n, c, w) => X(n, c, w) - 2.5,
    ];
    outs.forEach((o, k) => expectTensor(r[o], [2, 3, 4], table([2, 3, 4], fs[k])));
  });

  it('reshape, reshapeLike, transpose, unsqueeze, squeeze move values as their ONNX ops define', async () => {
    const e = new Emitter('t/', 13);
    const flat = e.reshape('x', [4, 6]);
    const back = e.reshapeLike(e.reshape('x', [24]), 'x');
    const tr = e.transpose('x', [2, 0, 1]);
    const un = e.unsqueeze('x', [0, 3]);
    const sq = e.squeeze(un, [0]);
    const r = await run(e, { x }, [flat, back, tr, un, sq]);
    expectTensor(r[flat], [4, 6], Array.from(x.data));
    expectTensor(r[back], [2, 3, 4], Array.from(x.data));
    expectTensor(r[tr], [4, 2, 3], table([4, 2, 3], (w, n, c) => X(n, c, w)));
    expectTensor(r[un], [1, 2, 3, 1, 4], Array.from(x.data));
    expectTensor(r[sq], [2, 3, 1, 4], Array.from(x.data));
  });

  for (const opset of [13, 18]) {
    it(`reduceSum and reduceMean over given axes, all axes, keeping dims or not (opset ${opset})`, async () => {
      const e = new Emitter('t/', opset);
      const outs = [
        e.reduceSum('x', [1], true),
        e.reduceSum('x', [0, -1], false),
        e.reduceSum('x', undefined, false),
        e.reduceMean('x', [-1], false),
        e.reduceMean('x', [0, 1], true),
        e.reduceMean('x', undefined, true),
        e.reduceMean('x', undefined, false),
      ];
      const r = await run(e, { x }, outs);
      const all = Array.from(x.data).reduce((a, b) => a + b, 0);
      const sum = (f: (i: number) => number, k: number) => Array.from({ length: k }, (_, i) => f(i)).reduce((a, b) => a + b, 0);
      expectTensor(r[outs[0]], [2, 1, 4], table([2, 1, 4], (n, _c, w) => sum((c) => X(n, c, w), 3)));
      expectTensor(r[outs[1]], [3], table([3], (c) => sum((n) => sum((w) => X(n, c, w), 4), 2)));
      expectTensor(r[outs[2]], [], [all]);
      expectTensor(r[outs[3]], [2, 3], table([2, 3], (n, c) => sum((w) => X(n, c, w), 4) / 4));
      expectTensor(r[outs[4]], [1, 1, 4], table([1, 1, 4], (_n, _c, w) => sum((n) => sum((c) => X(n, c, w), 3), 2) / 6));
      expectTensor(r[outs[5]], [1, 1, 1], [all / 24]);
      expectTensor(r[outs[6]], [], [all / 24]);
    });
  }

  it('zerosLike stays zero where x is inf or NaN; castFloat turns a boolean into 1/0', async () => {
    const e = new Emitter('t/', 13);
    const z = e.zerosLike('v');
    const c = e.castFloat(e.op('Greater', ['v', e.scalar(0)]));
    const v: FloatTensor = { data: Float32Array.from([Infinity, -Infinity, NaN, 3, -1, 0]), dims: [2, 3] };
    const r = await run(e, { v }, [z, c]);
    expectTensor(r[z], [2, 3], [0, 0, 0, 0, 0, 0], 0);
    expectTensor(r[c], [2, 3], [1, 0, 0, 1, 0, 0], 0);
  });

  it('attributes of every kind reach the node: int, float, ints, floats, string, tensor', async () => {
    const e = new Emitter('t/', 13);
    const leaky = e.op('LeakyRelu', ['x'], { alpha: { f: 0.25 } });
    const cast = e.op('Cast', [e.op('Greater', ['x', e.scalar(0)])], { to: { i: F32 } });
    const perm = e.op('Transpose', ['x'], { perm: { ints: [1, 0, 2] } });
    const floats = e.op('Constant', [], { value_floats: { floats: [1.5, -2] } });
    const t = onnx.TensorProto.create({ dims: [2], dataType: F32, floatData: [7, 8] });
    const tensor = e.op('Constant', [], { value: { t } });
    // DepthToSpace with 8 channels and block 2 (2 output channels): the two modes order the values differently.
    const z: FloatTensor = { data: Float32Array.from({ length: 8 }, (_, i) => i), dims: [1, 8, 1, 1] };
    const dcr = e.op('DepthToSpace', ['z'], { blocksize: { i: 2 }, mode: { s: 'DCR' } });
    const crd = e.op('DepthToSpace', ['z'], { blocksize: { i: 2 }, mode: { s: 'CRD' } });
    const r = await run(e, { x, z }, [leaky, cast, perm, floats, tensor, dcr, crd]);
    expectTensor(r[leaky], [2, 3, 4], table([2, 3, 4], (n, c, w) => (X(n, c, w) > 0 ? X(n, c, w) : 0.25 * X(n, c, w))));
    expectTensor(r[cast], [2, 3, 4], table([2, 3, 4], (n, c, w) => (X(n, c, w) > 0 ? 1 : 0)));
    expectTensor(r[perm], [3, 2, 4], table([3, 2, 4], (c, n, w) => X(n, c, w)));
    expectTensor(r[floats], [2], [1.5, -2]);
    expectTensor(r[tensor], [2], [7, 8]);
    // DCR: out[c, i, j] = in[(i·2 + j)·2 + c]; CRD: out[c, i, j] = in[c·4 + i·2 + j].
    expectTensor(r[dcr], [1, 2, 2, 2], table([1, 2, 2, 2], (_n, c, i, j) => (i * 2 + j) * 2 + c));
    expectTensor(r[crd], [1, 2, 2, 2], table([1, 2, 2, 2], (_n, c, i, j) => c * 4 + i * 2 + j));
  });

  it('ops with several outputs, opInto a named output, f32 and i64 constants, sum of gradient parts', async () => {
    const e = new Emitter('t/', 13);
    const [a, b, c] = e.ops('Split', ['x'], { axis: { i: 1 } }, 3);
    expect(new Set([a, b, c]).size).to.equal(3);
    const named = e.opInto('Mul', ['x', e.f32([1, -1, 2, 0.5], [4], 'w')], 'the_output', {});
    expect(named).to.equal('the_output');
    expect(e.sum([a])).to.equal(a); // one part: no node
    const nodes = e.nodes.length;
    const s = e.sum([a, b, c]);
    expect(e.nodes.length).to.equal(nodes + 1);
    const shape = e.i64([3, 8]);
    const resh = e.op('Reshape', ['x', shape]);
    const scalarIdx = e.op('Gather', ['x', e.i64([1], [])], { axis: { i: 1 } });
    const r = await run(e, { x }, [a, c, named, s, resh, scalarIdx]);
    expectTensor(r[a], [2, 1, 4], table([2, 1, 4], (n, _c, w) => X(n, 0, w)));
    expectTensor(r[c], [2, 1, 4], table([2, 1, 4], (n, _c, w) => X(n, 2, w)));
    expectTensor(r.the_output, [2, 3, 4], table([2, 3, 4], (n, ch, w) => X(n, ch, w) * [1, -1, 2, 0.5][w]));
    expectTensor(r[s], [2, 1, 4], table([2, 1, 4], (n, _c, w) => X(n, 0, w) + X(n, 1, w) + X(n, 2, w)));
    expectTensor(r[resh], [3, 8], Array.from(x.data));
    // A rank-0 index drops the axis: [2, 4].
    expectTensor(r[scalarIdx], [2, 4], table([2, 4], (n, w) => X(n, 1, w)));
  });

  it('fresh names: unique, prefixed, never one the model already has (and then taken)', () => {
    const taken = new Set(['g/mul_0', 'g/mul_1', 'g/Mul_2']);
    const e = new Emitter('g/', 13, taken);
    const names = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const n = e.fresh('mul');
      expect(n.startsWith('g/mul')).to.equal(true);
      expect(names.has(n)).to.equal(false);
      expect(['g/mul_0', 'g/mul_1'].includes(n)).to.equal(false);
      names.add(n);
    }
    names.forEach((n) => expect(taken.has(n)).to.equal(true));
    // Node names and output names come from the same pool.
    const out = e.mul('a', 'b');
    const node = e.nodes[e.nodes.length - 1];
    expect(taken.has(out) && taken.has(node.name ?? '')).to.equal(true);
    expect(node.name).to.not.equal('g/Mul_2');
    // A second Emitter on the same pool avoids the first one's names.
    const e2 = new Emitter('g/', 13, taken);
    for (let i = 0; i < 60; i++) expect(names.has(e2.fresh('mul'))).to.equal(false);
  });

  it('requireOpset raises the minimum (never lowers it), keeps the reason of the highest ask, and leaves opset', () => {
    const e = new Emitter('t/', 13);
    e.requireOpset(13, 'no raise needed');
    expect(e.minOpset).to.equal(13);
    expect(e.opsetReason).to.equal('');
    e.requireOpset(16, 'the gradient of an overlapping MaxPool');
    e.requireOpset(14, 'something older');
    e.requireOpset(16, 'another at the same opset');
    expect(e.minOpset).to.equal(16);
    expect(e.opsetReason).to.equal('the gradient of an overlapping MaxPool');
    e.requireOpset(17, 'newer');
    expect(e.minOpset).to.equal(17);
    expect(e.opsetReason).to.equal('newer');
    expect(e.opset).to.equal(13);
  });

  it('unexpanded: the tensor under an Expand this Emitter wrote; anything else unchanged', async () => {
    const e = new Emitter('t/', 13);
    const small = e.reduceSum('x', [2], true);
    const big = e.op('Expand', [small, e.shape('x')]);
    const other = e.op('Tile', [small, e.i64([1, 1, 4])]);
    expect(e.unexpanded(big)).to.equal(small);
    expect(e.unexpanded(other)).to.equal(other);
    expect(e.unexpanded('x')).to.equal('x');
    // The product of the small tensor with x broadcasts to the product with the expanded one.
    const p1 = e.mul(big, 'x');
    const p2 = e.mul(e.unexpanded(big), 'x');
    const r = await run(e, { x }, [p1, p2]);
    expectTensor(r[p2], [2, 3, 4], Array.from(r[p1].data));
  });
});

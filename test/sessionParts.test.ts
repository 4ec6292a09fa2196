/**
 * Issue 19: src/runtime/session.ts piece by piece — what a user feeding a model gets back (values, types, batching,
 * progress, cancellation) and what every refusal says, on small graphs whose answers are worked out by hand.
 * Expected values are computed in JavaScript from the graph's definition, not read back from the code under test.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as path from 'path';
import { inspect } from 'util';
import * as ort from 'onnxruntime-node';
import { FloatTensor, Generator, ModelSession, describeTensor, OnnxModel, Runtime, decodeModel, onnx, toFloatTensor, toOrt } from 'ganvas';
import { GraphBuilder } from './builder';
import { modelFolder } from './models';
import { rejectsGanvas, throwsGanvas } from './util';

/** Rewrites one graph input's or output's declared element type / shape (the builder declares float32 only). */
function patched(g: GraphBuilder, edit: (m: onnx.ModelProto) => void, source = 'test-graph'): OnnxModel {
  const m = onnx.ModelProto.decode(g.bytes());
  edit(m);
  return decodeModel(onnx.ModelProto.encode(m).finish(), source);
}

/** y = x + b: x [N, 4] batched, b [4] passed whole to every chunk; also z = 2x as a second output. */
function addBias(): GraphBuilder {
  const g = new GraphBuilder();
  g.input('x', ['N', 4]);
  g.input('b', [4]);
  g.node('Add', ['x', 'b'], 'y');
  g.node('Mul', ['x', g.init('two', [1], [2])], 'z');
  g.output('y', ['N', 4]);
  g.output('z', ['N', 4]);
  return g;
}

const seq = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

describe('runtime/session.ts: outputs and types', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('an int64 output (ArgMax) comes back as float32 numbers; runRaw keeps it int64', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 4]);
    g.node('ArgMax', ['x'], 'arg', { axis: 1, keepdims: 0 });
    g.output('arg', ['N']);
    const model = patched(g, (m) => {
      m.graph!.output![0].type!.tensorType!.elemType = onnx.TensorProto.DataType.INT64;
    });
    const s = await rt.session(model);
    const x = { data: Float32Array.from([0, 5, 1, 2, 9, 0, 0, 0, 1, 2, 3, 4]), dims: [3, 4] };
    const out = await s.run({ x });
    expect(out.arg.data).to.be.instanceOf(Float32Array);
    expect(Array.from(out.arg.data)).to.deep.equal([1, 0, 3]);
    expect(out.arg.dims).to.deep.equal([3]);
    const raw = await s.runRaw({ x });
    expect(raw.arg.type).to.equal('int64');
    expect(Array.from(raw.arg.data as BigInt64Array).map(Number)).to.deep.equal([1, 0, 3]);
  });

  it('fetches only the outputs asked for; an unknown output name lists the real ones', async () => {
    const s = await rt.session(addBias().build());
    const x = { data: seq(8, (i) => i), dims: [2, 4] };
    const b = { data: Float32Array.from([10, 20, 30, 40]), dims: [4] };
    const only = await s.run({ x, b }, ['z']);
    expect(Object.keys(only)).to.deep.equal(['z']);
    expect(Array.from(only.z.data)).to.deep.equal([0, 2, 4, 6, 8, 10, 12, 14]);
    const both = await s.run({ x, b });
    expect(Object.keys(both).sort()).to.deep.equal(['y', 'z']);
    expect(Array.from(both.y.data)).to.deep.equal([10, 21, 32, 43, 14, 25, 36, 47]);
    const e = await rejectsGanvas(s.run({ x, b }, ['y', 'nope']), 'BAD_INPUT');
    expect(e.message).to.equal('test-graph has no output "nope"; its outputs are: y, z');
    const e2 = await rejectsGanvas(s.runBatched({ x, b }, { outputs: ['w'] }), 'BAD_INPUT');
    expect(e2.message).to.include('no output "w"');
  });

  it('a failure inside onnxruntime is a RUNTIME error naming the model, and is still counted in stats', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 4]);
    g.input('shape', [2], 'int64');
    g.node('Reshape', ['x', 'shape'], 'y');
    g.output('y');
    const s = await rt.session(g.build('reshaper.onnx'));
    const x = { data: seq(8, (i) => i), dims: [2, 4] };
    const good = await s.run({ x, shape: new ort.Tensor('int64', BigInt64Array.from([4n, 2n]), [2]) });
    expect(good.y.dims).to.deep.equal([4, 2]);
    expect(s.stats.runs).to.equal(1);
    expect(s.stats.seconds).to.be.greaterThan(0);
    const before = s.stats.seconds;
    // Seconds, not nanoseconds: at most the wall time around the call.
    const t0 = process.hrtime.bigint();
    await s.run({ x, shape: new ort.Tensor('int64', BigInt64Array.from([2n, 4n]), [2]) });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    expect(s.stats.seconds - before).to.be.greaterThan(0);
    expect(s.stats.seconds - before).to.be.at.most(wall);
    expect(s.stats.runs).to.equal(2);
    const e = await rejectsGanvas(s.run({ x, shape: new ort.Tensor('int64', BigInt64Array.from([3n, 3n]), [2]) }), 'RUNTIME');
    expect(e.message).to.match(/^onnxruntime failed to run reshaper\.onnx: \S/);
    expect(e.cause).to.be.instanceOf(Error);
    expect(s.stats.runs).to.equal(3);
    expect(s.stats.seconds).to.be.greaterThan(before);
  });
});

describe('runtime/session.ts: the outputs asked for, under their own names (onnxruntime-node 1.23 mislabels subsets)', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  /** a = x, b = −x, c = 3x: three outputs whose values tell them apart. */
  function three(): GraphBuilder {
    const g = new GraphBuilder();
    g.input('x', ['N', 2]);
    g.node('Identity', ['x'], 'a');
    g.node('Neg', ['x'], 'b');
    g.node('Mul', ['x', g.init('three', [1], [3])], 'c');
    g.output('a');
    g.output('b');
    g.output('c');
    return g;
  }
  const x = { data: Float32Array.from([1, 2, -4, 0.5]), dims: [2, 2] };
  const want: Record<string, number[]> = { a: [1, 2, -4, 0.5], b: [-1, -2, 4, -0.5], c: [3, 6, -12, 1.5] };

  it('every subset and order of fetches gives each output its own values', async () => {
    const s = await rt.session(three().build());
    const subsets = [['a'], ['b'], ['c'], ['c', 'b'], ['b', 'c'], ['c', 'a'], ['a', 'c'], ['a', 'b'], ['c', 'b', 'a'], ['b', 'a', 'c']];
    for (const fetch of subsets) {
      const out = await s.run({ x }, fetch);
      expect(Object.keys(out).sort(), JSON.stringify(fetch)).to.deep.equal([...fetch].sort());
      for (const k of fetch) expect(Array.from(out[k].data), `${k} of ${JSON.stringify(fetch)}`).to.deep.equal(want[k]);
      const raw = await s.runRaw({ x }, fetch);
      for (const k of fetch) expect(Array.from(raw[k].data as Float32Array)).to.deep.equal(want[k]);
    }
    const batched = await s.runBatched({ x }, { batchSize: 1, outputs: ['c'] });
    expect(Object.keys(batched)).to.deep.equal(['c']);
    expect(Array.from(batched.c.data)).to.deep.equal(want.c);
  });

  it('passes results through when onnxruntime names them right, and refuses labels it cannot account for', async () => {
    const s = await rt.session(three().build());
    const real = s.ortSession.run.bind(s.ortSession);
    const t = (v: number): ort.Tensor => new ort.Tensor('float32', Float32Array.from([v]), [1]);
    try {
      // A fixed onnxruntime (upstream #26939): the subset under its own names, passed through as is.
      s.ortSession.run = (async () => ({ c: t(1), b: t(2) })) as unknown as typeof s.ortSession.run;
      const fixed = await s.runRaw({ x }, ['c', 'b']);
      expect(Object.keys(fixed).sort()).to.deep.equal(['b', 'c']);
      expect((fixed.c.data as Float32Array)[0]).to.equal(1);
      // Names that are neither the ones asked for nor the model's first outputs: no guessing.
      s.ortSession.run = (async () => ({ a: t(1), c: t(2) })) as unknown as typeof s.ortSession.run;
      const e = await rejectsGanvas(s.runRaw({ x }, ['c', 'b']), 'RUNTIME');
      expect(e.message).to.equal('onnxruntime returned outputs a, c of test-graph when asked for c, b');
      s.ortSession.run = (async () => ({ a: t(1) })) as unknown as typeof s.ortSession.run;
      expect((await rejectsGanvas(s.runRaw({ x }, ['c', 'b']), 'RUNTIME')).message).to.include('returned outputs a of');
    } finally {
      s.ortSession.run = real;
    }
  });

  it('a generator whose image is not its first output draws from the image', async () => {
    const g = new GraphBuilder();
    g.input('z', ['N', 4]);
    g.node('Relu', ['z'], 'feat');
    g.node('Tanh', [g.node('Reshape', ['z', g.initInt64('shape', [-1, 1, 2, 2])], 'z4')], 'img');
    g.output('feat', ['N', 4]);
    g.output('img', ['N', 1, 2, 2]);
    const manifest = {
      format: 'ganvas-manifest/1',
      name: 'two-outputs',
      model: 'model.onnx',
      role: 'generator',
      inputs: [{ name: 'z', kind: 'latent', shape: ['N', 4], distribution: 'normal' }],
      outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
      layers: { feat: 'feat' },
    };
    const dir = await modelFolder(g, manifest, 'ganvas-two-outputs-');
    try {
      const gen = await Generator.open(dir, rt);
      const images = await gen.generate([7, 8]);
      expect(images.dims).to.deep.equal([2, 1, 2, 2]);
      // The image is tanh of the latent the generator fed (seeded noise), computed here from that latent.
      const z = gen.inputs([7, 8]).z as FloatTensor;
      expect(Array.from(images.data).map((v) => v.toFixed(5))).to.deep.equal(Array.from(z.data, (v) => Math.tanh(v).toFixed(5)));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('runtime/session.ts: input checks', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('lists every unknown name and what the model expects, with "[?]" for an input without a declared shape', async () => {
    const g = addBias();
    const model = patched(g, (m) => {
      delete (m.graph!.input![1].type!.tensorType as { shape?: unknown }).shape;
    });
    const s = await rt.session(model);
    expect(s.inputs.map((i) => i.name)).to.deep.equal(['x', 'b']);
    expect(s.inputs[1].dims).to.equal(undefined);
    expect(s.outputNames).to.deep.equal(['y', 'z']);
    const x = { data: seq(8, (i) => i), dims: [2, 4] };
    const b = { data: Float32Array.from([1, 1, 1, 1]), dims: [4] };
    const e = await rejectsGanvas(s.run({ x, b, p: x, q: x }), 'BAD_INPUT');
    expect(e.message).to.equal('test-graph has no input named "p", "q"; it expects x: float32 [N, 4]; b: float32 [?]');
    const m = await rejectsGanvas(s.run({ x }), 'BAD_INPUT');
    expect(m.message).to.equal('missing input "b" for test-graph; it expects x: float32 [N, 4]; b: float32 [?]');
    // No declared shape: any shape onnxruntime accepts passes the check (a [1, 4] b broadcasts like [4]).
    const out = await s.run({ x, b: { data: b.data, dims: [1, 4] } });
    expect(Array.from(out.y.data)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('names the input, the declared shape and the shape given, for fixed and symbolic axes', async () => {
    const g = new GraphBuilder();
    g.input('a', ['N', 3]);
    g.input('c', ['N', 'K']);
    g.input('d', ['K', 2]);
    g.node('Identity', ['a'], 'ya');
    g.node('Identity', ['c'], 'yc');
    g.node('Identity', ['d'], 'yd');
    g.output('ya');
    g.output('yc');
    g.output('yd');
    const s = await rt.session(g.build('three.onnx'));
    const t = (dims: number[]): FloatTensor => ({ data: new Float32Array(dims.reduce((p, q) => p * q, 1)), dims });
    const ok = await s.run({ a: t([2, 3]), c: t([2, 5]), d: t([5, 2]) });
    expect(ok.yd.dims).to.deep.equal([5, 2]);
    const fixed = await rejectsGanvas(s.run({ a: t([2, 4]), c: t([2, 5]), d: t([5, 2]) }), 'BAD_INPUT');
    expect(fixed.message).to.equal('input "a" of three.onnx must have shape [N, 3], got [2, 4]');
    const rank = await rejectsGanvas(s.run({ a: t([6]), c: t([2, 5]), d: t([5, 2]) }), 'BAD_INPUT');
    expect(rank.message).to.equal('input "a" of three.onnx must have shape [N, 3], got [6]');
    // K is the second axis of c and the first of d: the two must agree, and the message names both inputs.
    const k = await rejectsGanvas(s.run({ a: t([2, 3]), c: t([2, 5]), d: t([4, 2]) }), 'BAD_INPUT');
    expect(k.message).to.equal(
      'inputs "c" and "d" disagree on dimension "K" (5 vs 4); every input must have the same batch size',
    );
    const n = await rejectsGanvas(s.run({ a: t([2, 3]), c: t([3, 5]), d: t([5, 2]) }), 'BAD_INPUT');
    expect(n.message).to.include('inputs "a" and "c" disagree on dimension "N" (2 vs 3)');
    // Three inputs on one symbol: the message names the first that set it, not the latest that agreed.
    const p3 = new GraphBuilder();
    for (const n of ['p', 'q', 'r']) p3.input(n, ['N']);
    p3.node('Sum', ['p', 'q', 'r'], 'y');
    p3.output('y');
    const s3 = await rt.session(p3.build());
    const e3 = await rejectsGanvas(s3.run({ p: t([2]), q: t([2]), r: t([3]) }), 'BAD_INPUT');
    expect(e3.message).to.include('inputs "p" and "r" disagree on dimension "N" (2 vs 3)');
    const d2 = await rejectsGanvas(s.run({ a: t([2, 3]), c: t([2, 5]), d: t([5, 3]) }), 'BAD_INPUT');
    expect(d2.message).to.equal('input "d" of three.onnx must have shape [K, 2], got [5, 3]');
  });

  it('a wrong dtype names both types, with the Float32Array hint only for float32 inputs; a length mismatch names the counts', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 4]);
    g.input('shape', [2], 'int64');
    g.node('Reshape', ['x', 'shape'], 'y');
    g.output('y');
    const s = await rt.session(g.build());
    const x = { data: seq(8, (i) => i), dims: [2, 4] };
    const e = await rejectsGanvas(s.run({ x, shape: { data: Float32Array.from([4, 2]), dims: [2] } }), 'BAD_INPUT');
    expect(e.message).to.equal('input "shape" of test-graph must be int64, got float32');
    const f = await rejectsGanvas(s.run({ x: new ort.Tensor('int32', new Int32Array(8), [2, 4]), shape: new ort.Tensor('int64', BigInt64Array.from([4n, 2n]), [2]) }), 'BAD_INPUT');
    expect(f.message).to.equal('input "x" of test-graph must be float32, got int32 (use a Float32Array)');
    const short = new ort.Tensor('int64', BigInt64Array.from([4n, 2n]), [2]);
    // An ort.Tensor's length is checked too: onnxruntime-node would otherwise read past the buffer.
    const lying = Object.create(short, { dims: { value: [3] } }) as ort.Tensor;
    const l = await rejectsGanvas(s.run({ x, shape: lying }), 'BAD_INPUT');
    expect(l.message).to.equal('input "shape" has 2 values but dims [3] need 3');
  });

  it('batchOf is the first symbolic axis 0 among the inputs given; a model without one is refused', async () => {
    const g = new GraphBuilder();
    g.input('b', [4]);
    g.input('x', ['N', 4]);
    g.node('Add', ['x', 'b'], 'y');
    g.output('y');
    const s = await rt.session(g.build());
    const b = { data: new Float32Array(4), dims: [4] };
    expect(s.batchOf({ b, x: { data: new Float32Array(20), dims: [5, 4] } })).to.equal(5);
    const none = throwsGanvas(() => s.batchOf({ b }), 'BAD_INPUT');
    expect(none.message).to.equal('test-graph has no input with a dynamic batch axis to split on');

    const fixed = new GraphBuilder();
    fixed.input('x', [2, 4]);
    fixed.input('s', []);
    fixed.node('Mul', ['x', 's'], 'y');
    fixed.output('y');
    const f = await rt.session(fixed.build('fixed.onnx'));
    const feeds = { x: { data: new Float32Array(8), dims: [2, 4] }, s: { data: Float32Array.from([3]), dims: [] } };
    expect((await rejectsGanvas(f.runBatched(feeds), 'BAD_INPUT')).message).to.equal(
      'fixed.onnx has no input with a dynamic batch axis to split on',
    );
  });
});

describe('runtime/session.ts: batched runs', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());
  const b = { data: Float32Array.from([10, 20, 30, 40]), dims: [4] };
  const xs = (n: number): FloatTensor => ({ data: seq(4 * n, (i) => i), dims: [n, 4] });
  /** x + b for rows of 0, 1, 2, …: row r is [4r + 10, 4r + 21, 4r + 32, 4r + 43]. */
  const expected = (n: number): number[] => Array.from({ length: 4 * n }, (_, i) => i + 10 * ((i % 4) + 1));

  it('splits a batched input in chunks, passes a fixed-shape input whole to each, and counts one call per chunk', async () => {
    const s = await rt.session(addBias().build());
    const seen: Array<[number, number]> = [];
    const runs = s.stats.runs;
    const out = await s.runBatched({ x: xs(7), b }, { batchSize: 3, onProgress: (d, t) => seen.push([d, t]) });
    expect(s.stats.runs - runs).to.equal(3);
    expect(seen).to.deep.equal([[3, 7], [6, 7], [7, 7]]);
    expect(out.y.dims).to.deep.equal([7, 4]);
    expect(Array.from(out.y.data)).to.deep.equal(expected(7));
    expect(Array.from(out.z.data)).to.deep.equal(Array.from({ length: 28 }, (_, i) => 2 * i));
    const justY = await s.runBatched({ x: xs(7), b }, { batchSize: 2, outputs: ['y'] });
    expect(Object.keys(justY)).to.deep.equal(['y']);
    expect(Array.from(justY.y.data)).to.deep.equal(expected(7));
  });

  it('the default chunk is 32 samples; a batch that fits is one call with one progress report', async () => {
    const s = await rt.session(addBias().build());
    let runs = s.stats.runs;
    const seen: number[][] = [];
    const out = await s.runBatched({ x: xs(40), b }, { onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).to.deep.equal([[32, 40], [40, 40]]);
    expect(s.stats.runs - runs).to.equal(2);
    expect(Array.from(out.y.data)).to.deep.equal(expected(40));
    runs = s.stats.runs;
    seen.length = 0;
    const one = await s.runBatched({ x: xs(32), b }, { onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).to.deep.equal([[32, 32]]);
    expect(s.stats.runs - runs).to.equal(1);
    expect(Array.from(one.y.data)).to.deep.equal(expected(32));
    // batchSize 1: every sample its own call.
    runs = s.stats.runs;
    const single = await s.runBatched({ x: xs(3), b }, { batchSize: 1 });
    expect(s.stats.runs - runs).to.equal(3);
    expect(Array.from(single.y.data)).to.deep.equal(expected(3));
  });

  it('refuses a batch size that is not a positive integer, saying what it got', async () => {
    const s = await rt.session(addBias().build());
    for (const bad of [0, -2, 2.5, NaN]) {
      const e = await rejectsGanvas(s.runBatched({ x: xs(4), b }, { batchSize: bad }), 'BAD_INPUT');
      expect(e.message).to.equal(`batchSize must be a positive integer, got ${bad}`);
    }
  });

  it('splits ort.Tensor float32 feeds too, and refuses other types for a batched input', async () => {
    const s = await rt.session(addBias().build());
    const x = new ort.Tensor('float32', seq(20, (i) => i), [5, 4]);
    const out = await s.runBatched({ x, b }, { batchSize: 2 });
    expect(Array.from(out.y.data)).to.deep.equal(expected(5));

    const g = new GraphBuilder();
    g.input('ids', ['N', 2], 'int64');
    g.node('Cast', ['ids'], 'f', { to: 1 });
    g.output('f');
    const c = await rt.session(g.build());
    const ids = new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]), [3, 2]);
    // One chunk: no slicing, any type.
    expect(Array.from((await c.runBatched({ ids })).f.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const e = await rejectsGanvas(c.runBatched({ ids }, { batchSize: 2 }), 'BAD_INPUT');
    expect(e.message).to.equal('batched runs split float32 inputs only, got int64');
  });

  it('stops with the signal’s reason: before a single call, and between chunks (no call after the abort)', async () => {
    const s = await rt.session(addBias().build());
    const pre = new AbortController();
    const reason = new Error('stopped by the user');
    pre.abort(reason);
    let runs = s.stats.runs;
    let caught: unknown;
    await s.runBatched({ x: xs(3), b }, { signal: pre.signal }).catch((e) => (caught = e));
    expect(caught).to.equal(reason);
    expect(s.stats.runs).to.equal(runs);
    await s.runBatched({ x: xs(9), b }, { batchSize: 3, signal: pre.signal }).catch((e) => (caught = e));
    expect(s.stats.runs).to.equal(runs);

    const mid = new AbortController();
    const why = new Error('enough');
    runs = s.stats.runs;
    caught = undefined;
    const done: number[] = [];
    await s
      .runBatched({ x: xs(9), b }, {
        batchSize: 3,
        signal: mid.signal,
        onProgress: (d) => {
          done.push(d);
          if (d === 3) mid.abort(why);
        },
      })
      .catch((e) => (caught = e));
    expect(caught).to.equal(why);
    expect(done).to.deep.equal([3]);
    expect(s.stats.runs - runs).to.equal(1);
  });
});

describe('runtime/session.ts: tensors in and out', () => {
  it('toOrt wraps a Float32Array without copying, reuses the wrapper for the same data and dims, and refuses the rest', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const t = toOrt({ data, dims: [2, 3] });
    expect(t.type).to.equal('float32');
    expect(t.dims).to.deep.equal([2, 3]);
    expect(t.data).to.equal(data);
    expect(toOrt({ data, dims: [2, 3] })).to.equal(t);
    const other = toOrt({ data, dims: [3, 2] });
    expect(other).to.not.equal(t);
    expect(other.dims).to.deep.equal([3, 2]);
    expect(toOrt({ data, dims: [6] }).dims).to.deep.equal([6]);
    expect(toOrt({ data, dims: [6, 1] }).dims).to.deep.equal([6, 1]);
    const twelve = new Float32Array(12);
    expect(toOrt({ data: twelve, dims: [2, 3, 2] }).dims).to.deep.equal([2, 3, 2]);
    expect(toOrt({ data: twelve, dims: [2, 2, 3] }).dims).to.deep.equal([2, 2, 3]);
    const raw = new ort.Tensor('int32', new Int32Array(2), [2]);
    expect(toOrt(raw)).to.equal(raw);
    const as = (d: unknown): FloatTensor => ({ data: d as Float32Array, dims: [2] });
    expect(throwsGanvas(() => toOrt(as(new Float64Array(2))), 'BAD_INPUT').message).to.equal(
      'tensor data must be a Float32Array, got Float64Array',
    );
    expect(throwsGanvas(() => toOrt(as([1, 2])), 'BAD_INPUT').message).to.equal('tensor data must be a Float32Array, got Array');
    expect(throwsGanvas(() => toOrt(as(null)), 'BAD_INPUT').message).to.equal('tensor data must be a Float32Array, got null');
    expect(throwsGanvas(() => toOrt(as('ab')), 'BAD_INPUT').message).to.equal('tensor data must be a Float32Array, got string');
    expect(throwsGanvas(() => toOrt({ data, dims: [2, 2] }), 'BAD_INPUT').message).to.equal(
      'tensor has 6 values but dims [2, 2] need 4',
    );
  });

  it('toFloatTensor keeps float32 data as is (short notebook display), converts integer types by value, refuses strings', () => {
    const data = Float32Array.from([0.5, -1]);
    const f = toFloatTensor(new ort.Tensor('float32', data, [1, 2]));
    expect(f.data).to.equal(data);
    expect(f.dims).to.deep.equal([1, 2]);
    expect(inspect(f)).to.equal(describeTensor(f));
    // A tensor handed back to onnxruntime is the one it came as (no second wrapper).
    const back = new ort.Tensor('float32', data, [1, 2]);
    expect(toOrt(toFloatTensor(back))).to.equal(back);
    const i64 = toFloatTensor(new ort.Tensor('int64', BigInt64Array.from([-3n, 2n ** 40n]), [2]));
    expect(i64.data).to.be.instanceOf(Float32Array);
    expect(Array.from(i64.data)).to.deep.equal([-3, 2 ** 40]);
    expect(Array.from(toFloatTensor(new ort.Tensor('int32', Int32Array.from([7, -8]), [2])).data)).to.deep.equal([7, -8]);
    expect(Array.from(toFloatTensor(new ort.Tensor('uint8', Uint8Array.from([0, 255]), [2])).data)).to.deep.equal([0, 255]);
    const e = throwsGanvas(() => toFloatTensor(new ort.Tensor('string', ['a'], [1])), 'UNSUPPORTED');
    expect(e.message).to.equal('string tensors cannot be converted to float32');
  });
});

describe('runtime/session.ts: Runtime options and sessions', () => {
  type Create = typeof ort.InferenceSession.create;
  /** Records the options each session is created with (onnxruntime still creates it). */
  async function optionsOf(rt: Runtime, model: OnnxModel): Promise<ort.InferenceSession.SessionOptions> {
    const real: Create = ort.InferenceSession.create;
    let seen: ort.InferenceSession.SessionOptions | undefined;
    const spy = (async (bytes: Uint8Array, opts: ort.InferenceSession.SessionOptions) => {
      seen = opts;
      return real(bytes, opts);
    }) as unknown as Create;
    ort.InferenceSession.create = spy;
    try {
      await rt.session(model);
    } finally {
      ort.InferenceSession.create = real;
      await rt.release();
    }
    if (!seen) throw new Error('no session was created');
    return seen;
  }
  const model = (): OnnxModel => addBias().build();

  it('defaults: onnxruntime picks the threads, cpu only, spinning and memory pattern on, all graph optimizations', async () => {
    const rt = new Runtime();
    expect(rt.options).to.deep.equal({ threads: 0, executionProviders: ['cpu'], spinning: true, memPattern: true });
    const o = await optionsOf(rt, model());
    expect(o.executionProviders).to.deep.equal(['cpu']);
    expect(o.graphOptimizationLevel).to.equal('all');
    expect(o.enableMemPattern).to.equal(true);
    expect(o).to.not.have.property('intraOpNumThreads');
    expect(o).to.not.have.property('interOpNumThreads');
    expect(o).to.not.have.property('extra');
  });

  it('threads, spinning off and memory pattern off reach onnxruntime as its session options', async () => {
    const rt = new Runtime({ threads: 2, spinning: false, memPattern: false });
    expect(rt.options).to.deep.equal({ threads: 2, executionProviders: ['cpu'], spinning: false, memPattern: false });
    const o = await optionsOf(rt, model());
    expect(o.intraOpNumThreads).to.equal(2);
    expect(o.interOpNumThreads).to.equal(1);
    expect(o.enableMemPattern).to.equal(false);
    expect(o.extra).to.deep.equal({ session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } });
    const spin = await optionsOf(new Runtime({ threads: 1, spinning: true }), model());
    expect(spin.intraOpNumThreads).to.equal(1);
    expect(spin).to.not.have.property('extra');
  });

  it('refuses bad options with what was given and what is allowed', () => {
    for (const threads of [0, -1, 1.5, '2' as unknown as number]) {
      expect(throwsGanvas(() => new Runtime({ threads }), 'BAD_INPUT').message).to.equal(`threads must be a positive integer, got ${threads}`);
    }
    expect(throwsGanvas(() => new Runtime({ spinning: 'no' as unknown as boolean }), 'BAD_INPUT').message).to.equal(
      'spinning must be true or false, got "no"',
    );
    expect(throwsGanvas(() => new Runtime({ memPattern: 1 as unknown as boolean }), 'BAD_INPUT').message).to.equal(
      'memPattern must be true or false, got 1',
    );
    const ep = throwsGanvas(() => new Runtime({ executionProviders: ['cpu', 'webgl' as 'cpu'] }), 'PROVIDER');
    expect(ep.message).to.equal('unknown execution provider "webgl"; use "cpu" or "cuda"');
    // false is a value, not a missing option.
    expect(new Runtime({ spinning: false, memPattern: false }).options.spinning).to.equal(false);
  });

  it('a model onnxruntime cannot load is a RUNTIME error naming it; a CUDA failure inside onnxruntime says to use the cpu', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 4]);
    g.node('NoSuchOperator', ['x'], 'y');
    g.output('y');
    const rt = new Runtime({ threads: 1 });
    const e = await rejectsGanvas(rt.session(g.build('odd.onnx')), 'RUNTIME');
    expect(e.message).to.match(/^onnxruntime could not load odd\.onnx: \S/);
    expect(e.message).to.include('NoSuchOperator');
    expect(e.cause).to.be.instanceOf(Error);
    expect(rt.size).to.equal(0);

    const real = ort.InferenceSession.create;
    ort.InferenceSession.create = (async () => {
      throw new Error('CUDA failure 100: no CUDA-capable device is detected');
    }) as unknown as typeof ort.InferenceSession.create;
    try {
      const c = await rejectsGanvas(rt.session(model()), 'PROVIDER');
      expect(c.message).to.equal(
        "onnxruntime could not start the CUDA execution provider: CUDA failure 100: no CUDA-capable device is detected. Use executionProviders: ['cpu'].",
      );
      expect(c.cause).to.be.instanceOf(Error);
    } finally {
      ort.InferenceSession.create = real;
    }
    await rt.release();
  });

  it('CUDA asked for without its provider library: the install is explained before onnxruntime is tried', async function () {
    // onnxruntime-node lists CUDA (bundled: false) even when its install script was skipped (.npmrc): what counts is
    // whether the provider library lies beside the binding.
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin');
    const files = (await fs.readdir(bin, { recursive: true })).map(String);
    if (files.some((f) => f.includes('onnxruntime_providers_cuda'))) this.skip();
    expect(ort.listSupportedBackends().map((b) => b.name)).to.include('cuda');
    const real = ort.InferenceSession.create;
    let tried = 0;
    ort.InferenceSession.create = (async (...a: Parameters<typeof real>) => {
      tried++;
      return real(...a);
    }) as typeof real;
    try {
      for (const eps of [['cuda'], ['cuda', 'cpu'], ['cpu', 'cuda']] as Array<Array<'cpu' | 'cuda'>>) {
        const e = await rejectsGanvas(new Runtime({ executionProviders: eps }).session(model()), 'PROVIDER');
        expect(e.message).to.match(/^the CUDA execution provider is not available in this onnxruntime-node install \(available: cpu(, [a-z]+)*\)\. /);
        expect(e.message).to.not.match(/available: [^)]*cuda/);
        expect(e.message).to.include('(onnxruntime-node-install=skip)');
        expect(e.message).to.include("Use executionProviders: ['cpu'], or reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12");
      }
      expect(tried).to.equal(0);
    } finally {
      ort.InferenceSession.create = real;
    }
  });

  it('caches one session per model bytes; release() empties the cache and frees the sessions', async () => {
    const rt = new Runtime({ threads: 1 });
    const a = await rt.session(model());
    expect(rt.size).to.equal(1);
    expect(await rt.session(model())).to.equal(a);
    const other = new GraphBuilder();
    other.input('x', ['N', 4]);
    other.node('Neg', ['x'], 'y');
    other.output('y');
    const c = await rt.session(other.build());
    expect(c).to.not.equal(a);
    expect(rt.size).to.equal(2);
    let released = 0;
    for (const s of [a, c]) {
      const r = s.ortSession.release.bind(s.ortSession);
      s.ortSession.release = async () => {
        released++;
        return r();
      };
    }
    await rt.release();
    expect(released).to.equal(2);
    expect(rt.size).to.equal(0);
    const again = await rt.session(model());
    expect(again).to.not.equal(a);
    expect(again).to.be.instanceOf(ModelSession);
    // A release that fails (already released elsewhere) does not stop the others from being released.
    const d = await rt.session(other.build());
    again.ortSession.release = async () => {
      throw new Error('already released');
    };
    let dReleased = false;
    const dr = d.ortSession.release.bind(d.ortSession);
    d.ortSession.release = async () => {
      dReleased = true;
      return dr();
    };
    await rt.release();
    expect(dReleased).to.equal(true);
    expect(rt.size).to.equal(0);
  });
});

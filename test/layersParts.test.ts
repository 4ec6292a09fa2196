/**
 * The layer listing and lookup (src/onnx/layers.ts) and float TensorProtos (src/onnx/tensorProto.ts) on a
 * hand-made graph whose answers are known (issue 19): which tensors are layers, in which order, with which
 * aliases; what each wrong name is told; raw and float_data tensors both ways.
 */
import { expect } from 'chai';
import { GanvasError, OnnxModel, floatTensorProto, layers, onnx, readFloatTensor, resolveLayer } from 'ganvas';
import { GraphBuilder } from './builder';

/**
 * x [N,2,4,4] → conv `a` [N,3,4,4] → Relu `b` → Flatten `flat` [N,48] (2-D) → Reshape `c` [N,3,2,8] (non-square) →
 * Cast to int64 `ci` (4-D but not float) → Cast back `cf`; Constant node `k` [1,1,2,2]; out = cf + ReduceSum(k).
 */
function model(): OnnxModel {
  const g = new GraphBuilder();
  g.input('x', ['N', 2, 4, 4]);
  const a = g.conv('x', 2, 3, 'a');
  const b = g.node('Relu', [a], 'b');
  const flat = g.node('Flatten', [b], 'flat', { axis: 1 });
  const c = g.node('Reshape', [flat, g.initInt64('shape', [-1, 3, 2, 8])], 'c');
  const ci = g.node('Cast', [c], 'ci', { to: onnx.TensorProto.DataType.INT64 });
  const cf = g.node('Cast', [ci], 'cf', { to: onnx.TensorProto.DataType.FLOAT });
  g.constant('k', [1, 1, 2, 2], [1, 2, 3, 4]);
  g.node('Add', [cf, g.node('ReduceSum', ['k'], 'ks', { keepdims: 0 })], 'out');
  g.output('out', ['N', 3, 2, 8]);
  return g.build('hand.onnx').withAliases({ first: 'a', relu: 'b', 'relu.again': 'b', wide: 'c', gone: 'nothing_makes_this', vec: 'flat', w: 'w0', kk: 'k', cf: 'stale' });
}

async function refusal(p: Promise<unknown>): Promise<GanvasError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).to.be.instanceOf(GanvasError);
  return e as GanvasError;
}

describe('onnx layers: listing and lookup on a hand-made graph', function () {
  this.timeout(60000);
  const m = model();

  it('lists every float 4-D intermediate (not constants) in graph order, with its aliases, producer and size', async () => {
    const all = await layers(m);
    expect(all.map((l) => [l.name, l.aliases, l.op, l.channels, l.height, l.width])).to.deep.equal([
      ['a', ['first'], 'Conv', 3, 4, 4],
      ['b', ['relu', 'relu.again'], 'Relu', 3, 4, 4],
      ['c', ['wide'], 'Reshape', 3, 2, 8],
      ['cf', [], 'Cast', 3, 2, 8],
      ['out', [], 'Add', 3, 2, 8],
    ]);
    // index = position of the producing node; node = its name; dims with the batch axis symbolic.
    const nodes = m.graph.node ?? [];
    for (const l of all) {
      expect(nodes[l.index].output).to.include(l.name);
      expect(l.node).to.equal(nodes[l.index].name);
    }
    expect(all[2].dims.slice(1)).to.deep.equal([3, 2, 8]);
  });

  it('resolves aliases and tensor names to the same layer', async () => {
    expect((await resolveLayer(m, 'relu')).name).to.equal('b');
    expect((await resolveLayer(m, 'relu.again')).name).to.equal('b');
    expect((await resolveLayer(m, 'b')).aliases).to.deep.equal(['relu', 'relu.again']);
    expect((await resolveLayer(m, 'wide')).width).to.equal(8);
  });

  it('tells each wrong name what it is: not a string, a stale alias, an input, weights, a constant, a 2-D or int tensor, unknown', async () => {
    expect((await refusal(resolveLayer(m, ''))).message).to.equal('a layer name must be a non-empty string, got ""');
    expect((await refusal(resolveLayer(m, 3 as never))).message).to.equal('a layer name must be a non-empty string, got 3');
    const gone = await refusal(resolveLayer(m, 'gone'));
    expect(gone.code).to.equal('NO_SUCH_LAYER');
    expect(gone.message).to.match(/^alias "gone" of hand\.onnx points at tensor "nothing_makes_this", which no node produces: the manifest is out of date\. Layers that exist nearby: /);
    // The broken alias itself is never suggested.
    expect(gone.message).to.not.match(/"gone"[,.]/);
    expect(gone.message).to.match(/List them with gen\.layers\(\) for a Generator or fx\.layers\(\) for a FeatureExtractor \(named layers first, with shapes\)\.$/);
    const input = await refusal(resolveLayer(m, 'x'));
    expect(input.message).to.match(/^"x" is an input of hand\.onnx, not a hidden layer\. Layers that exist nearby: /);
    const weights = await refusal(resolveLayer(m, 'w0'));
    expect(weights.message).to.match(/^"w0" is a constant \(weights\) in hand\.onnx, not activations\./);
    // An alias naming an initializer: no node produces it, so the manifest is called out of date.
    expect((await refusal(resolveLayer(m, 'w'))).message).to.match(/^alias "w" of hand\.onnx points at tensor "w0", which no node produces/);
    expect((await refusal(resolveLayer(m, 'kk'))).message).to.match(/^"kk" is a constant \(weights\) in hand\.onnx/);
    const shape = await refusal(resolveLayer(m, 'shape'));
    expect(shape.message).to.match(/^"shape" is a constant \(weights\)/);
    const ks = await refusal(resolveLayer(m, 'ks'));
    expect(ks.message).to.match(/^"ks" is a constant \(weights\) in hand\.onnx/);
    const vec = await refusal(resolveLayer(m, 'vec'));
    expect(vec.code).to.equal('NOT_4D');
    expect(vec.message).to.match(/^layer "vec" of hand\.onnx has shape float32 \[N, 48\], but ganvas needs a 4-D float tensor \(N, C, H, W\) whose pixels are activation vectors\. Layers that exist nearby: /);
    const ci = await refusal(resolveLayer(m, 'ci'));
    expect(ci.code).to.equal('NOT_4D');
    expect(ci.message).to.match(/has shape int64 \[N, 3, 2, 8\]/);
    const unknown = await refusal(resolveLayer(m, 'relux'));
    expect(unknown.code).to.equal('NO_SUCH_LAYER');
    // "relu" is contained in "relux", so it is suggested first.
    expect(unknown.message).to.match(/^hand\.onnx has no layer "relux"\. Layers that exist nearby: "relu", /);
    expect(unknown.message).to.not.include('"relux",');
    // Stale aliases are never suggested for another name either.
    expect((await refusal(resolveLayer(m, 'gonex'))).message).to.not.include('"gone"');
    // An alias that shadows a tensor name but points nowhere: "cf" is not offered back as a fix for "cf".
    const shadow = await refusal(resolveLayer(m, 'cf'));
    expect(shadow.message).to.match(/^alias "cf" of hand\.onnx points at tensor "stale", which no node produces/);
    expect(shadow.message).to.not.include('"cf",');
    expect(shadow.message).to.not.include('"cf".');
    const proto = await refusal(resolveLayer(m, 'constructor'));
    expect(proto.message).to.match(/^hand\.onnx has no layer "constructor"\./);
    // At most six suggestions.
    expect((unknown.message.match(/"[^"]+"(, |\. )/g) ?? []).length).to.be.at.most(7);
  });
});

describe('onnx tensorProto: float32 initializers', () => {
  it('round-trips through raw bytes, also from a subarray, and reads float_data', () => {
    const whole = new Float32Array([9, 1.5, -2, 3.25, 0.1, 7]);
    const t = { data: whole.subarray(1, 5), dims: [2, 2] };
    const p = floatTensorProto('w', t);
    expect(p.name).to.equal('w');
    expect(p.dims.map(Number)).to.deep.equal([2, 2]);
    expect(p.dataType).to.equal(onnx.TensorProto.DataType.FLOAT);
    expect(p.rawData.length).to.equal(16);
    const back = readFloatTensor(onnx.TensorProto.decode(onnx.TensorProto.encode(p).finish()));
    expect(Array.from(back.data)).to.deep.equal([1.5, -2, 3.25, Math.fround(0.1)]);
    expect(back.dims).to.deep.equal([2, 2]);
    // The proto owns a copy: changing the tensor later does not change it.
    t.data[0] = 100;
    expect(readFloatTensor(p).data[0]).to.equal(1.5);
    const fd = readFloatTensor(onnx.TensorProto.create({ name: 'f', dims: [3], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [1, 2, 3] }));
    expect(Array.from(fd.data)).to.deep.equal([1, 2, 3]);
    const scalar = readFloatTensor(onnx.TensorProto.create({ name: 's', dataType: onnx.TensorProto.DataType.FLOAT, floatData: [4] }));
    expect(scalar.dims).to.deep.equal([]);
    expect(Array.from(scalar.data)).to.deep.equal([4]);
  });

  it('refuses mismatched sizes and other data types, naming the tensor', () => {
    expect(() => floatTensorProto('w', { data: new Float32Array(3), dims: [2, 2] })).to.throw(GanvasError, 'tensor "w" has 3 values for dims [2, 2]');
    const F = onnx.TensorProto.DataType.FLOAT;
    expect(() => readFloatTensor({ name: 'r', dims: [2], dataType: F, rawData: new Uint8Array(4) })).to.throw(GanvasError, 'tensor "r" has 4 bytes for 2 floats');
    expect(() => readFloatTensor({ name: 'f', dims: [2, 3], dataType: F, floatData: [1] })).to.throw(GanvasError, 'tensor "f" has 1 floats for dims [2, 3]');
    // A plain object without dims is a scalar.
    expect(Array.from(readFloatTensor({ name: 's', dataType: F, floatData: [5] }).data)).to.deep.equal([5]);
    expect(readFloatTensor({ name: 's', dataType: F, floatData: [5] }).dims).to.deep.equal([]);
    expect(() => readFloatTensor({ name: 'i', dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [1] })).to.throw(GanvasError, 'tensor "i" is not float32 (ONNX data type 7)');
    expect(() => readFloatTensor({ name: 'e', dims: [2], dataType: F })).to.throw(GanvasError, 'tensor "e" has 0 floats for dims [2]');
  });
});

/**
 * Constant inputs that gradient rules read as values (issue 19, mutation testing of constants.ts): the same Slice,
 * Pow and Dropout graphs with their constants stored in every way an exported model may store them — raw little-
 * endian bytes or typed fields, int32 / int64 / float / double / bool, an int64 end of INT64_MAX ("to the end"), and
 * values computed by Constant nodes and Concats (evaluated once by onnxruntime). Each gradient is checked against
 * central finite differences of the forward model (check.ts), so a value decoded wrongly shows up as a mismatch.
 */
import { expect } from 'chai';
import { FloatTensor, GanvasError, OnnxModel, decodeModel, gradientModel, loss, onnx, randn } from 'ganvas';
import { GraphBuilder } from '../builder';
import { expectGradients, rt } from './check';

after(() => rt.release());

const D = onnx.TensorProto.DataType;

function raw(name: string, dataType: number, dims: number[], bytes: Buffer): onnx.TensorProto {
  return onnx.TensorProto.create({ name, dataType, dims, rawData: bytes });
}
const rawInt32 = (name: string, v: number[]) => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeInt32LE(x, 4 * i));
  return raw(name, D.INT32, [v.length], b);
};
const rawInt64 = (name: string, v: bigint[]) => {
  const b = Buffer.alloc(8 * v.length);
  v.forEach((x, i) => b.writeBigInt64LE(x, 8 * i));
  return raw(name, D.INT64, [v.length], b);
};
const rawFloat = (name: string, v: number[], dims: number[] = [v.length]) => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeFloatLE(x, 4 * i));
  return raw(name, D.FLOAT, dims, b);
};
const rawDouble = (name: string, v: number[], dims: number[] = [v.length]) => {
  const b = Buffer.alloc(8 * v.length);
  v.forEach((x, i) => b.writeDoubleLE(x, 8 * i));
  return raw(name, D.DOUBLE, dims, b);
};
const INT64_MAX = 2n ** 63n - 1n;

/** The builder's graph with extra initializers, round-tripped through bytes as a model file would be. */
function withInits(g: GraphBuilder, inits: onnx.TensorProto[], source: string): OnnxModel {
  const proto = onnx.ModelProto.decode(g.bytes());
  proto.graph?.initializer?.push(...inits);
  return decodeModel(onnx.ModelProto.encode(proto).finish(), source);
}

/** A Constant node whose value is the given tensor. */
function constantNode(g: GraphBuilder, out: string, t: onnx.TensorProto): void {
  g.node('Constant', [], out);
  // The builder's attributes are numbers and strings: put the tensor in after encoding (see withConstants).
  pendingConstants.set(out, t);
}
const pendingConstants = new Map<string, onnx.TensorProto>();
function withConstants(g: GraphBuilder, inits: onnx.TensorProto[], source: string): OnnxModel {
  const proto = onnx.ModelProto.decode(g.bytes());
  proto.graph?.initializer?.push(...inits);
  for (const n of proto.graph?.node ?? []) {
    const t = n.opType === 'Constant' ? pendingConstants.get(n.output?.[0] ?? '') : undefined;
    if (t) n.attribute = [onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t })];
  }
  return decodeModel(onnx.ModelProto.encode(proto).finish(), source);
}

const x = randn('constants-x', [2, 4, 6]);
/** Positive inputs for Pow with a fractional exponent. */
const xPos: FloatTensor = { data: x.data.map((v) => 0.5 + Math.abs(v)), dims: x.dims };

async function fd(model: OnnxModel, inputs: FloatTensor = x): Promise<void> {
  await expectGradients({ model, inputs: { x: inputs }, wrt: ['x'], h: 1e-3 });
}

function sliceGraph(): GraphBuilder {
  const g = new GraphBuilder();
  g.input('x', ['N', 4, 6]);
  g.node('Slice', ['x', 'st', 'en', 'ax', 'sp'], 'y');
  g.output('y');
  return g;
}

describe('autodiff: constants read by the rules, in every storage form (finite differences)', () => {
  it('Slice with int32 starts/ends/axes/steps as raw bytes, with a negative start and a step of 2', async () => {
    await fd(withInits(sliceGraph(), [rawInt32('st', [1, -5]), rawInt32('en', [3, 6]), rawInt32('ax', [1, 2]), rawInt32('sp', [1, 2])], 'slice-int32-raw'));
  });

  it('Slice with int32 typed fields, a reversed axis (negative step)', async () => {
    const i32 = (name: string, v: number[]) => onnx.TensorProto.create({ name, dataType: D.INT32, dims: [v.length], int32Data: v });
    await fd(withInits(sliceGraph(), [i32('st', [-1, 0]), i32('en', [-1000, 5]), i32('ax', [2, 1]), i32('sp', [-2, 2])], 'slice-int32-typed'));
  });

  it('Slice with int64 raw bytes and an end of INT64_MAX (to the end), and an INT64_MIN end backwards', async () => {
    await fd(withInits(sliceGraph(), [rawInt64('st', [2n, 5n]), rawInt64('en', [INT64_MAX, -(2n ** 63n)]), rawInt64('ax', [-2n, -1n]), rawInt64('sp', [1n, -3n])], 'slice-int64-raw'));
  });

  it('Slice with starts and ends computed by Constant nodes and a Concat (evaluated by onnxruntime), INT64_MAX included', async () => {
    const g = sliceGraph();
    constantNode(g, 'st0', rawInt64('', [1n]));
    constantNode(g, 'st1', rawInt64('', [1n]));
    g.node('Concat', ['st0', 'st1'], 'st', { axis: 0 });
    constantNode(g, 'en', rawInt64('', [3n, INT64_MAX]));
    await fd(withConstants(g, [rawInt64('ax', [1n, 2n]), rawInt64('sp', [1n, 2n])], 'slice-evaluated'));
  });

  it('Slice without axes and steps, starts and ends computed by onnxruntime (their lengths give the axes)', async () => {
    const g = new GraphBuilder();
    g.input('x', [2, 4, 6]);
    constantNode(g, 'st', rawInt64('', [0n, 1n, 2n]));
    constantNode(g, 'en', rawInt64('', [INT64_MAX, 3n, -1n]));
    g.node('Slice', ['x', 'st', 'en'], 'y');
    g.output('y');
    await fd(withConstants(g, [], 'slice-evaluated-no-axes'));
  });

  it('Resize with its scales as raw float bytes (four different values read at their offsets)', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 2, 3, 4]);
    g.node('Resize', ['x', '', 'sc'], 'y', { mode: 'nearest' });
    g.output('y');
    const x4 = randn('constants-x4', [2, 2, 3, 4]);
    await expectGradients({ model: withInits(g, [rawFloat('sc', [1, 1, 2, 0.5])], 'resize-raw-scales'), inputs: { x: x4 }, wrt: ['x'], h: 1e-3 });
  });

  it('Pow with its exponent as raw float, float field, raw double and double field (float base)', async () => {
    const pow = (e: onnx.TensorProto, source: string) => {
      const g = new GraphBuilder();
      g.input('x', ['N', 4, 6]);
      g.node('Pow', ['x', 'e'], 'y');
      g.output('y');
      return withInits(g, [e], source);
    };
    await fd(pow(rawFloat('e', [1.5], []), 'pow-float-raw'), xPos);
    await fd(pow(onnx.TensorProto.create({ name: 'e', dataType: D.FLOAT, dims: [], floatData: [2.5] }), 'pow-float-typed'), xPos);
    await fd(pow(rawDouble('e', [0.5, 3, 1.25, -1, 2, 1], [6]), 'pow-double-raw'), xPos);
    await fd(pow(onnx.TensorProto.create({ name: 'e', dataType: D.DOUBLE, dims: [], doubleData: [-0.5] }), 'pow-double-typed'), xPos);
    // One value: the rule writes the exponent out, so a wrongly decoded double changes the gradient.
    await fd(pow(rawDouble('e', [1.75], []), 'pow-double-raw-one'), xPos);
  });

  it('Dropout training_mode as raw bool bytes: false passes the gradient through, true is refused', async () => {
    const dropout = (train: number) => {
      const g = new GraphBuilder();
      g.input('x', ['N', 4, 6]);
      g.node('Dropout', ['x', 'ratio', 'train'], 'y');
      g.output('y');
      return withInits(g, [rawFloat('ratio', [0.5], []), raw('train', D.BOOL, [], Buffer.from([train]))], `dropout-${train}`);
    };
    await fd(dropout(0));
    // A bool in the int32 field, as the ONNX helpers write it.
    const typed = new GraphBuilder();
    typed.input('x', ['N', 4, 6]);
    typed.node('Dropout', ['x', typed.init('ratio', [], [0.5]), typed.initBool('train', false)], 'y');
    typed.output('y');
    await fd(typed.build('dropout-typed'));
    try {
      await gradientModel(dropout(1), { wrt: ['x'], loss: loss.mse('y') });
      expect.fail('expected a refusal');
    } catch (e) {
      expect(e).to.be.instanceOf(GanvasError);
      expect((e as GanvasError).code).to.equal('UNSUPPORTED');
      expect((e as Error).message).to.include('Dropout in training mode is not supported');
    }
  });
});

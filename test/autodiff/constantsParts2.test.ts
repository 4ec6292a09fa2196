/**
 * constants.ts called directly (issue 19, mutation testing, second part): what onnxruntime never lets through a
 * model it has loaded — a constant of a data type the decoder does not read, in raw bytes or in a typed field, and
 * names onnxruntime cannot evaluate — is refused with a message naming the constant, its type and the types read;
 * evaluated constants keep their dims; a name asked for twice is evaluated once. The module is loaded from the
 * compiled package (as interruptParts does), since 'ganvas' does not export it.
 */
import { expect } from 'chai';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { GanvasError, GraphIndex, OnnxModel, onnx } from 'ganvas';
import type { ConstValue } from 'ganvas';
import { GraphBuilder } from '../builder';
import { throwsGanvas, rejectsGanvas } from '../util';

interface ConstantsModule {
  decodeTensor(t: onnx.TensorProto): ConstValue;
  evaluateConstants(model: OnnxModel, index: GraphIndex, names: string[]): Promise<Map<string, ConstValue>>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const constants = require(path.join(path.dirname(require.resolve('ganvas')), 'autodiff', 'constants.js')) as ConstantsModule;

const D = onnx.TensorProto.DataType;

/** Float constants [[1, 2, 3], [4, 5, 6]] from a Constant node, doubled by a Mul; x · c = y. */
function model(): OnnxModel {
  const g = new GraphBuilder();
  g.input('x', ['N', 2, 3]);
  const c = g.constant('c', [2, 3], [1, 2, 3, 4, 5, 6]);
  const c2 = g.node('Mul', [c, g.init('two', [1], [2])], 'c2');
  g.node('Mul', ['x', c2], 'y');
  g.output('y');
  return g.build('constants model');
}

describe('autodiff constants: what a loaded model never holds', () => {
  it('a constant of a type it does not read (uint8, float16): refused in raw bytes and in typed fields, naming it', () => {
    const cases: [onnx.TensorProto, string][] = [
      [onnx.TensorProto.create({ name: 'u8', dataType: D.UINT8, dims: [2], rawData: Buffer.from([1, 2]) }), 'UINT8 (2)'],
      [onnx.TensorProto.create({ name: 'u8', dataType: D.UINT8, dims: [2], int32Data: [1, 2] }), 'UINT8 (2)'],
      [onnx.TensorProto.create({ name: 'u8', dataType: D.FLOAT16, dims: [1], int32Data: [15360] }), 'FLOAT16 (10)'],
      [onnx.TensorProto.create({ name: 'u8', dataType: 99, dims: [1], int32Data: [1] }), 'unknown (99)'],
    ];
    for (const [t, type] of cases) {
      const e = throwsGanvas(() => constants.decodeTensor(t), 'UNSUPPORTED');
      expect(e.message).to.equal(`constant "u8" has ONNX data type ${type}; expected float, double, int32, int64 or bool`);
    }
    // The types it reads, in typed fields, for comparison: each from its own field, values as numbers.
    expect(constants.decodeTensor(onnx.TensorProto.create({ name: 'd', dataType: D.DOUBLE, dims: [2], doubleData: [-0.5, 2.25] }))).to.deep.equal({ dims: [2], data: [-0.5, 2.25] });
    expect(constants.decodeTensor(onnx.TensorProto.create({ name: 'f', dataType: D.FLOAT, dims: [1, 2], floatData: [1.5, -3] }))).to.deep.equal({ dims: [1, 2], data: [1.5, -3] });
    expect(constants.decodeTensor(onnx.TensorProto.create({ name: 'n', dataType: D.INT32, dims: [2], int32Data: [7, -8] })).data).to.deep.equal([7, -8]);
    expect(constants.decodeTensor(onnx.TensorProto.create({ name: 'i', dataType: D.INT64, dims: [2], int64Data: [3, -4] })).data).to.deep.equal([3, -4]);
    expect(constants.decodeTensor(onnx.TensorProto.create({ name: 'b', dataType: D.BOOL, dims: [2], int32Data: [1, 0] })).data).to.deep.equal([1, 0]);
  });

  it('names onnxruntime cannot evaluate: a RUNTIME error naming them and the model', async () => {
    const m = model();
    const e = await rejectsGanvas(constants.evaluateConstants(m, new GraphIndex(m), ['nowhere', 'nor_here']), 'RUNTIME');
    expect(e.message).to.match(/^could not evaluate constants nowhere, nor_here of constants model: /);
    // onnxruntime's own error is kept as the cause, and its text follows the colon.
    const cause = (e as Error & { cause?: unknown }).cause;
    expect(cause).to.be.instanceOf(Error);
    expect(e.message).to.include((cause as Error).message.slice(0, 40));
  });

  it('releases the onnxruntime session it opens', async () => {
    const m = model();
    const create = ort.InferenceSession.create;
    let opened = 0;
    let released = 0;
    const counting = async (...args: Parameters<typeof create>): Promise<ort.InferenceSession> => {
      const s = await (create as (...a: unknown[]) => Promise<ort.InferenceSession>).apply(ort.InferenceSession, args);
      opened++;
      const release = s.release.bind(s);
      s.release = async () => {
        released++;
        return release();
      };
      return s;
    };
    (ort.InferenceSession as unknown as { create: unknown }).create = counting;
    try {
      const out = await constants.evaluateConstants(m, new GraphIndex(m), ['c2']);
      expect(out.get('c2')?.data).to.deep.equal([2, 4, 6, 8, 10, 12]);
    } finally {
      (ort.InferenceSession as unknown as { create: unknown }).create = create;
    }
    expect([opened, released]).to.deep.equal([1, 1]);
  });

  it('evaluated constants keep their dims; a name asked for twice is evaluated once; weights are decoded as they are', async () => {
    const m = model();
    const out = await constants.evaluateConstants(m, new GraphIndex(m), ['c2', 'c', 'c2', 'two']);
    expect([...out.keys()].sort()).to.deep.equal(['c', 'c2', 'two']);
    expect(out.get('c2')).to.deep.equal({ dims: [2, 3], data: [2, 4, 6, 8, 10, 12] });
    expect(out.get('c')).to.deep.equal({ dims: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    expect(out.get('two')).to.deep.equal({ dims: [1], data: [2] });
  });
});

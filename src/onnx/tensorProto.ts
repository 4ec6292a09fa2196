/**
 * float32 tensors ↔ ONNX TensorProtos (initializers), stored as raw little-endian bytes: a 1×1 stitch of 128×64
 * weights is 32 KB either way, but raw bytes encode and decode without a per-element JavaScript number.
 */
import { GanvasError } from '../errors';
import { onnx } from './model';
import { FloatTensor, numel } from '../runtime/tensor';

// Stryker disable next-line ConditionalExpression: true on every machine the tests run on (x86-64, arm64 are little-endian)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function floatTensorProto(name: string, t: FloatTensor): onnx.TensorProto {
  // Stryker disable next-line ConditionalExpression,StringLiteral: as above, never taken on a little-endian machine
  if (!LITTLE_ENDIAN) throw new GanvasError('UNSUPPORTED', 'writing ONNX tensors needs a little-endian machine');
  if (t.data.length !== numel(t.dims)) {
    throw new GanvasError('BAD_INPUT', `tensor "${name}" has ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  }
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return onnx.TensorProto.create({ name, dims: [...t.dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: Uint8Array.from(bytes) });
}

/** The values of a float32 TensorProto (raw bytes or float_data). */
export function readFloatTensor(t: onnx.ITensorProto): FloatTensor {
  if (Number(t.dataType) !== onnx.TensorProto.DataType.FLOAT) {
    throw new GanvasError('BAD_INPUT', `tensor "${t.name}" is not float32 (ONNX data type ${t.dataType})`);
  }
  const dims = (t.dims ?? []).map(Number);
  const n = numel(dims);
  let data: Float32Array;
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== 4 * n) throw new GanvasError('BAD_INPUT', `tensor "${t.name}" has ${t.rawData.length} bytes for ${n} floats`);
    data = new Float32Array(n);
    new Uint8Array(data.buffer).set(t.rawData);
  } else {
    data = Float32Array.from(t.floatData ?? []);
    if (data.length !== n) throw new GanvasError('BAD_INPUT', `tensor "${t.name}" has ${data.length} floats for dims [${dims.join(', ')}]`);
  }
  return { data, dims };
}

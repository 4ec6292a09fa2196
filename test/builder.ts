/**
 * A tiny ONNX graph builder for tests: hand-made graphs whose answers we know, built without Python.
 */
import { onnx, OnnxModel, decodeModel, gaussian } from 'ganvas';

export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

const F32 = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;

function valueInfo(name: string, elemType: number, dims?: Dim[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: dims
          ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }
          : undefined,
      },
    },
  });
}

function attribute(name: string, v: AttrValue): onnx.AttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: A.STRING, s: Buffer.from(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
  if (typeof v === 'number') {
    return Number.isInteger(v)
      ? onnx.AttributeProto.create({ name, type: A.INT, i: v })
      : onnx.AttributeProto.create({ name, type: A.FLOAT, f: v });
  }
  if ('float' in v) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: v.float });
  return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.floats });
}

export class GraphBuilder {
  private nodes: onnx.NodeProto[] = [];
  private inputs: onnx.ValueInfoProto[] = [];
  private outputs: onnx.ValueInfoProto[] = [];
  private inits: onnx.TensorProto[] = [];
  private seed = 1;
  private count = 0;

  constructor(private opset = 13) {}

  input(name: string, dims: Dim[], type: 'float32' | 'int64' = 'float32'): string {
    this.inputs.push(valueInfo(name, type === 'float32' ? F32 : I64, dims));
    return name;
  }

  output(name: string, dims?: Dim[]): string {
    this.outputs.push(valueInfo(name, F32, dims));
    return name;
  }

  /** A float initializer; random (seeded, scaled) when no data is given. */
  init(name: string, dims: number[], data?: number[] | Float32Array, scale = 0.5): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const values = data ? Float32Array.from(data) : gaussian(`init-${this.seed++}`, n).map((x) => x * scale);
    this.inits.push(onnx.TensorProto.create({ name, dims, dataType: F32, floatData: Array.from(values) }));
    return name;
  }

  initInt64(name: string, values: number[]): string {
    this.inits.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: I64, int64Data: values }));
    return name;
  }

  /** A scalar bool initializer (Dropout's training_mode). */
  initBool(name: string, value: boolean): string {
    this.inits.push(onnx.TensorProto.create({ name, dims: [], dataType: onnx.TensorProto.DataType.BOOL, int32Data: [value ? 1 : 0] }));
    return name;
  }

  node(op: string, inputs: string[], outputs?: string[] | string, attrs: Record<string, AttrValue> = {}): string {
    const outs = outputs === undefined ? [`${op.toLowerCase()}_${this.count}`] : typeof outputs === 'string' ? [outputs] : outputs;
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        name: `${op}_${this.count++}`,
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs[0];
  }

  /** A Constant node holding a float tensor. */
  constant(name: string, dims: number[], values: number[]): string {
    const t = onnx.TensorProto.create({ dims, dataType: F32, floatData: values });
    this.nodes.push(
      onnx.NodeProto.create({
        opType: 'Constant',
        name: `Constant_${this.count++}`,
        output: [name],
        attribute: [onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t })],
      }),
    );
    return name;
  }

  /** A 3×3 (or k×k) "same" convolution with random weights and bias. */
  conv(x: string, cin: number, cout: number, out?: string, k = 3, stride = 1): string {
    const id = this.count;
    const w = this.init(`w${id}`, [cout, cin, k, k], undefined, 1 / Math.sqrt(cin * k * k));
    const b = this.init(`b${id}`, [cout], undefined, 0.1);
    const p = (k - 1) >> 1;
    return this.node('Conv', [x, w, b], out, { kernel_shape: [k, k], pads: [p, p, p, p], strides: [stride, stride] });
  }

  bytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'ganvas-test',
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: 'test',
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.inits,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  build(source = 'test-graph'): OnnxModel {
    return decodeModel(this.bytes(), source);
  }
}

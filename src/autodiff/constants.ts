/**
 * Values of constant tensors that gradient rules must read at build time (Slice starts, Pad pads, Resize scales,
 * Split sizes, reduction axes). Initializers are decoded directly; anything computed from constants (a Constant
 * node, a folded Concat of shapes) is evaluated once by onnxruntime, which already knows every op's semantics.
 */
import * as ort from 'onnxruntime-node';
import { GanvasError, describeError } from '../errors';
import { GraphIndex } from '../onnx/graph';
import { OnnxModel, onnx, withGraph } from '../onnx/model';
import type { TensorProto } from '../onnx/model';
import { numel } from '../runtime/tensor';

export interface ConstValue {
  dims: number[];
  /** Values as JS numbers (int64 beyond 2^53 is clamped to ±2^53, which every rule treats as "to the end"). */
  data: number[];
}

const D = onnx.TensorProto.DataType;

function longToNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: Number(v) and Number(String(v)) (the line below) agree for a bigint, a number and a Long (Number() of an object goes through its toString)
  if (typeof v === 'bigint') return Number(v);
  // protobufjs decodes int64 as Long objects when long.js is present.
  const s = (v as { toString(): string }).toString();
  return Number(s);
}

/**
 * Decodes a TensorProto holding float, double, int32, int64 or bool data (bool: Dropout's training_mode, issue 19 —
 * a Dropout with a constant `false` was refused before).
 */
export function decodeTensor(t: TensorProto): ConstValue {
  // Stryker disable next-line ArrayDeclaration: decoded and created TensorProtos always carry a dims array (protobufjs defaults repeated fields to [])
  const dims = (t.dims ?? []).map(longToNumber);
  const n = numel(dims);
  const type = Number(t.dataType ?? 0);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  let data: number[];
  if (raw) {
    const buf = Buffer.from(raw);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    // Stryker disable next-line ArrayDeclaration: the loop below assigns every element, so the preallocated length changes nothing
    data = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      switch (type) {
        case D.FLOAT: data[i] = view.getFloat32(i * 4, true); break;
        case D.DOUBLE: data[i] = view.getFloat64(i * 8, true); break;
        case D.INT32: data[i] = view.getInt32(i * 4, true); break;
        case D.INT64: data[i] = Number(view.getBigInt64(i * 8, true)); break;
        case D.BOOL: data[i] = view.getUint8(i); break;
        default:
          throw unreadable(t, type);
      }
    }
  } else data = typedValues(t, type);
  return { dims, data: data.map((x) => Math.max(-(2 ** 53), Math.min(2 ** 53, x))) };
}

/**
 * A type onnxruntime lets through no input a rule reads as a constant (issue 19: reached only by calling the decoder
 * directly); the message names the type (it gave the number alone).
 */
function unreadable(t: TensorProto, type: number): GanvasError {
  return new GanvasError(
    'UNSUPPORTED',
    `constant "${t.name}" has ONNX data type ${D[type] ?? 'unknown'} (${type}); expected float, double, int32, int64 or bool`,
  );
}

/** Values stored in a TensorProto's typed fields (protobufjs defaults each repeated field to []). */
function typedValues(t: TensorProto, type: number): number[] {
  switch (type) {
    case D.FLOAT:
      // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [], so the fallback never runs
      return (t.floatData ?? []).map(Number);
    case D.DOUBLE:
      // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [], so the fallback never runs
      return (t.doubleData ?? []).map(Number);
    case D.INT32:
    case D.BOOL:
      // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [], so the fallback never runs
      return (t.int32Data ?? []).map(Number);
    case D.INT64:
      // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [], so the fallback never runs
      return (t.int64Data ?? []).map(longToNumber);
    default:
      throw unreadable(t, type);
  }
}

/** Evaluates constant tensors (which depend on no graph input) of `model`. */
export async function evaluateConstants(model: OnnxModel, index: GraphIndex, names: string[]): Promise<Map<string, ConstValue>> {
  const out = new Map<string, ConstValue>();
  // Stryker disable next-line StringLiteral: initializers always have a name (protobufjs defaults it to '')
  const inits = new Map((model.graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const pending: string[] = [];
  // Each name once (a name given twice would be a second output of the same tensor).
  for (const n of new Set(names)) {
    const init = inits.get(n);
    if (init && !index.producer.has(n)) out.set(n, decodeTensor(init));
    else pending.push(n);
  }
  if (pending.length === 0) return out;
  const nodes = index.closure(pending);
  const free = index.freeReads(nodes);
  const graph = onnx.GraphProto.create({
    // Stryker disable next-line StringLiteral: the name of a one-off graph nobody reads
    name: 'constants',
    node: nodes.map((i) => index.nodes[i]),
    input: [],
    // Stryker disable next-line MethodExpression,StringLiteral: extra initializers that no node reads do not change the values (a smaller graph to load); names default to ''
    initializer: (model.graph.initializer ?? []).filter((t) => free.has(t.name ?? '')),
    output: pending.map((name) => onnx.ValueInfoProto.create({ name })),
  });
  // Stryker disable next-line StringLiteral: a label of the one-off model; the error below names model.source itself
  const m = withGraph(model, graph, `constants of ${model.source}`);
  let session: ort.InferenceSession;
  try {
    // Stryker disable next-line ObjectLiteral: onnxruntime's graph optimizations do not change the values of constant ops (disabled only to skip their cost)
    session = await ort.InferenceSession.create(m.bytes(), { graphOptimizationLevel: 'disabled' });
  } catch (e) {
    throw new GanvasError('RUNTIME', `could not evaluate constants ${pending.join(', ')} of ${model.source}: ${describeError(e)}`, { cause: e });
  }
  try {
    const r = await session.run({});
    for (const name of pending) {
      const t = r[name];
      const src = t.data as ArrayLike<number | bigint>;
      // Stryker disable next-line ArrayDeclaration: the loop below assigns every element, so the preallocated length changes nothing
      const data = new Array<number>(src.length);
      for (let i = 0; i < src.length; i++) data[i] = Math.max(-(2 ** 53), Math.min(2 ** 53, Number(src[i])));
      out.set(name, { dims: [...t.dims], data });
    }
  } finally {
    await session.release();
  }
  return out;
}

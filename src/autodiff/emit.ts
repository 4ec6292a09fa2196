/**
 * Emitting ONNX nodes for the backward graph: fresh names, small constant initializers, and the opset-dependent
 * spellings of common ops (ReduceSum takes its axes as an input from opset 13, ReduceMean only from opset 18, …),
 * so gradient rules can say what they compute without caring how the model's opset writes it.
 */
import { onnx } from '../onnx/model';
import type { NodeProto, TensorProto } from '../onnx/model';

/** An attribute value, tagged with its ONNX kind so an integer 1 and a float 1.0 are never confused. */
export type Attr =
  | { i: number }
  | { f: number }
  | { ints: number[] }
  | { floats: number[] }
  | { s: string }
  | { t: onnx.ITensorProto };

export type Attrs = Record<string, Attr>;

const A = onnx.AttributeProto.AttributeType;
const D = onnx.TensorProto.DataType;

export function makeAttribute(name: string, v: Attr): onnx.AttributeProto {
  if ('i' in v) return onnx.AttributeProto.create({ name, type: A.INT, i: v.i });
  if ('f' in v) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: v.f });
  if ('ints' in v) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v.ints });
  if ('floats' in v) return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.floats });
  if ('s' in v) return onnx.AttributeProto.create({ name, type: A.STRING, s: Buffer.from(v.s) });
  return onnx.AttributeProto.create({ name, type: A.TENSOR, t: v.t });
}

export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private count = 0;
  private scalars = new Map<string, string>();
  /** The opset the emitted nodes are written for; rules may raise it with requireOpset. */
  opset: number;
  minOpset: number;

  constructor(
    private readonly prefix: string,
    opset: number,
    private readonly taken: Set<string> = new Set(),
  ) {
    this.opset = opset;
    this.minOpset = opset;
  }

  /** A tensor name no other tensor in the graph has. */
  fresh(hint: string): string {
    for (;;) {
      // Stryker disable next-line UpdateOperator: counting down gives unique names too (the taken check below is what guarantees them)
      const name = `${this.prefix}${hint}_${this.count++}`;
      if (!this.taken.has(name)) {
        this.taken.add(name);
        return name;
      }
    }
  }

  /** Why the opset was raised (for errors that must refuse the raise), set by the rule that raised it most. */
  opsetReason = '';

  /**
   * Asks for a newer opset than the model's (ops such as ScatterElements with reduction="add" need 16); `why` says
   * which gradient needs it, for the error when the model cannot take the raise.
   */
  requireOpset(v: number, why: string): void {
    if (v > this.minOpset) this.opsetReason = why;
    this.minOpset = Math.max(this.minOpset, v);
  }

  ops(opType: string, inputs: string[], attrs: Attrs = {}, outputs = 1): string[] {
    // Stryker disable next-line MethodExpression: the hint's case only changes how names read; fresh() makes them unique
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    const node = onnx.NodeProto.create({
      opType,
      name: this.fresh(opType),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
    });
    this.nodes.push(node);
    if (opType === 'Expand') this.expanded.set(outs[0], inputs[0]);
    return outs;
  }

  private expanded = new Map<string, string>();

  /**
   * The tensor under `t` when t is the output of an Expand emitted here (a gradient broadcast back over reduced
   * axes), else t. A product of t with a tensor of t's full shape may use it instead: the Mul broadcasts it to the
   * same result without writing the expanded copy first (the Expand is then dropped as dead).
   */
  unexpanded(t: string): string {
    return this.expanded.get(t) ?? t;
  }

  op(opType: string, inputs: string[], attrs: Attrs = {}): string {
    return this.ops(opType, inputs, attrs, 1)[0];
  }

  /** Same as op() but writes into a given output name (used for the graph's named outputs). */
  opInto(opType: string, inputs: string[], output: string, attrs: Attrs = {}): string {
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: this.fresh(opType),
        input: inputs,
        output: [output],
        attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
      }),
    );
    return output;
  }

  /** A float32 initializer. */
  // Stryker disable next-line StringLiteral: a name hint; fresh() makes names unique
  f32(values: ArrayLike<number>, dims: number[], hint = 'const'): string {
    const name = this.fresh(hint);
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: D.FLOAT, floatData: Array.from(values) }),
    );
    return name;
  }

  /** A float32 scalar (rank 0), shared between uses of the same value. */
  scalar(v: number): string {
    const key = String(v);
    let name = this.scalars.get(key);
    if (!name) {
      // Stryker disable next-line StringLiteral: a name hint; fresh() makes names unique
      name = this.f32([v], [], 'scalar');
      this.scalars.set(key, name);
    }
    return name;
  }

  i64(values: number[], dims: number[] = [values.length]): string {
    // Stryker disable next-line StringLiteral: a name hint; fresh() makes names unique
    const name = this.fresh('ints');
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: D.INT64, int64Data: values }));
    return name;
  }

  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }
  neg(a: string): string {
    return this.op('Neg', [a]);
  }
  /** 1.0 where the boolean is true, else 0.0. */
  castFloat(b: string): string {
    return this.op('Cast', [b], { to: { i: D.FLOAT } });
  }

  shape(x: string): string {
    return this.op('Shape', [x]);
  }

  /** g reshaped to x's run-time shape: the gradient of every pure re-layout op (Reshape, Flatten, Squeeze, …). */
  reshapeLike(g: string, x: string): string {
    return this.op('Reshape', [g, this.shape(x)]);
  }

  reshape(x: string, dims: number[]): string {
    return this.op('Reshape', [x, this.i64(dims)]);
  }

  transpose(x: string, perm: number[]): string {
    return this.op('Transpose', [x], { perm: { ints: perm } });
  }

  /** Zeros with x's run-time shape. ConstantOfShape rather than x*0, which would turn inf into NaN. */
  zerosLike(x: string): string {
    const zero = onnx.TensorProto.create({ dims: [1], dataType: D.FLOAT, floatData: [0] });
    // Stryker disable next-line ObjectLiteral: ConstantOfShape's default value is a float32 0, the same tensor (written out so the type is explicit)
    return this.op('ConstantOfShape', [this.shape(x)], { value: { t: zero } });
  }

  reduceSum(x: string, axes: number[] | undefined, keepdims: boolean): string {
    const attrs: Attrs = { keepdims: { i: keepdims ? 1 : 0 } };
    // From opset 13 ReduceSum takes axes as an optional input; omitted means "all axes".
    return this.op('ReduceSum', axes === undefined ? [x] : [x, this.i64(axes)], attrs);
  }

  reduceMean(x: string, axes: number[] | undefined, keepdims: boolean): string {
    const attrs: Attrs = { keepdims: { i: keepdims ? 1 : 0 } };
    if (this.opset >= 18) return this.op('ReduceMean', axes === undefined ? [x] : [x, this.i64(axes)], attrs);
    if (axes !== undefined) attrs.axes = { ints: axes };
    return this.op('ReduceMean', [x], attrs);
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.op('Unsqueeze', [x, this.i64(axes)]);
  }

  squeeze(x: string, axes: number[]): string {
    return this.op('Squeeze', [x, this.i64(axes)]);
  }

  /** The sum of gradient contributions (all of the same shape). */
  sum(parts: string[]): string {
    if (parts.length === 1) return parts[0];
    return this.op('Sum', parts);
  }
}

/**
 * Slice: the gradient puts dY back where the slice came from and zeros elsewhere. Unit-step axes are restored
 * with one Pad; strided or reversed axes with a 0/1 selection matrix (MatMul), which handles any step.
 * starts/ends/axes/steps must be constants (they are in exported models).
 */
import { registerGradient } from '../registry';
import type { GradContext } from '../registry';
import { range } from './util';

/**
 * dY moved along `axis` by a row-major [outLen, inLen] matrix m: result[…, i, …] = Σₒ m[o, i]·g[…, o, …]. The last
 * two axes need no Transpose (g·m, or mᵀ·g with mᵀ stored as the constant); other axes are moved last and back.
 */
export function alongAxis(ctx: GradContext, g: string, axis: number, rank: number, m: Float32Array, outLen: number, inLen: number): string {
  const { e } = ctx;
  // Stryker disable next-line ArithmeticOperator,StringLiteral: a condition never true sends the last axis through the moved-axis form, the same values (the last two axes skip Transposes); the string is a name prefix
  if (axis === rank - 1) return e.op('MatMul', [g, e.f32(m, [outLen, inLen], 'along_axis')]);
  // Stryker disable next-line ArithmeticOperator,BlockStatement: the moved-axis form gives the same values; the last two axes skip Transposes
  if (axis === rank - 2) {
    const t = new Float32Array(m.length);
    // Stryker disable next-line EqualityOperator: a typed-array write past the end is dropped
    for (let o = 0; o < outLen; o++) for (let i = 0; i < inLen; i++) t[i * outLen + o] = m[o * inLen + i];
    // Stryker disable next-line StringLiteral: a name prefix: the Emitter makes constant names unique
    return e.op('MatMul', [e.f32(t, [inLen, outLen], 'along_axis_t'), g]);
  }
  const perm = range(rank);
  perm[axis] = rank - 1;
  perm[rank - 1] = axis;
  // Stryker disable next-line StringLiteral: a name prefix: the Emitter makes constant names unique
  return e.transpose(e.op('MatMul', [e.transpose(g, perm), e.f32(m, [outLen, inLen], 'along_axis')]), perm);
}

registerGradient({
  op: 'Slice',
  constInputs: [1, 2, 3, 4],
  grad: (ctx) => {
    const { e, x } = ctx;
    const dims = ctx.dims(x[0]);
    const rank = dims.length;
    const val = (i: number, what: string) => {
      const v = ctx.constValue(i);
      if (!v) throw ctx.fail(`its ${what} input must be constant`);
      return v.data;
    };
    const starts = val(1, 'starts');
    const ends = val(2, 'ends');
    const axes = x[3] ? val(3, 'axes') : range(starts.length);
    const steps = x[4] ? val(4, 'steps') : starts.map(() => 1);
    const pads = new Array<number>(2 * rank).fill(0);
    let g = ctx.dy[0] as string;
    axes.forEach((a0, k) => {
      const a = a0 < 0 ? a0 + rank : a0;
      const n = dims[a];
      if (typeof n !== 'number') throw ctx.fail(`axis ${a} of "${x[0]}" is sliced but its size is symbolic`);
      const step = steps[k];
      let s = starts[k] < 0 ? starts[k] + n : starts[k];
      let t = ends[k] < 0 ? ends[k] + n : ends[k];
      // Stryker disable next-line EqualityOperator: step 0 is invalid in ONNX
      if (step > 0) {
        s = Math.min(Math.max(s, 0), n);
        t = Math.min(Math.max(t, 0), n);
      } else {
        s = Math.min(Math.max(s, 0), n - 1);
        t = Math.min(Math.max(t, -1), n - 1);
      }
      const count = Math.max(0, Math.ceil((t - s) / step));
      if (step === 1) {
        pads[a] = s;
        pads[a + rank] = n - s - count;
      } else {
        const m = new Float32Array(count * n);
        for (let o = 0; o < count; o++) m[o * n + s + o * step] = 1;
        g = alongAxis(ctx, g, a, rank, m, count, n);
      }
    });
    // Stryker disable next-line ConditionalExpression: a Pad of zeros is the identity
    if (pads.some((p) => p !== 0)) g = e.op('Pad', [g, e.i64(pads)]);
    return [g];
  },
});

/**
 * Pow x^p: dx = dy · p · x^(p−1); dp = dy · y · ln x (only when the exponent itself varies).
 *
 * A constant exponent that is an integer or a half-integer (one value for all elements: 2 for a sum of squares,
 * 0.5, −1, −0.5, 3 …) gets x^(p−1) without a Pow: a square-and-multiply chain of Muls, a Sqrt for the half, and a
 * Div for negative powers. onnxruntime's Pow is fast only for the exponents 2 and 3; any other exponent (the 1 of a
 * square's gradient, too) runs std::pow per element (profiler, 8 × 128 × 128 × 9 floats, one thread, busy machine:
 * Pow(x, 2) 13.7 ms, Pow(x, 3) 15.3, Pow(x, 1) 78.4, Pow(x, 0.5) 66.5, Pow(x, 1.7) 84.6, Mul(x, x) 9.5). On a
 * StyleGAN2 generator with fused weight demodulation (Pow(w, 2) on the [N, Cout, Cin, 3, 3] per-sample weights;
 * bench/autodiff stylegan2-fused, batch 8, one thread) this rule alone took loss + gradient from 5.8× one forward
 * to 4.4×; the rest of the excess was the Conv rules' (ops/conv.ts, convWeightGrad in ops/util.ts).
 *
 * Other exponents (constants that are not multiples of 0.5, such as 0.3; constant tensors holding several values;
 * exponents that vary or are computed) keep the general Pow(x, p − 1). (x^(p−1) = y / x would avoid the Pow for
 * every p but gives 0/0 at x = 0, where the true x^(p−1) is 0 for p > 1: after a ReLU such zeros are common.)
 */
import type { Emitter } from '../emit';
import { registerGradient } from '../registry';
import { reduceTo } from './util';

/** The largest |2·(p − 1)| written as a chain; beyond it one Pow is cheaper than the chain (and rarely met). */
const MAX_CHAIN = 16;

/** x^n for an integer n ≥ 1 by square-and-multiply: ⌊log2 n⌋ squarings plus one Mul per further set bit. */
function intPower(e: Emitter, x: string, n: number): string {
  let result: string | undefined;
  let sq = x;
  for (let k = n; k > 0; k >>= 1) {
    if (k & 1) result = result === undefined ? sq : e.mul(result, sq);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a last squaring that no Mul reads is dropped with the unused backward nodes
    if (k > 1) sq = e.mul(sq, sq);
  }
  return result as string;
}

/** x^q for q a non-negative multiple of 0.5 (q > 0), as Sqrt and Muls. */
function halfPower(e: Emitter, x: string, q: number): string {
  const n = Math.floor(q);
  const half = q - n === 0.5 ? e.op('Sqrt', [x]) : undefined;
  if (n === 0) return half as string;
  const whole = intPower(e, x, n);
  return half ? e.mul(whole, half) : whole;
}

/**
 * dy · p · x^(p−1) without Pow, or undefined when p is not a multiple of 0.5 within the chain limit.
 * x^(p−1) for negative p − 1 is written as a Div by x^(1−p), which keeps x = 0 at ±inf as Pow does.
 */
export function constPowGrad(e: Emitter, x: string, dy: string, p: number, sameShape: boolean): string | undefined {
  const q = p - 1;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: MAX_CHAIN picks a Mul chain or one Pow for the same values (speed only)
  if (!Number.isFinite(p) || !Number.isInteger(2 * q) || Math.abs(2 * q) > MAX_CHAIN) return undefined;
  if (q === 0) return e.mul(dy, e.scalar(p));
  // When x has dy's shape, dy may stay un-expanded: a sum of squares' gradient arrives as Expand(dsum), and scaling
  // the small dsum and letting the last Mul broadcast it saves two passes over x.
  const scaled = e.mul(sameShape ? e.unexpanded(dy) : dy, e.scalar(p));
  // Stryker disable next-line EqualityOperator: q = 0 returned above
  if (q > 0) return e.mul(scaled, halfPower(e, x, q));
  return e.div(scaled, halfPower(e, x, -q));
}

registerGradient({
  op: 'Pow',
  // Stryker disable next-line ArrayDeclaration: without the constant exponent the general Pow form gives the same values (slower)
  constInputs: [1],
  grad: (ctx) => {
    const { e, x, y } = ctx;
    const g = ctx.dy[0] as string;
    const yDims = ctx.dims(y[0]);
    // Stryker disable next-line ArrayDeclaration: entries never set read as undefined either way
    const out: (string | undefined)[] = [undefined, undefined];
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(0)) {
      // One exponent for every element (a scalar, or a constant tensor holding one value) can be written out.
      const c = ctx.needs(1) ? undefined : ctx.constValue(1);
      // Stryker disable next-line EqualityOperator: a constant exponent has at least one element
      const p = c && c.data.length > 0 && c.data.every((v) => v === c.data[0]) ? c.data[0] : undefined;
      let dx: string | undefined;
      // Stryker disable next-line ConditionalExpression: p = 0 through constPowGrad gives dy·0·x⁻¹ = 0, the same zero gradient
      if (p === 0) dx = undefined;
      else if (p !== undefined) {
        const xDims = ctx.dims(x[0]);
        const same = xDims.length === yDims.length && xDims.every((d, i) => d === yDims[i]);
        dx = constPowGrad(e, x[0], g, p, same);
      }
      // Stryker disable next-line ConditionalExpression: the general Pow form gives the same values as the chain (slower)
      if (dx === undefined && p !== 0) {
        // The exponent may be an integer tensor; the arithmetic below is float32.
        const pf = e.castFloat(x[1]);
        dx = e.mul(g, e.mul(pf, e.op('Pow', [x[0], e.sub(pf, e.scalar(1))])));
      }
      // x^0 = 1: no gradient reaches x (the engine fills zeros where a variable gets none).
      if (dx !== undefined) out[0] = reduceTo(ctx, dx, yDims, x[0]);
    }
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(1)) out[1] = reduceTo(ctx, e.mul(g, e.mul(y[0], e.op('Log', [x[0]]))), yDims, x[1]);
    return out;
  },
});

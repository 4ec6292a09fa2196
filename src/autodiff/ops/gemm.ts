/**
 * Gemm Y = α·A'·B' + β·C (A' = A or Aᵀ by transA, likewise B'): each gradient is itself one Gemm with the
 * transpose flags chosen so no explicit Transpose is needed; dC is β·dY summed back to C's (broadcast) shape.
 */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Gemm',
  grad: (ctx) => {
    const { e, x } = ctx;
    const g = ctx.dy[0] as string;
    const alpha = ctx.attrFloat('alpha', 1);
    const beta = ctx.attrFloat('beta', 1);
    const tA = ctx.attrInt('transA', 0);
    const tB = ctx.attrInt('transB', 0);
    const gemm = (p: string, q: string, ta: number, tb: number) =>
      e.op('Gemm', [p, q], { alpha: { f: alpha }, transA: { i: ta }, transB: { i: tb } });
    // Stryker disable next-line ArrayDeclaration: entries never set read as undefined either way
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    // dA' = α·dY·B'ᵀ; dA = dA' or its transpose.
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(0)) out[0] = tA ? gemm(x[1], g, tB, 1) : gemm(g, x[1], 0, tB ? 0 : 1);
    // dB' = α·A'ᵀ·dY; dB = dB' or its transpose.
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(1)) out[1] = tB ? gemm(g, x[0], 1, tA) : gemm(x[0], g, tA ? 0 : 1, 0);
    // Stryker disable next-line LogicalOperator: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (x[2] && ctx.needs(2)) {
      // Stryker disable next-line ConditionalExpression: a Mul by beta = 1 gives the same values (one node more)
      const gc = beta === 1 ? g : e.mul(g, e.scalar(beta));
      out[2] = reduceTo(ctx, gc, ctx.dims(ctx.y[0]), x[2]);
    }
    return out;
  },
});

/**
 * LayerNormalization (opset 17) y = x̂·scale + B with x̂ normalized over the axes from `axis` on:
 * dX = (1/σ)·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dY·scale; dscale = Σ dY·x̂ and dB = Σ dY over the leading axes.
 * Only the first output (Y) may carry a gradient.
 */
import { registerGradient } from '../registry';
import { range, reduceTo } from './util';

registerGradient({
  op: 'LayerNormalization',
  grad: (ctx) => {
    const { e, x, y } = ctx;
    if (ctx.dy.slice(1).some((d) => d !== undefined)) throw ctx.fail('gradients through the Mean/InvStdDev outputs are not supported');
    const g = ctx.dy[0] as string;
    const rank = ctx.rank(x[0]);
    let axis = ctx.attrInt('axis', -1);
    if (axis < 0) axis += rank;
    const axes = range(rank - axis, axis);
    const eps = ctx.attrFloat('epsilon', 1e-5);
    const centered = e.sub(x[0], e.reduceMean(x[0], axes, true));
    const invStd = e.div(e.scalar(1), e.op('Sqrt', [e.add(e.reduceMean(e.mul(centered, centered), axes, true), e.scalar(eps))]));
    const xhat = e.mul(centered, invStd);
    const d = ctx.dims(y[0]);
    // Stryker disable next-line ArrayDeclaration: entries never set read as undefined either way
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(0)) {
      const gs = e.mul(g, x[1]);
      const inner = e.sub(e.sub(gs, e.reduceMean(gs, axes, true)), e.mul(xhat, e.reduceMean(e.mul(gs, xhat), axes, true)));
      out[0] = e.mul(inner, invStd);
    }
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(1)) out[1] = reduceTo(ctx, e.mul(g, xhat), d, x[1]);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (x[2] && ctx.needs(2)) out[2] = reduceTo(ctx, g, d, x[2]);
    return out;
  },
});

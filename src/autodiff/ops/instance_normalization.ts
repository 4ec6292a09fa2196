/**
 * InstanceNormalization y = scale·x̂ + B with x̂ normalized over the spatial axes of each (sample, channel):
 * dX = scale/σ·(dY − mean(dY) − x̂·mean(dY·x̂)), the usual normalization backward, means over spatial axes.
 */
import { registerGradient } from '../registry';
import { channelSum, perChannel, range } from './util';

registerGradient({
  op: 'InstanceNormalization',
  grad: (ctx) => {
    const { e, x } = ctx;
    const g = ctx.dy[0] as string;
    const rank = ctx.rank(x[0]);
    const sp = range(rank - 2, 2);
    const eps = ctx.attrFloat('epsilon', 1e-5);
    const centered = e.sub(x[0], e.reduceMean(x[0], sp, true));
    const invStd = e.div(
      e.scalar(1),
      e.op('Sqrt', [e.add(e.reduceMean(e.mul(centered, centered), sp, true), e.scalar(eps))]),
    );
    const xhat = e.mul(centered, invStd);
    // Stryker disable next-line ArrayDeclaration: entries never set read as undefined either way
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(0)) {
      const inner = e.sub(e.sub(g, e.reduceMean(g, sp, true)), e.mul(xhat, e.reduceMean(e.mul(g, xhat), sp, true)));
      out[0] = e.mul(e.mul(inner, invStd), perChannel(ctx, x[1], rank));
    }
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(1)) out[1] = channelSum(ctx, e.mul(g, xhat), rank);
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(2)) out[2] = channelSum(ctx, g, rank);
    return out;
  },
});

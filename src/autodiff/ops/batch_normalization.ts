/**
 * BatchNormalization in inference mode y = (x − mean)/√(var + ε)·scale + B: dX = dY·scale/√(var + ε);
 * dscale = Σ dY·x̂ and dB = Σ dY over all axes but the channels. Running statistics are constants.
 */
import { registerGradient } from '../registry';
import { channelSum, perChannel } from './util';

registerGradient({
  op: 'BatchNormalization',
  grad: (ctx) => {
    const { e, x } = ctx;
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,StringLiteral,ArrowFunction,BlockStatement: unreachable through gradientModel — onnxruntime refuses to load a training-mode BatchNormalization (refusals.test), a defensive guard
    if (ctx.attrInt('training_mode', 0) === 1 || ctx.dy.slice(1).some((d) => d !== undefined)) {
      // Stryker disable next-line StringLiteral: the message of the unreachable guard above
      throw ctx.fail('training mode (batch statistics) is not supported; export the model in eval mode');
    }
    if (ctx.needs(3) || ctx.needs(4)) throw ctx.fail('gradients w.r.t. the running mean and variance are not supported');
    const g = ctx.dy[0] as string;
    const rank = ctx.rank(x[0]);
    const eps = ctx.attrFloat('epsilon', 1e-5);
    const invStd = perChannel(ctx, e.div(e.scalar(1), e.op('Sqrt', [e.add(x[4], e.scalar(eps))])), rank);
    // Stryker disable next-line ArrayDeclaration: entries never set read as undefined either way
    const out: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(0)) out[0] = e.mul(g, e.mul(invStd, perChannel(ctx, x[1], rank)));
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(1)) {
      const xhat = e.mul(e.sub(x[0], perChannel(ctx, x[3], rank)), invStd);
      out[1] = channelSum(ctx, e.mul(g, xhat), rank);
    }
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(2)) out[2] = channelSum(ctx, g, rank);
    return out;
  },
});

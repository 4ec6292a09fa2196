/**
 * ConvTranspose is the adjoint of Conv, so its input gradient is a plain Conv of dY with the same
 * strides/pads/dilations/group, and its weight gradient is Conv's weight gradient with input and output swapped.
 */
import { registerGradient } from '../registry';
import { channelSum, convAttrs, convDims, convGeometry, convWeightGrad } from './util';

registerGradient({
  op: 'ConvTranspose',
  grad: (ctx) => {
    const { e, x } = ctx;
    const g = ctx.dy[0] as string;
    const { xDims, wDims, yDims } = convDims(ctx);
    const autoPad = ctx.attrString('auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw ctx.fail(`auto_pad ${autoPad} is not supported; export with explicit pads`);
    if (ctx.hasAttr('output_shape')) throw ctx.fail('the output_shape attribute is not supported; export with explicit pads and output_padding');
    const geo = convGeometry(ctx, xDims.slice(2), wDims.slice(2));
    // Stryker disable next-line ArrayDeclaration: entries never set read as undefined either way
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(0)) {
      out[0] = e.op('Conv', [g, x[1]], convAttrs(geo));
    }
    // Seen from dY's side, the forward op is a Conv from Y (input) to X (output) with the same weight layout.
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(1)) out[1] = convWeightGrad(e, g, x[0], yDims, xDims, geo);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (x[2] && ctx.needs(2)) out[2] = channelSum(ctx, g, xDims.length);
    return out;
  },
});

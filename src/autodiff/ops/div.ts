/** Div y = a/b: dy/b for a, −dy·y/b for b, each summed back to its input's shape. */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Div',
  grad: (ctx) => {
    const { e, x, y } = ctx;
    const g = ctx.dy[0] as string;
    const d = ctx.dims(y[0]);
    // Stryker disable next-line ConditionalExpression,StringLiteral: the rule runs only when an input wants a gradient; the shared quotient is dropped when unused
    const gb = ctx.needs(0) || ctx.needs(1) ? e.div(g, x[1]) : '';
    return [
      ctx.needs(0) ? reduceTo(ctx, gb, d, x[0]) : undefined,
      ctx.needs(1) ? reduceTo(ctx, e.neg(e.mul(gb, y[0])), d, x[1]) : undefined,
    ];
  },
});

/** Where(c, a, b): dy where c holds to a, elsewhere to b; the condition has no gradient. */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Where',
  grad: (ctx) => {
    const { e, x } = ctx;
    const g = ctx.dy[0] as string;
    const d = ctx.dims(ctx.y[0]);
    // A broadcast scalar zero: Where selects, so no full zeros tensor is needed.
    const zero = e.scalar(0);
    return [
      undefined,
      ctx.needs(1) ? reduceTo(ctx, e.op('Where', [x[0], g, zero]), d, x[1]) : undefined,
      ctx.needs(2) ? reduceTo(ctx, e.op('Where', [x[0], zero, g]), d, x[2]) : undefined,
    ];
  },
});

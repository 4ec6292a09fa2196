/** Sub: dy and −dy, each summed back to its input's shape. */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Sub',
  grad: (ctx) => {
    const g = ctx.dy[0] as string;
    const d = ctx.dims(ctx.y[0]);
    return [
      ctx.needs(0) ? reduceTo(ctx, g, d, ctx.x[0]) : undefined,
      ctx.needs(1) ? reduceTo(ctx, ctx.e.neg(g), d, ctx.x[1]) : undefined,
    ];
  },
});

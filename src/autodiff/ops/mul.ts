/** Mul: dy·b for a, dy·a for b, each summed back to its input's shape. */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Mul',
  grad: (ctx) => {
    const { e, x } = ctx;
    const g = ctx.dy[0] as string;
    const d = ctx.dims(ctx.y[0]);
    return [
      ctx.needs(0) ? reduceTo(ctx, e.mul(g, x[1]), d, x[0]) : undefined,
      ctx.needs(1) ? reduceTo(ctx, e.mul(g, x[0]), d, x[1]) : undefined,
    ];
  },
});

/** PRelu y = x > 0 ? x : slope·x: dX = dY or dY·slope; dslope = dY·x where x ≤ 0, summed to slope's shape. */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'PRelu',
  grad: (ctx) => {
    const { e, x, y } = ctx;
    const g = ctx.dy[0] as string;
    const pos = e.op('Greater', [x[0], e.scalar(0)]);
    const d = ctx.dims(y[0]);
    return [
      ctx.needs(0) ? reduceTo(ctx, e.op('Where', [pos, g, e.mul(g, x[1])]), d, x[0]) : undefined,
      ctx.needs(1) ? reduceTo(ctx, e.op('Where', [pos, e.scalar(0), e.mul(g, x[0])]), d, x[1]) : undefined,
    ];
  },
});

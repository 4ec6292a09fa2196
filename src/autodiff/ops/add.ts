/** Add: dy to both inputs, summed over the axes each was broadcast along. */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Add',
  grad: (ctx) => {
    const g = ctx.dy[0] as string;
    const d = ctx.dims(ctx.y[0]);
    return [0, 1].map((i) => (ctx.needs(i) ? reduceTo(ctx, g, d, ctx.x[i]) : undefined));
  },
});

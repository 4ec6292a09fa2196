/** Sum (variadic, broadcasting): dy to every input, summed back to its shape. */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Sum',
  grad: (ctx) => {
    const g = ctx.dy[0] as string;
    const d = ctx.dims(ctx.y[0]);
    return ctx.x.map((name, i) => (ctx.needs(i) ? reduceTo(ctx, g, d, name) : undefined));
  },
});

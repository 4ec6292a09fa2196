/**
 * Max / Min (element-wise, variadic, broadcasting): dY goes to the input that holds the result, summed back to
 * its shape. On exact ties every tied input receives it. Mean: dY/n to each input.
 */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

for (const op of ['Max', 'Min']) {
  registerGradient({
    op,
    grad: (ctx) => {
      const { e, x, y } = ctx;
      const g = ctx.dy[0] as string;
      const d = ctx.dims(y[0]);
      return x.map((name, i) =>
        ctx.needs(i) ? reduceTo(ctx, e.mul(g, e.castFloat(e.op('Equal', [name, y[0]]))), d, name) : undefined,
      );
    },
  });
}

registerGradient({
  op: 'Mean',
  grad: (ctx) => {
    const g = ctx.e.mul(ctx.dy[0] as string, ctx.e.scalar(1 / ctx.x.length));
    const d = ctx.dims(ctx.y[0]);
    return ctx.x.map((name, i) => (ctx.needs(i) ? reduceTo(ctx, g, d, name) : undefined));
  },
});

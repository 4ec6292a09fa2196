/** Expand: dY summed over the axes the input was broadcast along. */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Expand',
  grad: (ctx) => [reduceTo(ctx, ctx.dy[0] as string, ctx.dims(ctx.y[0]), ctx.x[0])],
});

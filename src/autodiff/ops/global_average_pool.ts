/** GlobalAveragePool: dY spread evenly over the spatial positions. */
import { registerGradient } from '../registry';

registerGradient({
  op: 'GlobalAveragePool',
  grad: (ctx) => {
    const { e, x } = ctx;
    const sp = ctx.staticDims(x[0], 'the GlobalAveragePool gradient').slice(2);
    const n = sp.reduce((a, b) => a * b, 1);
    return [e.div(e.op('Expand', [ctx.dy[0] as string, e.shape(x[0])]), e.scalar(n))];
  },
});

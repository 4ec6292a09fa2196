/** GlobalAveragePool: dY spread evenly over the spatial positions. */
import { registerGradient } from '../registry';
import { numel } from '../../runtime/tensor';

registerGradient({
  op: 'GlobalAveragePool',
  grad: (ctx) => {
    const { e, x } = ctx;
    const sp = ctx.staticDims(x[0], 'the GlobalAveragePool gradient').slice(2);
    const n = numel(sp);
    return [e.div(e.op('Expand', [ctx.dy[0] as string, e.shape(x[0])]), e.scalar(n))];
  },
});

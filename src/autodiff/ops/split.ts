/** Split: the outputs' gradients concatenated back along the axis (zeros for outputs no gradient reaches). */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Split',
  grad: (ctx) => [ctx.e.op('Concat', ctx.y.map((_, i) => ctx.dyOrZeros(i)), { axis: { i: ctx.attrInt('axis', 0) } })],
});

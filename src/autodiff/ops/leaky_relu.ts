/** LeakyRelu: dy where x > 0, alpha·dy elsewhere. */
import { registerGradient } from '../registry';

registerGradient({
  op: 'LeakyRelu',
  grad: (ctx) => {
    const { e, x } = ctx;
    const g = ctx.dy[0] as string;
    const alpha = ctx.attrFloat('alpha', 0.01);
    return [e.op('Where', [e.op('Greater', [x[0], e.scalar(0)]), g, e.mul(g, e.scalar(alpha))])];
  },
});

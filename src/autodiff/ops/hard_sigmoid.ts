/**
 * HardSigmoid y = clip(αx + β, 0, 1): dY·α inside the linear part. HardSwish y = x·clip(x/6 + 1/2, 0, 1):
 * 0 below −3, dY above 3, dY·(2x + 3)/6 between.
 */
import { registerGradient } from '../registry';

registerGradient({
  op: 'HardSigmoid',
  grad: (ctx) => {
    const { e, x } = ctx;
    const alpha = ctx.attrFloat('alpha', 0.2);
    const beta = ctx.attrFloat('beta', 0.5);
    const v = e.add(e.mul(x[0], e.scalar(alpha)), e.scalar(beta));
    const inside = e.op('And', [e.op('Greater', [v, e.scalar(0)]), e.op('Less', [v, e.scalar(1)])]);
    return [e.mul(e.mul(ctx.dy[0] as string, e.scalar(alpha)), e.castFloat(inside))];
  },
});

registerGradient({
  op: 'HardSwish',
  grad: (ctx) => {
    const { e, x } = ctx;
    const g = ctx.dy[0] as string;
    const mid = e.mul(g, e.div(e.add(e.mul(x[0], e.scalar(2)), e.scalar(3)), e.scalar(6)));
    const upper = e.op('Where', [e.op('Greater', [x[0], e.scalar(3)]), g, mid]);
    return [e.op('Where', [e.op('Less', [x[0], e.scalar(-3)]), e.scalar(0), upper])];
  },
});

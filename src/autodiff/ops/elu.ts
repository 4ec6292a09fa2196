/** Elu: dY for x > 0, dY·(y + α) elsewhere; Selu likewise scaled by γ: dY·γ, dY·(y + α·γ). */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Elu',
  grad: (ctx) => {
    const { e, x, y } = ctx;
    const g = ctx.dy[0] as string;
    const alpha = ctx.attrFloat('alpha', 1);
    return [e.op('Where', [e.op('Greater', [x[0], e.scalar(0)]), g, e.mul(g, e.add(y[0], e.scalar(alpha)))])];
  },
});

registerGradient({
  op: 'Selu',
  grad: (ctx) => {
    const { e, x, y } = ctx;
    const g = ctx.dy[0] as string;
    const alpha = ctx.attrFloat('alpha', 1.67326319217681884765625);
    const gamma = ctx.attrFloat('gamma', 1.05070102214813232421875);
    return [
      e.op('Where', [
        e.op('Greater', [x[0], e.scalar(0)]),
        e.mul(g, e.scalar(gamma)),
        e.mul(g, e.add(y[0], e.scalar(alpha * gamma))),
      ]),
    ];
  },
});

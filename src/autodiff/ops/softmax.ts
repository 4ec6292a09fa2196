/**
 * Softmax (opset 13 semantics: along one axis): dX = y·(dY − Σ dY·y); LogSoftmax: dX = dY − exp(y)·Σ dY.
 */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Softmax',
  grad: (ctx) => {
    const { e, y } = ctx;
    const g = ctx.dy[0] as string;
    const axis = ctx.attrInt('axis', -1);
    const s = e.reduceSum(e.mul(g, y[0]), [axis], true);
    return [e.mul(y[0], e.sub(g, s))];
  },
});

registerGradient({
  op: 'LogSoftmax',
  grad: (ctx) => {
    const { e, y } = ctx;
    const g = ctx.dy[0] as string;
    const axis = ctx.attrInt('axis', -1);
    return [e.sub(g, e.mul(e.op('Exp', [y[0]]), e.reduceSum(g, [axis], true)))];
  },
});

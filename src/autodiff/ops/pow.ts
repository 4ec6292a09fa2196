/** Pow x^p: dx = dy · p · x^(p−1); dp = dy · y · ln x (only when the exponent itself varies). */
import { registerGradient } from '../registry';
import { reduceTo } from './util';

registerGradient({
  op: 'Pow',
  grad: (ctx) => {
    const { e, x, y } = ctx;
    const g = ctx.dy[0] as string;
    const yDims = ctx.dims(y[0]);
    const out: (string | undefined)[] = [undefined, undefined];
    if (ctx.needs(0)) {
      // The exponent may be an integer tensor; the arithmetic below is float32.
      const p = e.castFloat(x[1]);
      const xp = e.op('Pow', [x[0], e.sub(p, e.scalar(1))]);
      out[0] = reduceTo(ctx, e.mul(g, e.mul(p, xp)), yDims, x[0]);
    }
    if (ctx.needs(1)) out[1] = reduceTo(ctx, e.mul(g, e.mul(y[0], e.op('Log', [x[0]]))), yDims, x[1]);
    return out;
  },
});

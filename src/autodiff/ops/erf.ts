/** Erf: dy · 2/√π · exp(−x²) (GELU exports contain it). */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Erf',
  grad: ({ e, x, dy }) => {
    const gauss = e.op('Exp', [e.neg(e.mul(x[0], x[0]))]);
    return [e.mul(dy[0] as string, e.mul(gauss, e.scalar(2 / Math.sqrt(Math.PI))))];
  },
});

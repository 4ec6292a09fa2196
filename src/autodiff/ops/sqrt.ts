/** Sqrt: dy / (2y). */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Sqrt',
  grad: ({ e, y, dy }) => [e.div(e.mul(dy[0] as string, e.scalar(0.5)), y[0])],
});

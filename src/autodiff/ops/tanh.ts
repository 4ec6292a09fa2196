/** Tanh: dy · (1 − y²). */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Tanh',
  grad: ({ e, y, dy }) => [e.mul(dy[0] as string, e.sub(e.scalar(1), e.mul(y[0], y[0])))],
});

/** Sigmoid: dy · y · (1 − y), from the output so nothing is recomputed. */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Sigmoid',
  grad: ({ e, y, dy }) => [e.mul(dy[0] as string, e.mul(y[0], e.sub(e.scalar(1), y[0])))],
});

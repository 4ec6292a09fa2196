/** Softplus log(1 + eˣ): dy · sigmoid(x). */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Softplus',
  grad: ({ e, x, dy }) => [e.mul(dy[0] as string, e.op('Sigmoid', [x[0]]))],
});

/** Reciprocal y = 1/x: −dy · y². (torch.rsqrt exports as Reciprocal(Sqrt) or Div(1, Sqrt).) */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Reciprocal',
  grad: ({ e, y, dy }) => [e.neg(e.mul(dy[0] as string, e.mul(y[0], y[0])))],
});

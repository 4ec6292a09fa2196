/** Abs: dy · sign(x) (0 at x = 0, as in PyTorch). */
import { registerGradient } from '../registry';

registerGradient({ op: 'Abs', grad: ({ e, x, dy }) => [e.mul(dy[0] as string, e.op('Sign', [x[0]]))] });

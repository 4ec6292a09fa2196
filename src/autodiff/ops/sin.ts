/** Sin: dY·cos x; Cos: −dY·sin x. */
import { registerGradient } from '../registry';

registerGradient({ op: 'Sin', grad: ({ e, x, dy }) => [e.mul(dy[0] as string, e.op('Cos', [x[0]]))] });
registerGradient({ op: 'Cos', grad: ({ e, x, dy }) => [e.neg(e.mul(dy[0] as string, e.op('Sin', [x[0]])))] });

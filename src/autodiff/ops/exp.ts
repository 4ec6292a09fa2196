/** Exp: dy · y. */
import { registerGradient } from '../registry';

registerGradient({ op: 'Exp', grad: ({ e, y, dy }) => [e.mul(dy[0] as string, y[0])] });

/** Neg: −dy. */
import { registerGradient } from '../registry';

registerGradient({ op: 'Neg', grad: ({ e, dy }) => [e.neg(dy[0] as string)] });

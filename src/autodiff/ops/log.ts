/** Log: dy / x. */
import { registerGradient } from '../registry';

registerGradient({ op: 'Log', grad: ({ e, x, dy }) => [e.div(dy[0] as string, x[0])] });

/** Pure re-layouts (Reshape, Flatten, Squeeze, Unsqueeze): the gradient is dY reshaped to the input's shape. */
import { registerGradient } from '../registry';

for (const op of ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']) {
  registerGradient({ op, grad: ({ e, x, dy }) => [e.reshapeLike(dy[0] as string, x[0])] });
}

/** GlobalMaxPool: dY to the spatial position(s) holding each channel's maximum. */
import { registerGradient } from '../registry';

registerGradient({
  op: 'GlobalMaxPool',
  grad: ({ e, x, y, dy }) => {
    const hit = e.castFloat(e.op('Equal', [x[0], y[0]]));
    return [e.mul(e.op('Expand', [dy[0] as string, e.shape(x[0])]), hit)];
  },
});

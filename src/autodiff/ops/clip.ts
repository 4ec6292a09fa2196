/**
 * Clip: dy where min ≤ x ≤ max (PyTorch's clamp passes the gradient at the bounds too). Bounds are inputs from
 * opset 11 (either may be omitted); compared as tensors, so they need not be constant.
 */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Clip',
  grad: (ctx) => {
    const { e, x } = ctx;
    let g = ctx.dy[0] as string;
    // A select, so a broadcast scalar zero gives the same values as a full zeros tensor, without making one.
    const zero = e.scalar(0);
    if (x[1]) g = e.op('Where', [e.op('Less', [x[0], x[1]]), zero, g]);
    if (x[2]) g = e.op('Where', [e.op('Greater', [x[0], x[2]]), zero, g]);
    return [g];
  },
});

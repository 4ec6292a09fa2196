/**
 * Gather with constant indices (a scalar or a 1-D list along one axis, as `z[:, 3]` or a channel pick exports):
 * the gradient adds each output slice back to the position it was read from — a 0/1 matrix along the axis, so
 * repeated indices accumulate.
 */
import { registerGradient } from '../registry';
import { alongAxis } from './slice';

registerGradient({
  op: 'Gather',
  constInputs: [1],
  grad: (ctx) => {
    const { e, x } = ctx;
    const idx = ctx.constValue(1);
    if (!idx) throw ctx.fail('its indices must be constant');
    if (idx.dims.length > 1) throw ctx.fail(`indices of rank ${idx.dims.length} are not supported (scalar or 1-D)`);
    const dims = ctx.dims(x[0]);
    const rank = dims.length;
    let axis = ctx.attrInt('axis', 0);
    if (axis < 0) axis += rank;
    const n = dims[axis];
    if (typeof n !== 'number') throw ctx.fail(`the gathered axis ${axis} has a symbolic size`);
    let g = ctx.dy[0] as string;
    // A scalar index drops the axis: put it back with size 1.
    if (idx.dims.length === 0) g = e.unsqueeze(g, [axis]);
    const count = idx.data.length;
    const m = new Float32Array(count * n);
    idx.data.forEach((v, o) => (m[o * n + (v < 0 ? v + n : v)] += 1));
    return [alongAxis(ctx, g, axis, rank, m, count, n)];
  },
});

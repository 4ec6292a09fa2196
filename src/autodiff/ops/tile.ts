/**
 * Tile: each input element was copied once per repeat, so its gradient sums dY over the copies: dY reshaped to
 * (r₀, d₀, r₁, d₁, …) and summed over the repeat axes (sizes must be known; repeats must be constant).
 */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Tile',
  constInputs: [1],
  grad: (ctx) => {
    const { e, x } = ctx;
    const reps = ctx.constValue(1);
    if (!reps) throw ctx.fail('its repeats must be constant');
    const dims = ctx.dims(x[0]);
    if (dims.some((d) => typeof d !== 'number')) throw ctx.fail('the input must have known sizes on every axis');
    const nd = dims as number[];
    const split: number[] = [];
    nd.forEach((d, i) => split.push(reps.data[i], d));
    const r = e.reshape(ctx.dy[0] as string, split);
    const summed = e.reduceSum(r, nd.map((_, i) => 2 * i), false);
    return [summed];
  },
});

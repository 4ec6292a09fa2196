/**
 * ReduceMax / ReduceMin: dY goes to the elements equal to the result (all of them when several tie, which random
 * float inputs practically never do); ReduceL2 y = √Σx²: dY·x/y; ReduceSumSquare: 2·dY·x.
 */
import { registerGradient } from '../registry';
import type { GradContext } from '../registry';
import { broadcastBack, reducedAxes } from './reduce_sum';

function grad(ctx: GradContext, kind: 'extreme' | 'l2' | 'square'): string {
  const { e, x } = ctx;
  const g = ctx.dy[0] as string;
  const axes = reducedAxes(ctx, 18);
  // noop_with_empty_axes with no axes: the op passes its input through.
  if (!axes) return g;
  const gb = broadcastBack(ctx, g, axes);
  if (kind === 'square') return e.mul(gb, e.mul(x[0], e.scalar(2)));
  const yb = broadcastBack(ctx, ctx.y[0], axes);
  if (kind === 'l2') return e.div(e.mul(gb, x[0]), yb);
  return e.mul(gb, e.castFloat(e.op('Equal', [x[0], yb])));
}

registerGradient({ op: 'ReduceMax', constInputs: [1], grad: (ctx) => [grad(ctx, 'extreme')] });
registerGradient({ op: 'ReduceMin', constInputs: [1], grad: (ctx) => [grad(ctx, 'extreme')] });
registerGradient({ op: 'ReduceL2', constInputs: [1], grad: (ctx) => [grad(ctx, 'l2')] });
registerGradient({ op: 'ReduceSumSquare', constInputs: [1], grad: (ctx) => [grad(ctx, 'square')] });

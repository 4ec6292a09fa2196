/**
 * ReduceSum and ReduceMean: dY (with the reduced axes restored when keepdims = 0) broadcast back to the input's
 * shape; ReduceMean also divides by the number of elements averaged. Axes are an input for ReduceSum from
 * opset 13 and for the other reductions from opset 18, an attribute before. The other reductions (max, min, L2,
 * sum of squares) reuse the broadcast-back step in their own files.
 */
import { registerGradient } from '../registry';
import type { GradContext } from '../registry';
import { range } from './util';
import { numel } from '../../runtime/tensor';

/** The normalized reduced axes of a Reduce* node, or undefined for noop_with_empty_axes with no axes. */
export function reducedAxes(ctx: GradContext, axesInputFrom: number): number[] | undefined {
  const { e, x } = ctx;
  const rank = ctx.rank(x[0]);
  let axes: number[] | undefined;
  if (e.opset >= axesInputFrom) {
    if (x[1]) {
      const v = ctx.constValue(1);
      if (!v) throw ctx.fail('the axes input must be constant');
      axes = v.data;
    }
  // Stryker disable next-line ConditionalExpression: attrInts without the attribute gives [], the same as no axes
  } else if (ctx.hasAttr('axes')) axes = ctx.attrInts('axes', []);
  if (axes === undefined || axes.length === 0) {
    if (ctx.attrInt('noop_with_empty_axes', 0) === 1) return undefined;
    axes = range(rank);
  }
  // Stryker disable next-line MethodExpression,ConditionalExpression,ArithmeticOperator: Unsqueeze and Expand take negative and unsorted axes alike
  return [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
}

/** dY (or y) with the reduced axes restored and broadcast to the input's shape. */
export function broadcastBack(ctx: GradContext, t: string, axes: number[]): string {
  const { e } = ctx;
  const kept = ctx.attrInt('keepdims', 1) === 0 ? e.unsqueeze(t, axes) : t;
  return e.op('Expand', [kept, e.shape(ctx.x[0])]);
}

function reduceGrad(ctx: GradContext, mean: boolean): string {
  const { e, x } = ctx;
  const axes = reducedAxes(ctx, mean ? 18 : 13);
  if (!axes) return ctx.dy[0] as string;
  let g = broadcastBack(ctx, ctx.dy[0] as string, axes);
  if (mean) {
    const dims = ctx.dims(x[0]);
    // Stryker disable next-line ArrowFunction: the run-time element count gives the same divisor
    const sizes = axes.map((a) => dims[a]);
    // Stryker disable next-line ArrowFunction,ConditionalExpression: the run-time element count gives the same divisor
    const count = sizes.every((s) => typeof s === 'number')
      ? e.scalar(numel(sizes as number[]))
      : // A symbolic (batch) axis is averaged over: count the elements at run time.
        e.castFloat(e.div(e.op('Size', [x[0]]), e.op('Size', [ctx.y[0]])));
    g = e.div(g, count);
  }
  return g;
}

registerGradient({ op: 'ReduceSum', constInputs: [1], grad: (ctx) => [reduceGrad(ctx, false)] });
registerGradient({ op: 'ReduceMean', constInputs: [1], grad: (ctx) => [reduceGrad(ctx, true)] });

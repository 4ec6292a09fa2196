/**
 * Pad (constant mode): the gradient is dY with the padding cut off again — a Pad by the negated pads, which
 * also restores the zeros where the forward Pad cropped (negative pads). reflect/edge are not supported.
 */
import { registerGradient } from '../registry';
import { range } from './util';

registerGradient({
  op: 'Pad',
  constInputs: [1, 3],
  grad: (ctx) => {
    const { e, x } = ctx;
    const mode = ctx.attrString('mode', 'constant');
    if (mode !== 'constant') throw ctx.fail(`mode "${mode}" is not supported (only "constant")`);
    const rank = ctx.rank(x[0]);
    const pv = ctx.constValue(1);
    if (!pv) throw ctx.fail('its pads input must be constant');
    const axes = x[3] ? (ctx.constValue(3)?.data ?? ctx.fail('its axes input must be constant')) : range(rank);
    const pads = new Array<number>(2 * rank).fill(0);
    const k = axes.length;
    axes.forEach((a0, i) => {
      const a = a0 < 0 ? a0 + rank : a0;
      pads[a] = pv.data[i];
      pads[a + rank] = pv.data[i + k];
    });
    const g = ctx.dy[0] as string;
    // Stryker disable next-line ArrowFunction,EqualityOperator,BlockStatement: a Pad by the negated pads crops the same as the Slice (the Slice is the faster form)
    if (pads.every((p) => p >= 0)) {
      // Plain cropping: a Slice is the cheapest and needs no sizes (ends counted from the back).
      const big = 2 ** 62;
      // Stryker disable next-line MethodExpression,ArithmeticOperator: slicing an unpadded axis from 0 to its end is the identity on it
      const ax = range(rank).filter((a) => pads[a] !== 0 || pads[a + rank] !== 0);
      if (ax.length === 0) return [g];
      return [
        e.op('Slice', [
          g,
          e.i64(ax.map((a) => pads[a])),
          e.i64(ax.map((a) => (pads[a + rank] > 0 ? -pads[a + rank] : big))),
          e.i64(ax),
        ]),
      ];
    }
    return [e.op('Pad', [g, e.i64(pads.map((p) => -p))])];
  },
});

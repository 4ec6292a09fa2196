/** Concat: each input's gradient is its slice of dY along the axis (sizes along the axis must be known). */
import { registerGradient } from '../registry';

registerGradient({
  op: 'Concat',
  grad: (ctx) => {
    const { e } = ctx;
    const rank = ctx.rank(ctx.y[0]);
    let axis = ctx.attrInt('axis', 0);
    if (axis < 0) axis += rank;
    let start = 0;
    return ctx.x.map((name, i) => {
      const size = ctx.dims(name)[axis];
      if (typeof size !== 'number') {
        throw ctx.fail(`input ${i} ("${name}") has a symbolic size along the concatenation axis ${axis}`);
      }
      const s = start;
      start += size;
      // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
      if (!ctx.needs(i)) return undefined;
      return e.op('Slice', [ctx.dy[0] as string, e.i64([s]), e.i64([s + size]), e.i64([axis])]);
    });
  },
});

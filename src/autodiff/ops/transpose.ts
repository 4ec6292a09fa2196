/** Transpose: dY transposed by the inverse permutation (the default perm reverses the axes). */
import { registerGradient } from '../registry';
import { range } from './util';

registerGradient({
  op: 'Transpose',
  grad: (ctx) => {
    const rank = ctx.rank(ctx.x[0]);
    const perm = ctx.attrInts('perm', range(rank).reverse());
    // Stryker disable next-line ArrayDeclaration: every entry is set by index
    const inv = new Array<number>(rank);
    perm.forEach((p, i) => (inv[p] = i));
    return [ctx.e.transpose(ctx.dy[0] as string, inv)];
  },
});

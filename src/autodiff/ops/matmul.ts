/**
 * MatMul with numpy semantics: dA = dY·Bᵀ, dB = Aᵀ·dY, summed over broadcast batch axes. 1-D operands are
 * promoted to matrices first (as numpy does) and the promoted axis is squeezed out of their gradient again.
 */
import { Dim } from '../../onnx/types';
import { registerGradient } from '../registry';
import type { GradContext } from '../registry';
import { range, reduceTo, reduceToDims } from './util';

/** Swaps the last two axes. */
function t(ctx: GradContext, x: string, rank: number): string {
  return ctx.e.transpose(x, [...range(rank - 2), rank - 1, rank - 2]);
}

registerGradient({
  op: 'MatMul',
  grad: (ctx) => {
    const { e, x } = ctx;
    let g = ctx.dy[0] as string;
    const aDims = ctx.dims(x[0]);
    const bDims = ctx.dims(x[1]);
    let a = x[0];
    let b = x[1];
    let aD: Dim[] = aDims;
    let bD: Dim[] = bDims;
    if (aDims.length === 1) {
      a = e.unsqueeze(a, [0]);
      aD = [1, aDims[0]];
    }
    if (bDims.length === 1) {
      b = e.unsqueeze(b, [1]);
      bD = [bDims[0], 1];
    }
    // dY with the promoted axes put back: […, M, N].
    const yDims = ctx.dims(ctx.y[0]);
    let gD: Dim[] = [...yDims];
    if (aDims.length === 1) {
      g = e.unsqueeze(g, [gD.length - (bDims.length === 1 ? 0 : 1)]);
      gD = [...gD.slice(0, gD.length - (bDims.length === 1 ? 0 : 1)), 1, ...gD.slice(gD.length - (bDims.length === 1 ? 0 : 1))];
    }
    if (bDims.length === 1) {
      g = e.unsqueeze(g, [gD.length]);
      gD = [...gD, 1];
    }
    // Stryker disable next-line ArrayDeclaration: entries never set read as undefined either way
    const out: (string | undefined)[] = [undefined, undefined];
    const rank = gD.length;
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(0)) {
      const bt = t(ctx, b, bD.length);
      let da = e.op('MatMul', [g, bt]);
      const daDims: Dim[] = [...gD.slice(0, rank - 1), aD[aD.length - 1]];
      da = reduceToDims(ctx, da, daDims, aD);
      if (aDims.length === 1) da = e.squeeze(da, [0]);
      out[0] = da;
    }
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(1)) {
      const at = t(ctx, a, aD.length);
      let db = e.op('MatMul', [at, g]);
      const dbDims: Dim[] = [...gD.slice(0, rank - 2), bD[bD.length - 2], gD[rank - 1]];
      db = reduceToDims(ctx, db, dbDims, bD);
      if (bDims.length === 1) db = e.squeeze(db, [1]);
      out[1] = db;
    }
    return out;
  },
});

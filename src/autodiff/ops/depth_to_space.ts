/**
 * DepthToSpace and SpaceToDepth are permutations of elements: the gradient applies the inverse permutation.
 * DCR-mode DepthToSpace and SpaceToDepth are exact inverses; CRD mode is undone with Reshape/Transpose.
 */
import { registerGradient } from '../registry';

registerGradient({
  op: 'DepthToSpace',
  grad: (ctx) => {
    const { e } = ctx;
    const g = ctx.dy[0] as string;
    const b = ctx.attrInt('blocksize', 1);
    const mode = ctx.attrString('mode', 'DCR');
    if (mode === 'DCR') return [e.op('SpaceToDepth', [g], { blocksize: { i: b } })];
    // CRD forward: (N, C, H, W) → (N, C/b², b, b, H, W) → perm (0,1,4,2,5,3) → (N, C/b², H·b, W·b).
    const [, c, h, w] = ctx.staticDims(ctx.x[0], 'the DepthToSpace gradient');
    const cb = c / (b * b);
    const r = e.reshape(g, [-1, cb, h, b, w, b]);
    const t = e.transpose(r, [0, 1, 3, 5, 2, 4]);
    return [e.reshape(t, [-1, c, h, w])];
  },
});

registerGradient({
  op: 'SpaceToDepth',
  grad: (ctx) => [ctx.e.op('DepthToSpace', [ctx.dy[0] as string], { blocksize: { i: ctx.attrInt('blocksize', 1) }, mode: { s: 'DCR' } })],
});

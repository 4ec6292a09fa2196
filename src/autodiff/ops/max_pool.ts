/**
 * MaxPool: each output's gradient goes to the input element it took. The pool is re-run with its Indices output
 * (flat positions in the whole input, row-major, as onnxruntime computes them) and dY is scattered there; when the
 * model itself already reads row-major Indices of this pool, those are used. When windows overlap (stride < kernel
 * extent) two outputs can pick the same input, so the scatter must add: ScatterElements with reduction="add" needs
 * opset 16 and the gradient model's opset is raised to 16. Non-overlapping pools (the usual 2×2 stride 2) pick
 * distinct inputs and a plain scatter, valid at the model's own opset, suffices.
 *
 * What costs here is onnxruntime's pool with an Indices output: its generic per-window loop, where the one-output
 * pool runs MLAS's vectorized kernel, inside the NCHWc layout of the convolutions around it (torchvision's
 * ResNet-18 stem pool, 8 × 64 × 32² → 16², one thread: 10.9 ms against 0.7 ms, on a busy machine). Measured
 * alternatives (issue 13; loss + gradient ÷ forward, CPU time, one thread, batch 8, in the same runs):
 *   - the forward pool writing its Indices once (no second pool): ResNet-18 at 3 × 64² 2.13× → 2.19×, a narrow
 *     ResNet (widths 16–128, 7×7/2 stem, 3 × 112²) 3.96× → 4.02×, 3 × 64² 3.32× → 3.36×. The recomputation saves
 *     nothing: the forward pool becomes the generic loop itself, and it leaves the NCHWc chain (the layout
 *     reorders around it grew by more than the MLAS pool it replaced);
 *   - the window maxima without the indices pool, as ArgMax over the K strided Slices of the −inf-padded input
 *     stacked on a new axis, a table lookup to flat positions and the same scatter (exact, first maximum): 2.05×
 *     against 1.97×, and 3.99× against 3.71× for the narrow ResNet — the Slices, the K-wide Concat and ArgMax cost
 *     more than the generic loop;
 *   - for windows that tile the input (kernel = stride = s, the usual 2×2), SpaceToDepth, one Equal with Y per
 *     window position, dY to the first position holding the maximum (r·[x_k = y], r ← r − that), DepthToSpace:
 *     fmnist-resnet 2.99× → 2.86×, but Relu + 2×2 pool over 8 × 64 × 64² 4.73× → 4.93× (over 8 × 16 × 32² 4.45× →
 *     3.83×): no clear win for the extra code.
 */
import { registerGradient } from '../registry';
import { makeAttribute } from '../emit';

registerGradient({
  op: 'MaxPool',
  grad: (ctx) => {
    const { e, x, node } = ctx;
    const rank = ctx.rank(x[0]);
    const kernel = ctx.attrInts('kernel_shape', []);
    const strides = ctx.attrInts('strides', kernel.map(() => 1));
    const dilations = ctx.attrInts('dilations', kernel.map(() => 1));
    if (kernel.length !== rank - 2) throw ctx.fail(`kernel_shape ${JSON.stringify(kernel)} does not match the input's rank ${rank}`);
    const overlap = kernel.some((k, i) => strides[i] < (k - 1) * dilations[i] + 1);
    if (overlap) e.requireOpset(16, 'the gradient of an overlapping MaxPool (ScatterElements with reduction="add")');
    // Stryker disable next-line ConditionalExpression,StringLiteral: Indices are int64, never varying, so no gradient reaches them: a defensive guard
    if (ctx.dy[1] !== undefined) throw ctx.fail('a gradient reaching the Indices output is meaningless');
    const own = ctx.y[1] ?? '';
    let indices: string;
    // Stryker disable next-line ConditionalExpression: recomputed row-major Indices equal the model's own
    if (own !== '' && ctx.attrInt('storage_order', 0) === 0) indices = own;
    else {
      // Same attributes as the forward pool, but row-major indices (storage_order 0).
      indices = e.ops('MaxPool', [x[0]], {}, 2)[1];
      const pool = e.nodes[e.nodes.length - 1];
      pool.attribute = [
        ...(node.attribute ?? []).filter((a) => a.name !== 'storage_order'),
        makeAttribute('storage_order', { i: 0 }),
      ];
    }
    const flat = e.i64([-1]);
    const zeros = e.zerosLike(e.op('Reshape', [x[0], flat]));
    const scattered = e.op(
      'ScatterElements',
      [zeros, e.op('Reshape', [indices, flat]), e.op('Reshape', [ctx.dy[0] as string, flat])],
      overlap ? { axis: { i: 0 }, reduction: { s: 'add' } } : { axis: { i: 0 } },
    );
    return [e.reshapeLike(scattered, x[0])];
  },
});

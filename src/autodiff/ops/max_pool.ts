/**
 * MaxPool: each output's gradient goes to the input element it took. The forward pool itself is made to write its
 * Indices output (flat positions in the whole input, row-major, as onnxruntime computes them) in the gradient
 * model, and dY is scattered there. When windows overlap (stride < kernel extent) two outputs can pick the same
 * input, so the scatter must add: ScatterElements with reduction="add" needs opset 16 and the gradient model's
 * opset is raised to 16. Non-overlapping pools (the usual 2×2 stride 2) pick distinct inputs and a plain scatter,
 * valid at the model's own opset, suffices.
 *
 * The rule used to run a second MaxPool for the indices beside the forward one. What costs is onnxruntime's pool
 * with an Indices output: its generic per-window loop, where the one-output pool is MLAS's vectorized kernel (on
 * torchvision's ResNet-18 stem pool, 8 × 64 × 32² → 16², 5.7 ms against 0.2 ms). Writing the indices from the
 * forward pool drops the second pool but not that cost: loss + gradient of ResNet-18 (3 × 64², batch 8, one thread)
 * went from 2.16× to 2.12× one forward, of a narrower one (widths 16–128, 3 × 112²) 3.71× to 3.75× — the same
 * within noise. Also measured and dropped: the window maxima without the indices pool, as ArgMax over the K
 * strided Slices of the −inf-padded input stacked on a new axis, then a table lookup and the same scatter (first
 * maximum, exact): 2.05× and 3.99× — the Slices, the K-wide Concat and ArgMax cost more than the generic loop.
 * Should the model itself read the Indices output with storage_order 1 (column-major), a second pool writes
 * row-major ones.
 */
import { registerGradient } from '../registry';
import { makeAttribute } from '../emit';
import { onnx } from '../../onnx/model';

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
    if (ctx.dy[1] !== undefined) throw ctx.fail('a gradient reaching the Indices output is meaningless');
    const rowMajor = ctx.attrInt('storage_order', 0) === 0;
    const own = ctx.y[1] ?? '';
    let indices: string;
    if (own !== '' && rowMajor) indices = own;
    else if (own === '') {
      // The forward pool writes the indices too (a new node object: the caller's model is left as it is).
      indices = e.fresh('maxpool_indices');
      ctx.replaceForward(onnx.NodeProto.create({ ...node, output: [ctx.y[0], indices] }));
    } else {
      // The model reads column-major indices: a second pool with row-major ones.
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

/**
 * MaxPool: each output's gradient goes to the input element it took. The pool is re-run with its Indices output
 * (flat positions in the whole input, as onnxruntime computes them) and dY is scattered there. When windows
 * overlap (stride < kernel extent) two outputs can pick the same input, so the scatter must add: ScatterElements
 * with reduction="add" needs opset 16 and the gradient model's opset is raised to 16. Non-overlapping pools (the
 * usual 2×2 stride 2) pick distinct inputs and a plain scatter, valid at the model's own opset, suffices.
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
    if (ctx.dy[1] !== undefined) throw ctx.fail('a gradient reaching the Indices output is meaningless');
    const [, indices] = e.ops('MaxPool', [x[0]], {}, 2);
    // Same attributes as the forward pool, but row-major indices (storage_order 0).
    const pool = e.nodes[e.nodes.length - 1];
    pool.attribute = [
      ...(node.attribute ?? []).filter((a) => a.name !== 'storage_order'),
      makeAttribute('storage_order', { i: 0 }),
    ];
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

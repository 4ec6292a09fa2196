/**
 * MaxPool: each output's gradient goes to the input element it took. The forward pool itself is made to write its
 * Indices output (flat positions in the whole input, row-major, as onnxruntime computes them) in the gradient
 * model, and dY is scattered there. When windows overlap (stride < kernel extent) two outputs can pick the same
 * input, so the scatter must add: ScatterElements with reduction="add" needs opset 16 and the gradient model's
 * opset is raised to 16. Non-overlapping pools (the usual 2×2 stride 2) pick distinct inputs and a plain scatter,
 * valid at the model's own opset, suffices.
 *
 * The rule used to run a second MaxPool for the indices. onnxruntime's pool with an Indices output is its generic
 * loop, not the vectorized one-output kernel, so that second pool cost more than the forward one: on torchvision's
 * ResNet-18 (3×3 stride-2 pad-1 pool after the 7×7 stem) it was 45% of the gradient model's time and loss +
 * gradient was 5.0× one forward. Writing the indices once from the forward pool makes it about 2.3×
 * (bench/autodiff, resnet18-maxpool). Should the model itself read the Indices output with storage_order 1
 * (column-major), the second pool stays, since the scatter needs row-major positions.
 */
import { registerGradient } from '../registry';
import { makeAttribute } from '../emit';
import { onnx } from '../../onnx/model';
import type { GradContext } from '../registry';
import { convGeometry, range } from './util';

/**
 * The positions of the window maxima without onnxruntime's indices pool: the K = Π kernel candidates of every
 * window are K strided Slices of the input padded with −inf, stacked on a new axis; ArgMax over that axis picks the
 * first maximum in row-major window order (as MaxPool's Indices and PyTorch do), and a table lookup turns (window,
 * offset) into a flat position in the padded plane of its (n, c). dY is scattered there and the pads cut off.
 */
function argmaxGrad(ctx: GradContext, overlap: boolean): string {
  const { e, x } = ctx;
  const xDims = ctx.staticDims(x[0], 'the MaxPool gradient');
  const yDims = ctx.staticDims(ctx.y[0], 'the MaxPool gradient');
  const C = xDims[1];
  const sp = xDims.slice(2);
  const out = yDims.slice(2);
  const { r, kernel, strides, dilations, pads } = convGeometry(ctx, sp);
  // Enough padding at the end for the last window (ceil_mode may reach past the declared pads); none beyond it.
  const end = out.map((o, i) => Math.max(0, (o - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - sp[i] - pads[i]));
  const padded = sp.map((s, i) => s + pads[i] + end[i]);
  const flatStride = padded.map((_, i) => padded.slice(i + 1).reduce((a, b) => a * b, 1));
  const L = padded.reduce((a, b) => a * b, 1);
  const K = kernel.reduce((a, b) => a * b, 1);
  const P = out.reduce((a, b) => a * b, 1);
  const negInf = e.f32([-Infinity], [], 'neg_inf');
  const xp = e.reshape(
    e.op('Pad', [x[0], e.i64([0, 0, ...pads.slice(0, r), 0, 0, ...end]), negInf]),
    [-1, C, 1, ...padded],
  );
  const axes = range(r, 3);
  const offsets: number[] = [];
  const parts: string[] = [];
  for (let k = 0; k < K; k++) {
    const off = new Array<number>(r);
    for (let i = r - 1, rest = k; i >= 0; i--) {
      off[i] = (rest % kernel[i]) * dilations[i];
      rest = Math.floor(rest / kernel[i]);
    }
    offsets.push(off.reduce((a, o, i) => a + o * flatStride[i], 0));
    const stop = off.map((o, i) => o + (out[i] - 1) * strides[i] + 1);
    parts.push(e.op('Slice', [xp, e.i64(off), e.i64(stop), e.i64(axes), e.i64(strides)]));
  }
  const cand = parts.length === 1 ? parts[0] : e.op('Concat', parts, { axis: { i: 2 } });
  const which = e.op('ArgMax', [cand], { axis: { i: 2 }, keepdims: { i: 1 } });
  // Flat position in the padded plane: the window's origin plus the chosen offset.
  const origin = new Array<number>(P);
  for (let p = 0; p < P; p++) {
    let o = 0;
    for (let i = r - 1, rest = p; i >= 0; i--) {
      o += (rest % out[i]) * strides[i] * flatStride[i];
      rest = Math.floor(rest / out[i]);
    }
    origin[p] = o;
  }
  const pos = e.op('Add', [e.op('Gather', [e.i64(offsets), which]), e.i64(origin, [1, 1, 1, ...out])]);
  const plane = e.reshape(xp, [-1, L]);
  const scattered = e.op(
    'ScatterElements',
    [e.zerosLike(plane), e.reshape(pos, [-1, P]), e.reshape(ctx.dy[0] as string, [-1, P])],
    overlap ? { axis: { i: 1 }, reduction: { s: 'add' } } : { axis: { i: 1 } },
  );
  const full = e.reshape(scattered, [-1, C, ...padded]);
  return e.op('Slice', [full, e.i64(pads.slice(0, r)), e.i64(pads.slice(0, r).map((b, i) => b + sp[i])), e.i64(range(r, 2))]);
}

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
    if (process.env.GANVAS_MAXPOOL === 'argmax') return [argmaxGrad(ctx, overlap)];
    const rowMajor = ctx.attrInt('storage_order', 0) === 0;
    const own = ctx.y[1] ?? '';
    let indices: string;
    if (own !== '' && rowMajor) indices = own;
    else if (own === '' && process.env.GANVAS_MAXPOOL !== 'repool') {
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

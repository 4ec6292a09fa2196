/**
 * Shared pieces of gradient rules: summing a broadcast gradient back to an input's shape, and the geometry of
 * convolutions and pools (pads from auto_pad, the weight gradient as a convolution).
 */
import type { Dim } from '../../onnx/types';
import type { Attrs, Emitter } from '../emit';
import type { GradContext } from '../registry';

/**
 * The gradient `g` (of a tensor with dims gDims) summed over the axes along which `target` was broadcast, so it has
 * target's shape: leading axes that target lacks, and axes where target has size 1 and the result does not.
 */
export function reduceTo(ctx: GradContext, g: string, gDims: Dim[], target: string): string {
  return reduceToDims(ctx, g, gDims, ctx.dims(target));
}

/** reduceTo for a target given by its dims (a shape the rule computed) rather than by a tensor name. */
export function reduceToDims(ctx: GradContext, g: string, gDims: Dim[], target: Dim[]): string {
  const k = gDims.length - target.length;
  const axes = range(k);
  target.forEach((td, j) => {
    if (td === 1 && gDims[j + k] !== 1) axes.push(j + k);
  });
  if (axes.length === 0) return g;
  const r = ctx.e.reduceSum(g, axes, true);
  return k > 0 ? ctx.e.squeeze(r, range(k)) : r;
}

export function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => i + from);
}

export interface ConvGeometry {
  /** Spatial rank (2 for images). */
  r: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin..., end...] as ONNX writes them. */
  pads: number[];
  group: number;
}

/** Conv/pool attributes with defaults filled in and auto_pad turned into explicit pads. */
export function convGeometry(ctx: GradContext, spatial: number[], kernelFromWeight?: number[]): ConvGeometry {
  const r = spatial.length;
  const ones = new Array<number>(r).fill(1);
  const kernel = ctx.attrInts('kernel_shape', kernelFromWeight ?? []);
  // Stryker disable next-line ConditionalExpression,StringLiteral: unreachable through gradientModel — onnxruntime refuses to load a Conv whose kernel_shape has the wrong rank
  if (kernel.length !== r) throw ctx.fail(`kernel_shape ${JSON.stringify(kernel)} does not match ${r} spatial axes`);
  const strides = ctx.attrInts('strides', ones);
  const dilations = ctx.attrInts('dilations', ones);
  const group = ctx.attrInt('group', 1);
  const autoPad = ctx.attrString('auto_pad', 'NOTSET');
  let pads = ctx.attrInts('pads', new Array<number>(2 * r).fill(0));
  if (autoPad === 'VALID') pads = new Array<number>(2 * r).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const out = Math.ceil(spatial[i] / strides[i]);
      const totalPad = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i]);
      const small = Math.floor(totalPad / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : totalPad - small;
      pads[i + r] = totalPad - pads[i];
    }
  } else if (autoPad !== 'NOTSET') ctx.fail(`unknown auto_pad "${autoPad}"`);
  return { r, kernel, strides, dilations, pads, group };
}

/** A Conv/ConvTranspose's attributes for this geometry: the adjoint ops keep strides, pads, dilations and groups. */
export function convAttrs(geo: ConvGeometry): Attrs {
  return {
    strides: { ints: geo.strides },
    pads: { ints: geo.pads },
    dilations: { ints: geo.dilations },
    group: { i: geo.group },
    kernel_shape: { ints: geo.kernel },
  };
}

/**
 * dL/dW of Y = Conv(X, W) given G = dL/dY. Stride 1: shifted slices and MatMuls (convWeightGradShifted); strided:
 * one Conv over transposed tensors (convWeightGradConv). xDims/gDims: full dims (batch axis may be symbolic, the
 * rest must be numbers).
 *
 * Measured (issue 13; CPU ms of loss + gradient w.r.t. x and W of one Conv, one thread, in the same run):
 *   shape                                   Conv form   im2col + MatMul   shifted
 *   grouped 1×1024×16², W 1024×128×3² g 8     32.3          26.8             26.8
 *   8×64×32², W 64×64×3², pad 1               33.7          32.4             27.7
 *   8×128×16², W 64×128×1×1                    4.3           2.3              2.6 (a later run: 2.7 vs 2.9)
 *   8×32×32², W 64×32×3², stride 2             6.2           6.9               —
 *   8×3×64², W 64×3×7², stride 2 (a stem)      9.8          12.2               —
 * (im2col + MatMul: the K strided Slices concatenated into one column buffer, then one MatMul per group. Its
 * column buffer is K times the input and the Concat that writes it cost as much as the Conv form saves; with
 * strides it lost outright, so it is not kept.) The Conv form puts the batch on the channels and G on the kernel:
 * onnxruntime runs it as an im2col whose GEMM has only K columns; on StyleGAN2's fused modulated convolution
 * (per-sample weights, one grouped Conv with groups = batch) those Convs were a quarter of the gradient model.
 */
export function convWeightGrad(
  e: Emitter,
  x: string,
  g: string,
  xDims: number[],
  gDims: number[],
  geo: ConvGeometry,
): string {
  if (geo.strides.every((s) => s === 1)) return convWeightGradShifted(e, x, g, xDims, gDims, geo);
  return convWeightGradConv(e, x, g, xDims, gDims, geo);
}

/**
 * dL/dW of a stride-1 Conv without an im2col buffer. Flatten the zero-padded input's spatial axes: the window
 * element at kernel offset k of output position o is then x_flat[q + off_k], where q is o's flat index in a grid
 * with the padded row length (the output grid extended by the kernel's reach on every spatial axis but the first)
 * and off_k the offset's flat index. So one contiguous Slice per offset gives all of them, and
 * dW[.., k] (Mg × Cg) = G_ext (Mg × Q) · slice_kᵀ (Q × Cg), with G zero-padded onto the extended grid so that the
 * extra positions add nothing. K MatMuls, then the K weight-sized results are stacked — or, where the weight is
 * larger than K inputs, one MatMul over the K windows concatenated (below; with more input it lost: 8 × 64 × 32²
 * 30.6 → 36.1 ms, 1 × 512 × 32² with 8 groups 18.1 → 26.6).
 */
export function convWeightGradShifted(
  e: Emitter,
  x: string,
  g: string,
  xDims: number[],
  gDims: number[],
  geo: ConvGeometry,
): string {
  const { r, kernel, dilations, pads, group } = geo;
  const C = xDims[1];
  const M = gDims[1];
  const Cg = C / group;
  const Mg = M / group;
  const sp = xDims.slice(2);
  const gsp = gDims.slice(2);
  const K = kernel.reduce((a, b) => a * b, 1);
  // Stryker disable next-line ConditionalExpression: the batched form over a batch of one sums one sample: the same values
  const single = xDims[0] === 1;
  const padded = sp.map((s, i) => s + pads[i] + pads[i + r]);
  // Row-major strides of the padded grid, and the extended output grid: the first axis as the output's, the others
  // as the padded input's.
  const flatStride = padded.map((_, i) => padded.slice(i + 1).reduce((a, b) => a * b, 1));
  const ext = gsp.map((o, i) => (i === 0 ? o : padded[i]));
  const Q = ext.reduce((a, b) => a * b, 1);
  // One more slab on the first axis: the last extended row's extra positions read past the padded input's end.
  // (A 1×1 kernel without pads reads x as it is.)
  const plain = K === 1 && pads.every((p) => p === 0);
  const xPads = [...pads.slice(0, r), ...pads.slice(r).map((p, i) => (i === 0 ? p + 1 : p))];
  const xp = e.reshape(
    plain ? x : e.op('Pad', [x, e.i64([0, 0, ...xPads.slice(0, r), 0, 0, ...xPads.slice(r)])]),
    single ? [group, Cg, -1] : [-1, group, Cg, (plain ? padded[0] : padded[0] + 1) * flatStride[0]],
  );
  const gPads = ext.map((q, i) => q - gsp[i]);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a Pad of zeros is the identity
  let gp = gPads.some((p) => p > 0) ? e.op('Pad', [g, e.i64([0, 0, ...gPads.map(() => 0), 0, 0, ...gPads])]) : g;
  gp = e.reshape(gp, single ? [group, Mg, Q] : [-1, group, Mg, Q]);
  const last = single ? 2 : 3;
  const swap = single ? [0, 2, 1] : [0, 1, 3, 2];
  const offsets: number[] = [];
  for (let k = 0; k < K; k++) {
    let off = 0;
    for (let i = r - 1, rest = k; i >= 0; i--) {
      off += (rest % kernel[i]) * dilations[i] * flatStride[i];
      rest = Math.floor(rest / kernel[i]);
    }
    offsets.push(off);
  }
  // Where the weight outweighs the input (low-resolution layers: 8² × 1024 channels against a 1024 × 128 × 3²
  // weight), the K windows are concatenated after the channel axis instead, so that one MatMul writes the weight's
  // own layout: a column buffer of K inputs replaces the stacking of K weight-sized products (a Concat and a
  // Transpose over the weight). Measured (issue 13, loss + gradient of the Conv, w.r.t. x and W, CPU ms):
  // 1 × 1024 × 8², W 1024 × 128 × 3², 8 groups 11.2 → 10.7; at 4² 6.2 → 5.4; at 16² (K inputs 2× the weight)
  // 30.2 → 32.2, so only where K inputs are fewer elements than the weight; stylegan2-fused 3.04× → 2.95×,
  // 3.10× → 2.89× (its 4² and 8² layers).
  const xN = xDims.reduce((a, b) => a * Math.max(1, b), 1);
  if (!plain && K * xN < M * Cg * K) {
    const xq = e.unsqueeze(xp, [last]);
    const wins = offsets.map((off) => e.op('Slice', [xq, e.i64([off]), e.i64([off + Q]), e.i64([last + 1])]));
    const cols = e.reshape(e.op('Concat', wins, { axis: { i: last } }), single ? [group, Cg * K, Q] : [-1, group, Cg * K, Q]);
    let dwc = e.op('MatMul', [gp, e.transpose(cols, swap)]);
    if (!single) dwc = e.reduceSum(dwc, [0], false);
    return e.reshape(dwc, [M, Cg, ...kernel]);
  }
  const parts: string[] = [];
  for (const off of offsets) {
    const win = plain ? xp : e.op('Slice', [xp, e.i64([off]), e.i64([off + Q]), e.i64([last])]);
    parts.push(e.unsqueeze(e.op('MatMul', [gp, e.transpose(win, swap)]), [last]));
  }
  // Stacked as (…, G, Mg, K, Cg), summed over the batch, then (G, Mg, Cg, K) by one Transpose of the last two axes:
  // a Concat on a new last axis copies one element per row and measured over twice as slow as the Transpose
  // (8 × 128 × 128 × 9: 13.3 against 5.6 ms on a busy machine; loss + gradient 2–3% faster on stylegan2-fused and on
  // the grouped and 8 × 64 × 32² shapes of the table above).
  // Stryker disable next-line ConditionalExpression: a Concat of one input is the identity
  let dw = parts.length === 1 ? parts[0] : e.op('Concat', parts, { axis: { i: last } });
  if (!single) dw = e.reduceSum(dw, [0], false);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: with one kernel offset the swapped axes have size 1: the Transpose keeps the element order
  if (parts.length > 1) dw = e.transpose(dw, [0, 1, 3, 2]);
  return e.reshape(dw, [M, Cg, ...kernel]);
}

/**
 * dL/dW as one Conv: the input's channels become the batch, the batch becomes the channels, and G plays the kernel
 * with the roles of stride and dilation swapped. Groups are handled by arranging the batch as group-major channels
 * so a grouped Conv keeps the groups apart.
 */
export function convWeightGradConv(
  e: Emitter,
  x: string,
  g: string,
  xDims: number[],
  gDims: number[],
  geo: ConvGeometry,
): string {
  const { r, kernel, strides, dilations, pads, group } = geo;
  const C = xDims[1];
  const M = gDims[1];
  const Cg = C / group;
  const Mg = M / group;
  const sp = xDims.slice(2);
  const gsp = gDims.slice(2);
  const swap = [1, 0, ...range(r, 2)];
  let xt: string;
  let gt: string;
  // Stryker disable next-line ConditionalExpression: the grouped reshape-transpose with G = 1 is the same permutation as the plain Transposes
  if (group === 1) {
    xt = e.transpose(x, swap);
    gt = e.transpose(g, swap);
  } else {
    // x: (N, C, *sp) → (N, G, Cg, *sp) → (Cg, G, N, *sp) → (Cg, G·N, *sp)
    xt = e.reshape(e.transpose(e.reshape(x, [-1, group, Cg, ...sp]), [2, 1, 0, ...range(r, 3)]), [Cg, -1, ...sp]);
    // g: (N, M, *gsp) → (N, G, Mg, *gsp) → (G, Mg, N, *gsp) → (M, N, *gsp)
    gt = e.reshape(e.transpose(e.reshape(g, [-1, group, Mg, ...gsp]), [1, 2, 0, ...range(r, 3)]), [M, -1, ...gsp]);
  }
  const dw = e.op('Conv', [xt, gt], {
    strides: { ints: dilations },
    dilations: { ints: strides },
    pads: { ints: pads },
    group: { i: group },
    kernel_shape: { ints: gsp },
  });
  let w = e.transpose(dw, swap);
  // The Conv can see a few more kernel positions than exist (rows the forward stride skipped): cut them off.
  // Stryker disable next-line ArrowFunction,ArithmeticOperator: full only decides whether the Slice to the kernel size is needed; a Slice where none is needed is the identity
  const full = sp.map((s, i) => Math.floor((s + pads[i] + pads[i + r] - ((gsp[i] - 1) * strides[i] + 1)) / dilations[i]) + 1);
  // Stryker disable next-line ConditionalExpression: a Slice to the kernel size where the Conv already gives it is the identity
  if (full.some((f, i) => f !== kernel[i])) {
    w = e.op('Slice', [w, e.i64(new Array<number>(r).fill(0)), e.i64(kernel), e.i64(range(r, 2))]);
  }
  return w;
}

/** Sum over every axis but the channel axis 1: the gradient of a per-channel bias. */
export function channelSum(ctx: GradContext, g: string, rank: number): string {
  return ctx.e.reduceSum(g, [0, ...range(rank - 2, 2)], false);
}

/** A per-channel vector [C] reshaped to broadcast over an NC… tensor of the given rank. */
export function perChannel(ctx: GradContext, v: string, rank: number): string {
  // [N, C] inputs (BatchNorm1d) broadcast a [C] vector as it is; Unsqueeze with no axes is invalid.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: onnxruntime runs an Unsqueeze with no axes as the identity
  return rank > 2 ? ctx.e.unsqueeze(v, range(rank - 2, 1)) : v;
}

/** The static dims of a Conv-like node's input, weight and output, as its gradient rule needs them. */
export function convDims(ctx: GradContext): { xDims: number[]; wDims: number[]; yDims: number[] } {
  const what = `the ${ctx.node.opType} gradient`;
  return { xDims: ctx.staticDims(ctx.x[0], what), wDims: ctx.staticDims(ctx.x[1], what), yDims: ctx.staticDims(ctx.y[0], what) };
}

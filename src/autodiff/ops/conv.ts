/**
 * Conv (any spatial rank, strides, pads, dilations, groups):
 *   dX = ConvTranspose(dY, W) with the same strides/pads/dilations/group and the output_padding that recovers X's
 *        exact size (the forward Conv may have dropped trailing rows that no window reached) — for a padded 2-D
 *        stride-1 Conv without dilation, written unpadded and then cropped (unpaddedTranspose); for stride 1 it is
 *        instead a plain Conv with the spatially flipped, in/out-swapped kernel when X has 8 or more channels:
 *        onnxruntime's CPU Conv (NCHWc) then runs up to twice as fast as its ConvTranspose, and the kernel
 *        shuffle is constant-folded when W is a weight. With fewer channels (an RGB or grey input image) NCHWc
 *        pads the output channels to its block size and ConvTranspose is 2–5× faster (measured, batch 8, 64×64).
 *        When W is not a weight (fed as an input; StyleGAN2's fused modulated convolution computes per-sample
 *        weights from the style) the flip and the in/out swap run every time: Slice with negative steps and a 5-D
 *        Transpose over the whole weight. For the fused form (1 × 1024 × 16², W 1024 × 128 × 3², 8 groups) that made
 *        loss + gradient of the Conv 38.6 ms against 31.8 ms with the ConvTranspose (w.r.t. x alone: 21.7 against
 *        14.4 ms, and 18.1 ms with the flip as a MatMul by the reversal matrix instead of the Slice); for a 1×1 weight
 *        (8 × 128 × 16², W 64 × 128) the flip stays cheaper (2.4 against 2.7 ms), and for 8 × 64 × 32², W 64 × 64 × 3²
 *        the two tie; so do the fused form's 32² layers (W with a third of x's elements: 5.7–11.8 ms either way,
 *        w.r.t. x alone) while at 16² (W 2.3× x) the flip loses 7.9 → 9.5 ms. So a W that is not a weight is
 *        flipped only when it has at most a sixteenth of the input's elements (the batch counted as 1 when
 *        symbolic).
 *        (Strided convs keep ConvTranspose: a polyphase rewrite — one stride-1 Conv with s²·C output channels, then
 *        an interleave — was verified correct but measured slower. For 16 → 16 channels, 32² → 64², batch 32: the
 *        ConvTranspose 6.2 ms; the polyphase Conv alone 5.0 ms, plus DepthToSpace 9.5 ms in all, or plus two
 *        single-axis Transposes 6.9 ms in all; an unpadded strided ConvTranspose plus crop 7.6 ms. For the image
 *        gradient through a strided stem — few output channels, where DepthToSpace is cheap — the polyphase form,
 *        one Conv with s²·C channels from the constant-folded sub-kernels, then DepthToSpace and a crop, was mixed
 *        (issue 13; loss + gradient of the Conv alone, batch 8, CPU ms): 7×7/2, 3 → 16 channels at 112²: 7.8 →
 *        7.2; 4×4/2, 3 → 16 at 64²: 1.8 → 1.5; but 7×7/2, 3 → 64 at 64²: 7.0 → 8.1 and 3×3/2, 3 → 16: 1.4 → 1.5.
 *        For the strided 16+-channel convs of the shipped nets, loss + gradient ÷ forward: ihc-features 3.68× →
 *        4.16×, fmnist-resnet 2.98× → 3.14×.)
 *   dW = shifted Slices and MatMuls for stride 1, a Conv over transposed tensors otherwise (convWeightGrad);
 *   dB = dY summed over all axes but the channels.
 */
import { registerGradient } from '../registry';
import type { GradContext } from '../registry';
import { ConvGeometry, channelSum, convAttrs, convDims, convGeometry, convWeightGrad, range } from './util';

/** dX of a stride-1 Conv as a Conv: W (M, C/G, k…) → W' (C, M/G, k…) flipped along every spatial axis. */
function flippedConv(ctx: GradContext, g: string, w: string, wDims: number[], geo: ConvGeometry): string {
  const { e } = ctx;
  const { r, kernel, dilations, pads, group } = geo;
  const [M, Cg] = wDims;
  const Mg = M / group;
  const sp = range(r, 2);
  const big = 2 ** 62;
  // Reverse every spatial axis: start at the last element, step −1 to before the first.
  const flipped = e.op('Slice', [w, e.i64(sp.map(() => -1)), e.i64(sp.map(() => -big)), e.i64(sp), e.i64(sp.map(() => -1))]);
  let swapped: string;
  // Stryker disable next-line ConditionalExpression: the grouped reshape-transpose with G = 1 is the same permutation as the plain Transpose (fewer nodes)
  if (group === 1) swapped = e.transpose(flipped, [1, 0, ...sp]);
  else {
    // (M, Cg, k…) → (G, Mg, Cg, k…) → (G, Cg, Mg, k…) → (C, Mg, k…): each group's in/out swapped separately.
    const grouped = e.reshape(flipped, [group, Mg, Cg, ...kernel]);
    swapped = e.reshape(e.transpose(grouped, [0, 2, 1, ...range(r, 3)]), [group * Cg, Mg, ...kernel]);
  }
  const full = kernel.map((k, i) => (k - 1) * dilations[i]);
  return e.op('Conv', [g, swapped], {
    pads: { ints: [...full.map((f, i) => f - pads[i]), ...full.map((f, i) => f - pads[i + r])] },
    dilations: { ints: dilations },
    group: { i: group },
    kernel_shape: { ints: kernel },
  });
}

/**
 * dX of a 2-D stride-1 Conv as a ConvTranspose without pads, cropped to X. The result is the same as the padded
 * ConvTranspose (the pads only crop its output), but onnxruntime's col2im has a vectorized path for zero pads
 * and a per-element bounds-checked loop otherwise: measured 1.7× faster for a 16 → 3 channel stem (batch 8 and
 * 32, 64×64), the image gradient of the zoo's feature nets. The unpadded output (Y + k − 1 = X + pads) always
 * covers X, so no output_padding is needed.
 */
function unpaddedTranspose(ctx: GradContext, g: string, w: string, sp: number[], geo: ConvGeometry): string {
  const { e } = ctx;
  const { r, kernel, pads, group } = geo;
  const full = e.op('ConvTranspose', [g, w], { group: { i: group }, kernel_shape: { ints: kernel } });
  const begin = pads.slice(0, r);
  return e.op('Slice', [full, e.i64(begin), e.i64(begin.map((b, i) => b + sp[i])), e.i64(range(r, 2))]);
}

registerGradient({
  op: 'Conv',
  grad: (ctx) => {
    const { e, x } = ctx;
    const g = ctx.dy[0] as string;
    const { xDims, wDims, yDims } = convDims(ctx);
    const sp = xDims.slice(2);
    const geo = convGeometry(ctx, sp, wDims.slice(2));
    const { r, kernel, strides, dilations, pads } = geo;
    // Stryker disable next-line ArrayDeclaration: entries never set read as undefined either way
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    const unitStride = strides.every((s) => s === 1);
    const padsFit = kernel.every((k, i) => pads[i] <= (k - 1) * dilations[i] && pads[i + r] <= (k - 1) * dilations[i]);
    // The flipped kernel is built at run time unless W is a weight: worth it then only for a W small beside the input.
    const numel = (d: number[]) => d.reduce((a, b) => a * Math.max(1, b), 1);
    const flipCheap = ctx.isConstant(1) || 16 * numel(wDims) <= numel(xDims);
    if (ctx.needs(0) && unitStride && padsFit && xDims[1] >= 8 && flipCheap) {
      out[0] = flippedConv(ctx, g, x[1], wDims, geo);
    } else if (ctx.needs(0) && unitStride && r === 2 && dilations.every((d) => d === 1) && pads.some((p) => p > 0)) {
      out[0] = unpaddedTranspose(ctx, g, x[1], sp, geo);
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    } else if (ctx.needs(0)) {
      const outputPadding = sp.map(
        (s, i) => s - (strides[i] * (yDims[2 + i] - 1) + (kernel[i] - 1) * dilations[i] + 1 - pads[i] - pads[i + r]),
      );
      out[0] = e.op('ConvTranspose', [g, x[1]], { ...convAttrs(geo), output_padding: { ints: outputPadding } });
    }
    // Stryker disable next-line ConditionalExpression: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (ctx.needs(1)) out[1] = convWeightGrad(e, x[0], g, xDims, yDims, geo);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: a gradient for an input that wants none is dropped with the backward nodes no output needs
    if (x[2] && ctx.needs(2)) out[2] = channelSum(ctx, g, xDims.length);
    return out;
  },
});

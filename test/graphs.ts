/**
 * Hand-made graphs with known structure, shared by the tests and the split benchmark.
 */
import { GraphBuilder } from './builder';

/** x[N,3,8,8] → conv → relu (h1) → conv → relu (h2) → conv → out[N,3,8,8]. */
export function chain(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 3, 8, 8]);
  const h1 = g.node('Relu', [g.conv(x, 3, 4)], 'h1');
  const h2 = g.node('Relu', [g.conv(h1, 4, 5)], 'h2');
  g.conv(h2, 5, 3, 'out');
  g.output('out', ['N', 3, 8, 8]);
  return g;
}

/**
 * UNet-shaped: two skip connections (e1 at 8×8, e2 at 4×4) jump over the bottleneck `mid` (2×2).
 * Cutting at `mid` must turn e1 and e2 into tail inputs.
 */
export function unet(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 2, 8, 8]);
  const e1 = g.node('Relu', [g.conv(x, 2, 4)], 'e1');
  const p1 = g.node('MaxPool', [e1], 'p1', { kernel_shape: [2, 2], strides: [2, 2] });
  const e2 = g.node('Relu', [g.conv(p1, 4, 6)], 'e2');
  const p2 = g.node('MaxPool', [e2], 'p2', { kernel_shape: [2, 2], strides: [2, 2] });
  const mid = g.node('Relu', [g.conv(p2, 6, 6)], 'mid');
  const scales = g.init('up_scales', [4], [1, 1, 2, 2]);
  const u2 = g.node('Resize', [mid, '', scales], 'u2', { mode: 'nearest' });
  const c2 = g.node('Concat', [u2, e2], 'c2', { axis: 1 });
  const d2 = g.node('Relu', [g.conv(c2, 12, 4)], 'd2');
  const u1 = g.node('Resize', [d2, '', scales], 'u1', { mode: 'nearest' });
  const c1 = g.node('Concat', [u1, e1], 'c1', { axis: 1 });
  g.conv(c1, 8, 2, 'y');
  g.output('y', ['N', 2, 8, 8]);
  return g;
}

/**
 * StyleGAN-shaped: z → mapping (Gemm) → w; w modulates a conv before the cut (`h`) and one after it; a noise
 * input is added only after the cut; a Constant scale is used on both sides of the cut.
 */
export function styled(): GraphBuilder {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 8]);
  const noise = g.input('noise', ['N', 1, 4, 4]);
  const w = g.node('Relu', [g.node('Gemm', [z, g.init('map_w', [4, 8]), g.init('map_b', [4])], 'w_pre', { transB: 1 })], 'w');
  const shape = g.initInt64('style_shape', [-1, 4, 1, 1]);
  const style = g.node('Reshape', [w, shape], 'style');
  const c = g.constant('gain', [1], [0.7]);
  const base = g.init('const4', [1, 4, 4, 4]);
  const m1 = g.node('Mul', [g.node('Mul', [base, style], 'mod1'), c], 'mod1s');
  const h = g.node('LeakyRelu', [g.conv(m1, 4, 4)], 'h', { alpha: 0.2 });
  const m2 = g.node('Mul', [g.node('Mul', [h, style], 'mod2'), c], 'mod2s');
  const n = g.node('Mul', [noise, g.init('noise_strength', [1], [0.3])], 'noise_scaled');
  const h2 = g.node('Add', [g.conv(m2, 4, 4), n], 'h2');
  g.node('Tanh', [g.conv(h2, 4, 1)], 'img');
  g.output('img', ['N', 1, 4, 4]);
  g.node('Flatten', [h2], 'flat', { axis: 1 });
  return g;
}

/**
 * A skip branch that runs from before the cut to the output without reading the layer, as in StyleGAN's toRGB
 * chain: `e` (8 channels) feeds the bottleneck `mid` and, through `skipOp` applied to `e`, the output. With a
 * 1×1 conv down to one channel, handing over its result is cheaper than handing over `e`; with a widening conv
 * it is not; with a Shape it would be an int64, which a Cut cannot carry.
 */
export function skipBranch(skipOp: 'narrow' | 'widen' | 'shape'): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 2, 8, 8]);
  const e = g.node('Relu', [g.conv(x, 2, 8)], 'e');
  const mid = g.node('Relu', [g.conv(e, 8, 8)], 'mid');
  if (skipOp === 'shape') {
    const flat = g.node('Flatten', [g.conv(mid, 8, 1)], 'flat', { axis: 1 });
    const shape = g.node('Shape', [g.node('Slice', [e, g.initInt64('s0', [0]), g.initInt64('s1', [1]), g.initInt64('ax', [1])], 'e0')], 'e0_shape');
    g.node('Reshape', [flat, shape], 'y');
    g.output('y', ['N', 1, 8, 8]);
    return g;
  }
  const skip = skipOp === 'narrow' ? g.node('Tanh', [g.conv(e, 8, 1, 'skip_conv', 1)], 'skip') : g.node('Tanh', [g.conv(e, 8, 16, 'skip_conv', 1)], 'skip');
  const c = skipOp === 'narrow' ? 1 : 16;
  g.node('Add', [g.conv(mid, 8, c), skip], 'y');
  g.output('y', ['N', c, 8, 8]);
  return g;
}

/** Two outputs: the image from after the cut, and a summary of `e` that never needs the layer. */
export function auxOutput(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 2, 8, 8]);
  const e = g.node('Relu', [g.conv(x, 2, 8)], 'e');
  const mid = g.node('Relu', [g.conv(e, 8, 8)], 'mid');
  g.conv(mid, 8, 1, 'y');
  g.output('y', ['N', 1, 8, 8]);
  g.node('ReduceMean', [e], 'aux', { axes: [1, 2, 3], keepdims: 1 });
  g.output('aux', ['N', 1, 1, 1]);
  return g;
}

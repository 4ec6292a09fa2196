/**
 * AveragePool: each output spreads dY/count evenly over its window, which is a ConvTranspose with a kernel of ones
 * applied to every channel separately (channels folded into the batch). count is the window area, or with
 * count_include_pad = 0 the number of non-padding elements, computed here per output position.
 */
import { registerGradient } from '../registry';
import { convGeometry, range } from './util';
import { numel } from '../../runtime/tensor';

registerGradient({
  op: 'AveragePool',
  grad: (ctx) => {
    const { e, x } = ctx;
    const xDims = ctx.staticDims(x[0], 'the AveragePool gradient');
    const yDims = ctx.staticDims(ctx.y[0], 'the AveragePool gradient');
    const sp = xDims.slice(2);
    const osp = yDims.slice(2);
    const geo = convGeometry(ctx, sp);
    const { r, kernel, strides, pads } = geo;
    if (geo.dilations.some((d) => d !== 1)) throw ctx.fail('dilations are not supported');
    const floorOut = sp.map((s, i) => Math.floor((s + pads[i] + pads[i + r] - kernel[i]) / strides[i]) + 1);
    if (floorOut.some((o, i) => o !== osp[i])) throw ctx.fail('ceil_mode windows that run past the padding are not supported');
    let g = ctx.dy[0] as string;
    // Stryker disable next-line MethodExpression,ConditionalExpression: without pads every window counts the whole kernel: the per-position counts equal the kernel size
    if (ctx.attrInt('count_include_pad', 0) === 0 && pads.some((p) => p !== 0)) {
      // Per-axis counts of real (non-pad) elements; a window's count is their product.
      const per = osp.map((o, i) =>
        range(o).map((j) => {
          const start = j * strides[i] - pads[i];
          return Math.min(start + kernel[i], sp[i]) - Math.max(start, 0);
        }),
      );
      const total = numel(osp);
      const inv = new Float32Array(total);
      // Stryker disable next-line EqualityOperator: a typed-array write past the end is dropped
      for (let flat = 0; flat < total; flat++) {
        let rem = flat;
        let c = 1;
        for (let i = r - 1; i >= 0; i--) {
          c *= per[i][rem % osp[i]];
          rem = Math.floor(rem / osp[i]);
        }
        inv[flat] = 1 / c;
      }
      // Stryker disable next-line StringLiteral: a name prefix: the Emitter makes constant names unique
      g = e.mul(g, e.f32(inv, osp, 'pool_inv_count'));
    } else {
      g = e.mul(g, e.scalar(1 / numel(kernel)));
    }
    const C = xDims[1];
    // Stryker disable next-line StringLiteral: a name prefix: the Emitter makes constant names unique
    const ones = e.f32(new Float32Array(numel(kernel)).fill(1), [1, 1, ...kernel], 'pool_ones');
    const outputPadding = sp.map((s, i) => s - (strides[i] * (osp[i] - 1) + kernel[i] - pads[i] - pads[i + r]));
    const dx = e.op('ConvTranspose', [e.reshape(g, [-1, 1, ...osp]), ones], {
      strides: { ints: strides },
      pads: { ints: pads },
      kernel_shape: { ints: kernel },
      output_padding: { ints: outputPadding },
    });
    return [e.reshape(dx, [-1, C, ...sp])];
  },
});

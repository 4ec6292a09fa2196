/**
 * Resize (nearest and linear) is linear in X and separable over axes: along each resized axis the output is
 * R·x for an [out, in] interpolation matrix R. The matrices are computed here, replicating onnxruntime's
 * coordinate transforms in float32, and the gradient applies Rᵀ along each axis with a MatMul.
 */
import { registerGradient } from '../registry';
import type { GradContext } from '../registry';
import { alongAxis } from './slice';

const f = Math.fround;

/** Source coordinate of output index o (onnxruntime's GetOriginalCoordinate, in float32). */
function original(mode: string, o: number, scale: number, lenIn: number, lenOut: number, ctx: GradContext): number {
  switch (mode) {
    case 'half_pixel':
      return f(f(f(o + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel':
      return lenOut > 1 ? f(f(f(o + 0.5) / scale) - 0.5) : 0;
    case 'asymmetric':
      return f(o / scale);
    case 'tf_half_pixel_for_nn':
      return f(f(o + 0.5) / scale);
    case 'align_corners':
      return lenOut === 1 ? 0 : f(f(o * (lenIn - 1)) / (lenOut - 1));
    default:
      return ctx.fail(`coordinate_transformation_mode "${mode}" is not supported`);
  }
}

/** onnxruntime's nearest_mode rounding of a source coordinate (not runtime/tensor's nearestIndex, PyTorch's floor). */
function ortNearest(mode: string, v: number, ctx: GradContext): number {
  switch (mode) {
    case 'round_prefer_floor':
      return v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v);
    case 'round_prefer_ceil':
      return Math.round(v);
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    default:
      return ctx.fail(`nearest_mode "${mode}" is not supported`);
  }
}

/** The [out, in] interpolation matrix of one axis, row-major. */
export function resizeMatrix(ctx: GradContext, lenIn: number, lenOut: number, scale: number): Float32Array {
  const mode = ctx.attrString('mode', 'nearest');
  const coord = ctx.attrString('coordinate_transformation_mode', 'half_pixel');
  const nearest = ctx.attrString('nearest_mode', 'round_prefer_floor');
  const m = new Float32Array(lenOut * lenIn);
  for (let o = 0; o < lenOut; o++) {
    const v = original(coord, o, scale, lenIn, lenOut, ctx);
    if (mode === 'nearest') {
      const i = Math.min(Math.max(ortNearest(nearest, v, ctx), 0), lenIn - 1);
      m[o * lenIn + i] = 1;
    } else {
      const c = Math.max(0, Math.min(v, lenIn - 1));
      const i1 = Math.min(Math.floor(c), lenIn - 1);
      const i2 = Math.min(i1 + 1, lenIn - 1);
      let d1 = Math.abs(c - i1);
      let d2 = Math.abs(c - i2);
      if (i1 === i2) d1 = d2 = 0.5;
      m[o * lenIn + i1] += d2;
      m[o * lenIn + i2] += d1;
    }
  }
  return m;
}

registerGradient({
  op: 'Resize',
  constInputs: [1, 2, 3],
  grad: (ctx) => {
    const { x } = ctx;
    const mode = ctx.attrString('mode', 'nearest');
    if (mode !== 'nearest' && mode !== 'linear') throw ctx.fail(`mode "${mode}" is not supported (nearest and linear are)`);
    if (ctx.attrInt('antialias', 0) !== 0) throw ctx.fail('antialias is not supported');
    if (ctx.hasAttr('axes')) throw ctx.fail('the axes attribute is not supported');
    const xDims = ctx.dims(x[0]);
    const yDims = ctx.dims(ctx.y[0]);
    const rank = xDims.length;
    const scalesV = x[2] ? ctx.constValue(2) : undefined;
    const scales = scalesV && scalesV.data.length > 0 ? scalesV.data.map(f) : undefined;
    if (!scales && !(x[3] && ctx.constValue(3))) throw ctx.fail('its scales or sizes must be constant');
    let g = ctx.dy[0] as string;
    for (let a = 0; a < rank; a++) {
      const n = xDims[a];
      const m = yDims[a];
      const scale = scales ? scales[a] : undefined;
      if (n === m && (scale === undefined || scale === 1)) continue;
      if (typeof n !== 'number' || typeof m !== 'number') throw ctx.fail(`axis ${a} is resized but its size is symbolic`);
      const s = scale ?? f(m / n);
      const mat = resizeMatrix(ctx, n, m, s);
      g = alongAxis(ctx, g, a, rank, mat, m, n);
    }
    return [g];
  },
});

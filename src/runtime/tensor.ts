/**
 * NCHW float32 tensors: the one data type that flows between sessions, visualization and painting.
 *
 * A plain `{data, dims}` record rather than a class, so numpy arrays read from .npy, onnxruntime tensors and
 * user-made arrays all convert to it without copying.
 */
import { GanvasError } from '../errors';
import { displayable } from './describe';

export interface FloatTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function tensor(data: Float32Array | number[], dims: readonly number[]): FloatTensor {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new GanvasError('BAD_INPUT', `tensor dims must be non-negative integers, got [${dims.join(', ')}]`);
  }
  if (arr.length !== numel(dims)) {
    throw new GanvasError(
      'BAD_INPUT',
      `tensor data has ${arr.length} values but dims [${dims.join(', ')}] need ${numel(dims)}`,
    );
  }
  return displayable({ data: arr, dims: [...dims] });
}

export function zeros(dims: readonly number[]): FloatTensor {
  return displayable({ data: new Float32Array(numel(dims)), dims: [...dims] });
}

/** Samples [start, end) along axis 0, sharing memory with `t` (a subarray, no copy). */
export function sliceBatch(t: FloatTensor, start: number, end: number): FloatTensor {
  const per = numel(t.dims.slice(1));
  return { data: t.data.subarray(start * per, end * per), dims: [end - start, ...t.dims.slice(1)] };
}

/** Concatenates along axis 0; all other dims must agree. */
export function concatBatch(parts: readonly FloatTensor[]): FloatTensor {
  if (parts.length === 0) throw new GanvasError('BAD_INPUT', 'concatBatch needs at least one tensor');
  const rest = parts[0].dims.slice(1);
  for (const p of parts) {
    if (p.dims.length !== parts[0].dims.length || p.dims.slice(1).some((d, i) => d !== rest[i])) {
      throw new GanvasError(
        'BAD_INPUT',
        `cannot concatenate tensors of dims [${parts[0].dims.join(', ')}] and [${p.dims.join(', ')}] along axis 0`,
      );
    }
  }
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((a, p) => a + p.dims[0], 0);
  const out = new Float32Array(n * numel(rest));
  let off = 0;
  for (const p of parts) {
    out.set(p.data, off);
    off += p.data.length;
  }
  return displayable({ data: out, dims: [n, ...rest] });
}

/** Asserts a 4-D tensor and returns its dims as named numbers. */
export function nchw(t: FloatTensor, what = 'tensor'): { n: number; c: number; h: number; w: number } {
  if (t.dims.length !== 4) {
    throw new GanvasError('NOT_4D', `${what} must be 4-D (N, C, H, W), got dims [${t.dims.join(', ')}]`);
  }
  const [n, c, h, w] = t.dims;
  return { n, c, h, w };
}

/** The C-vector at sample n, row y, column x of an NCHW tensor (an "activation vector" in the papers' words). */
export function pixelVector(t: FloatTensor, n: number, y: number, x: number): Float32Array {
  const { c, h, w } = nchw(t);
  const out = new Float32Array(c);
  const base = n * c * h * w + y * w + x;
  // Stryker disable next-line EqualityOperator: k = c only writes past the typed array's end (dropped)
  for (let k = 0; k < c; k++) out[k] = t.data[base + k * h * w];
  return out;
}

export function maxAbsDiff(a: FloatTensor, b: FloatTensor): number {
  if (a.data.length !== b.data.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/**
 * Nearest-neighbour source indices for resizing an axis of `inSize` to `outSize`, as PyTorch's `mode='nearest'`
 * does it: ⌊dst · in / out⌋. Masks, label maps and feature-extractor inputs all resize with it, so a mask and the
 * image it labels always pick the same pixels. An empty axis has no pixel to pick: refused here, once for all
 * of them, rather than read as index −1.
 */
export function nearestIndex(outSize: number, inSize: number): Int32Array {
  if (!Number.isInteger(inSize) || inSize < 1) {
    throw new GanvasError('BAD_INPUT', `cannot resize an axis of size ${inSize}: a mask, label map or image needs at least 1×1 pixels`);
  }
  // Stryker disable next-line ArithmeticOperator: ⌊i·in/out⌋ ≤ in − 1 for every i < out, so the clamp never binds
  return Int32Array.from({ length: outSize }, (_, i) => Math.min(inSize - 1, Math.floor((i * inSize) / outSize)));
}

/** A row-major height×width map (a mask, a label map) resized by nearest neighbour into `out` (outH×outW). */
export function resizeNearest2d<A extends Uint8Array | Int16Array>(src: A, height: number, width: number, out: A, outH: number, outW: number): A {
  const sy = nearestIndex(outH, height);
  const sx = nearestIndex(outW, width);
  // Stryker disable next-line EqualityOperator: y = outH only writes past the end (dropped)
  for (let y = 0; y < outH; y++) {
    const row = sy[y] * width;
    // Stryker disable next-line EqualityOperator: x = outW writes the next row's first pixel, which that row writes again, or past the end
    for (let x = 0; x < outW; x++) out[y * outW + x] = src[row + sx[x]];
  }
  return out;
}

/** `t` with values mapped linearly from range `from` to range `to` (a new tensor). */
export function mapRange(t: FloatTensor, from: [number, number], to: [number, number] = [0, 1]): FloatTensor {
  if (!(from[1] > from[0]) || !(to[1] > to[0])) throw new GanvasError('BAD_INPUT', `ranges must be [low, high] with low < high, got ${JSON.stringify(from)} → ${JSON.stringify(to)}`);
  const k = (to[1] - to[0]) / (from[1] - from[0]);
  const data = new Float32Array(t.data.length);
  // Stryker disable next-line EqualityOperator: i = length only writes past the typed array's end (dropped)
  for (let i = 0; i < data.length; i++) data[i] = to[0] + (t.data[i] - from[0]) * k;
  return displayable({ data, dims: [...t.dims] });
}

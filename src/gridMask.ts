/**
 * Grid masks (paper 000, Fig. 2): where an activation vector is written into a hidden layer.
 *
 * grid(g): g×g blocks whose top-left corners sit at 0, g+1, 2(g+1), … on both axes while the corner is
 * < size − g — one-position gaps between blocks, exactly as in the authors' published code (so the last row and
 * column are never covered). full: every position.
 */
import { GanvasError } from './errors';
import { FloatTensor, resizeNearest2d } from './runtime/tensor';

export type GridSize = number | 'full';

/** A row-major h×w mask, 1 where the vector goes. */
export interface Mask {
  data: Uint8Array;
  height: number;
  width: number;
}

export function gridMask(height: number, width: number, g: GridSize): Mask {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new GanvasError('BAD_INPUT', `a mask needs a positive integer size, got ${height}×${width}`);
  }
  const data = new Uint8Array(height * width);
  if (g === 'full') {
    data.fill(1);
    return { data, height, width };
  }
  if (!Number.isInteger(g) || g < 1) {
    throw new GanvasError('BAD_INPUT', `grid size must be a positive integer or 'full', got ${String(g)}`);
  }
  if (g >= Math.min(height, width)) {
    throw new GanvasError(
      'BAD_INPUT',
      `grid size ${g} leaves no block in a ${height}×${width} layer (corners must be < size − g); use g ≤ ${Math.min(height, width) - 1} or 'full'`,
    );
  }
  for (let cy = 0; cy < height - g; cy += g + 1) {
    for (let cx = 0; cx < width - g; cx += g + 1) {
      for (let y = cy; y < cy + g; y++) for (let x = cx; x < cx + g; x++) data[y * width + x] = 1;
    }
  }
  return { data, height, width };
}

/** The mask as a [1, 1, H, W] image tensor in [-1, 1] (vector positions dark), for showing Fig. 2. */
export function maskImage(mask: Mask): FloatTensor {
  return { data: Float32Array.from(mask.data, (m) => (m ? -1 : 1)), dims: [1, 1, mask.height, mask.width] };
}

/** Nearest-neighbour resize (PyTorch's `mode='nearest'`: source index ⌊dst · in / out⌋). */
export function resizeMask(mask: Mask, height: number, width: number): Mask {
  const data = resizeNearest2d(mask.data, mask.height, mask.width, new Uint8Array(height * width), height, width);
  return { data, height, width };
}

/**
 * Erosion by a zero-padded k×k min-pool (k odd): a position survives only if its whole k×k neighbourhood is in
 * the mask and inside the map. Removes the block borders, where features mix vector and background.
 */
export function erodeMask(mask: Mask, k: number): Mask {
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) {
    throw new GanvasError('BAD_INPUT', `erosion size must be an odd positive integer (1 = none), got ${k}`);
  }
  const r = (k - 1) / 2;
  const { height: h, width: w } = mask;
  const data = new Uint8Array(h * w);
  // Equivalent mutants (issue 19, listed in README "Test quality"): `y <= h` / `x <= w` only write past the end of
  // the Uint8Array (ignored) or position (y+1, 0) before it is computed; `y - dy` / `x - dx` walk the same
  // symmetric window; and a row outside the map reads `undefined` from the typed array, which `!mask.data[…]`
  // refuses as well, so the row bounds test is redundant.
  // Stryker disable next-line EqualityOperator: past-the-end writes are ignored (see above)
  for (let y = 0; y < h; y++) {
    // Stryker disable next-line EqualityOperator: (y, w) is (y+1, 0), recomputed next (see above)
    for (let x = 0; x < w; x++) {
      let keep = 1;
      for (let dy = -r; dy <= r && keep; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          // Stryker disable next-line ArithmeticOperator: symmetric window (see above)
          const yy = y + dy;
          // Stryker disable next-line ArithmeticOperator: symmetric window (see above)
          const xx = x + dx;
          // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: rows outside read undefined (see above; this line's column-bound mutants were killed before the exclusion)
          if (yy < 0 || yy >= h || xx < 0 || xx >= w || !mask.data[yy * w + xx]) {
            keep = 0;
            break;
          }
        }
      }
      data[y * w + x] = keep;
    }
  }
  return { data, height: h, width: w };
}

export function maskCount(mask: Mask): number {
  let n = 0;
  for (const m of mask.data) n += m;
  return n;
}

/**
 * Minimal validation-data loaders for the inversion bench, test and notebook until src/stitching/data.ts lands:
 * Fashion-MNIST test images (28×28 → 32×32 bilinear, align_corners=False, as models/recipes/zoo.py load_fmnist
 * does with torch's F.interpolate, then clamped to [0, 1]).
 */
import { readFileSync } from 'fs';
import { gunzipSync } from 'zlib';
import type { FloatTensor } from 'ganvas';

export const FMNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** torch's bilinear source index (align_corners=False, upsampling): [i0, i1, weight of i1]. */
function taps(outSize: number, inSize: number): [Int32Array, Int32Array, Float32Array] {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(0, scale * (d + 0.5) - 0.5);
    const a = Math.floor(src);
    i0[d] = a;
    i1[d] = a < inSize - 1 ? a + 1 : a;
    l[d] = src - a;
  }
  return [i0, i1, l];
}

/** Test-split images [offset, offset + count) as N×1×32×32 in [0, 1]. */
export function fashionMnistTest(count: number, offset = 0): FloatTensor {
  const raw = gunzipSync(readFileSync(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`));
  const n = raw.readUInt32BE(4);
  const rows = raw.readUInt32BE(8);
  const cols = raw.readUInt32BE(12);
  if (offset + count > n) throw new Error(`Fashion-MNIST test has ${n} images; asked for ${offset}..${offset + count}`);
  const S = 32;
  const [y0, y1, ly] = taps(S, rows);
  const [x0, x1, lx] = taps(S, cols);
  const out = new Float32Array(count * S * S);
  for (let i = 0; i < count; i++) {
    const base = 16 + (offset + i) * rows * cols;
    const px = (y: number, x: number) => raw[base + y * cols + x] / 255;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const top = (1 - lx[x]) * px(y0[y], x0[x]) + lx[x] * px(y0[y], x1[x]);
        const bot = (1 - lx[x]) * px(y1[y], x0[x]) + lx[x] * px(y1[y], x1[x]);
        const v = (1 - ly[y]) * top + ly[y] * bot;
        out[(i * S + y) * S + x] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return { data: out, dims: [count, 1, S, S] };
}

/**
 * The image sets the demo stitches are trained and validated on (paper 003 §4.1.1, Table 2, at our scale):
 *
 * - Fashion-MNIST from Debian's `dataset-fashion-mnist` (idx files), 28×28 → 32×32 bilinear (align_corners=False,
 *   as PyTorch's F.interpolate and the recipes' load_fmnist), values in [0, 1]. Validation: the first 500 test images.
 * - Tissue crops (64×64 RGB, [0, 1]) from skimage's ihc.png: training crops have their left edge in columns
 *   0…336 (so they stay inside columns 0…399, where ihc-features was trained); validation crops lie entirely in
 *   columns 400…511, which no demo classifier was trained on.
 *
 * Images are drawn by seed, so a set is named by (source, count, seed) alone.
 */
import { displayable } from '../runtime/describe';
import { promises as fs } from 'fs';
import { gunzipSync } from 'zlib';
import sharp from 'sharp';
import seedrandom from 'seedrandom';
import { GanvasError, describeError } from '../errors';
import { FloatTensor } from '../runtime/tensor';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const IHC_PNG = '/usr/lib/python3/dist-packages/skimage/data/ihc.png';

function checkCount(name: string, v: number, max = 1e7): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new GanvasError('BAD_INPUT', `${name} must be an integer in 0..${max}, got ${v}`);
}

async function readIdx(file: string): Promise<{ dims: number[]; data: Uint8Array }> {
  let raw: Buffer;
  try {
    raw = gunzipSync(await fs.readFile(file));
  } catch (e) {
    throw new GanvasError(
      'BAD_INPUT',
      `cannot read ${file}: ${describeError(e)}. Fashion-MNIST comes from Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist).`,
      { cause: e },
    );
  }
  const ndim = raw[3];
  const dims = Array.from({ length: ndim }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + 4 + 4 * ndim, raw.length - 4 - 4 * ndim) };
}

/** Bilinear resize weights (align_corners=False, edge-clamped), as PyTorch computes them. */
function bilinearTaps(out: number, inp: number): { i0: Int32Array; i1: Int32Array; t: Float32Array } {
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const t = new Float32Array(out);
  const scale = inp / out;
  // Stryker disable next-line EqualityOperator: o = out writes past the typed arrays' ends
  for (let o = 0; o < out; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    // Stryker disable next-line ArithmeticOperator: the clamp never binds (src < inp − ½), so its bound can move up
    const f = Math.min(Math.floor(src), inp - 1);
    i0[o] = f;
    i1[o] = Math.min(f + 1, inp - 1);
    t[o] = src - f;
  }
  return { i0, i1, t };
}

export interface FashionMnistOptions {
  /** How many images (default: all from offset). */
  count?: number;
  /** Index of the first image (default 0). */
  offset?: number;
  /** Output size (default 32, as the demo models). */
  size?: number;
}

/** Fashion-MNIST images as N×1×size×size in [0, 1], with their labels. */
export async function fashionMnist(split: 'train' | 'test', opts: FashionMnistOptions = {}): Promise<{ images: FloatTensor; labels: Uint8Array }> {
  if (split !== 'train' && split !== 'test') throw new GanvasError('BAD_INPUT', `split must be "train" or "test", got ${JSON.stringify(split)}`);
  const pre = split === 'train' ? 'train' : 't10k';
  const imgs = await readIdx(`${FASHION_MNIST_DIR}/${pre}-images-idx3-ubyte.gz`);
  const labs = await readIdx(`${FASHION_MNIST_DIR}/${pre}-labels-idx1-ubyte.gz`);
  const total = imgs.dims[0];
  const offset = opts.offset ?? 0;
  checkCount('offset', offset, total);
  const count = opts.count ?? total - offset;
  checkCount('count', count, total - offset);
  const size = opts.size ?? 32;
  checkCount('size', size, 4096);
  const [h, w] = [imgs.dims[1], imgs.dims[2]];
  const ty = bilinearTaps(size, h);
  const tx = bilinearTaps(size, w);
  const out = new Float32Array(count * size * size);
  const row = new Float32Array(w);
  // Stryker disable next-line EqualityOperator: n = count writes past out's end
  for (let n = 0; n < count; n++) {
    const src = (offset + n) * h * w;
    // Stryker disable next-line EqualityOperator: y = size writes NaN into the next image's first row, which that image overwrites (past the end for the last)
    for (let y = 0; y < size; y++) {
      const a = src + ty.i0[y] * w;
      const b = src + ty.i1[y] * w;
      const fy = ty.t[y];
      // Stryker disable next-line EqualityOperator: x = w writes past row's end
      for (let x = 0; x < w; x++) row[x] = ((1 - fy) * imgs.data[a + x] + fy * imgs.data[b + x]) / 255;
      // Stryker disable next-line EqualityOperator: x = size writes NaN into the next row's first pixel, which that row overwrites (past the end for the last)
      for (let x = 0; x < size; x++) {
        const v = (1 - tx.t[x]) * row[tx.i0[x]] + tx.t[x] * row[tx.i1[x]];
        out[(n * size + y) * size + x] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return { images: displayable({ data: out, dims: [count, 1, size, size] }), labels: labs.data.slice(offset, offset + count) };
}

let slide: Promise<{ data: Uint8Array; width: number; height: number }> | undefined;
async function ihcSlide(): Promise<{ data: Uint8Array; width: number; height: number }> {
  slide ??= sharp(IHC_PNG)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
    .then(({ data, info }) => ({ data: new Uint8Array(data), width: info.width, height: info.height }))
    .catch((e: unknown) => {
      slide = undefined;
      throw new GanvasError('BAD_INPUT', `cannot read ${IHC_PNG}: ${describeError(e)} (it comes with Debian's python3-skimage)`, { cause: e });
    });
  return slide;
}

export interface TissueCropOptions {
  count: number;
  seed: string | number;
  /** "train": left edges in columns 0…336; "validation": crops inside columns 400…511. */
  split: 'train' | 'validation';
  size?: number;
  /** Random flips and 90° rotations (training augmentation; default: on for train, off for validation). */
  augment?: boolean;
  /** Index of the first crop: crop i is drawn from (split, seed, offset + i) alone, so any range can be made. */
  offset?: number;
  /** Crop indices to make (instead of offset…offset+count−1); count is then indices.length. */
  indices?: number[];
}

/**
 * Random crops of ihc.png as N×3×size×size in [0, 1]. Crop i is drawn by this rule, which a seed names (the tests
 * rebuild crops by it): u1…u4 are the first draws of seedrandom("tissue:<split>:<seed>:<i>"); the crop's top row is
 * ⌊u1·(512 − size + 1)⌋ and its left column lo + ⌊u2·(hi − lo + 1)⌋ (train: lo 0, hi 400 − size; validation: lo 400,
 * hi 512 − size); with augmentation it is then turned ⌊u3·4⌋ quarter turns counter-clockwise and, when u4 < 0.5,
 * mirrored left to right.
 */
export async function tissueCrops(opts: TissueCropOptions): Promise<FloatTensor> {
  const size = opts.size ?? 64;
  const indices = opts.indices;
  if (indices !== undefined) for (const i of indices) checkCount('crop index', i, 1e12);
  const count = indices ? indices.length : opts.count;
  checkCount('count', count);
  checkCount('size', size, 112);
  if (opts.split !== 'train' && opts.split !== 'validation') {
    throw new GanvasError('BAD_INPUT', `split must be "train" or "validation", got ${JSON.stringify(opts.split)}`);
  }
  const { data, width, height } = await ihcSlide();
  const [lo, hi] = opts.split === 'train' ? [0, 400 - size] : [400, width - size];
  const augment = opts.augment ?? opts.split === 'train';
  const offset = opts.offset ?? 0;
  checkCount('offset', offset, 1e12);
  const n = count;
  const out = new Float32Array(n * 3 * size * size);
  // Stryker disable next-line EqualityOperator: s = n writes past out's end
  for (let s = 0; s < n; s++) {
    const rng = seedrandom(`tissue:${opts.split}:${opts.seed}:${indices ? indices[s] : offset + s}`);
    const y0 = Math.floor(rng() * (height - size + 1));
    const x0 = lo + Math.floor(rng() * (hi - lo + 1));
    const rot = augment ? Math.floor(rng() * 4) : 0;
    const flip = augment ? rng() < 0.5 : false;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        // Output pixel (y, x) reads the crop at (sy, sx) after flip and rotation.
        let sy = y;
        let sx = flip ? size - 1 - x : x;
        for (let r = 0; r < rot; r++) [sy, sx] = [sx, size - 1 - sy];
        const src = ((y0 + sy) * width + (x0 + sx)) * 3;
        // Stryker disable next-line EqualityOperator: k = 3 writes the next crop's first channel, which that crop overwrites (past the end for the last)
        for (let k = 0; k < 3; k++) out[((s * 3 + k) * size + y) * size + x] = data[src + k] / 255;
      }
    }
  }
  return displayable({ data: out, dims: [n, 3, size, size] });
}

/**
 * Tensors ↔ images through sharp: one PNG per sample, images read back as tensors, and contact sheets (labelled
 * rows of images, the layout of the papers' figures).
 */
import { promises as fs } from 'fs';
import type sharp from 'sharp';
import { GanvasError, describeError } from '../errors';
import { FloatTensor, nchw } from './tensor';

let sharpModule: typeof sharp | undefined;

/**
 * sharp (libvips), loaded on the first image made or read: loading it took 45 ms of each `ganvas scan` process's
 * start-up (about a sixth of it), and a scan makes no image.
 */
function libvips(): typeof sharp {
  sharpModule ??= require('sharp') as typeof sharp;
  return sharpModule;
}

export interface ToImageOptions {
  /** Value range of the tensor's pixels (from the model manifest), mapped to 0…255. Default [-1, 1]. */
  range?: [number, number];
  /** Integer upscaling with nearest neighbour, so 32×32 samples stay crisp on screen. Default 1. */
  scale?: number;
}

/** Raw 8-bit interleaved pixels of sample n (C = 1 or 3). */
export function toPixels(t: FloatTensor, n: number, range: [number, number] = [-1, 1]): { data: Buffer; width: number; height: number; channels: 1 | 3 } {
  const { c, h, w, n: count } = nchw(t, 'image tensor');
  if (c !== 1 && c !== 3) {
    throw new GanvasError('BAD_IMAGE', `an image tensor needs 1 or 3 channels, got ${c} (dims [${t.dims.join(', ')}])`);
  }
  if (n < 0 || n >= count) throw new GanvasError('BAD_INPUT', `sample ${n} is out of range: the tensor holds ${count}`);
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite) || !(range[0] < range[1])) {
    throw new GanvasError('BAD_INPUT', `an image range must be [low, high] with finite low < high, got ${JSON.stringify(range)}`);
  }
  if (!Number.isInteger(n)) throw new GanvasError('BAD_INPUT', `sample index must be an integer, got ${n}`);
  const [lo, hi] = range;
  const out = Buffer.alloc(h * w * c);
  const base = n * c * h * w;
  const k = 255 / (hi - lo);
  let nan = 0;
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h * w; i++) {
      const v = (t.data[base + ch * h * w + i] - lo) * k;
      if (v !== v) nan++;
      // Stryker disable next-line EqualityOperator: at exactly 0 or 255 the clamp and Math.round give the same byte
      out[i * c + ch] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  if (nan > 0) throw new GanvasError('RUNTIME', `sample ${n} holds ${nan} NaN pixel values; refusing to write them as black (check the vectors or inputs that produced it)`);
  return { data: out, width: w, height: h, channels: c as 1 | 3 };
}

/** PNG bytes of raw interleaved 8-bit pixels (labels, masks, images), upscaled by nearest neighbour when asked. */
export async function rawToPng(data: Uint8Array, width: number, height: number, channels: 1 | 3, scale = 1): Promise<Buffer> {
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 1 || scale > 64 || width * scale * height * scale > MAX_IMAGE_PIXELS) {
    throw new GanvasError('BAD_INPUT', `scale must be an integer from 1 to 64 that keeps the image under ${MAX_IMAGE_PIXELS} pixels, got ${typeof scale === 'number' ? scale : JSON.stringify(scale)} for a ${width}×${height} image`);
  }
  let img = libvips()(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
  // Stryker disable next-line ConditionalExpression: a resize to the same size leaves the pixels as they are (only slower)
  if (scale !== 1) img = img.resize(width * scale, height * scale, { kernel: 'nearest' });
  // One channel stays one channel (sharp otherwise writes 1-channel raw input as an RGB PNG): label maps are read
  // by segmentation loaders as single-channel class indices.
  if (channels === 1) img = img.toColourspace('b-w');
  return img.png().toBuffer();
}

/**
 * The nearest-neighbour upscaling that shows an h×w image at about 128 px: 4 for 32×32, 2 for 64×64, 1 from 128;
 * at most 64, the largest scale `rawToPng` takes (a 1×1 image, e.g. a pooled feature map, was asked for 128 and
 * refused — found by issue 19's tests).
 */
export function readableScale(h: number, w: number): number {
  return Math.min(64, Math.max(1, Math.floor(128 / Math.max(h, w, 1))));
}

/**
 * PNG bytes of sample `n` at `scale` (default 1). Without `n` (`toPng(images)` or `toPng(images, { range })`),
 * ALL samples: one image alone, several as a sheet of up to 8 per row (sample 0 top left, in order), both at a
 * readable size (`readableScale`) unless `scale` is given.
 */
export async function toPng(t: FloatTensor, n?: number | ToImageOptions, opts: ToImageOptions = {}): Promise<Buffer> {
  if (typeof n === 'object' && n !== null) return toPng(t, undefined, n);
  if (n === undefined) {
    const { n: count, h, w } = nchw(t, 'image tensor');
    const scale = opts.scale ?? readableScale(h, w);
    if (count <= 1) return toPng(t, 0, { ...opts, scale });
    const perRow = 8;
    const rows: SheetRow[] = [];
    for (let s = 0; s < count; s += perRow) {
      const e = Math.min(count, s + perRow);
      const per = t.data.length / count;
      rows.push({ images: { data: t.data.subarray(s * per, e * per), dims: [e - s, ...t.dims.slice(1)] } });
    }
    return contactSheet(rows, { ...opts, scale });
  }
  const px = toPixels(t, n, opts.range ?? [-1, 1]);
  return rawToPng(px.data, px.width, px.height, px.channels, opts.scale ?? 1);
}

export interface FromImageOptions {
  /** Resize to [H, W] (default: keep the image's size). */
  size?: [number, number];
  /** 1 (grayscale) or 3 (RGB). Default 3. */
  channels?: 1 | 3;
  /** Value range to map 0…255 onto. Default [0, 1]. */
  range?: [number, number];
  kernel?: 'nearest' | 'linear';
}

/**
 * Decodes a PNG/JPEG (path or bytes) to raw interleaved 8-bit pixels, alpha dropped, after `prepare` (colour
 * space, resizing). Any failure is a BAD_IMAGE error naming the input and what was expected.
 */
export async function decodeImage(
  input: string | Buffer | Uint8Array,
  what: string,
  prepare: (img: sharp.Sharp) => sharp.Sharp,
): Promise<{ data: Buffer; info: sharp.OutputInfo }> {
  const bytes = await imageBytes(input, what);
  const name = typeof input === 'string' ? input : `${input.length} bytes`;
  try {
    // The bytes, never the path, go to sharp: with a path, libvips would also load files an SVG references.
    return await prepare(libvips()(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' }).removeAlpha()).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const big = /pixel limit/i.test(describeError(e)) ? ` (at most ${MAX_IMAGE_PIXELS} pixels)` : '';
    throw new GanvasError('BAD_IMAGE', `cannot read ${what} ${name}: ${describeError(e)}${big} (expected a PNG or JPEG)`, { cause: e });
  }
}

/**
 * The largest image ganvas decodes, in pixels (64 Mpx, e.g. 8192×8192): masks and inputs are a few hundred pixels
 * a side; sharp's own default (268 Mpx) let an 8000×8000 image with blur filters run for minutes at 2 GB.
 */
export const MAX_IMAGE_PIXELS = 8192 * 8192;
/** The largest image file read (bytes). */
export const MAX_IMAGE_BYTES = 256 * 2 ** 20;

/**
 * The bytes of a PNG or JPEG, checked by their signature before any decoder sees them: README promises PNG/JPEG
 * masks, and the other formats libvips reads (SVG above all: scripts of filters, references to other files) are
 * refused here rather than half-supported.
 */
export async function imageBytes(input: unknown, what: string): Promise<Buffer> {
  let bytes: Buffer;
  if (typeof input === 'string') {
    if (input === '' || input.includes('\0')) throw new GanvasError('BAD_IMAGE', `${what} must be a PNG/JPEG file path or its bytes, got ${JSON.stringify(input)}`);
    let size: number;
    try {
      const st = await fs.stat(input);
      if (!st.isFile()) throw new GanvasError('BAD_IMAGE', `cannot read ${what} ${input}: it is not a regular file (expected a PNG or JPEG file)`);
      size = st.size;
    } catch (e) {
      if (e instanceof GanvasError) throw e;
      throw new GanvasError('BAD_IMAGE', `cannot read ${what} ${input}: ${describeError(e)} (expected a PNG or JPEG file)`, { cause: e });
    }
    if (size > MAX_IMAGE_BYTES) throw new GanvasError('BAD_IMAGE', `${what} ${input} is ${size} bytes; ganvas reads images up to ${MAX_IMAGE_BYTES} bytes`);
    try {
      bytes = await fs.readFile(input);
    } catch (e) {
      throw new GanvasError('BAD_IMAGE', `cannot read ${what} ${input}: ${describeError(e)}`, { cause: e });
    }
  } else if (input instanceof Uint8Array) {
    bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  } else {
    throw new GanvasError('BAD_IMAGE', `${what} must be a PNG/JPEG file path or its bytes (Buffer/Uint8Array), got ${input === null ? 'null' : typeof input}`);
  }
  const png = bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const jpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!png && !jpeg) {
    const head = bytes.subarray(0, 256).toString('latin1');
    const kind = /<svg|<\?xml/i.test(head) ? 'an SVG/XML file' : bytes.length === 0 ? 'empty' : 'neither PNG nor JPEG';
    const name = typeof input === 'string' ? input : `(${bytes.length} bytes)`;
    throw new GanvasError('BAD_IMAGE', `cannot read ${what} ${name}: it is ${kind} (expected a PNG or JPEG; ganvas reads no other format — save the ${what} as PNG)`);
  }
  return bytes;
}

/** Reads a PNG/JPEG (path or bytes) into a [1, C, H, W] tensor. */
export async function fromImage(input: string | Buffer | Uint8Array, opts: FromImageOptions = {}): Promise<FloatTensor> {
  const channels = opts.channels ?? 3;
  const [lo, hi] = opts.range ?? [0, 1];
  const raw = await decodeImage(input, 'image', (img) => {
    const colour = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    return opts.size
      ? colour.resize(opts.size[1], opts.size[0], { fit: 'fill', kernel: opts.kernel === 'linear' ? 'linear' : 'nearest' })
      : colour;
  });
  const { width: w, height: h } = raw.info;
  const c = raw.info.channels;
  const data = new Float32Array(channels * h * w);
  // Stryker disable next-line EqualityOperator: ch = channels writes past the typed array's end, which is dropped
  for (let ch = 0; ch < channels; ch++) {
    // Stryker disable next-line EqualityOperator,ArithmeticOperator: i = h·w writes the next plane's first value, which that plane overwrites (or past the end); sharp returns the channels asked for, so c − 1 ≥ ch always and min(ch, c ± 1) = ch
    for (let i = 0; i < h * w; i++) data[ch * h * w + i] = lo + (raw.data[i * c + Math.min(ch, c - 1)] / 255) * (hi - lo);
  }
  return { data, dims: [1, channels, h, w] };
}

export interface SheetRow {
  label?: string;
  /** A batch of images (N, C, H, W) shown left to right. */
  images: FloatTensor;
  /** Optional caption under each image (e.g. a score). */
  captions?: string[];
}

export interface SheetOptions extends ToImageOptions {
  /** Pixels between cells. Default 2. */
  gap?: number;
  /** Width of the label column in pixels. Default 0 when no row has a label, else 120. */
  labelWidth?: number;
  background?: string;
  /** Column labels drawn above the first row (e.g. ['g = 1', …, 'full']); additive, none by default. */
  columns?: string[];
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch] as string);
}

/** A contact sheet: rows of images with labels on the left and optional captions under each image. */
export async function contactSheet(rows: SheetRow[], opts: SheetOptions = {}): Promise<Buffer> {
  if (rows.length === 0) throw new GanvasError('BAD_INPUT', 'a contact sheet needs at least one row');
  const scale = opts.scale ?? 2;
  const gap = opts.gap ?? 2;
  const dims = rows.map((r) => nchw(r.images, `row "${r.label ?? ''}"`));
  const cellW = Math.max(...dims.map((d) => d.w)) * scale;
  const cellH = Math.max(...dims.map((d) => d.h)) * scale;
  const captionH = rows.some((r) => r.captions) ? 14 : 0;
  const labelW = opts.labelWidth ?? (rows.some((r) => r.label) ? 120 : 0);
  const cols = Math.max(...dims.map((d) => d.n));
  const width = labelW + cols * (cellW + gap) + gap;
  const rowH = cellH + captionH + gap;
  const headH = opts.columns?.length ? 14 : 0;
  const height = headH + rows.length * rowH + gap;
  const composites: sharp.OverlayOptions[] = [];
  // Stryker disable next-line ArrayDeclaration: a stray string in the SVG's group outside any <text> draws nothing
  const texts: string[] = [];
  opts.columns?.forEach((c, i) => {
    if (i < cols) texts.push(`<text x="${labelW + gap + i * (cellW + gap) + cellW / 2}" y="${gap + 10}" font-size="11" text-anchor="middle">${escapeXml(c)}</text>`);
  });
  for (let r = 0; r < rows.length; r++) {
    const top = headH + gap + r * rowH;
    const row = rows[r];
    if (row.label) {
      texts.push(`<text x="4" y="${top + cellH / 2 + 4}" font-size="12">${escapeXml(row.label)}</text>`);
    }
    for (let i = 0; i < dims[r].n; i++) {
      const left = labelW + gap + i * (cellW + gap);
      const png = await toPng(row.images, i, { range: opts.range, scale });
      composites.push({ input: png, left, top });
      const cap = row.captions?.[i];
      if (cap !== undefined) texts.push(`<text x="${left}" y="${top + cellH + 11}" font-size="10">${escapeXml(cap)}</text>`);
    }
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: an SVG without texts composited over the sheet changes no pixel
  if (texts.length > 0) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="sans-serif" fill="#222">${texts.join('')}</g></svg>`;
    composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  }
  return libvips()({ create: { width, height, channels: 3, background: opts.background ?? '#ffffff' } })
    .composite(composites)
    .png()
    .toBuffer();
}

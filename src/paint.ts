/**
 * Painting with activation vectors (paper 000 §3.2, §4.3): an RGB mask says where each vector is written into the
 * hidden layer; one color means "keep the original activations"; the tail renders the painted image.
 */
import { GanvasError } from './errors';
import { Cut, HeadResult, SampleOptions } from './generator';
import { KEEP_COLOR, VectorLibrary, colorValue, normalizeColor } from './library';
import { decodeImage, rawToPng, toPng } from './runtime/image';
import { Seed } from './runtime/noise';
import { finiteVector, positiveInt } from './validate';
import { FloatTensor, concatBatch, resizeNearest2d } from './runtime/tensor';

/** Interleaved 8-bit RGB pixels. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export type MaskInput = string | Buffer | Uint8Array | RgbImage;

/** Colors → vectors: a library (its colors), or an explicit map "#rrggbb" → vector. */
export type Palette = VectorLibrary | Record<string, Float32Array>;

/** Reads a mask (PNG/JPEG path or bytes, or raw RGB) as RGB pixels. */
export async function readMask(input: MaskInput): Promise<RgbImage> {
  if (input === null || input === undefined) throw new GanvasError('BAD_IMAGE', `a mask must be a PNG/JPEG path, its bytes, or {data, width, height} RGB pixels, got ${input}`);
  if (typeof input === 'object' && !(input instanceof Uint8Array) && 'width' in input) {
    positiveInt(input.width, 'an RGB mask\'s width', 1 << 16);
    positiveInt(input.height, 'an RGB mask\'s height', 1 << 16);
    if (!(input.data instanceof Uint8Array)) throw new GanvasError('BAD_IMAGE', 'an RGB mask\'s data must be a Uint8Array of interleaved R, G, B bytes');
    if (input.data.length !== input.width * input.height * 3) {
      throw new GanvasError('BAD_IMAGE', `an RGB mask of ${input.width}×${input.height} needs ${input.width * input.height * 3} bytes, got ${input.data.length}`);
    }
    return input;
  }
  const { data, info } = await decodeImage(input, 'mask', (img) => img.toColourspace('srgb'));
  return { data, width: info.width, height: info.height };
}

function hex(r: number, g: number, b: number): string {
  return `#${((r << 16) | (g << 8) | b).toString(16).padStart(6, '0')}`;
}

/** Counts the colors of a mask, most frequent first. */
export function maskColors(mask: RgbImage): { color: string; pixels: number }[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < mask.width * mask.height; i++) {
    const key = (mask.data[3 * i] << 16) | (mask.data[3 * i + 1] << 8) | mask.data[3 * i + 2];
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => ({ color: hex(k >> 16, (k >> 8) & 255, k & 255), pixels: n }));
}

/** A label map: one entry per position, an index into `colors`, or −1 for "keep". */
export interface LabelMap {
  data: Int16Array;
  height: number;
  width: number;
}

export interface Painting {
  /** The painted image [1, C, H, W] in the generator's range. */
  image: FloatTensor;
  /** The mask at the hidden layer's resolution (what was written). */
  layerLabels: LabelMap;
  /** The same mask at the image's resolution (nearest upsampling of layerLabels). */
  imageLabels: LabelMap;
  /** Palette colors, indexed by the label values. */
  colors: string[];
}

export interface PaintOptions {
  /** Background sample (its activations under "keep", its noise and style). Default 0. */
  seed?: Seed;
  /** Noise seed for the tail; default: the background seed. */
  noiseSeed?: Seed;
  /** The "keep the original activations" color. Default #00ff00. */
  keep?: string;
}

function paletteEntries(palette: Palette): { color: string; vector: Float32Array }[] {
  if (palette instanceof VectorLibrary) return palette.entries.map((e) => ({ color: e.color, vector: e.vector }));
  if (typeof palette !== 'object' || palette === null || Array.isArray(palette)) {
    throw new GanvasError('BAD_INPUT', 'a palette must be a VectorLibrary or an object {"#rrggbb": Float32Array}');
  }
  return Object.entries(palette).map(([c, v]) => ({ color: normalizeColor(c), vector: finiteVector(v, `the vector for ${c}`) }));
}

/** Nearest-neighbour resizing (source index ⌊dst · in / out⌋), as everywhere in ganvas. */
export function resizeLabels(l: LabelMap, height: number, width: number): LabelMap {
  const data = resizeNearest2d(l.data, l.height, l.width, new Int16Array(height * width), height, width);
  return { data, height, width };
}

/**
 * Paints with a cut: keeps the background sample's head result, so repeated paints (a brush stroke at a time)
 * cost one tail run each.
 */
export class Painter {
  private head?: { key: string; result: HeadResult };
  readonly colors: string[];
  readonly vectors: Float32Array[];
  readonly keep: string;
  /** Packed 0xRRGGBB → palette index (−1 for the keep color): built once, read for every pixel of every paint. */
  private readonly indexOf: Map<number, number>;

  constructor(
    readonly cut: Cut,
    palette: Palette,
    keep: string = KEEP_COLOR,
  ) {
    if (palette instanceof VectorLibrary) palette.checkFits(cut);
    const entries = paletteEntries(palette);
    this.keep = normalizeColor(keep);
    for (const e of entries) {
      if (e.vector.length !== cut.layer.channels) {
        throw new GanvasError('BAD_INPUT', `the vector for ${e.color} has ${e.vector.length} channels; ${cut.layerName} has ${cut.layer.channels}`);
      }
      if (e.color === this.keep) throw new GanvasError('BAD_INPUT', `${e.color} is the keep color; it cannot also map to a vector`);
    }
    this.colors = entries.map((e) => e.color);
    this.vectors = entries.map((e) => e.vector);
    this.indexOf = new Map<number, number>(this.colors.map((c, i) => [colorValue(c), i]));
    this.indexOf.set(colorValue(this.keep), -1);
  }

  /** The mask as labels at its own resolution; unknown colors are an error listing what was found. */
  labels(mask: RgbImage): LabelMap {
    // Keyed by the packed 0xRRGGBB value, not by "#rrggbb" strings: no string per pixel on the paint path.
    const index = this.indexOf;
    const data = new Int16Array(mask.width * mask.height);
    let unknown = false;
    for (let i = 0; i < data.length; i++) {
      const k = index.get((mask.data[3 * i] << 16) | (mask.data[3 * i + 1] << 8) | mask.data[3 * i + 2]);
      if (k === undefined) {
        unknown = true;
        break;
      }
      data[i] = k;
    }
    if (unknown) {
      const found = maskColors(mask);
      const strays = found.filter((f) => !index.has(colorValue(f.color)));
      throw new GanvasError(
        'BAD_INPUT',
        `the mask has ${strays.length} color(s) that are not in the palette: ` +
          strays.slice(0, 8).map((f) => `${f.color} (${f.pixels} px)`).join(', ') + (strays.length > 8 ? ', …' : '') +
          `. Colors found: ${found.slice(0, 12).map((f) => `${f.color} (${f.pixels} px)`).join(', ')}. ` +
          `Palette: ${this.colors.join(', ') || '(empty)'}, keep: ${this.keep}. Draw without anti-aliasing (hard brushes, nearest resizing).`,
      );
    }
    return { data, height: mask.height, width: mask.width };
  }

  private async background(seed: Seed, noiseSeed: Seed): Promise<HeadResult> {
    const key = `${seed}|${noiseSeed}`;
    // Stryker disable next-line ConditionalExpression: sampling the same seeds again gives the same head result; the cache only saves the head run
    if (this.head?.key !== key) {
      const opts: SampleOptions = { noiseSeeds: [noiseSeed] };
      this.head = { key, result: await this.cut.sample([seed], opts) };
    }
    return this.head.result;
  }

  /** The edited activations for one label map at layer resolution, on a background head result (sample 0). */
  compose(bg: HeadResult, layerLabels: LabelMap, override?: Map<number, Float32Array>): FloatTensor {
    // Stryker disable next-line ArithmeticOperator: the background head result holds one sample (dims[0] = 1)
    const acts = { data: bg.activations.data.slice(0, bg.activations.data.length / bg.activations.dims[0]), dims: [1, ...bg.activations.dims.slice(1)] };
    const [, c, h, w] = acts.dims;
    for (let i = 0; i < h * w; i++) {
      const k = layerLabels.data[i];
      if (k < 0) continue;
      const v = override?.get(k) ?? this.vectors[k];
      // Stryker disable next-line EqualityOperator: ch = c writes past the typed array's end, which is dropped
      for (let ch = 0; ch < c; ch++) acts.data[ch * h * w + i] = v[ch];
    }
    return acts;
  }

  async paint(mask: MaskInput, opts: PaintOptions = {}): Promise<Painting> {
    return this.render(this.labels(await readMask(mask)), opts);
  }

  /**
   * Paints a label map (palette indices, −1 = keep) of any size: what paint() does once the mask's colors are
   * read, for callers that already hold labels (the dataset writer draws them directly).
   */
  async paintLabels(labels: LabelMap, opts: PaintOptions = {}): Promise<Painting> {
    if (labels.data.length !== labels.height * labels.width) {
      throw new GanvasError('BAD_INPUT', `a ${labels.height}×${labels.width} label map needs ${labels.height * labels.width} labels, got ${labels.data.length}`);
    }
    // Stryker disable next-line EqualityOperator: labels.data[length] is undefined and fails neither comparison
    for (let i = 0; i < labels.data.length; i++) {
      if (labels.data[i] < -1 || labels.data[i] >= this.colors.length) {
        throw new GanvasError('BAD_INPUT', `label ${labels.data[i]} at position ${i} is not a palette index (−1 = keep, 0 … ${this.colors.length - 1})`);
      }
    }
    return this.render(labels, opts);
  }

  /** Labels known to be valid (read from a mask's colors, or checked) → the painted image. */
  private async render(labels: LabelMap, opts: PaintOptions): Promise<Painting> {
    const { height: h, width: w } = this.cut.layer;
    const layerLabels = resizeLabels(labels, h, w);
    const seed = opts.seed ?? 0;
    const bg = await this.background(seed, opts.noiseSeed ?? seed);
    const image = await this.cut.render(this.compose(bg, layerLabels), bg.carry);
    const imageLabels = resizeLabels(layerLabels, image.dims[2], image.dims[3]);
    return { image, layerLabels, imageLabels, colors: this.colors };
  }

  /** Fig. 8, left: the same mask and noise, with the vector of `color` replaced by each of `vectors`. */
  async vectorVariations(mask: MaskInput, color: string, vectors: Float32Array[], opts: PaintOptions = {}): Promise<FloatTensor> {
    const k = this.colors.indexOf(normalizeColor(color));
    if (k < 0) throw new GanvasError('BAD_INPUT', `${color} is not in the palette (${this.colors.join(', ')})`);
    const layerLabels = resizeLabels(this.labels(await readMask(mask)), this.cut.layer.height, this.cut.layer.width);
    const seed = opts.seed ?? 0;
    const bg = await this.background(seed, opts.noiseSeed ?? seed);
    const acts = concatBatch(vectors.map((v) => this.compose(bg, layerLabels, new Map([[k, v]]))));
    const carry: Record<string, FloatTensor> = {};
    for (const [name, t] of Object.entries(bg.carry)) carry[name] = concatBatch(vectors.map(() => t));
    return this.cut.render(acts, carry);
  }

  /** Fig. 8, right: the same mask and vectors, with each noise seed in turn. */
  async noiseVariations(mask: MaskInput, noiseSeeds: Seed[], opts: PaintOptions = {}): Promise<FloatTensor> {
    const labels = this.labels(await readMask(mask));
    const out: FloatTensor[] = [];
    for (const ns of noiseSeeds) out.push((await this.render(labels, { ...opts, noiseSeed: ns })).image);
    return concatBatch(out);
  }
}

/** One-shot painting: `paint(cut, mask, palette, { seed })`. Use a Painter to paint repeatedly. */
export async function paint(cut: Cut, mask: MaskInput, palette: Palette, opts: PaintOptions = {}): Promise<Painting> {
  return new Painter(cut, palette, opts.keep).paint(mask, opts);
}

/** A label map as an RGB mask image (keep color where −1). */
export function labelsToRgb(l: LabelMap, colors: string[], keep = KEEP_COLOR): RgbImage {
  const rgb = [...colors, keep].map(colorValue);
  const data = new Uint8Array(l.height * l.width * 3);
  // Stryker disable next-line EqualityOperator: i = length writes past the typed array's end, which is dropped
  for (let i = 0; i < l.data.length; i++) {
    const v = rgb[l.data[i] < 0 ? colors.length : l.data[i]];
    data[3 * i] = v >> 16;
    data[3 * i + 1] = (v >> 8) & 255;
    data[3 * i + 2] = v & 255;
  }
  return { data, width: l.width, height: l.height };
}

export async function rgbToPng(img: RgbImage): Promise<Buffer> {
  return rawToPng(img.data, img.width, img.height, 3);
}

/** The painted image as PNG bytes. */
export function paintingPng(p: Painting, range: [number, number], scale = 1): Promise<Buffer> {
  return toPng(p.image, 0, { range, scale });
}

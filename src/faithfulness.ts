/**
 * How faithfully painting puts a vector's structure where the mask says — beyond the paper, measured:
 * - paintIoU: for tissue generators, an oracle segmentation by colour deconvolution of the painted image, and the
 *   IoU of the painted region with the pixels of the vector's own stain class (the class its `full` render shows
 *   most), over several background samples;
 * - afterCutInfluence: the limitation of paper 000 §4.4 — inputs that enter after the cut (StyleGAN's style vector
 *   and noise) change the painted region even though the painted activations are fixed.
 */
import { GanvasError } from './errors';
import { Cut, HeadResult } from './generator';
import { LabelMap, Painter, RgbImage, readMask, resizeLabels } from './paint';
import { Seed } from './runtime/noise';
import { FloatTensor } from './runtime/tensor';
import { STAIN_CLASSES, StainClass, StainThresholds, rgbToHed, stainLabels, stainThresholds } from './stain';
import { ActivationVector, visualize } from './visualize';

export interface PaintIoU {
  vector: ActivationVector;
  stainClass: StainClass;
  /** IoU per background seed, and their mean. */
  ious: number[];
  iou: number;
  /** Share of the painted pixels that the oracle gives the vector's class (mean over seeds). */
  coverage: number;
}

export interface PaintIoUOptions {
  /** Background samples to paint on (default 0…7). */
  seeds?: Seed[];
  /** Oracle thresholds; default: from 256 unpainted samples (each stain's mean + 1 std). */
  thresholds?: StainThresholds;
  /** The painted region at layer resolution (1 = paint); default: the central square of half the side. */
  region?: Uint8Array;
}

function centralSquare(h: number, w: number): Uint8Array {
  const m = new Uint8Array(h * w);
  for (let y = Math.floor(h / 4); y < Math.ceil((3 * h) / 4); y++) for (let x = Math.floor(w / 4); x < Math.ceil((3 * w) / 4); x++) m[y * w + x] = 1;
  return m;
}

function majority(labels: Uint8Array): number {
  const counts = new Array<number>(STAIN_CLASSES.length).fill(0);
  for (const l of labels) counts[l]++;
  return counts.indexOf(Math.max(...counts));
}

export async function paintIoU(cut: Cut, vectors: readonly ActivationVector[], opts: PaintIoUOptions = {}): Promise<PaintIoU[]> {
  const gen = cut.generator;
  const seeds = opts.seeds ?? [0, 1, 2, 3, 4, 5, 6, 7];
  const thresholds = opts.thresholds ?? stainThresholds(await gen.generate(Array.from({ length: 256 }, (_, i) => `oracle:${i}`)), gen.range);
  const { height: h, width: w } = cut.layer;
  const region = opts.region ?? centralSquare(h, w);
  if (region.length !== h * w) throw new GanvasError('BAD_INPUT', `the region must be ${h}×${w} (the layer's size)`);
  // Stryker disable next-line ObjectLiteral: 'full' is visualize's default grid; named here for the reader
  const full = await visualize(cut, vectors, { grid: 'full' });
  // The background samples are the same for every vector: run their heads once.
  const backgrounds: HeadResult[] = [];
  for (const s of seeds) backgrounds.push(await cut.sample([s]));
  // The painted region is the same for every vector: its label map (and that map at image size) is made once.
  const layerLabels: LabelMap = { data: Int16Array.from(region, (r) => (r ? 0 : -1)), height: h, width: w };
  let painted: Int16Array | undefined;
  const out: PaintIoU[] = [];
  for (let i = 0; i < vectors.length; i++) {
    const cls = majority(stainLabels(rgbToHed(full, i, gen.range), thresholds));
    const painter = new Painter(cut, { '#ff0000': vectors[i].vector });
    const ious: number[] = [];
    let covered = 0;
    for (const bg of backgrounds) {
      const img = await cut.render(painter.compose(bg, layerLabels), bg.carry);
      painted ??= resizeLabels(layerLabels, img.dims[2], img.dims[3]).data;
      const oracle = stainLabels(rgbToHed(img, 0, gen.range), thresholds);
      let inter = 0;
      let union = 0;
      let area = 0;
      // Stryker disable next-line EqualityOperator: one step past the end reads undefined twice (not painted, not the class)
      for (let p = 0; p < painted.length; p++) {
        const a = painted[p] === 0;
        const b = oracle[p] === cls;
        if (a && b) inter++;
        if (a || b) union++;
        if (a) area++;
      }
      ious.push(union ? inter / union : 0);
      covered += area ? inter / area : 0;
    }
    out.push({ vector: vectors[i], stainClass: STAIN_CLASSES[cls], ious, iou: ious.reduce((a, b) => a + b, 0) / ious.length, coverage: covered / seeds.length });
  }
  return out;
}

export interface Influence {
  /** Mean |Δpixel| / (range width) inside the painted region, over the other seeds. */
  inside: number;
  outside: number;
  /** The tail inputs other than the layer (what enters after the cut). */
  enteringAfterCut: string[];
  /** Those taken from the other seeds (the rest stay the base sample's). */
  varied: string[];
}

/**
 * Paints `mask` once (activations fixed), then renders it with what enters after the cut taken from other seeds,
 * and measures how much the image changes. By default the varied inputs are the original inputs read after the
 * cut (noise, style) and the crossing tensors that are not spatial (style vectors such as w, or per-layer styles
 * shaped N×C×1×1); spatial crossing tensors (skip branches from earlier layers, such as StyleGAN's RGB image so
 * far) stay the base sample's, so only "style and noise" are measured.
 */
export async function afterCutInfluence(
  painter: Painter,
  mask: string | Buffer | RgbImage,
  opts: { seed?: Seed; others?: Seed[]; vary?: (name: string, t: FloatTensor) => boolean } = {},
): Promise<Influence> {
  const cut = painter.cut;
  const seed = opts.seed ?? 0;
  const others = opts.others ?? [1, 2, 3, 4, 5, 6, 7, 8];
  const layerLabels = resizeLabels(painter.labels(await readMask(mask)), cut.layer.height, cut.layer.width);
  const bg = await cut.sample([seed]);
  const acts = painter.compose(bg, layerLabels);
  const base = await cut.render(acts, bg.carry);
  const [lo, hi] = cut.generator.range;
  const [, c, H, W] = base.dims;
  const painted = resizeLabels(layerLabels, H, W).data;
  let inSum = 0;
  let inN = 0;
  let outSum = 0;
  let outN = 0;
  // Not spatial: a vector (w), or one laid out as N×C×1×1 for broadcasting (a per-layer style).
  const spatial = (t: FloatTensor) => t.dims.length >= 4 && t.dims.slice(2).some((d) => d > 1);
  const vary = opts.vary ?? ((name: string, t: FloatTensor) => cut.split.tailInputs.some((x) => x.name === name && x.role === 'input') || !spatial(t));
  const varied = Object.keys(bg.carry).filter((k) => vary(k, bg.carry[k]));
  for (const o of others) {
    const other = await cut.sample([o]);
    const carry = { ...bg.carry };
    for (const k of varied) carry[k] = other.carry[k];
    const img: FloatTensor = await cut.render(acts, carry);
    for (let k = 0; k < c; k++) {
      for (let p = 0; p < H * W; p++) {
        const d = Math.abs(img.data[k * H * W + p] - base.data[k * H * W + p]) / (hi - lo);
        if (painted[p] >= 0) {
          inSum += d;
          inN++;
        } else {
          outSum += d;
          outN++;
        }
      }
    }
  }
  return {
    inside: inN ? inSum / inN : 0,
    outside: outN ? outSum / outN : 0,
    enteringAfterCut: cut.split.tailInputs.filter((t) => t.role !== 'layer').map((t) => t.name),
    varied,
  };
}

/**
 * The stitch widget (kernel side; paper 003 live): draw an image (or pick a test image to start from) at the
 * classifier's input size and see it reconstructed from every stitched layer while drawing. Each request carries
 * the canvas's pixels and the generator seed; the kernel inverts them with every stitch and answers one image's
 * pixels per layer. The last drawn image and its reconstructions stay on the widget object for later cells.
 */
import { GanvasError } from '../errors';
import { showHtml } from '../display';
import { decodeImage, toPixels, toPng } from '../runtime/image';
import { FloatTensor, nchw, sliceBatch } from '../runtime/tensor';
import { stitchLabel } from '../stitching/figures';
import { Stitch } from '../stitching/stitch';
import { dataUrl, escapeHtml, widgetHtml } from './html';
import { Json, WidgetHost, WidgetServer, defaultHost } from './server';

export interface StitchWidgetOptions {
  /** Generator seed for the reconstructions (default 0). */
  seed?: number;
  /** Test images to start from (N×C×H×W in the classifier's range); the first is drawn on the canvas at first. */
  picks?: FloatTensor;
  /** One label per stitch (default "layerX → layerY"). */
  labels?: string[];
  /** Display size of the canvas in CSS pixels (default 224); reconstructions are shown at half of it. */
  displaySize?: number;
  /** The canvas colour after "clear", "#rrggbb" (default black for one channel, white for RGB). */
  background?: string;
  host?: WidgetHost;
}

/** The request types the widget answers. */
export const STITCH_WIDGET_REQUESTS = ['invert'] as const;

interface InputSpec {
  channels: 1 | 3;
  height: number;
  width: number;
  range: [number, number];
}

function inputSpec(stitches: Stitch[]): InputSpec {
  if (!Array.isArray(stitches) || stitches.length === 0) throw new GanvasError('BAD_INPUT', 'the stitch widget needs at least one stitch');
  const specs = stitches.map((s) => {
    if (!(s instanceof Stitch)) throw new GanvasError('BAD_INPUT', `the stitch widget takes Stitch objects (Stitch.load), got ${typeof s}`);
    const p = s.parts.classifier.manifest.preprocess;
    if (!p) throw new GanvasError('BAD_MANIFEST', `${s.name}: the classifier has no preprocess (input size)`);
    return { channels: p.channels === 1 ? 1 : 3, height: p.size[0], width: p.size[1], range: [p.range[0], p.range[1]] } as InputSpec;
  });
  const key = (x: InputSpec) => `${x.channels}×${x.height}×${x.width} in [${x.range.join(', ')}]`;
  for (const [i, x] of specs.entries()) {
    if (key(x) !== key(specs[0])) {
      throw new GanvasError(
        'BAD_INPUT',
        `all stitches of one widget must take the same images: ${stitches[0].name} takes ${key(specs[0])}, ${stitches[i].name} takes ${key(x)}; make one widget per classifier`,
      );
    }
  }
  return specs[0];
}

/** Pixels (interleaved, 8-bit) → a [1, C, H, W] tensor in `range`. */
function pixelsToTensor(px: Uint8Array, channelsIn: number, spec: InputSpec): FloatTensor {
  const { channels: c, height: h, width: w } = spec;
  const [lo, hi] = spec.range;
  const data = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    if (c === 1) {
      // The canvas is RGB; a grey brush has r = g = b. Coloured pixels (from elsewhere) count by luma (Rec. 601).
      // Stryker disable next-line ArithmeticOperator: the grey branch has channelsIn = 1 (raw pixels of a one-channel classifier; decodeImage gives PNGs ≥ 3 channels), where i / 1 = i · 1
      const v = channelsIn >= 3 ? 0.299 * px[i * channelsIn] + 0.587 * px[i * channelsIn + 1] + 0.114 * px[i * channelsIn + 2] : px[i * channelsIn];
      data[i] = lo + (v / 255) * (hi - lo);
    } else {
      // Stryker disable next-line EqualityOperator,ArithmeticOperator: k = 3 writes past the Float32Array's end (dropped); channelsIn is 3 here (raw RGB pixels, decoded PNGs), where min(k, 2) = min(k, 4) = k
      for (let k = 0; k < 3; k++) data[k * h * w + i] = lo + (px[i * channelsIn + Math.min(k, channelsIn - 1)] / 255) * (hi - lo);
    }
  }
  return { data, dims: [1, c, h, w] };
}

export class StitchWidget {
  seed: number;
  /** The last image inverted (the drawn canvas), [1, C, H, W] in the classifier's range. */
  image?: FloatTensor;
  /** Its reconstructions, one [1, C, H, W] tensor per stitch (in that stitch's generator's range). */
  // Stryker disable next-line ArrayDeclaration: create() sets it (invertImage) before anyone can read it
  reconstructions: FloatTensor[] = [];
  /** Kernel-side time of the last inversion (decode, every stitch, encode), in ms. */
  lastInvertMs = 0;
  /** Inversions done (requests answered plus calls to invertImage). */
  inversions = 0;
  readonly labels: string[];
  readonly spec: InputSpec;
  /** The canvas colour after "clear". */
  readonly background: string;
  private drawnPng?: Buffer;
  // Stryker disable next-line ArrayDeclaration: create() sets it (snapshot) before anyone can read it
  private lastPngs: Buffer[] = [];
  private pickPngs: Buffer[] = [];

  private constructor(
    readonly stitches: Stitch[],
    readonly server: WidgetServer,
    readonly id: string,
    private readonly opts: StitchWidgetOptions,
    spec: InputSpec,
  ) {
    this.seed = opts.seed ?? 0;
    this.spec = spec;
    this.labels = opts.labels ?? stitches.map(stitchLabel);
    this.background = opts.background ?? (spec.channels === 1 ? '#000000' : '#ffffff');
  }

  static async create(stitches: Stitch[], opts: StitchWidgetOptions = {}): Promise<StitchWidget> {
    const spec = inputSpec(stitches);
    if (opts.labels !== undefined && (!Array.isArray(opts.labels) || opts.labels.length !== stitches.length)) {
      throw new GanvasError('BAD_INPUT', `labels: give one per stitch (${stitches.length}), got ${Array.isArray(opts.labels) ? opts.labels.length : typeof opts.labels}`);
    }
    checkSeed(opts.seed ?? 0);
    if (opts.background !== undefined) parseColor(opts.background);
    if (opts.picks !== undefined) {
      const { c, h, w } = nchw(opts.picks, 'picks');
      if (c !== spec.channels || h !== spec.height || w !== spec.width) {
        throw new GanvasError('BAD_INPUT', `picks are ${c}×${h}×${w}, but the classifier takes ${spec.channels}×${spec.height}×${spec.width}`);
      }
    }
    const server = await (opts.host ?? defaultHost).server();
    let self: StitchWidget | undefined;
    const id = server.register(async (type, payload) => {
      // Stryker disable next-line all: unreachable: self is assigned right after register(), with no await in between
      if (!self) throw new GanvasError('RUNTIME', 'the stitch widget is not ready yet');
      return self.request(type, payload);
    });
    self = new StitchWidget(stitches, server, id, opts, spec);
    const first = opts.picks && opts.picks.dims[0] > 0 ? sliceBatch(opts.picks, 0, 1) : self.blank();
    for (let i = 0; i < (opts.picks?.dims[0] ?? 0); i++) self.pickPngs.push(await toPng(opts.picks as FloatTensor, i, { range: spec.range }));
    await self.invertImage(first);
    self.inversions = 0;
    await self.snapshot();
    return self;
  }

  /** An empty canvas: the background colour, in the classifier's range. */
  private blank(): FloatTensor {
    const { channels: c, height: h, width: w, range } = this.spec;
    const rgb = parseColor(this.background);
    const px = new Uint8Array(h * w * 3);
    for (let i = 0; i < h * w; i++) px.set(rgb, 3 * i);
    return pixelsToTensor(px, 3, { channels: c, height: h, width: w, range });
  }

  /**
   * Answers a widget request. `invert`: { pixels: base64 of the canvas's 8-bit pixels at the classifier's input size
   * (H × W × C, interleaved, C the classifier's channels) — or image: a base64 PNG of it —, seed?: integer } →
   * { images: [{ label, pixels, width, height, channels }], ms, seed }, one per stitch, pixels the same way. Anything
   * else gets a clear error (sent back as the reply) and changes nothing.
   *
   * Raw pixels, not PNG, on the wire: at 32×32 sharp's PNG decode and encodes took 15 of the 42 ms of a stroke
   * with two stitches on a busy 2-core host (bench/stitch-widget.ts), while the raw pixels are only 1–12 KB.
   */
  async request(type: string, payload: Record<string, Json>): Promise<Record<string, Json>> {
    if (type !== 'invert') throw new GanvasError('BAD_INPUT', `unknown request "${type}"; the stitch widget answers ${STITCH_WIDGET_REQUESTS.map((t) => `"${t}"`).join(', ')}`);
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new GanvasError('BAD_INPUT', 'the invert request needs a payload object { pixels, seed }');
    const seed = payload.seed === undefined ? this.seed : payload.seed;
    if (typeof seed !== 'number') throw new GanvasError('BAD_INPUT', `seed must be an integer, got ${JSON.stringify(seed)}`);
    checkSeed(seed);
    const { channels: c, height: h, width: w } = this.spec;
    const { pixels, image } = payload;
    if ((pixels === undefined) === (image === undefined)) {
      throw new GanvasError('BAD_INPUT', `the invert request needs either pixels (base64 of ${h}×${w}×${c} bytes) or image (a base64 PNG), ${pixels === undefined ? 'got neither' : 'not both'}`);
    }
    let input: FloatTensor | Uint8Array;
    if (pixels !== undefined) {
      const bytes = base64(pixels, 'pixels', `${h}×${w}×${c} bytes`);
      if (bytes.length !== h * w * c) {
        throw new GanvasError('BAD_INPUT', `pixels hold ${bytes.length} bytes; this widget's classifier takes ${h}×${w}×${c} = ${h * w * c} (height × width × channels)`);
      }
      input = pixelsToTensor(bytes, c, this.spec);
    } else {
      input = base64(image, 'image', 'a PNG');
    }
    const recs = await this.invertImage(input, seed);
    const images = recs.map((r, i) => {
      const px = toPixels(r, 0, this.stitches[i].generator.range);
      return { label: this.labels[i], pixels: px.data.toString('base64'), width: px.width, height: px.height, channels: px.channels };
    });
    return { images, ms: this.lastInvertMs, seed: this.seed };
  }

  /**
   * Inverts one image with every stitch on `seed` (default the widget's), as a stroke on the canvas does: PNG/JPEG
   * bytes at the classifier's input size, or a [1, C, H, W] tensor in the classifier's range. Returns the
   * reconstructions (one [1, C, H, W] tensor per stitch, in its generator's range) and keeps them and the image on
   * the widget.
   */
  async invertImage(input: FloatTensor | Uint8Array, seed = this.seed): Promise<FloatTensor[]> {
    const t0 = performance.now();
    checkSeed(seed);
    const { channels, height, width } = this.spec;
    let image: FloatTensor;
    if (input instanceof Uint8Array) {
      const raw = await decodeImage(input, 'drawn image', (x) => x);
      if (raw.info.width !== width || raw.info.height !== height) {
        throw new GanvasError('BAD_INPUT', `the drawn image is ${raw.info.width}×${raw.info.height} pixels; this widget's classifier takes ${width}×${height}`);
      }
      image = pixelsToTensor(raw.data, raw.info.channels, this.spec);
    } else {
      const d = nchw(input, 'image');
      if (d.n !== 1 || d.c !== channels || d.h !== height || d.w !== width) {
        throw new GanvasError('BAD_INPUT', `image must be [1, ${channels}, ${height}, ${width}], got [${input.dims.join(', ')}]`);
      }
      image = input;
    }
    // Every stitch at once: onnxruntime runs each call on its own threads, so they overlap where there are cores
    // (measured: 14.0 ms for two stitches at once against 18.5 ms one after the other, 1 thread per session).
    const recs = await Promise.all(this.stitches.map((s) => s.invert(image, { seed })));
    this.image = image;
    this.reconstructions = recs;
    this.seed = seed;
    this.inversions++;
    this.lastInvertMs = performance.now() - t0;
    return recs;
  }

  /** Refreshes what `html()` writes (the canvas's start image and the reconstructions) to the last inversion. */
  async snapshot(): Promise<void> {
    // Stryker disable next-line ConditionalExpression: create() always leaves an image (the first pick or the blank canvas)
    if (!this.image) return;
    this.drawnPng = await toPng(this.image, 0, { range: this.spec.range });
    this.lastPngs = await Promise.all(this.reconstructions.map((r, i) => toPng(r, 0, { range: this.stitches[i].generator.range })));
  }

  html(): string {
    const display = this.opts.displaySize ?? 224;
    const { channels, height, width } = this.spec;
    const recSize = Math.round(display / 2);
    const px = (size: number) => `width:${size}px;height:${Math.round((size * height) / width)}px;image-rendering:pixelated;border:1px solid #999`;
    const cell = (png: Buffer | undefined, label: string, size: number) =>
      `<figure style="margin:0;text-align:center;font:11px sans-serif">${png ? `<img alt="${escapeHtml(label)}" src="${dataUrl(png)}" style="${px(size)}"/>` : ''}<figcaption>${escapeHtml(label)}</figcaption></figure>`;
    const snapshot =
      `<div style="display:flex;gap:8px;align-items:flex-end">${cell(this.drawnPng, 'drawn', display)}${this.lastPngs.map((p, i) => cell(p, this.labels[i], recSize)).join('')}</div>` +
      `<div style="font:11px sans-serif;color:#777">Static snapshot. Drawing needs the kernel's widget server (see README, "Widgets").</div>`;
    return widgetHtml('stitch', this.server, this.id, snapshot, {
      width,
      height,
      channels,
      displaySize: display,
      seed: this.seed,
      background: this.background,
      picks: this.pickPngs.map((p) => dataUrl(p)),
      // Stryker disable next-line ConditionalExpression: create()'s snapshot() always sets drawnPng
      drawn: this.drawnPng ? dataUrl(this.drawnPng) : '',
      layers: this.labels,
      images: this.lastPngs.map((p) => dataUrl(p)),
    });
  }

  show(): this {
    showHtml(this.html());
    return this;
  }
}

/** Creates a stitch widget and shows it (in a notebook). */
export async function showStitchWidget(stitches: Stitch[], opts: StitchWidgetOptions = {}): Promise<StitchWidget> {
  return (await StitchWidget.create(stitches, opts)).show();
}

/** Base64 text → bytes; refuses anything else with what was expected. */
function base64(v: Json | undefined, name: string, what: string): Buffer {
  // (Never undefined here: request() passes only the field that was given.)
  if (typeof v !== 'string' || v.length === 0) throw new GanvasError('BAD_INPUT', `${name} must be base64 text of ${what}, got ${v === '' ? 'an empty string' : typeof v}`);
  // Stryker disable next-line StringLiteral: base64 has no comma, so slicing after indexOf(',') = −1 keeps the whole text
  const b64 = v.startsWith('data:') ? v.slice(v.indexOf(',') + 1) : v;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) throw new GanvasError('BAD_INPUT', `${name} is not base64 (expected base64 text of ${what})`);
  return Buffer.from(b64, 'base64');
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new GanvasError('BAD_INPUT', `seed must be a non-negative integer, got ${seed}`);
}

/** "#rrggbb" → [r, g, b]; the canvas background must be one (the front end fills the canvas with it). */
function parseColor(c: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(c));
  if (!m) throw new GanvasError('BAD_INPUT', `background must be a colour "#rrggbb", got ${JSON.stringify(c)}`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

/**
 * The paint canvas widget (kernel side): a brush per library vector, an eraser that restores "keep", undo,
 * clear, a noise-seed switch; each stroke is sent to the kernel, painted, and the new image sent back. The last
 * mask and image stay on the widget object, so later cells can use them.
 */
import { Cut } from '../generator';
import { KEEP_COLOR, VectorLibrary } from '../library';
import { Painter, Painting, RgbImage, readMask } from '../paint';
import { toPng } from '../runtime/image';
import { FloatTensor } from '../runtime/tensor';
import { showHtml } from '../display';
import { escapeHtml, dataUrl, widgetHtml } from './html';
import { WidgetHost, WidgetServer, defaultHost } from './server';
import { CommManager, epochMs } from '../comm/kernel';
import { CommWidget } from '../comm/widget';
import { WidgetTransport, chooseTransport } from './transport';
import { randomBytes } from 'crypto';

export interface PaintWidgetOptions {
  seed?: number;
  host?: WidgetHost;
  /** Canvas resolution in mask pixels per side (default: 8 × the layer's size). */
  canvasSize?: number;
  /** Display size of the canvas and image in CSS pixels (default 256). */
  displaySize?: number;
  /** See WidgetTransport. */
  transport?: WidgetTransport;
}

export class PaintWidget {
  seed: number;
  /** The last mask painted (RGB at canvas resolution). */
  mask?: RgbImage;
  /** The last painting (image, label maps at layer and image resolution). */
  painting?: Painting;
  /** Server-side time of the last paint, in ms. */
  lastPaintMs = 0;
  paints = 0;
  /** The Jupyter widget model (comm transport), when used. */
  jupyter?: CommWidget;
  private displayId = `ganvas-paint-${randomBytes(8).toString('hex')}`;
  private shown = false;

  private constructor(
    readonly painter: Painter,
    readonly library: VectorLibrary,
    readonly server: WidgetServer,
    readonly id: string,
    private readonly opts: PaintWidgetOptions,
    private initial: Buffer,
  ) {
    this.seed = opts.seed ?? 0;
  }

  static async create(cut: Cut, library: VectorLibrary, opts: PaintWidgetOptions = {}): Promise<PaintWidget> {
    const painter = new Painter(cut, library);
    const server = await (opts.host ?? defaultHost).server();
    const initial = await toPng(await cut.generator.generate([opts.seed ?? 0]), 0, { range: cut.generator.range });
    let self: PaintWidget | undefined;
    const id = server.register(async (type, payload) => {
      // Stryker disable next-line all: unreachable: self is assigned right after register(), with no await in between
      if (!self) throw new Error('widget not ready');
      if (type === 'paint') {
        if (typeof payload.seed === 'number') self.seed = payload.seed;
        const png = await self.paintMask(Buffer.from(String(payload.mask), 'base64'));
        return { image: png.toString('base64'), ms: self.lastPaintMs };
      }
      throw new Error(`unknown request "${type}"`);
    });
    self = new PaintWidget(painter, library, server, id, opts, initial);
    if ((await chooseTransport(opts.transport)) === 'comm') self.openComm();
    return self;
  }

  /** The last image, [1, C, H, W] in the generator's range. */
  get image(): FloatTensor | undefined {
    return this.painting?.image;
  }

  /** Paints a mask (PNG bytes or RGB) on the current seed, as a stroke from the canvas does. */
  async paintMask(mask: Buffer | RgbImage): Promise<Buffer> {
    const t0 = performance.now();
    const rgb = await readMask(mask);
    this.painting = await this.painter.paint(rgb, { seed: this.seed });
    this.mask = rgb;
    const png = await toPng(this.painting.image, 0, { range: this.painter.cut.generator.range });
    this.lastPaintMs = performance.now() - t0;
    this.paints++;
    return png;
  }

  /** Mask pixels painted with each library vector in the last mask (at canvas resolution). */
  paintedPixels(): Record<string, number> {
    const out: Record<string, number> = {};
    if (!this.mask) return out;
    const byColor = new Map(this.library.entries.map((e) => [e.color, e.name]));
    for (let i = 0; i < this.mask.width * this.mask.height; i++) {
      const c = `#${[0, 1, 2].map((k) => this.mask!.data[3 * i + k].toString(16).padStart(2, '0')).join('')}`;
      const name = byColor.get(c);
      if (name) out[name] = (out[name] ?? 0) + 1;
    }
    return out;
  }

  html(): string {
    const cut = this.painter.cut;
    const size = this.opts.canvasSize ?? cut.layer.height * 8;
    const display = this.opts.displaySize ?? 256;
    const legend = this.library.entries
      .map((e) => `<span style="display:inline-block;margin-right:8px"><span style="display:inline-block;width:12px;height:12px;background:${e.color};vertical-align:middle"></span> ${escapeHtml(e.name)}</span>`)
      .join('');
    const snapshot = `<div style="font:12px sans-serif">${legend}</div><img alt="ganvas painting (static snapshot)" src="${dataUrl(this.initial)}" style="width:${display}px;height:${display}px;image-rendering:pixelated"/><div class="ganvas-static-note" style="font:bold 13px sans-serif;color:#a00">Static snapshot — run the notebook to paint</div><div style="font:11px sans-serif;color:#777">The live paint canvas needs the kernel's widget server (see README, "Widgets").</div>`;
    return widgetHtml('paint', this.server, this.id, snapshot, {
      canvasSize: size,
      displaySize: display,
      keep: KEEP_COLOR,
      seed: this.seed,
      image: dataUrl(this.initial),
      brushes: this.library.entries.map((e) => ({ name: e.name, color: e.color })),
    });
  }

  /** The transport in use: "comm" (Jupyter widget) or "websocket" (the bridge). */
  get transport(): 'comm' | 'websocket' {
    return this.jupyter ? 'comm' : 'websocket';
  }

  private openComm(): void {
    const cut = this.painter.cut;
    const w = new CommWidget(CommManager.get(), 'PaintModel', 'PaintView', {
      canvasSize: this.opts.canvasSize ?? cut.layer.height * 8,
      displaySize: this.opts.displaySize ?? 256,
      keep: KEEP_COLOR,
      seed: this.seed,
      // Which vectors the brushes paint with, saved with the notebook: name, color and where each vector came from
      // (model, layer, seed, position), enough to draw it again (vectorsFromProvenance).
      brushes: this.library.entries.map((e) => ({ name: e.name, color: e.color, provenance: e.provenance ? { ...e.provenance } : null })),
      layer: cut.layerName,
      paints: 0,
      kernel_ms: 0,
    }, { image: this.initial });
    // The model state (what the saved notebook keeps) follows once the strokes pause (CommManager.whenQuiet:
    // 250 ms without a request), not with every stroke: the paint reply is all a stroke waits for, and a state
    // message written between a request and its reply holds the reply back (see QUIET_MS in src/comm/kernel.ts).
    // A cell run before then gets it first (beforeExecute), so a notebook saved after a cell has run holds every
    // stroke (measured in test/e2e/lab-comm: saved right after a read-back cell, the state had none of the strokes
    // without this).
    let pendingState: (() => void) | undefined;
    const flushState = (): void => {
      const send = pendingState;
      pendingState = undefined;
      if (send && !w.comm.closed) send();
    };
    const removeHook = w.manager.beforeExecute(flushState);
    w.onClose(() => {
      pendingState = undefined;
      removeHook();
    });
    w.onRequest('paint', async (content, buffers, msg) => {
      if (buffers.length !== 1) throw new Error(`a paint request carries the mask as one PNG buffer; got ${buffers.length} buffers`);
      if (typeof content.seed === 'number') this.seed = content.seed;
      const png = await this.paintMask(buffers[0]);
      const state = { seed: this.seed, paints: this.paints, kernel_ms: this.lastPaintMs };
      const mask = buffers[0];
      // Sent when the comm traffic is quiet, after this reply (whenQuiet runs nothing while a request is handled).
      pendingState = () => w.update(state, { mask, image: png }, msg);
      w.manager.whenQuiet(flushState);
      // t_in / t_out (kernel clock): shell message received, reply published — the front end's latency breakdown.
      return { reply: { ms: this.lastPaintMs, t_in: msg.receivedAt ?? null, t_out: epochMs() }, buffers: [png] };
    });
    this.jupyter = w;
  }

  show(): this {
    if (this.jupyter) {
      this.jupyter.manager.display(this.jupyter.mimeBundle(this.html()), this.displayId);
      this.shown = true;
    } else {
      showHtml(this.html());
    }
    return this;
  }

  /** Refreshes the snapshot image (the last painting) for `html()` — what an exported notebook shows. */
  async snapshot(): Promise<void> {
    if (this.painting) this.initial = await toPng(this.painting.image, 0, { range: this.painter.cut.generator.range });
    // Over comms, the shown output's HTML fallback is replaced too. Not after every stroke: a front end re-renders
    // the output (a new view: brush choice and undo history gone, a request in flight lost — measured in the
    // JupyterLab test, strokes stalled), so only when asked.
    if (this.jupyter && this.shown && !this.jupyter.comm.closed) this.jupyter.manager.display(this.jupyter.mimeBundle(this.html()), this.displayId, true);
  }
}

/**
 * The paint canvas as a Jupyter widget (model + view on @jupyter-widgets/base, module "ganvas/nbextension/index"), talking
 * to the kernel over Jupyter comms (src/comm/widget.ts is the kernel half).
 *
 * @jupyter-widgets/base is never bundled: the classes are made from the copy the page's widget manager shares
 * (JupyterLab / Notebook 7: the module-federation share scope; Notebook 6: RequireJS), so the registry token and
 * base classes are the manager's own.
 *
 * Paint request: custom {type: "paint", id, seed} + the mask as one PNG buffer → custom {id, ok, ms} + the image
 * as one PNG buffer; the kernel then updates the model state (mask, image, seed), which is what the notebook's
 * saved widget state keeps and a reopened notebook shows.
 */
import type * as Base from '@jupyter-widgets/base';
import { mountPaint } from './paint';
import { GallerySection, mountGallery } from './gallery';
import { PlotConfig, PlotlyLike, loadPlotly, mountPlot } from './plot';
import { Rpc, stats } from './rpc';

/** The widget module's name (src/comm/widget.ts says why it is a path of the npm package); LEGACY_MODULE_NAME, the
 * name of earlier versions, is registered too so notebooks saved with it still load. */
export const MODULE_NAME = 'ganvas/nbextension/index';
export const LEGACY_MODULE_NAME = 'ganvas-widgets';
declare const GANVAS_VERSION: string;
export const MODULE_VERSION: string = typeof GANVAS_VERSION === 'string' ? GANVAS_VERSION : '0.1.0';

/**
 * A PNG buffer as a data URL. Not a Blob URL: measured in bench/widgets.ts, a Blob URL took a median 5 ms from the
 * reply's arrival to the image shown (the page fetches it back through the browser's blob store), a data URL
 * (base64 in the page, ~0.1 ms for these few-KB images) 1 ms; and Blob URLs leak unless revoked.
 */
function pngUrl(v: unknown): string | undefined {
  if (v instanceof DataView || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array((v as ArrayBufferView).buffer, (v as ArrayBufferView).byteOffset, (v as ArrayBufferView).byteLength);
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return `data:image/png;base64,${btoa(bin)}`;
  }
  if (typeof v === 'string' && v.startsWith('data:')) return v;
  return undefined;
}

/**
 * Marks a view's element: ganvas's class, the widget's kind and its model id. The model id lets the classic Notebook
 * extension (nbloader.ts) see that a widget output already has its view on the page.
 */
function markView(el: HTMLElement, kind: string, modelId: string): void {
  el.classList.add('ganvas-widget');
  el.setAttribute('data-ganvas-kind', kind);
  el.setAttribute('data-ganvas-model', modelId);
}

/** The last comm requests and replies of the paint views (read by the end-to-end test when a stroke stalls). */
function commLog(): string[] {
  const w = window as unknown as { __ganvasCommLog?: string[] };
  w.__ganvasCommLog ??= [];
  if (w.__ganvasCommLog.length > 200) w.__ganvasCommLog.splice(0, 100);
  return w.__ganvasCommLog;
}

/** The model and view names every ganvas widget model declares. */
function names(model: string, view: string): Record<string, string> {
  return {
    _model_name: model,
    _model_module: MODULE_NAME,
    _model_module_version: MODULE_VERSION,
    _view_name: view,
    _view_module: MODULE_NAME,
    _view_module_version: MODULE_VERSION,
  };
}

/**
 * `frontend`: "lab" (JupyterLab 4 / Notebook 7) or "classic" (Notebook 6); the probe's hello says which (the kernel
 * takes comms in both).
 */
export function makeWidgets(base: typeof Base, frontend: 'lab' | 'classic' = 'lab'): Record<string, unknown> {
  class PaintModel extends base.DOMWidgetModel {
    defaults(): ReturnType<Base.DOMWidgetModel['defaults']> {
      return {
        ...super.defaults(),
        ...names('PaintModel', 'PaintView'),
        canvasSize: 64,
        displaySize: 256,
        keep: '#000000',
        seed: 0,
        brushes: [],
        layer: '',
        paints: 0,
        kernel_ms: 0,
        image: null,
        mask: null,
      };
    }
    static serializers = {
      ...base.DOMWidgetModel.serializers,
      image: { serialize: (v: unknown) => v },
      mask: { serialize: (v: unknown) => v },
    };
  }

  /**
   * Requests to the kernel over the model's comm: custom {…, id} (+ buffers) → custom {id, ok, …} (+ buffers),
   * answered by id; every request fails plainly when the kernel goes (restart, lost connection) or does not answer
   * within 15 s (a message lost on the way, a kernel stuck in a long cell: the widget must not stall).
   */
  class CommCalls {
    private pending = new Map<number, { ok: (v: Record<string, unknown>) => void; fail: (e: Error) => void; sentAt: number; raw: boolean }>();
    private nextId = 1;
    deadCb?: (reason: string) => void;

    constructor(private view: Base.DOMWidgetView) {
      const m = view.model;
      view.listenTo(m, 'msg:custom', (content: Record<string, unknown>, buffers: (DataView | ArrayBuffer)[]) => {
        const receivedAt = performance.now();
        commLog().push(`in ${String(content.id)} ${String(content.ok)} ${buffers?.length ?? 0}`);
        const p = this.pending.get(Number(content.id));
        if (!p) return;
        this.pending.delete(Number(content.id));
        if (content.ok) p.ok({ ...content, buffers: buffers ?? [], imageUrl: p.raw ? undefined : pngUrl(buffers?.[0]), sentAt: p.sentAt, receivedAt });
        else p.fail(new Error(String(content.error)));
      });
      view.listenTo(m, 'comm_live_update', () => {
        if (m.comm_live) return;
        const reason = 'the kernel restarted or the connection was lost';
        for (const p of this.pending.values()) p.fail(new Error(reason));
        this.pending.clear();
        this.deadCb?.(reason);
      });
    }

    /** Throws when no kernel is behind the model (a notebook reopened without its kernel, a restart). */
    check(): void {
      if (!this.view.model.comm_live || !this.view.model.comm) throw new Error('no kernel behind this widget (the notebook was reopened without its kernel, or the kernel restarted)');
    }

    /** With `raw`, the reply's buffers are left as they came (no PNG data URL made of the first). */
    call(content: Record<string, unknown>, buffers: ArrayBuffer[] = [], raw = false): Promise<Record<string, unknown>> {
      if (!this.view.model.comm_live) return Promise.reject(new Error('the kernel is gone'));
      const id = this.nextId++;
      return new Promise((ok, fail) => {
        const timer = setTimeout(() => {
          if (this.pending.delete(id)) fail(new Error('no answer from the kernel within 15 s (is a cell still running?)'));
        }, 15_000);
        const entry = {
          ok: (v: Record<string, unknown>) => {
            clearTimeout(timer);
            ok(v);
          },
          fail: (e: Error) => {
            clearTimeout(timer);
            fail(e);
          },
          sentAt: 0,
          raw,
        };
        this.pending.set(id, entry);
        commLog().push(`out ${id} ${buffers.reduce((a, b) => a + b.byteLength, 0)}`);
        this.view.send({ ...content, id }, buffers);
        entry.sentAt = performance.now();
      });
    }
  }

  class PaintView extends base.DOMWidgetView {
    render(): void {
      const m = this.model;
      markView(this.el, 'paint', m.model_id);
      const image = pngUrl(m.get('image')) ?? '';
      const mask = pngUrl(m.get('mask'));
      const calls = new CommCalls(this);
      mountPaint(this.el, {
        kind: 'paint', widget: m.model_id, ws: '', http: '', token: '',
        canvasSize: Number(m.get('canvasSize')),
        displaySize: Number(m.get('displaySize')),
        keep: String(m.get('keep')),
        seed: Number(m.get('seed')),
        image,
        brushes: m.get('brushes') as { name: string; color: string }[],
      }, {
        label: 'Jupyter comms',
        initialMask: mask,
        onDead: (cb) => {
          calls.deadCb = cb;
        },
        connect: async (): Promise<Rpc> => {
          calls.check();
          return {
            call: async (type, payload) => {
              const bytes = Uint8Array.from(atob(String(payload.mask)), (c) => c.charCodeAt(0));
              return calls.call({ type, seed: payload.seed }, [bytes.buffer]);
            },
          };
        },
      });
      stats();
    }
  }

  class GalleryModel extends base.DOMWidgetModel {
    defaults(): ReturnType<Base.DOMWidgetModel['defaults']> {
      return {
        ...super.defaults(),
        ...names('GalleryModel', 'GalleryView'),
        sections: [],
      };
    }
  }

  /** The gallery (widgets/src/gallery.ts) over comms: sweep request {type: "sweep", index} → the row as a PNG buffer. */
  class GalleryView extends base.DOMWidgetView {
    render(): void {
      const m = this.model;
      markView(this.el, 'gallery', m.model_id);
      const calls = new CommCalls(this);
      calls.deadCb = () => this.el.setAttribute('data-ganvas-live', 'false');
      mountGallery(this.el, { kind: 'gallery', widget: m.model_id, ws: '', http: '', token: '', sections: m.get('sections') as GallerySection[] }, {
        label: 'Jupyter comms',
        connect: async (): Promise<Rpc> => {
          calls.check();
          return { call: (type, payload) => calls.call({ type, index: payload.index }) };
        },
      });
    }
  }

  class PlotModel extends base.DOMWidgetModel {
    defaults(): ReturnType<Base.DOMWidgetModel['defaults']> {
      return {
        ...super.defaults(),
        ...names('PlotModel', 'PlotView'),
        config: {},
        snapshot: '',
      };
    }
  }

  /**
   * The plot (widgets/src/plot.ts) over comms: the SVG snapshot at once, then plotly.js from the kernel (one request
   * per page, shared by every plot view on it) and the live plot. Without a kernel the snapshot stays.
   */
  class PlotView extends base.DOMWidgetView {
    render(): void {
      const m = this.model;
      markView(this.el, 'plot', m.model_id);
      const snapshot = String(m.get('snapshot'));
      // Only an SVG data URL, set as an attribute: a saved notebook's widget state is no place for markup.
      if (snapshot.startsWith('data:image/svg+xml;')) {
        const img = document.createElement('img');
        img.className = 'ganvas-snapshot';
        img.src = snapshot;
        this.el.replaceChildren(img);
      }
      const calls = new CommCalls(this);
      const cfg = { ...(m.get('config') as Record<string, unknown>), kind: 'plot', widget: m.model_id, ws: '', http: '', token: '' } as PlotConfig;
      const plotly = (async (): Promise<PlotlyLike> => {
        const w = window as unknown as { Plotly?: PlotlyLike; __ganvasPlotlyOverComm?: Promise<PlotlyLike> };
        if (w.Plotly) return w.Plotly;
        calls.check();
        w.__ganvasPlotlyOverComm ??= calls.call({ type: 'plotly' }, [], true).then((res) => {
          const src = (res.buffers as (DataView | ArrayBuffer)[])[0];
          if (!src) throw new Error('the kernel sent no plotly.js');
          return loadPlotly(cfg, URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
        });
        return w.__ganvasPlotlyOverComm.catch((e: Error) => {
          w.__ganvasPlotlyOverComm = undefined;
          throw e;
        });
      })();
      plotly.then(() => this.el.setAttribute('data-ganvas-transport', 'Jupyter comms'), () => undefined);
      mountPlot(this.el, cfg, plotly);
    }
  }

  /**
   * The kernel asks, by opening one of these, whether this front end has the ganvas-widgets extension: only then
   * does the model class load, and it answers at once (src/comm/widget.ts, frontendHasGanvas).
   */
  class ProbeModel extends base.WidgetModel {
    initialize(...args: Parameters<Base.WidgetModel['initialize']>): void {
      super.initialize(...args);
      this.send({ type: 'hello', version: MODULE_VERSION, frontend }, {});
    }
  }

  return { PaintModel, PaintView, GalleryModel, GalleryView, PlotModel, PlotView, ProbeModel, version: MODULE_VERSION };
}

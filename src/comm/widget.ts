/**
 * Jupyter widgets (the ipywidgets message protocol 2.1, as @jupyter-widgets/base 6 speaks it) on top of the comm
 * layer: a model's state opened on the "jupyter.widget" target, "update" both ways, "request_state",
 * "custom" messages with binary buffers, and the "jupyter.widget.control" target's "request_states" that a
 * reloaded page uses to find every live model at once.
 *
 * The front-end half is in widgets/src/jupyter.ts (module "ganvas/nbextension/index").
 */
import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import * as path from 'path';
import { Comm, CommManager, CommMessage } from './kernel';
import { JsonObject } from './wire';
import { describeError } from '../errors';

export const WIDGET_PROTOCOL = '2.1.0';
/**
 * The widget module's name: the AMD module at dist/nbextension/index.js of the npm package "ganvas". Named as a
 * path of the package so that a page without the extension — `jupyter nbconvert --to html` output, rendered by
 * @jupyter-widgets/html-manager — finds it on a CDN (https://cdn.jsdelivr.net/npm/ganvas@<version>/dist/nbextension/
 * index.js) once the package is published. The extensions also answer to the old name "ganvas-widgets".
 */
export const MODULE_NAME = 'ganvas/nbextension/index';
/** The front-end module's version range the models ask for: the package's own major.minor. */
export const MODULE_VERSION = (() => {
  try {
    const v = String((JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as JsonObject).version);
    return `^${v.split('.').slice(0, 2).join('.')}.0`;
  } catch {
    return '*';
  }
})();

const live = new Map<string, CommWidget>();

function installControl(mgr: CommManager): void {
  const m = mgr as CommManager & { __widgetControl?: boolean };
  if (m.__widgetControl) return;
  m.__widgetControl = true;
  mgr.registerTarget('jupyter.widget.control', (comm) => {
    comm.onMsg((msg) => {
      if (msg.data.method !== 'request_states') return;
      const states: JsonObject = {};
      const bufferPaths: JsonObject = {};
      const buffers: Buffer[] = [];
      for (const [id, w] of live) {
        const s = w.wireState();
        states[id] = { model_name: w.modelName, model_module: MODULE_NAME, model_module_version: MODULE_VERSION, state: s.state };
        // Buffer paths of the control message are [model id, ...path in state].
        for (const [i, p] of s.paths.entries()) {
          (bufferPaths[id] as unknown[] | undefined) ?? (bufferPaths[id] = []);
          (bufferPaths[id] as unknown[]).push(p);
          buffers.push(s.buffers[i]);
        }
      }
      const flatPaths: unknown[] = [];
      for (const [id, ps] of Object.entries(bufferPaths)) for (const p of ps as unknown[][]) flatPaths.push([id, ...p]);
      comm.send({ method: 'update_states', states, buffer_paths: flatPaths as JsonObject[] as unknown as JsonObject }, buffers);
    });
  });
}

/**
 * One widget model in the kernel. `state` holds JSON values; `binary` holds the state values that travel as
 * buffers (images), by key.
 */
export class CommWidget {
  readonly comm: Comm;
  private customHandlers: ((content: JsonObject, buffers: Buffer[], msg: CommMessage) => void | Promise<void>)[] = [];
  private closeHandlers: (() => void)[] = [];

  constructor(
    readonly manager: CommManager,
    readonly modelName: string,
    readonly viewName: string,
    public state: JsonObject,
    public binary: Record<string, Buffer> = {},
  ) {
    installControl(manager);
    const s = this.wireState();
    this.comm = manager.open('jupyter.widget', { state: s.state, buffer_paths: s.paths as unknown as JsonObject }, { buffers: s.buffers, metadata: { version: WIDGET_PROTOCOL } });
    live.set(this.comm.id, this);
    this.comm.onMsg((m) => this.onMsg(m));
    this.comm.onClose(() => {
      live.delete(this.comm.id);
      for (const h of this.closeHandlers) h();
    });
  }

  get id(): string {
    return this.comm.id;
  }

  /** The full state as sent on the wire: JSON part, buffer paths and buffers. */
  wireState(): { state: JsonObject; paths: string[][]; buffers: Buffer[] } {
    const state: JsonObject = {
      _model_name: this.modelName,
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: this.viewName || null,
      _view_module: this.viewName ? MODULE_NAME : null,
      _view_module_version: this.viewName ? MODULE_VERSION : '',
      _view_count: null,
      _dom_classes: [],
      ...this.state,
    };
    const paths: string[][] = [];
    const buffers: Buffer[] = [];
    for (const [k, b] of Object.entries(this.binary)) {
      state[k] = null;
      paths.push([k]);
      buffers.push(b);
    }
    return { state, paths, buffers };
  }

  onCustom(cb: (content: JsonObject, buffers: Buffer[], msg: CommMessage) => void | Promise<void>): void {
    this.customHandlers.push(cb);
  }

  /**
   * Answers the views' requests of one type: custom {type, id, …} + buffers → custom {id, ok: true, …reply} + the
   * reply's buffers, or {id, ok: false, error} when the handler throws (what the front end's request helper reads).
   */
  onRequest(type: string, handler: (content: JsonObject, buffers: Buffer[], msg: CommMessage) => Promise<{ reply?: JsonObject; buffers?: Buffer[] }>): void {
    this.onCustom(async (content, buffers, msg) => {
      if (content.type !== type) return;
      const id = content.id ?? null;
      try {
        const r = await handler(content, buffers, msg);
        this.sendCustom({ ...r.reply, id, ok: true }, r.buffers ?? [], msg);
      } catch (e) {
        this.sendCustom({ id, ok: false, error: describeError(e) }, [], msg);
      }
    });
  }

  /** Shows the widget in a new output of the current cell, with `fallbackHtml` where no widget renderer runs. */
  display(fallbackHtml: string): void {
    this.manager.display(this.mimeBundle(fallbackHtml), `ganvas-${this.modelName}-${randomBytes(8).toString('hex')}`);
  }

  onClose(cb: () => void): void {
    this.closeHandlers.push(cb);
  }

  /** Sends a custom message (content + buffers) to the views. */
  sendCustom(content: JsonObject, buffers: Buffer[] = [], parent?: CommMessage): void {
    this.comm.send({ method: 'custom', content }, buffers, parent ? { parent: parent.header } : {});
  }

  /** Changes state in the kernel and tells the front end. */
  update(state: JsonObject, binary: Record<string, Buffer> = {}, parent?: CommMessage): void {
    Object.assign(this.state, state);
    Object.assign(this.binary, binary);
    const wire: JsonObject = { ...state };
    const paths: string[][] = [];
    const buffers: Buffer[] = [];
    for (const [k, b] of Object.entries(binary)) {
      wire[k] = null;
      paths.push([k]);
      buffers.push(b);
    }
    this.comm.send({ method: 'update', state: wire, buffer_paths: paths as unknown as JsonObject }, buffers, parent ? { parent: parent.header } : {});
  }

  private async onMsg(m: CommMessage): Promise<void> {
    const method = m.data.method;
    if (method === 'request_state') {
      const s = this.wireState();
      this.comm.send({ method: 'update', state: s.state, buffer_paths: s.paths as unknown as JsonObject }, s.buffers, { parent: m.header });
    } else if (method === 'update') {
      const st = m.data.state;
      if (typeof st !== 'object' || st === null || Array.isArray(st)) return;
      const paths = Array.isArray(m.data.buffer_paths) ? (m.data.buffer_paths as unknown[]) : [];
      const state = { ...(st as JsonObject) };
      paths.forEach((p, i) => {
        if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string' && m.buffers[i]) {
          this.binary[p[0]] = m.buffers[i];
          delete state[p[0]];
        }
      });
      Object.assign(this.state, state);
    } else if (method === 'custom') {
      const content = m.data.content;
      if (typeof content !== 'object' || content === null || Array.isArray(content)) return;
      for (const h of this.customHandlers) await h(content as JsonObject, m.buffers, m);
    }
  }

  /** The display_data bundle for this widget, with `html` as the fallback (front ends without the extension, nbconvert). */
  mimeBundle(html: string): JsonObject {
    return {
      'application/vnd.jupyter.widget-view+json': { model_id: this.id, version_major: 2, version_minor: 1 },
      'text/html': html,
      'text/plain': `ganvas ${this.modelName} (Jupyter widget ${this.id.slice(0, 8)})`,
    };
  }

  close(): void {
    this.comm.close();
  }
}

let probed: { ok: boolean; at: number } | undefined;

/**
 * Whether the front end has the ganvas-widgets extension: opens a model of class ProbeModel from module
 * MODULE_NAME; a front end that can load that class answers at once with a custom "hello"; one without the
 * extension (or without ipywidgets 8) cannot make the model and stays silent. A yes is kept for the kernel's
 * life, a no for a minute (the user may install the extension and reload the page).
 *
 * Classic Notebook 6 counts as a yes again: its widget manager's start-up re-render removed live views (the output
 * fell back to its HTML) when the notebook was run right after opening; the classic extension now keeps them
 * (widgets/src/nbloader.ts). The hello still names the front end (`frontend`: "lab" or "classic").
 */
export async function frontendHasGanvas(manager: CommManager, timeoutMs = 2000): Promise<boolean> {
  if (probed?.ok) return true;
  if (probed && Date.now() - probed.at < 60_000) return false;
  let w: CommWidget;
  try {
    w = new CommWidget(manager, 'ProbeModel', '', {});
  } catch {
    // The kernel cannot publish yet (its iopub socket is unknown: comms were installed outside a cell), so no comm
    // widget can show now: "no", not kept (the next request from the front end makes the socket known). Before,
    // the error went up through chooseTransport and "auto" failed instead of taking the WebSocket bridge.
    return false;
  }
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    // A front end with no widget manager at all closes the comm at once (no "jupyter.widget" target): no wait.
    w.onClose(() => {
      clearTimeout(timer);
      resolve(false);
    });
    w.onCustom((content) => {
      if (content.type === 'hello') {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  if (!w.comm.closed) w.close();
  probed = { ok, at: Date.now() };
  return ok;
}

/** Forgets the probe's answer (e.g. after installing the extension and reloading the page). */
export function frontendHasGanvasReset(): void {
  probed = undefined;
}

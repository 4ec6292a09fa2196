/**
 * The browser side of the widget transport: one WebSocket per widget to the kernel's widget server, requests
 * answered in order by id.
 */
export interface WidgetConfig {
  kind: string;
  widget: string;
  ws: string;
  http: string;
  token: string;
  [k: string]: unknown;
}

export interface Rpc {
  call(type: string, payload: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export function connect(cfg: WidgetConfig, timeoutMs = 3000, onLost?: (reason: string) => void): Promise<Rpc> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${cfg.ws}?token=${encodeURIComponent(cfg.token)}`);
    } catch (e) {
      reject(e);
      return;
    }
    const pending = new Map<number, { ok: (v: Record<string, unknown>) => void; fail: (e: Error) => void }>();
    let next = 1;
    const sentAt = new Map<number, number>();
    const timer = setTimeout(() => reject(new Error('the kernel widget server did not answer')), timeoutMs);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve({
        call(type, payload) {
          const id = next++;
          return new Promise((ok, fail) => {
            pending.set(id, { ok, fail });
            ws.send(JSON.stringify({ id, widget: cfg.widget, type, payload }));
            sentAt.set(id, performance.now());
          });
        },
      });
    };
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new Error('cannot reach the kernel widget server (static snapshot shown)'));
    };
    let opened = false;
    ws.addEventListener('open', () => (opened = true));
    ws.onclose = () => {
      if (opened) onLost?.('the kernel\'s widget server closed the connection (kernel restarted or stopped)');
      for (const p of pending.values()) p.fail(new Error('the kernel widget server closed the connection'));
      pending.clear();
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id: number; error?: string } & Record<string, unknown>;
      const p = pending.get(msg.id);
      const sent = sentAt.get(msg.id);
      sentAt.delete(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.error) p.fail(new Error(msg.error));
      else p.ok({ ...msg, sentAt: sent, receivedAt: performance.now() });
    };
  });
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}

/** Latencies recorded by the widgets (read by the end-to-end test and the widget benchmark). */
export interface Stats {
  paint: number[];
  /**
   * Where each counted paint round trip went, in ms: waiting for the request in flight at mouse up, encoding the
   * mask, page → kernel, the kernel (receive → reply sent), kernel → page, decoding and showing the image. The
   * kernel's clock and the page's are the same machine's wall clock (performance.timeOrigin + now()).
   */
  paintSteps?: { wait: number; encode: number; up: number; kernel: number; down: number; show: number }[];
  /** The stitch widget: mouse up (or pick, clear, seed) → every reconstruction shown. */
  stitch?: number[];
}

declare global {
  interface Window {
    __ganvasStats?: Stats;
  }
}

export function stats(): Stats {
  window.__ganvasStats ??= { paint: [] };
  return window.__ganvasStats;
}

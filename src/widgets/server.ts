/**
 * The widget transport. tslab answers no Jupyter comm messages, so widgets reach the kernel through a small
 * HTTP + WebSocket server that the kernel process starts on demand:
 * - bound to 127.0.0.1 only, on a free port (or GANVAS_WIDGET_PORT, for SSH forwarding);
 * - every request needs the per-kernel secret token (random, 32 bytes);
 * - the Host header must name this server (against DNS rebinding) and the Origin, when sent, must be a local
 *   notebook page (localhost / 127.0.0.1 / [::1], VS Code webviews) or one listed in GANVAS_WIDGET_ORIGINS.
 */
import { randomBytes, timingSafeEqual } from 'crypto';
import { promises as fs } from 'fs';
import * as http from 'http';
import * as path from 'path';
import { WebSocketServer, WebSocket } from 'ws';
import { GanvasError, describeError } from '../errors';
import { tcpPort } from '../validate';
import { epochMs } from '../comm/kernel';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type WidgetHandler = (type: string, payload: Record<string, Json>) => Promise<Record<string, Json>>;

export interface WidgetServerOptions {
  port?: number;
  /** Extra allowed origins (exact strings), besides local pages and VS Code webviews. */
  allowedOrigins?: string[];
  token?: string;
}

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;
const VSCODE_ORIGIN = /^vscode-webview:\/\/[a-z0-9-]+$/i;

export class WidgetServer {
  private handlers = new Map<string, WidgetHandler>();
  private next = 1;
  private constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
    readonly token: string,
    readonly port: number,
    private readonly origins: string[],
  ) {}

  static async start(opts: WidgetServerOptions = {}): Promise<WidgetServer> {
    const token = opts.token ?? randomBytes(32).toString('hex');
    // An empty or short token would let any local page in (an empty one compared equal to a missing one).
    if (typeof token !== 'string' || token.length < 16) {
      throw new GanvasError('BAD_INPUT', 'a widget server token must be a string of at least 16 characters (leave it out to get a random 32-byte one)');
    }
    // Stryker disable next-line ArrayDeclaration,StringLiteral: the mutants only add one origin string that no page sends
    const origins = [...(opts.allowedOrigins ?? []), ...(process.env.GANVAS_WIDGET_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean)];
    // A string port ("abc") would make Node listen on a Unix socket of that name: only integer TCP ports pass.
    const port = tcpPort(opts.port ?? (process.env.GANVAS_WIDGET_PORT ? Number(process.env.GANVAS_WIDGET_PORT) : 0), opts.port !== undefined ? 'the widget server port' : 'GANVAS_WIDGET_PORT');
    let self: WidgetServer | undefined;
    const server = http.createServer((req, res) => {
      // Stryker disable next-line all: unreachable: self is set in the continuation of listen's promise, a microtask that runs before any request's I/O callback
      if (!self) return void res.writeHead(503).end();
      void self.onHttp(req, res);
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
    server.on('upgrade', (req, socket, head) => {
      // Stryker disable next-line all: unreachable: self is set in the continuation of listen's promise, a microtask that runs before any request's I/O callback
      const refusal = self ? self.refusal(req) : 'the widget server is starting';
      if (refusal) {
        socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${refusal}`);
        return;
      }
      // Stryker disable next-line OptionalChaining: self is set (the refusal check above needed it)
      wss.handleUpgrade(req, socket, head, (ws) => self?.onSocket(ws));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new GanvasError('RUNTIME', `the widget server could not listen on 127.0.0.1:${port}: ${describeError(e)}`)));
      server.listen(port, '127.0.0.1', () => resolve());
    });
    // Do not keep a finished script alive just because a widget server was started.
    server.unref();
    const actual = (server.address() as { port: number }).port;
    self = new WidgetServer(server, wss, token, actual, origins);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  register(handler: WidgetHandler): string {
    const id = `w${this.next++}`;
    this.handlers.set(id, handler);
    return id;
  }

  /** Why a request is refused, or null when it may pass. */
  refusal(req: http.IncomingMessage): string | null {
    const host = req.headers.host ?? '';
    const hosts = [`127.0.0.1:${this.port}`, `localhost:${this.port}`, `[::1]:${this.port}`];
    if (!hosts.includes(host)) return `Host "${host}" is not this widget server`;
    const origin = req.headers.origin;
    if (origin !== undefined && !(LOCAL_ORIGIN.test(origin) || VSCODE_ORIGIN.test(origin) || this.origins.includes(origin))) {
      return `Origin "${origin}" is not allowed; add it to GANVAS_WIDGET_ORIGINS (comma-separated) if it is your notebook page`;
    }
    // Stryker disable next-line StringLiteral: new URL('', base) is the base, as '/' is: no token either way
    const url = new URL(req.url ?? '/', 'http://x');
    // Stryker disable next-line StringLiteral: a missing header's stand-in only has to differ from the token (≥ 16 random characters)
    const given = url.searchParams.get('token') ?? String(req.headers['x-ganvas-token'] ?? '');
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return 'missing or wrong token';
    return null;
  }

  private async onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const refusal = this.refusal(req);
    if (refusal) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end(refusal);
      return;
    }
    // Stryker disable next-line StringLiteral: an HTTP request always has a url
    const url = new URL(req.url ?? '/', 'http://x');
    const files: Record<string, string> = {
      '/static/widgets.js': path.join(__dirname, '..', 'widgets.js'),
      '/static/plotly.js': require.resolve('plotly.js-dist'),
    };
    const file = files[url.pathname];
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, {
        'Content-Type': 'text/javascript; charset=utf-8',
        'Cache-Control': 'private, max-age=3600',
        'Access-Control-Allow-Origin': req.headers.origin ?? '*',
      }).end(body);
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(describeError(e));
    }
  }

  private onSocket(ws: WebSocket): void {
    ws.on('message', async (raw) => {
      const tIn = epochMs();
      let msg: { id?: Json; widget?: string; type?: string; payload?: Record<string, Json> };
      try {
        const parsed: unknown = JSON.parse(raw.toString());
        // `null`, a number or an array parse as JSON but are no request: answered, never thrown inside this
        // async listener (where an exception would end a plain Node host process).
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          ws.send(JSON.stringify({ id: null, error: 'a message must be a JSON object {id, widget, type, payload}' }));
          return;
        }
        msg = parsed as typeof msg;
        if (msg.payload !== undefined && (typeof msg.payload !== 'object' || msg.payload === null || Array.isArray(msg.payload))) {
          ws.send(JSON.stringify({ id: msg.id ?? null, error: 'payload must be a JSON object' }));
          return;
        }
      } catch {
        ws.send(JSON.stringify({ id: null, error: 'messages must be JSON' }));
        return;
      }
      const handler = this.handlers.get(String(msg.widget));
      if (!handler) {
        ws.send(JSON.stringify({ id: msg.id ?? null, error: `no widget "${String(msg.widget)}" in this kernel (was the kernel restarted? re-run the cell)` }));
        return;
      }
      try {
        const result = await handler(String(msg.type), msg.payload ?? {});
        // t_in / t_out (kernel clock): request received, reply sent — the front end's latency breakdown.
        ws.send(JSON.stringify({ id: msg.id ?? null, ok: true, ...result, t_in: tIn, t_out: epochMs() }));
      } catch (e) {
        ws.send(JSON.stringify({ id: msg.id ?? null, error: describeError(e) }));
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The kernel's widget server, started on first use. One per process: a notebook kernel is one process, and every
 * widget of that kernel shares the server and its token.
 */
export class WidgetHost {
  private started?: Promise<WidgetServer>;
  constructor(private readonly opts: WidgetServerOptions = {}) {}
  server(): Promise<WidgetServer> {
    this.started ??= WidgetServer.start(this.opts);
    return this.started;
  }
  async close(): Promise<void> {
    if (this.started) await (await this.started).close();
    this.started = undefined;
  }
}

/** The default host used by the widget functions when none is given. */
export const defaultHost = new WidgetHost();

/**
 * Jupyter comms for the tslab kernel, added from inside the kernel's process.
 *
 * tslab 1.0 answers no comm message: `comm_info_request` gets an empty reply (sent as "complete_reply"), and
 * `comm_open` / `comm_msg` / `comm_close` fall through to an "unknown msg_type" warning. User code runs in the
 * kernel's own process, so this module reaches into the running kernel:
 * - shell dispatch: `ZmqServer.prototype.handleShellMessage` of every loaded `tslab/dist/jupyter.js` is wrapped.
 *   The kernel's receive loop calls `this.handleShellMessage(...)` per message, a property lookup at call time,
 *   so the already-running server picks the wrapper up from its next message on. Comm messages are answered
 *   here (never passed to tslab, whose parser would reject buffers), everything else goes on to tslab.
 * - signing key: from the connection file named by `--config-path` in the kernel's argv (the same file tslab
 *   read), later confirmed from the server object itself (`connInfo`).
 * - iopub socket: the comm layer may be installed in the middle of a cell, before any further shell message
 *   reaches the wrapper. One probe write to stdout goes through tslab's stream writer to the iopub socket; a
 *   `send` on zeromq's Publisher prototype (see patchSockets) captures the socket (and the cell's request header, the
 *   parent of messages sent during that cell) and swallows the probe, so no output appears.
 * The tslab version is checked (1.0.x is known); on any other kernel `CommManager.get()` throws a GanvasError
 * that says so, and the widgets fall back to their WebSocket bridge.
 */
import { readFileSync, writeSync } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { GanvasError, describeError } from '../errors';
import { Header, JsonObject, Signer, WireMessage, assembleWire, newHeader, parseWire, peekType, DELIM } from './wire';

/** The tslab versions whose internals this module was written against and tested with. */
export const KNOWN_TSLAB = /^1\.0\.\d+$/;

interface ZmqSocketLike {
  send(frames: Buffer[]): Promise<void> | void;
}

interface TslabServerLike {
  connInfo?: { key: string; signature_scheme?: string };
  iopub?: ZmqSocketLike;
  handleShellMessage(sock: ZmqSocketLike, ...frames: Buffer[]): Promise<void>;
}

interface TslabJupyterModule {
  ZmqServer: { prototype: TslabServerLike };
}

export interface CommMessage {
  data: JsonObject;
  buffers: Buffer[];
  metadata: JsonObject;
  header: Header;
  /** When the kernel took the message off its shell socket (epoch ms, sub-ms resolution): for latency breakdowns. */
  receivedAt?: number;
}

export type CommTarget = (comm: Comm, open: CommMessage) => void;

/** One end of a comm: messages out on iopub, messages in from the front end's shell requests. */
export class Comm {
  private msgHandlers: ((m: CommMessage) => void | Promise<void>)[] = [];
  private closeHandlers: ((m: CommMessage | undefined) => void)[] = [];
  closed = false;
  constructor(readonly manager: CommManager, readonly id: string, readonly targetName: string) {}

  onMsg(cb: (m: CommMessage) => void | Promise<void>): void {
    this.msgHandlers.push(cb);
  }

  onClose(cb: (m: CommMessage | undefined) => void): void {
    this.closeHandlers.push(cb);
  }

  send(data: JsonObject, buffers: (Buffer | Uint8Array)[] = [], opts: { metadata?: JsonObject; parent?: Partial<Header> } = {}): void {
    if (this.closed) throw new GanvasError('RUNTIME', `comm ${this.id} (${this.targetName}) is closed; the front end closed it or the kernel restarted`);
    this.manager.publish('comm_msg', { comm_id: this.id, data }, buffers, opts);
  }

  /** Closes from the kernel side (tells the front end). */
  close(data: JsonObject = {}): void {
    if (this.closed) return;
    this.manager.publish('comm_close', { comm_id: this.id, data });
    this.closedBy(undefined);
  }

  /** @internal */
  async deliver(m: CommMessage): Promise<void> {
    for (const h of this.msgHandlers) await h(m);
  }

  /** @internal */
  closedBy(m: CommMessage | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.manager.forget(this.id);
    for (const h of this.closeHandlers) {
      try {
        h(m);
      } catch (e) {
        this.manager.log(`comm ${this.id}: close handler failed: ${describeError(e)}`);
      }
    }
  }
}

function loadedTslabModules(): { jupyter: TslabJupyterModule; version: string; dir: string }[] {
  const out: { jupyter: TslabJupyterModule; version: string; dir: string }[] = [];
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!mod || !/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const exp = mod.exports as Partial<TslabJupyterModule>;
    if (!exp.ZmqServer || typeof exp.ZmqServer.prototype?.handleShellMessage !== 'function') continue;
    const dir = path.dirname(path.dirname(file));
    let version = '?';
    try {
      version = String((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as JsonObject).version);
    } catch {
      /* version stays unknown: refused below */
    }
    out.push({ jupyter: exp as TslabJupyterModule, version, dir });
  }
  return out;
}

function configPathFromArgv(argv: string[]): string | undefined {
  const i = argv.indexOf('--config-path');
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith('--config-path='));
  return eq?.slice('--config-path='.length);
}

/**
 * zeromq.js 6 allows one send in flight per socket ("Socket is busy writing" otherwise), and tslab sends without
 * waiting. With comm traffic added, sends overlap: measured here, 3 of 60 echo replies lost under load. Every
 * send on the kernel's Publisher (iopub) and Router (shell, control) sockets — tslab's and ours — is chained after
 * the previous one on the same socket. zeromq's socket objects are sealed, so the chaining `send` is defined on
 * the Publisher and Router prototypes (in this process only: the kernel's), with the queues in a WeakMap.
 * The same `send` recognises the probe (see the module comment).
 */
const queues = new WeakMap<object, Promise<void>>();
let onProbe: ((sock: ZmqSocketLike, frames: Buffer[]) => boolean) | undefined;
/** Whether patchSockets found zeromq: only then is a probe write caught (else it would reach the cell's output). */
let patched = false;

function patchSockets(): boolean {
  let found = false;
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!mod || !/[\\/]zeromq[\\/]lib[\\/]index\.js$/.test(file)) continue;
    const exp = mod.exports as { Publisher?: { prototype: object }; Router?: { prototype: object } };
    for (const cls of [exp.Publisher, exp.Router]) {
      const proto = cls?.prototype as (object & { __ganvasSend?: boolean }) | undefined;
      if (!proto) continue;
      found = true;
      if (proto.__ganvasSend) continue;
      const nativeSend = (Object.getPrototypeOf(proto) as ZmqSocketLike).send;
      Object.defineProperty(proto, 'send', {
        configurable: true,
        writable: true,
        value: function (this: ZmqSocketLike, frames: Buffer[]): Promise<void> {
          if (onProbe?.(this, frames)) return Promise.resolve();
          const prev = queues.get(this) ?? Promise.resolve();
          const done = prev.then(() => nativeSend.call(this, frames));
          queues.set(this, done.catch((e: unknown) => {
            try {
              writeSync(2, `[ganvas comm] send failed: ${describeError(e)}\n`);
            } catch {
              /* nothing left to do */
            }
          }));
          return done;
        },
      });
      Object.defineProperty(proto, '__ganvasSend', { value: true });
    }
  }
  if (found) patched = true;
  return found;
}

/** Wall-clock time in ms with sub-ms resolution (comparable with the browser's performance.timeOrigin + now() on the same machine). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Status messages of comm requests that were answered: published after the answer, once the comm traffic has been
 * quiet this long (or before the next cell), not as busy → answer → idle.
 *
 * Why (measured with bench/widgets.ts, which prints where a paint round trip goes): with busy published on
 * receipt, the paint reply spent a median 33 ms between kernel and page (the WebSocket bridge: 5 ms) and the round
 * trip was p50 ≈ 100 ms. The Jupyter server (jupyter_server 2.x on tornado) leaves Nagle's algorithm on for its
 * WebSocket to the page: the busy frame goes out at once, the reply written ~10 ms later (the paint) waits for the
 * page's TCP ACK of busy, which Linux delays up to 40 ms (delayed ACK). Same server with TCP_NODELAY patched in
 * (bench row GANVAS_BENCH_SERVER_NODELAY=1): kernel → page 6 ms. A request whose answer is the kernel's only
 * message goes out at once (the page's request carried the ACK of everything before), so the status pair waits
 * until the front end stops sending; the messaging spec's order (busy first) is given up for answered comm
 * requests only. Requests that get no answer (the widget manager's state syncs) keep busy/idle in order, at once.
 */
const QUIET_MS = 250;
const MAX_OWED_MS = 5000;
const HANDLED_WAIT_MS = 2000;

const COMM_TYPES = new Set(['comm_info_request', 'comm_open', 'comm_msg', 'comm_close']);
const PROBE = `\u0000ganvas-comm-probe-${randomBytes(8).toString('hex')}`;

let installed: CommManager | undefined;

export class CommManager {
  private comms = new Map<string, Comm>();
  private targets = new Map<string, CommTarget>();
  private iopub?: ZmqSocketLike;
  /** Header of the request being handled: an execute_request or a comm message. */
  private parent: Partial<Header> = {};
  private session = randomBytes(16).toString('hex');
  private beforeExecuteHooks = new Set<() => void>();
  /** Comm requests whose busy/idle status is owed (see onShell), oldest first. */
  private owedStatus: Header[] = [];
  private owedSince = 0;
  private quietHooks = new Set<() => void>();
  private quietTimer?: NodeJS.Timeout;
  /** Comm requests being handled now (between receipt and the handler's end). */
  private handling = 0;
  private handledWaiters: (() => void)[] = [];
  /** Counters, for tests and diagnostics. */
  readonly stats = { received: 0, sent: 0, ignored: 0 };

  private constructor(private signer: Signer, readonly tslabVersion: string) {}

  /**
   * The comm layer of the running tslab kernel, installed on first call. Throws a GanvasError when this process
   * is no tslab kernel or runs a tslab version this module does not know.
   */
  static get(): CommManager {
    if (installed) return installed;
    const mods = loadedTslabModules();
    if (mods.length === 0) {
      throw new GanvasError('UNSUPPORTED', 'Jupyter comms need the tslab kernel: this process has not loaded tslab (plain Node script, or another kernel). Widgets fall back to their WebSocket bridge.');
    }
    const unknown = mods.filter((m) => !KNOWN_TSLAB.test(m.version));
    if (unknown.length > 0) {
      throw new GanvasError('UNSUPPORTED', `Jupyter comms are added to tslab by patching its internals, known for tslab 1.0.x; this kernel runs tslab ${unknown.map((m) => `${m.version} (${m.dir})`).join(', ')}. Install tslab@1.0 for widgets over comms; until then they use the WebSocket bridge.`);
    }
    const cfgPath = configPathFromArgv(process.argv);
    if (!cfgPath) throw new GanvasError('UNSUPPORTED', 'this tslab process has no --config-path argument: it is not running as a Jupyter kernel (comms need one).');
    let cfg: { key?: string; signature_scheme?: string };
    try {
      cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as typeof cfg;
    } catch (e) {
      throw new GanvasError('RUNTIME', `cannot read the kernel's connection file ${cfgPath}: ${describeError(e)}`);
    }
    const mgr = new CommManager({ key: String(cfg.key ?? ''), scheme: cfg.signature_scheme ?? 'hmac-sha256' }, mods[0].version);
    for (const m of mods) mgr.wrap(m.jupyter);
    mgr.probeIopub();
    installed = mgr;
    return mgr;
  }

  /** Whether the comm layer can be installed here (no throw). */
  static available(): boolean {
    try {
      CommManager.get();
      return true;
    } catch {
      return false;
    }
  }

  /** Where log lines go: the kernel process's real stderr (the Jupyter server's log), not a cell's output. */
  log(line: string): void {
    try {
      writeSync(2, `[ganvas comm] ${line}\n`);
    } catch {
      /* nothing sensible left to do */
    }
  }

  private wrap(mod: TslabJupyterModule): void {
    const proto = mod.ZmqServer.prototype as TslabServerLike & { __ganvasComm?: boolean };
    if (proto.__ganvasComm) return;
    const original = proto.handleShellMessage;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const mgr = this;
    proto.handleShellMessage = function (this: TslabServerLike, sock: ZmqSocketLike, ...frames: Buffer[]): Promise<void> {
      mgr.attach(this);
      const type = peekType(frames);
      if (type !== undefined && COMM_TYPES.has(type)) return mgr.onShell(sock, frames);
      if (type === undefined) {
        // tslab would throw inside its un-awaited handler; log and drop instead.
        mgr.stats.ignored++;
        mgr.log('ignored a shell message whose header cannot be read');
        return Promise.resolve();
      }
      // Owed comm statuses and deferred widget state go out before any other request is handled: its busy then
      // follows every earlier idle, and a cell sees (and a notebook saved after it holds) the latest state. A shell
      // request that arrives while comm requests are being handled waits for them (at most HANDLED_WAIT_MS: a
      // handler that never ends must not block cells), as a kernel that handles its shell messages in turn would;
      // control requests (interrupt, shutdown) never wait.
      const pass = (): Promise<void> => {
        mgr.flushQuiet();
        if (type === 'execute_request') {
          const m = parseWire(mgr.signer, frames);
          if (!('error' in m)) mgr.parent = m.header;
          mgr.runBeforeExecute();
        }
        return original.call(this, sock, ...frames);
      };
      if (mgr.handling > 0 && sock !== (this as { control?: unknown }).control) return mgr.handled(HANDLED_WAIT_MS).then(pass);
      return pass();
    };
    proto.__ganvasComm = true;
  }

  private attach(server: TslabServerLike): void {
    if (server.iopub) this.iopub = server.iopub;
    if (server.connInfo) this.signer = { key: server.connInfo.key, scheme: server.connInfo.signature_scheme ?? 'hmac-sha256' };
  }

  /** Finds the iopub socket during the current cell (see the module comment). */
  private probeIopub(): void {
    if (!patchSockets()) {
      this.log('zeromq not found in this process; comm messages wait for the next request from the front end');
      return;
    }
    const header = this.probe();
    if (header) this.parent = header;
    if (!this.iopub) this.log('iopub socket not found yet; comm messages wait for the next request from the front end');
  }

  /**
   * One probe write to stdout, caught on its way to the iopub socket (patchSockets) and swallowed: gives the socket
   * and the request header tslab's stream writer uses — the execute_request of the cell running now, or of the last
   * one to start (tslab points process.stdout at each cell's writer when the cell starts and leaves it there).
   */
  private probe(): Header | undefined {
    let header: Header | undefined;
    onProbe = (sock, frames) => {
      const at = frames.findIndex((b) => Buffer.isBuffer(b) && b.equals(DELIM));
      if (at < 0 || frames.length < at + 6) return false;
      try {
        const content = JSON.parse(String(frames[at + 5])) as JsonObject;
        if (content.text !== PROBE) return false;
        this.iopub = sock;
        header = JSON.parse(String(frames[at + 3])) as Header;
        return true;
      } catch {
        return false;
      }
    };
    try {
      process.stdout.write(PROBE);
    } finally {
      onProbe = undefined;
    }
    return header;
  }

  /**
   * The parent for output a cell makes (display_data, a kernel-side comm_open): the running cell's request. Not
   * `parent`, which is the last request to arrive: with several cells queued (Run All) that is a later cell, and
   * after a widget's comm message it is that message — measured in the JupyterLab, Notebook 7 and Notebook 6 tests:
   * the gallery and plot of cells 4 and 5, shown after the paint widget's probe answered, landed in cell 2's output.
   */
  private cellParent(): Partial<Header> {
    return (patched ? this.probe() : undefined) ?? this.parent;
  }

  /** Shows a mime bundle in the current cell's output; with `update`, replaces the output of that display id. */
  display(data: JsonObject, displayId: string, update = false): void {
    this.publish(update ? 'update_display_data' : 'display_data', { data, metadata: {}, transient: { display_id: displayId } }, [], { parent: this.cellParent() });
  }

  /**
   * Runs `hook` when an execute_request arrives, before the cell runs: widgets that send their model state late
   * (paint: once the strokes pause, see whenQuiet) send it now, so the state reaches the front end before anything the cell
   * prints, and a notebook saved once the cell has finished holds it. Returns the function that removes the hook.
   */
  beforeExecute(hook: () => void): () => void {
    this.beforeExecuteHooks.add(hook);
    return () => this.beforeExecuteHooks.delete(hook);
  }

  private runBeforeExecute(): void {
    for (const hook of this.beforeExecuteHooks) {
      try {
        hook();
      } catch (e) {
        this.log(`a before-execute hook failed: ${describeError(e)}`);
      }
    }
  }

  /**
   * Runs `hook` once the comm traffic has been quiet for QUIET_MS (no comm request for that long, none being
   * handled), or before the next non-comm request (a cell) — whichever comes first; at most once per call. For
   * messages nobody waits on (a widget's model state after a burst of requests): written while the front end is
   * still sending requests, they would hold back a reply (see onShell).
   */
  whenQuiet(hook: () => void): void {
    this.quietHooks.add(hook);
    this.armQuiet();
  }

  /** Resolves when no comm request is being handled, or after `maxMs`. */
  private handled(maxMs: number): Promise<void> {
    if (this.handling === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      this.handledWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private armQuiet(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      if (this.handling > 0) this.armQuiet();
      else this.flushQuiet();
    }, QUIET_MS);
  }

  /** @internal Publishes what waits for quiet: widget state (hooks), then the owed busy/idle pairs, in order. */
  flushQuiet(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    const hooks = [...this.quietHooks];
    this.quietHooks.clear();
    for (const hook of hooks) {
      try {
        hook();
      } catch (e) {
        this.log(`a deferred widget message failed: ${describeError(e)}`);
      }
    }
    const owed = this.owedStatus.splice(0);
    for (const parent of owed) {
      this.publish('status', { execution_state: 'busy' }, [], { parent });
      this.publish('status', { execution_state: 'idle' }, [], { parent });
    }
  }

  registerTarget(name: string, target: CommTarget): void {
    this.targets.set(name, target);
  }

  /** Opens a comm from the kernel side. */
  open(targetName: string, data: JsonObject, opts: { buffers?: (Buffer | Uint8Array)[]; metadata?: JsonObject; targetModule?: string } = {}): Comm {
    const id = randomBytes(16).toString('hex');
    const comm = new Comm(this, id, targetName);
    this.comms.set(id, comm);
    this.publish('comm_open', { comm_id: id, target_name: targetName, data, ...(opts.targetModule ? { target_module: opts.targetModule } : {}) }, opts.buffers, { metadata: opts.metadata, parent: this.cellParent() });
    return comm;
  }

  get(id: string): Comm | undefined {
    return this.comms.get(id);
  }

  get openComms(): number {
    return this.comms.size;
  }

  /** @internal */
  forget(id: string): void {
    this.comms.delete(id);
  }

  /** @internal Sends an iopub message with the current request as parent. */
  publish(msgType: string, content: JsonObject, buffers: (Buffer | Uint8Array)[] = [], opts: { metadata?: JsonObject; parent?: Partial<Header> } = {}): void {
    if (!this.iopub) throw new GanvasError('RUNTIME', 'the kernel\'s iopub socket is not known yet (the comm layer was installed outside a cell); run a cell and retry');
    const parent = opts.parent ?? this.parent;
    const header = newHeader(msgType, typeof parent.session === 'string' ? parent.session : this.session);
    const frames = assembleWire(this.signer, { identities: [Buffer.from(msgType)], header, parent, metadata: opts.metadata ?? {}, content, buffers });
    this.stats.sent++;
    void Promise.resolve(this.iopub.send(frames)).catch((e: unknown) => this.log(`iopub send failed: ${describeError(e)}`));
  }

  private reply(sock: ZmqSocketLike, req: WireMessage, msgType: string, content: JsonObject): void {
    const header = newHeader(msgType, req.header.session);
    const frames = assembleWire(this.signer, { identities: req.identities, header, parent: req.header, metadata: {}, content });
    this.stats.sent++;
    void Promise.resolve(sock.send(frames)).catch((e: unknown) => this.log(`shell send failed: ${describeError(e)}`));
  }

  private async onShell(sock: ZmqSocketLike, frames: Buffer[]): Promise<void> {
    const receivedAt = epochMs();
    const m = parseWire(this.signer, frames);
    if ('error' in m) {
      this.stats.ignored++;
      this.log(`ignored a ${peekType(frames) ?? 'shell'} message: ${m.error}`);
      return;
    }
    this.stats.received++;
    // Owed statuses never wait longer than MAX_OWED_MS, even under a steady stream of requests (each held
    // JupyterLab future keeps its message until its idle comes).
    if (this.owedStatus.length > 0 && receivedAt - this.owedSince > MAX_OWED_MS && this.handling === 0) this.flushQuiet();
    const sentBefore = this.stats.sent;
    this.handling++;
    try {
      await this.dispatch(sock, m, receivedAt);
    } catch (e) {
      this.log(`${m.header.msg_type} failed: ${describeError(e)}`);
    } finally {
      this.handling--;
      if (this.stats.sent === sentBefore) {
        // Nothing sent in answer: busy and idle now, in order (the front end's widget manager waits for this idle
        // before it sends its next state update).
        this.publish('status', { execution_state: 'busy' }, [], { parent: m.header });
        this.publish('status', { execution_state: 'idle' }, [], { parent: m.header });
      } else {
        if (this.owedStatus.length === 0) this.owedSince = receivedAt;
        this.owedStatus.push(m.header);
        this.armQuiet();
      }
      if (this.handling === 0) for (const w of this.handledWaiters.splice(0)) w();
    }
  }

  private async dispatch(sock: ZmqSocketLike, m: WireMessage, receivedAt: number): Promise<void> {
    const c = m.content;
    const msg: CommMessage = { data: (typeof c.data === 'object' && c.data !== null && !Array.isArray(c.data) ? c.data : {}) as JsonObject, buffers: m.buffers, metadata: m.metadata, header: m.header, receivedAt };
    switch (m.header.msg_type) {
      case 'comm_info_request': {
        const want = typeof c.target_name === 'string' ? c.target_name : undefined;
        const comms: JsonObject = {};
        for (const [id, comm] of this.comms) if (want === undefined || comm.targetName === want) comms[id] = { target_name: comm.targetName };
        this.reply(sock, m, 'comm_info_reply', { status: 'ok', comms });
        return;
      }
      case 'comm_open': {
        const id = String(c.comm_id ?? '');
        const target = this.targets.get(String(c.target_name));
        if (!id || !target) {
          this.log(`comm_open for unknown target "${String(c.target_name)}": closed`);
          if (id) this.publish('comm_close', { comm_id: id, data: {} }, [], { parent: m.header });
          return;
        }
        const comm = new Comm(this, id, String(c.target_name));
        this.comms.set(id, comm);
        this.parent = m.header;
        target(comm, msg);
        return;
      }
      case 'comm_msg': {
        const comm = this.comms.get(String(c.comm_id));
        if (!comm) {
          this.stats.ignored++;
          this.log(`comm_msg for unknown comm ${String(c.comm_id)} ignored`);
          return;
        }
        this.parent = m.header;
        await comm.deliver(msg);
        return;
      }
      case 'comm_close': {
        const comm = this.comms.get(String(c.comm_id));
        if (comm) comm.closedBy(msg);
        return;
      }
    }
  }
}

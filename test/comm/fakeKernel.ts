/**
 * An in-process stand-in for the tslab kernel the comm layer patches (src/comm/kernel.ts), for fast tests: a fake
 * `tslab/dist/jupyter.js` (a ZmqServer class whose handleShellMessage records what reaches tslab) and a fake
 * `zeromq/lib/index.js` (Publisher and Router classes whose base `send` records the frames), put into require.cache
 * under paths that look like the real ones; a connection file and `--config-path` in process.argv; and a
 * process.stdout that, like tslab's stream writer during a cell, turns a write into a signed iopub "stream" message
 * whose parent is the cell's execute_request.
 *
 * Each harness loads a fresh copy of the comm modules (their singletons: the installed manager, the live widgets,
 * the probe's answer), so every test starts from a process that has not installed comms yet.
 *
 * Messages are signed and checked here by the messaging spec's rule, written out independently of src/comm/wire.ts:
 * HMAC-SHA256, keyed with the connection file's key, over the header, parent header, metadata and content frames
 * (not the buffers), hex digest as the frame after `<IDS|MSG>`.
 */
import { createHmac, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The fs module object itself (not the import's read-only namespace copy): the comm layer looks writeSync up on it per call. */
const fsModule = require('fs') as { writeSync: unknown };

export type Obj = { [k: string]: unknown };

export interface Decoded {
  identities: Buffer[];
  header: Obj & { msg_type: string; msg_id: string; session: string };
  parent: Obj;
  metadata: Obj;
  content: Obj;
  buffers: Buffer[];
}

const DELIMITER = '<IDS|MSG>';

export function hmacHex(key: string, parts: Buffer[], algo = 'sha256'): string {
  const h = createHmac(algo, key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** A message as a front end (or tslab) puts it on the wire. */
export function encode(key: string, msg: { identities?: Buffer[]; header: Obj; parent?: Obj; metadata?: Obj; content: Obj; buffers?: Buffer[] }): Buffer[] {
  const four = [msg.header, msg.parent ?? {}, msg.metadata ?? {}, msg.content].map((o) => Buffer.from(JSON.stringify(o)));
  return [...(msg.identities ?? []), Buffer.from(DELIMITER), Buffer.from(key === '' ? '' : hmacHex(key, four)), ...four, ...(msg.buffers ?? [])];
}

/** Splits and checks a message by the spec (throws on a bad signature). */
export function decode(key: string, frames: Buffer[]): Decoded {
  const at = frames.findIndex((f) => f.toString() === DELIMITER);
  if (at < 0) throw new Error('no delimiter');
  const four = frames.slice(at + 2, at + 6);
  const want = key === '' ? '' : hmacHex(key, four);
  if (frames[at + 1].toString() !== want) throw new Error(`bad signature on ${four[0].toString()}`);
  const [header, parent, metadata, content] = four.map((f) => JSON.parse(f.toString()) as Obj);
  return { identities: frames.slice(0, at), header: header as Decoded['header'], parent, metadata, content, buffers: frames.slice(at + 6) };
}

export function header(msgType: string, session = 'front-session'): Obj & { msg_id: string; msg_type: string; session: string } {
  return { msg_id: randomBytes(8).toString('hex'), msg_type: msgType, session, username: 'user', date: new Date().toISOString(), version: '5.3' };
}

/**
 * Time runs WARP times faster for the comm layer while a harness is up: its timers (the quiet wait, the wait for
 * handled requests, the probe's timeout) are set through a setTimeout that divides the delay, so a test waits
 * 50 ms where the kernel's rule is 250 ms. sleep() here is real time.
 */
export const WARP = 5;
const realSetTimeout = global.setTimeout;
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
export const sleep = (ms: number): Promise<void> => new Promise((r) => realSetTimeout(r, ms));

type KernelModule = typeof import('../../src/comm/kernel');
type WidgetModule = typeof import('../../src/comm/widget');
type TransportModule = typeof import('../../src/widgets/transport');
type WireModule = typeof import('../../src/comm/wire');

/** dist/ of the package the tests run against (under StrykerJS: the sandbox's mutated copy). */
export const distDir = path.dirname(require.resolve('ganvas'));
const FRESH = ['comm/kernel.js', 'comm/widget.js', 'widgets/transport.js'];

export function freshModules(): { kernel: KernelModule; widget: WidgetModule; transport: TransportModule } {
  for (const f of FRESH) delete require.cache[path.join(distDir, f)];
  /* eslint-disable @typescript-eslint/no-var-requires */
  const kernel = require(path.join(distDir, 'comm/kernel.js')) as KernelModule;
  const widget = require(path.join(distDir, 'comm/widget.js')) as WidgetModule;
  const transport = require(path.join(distDir, 'widgets/transport.js')) as TransportModule;
  return { kernel, widget, transport };
}

export function wireModule(): WireModule {
  return require(path.join(distDir, 'comm/wire.js')) as WireModule;
}

export interface FakeOptions {
  /** tslab's package.json version; null: no package.json. */
  version?: string | null;
  /** Whether a zeromq module is loaded. */
  zeromq?: boolean;
  /** How the connection file is named in argv. */
  argv?: 'space' | 'eq' | 'none';
  /** Whether the connection file exists. */
  connFile?: boolean;
  key?: string;
  scheme?: string;
  /** Whether the connection file names the key / the signature scheme. */
  fileKey?: boolean;
  fileScheme?: boolean;
  /** Whether the server's connInfo names the signature scheme. */
  serverScheme?: boolean;
  /** The key the running server holds (connInfo); default: the file's. */
  serverKey?: string;
  /** Whether the server object has connInfo at all. */
  connInfo?: boolean;
  /** Whether a tslab module is in require.cache at all. */
  tslab?: boolean;
}

class SocketBase {
  sent: Buffer[][] = [];
  /** Native sends started (recorded or not yet). */
  started = 0;
  /** When set, the native send waits for this before recording (to see the patched send chain). */
  gate?: Promise<void>;
  fail = false;
  listeners: ((frames: Buffer[]) => void)[] = [];
  send(frames: Buffer[]): Promise<void> {
    this.started++;
    const go = (): void => {
      if (this.fail) throw new Error('socket busy');
      this.sent.push(frames);
      for (const l of this.listeners) l(frames);
    };
    if (this.gate) return this.gate.then(go);
    go();
    return Promise.resolve();
  }
}

export class FakeKernel {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'ganvas-fakekernel-'));
  readonly key: string;
  readonly scheme: string;
  readonly connPath: string;
  readonly tslabFile: string;
  readonly zmqFile: string;
  readonly Publisher: new () => SocketBase;
  readonly Router: new () => SocketBase;
  readonly Server: new () => { iopub?: SocketBase; control?: SocketBase; connInfo?: { key: string; signature_scheme?: string }; passed: Buffer[][]; onPass?: () => void; handleShellMessage(sock: SocketBase, ...frames: Buffer[]): Promise<void> };
  readonly server: InstanceType<FakeKernel['Server']>;
  readonly iopub: SocketBase;
  readonly shell: SocketBase;
  readonly control: SocketBase;
  /** The execute_request of the cell running now (the parent of the stream writer's messages). */
  cell = header('execute_request');
  /** Lines the comm layer logged to fd 2. */
  readonly logs: string[] = [];
  readonly mods: ReturnType<typeof freshModules>;
  /** The comm modules in require.cache before this harness (other test files' copies, or the package's own). */
  private outer = FRESH.map((f) => require.cache[path.join(distDir, f)]);
  /** Other tslab / zeromq modules in require.cache, hidden from the comm layer while this harness lives. */
  private hidden: [string, NodeModule | undefined][] = [];
  private saved: { argv: string[]; write: typeof process.stdout.write; writeSync: typeof fs.writeSync; env: string | undefined };

  constructor(readonly opts: FakeOptions = {}) {
    this.key = opts.key ?? randomBytes(8).toString('hex');
    this.scheme = opts.scheme ?? 'hmac-sha256';
    const tslabDir = path.join(this.root, 'node_modules', 'tslab');
    fs.mkdirSync(path.join(tslabDir, 'dist'), { recursive: true });
    if (opts.version !== null) fs.writeFileSync(path.join(tslabDir, 'package.json'), JSON.stringify({ name: 'tslab', version: opts.version ?? '1.0.22' }));
    this.tslabFile = path.join(tslabDir, 'dist', 'jupyter.js');
    this.zmqFile = path.join(this.root, 'node_modules', 'zeromq', 'lib', 'index.js');
    this.connPath = path.join(this.root, 'kernel-1.json');
    if (opts.connFile !== false) fs.writeFileSync(this.connPath, JSON.stringify({ ...(opts.fileKey === false ? {} : { key: this.key }), ...(opts.fileScheme === false ? {} : { signature_scheme: this.scheme }), transport: 'tcp' }));

    class Publisher extends SocketBase {}
    class Router extends SocketBase {}
    this.Publisher = Publisher;
    this.Router = Router;
    class ZmqServer {
      iopub?: SocketBase;
      control?: SocketBase;
      connInfo?: { key: string; signature_scheme?: string };
      passed: Buffer[][] = [];
      onPass?: () => void;
      async handleShellMessage(sock: SocketBase, ...frames: Buffer[]): Promise<void> {
        this.passed.push(frames);
        this.onPass?.();
        void sock;
      }
    }
    this.Server = ZmqServer;
    this.iopub = new Publisher();
    this.shell = new Router();
    this.control = new Router();
    this.server = new ZmqServer();
    this.server.iopub = this.iopub;
    this.server.control = this.control;
    if (opts.connInfo !== false) this.server.connInfo = { key: opts.serverKey ?? this.key, ...(opts.serverScheme === false ? {} : { signature_scheme: this.scheme }) };

    // A tslab or zeromq loaded by earlier test files in this process (the real-kernel comm tests' client loads the
    // real zeromq; widgetsCommParts loads a fake tslab) would be found by the comm layer's require.cache scan:
    // hidden while this harness lives (another live harness's fakes stay: some tests use two), put back by dispose().
    this.hidden = Object.keys(require.cache)
      .filter((f) => /[\\/](zeromq[\\/]lib[\\/]index|tslab[\\/]dist[\\/]jupyter)\.js$/.test(f) && !f.includes('ganvas-fakekernel-')) // not another harness's
      .map((f) => [f, require.cache[f]] as [string, NodeModule | undefined]);
    for (const [f] of this.hidden) delete require.cache[f];
    const fakeModule = (file: string, exports: unknown): NodeModule => ({ id: file, filename: file, loaded: true, exports, children: [], paths: [] }) as unknown as NodeModule;
    if (opts.tslab !== false) require.cache[this.tslabFile] = fakeModule(this.tslabFile, { ZmqServer });
    if (opts.zeromq !== false) require.cache[this.zmqFile] = fakeModule(this.zmqFile, { Publisher, Router });

    this.saved = { argv: process.argv, write: process.stdout.write, writeSync: fsModule.writeSync as typeof fs.writeSync, env: process.env.GANVAS_WIDGET_TRANSPORT };
    const argv = opts.argv ?? 'space';
    process.argv = [process.argv[0], '/x/tslab', 'kernel', ...(argv === 'space' ? ['--config-path', this.connPath] : argv === 'eq' ? [`--config-path=${this.connPath}`] : [])];
    // tslab's stream writer: a write during a cell becomes an iopub stream message parented to the cell.
    const original = this.saved.write;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      if (typeof chunk === 'string' && chunk.startsWith('\u0000ganvas-comm-probe-')) {
        void this.iopub.send(encode(this.key, { identities: [Buffer.from('stream')], header: header('stream', 'kernel-session'), parent: this.cell, content: { name: 'stdout', text: chunk } }));
        return true;
      }
      return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    }) as typeof process.stdout.write;
    const writeSync = this.saved.writeSync;
    fsModule.writeSync = (fd: number, data: unknown, ...rest: unknown[]): number => {
      if (fd === 2 && typeof data === 'string' && data.startsWith('[ganvas comm] ')) {
        this.logs.push(data);
        return data.length;
      }
      return (writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
    };
    global.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...a: unknown[]) => realSetTimeout(fn, (ms ?? 0) / WARP, ...a)) as unknown as typeof setTimeout;
    this.mods = freshModules();
  }

  dispose(): void {
    global.setTimeout = realSetTimeout;
    process.argv = this.saved.argv;
    process.stdout.write = this.saved.write;
    fsModule.writeSync = this.saved.writeSync;
    if (this.saved.env === undefined) delete process.env.GANVAS_WIDGET_TRANSPORT;
    else process.env.GANVAS_WIDGET_TRANSPORT = this.saved.env;
    delete require.cache[this.tslabFile];
    delete require.cache[this.zmqFile];
    for (const [f, m] of this.hidden) if (m) require.cache[f] = m;
    // Put the comm modules back as they were: test files run after this one in the same process (the whole suite is
    // one mocha process) must get the package's own copies, the ones 'ganvas' and the widget modules hold.
    FRESH.forEach((f, i) => {
      const key = path.join(distDir, f);
      const m = this.outer[i];
      if (m) require.cache[key] = m;
      else delete require.cache[key];
    });
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  /** What the kernel published on iopub so far, checked and decoded. */
  iopubOut(): Decoded[] {
    return this.iopub.sent.map((f) => decode(this.key, f));
  }

  /** iopub messages of one type. */
  published(type: string): Decoded[] {
    return this.iopubOut().filter((m) => m.header.msg_type === type);
  }

  shellOut(): Decoded[] {
    return this.shell.sent.map((f) => decode(this.key, f));
  }

  /** A front end's shell request, handed to the (wrapped) tslab server as its receive loop would. */
  request(msgType: string, content: Obj, more: { buffers?: Buffer[]; metadata?: Obj; sock?: SocketBase; key?: string } = {}): { header: Obj & { msg_id: string }; done: Promise<void>; frames: Buffer[] } {
    const h = header(msgType);
    const frames = encode(more.key ?? this.key, { identities: [Buffer.from('front-id')], header: h, content, metadata: more.metadata, buffers: more.buffers });
    const done = this.server.handleShellMessage(more.sock ?? this.shell, ...frames);
    return { header: h, done, frames };
  }
}

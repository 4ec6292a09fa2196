/**
 * A tslab kernel faked inside the test process, for fast in-process tests of what ganvas does inside a notebook
 * (issue 19: no Jupyter server, no kernel child per mutant):
 * - `tslab/dist/jupyter.js` and `public.js` written to a temporary folder and loaded, so display.ts's tslab() finds
 *   a "running kernel" whose display calls are recorded here (`shown`);
 * - for comms, `--config-path` names a connection file, CommManager.get() wraps the fake ZmqServer's
 *   handleShellMessage as it wraps tslab's, and shell messages signed with the file's key are fed to that wrapper the
 *   way tslab's receive loop would; everything the comm layer publishes on "iopub" is parsed back here (`iopub`).
 * The comm layer stays installed for the rest of the process (CommManager keeps it); `detach()` takes the fake
 * modules out of require.cache again and, from then on, closes every widget model the kernel opens at once (a front
 * end without the ganvas extension), so chooseTransport('auto') in later test files still picks the WebSocket bridge
 * without waiting for the probe's timeout.
 */
import { randomBytes } from 'crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CommManager } from 'ganvas';
import { Header, JsonObject, WireMessage, assembleWire, newHeader, parseWire } from '../src/comm/wire';

export interface Shown {
  kind: 'html' | 'png' | 'text' | 'svg';
  value: unknown;
  /** 0: tslab's `display`; n ≥ 1: the n-th `newDisplay()`. */
  display: number;
}

interface Recorder {
  shown: Shown[];
}

interface FakeServerProto {
  handleShellMessage(this: unknown, sock: unknown, ...frames: Buffer[]): Promise<void>;
}

const g = globalThis as unknown as { __ganvasFakeTslab?: Recorder };

export class FakeTslab {
  readonly shown: Shown[] = [];
  readonly iopub: WireMessage[] = [];
  /** Shell messages the wrapper passed on to "tslab" (non-comm requests). */
  readonly passed: string[] = [];
  private files: string[] = [];
  private modules: NodeModule[] = [];
  private mgr?: CommManager;
  private key = randomBytes(16).toString('hex');
  private session = randomBytes(8).toString('hex');
  private server?: { iopub: { send(frames: Buffer[]): void }; connInfo: { key: string; signature_scheme: string } };
  private proto?: FakeServerProto;
  private detached = false;

  private constructor(readonly dir: string) {}

  /**
   * Writes and loads the fake tslab (display only; `comms()` adds the comm layer). One per process: a suite run
   * again (StrykerJS reruns the tests in the same process) gets the same fake back, attached again, since the comm
   * layer stays wrapped around this fake's ZmqServer.
   */
  static load(): FakeTslab {
    const known = g.__ganvasFakeTslab;
    if (known instanceof FakeTslab) {
      known.attach();
      return known;
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ganvas-fake-tslab-'));
    const t = new FakeTslab(dir);
    const dist = path.join(dir, 'tslab', 'dist');
    mkdirSync(dist, { recursive: true });
    writeFileSync(path.join(dir, 'tslab', 'package.json'), JSON.stringify({ name: 'tslab', version: '1.0.22' }));
    writeFileSync(
      path.join(dist, 'jupyter.js'),
      `class ZmqServer { async handleShellMessage(sock, ...frames) { globalThis.__ganvasFakeTslabPassed && globalThis.__ganvasFakeTslabPassed(frames); } }
exports.ZmqServer = ZmqServer;
exports.lastWriteDisplayData = function () {};
`,
    );
    writeFileSync(
      path.join(dist, 'public.js'),
      `let n = 0;
function display(id) {
  const rec = (kind) => (value) => globalThis.__ganvasFakeTslab.shown.push({ kind, value, display: id });
  return { html: rec('html'), png: rec('png'), text: rec('text'), svg: rec('svg') };
}
exports.display = display(0);
exports.newDisplay = () => display(++n);
`,
    );
    g.__ganvasFakeTslab = t;
    t.files = [path.join(dist, 'jupyter.js'), path.join(dist, 'public.js')];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(t.files[0]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(t.files[1]);
    t.modules = t.files.map((f) => require.cache[f] as NodeModule);
    return t;
  }

  private attach(): void {
    this.files.forEach((f, i) => (require.cache[f] = this.modules[i]));
    this.detached = false;
  }

  /** Installs the comm layer on the fake kernel and hands it the iopub socket (as a first shell message would). */
  async comms(): Promise<CommManager> {
    if (this.mgr) return this.mgr;
    const cfg = path.join(this.dir, 'kernel.json');
    writeFileSync(cfg, JSON.stringify({ key: this.key, signature_scheme: 'hmac-sha256' }));
    // With zeromq loaded in this process (the comm suites' client), the comm layer's probe writes reach stdout (kept
    // filtered for the rest of the process: the comm layer stays installed).
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) => (String(s).startsWith('\u0000ganvas-comm-probe-') ? true : (write as (...a: unknown[]) => boolean)(s, ...rest))) as typeof process.stdout.write;
    process.argv.push('--config-path', cfg);
    let mgr: CommManager;
    try {
      mgr = CommManager.get();
    } finally {
      process.argv.splice(process.argv.indexOf('--config-path'), 2);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.proto = (require(this.files[0]) as { ZmqServer: { prototype: FakeServerProto } }).ZmqServer.prototype;
    const server = Object.create(this.proto) as NonNullable<FakeTslab['server']>;
    server.iopub = { send: (frames: Buffer[]) => this.onIopub(frames) };
    server.connInfo = { key: this.key, signature_scheme: 'hmac-sha256' };
    this.server = server;
    (globalThis as { __ganvasFakeTslabPassed?: (f: Buffer[]) => void }).__ganvasFakeTslabPassed = (frames) => {
      const m = parseWire({ key: this.key, scheme: 'hmac-sha256' }, frames);
      this.passed.push('error' in m ? 'unreadable' : m.header.msg_type);
    };
    // The first shell message from the front end: the wrapper takes the iopub socket from the server it runs on.
    await this.shell('kernel_info_request', {});
    this.mgr = mgr;
    return mgr;
  }

  private onIopub(frames: Buffer[]): void {
    const m = parseWire({ key: this.key, scheme: 'hmac-sha256' }, frames);
    if ('error' in m) throw new Error(`fake iopub: unreadable message: ${m.error}`);
    this.iopub.push(m);
    // After detach: a front end without the extension, which closes every widget model it is asked to make.
    if (this.detached && m.header.msg_type === 'comm_open') {
      const id = String(m.content.comm_id);
      setImmediate(() => void this.shell('comm_close', { comm_id: id, data: {} }));
    }
  }

  /** Feeds one signed shell message to the (wrapped) handleShellMessage, as tslab's receive loop does. */
  async shell(msgType: string, content: JsonObject, buffers: Buffer[] = []): Promise<Header> {
    if (!this.proto || !this.server) throw new Error('call comms() first');
    const header = newHeader(msgType, this.session, 'page');
    const frames = assembleWire({ key: this.key, scheme: 'hmac-sha256' }, { identities: [Buffer.from('page')], header, parent: {}, metadata: {}, content, buffers });
    await this.proto.handleShellMessage.call(this.server, {}, ...frames);
    return header;
  }

  /** Sends a widget's custom request {type, id, ...} with buffers; returns the custom reply's content and buffers. */
  async request(commId: string, content: JsonObject, buffers: Buffer[] = []): Promise<{ content: JsonObject; buffers: Buffer[]; parent: Header }> {
    const from = this.iopub.length;
    // Bounded: a handler that never ends fails the test at once, not at the mocha / StrykerJS timeout.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(content)} within 5 s`)), 5000)));
    const h = await Promise.race([this.shell('comm_msg', { comm_id: commId, data: { method: 'custom', content } }, buffers), late]).finally(() => clearTimeout(timer));
    const reply = this.iopub.slice(from).find((m) => m.header.msg_type === 'comm_msg' && (m.content.data as JsonObject).method === 'custom' && m.parent.msg_id === h.msg_id);
    if (!reply) throw new Error(`no custom reply to ${JSON.stringify(content)}`);
    return { content: (reply.content.data as { content: JsonObject }).content, buffers: reply.buffers, parent: reply.parent as Header };
  }

  /** The comm_open messages of widget models (the "jupyter.widget" target) published from `from` on. */
  models(from = 0): WireMessage[] {
    return this.iopub.slice(from).filter((m) => m.header.msg_type === 'comm_open' && m.content.target_name === 'jupyter.widget');
  }

  /** What shows in the notebook from now on, from `shown`, cleared. */
  take(): Shown[] {
    return this.shown.splice(0);
  }

  /** Takes the fake tslab out of require.cache (display.ts then sees no kernel); see the module comment. */
  detach(): void {
    for (const f of this.files) delete require.cache[f];
    this.detached = true;
  }
}

/**
 * A minimal Jupyter client over ZeroMQ (zeromq.js, the library tslab itself uses) for testing the comm layer
 * against a real tslab kernel process: shell requests and their replies, every iopub message in arrival order.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as zmq from 'zeromq';
import { childEnv } from '../mutationBridge';
import { Header, JsonObject, WireMessage, assembleWire, newHeader, parseWire } from '../../src/comm/wire';

export const root = path.join(__dirname, '..', '..', '..');

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export class KernelClient {
  readonly iopub: WireMessage[] = [];
  readonly stderr: string[] = [];
  /** Messages from the kernel whose signature or frames did not check out. */
  readonly bad: string[] = [];
  private replies = new Map<string, (m: WireMessage) => void>();
  private waiters: (() => void)[] = [];
  private session = randomBytes(8).toString('hex');
  private constructor(
    readonly proc: ChildProcess,
    private readonly shell: zmq.Dealer,
    private readonly sub: zmq.Subscriber,
    readonly key: string,
    private readonly dir: string,
  ) {}

  static async start(): Promise<KernelClient> {
    const [shell, iopub, control, stdin, hb] = await freePorts(5);
    const key = randomBytes(16).toString('hex');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-comm-'));
    const cfg = path.join(dir, 'kernel.json');
    await fs.writeFile(cfg, JSON.stringify({ transport: 'tcp', ip: '127.0.0.1', shell_port: shell, iopub_port: iopub, control_port: control, stdin_port: stdin, hb_port: hb, key, signature_scheme: 'hmac-sha256' }));
    // Under StrykerJS the kernel starts in build/, where require('ganvas') finds the mutated copy, with what carries
    // the mutant and its coverage across (test/mutationBridge.ts).
    const mutation = childEnv();
    const proc = spawn(process.execPath, [path.join(root, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', '--config-path', cfg], {
      cwd: mutation.GANVAS_MUTATION_COVERAGE === undefined ? root : path.join(root, 'build'),
      env: { ...process.env, ...mutation },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const dealer = new zmq.Dealer();
    dealer.connect(`tcp://127.0.0.1:${shell}`);
    const sub = new zmq.Subscriber();
    sub.connect(`tcp://127.0.0.1:${iopub}`);
    sub.subscribe();
    const c = new KernelClient(proc, dealer, sub, key, dir);
    proc.stderr?.on('data', (d) => c.stderr.push(String(d)));
    proc.stdout?.on('data', () => undefined);
    void c.loop();
    // The kernel binds after start-up: retry kernel_info until it answers (and iopub is connected).
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`tslab exited: ${c.stderr.join('')}`);
      const r = await Promise.race([c.request('kernel_info_request', {}), new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      if (r) break;
      if (Date.now() > deadline) throw new Error('tslab kernel did not answer kernel_info_request');
    }
    return c;
  }

  private async loop(): Promise<void> {
    void (async () => {
      for await (const frames of this.sub) {
        const m = parseWire({ key: this.key, scheme: 'hmac-sha256' }, frames);
        if ('error' in m) {
          this.bad.push(`iopub: ${m.error}`);
          continue;
        }
        this.iopub.push(m);
        for (const w of this.waiters.splice(0)) w();
      }
    })();
    for await (const frames of this.shell) {
      const m = parseWire({ key: this.key, scheme: 'hmac-sha256' }, frames);
      if ('error' in m) {
        this.bad.push(`shell: ${m.error}`);
        continue;
      }
      const r = this.replies.get(String(m.parent.msg_id));
      r?.(m);
    }
  }

  /** Sends a signed shell message (raw frames may be given to send something malformed). */
  async sendRaw(frames: Buffer[]): Promise<void> {
    await this.shell.send(frames);
  }

  frames(msgType: string, content: JsonObject, buffers: Buffer[] = []): { header: Header; frames: Buffer[] } {
    const header = newHeader(msgType, this.session, 'test');
    return { header, frames: assembleWire({ key: this.key, scheme: 'hmac-sha256' }, { identities: [], header, parent: {}, metadata: {}, content, buffers }) };
  }

  async send(msgType: string, content: JsonObject, buffers: Buffer[] = []): Promise<Header> {
    const { header, frames } = this.frames(msgType, content, buffers);
    await this.shell.send(frames);
    return header;
  }

  request(msgType: string, content: JsonObject): Promise<WireMessage> {
    const { header, frames } = this.frames(msgType, content);
    return new Promise((resolve) => {
      this.replies.set(header.msg_id, resolve);
      void this.shell.send(frames);
    });
  }

  /** Waits until an iopub message matching `pred` has arrived (from index `from` on). */
  async waitIopub(pred: (m: WireMessage) => boolean, from = 0, timeoutMs = 60_000): Promise<WireMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.iopub.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`timed out waiting for an iopub message; got ${this.iopub.slice(from).map((m) => m.header.msg_type).join(', ')}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /** Runs code; resolves with the reply and the iopub messages whose parent is this request (until idle). */
  async execute(code: string): Promise<{ reply: WireMessage; out: WireMessage[] }> {
    const from = this.iopub.length;
    const reply = await this.request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
    const id = reply.parent.msg_id;
    await this.waitIopub((m) => m.parent.msg_id === id && m.header.msg_type === 'status' && m.content.execution_state === 'idle', from);
    const out = this.iopub.slice(from).filter((m) => m.parent.msg_id === id);
    const errors = out.filter((m) => m.header.msg_type === 'error' || (m.header.msg_type === 'stream' && m.content.name === 'stderr'));
    if (reply.content.status !== 'ok') throw new Error(`cell failed: ${errors.map((m) => JSON.stringify(m.content)).join('\n')}`);
    return { reply, out };
  }

  async close(): Promise<void> {
    this.proc.kill('SIGKILL');
    this.shell.close();
    this.sub.close();
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Registers mocha hooks that start a tslab kernel before the suite's tests and close it after; returns a getter
 * for it (the comm widget suites share this setup).
 */
export function useKernel(): () => KernelClient {
  let k: KernelClient | undefined;
  before(async () => {
    k = await KernelClient.start();
  });
  after(async () => {
    await k?.close();
  });
  return () => {
    if (!k) throw new Error('the kernel is not started (useKernel() must be called inside a describe)');
    return k;
  };
}

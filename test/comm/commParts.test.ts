/**
 * Fast in-process tests of the comm layer (src/comm/kernel.ts), the Jupyter widget protocol on top of it
 * (src/comm/widget.ts) and the widget transport choice (src/widgets/transport.ts), against the fake tslab kernel
 * of fakeKernel.ts: front-end messages are built and signed here by the messaging spec, the kernel's messages are
 * checked and decoded here the same way. The slow end-to-end counterpart (a real tslab kernel over ZeroMQ) is
 * comm.test.ts.
 */
import { expect } from 'chai';
import { readFileSync } from 'fs';
import * as path from 'path';
import { Decoded, FakeKernel, FakeOptions, WARP, decode, distDir, freshModules, sleep, tick } from './fakeKernel';

/** kernel.ts's QUIET_MS and HANDLED_WAIT_MS and the probe's default timeout, in the harness's warped time. */
const QUIET = 250 / WARP;
const HANDLED_WAIT = 2000 / WARP;

let k: FakeKernel | undefined;
function fake(opts: FakeOptions = {}): FakeKernel {
  k = new FakeKernel(opts);
  return k;
}
afterEach(() => {
  k?.dispose();
  k = undefined;
});

function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('did not throw');
}

async function rejected(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('did not reject');
}

const types = (ms: Decoded[]): string[] => ms.map((m) => m.header.msg_type);
const states = (ms: Decoded[]): unknown[] => ms.filter((m) => m.header.msg_type === 'status').map((m) => m.content.execution_state);

/** Waits (bounded) until `cond` holds. */
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('comm layer installation (CommManager.get) on a fake tslab kernel', () => {
  it('refuses a process without tslab, and available() says no', () => {
    const f = fake({ tslab: false });
    const e = thrown(() => f.mods.kernel.CommManager.get());
    expect(e.code).to.equal('UNSUPPORTED');
    expect(e.message).to.match(/need the tslab kernel: this process has not loaded tslab/);
    expect(f.mods.kernel.CommManager.available()).to.equal(false);
  });

  it('skips a module at tslab\'s path that has no ZmqServer.handleShellMessage', () => {
    const f = fake({ tslab: false });
    require.cache[f.tslabFile] = { id: f.tslabFile, filename: f.tslabFile, loaded: true, exports: { ZmqServer: { prototype: {} } } } as unknown as NodeModule;
    expect(thrown(() => f.mods.kernel.CommManager.get()).message).to.match(/has not loaded tslab/);
    require.cache[f.tslabFile] = { id: f.tslabFile, filename: f.tslabFile, loaded: true, exports: {} } as unknown as NodeModule;
    expect(thrown(() => f.mods.kernel.CommManager.get()).message).to.match(/has not loaded tslab/);
    require.cache[f.tslabFile] = { id: f.tslabFile, filename: f.tslabFile, loaded: true, exports: { ZmqServer: {} } } as unknown as NodeModule;
    expect(thrown(() => f.mods.kernel.CommManager.get()).message).to.match(/has not loaded tslab/);
  });

  it('refuses a tslab version it does not know, naming it and where it is', () => {
    const f = fake({ version: '1.1.0' });
    const e = thrown(() => f.mods.kernel.CommManager.get());
    expect(e.code).to.equal('UNSUPPORTED');
    expect(e.message).to.contain(`this kernel runs tslab 1.1.0 (${path.dirname(path.dirname(f.tslabFile))})`);
    expect(e.message).to.contain('known for tslab 1.0.x');
    expect(f.mods.kernel.CommManager.available()).to.equal(false);
    // Two copies of tslab, both unknown: both named.
    const g = new FakeKernel({ version: '2.0.0' });
    try {
      const both = thrown(() => g.mods.kernel.CommManager.get()).message;
      const dir = (fk: FakeKernel): string => path.dirname(path.dirname(fk.tslabFile));
      expect(both).to.match(new RegExp(`tslab (1\\.1\\.0 \\(${dir(f)}\\), 2\\.0\\.0 \\(${dir(g)}\\)|2\\.0\\.0 \\(${dir(g)}\\), 1\\.1\\.0 \\(${dir(f)}\\))\\. Install`));
    } finally {
      g.dispose();
    }
  });

  it('refuses a tslab without a readable package.json (version unknown)', () => {
    const f = fake({ version: null });
    expect(thrown(() => f.mods.kernel.CommManager.get()).message).to.contain('this kernel runs tslab ? (');
  });

  it('KNOWN_TSLAB is 1.0.x only', () => {
    const re = fake().mods.kernel.KNOWN_TSLAB;
    expect(['1.0.0', '1.0.22'].map((v) => re.test(v))).to.deep.equal([true, true]);
    expect(['1.1.0', '11.0.1', '1.0.1-beta', 'x1.0.1', '1.0.'].map((v) => re.test(v))).to.deep.equal([false, false, false, false, false]);
  });

  it('needs --config-path in argv (either form) and a readable connection file', () => {
    let f = fake({ argv: 'none' });
    let e = thrown(() => f.mods.kernel.CommManager.get());
    expect(e.code).to.equal('UNSUPPORTED');
    expect(e.message).to.contain('no --config-path argument');
    f.dispose();
    f = fake({ connFile: false });
    e = thrown(() => f.mods.kernel.CommManager.get());
    expect(e.code).to.equal('RUNTIME');
    expect(e.message).to.contain(`cannot read the kernel's connection file ${f.connPath}: `);
    f.dispose();
    f = fake({ argv: 'eq' });
    expect(f.mods.kernel.CommManager.available()).to.equal(true);
  });

  it('installs once: the same manager for every call, with the tslab version', () => {
    const f = fake({ version: '1.0.7' });
    const a = f.mods.kernel.CommManager.get();
    expect(f.mods.kernel.CommManager.get()).to.equal(a);
    expect(a.tslabVersion).to.equal('1.0.7');
    expect(f.mods.kernel.CommManager.available()).to.equal(true);
  });

  it('finds the iopub socket during the cell by one probe write, which never reaches the output', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    await tick();
    expect(f.iopub.sent).to.have.length(0);
    const c = mgr.open('t', { a: 1 });
    await tick();
    const out = f.iopubOut();
    expect(types(out)).to.deep.equal(['comm_open']);
    expect(out[0].parent).to.deep.equal(f.cell);
    expect(out[0].content).to.deep.equal({ comm_id: c.id, target_name: 't', data: { a: 1 } });
    expect(out[0].identities.map(String)).to.deep.equal(['comm_open']);
    // Kernel messages carry the cell's session.
    expect(out[0].header.session).to.equal(f.cell.session);
    expect(out[0].header.msg_id).to.match(/^[0-9a-f]{32}$/);
    expect(mgr.stats.sent).to.equal(1);
  });

  it('without zeromq in the process: says so, and cannot publish until a shell message shows the server', async () => {
    const f = fake({ zeromq: false });
    const mgr = f.mods.kernel.CommManager.get();
    expect(f.logs.join('')).to.contain('zeromq not found in this process');
    const e = thrown(() => mgr.open('t', {}));
    expect(e.code).to.equal('RUNTIME');
    expect(e.message).to.contain('iopub socket is not known yet');
    await f.request('kernel_info_request', {}).done;
    const c = mgr.open('t', {});
    await tick();
    let out = f.published('comm_open');
    expect(out).to.have.length(1);
    expect(out[0].content.comm_id).to.equal(c.id);
    // The last cell's request is the parent when no cell can be probed (none yet: empty).
    expect(out[0].parent).to.deep.equal({});
    const r = f.request('execute_request', { code: '' });
    await r.done;
    mgr.open('t', {});
    await tick();
    out = f.published('comm_open');
    expect(out[1].parent).to.deep.equal(r.header);
    // No probe writes where they could not be caught.
    expect(types(f.iopubOut())).to.deep.equal(['comm_open', 'comm_open']);
  });

  it('logs when the probe finds no iopub socket (no cell running)', () => {
    const f = fake();
    process.stdout.write = ((): boolean => true) as typeof process.stdout.write;
    f.mods.kernel.CommManager.get();
    expect(f.logs.join('')).to.contain('iopub socket not found yet');
  });

  it('takes the signing key from the running server (connInfo) once it sees it', async () => {
    const f = fake({ serverKey: 'server-key' });
    const mgr = f.mods.kernel.CommManager.get();
    // Signed with the file's key until then.
    mgr.open('t', {});
    await tick();
    expect(f.published('comm_open')).to.have.length(1);
    // A request signed with the server's key: accepted once the server is attached (before parsing).
    const frames = f.request('comm_info_request', {}, { key: 'server-key' });
    await frames.done;
    expect(mgr.stats.received).to.equal(1);
    const reply = f.shell.sent[0];
    expect(decode('server-key', reply).header.msg_type).to.equal('comm_info_reply');
  });

  it('finds tslab and zeromq only at their own paths', () => {
    const f = fake({ tslab: false, zeromq: false });
    const entry = (file: string, exports: unknown): void => {
      require.cache[file] = { id: file, filename: file, loaded: true, exports } as unknown as NodeModule;
    };
    const base = path.dirname(path.dirname(path.dirname(f.tslabFile)));
    const bad = [path.join(base, 'mytslab', 'dist', 'jupyter.js'), path.join(base, 'tslab', 'dist', 'jupyter.jsx'), path.join(base, 'tslab', 'lib', 'jupyter.js'), path.join(base, 'tslab', 'dist', 'jupyterxjs')];
    for (const file of bad) entry(file, { ZmqServer: f.Server });
    try {
      expect(thrown(() => f.mods.kernel.CommManager.get()).message).to.match(/has not loaded tslab/);
    } finally {
      for (const file of bad) delete require.cache[file];
    }
    entry(f.tslabFile, { ZmqServer: f.Server });
    const zbad = [path.join(base, 'myzeromq', 'lib', 'index.js'), path.join(base, 'zeromq', 'lib', 'index.jsx'), path.join(base, 'zeromq', 'src', 'index.js'), path.join(base, 'zeromq', 'lib', 'indexxjs')];
    for (const file of zbad) entry(file, { Publisher: f.Publisher, Router: f.Router });
    try {
      f.mods.kernel.CommManager.get();
      expect(f.logs.join('')).to.contain('zeromq not found in this process');
      expect(f.Publisher.prototype.send).to.equal(Object.getPrototypeOf(f.Publisher.prototype).send);
    } finally {
      for (const file of zbad) delete require.cache[file];
    }
  });

  it('patches a zeromq module that has only one of the socket classes', () => {
    const f = fake({ zeromq: false });
    require.cache[f.zmqFile] = { id: f.zmqFile, filename: f.zmqFile, loaded: true, exports: { Router: f.Router } } as unknown as NodeModule;
    f.mods.kernel.CommManager.get();
    expect(f.logs.join('')).to.not.contain('zeromq not found');
    expect(f.Router.prototype.send).to.not.equal(Object.getPrototypeOf(f.Router.prototype).send);
    expect(f.Publisher.prototype.send).to.equal(Object.getPrototypeOf(f.Publisher.prototype).send);
  });

  it('the connection file\'s scheme defaults to hmac-sha256; no key there means unsigned', async () => {
    let f = fake({ fileScheme: false });
    let mgr = f.mods.kernel.CommManager.get();
    mgr.open('t', {});
    await tick();
    expect(f.published('comm_open')).to.have.length(1);
    f.dispose();
    f = fake({ fileKey: false, serverScheme: false });
    mgr = f.mods.kernel.CommManager.get();
    mgr.open('t', {});
    await tick();
    expect(f.iopub.sent[0][2].toString()).to.equal('');
    // Once the server is seen: its key, and sha256 when its connInfo names no scheme.
    await f.request('kernel_info_request', {}).done;
    mgr.open('t', {});
    await tick();
    expect(decode(f.key, f.iopub.sent[1]).header.msg_type).to.equal('comm_open');
  });

  it('epochMs is wall-clock milliseconds', () => {
    const t = fake().mods.kernel.epochMs();
    expect(Math.abs(t - Date.now())).to.be.below(50);
  });
});

describe('shell messages through the wrapped tslab server', () => {
  it('answers comm_info_request on the shell socket, all comms or one target\'s, then owes busy/idle until quiet', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const a = mgr.open('alpha', {});
    const b = mgr.open('beta', {});
    const all = f.request('comm_info_request', {});
    await all.done;
    await tick();
    const one = f.request('comm_info_request', { target_name: 'beta' });
    await one.done;
    await tick();
    const replies = f.shellOut();
    expect(types(replies)).to.deep.equal(['comm_info_reply', 'comm_info_reply']);
    expect(replies[0].content).to.deep.equal({ status: 'ok', comms: { [a.id]: { target_name: 'alpha' }, [b.id]: { target_name: 'beta' } } });
    expect(replies[1].content).to.deep.equal({ status: 'ok', comms: { [b.id]: { target_name: 'beta' } } });
    expect(replies[0].parent).to.deep.equal(all.header);
    expect(replies[0].identities.map(String)).to.deep.equal(['front-id']);
    expect(replies[0].header.session).to.equal(all.header.session);
    // Answered requests: their status pairs wait for quiet (see kernel.ts QUIET_MS), in order.
    expect(f.published('status')).to.have.length(0);
    expect(f.server.passed).to.have.length(0);
    await until(() => f.published('status').length === 4, 2000);
    const st = f.published('status');
    expect(states(st)).to.deep.equal(['busy', 'idle', 'busy', 'idle']);
    expect(st.map((m) => m.parent.msg_id)).to.deep.equal([all.header.msg_id, all.header.msg_id, one.header.msg_id, one.header.msg_id]);
    expect(mgr.stats).to.deep.equal({ received: 2, sent: 2 + 2 + 4, ignored: 0 });
  });

  it('the quiet wait restarts with every comm request (none flushed while they keep coming)', async () => {
    const f = fake();
    f.mods.kernel.CommManager.get();
    // Requests closer together than the quiet time, for longer than it: nothing may be flushed in between (a gap
    // that load stretched past the quiet time ends the check, which then proves nothing but fails nothing).
    const t0 = Date.now();
    let last = t0;
    let n = 0;
    let allShort = true;
    while (last - t0 < 3 * QUIET) {
      await f.request('comm_info_request', {}).done;
      n++;
      await sleep(QUIET / 5);
      if (Date.now() - last >= QUIET) allShort = false;
      last = Date.now();
      if (allShort) expect(f.published('status')).to.have.length(0);
    }
    await until(() => f.published('status').length === 2 * n, 2000);
  });

  it('opens a comm for a registered target with the front end\'s data, metadata and buffers', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const seen: { id: string; target: string; data: unknown; meta: unknown; bufs: number[][]; recv?: number; type: string }[] = [];
    mgr.registerTarget('echo', (comm, open) => {
      seen.push({ id: comm.id, target: comm.targetName, data: open.data, meta: open.metadata, bufs: open.buffers.map((x) => [...x]), recv: open.receivedAt, type: open.header.msg_type });
      comm.send({ hi: 1 });
    });
    const before = Date.now();
    const r = f.request('comm_open', { comm_id: 'c-1', target_name: 'echo', data: { x: 1 } }, { metadata: { version: '2.1.0' }, buffers: [Buffer.from([5, 6])] });
    await r.done;
    await tick();
    expect(seen).to.have.length(1);
    expect(seen[0]).to.deep.include({ id: 'c-1', target: 'echo', data: { x: 1 }, meta: { version: '2.1.0' }, bufs: [[5, 6]], type: 'comm_open' });
    expect(seen[0].recv).to.be.within(before - 50, Date.now() + 50);
    expect(mgr.get('c-1')?.id).to.equal('c-1');
    expect(mgr.openComms).to.equal(1);
    const out = f.published('comm_msg');
    expect(out).to.have.length(1);
    // A message sent while handling a request is parented to that request.
    expect(out[0].parent).to.deep.equal(r.header);
    expect(out[0].content).to.deep.equal({ comm_id: 'c-1', data: { hi: 1 } });
  });

  it('data that is not an object arrives as {}', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const got: unknown[] = [];
    mgr.registerTarget('t', (comm, open) => {
      got.push(open.data);
      comm.onMsg((m) => {
        got.push(m.data);
      });
    });
    await f.request('comm_open', { comm_id: 'c', target_name: 't', data: [1, 2] }).done;
    await f.request('comm_msg', { comm_id: 'c', data: null }).done;
    await f.request('comm_msg', { comm_id: 'c', data: 'str' }).done;
    await f.request('comm_msg', { comm_id: 'c' }).done;
    await f.request('comm_msg', { comm_id: 'c', data: { ok: true } }).done;
    expect(got).to.deep.equal([{}, {}, {}, {}, { ok: true }]);
  });

  it('closes a comm_open for an unknown target at once; ignores one without comm_id; both get busy/idle at once', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const r = f.request('comm_open', { comm_id: 'c-9', target_name: 'nobody', data: {} });
    await r.done;
    await tick();
    let out = f.iopubOut();
    // The comm_close answers the request: its status pair waits for quiet.
    expect(types(out)).to.deep.equal(['comm_close']);
    expect(out[0].content).to.deep.equal({ comm_id: 'c-9', data: {} });
    expect(out[0].parent).to.deep.equal(r.header);
    expect(mgr.openComms).to.equal(0);
    expect(f.logs.join('')).to.contain('comm_open for unknown target "nobody": closed');
    const r2 = f.request('comm_open', { target_name: 'nobody' });
    await r2.done;
    await tick();
    out = f.iopubOut().slice(1);
    expect(types(out)).to.deep.equal(['status', 'status']);
    expect(states(out)).to.deep.equal(['busy', 'idle']);
    expect(out.map((m) => m.parent.msg_id)).to.deep.equal([r2.header.msg_id, r2.header.msg_id]);
    // A known target but no comm id: not opened either.
    let called = 0;
    mgr.registerTarget('t', () => called++);
    await f.request('comm_open', { target_name: 't', comm_id: '' }).done;
    expect(called).to.equal(0);
    expect(mgr.openComms).to.equal(0);
  });

  it('delivers comm_msg to the comm\'s handlers in order, each awaited; unknown comm ids are ignored', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const log: string[] = [];
    mgr.registerTarget('t', (comm) => {
      comm.onMsg(async (m) => {
        await sleep(20);
        log.push(`a${String(m.data.n)}`);
      });
      comm.onMsg((m) => {
        log.push(`b${String(m.data.n)}`);
        comm.send({ echo: m.data.n });
      });
    });
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }).done;
    const p = f.request('comm_msg', { comm_id: 'c', data: { n: 1 } }, { buffers: [Buffer.from('x')] }).done;
    expect(log).to.deep.equal([]);
    await p;
    expect(log).to.deep.equal(['a1', 'b1']);
    await tick();
    // Sent while handling the comm_msg: parented to it.
    const echo = f.published('comm_msg');
    expect(echo.map((m) => m.content.data)).to.deep.equal([{ echo: 1 }]);
    expect(echo[0].parent.msg_type).to.equal('comm_msg');
    expect(echo[0].parent.session).to.equal('front-session');
    expect(mgr.stats.received).to.equal(2);
    const before = mgr.stats.ignored;
    await f.request('comm_msg', { comm_id: 'nope', data: {} }).done;
    expect(mgr.stats.ignored).to.equal(before + 1);
    expect(f.logs.join('')).to.contain('comm_msg for unknown comm nope ignored');
  });

  it('a handler that throws is logged; the request still gets its busy/idle', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    mgr.registerTarget('t', (comm) => comm.onMsg(() => {
      throw new Error('boom');
    }));
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }).done;
    await tick();
    const n = f.published('status').length;
    expect(n).to.equal(2);
    await f.request('comm_msg', { comm_id: 'c', data: {} }).done;
    await tick();
    expect(f.logs.join('')).to.match(/comm_msg failed: .*boom/);
    expect(states(f.published('status').slice(n))).to.deep.equal(['busy', 'idle']);
  });

  it('comm_close from the front end runs the close handlers with the message and forgets the comm', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const closed: unknown[] = [];
    mgr.registerTarget('t', (comm) => {
      comm.onClose(() => {
        throw new Error('bad handler');
      });
      comm.onClose((m) => closed.push(m?.data));
    });
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }).done;
    const comm = mgr.get('c')!;
    await f.request('comm_close', { comm_id: 'c', data: { why: 'bye' } }).done;
    expect(closed).to.deep.equal([{ why: 'bye' }]);
    expect(comm.closed).to.equal(true);
    expect(mgr.get('c')).to.equal(undefined);
    expect(mgr.openComms).to.equal(0);
    expect(f.logs.join('')).to.match(/comm c: close handler failed: .*bad handler/);
    // A second close (or one for an unknown id) changes nothing.
    comm.closedBy(undefined);
    await f.request('comm_close', { comm_id: 'c', data: {} }).done;
    expect(closed).to.have.length(1);
    // Sending on a closed comm is refused with the reason.
    const e = thrown(() => comm.send({}));
    expect(e.code).to.equal('RUNTIME');
    expect(e.message).to.contain('comm c (t) is closed');
  });

  it('a kernel-side close tells the front end once, with the data', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const c = mgr.open('t', {});
    let n = 0;
    c.onClose((m) => {
      n++;
      expect(m).to.equal(undefined);
    });
    c.close({ reason: 'done' });
    c.close();
    await tick();
    const out = f.published('comm_close');
    expect(out).to.have.length(1);
    expect(out[0].content).to.deep.equal({ comm_id: c.id, data: { reason: 'done' } });
    expect(n).to.equal(1);
    expect(mgr.openComms).to.equal(0);
    const c2 = mgr.open('t', {});
    c2.close();
    await tick();
    expect(f.published('comm_close')[1].content).to.deep.equal({ comm_id: c2.id, data: {} });
  });

  it('Comm.send: buffers and metadata on the wire, and an explicit parent', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const c = mgr.open('t', {}, { buffers: [new Uint8Array([1, 2])], metadata: { version: 'v' }, targetModule: 'mod' });
    c.send({ d: 1 }, [Buffer.from([3]), new Uint8Array([4, 5]).subarray(1)], { metadata: { m: 2 }, parent: { msg_id: 'P', session: 'S' } });
    c.send({ d: 2 });
    await tick();
    const [open, m1, m2] = f.iopubOut();
    expect(open.content).to.deep.equal({ comm_id: c.id, target_name: 't', data: {}, target_module: 'mod' });
    expect(open.metadata).to.deep.equal({ version: 'v' });
    expect(open.buffers.map((b) => [...b])).to.deep.equal([[1, 2]]);
    expect(m1.content).to.deep.equal({ comm_id: c.id, data: { d: 1 } });
    expect(m1.metadata).to.deep.equal({ m: 2 });
    expect(m1.parent).to.deep.equal({ msg_id: 'P', session: 'S' });
    expect(m1.header.session).to.equal('S');
    expect(m1.buffers.map((b) => [...b])).to.deep.equal([[3], [5]]);
    expect(m2.metadata).to.deep.equal({});
    expect(m2.buffers).to.deep.equal([]);
    expect(m2.parent).to.deep.equal(f.cell);
  });

  it('kernel messages without any parent session use the manager\'s own session', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const c = mgr.open('t', {});
    c.send({}, [], { parent: {} });
    c.send({}, [], { parent: { session: 7 } as never });
    await tick();
    const [, a, b] = f.iopubOut();
    expect(a.header.session).to.match(/^[0-9a-f]{32}$/);
    expect(b.header.session).to.equal(a.header.session);
    expect(a.header.session).to.not.equal(f.cell.session);
  });

  it('ignores a message with a bad signature (logged, nothing sent), and one whose header cannot be read (never reaches tslab)', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    mgr.registerTarget('t', () => {
      throw new Error('must not open');
    });
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }, { key: 'wrong' }).done;
    await tick();
    expect(f.iopub.sent).to.have.length(0);
    expect(mgr.stats).to.deep.include({ received: 0, ignored: 1 });
    expect(f.logs.join('')).to.contain('ignored a comm_open message: bad signature');
    await f.server.handleShellMessage(f.shell, Buffer.from('garbage'));
    expect(f.server.passed).to.have.length(0);
    expect(mgr.stats.ignored).to.equal(2);
    expect(f.logs.join('')).to.contain('ignored a shell message whose header cannot be read');
  });

  it('passes every other request to tslab unchanged; an execute_request becomes the parent and runs the before-execute hooks', async () => {
    const f = fake({ zeromq: false });
    const mgr = f.mods.kernel.CommManager.get();
    const ran: string[] = [];
    mgr.beforeExecute(() => ran.push('a'));
    const removeB = mgr.beforeExecute(() => ran.push('b'));
    mgr.beforeExecute(() => {
      throw new Error('hook broke');
    });
    removeB();
    const ki = f.request('kernel_info_request', {});
    await ki.done;
    expect(f.server.passed).to.deep.equal([ki.frames]);
    expect(ran).to.deep.equal([]);
    const ex = f.request('execute_request', { code: '1' });
    await ex.done;
    expect(f.server.passed).to.deep.equal([ki.frames, ex.frames]);
    expect(ran).to.deep.equal(['a']);
    expect(f.logs.join('')).to.match(/a before-execute hook failed: .*hook broke/);
    const c = mgr.open('t', {});
    await tick();
    expect(f.published('comm_open')[0].parent).to.deep.equal(ex.header);
    expect(c.id).to.match(/^[0-9a-f]{32}$/);
    // A badly signed execute_request still goes to tslab (which refuses it) but does not become the parent.
    const bad = f.request('execute_request', { code: '2' }, { key: 'wrong' });
    await bad.done;
    expect(f.server.passed).to.have.length(3);
    mgr.open('t', {});
    await tick();
    expect(f.published('comm_open')[1].parent).to.deep.equal(ex.header);
  });

  it('before the next cell: deferred widget state first, then the owed statuses, then tslab', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const c = mgr.open('t', {});
    const req = f.request('comm_info_request', {});
    await req.done;
    mgr.whenQuiet(() => c.send({ late: 1 }));
    mgr.whenQuiet(() => {
      throw new Error('late failed');
    });
    let sentAtPass = -1;
    f.server.onPass = () => {
      sentAtPass = mgr.stats.sent;
    };
    await f.request('execute_request', { code: '' }).done;
    await tick();
    const out = f.iopubOut();
    expect(types(out)).to.deep.equal(['comm_open', 'comm_msg', 'status', 'status']);
    expect(out[1].content.data).to.deep.equal({ late: 1 });
    expect(out[2].parent.msg_id).to.equal(req.header.msg_id);
    expect(sentAtPass).to.equal(1 + 1 + 1 + 2); // open, the info reply, the late state, busy + idle
    expect(f.logs.join('')).to.match(/a deferred widget message failed: .*late failed/);
    // Nothing left: no second pair after quiet, nothing again before the next cell.
    await sleep(2 * QUIET);
    await f.request('execute_request', { code: '' }).done;
    await tick();
    expect(f.iopubOut()).to.have.length(4);
  });

  it('whenQuiet runs its hook once the comm traffic is quiet (≈250 ms), once', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    let n = 0;
    const t0 = Date.now();
    let at = 0;
    mgr.whenQuiet(() => {
      n++;
      at = Date.now();
    });
    await sleep(QUIET / 5);
    if (Date.now() - t0 < QUIET - 2) expect(n).to.equal(0);
    await until(() => n === 1, 2000);
    expect(at - t0).to.be.within(QUIET - 2, 1500);
    await sleep(2 * QUIET);
    expect(n).to.equal(1);
  });

  it('quiet waits while a comm request is still being handled', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    mgr.registerTarget('t', (comm) => comm.onMsg(() => gate));
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }).done;
    let n = 0;
    mgr.whenQuiet(() => n++);
    const p = f.request('comm_msg', { comm_id: 'c', data: {} }).done;
    await sleep(3 * QUIET);
    expect(n).to.equal(0);
    release();
    await p;
    await until(() => n === 1, 2000);
  });

  it('a cell request waits for comm requests being handled; a control request does not', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    mgr.registerTarget('t', (comm) => comm.onMsg(() => gate));
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }).done;
    const slow = f.request('comm_msg', { comm_id: 'c', data: {} }).done;
    const ctl = f.request('interrupt_request', {}, { sock: f.control });
    await ctl.done;
    expect(f.server.passed).to.deep.equal([ctl.frames]);
    const tEx = Date.now();
    const ex = f.request('execute_request', { code: '' });
    await sleep(HANDLED_WAIT / 8);
    if (Date.now() - tEx < HANDLED_WAIT - 2) expect(f.server.passed).to.have.length(1);
    release();
    await slow;
    await ex.done;
    expect(f.server.passed).to.deep.equal([ctl.frames, ex.frames]);
  });

  it('a comm handler that never ends holds a cell back at most ≈2 s', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    mgr.registerTarget('t', (comm) => comm.onMsg(() => new Promise<void>(() => undefined)));
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }).done;
    void f.request('comm_msg', { comm_id: 'c', data: {} }).done;
    const t0 = Date.now();
    await f.request('execute_request', { code: '' }).done;
    expect(Date.now() - t0).to.be.within(HANDLED_WAIT - 2, 10 * HANDLED_WAIT);
    expect(f.server.passed).to.have.length(1);
  });

  it('owed statuses go out before a request once they are over 5 s old, even while requests keep coming', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    await f.request('comm_info_request', {}).done;
    const perf = performance as { now: () => number };
    const realNow = perf.now;
    try {
      const shift = realNow.call(performance);
      perf.now = (): number => shift + 4000;
      await f.request('comm_info_request', {}).done;
      expect(f.published('status')).to.have.length(0);
      perf.now = (): number => shift + 5200;
      await f.request('comm_info_request', {}).done;
      await tick();
      // The first two requests' pairs, flushed before the third was answered.
      expect(f.published('status')).to.have.length(4);
      const order = f.iopub.sent.length;
      expect(order).to.equal(4);
      expect(f.shell.sent).to.have.length(3);
    } finally {
      perf.now = realNow;
    }
    mgr.flushQuiet();
    await tick();
    expect(f.published('status')).to.have.length(6);
  });

  it('display: display_data (or update_display_data) with the display id, parented to the cell', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    mgr.display({ 'text/plain': 'hi' }, 'd-1');
    mgr.display({ 'text/plain': 'ho' }, 'd-1', true);
    await tick();
    const [a, b] = f.iopubOut();
    expect(a.header.msg_type).to.equal('display_data');
    expect(a.content).to.deep.equal({ data: { 'text/plain': 'hi' }, metadata: {}, transient: { display_id: 'd-1' } });
    expect(a.parent).to.deep.equal(f.cell);
    expect(b.header.msg_type).to.equal('update_display_data');
    expect(b.content).to.deep.equal({ data: { 'text/plain': 'ho' }, metadata: {}, transient: { display_id: 'd-1' } });
  });

  it('a cell\'s output goes to the running cell, not to the last comm request', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    mgr.registerTarget('t', () => undefined);
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }).done;
    const second = f.cell;
    f.cell = { ...second, msg_id: 'cell-2' };
    mgr.display({}, 'x');
    await tick();
    expect(f.published('display_data')[0].parent.msg_id).to.equal('cell-2');
  });

  it('chains sends on one socket: the next native send starts after the previous one ended; a failed send is logged', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    let open!: () => void;
    f.iopub.gate = new Promise<void>((r) => (open = r));
    const order: number[] = [];
    f.iopub.listeners.push((fr) => order.push(fr.length));
    const c = mgr.open('t', {});
    c.send({}, [Buffer.from('a')]);
    c.send({}, [Buffer.from('a'), Buffer.from('b')]);
    await tick();
    expect(f.iopub.sent).to.have.length(0);
    // One native send under way (waiting on the gate), the other two queued behind it.
    expect(f.iopub.started).to.equal(1);
    f.iopub.gate = undefined;
    open();
    await until(() => f.iopub.sent.length === 3);
    expect(order).to.deep.equal([7, 8, 9]);
    f.iopub.fail = true;
    c.send({});
    await sleep(20);
    await until(() => f.logs.length >= 2);
    expect(f.logs.some((l) => /^\[ganvas comm\] send failed: .*socket busy/.test(l))).to.equal(true);
    expect(f.logs.some((l) => /^\[ganvas comm\] iopub send failed: .*socket busy/.test(l))).to.equal(true);
    f.iopub.fail = false;
    c.send({ after: 1 });
    await until(() => f.iopub.sent.length === 4);
  });

  it('a failed reply on the shell socket is logged', async () => {
    const f = fake();
    f.mods.kernel.CommManager.get();
    f.shell.fail = true;
    await f.request('comm_info_request', {}).done;
    await until(() => f.logs.some((l) => l.includes('shell send failed: ')));
    expect(f.logs.join('')).to.match(/shell send failed: .*socket busy/);
  });

  it('keeps the iopub socket it found when a server object has none; keeps the file\'s key when the server has no connInfo', async () => {
    const f = fake({ connInfo: false });
    const mgr = f.mods.kernel.CommManager.get();
    delete f.server.iopub;
    await f.request('comm_info_request', {}).done;
    expect(mgr.stats.received).to.equal(1);
    mgr.open('t', {});
    await tick();
    expect(f.published('comm_open')).to.have.length(1);
  });

  it('a cell waits until every comm request being handled has ended', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const gates: (() => void)[] = [];
    mgr.registerTarget('t', (comm) => comm.onMsg(() => new Promise<void>((r) => gates.push(r))));
    await f.request('comm_open', { comm_id: 'c', target_name: 't' }).done;
    const one = f.request('comm_msg', { comm_id: 'c', data: {} }).done;
    const two = f.request('comm_msg', { comm_id: 'c', data: {} }).done;
    await until(() => gates.length === 2);
    const t0 = Date.now();
    const ex = f.request('execute_request', { code: '' });
    gates[0]();
    await one;
    await sleep(HANDLED_WAIT / 8);
    if (Date.now() - t0 < HANDLED_WAIT - 2) expect(f.server.passed).to.have.length(0);
    gates[1]();
    await two;
    await ex.done;
    expect(f.server.passed).to.deep.equal([ex.frames]);
  });

  it('patches each zeromq socket class and the tslab server once, even when installed again by another copy of the module', async () => {
    const f = fake();
    f.mods.kernel.CommManager.get();
    const send = f.Publisher.prototype.send;
    const handle = f.Server.prototype.handleShellMessage;
    expect(send).to.not.equal(Object.getPrototypeOf(f.Publisher.prototype).send);
    expect(f.Router.prototype.send).to.not.equal(Object.getPrototypeOf(f.Router.prototype).send);
    // A second copy of the module (another require of a different ganvas path in the same kernel) installs again.
    const again = freshModules().kernel.CommManager.get();
    expect(f.Publisher.prototype.send).to.equal(send);
    expect(f.Server.prototype.handleShellMessage).to.equal(handle);
    // The first manager still answers; the second sees no shell traffic.
    await f.request('comm_info_request', {}).done;
    expect(again.stats.received).to.equal(0);
    await tick();
    expect(f.shell.sent).to.have.length(1);
  });
});

/** The package's major.minor, as the widget models' module version range (ipywidgets semver range). */
const pkgVersion = String((JSON.parse(readFileSync(path.join(distDir, '..', 'package.json'), 'utf8')) as { version: string }).version);
const range = `^${pkgVersion.split('.')[0]}.${pkgVersion.split('.')[1]}.0`;

describe('Jupyter widgets over comms (ipywidgets protocol 2.1)', () => {
  it('the version range is "*" when the package.json cannot be read', () => {
    const f = fake();
    void f;
    const fsMod = require('fs') as { readFileSync: (...a: unknown[]) => unknown };
    const real = fsMod.readFileSync;
    fsMod.readFileSync = (...a: unknown[]): unknown => {
      if (String(a[0]).endsWith('package.json')) throw new Error('ENOENT');
      return real(...a);
    };
    try {
      expect(freshModules().widget.MODULE_VERSION).to.equal('*');
    } finally {
      fsMod.readFileSync = real;
    }
  });

  it('module name and version range', () => {
    const w = fake().mods.widget;
    expect(w.WIDGET_PROTOCOL).to.equal('2.1.0');
    expect(w.MODULE_NAME).to.equal('ganvas/nbextension/index');
    expect(w.MODULE_VERSION).to.equal(range);
  });

  it('a new model opens a "jupyter.widget" comm with its full state; binary values as buffers with their paths', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w = new f.mods.widget.CommWidget(mgr, 'PaintModel', 'PaintView', { size: 64, _dom_classes: ['x'] }, { image: Buffer.from([1, 2, 3]), mask: Buffer.from([4]) });
    await tick();
    const [open] = f.iopubOut();
    expect(open.header.msg_type).to.equal('comm_open');
    expect(open.content.target_name).to.equal('jupyter.widget');
    expect(open.content.comm_id).to.equal(w.id);
    expect(w.id).to.equal(w.comm.id);
    expect(open.metadata).to.deep.equal({ version: '2.1.0' });
    expect(open.content.data).to.deep.equal({
      state: {
        _model_name: 'PaintModel', _model_module: 'ganvas/nbextension/index', _model_module_version: range,
        _view_name: 'PaintView', _view_module: 'ganvas/nbextension/index', _view_module_version: range,
        _view_count: null, _dom_classes: ['x'], size: 64, image: null, mask: null,
      },
      buffer_paths: [['image'], ['mask']],
    });
    expect(open.buffers.map((b) => [...b])).to.deep.equal([[1, 2, 3], [4]]);
  });

  it('a model without a view has null view fields', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w = new f.mods.widget.CommWidget(mgr, 'ProbeModel', '', {});
    expect(w.wireState()).to.deep.equal({
      state: { _model_name: 'ProbeModel', _model_module: 'ganvas/nbextension/index', _model_module_version: range, _view_name: null, _view_module: null, _view_module_version: '', _view_count: null, _dom_classes: [] },
      paths: [],
      buffers: [],
    });
  });

  it('answers request_state with the full state as an update, parented to the request', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w = new f.mods.widget.CommWidget(mgr, 'M', 'V', { a: 1 }, { img: Buffer.from([9]) });
    const r = f.request('comm_msg', { comm_id: w.id, data: { method: 'request_state' } });
    await r.done;
    await tick();
    const [m] = f.published('comm_msg');
    expect(m.parent).to.deep.equal(r.header);
    const data = m.content.data as { method: string; state: Record<string, unknown>; buffer_paths: unknown };
    expect(data.method).to.equal('update');
    expect(data.state).to.include({ _model_name: 'M', _view_name: 'V', a: 1, img: null });
    expect(data.buffer_paths).to.deep.equal([['img']]);
    expect(m.buffers.map((b) => [...b])).to.deep.equal([[9]]);
  });

  it('takes the front end\'s update: JSON values into state, buffers by their paths into binary', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w = new f.mods.widget.CommWidget(mgr, 'M', 'V', { a: 1, b: 2 });
    await f.request('comm_msg', { comm_id: w.id, data: { method: 'update', state: { a: 5, pic: null, deep: null, other: null }, buffer_paths: [['pic'], ['deep', 'x'], [3], ['other']] } }, { buffers: [Buffer.from([7]), Buffer.from([8]), Buffer.from([9])] }).done;
    expect(w.state).to.deep.equal({ a: 5, b: 2, deep: null, other: null });
    expect(Object.keys(w.binary)).to.deep.equal(['pic']);
    expect([...w.binary.pic]).to.deep.equal([7]);
    // Malformed updates change nothing.
    for (const state of [null, [1], 'x']) await f.request('comm_msg', { comm_id: w.id, data: { method: 'update', state } }).done;
    await f.request('comm_msg', { comm_id: w.id, data: { method: 'update', state: { c: 1 }, buffer_paths: 'pic' } }, { buffers: [Buffer.from([1])] }).done;
    expect(w.state).to.deep.equal({ a: 5, b: 2, deep: null, other: null, c: 1 });
    expect([...w.binary.pic]).to.deep.equal([7]);
    // Nothing is sent back for an update (the kernel's status pair only).
    await tick();
    expect(f.published('comm_msg')).to.have.length(0);
  });

  it('custom messages reach the handlers with their buffers; non-object content is dropped', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w = new f.mods.widget.CommWidget(mgr, 'M', 'V', {});
    const got: unknown[] = [];
    w.onCustom(async (content, buffers, msg) => {
      await sleep(5);
      got.push(['1', content, buffers.map((b) => [...b]), msg.header.msg_type]);
    });
    w.onCustom((content) => {
      got.push(['2', content]);
    });
    await f.request('comm_msg', { comm_id: w.id, data: { method: 'custom', content: { type: 'x' } } }, { buffers: [Buffer.from([1])] }).done;
    for (const content of [null, [1], 3]) await f.request('comm_msg', { comm_id: w.id, data: { method: 'custom', content } }).done;
    await f.request('comm_msg', { comm_id: w.id, data: { method: 'other', content: { type: 'y' } } }).done;
    expect(got).to.deep.equal([['1', { type: 'x' }, [[1]], 'comm_msg'], ['2', { type: 'x' }]]);
  });

  it('onRequest answers {id, ok: true, ...reply} with the reply\'s buffers, or {id, ok: false, error}', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w = new f.mods.widget.CommWidget(mgr, 'M', 'V', {});
    w.onRequest('paint', async (content, buffers) => ({ reply: { n: (content.n as number) * 2, len: buffers.length }, buffers: [Buffer.from([42])] }));
    w.onRequest('fail', async () => {
      throw new Error('nope');
    });
    w.onRequest('bare', async () => ({}));
    const r1 = f.request('comm_msg', { comm_id: w.id, data: { method: 'custom', content: { type: 'paint', id: 7, n: 3 } } }, { buffers: [Buffer.from([1]), Buffer.from([2])] });
    await r1.done;
    await f.request('comm_msg', { comm_id: w.id, data: { method: 'custom', content: { type: 'fail', id: 'q' } } }).done;
    await f.request('comm_msg', { comm_id: w.id, data: { method: 'custom', content: { type: 'bare' } } }).done;
    await f.request('comm_msg', { comm_id: w.id, data: { method: 'custom', content: { type: 'unknown', id: 1 } } }).done;
    await tick();
    const out = f.published('comm_msg');
    expect(out.map((m) => m.content.data)).to.deep.equal([
      { method: 'custom', content: { n: 6, len: 2, id: 7, ok: true } },
      { method: 'custom', content: { id: 'q', ok: false, error: 'nope' } },
      { method: 'custom', content: { id: null, ok: true } },
    ]);
    expect(out[0].buffers.map((b) => [...b])).to.deep.equal([[42]]);
    expect(out[1].buffers).to.deep.equal([]);
    expect(out[2].buffers).to.deep.equal([]);
    expect(out[0].parent).to.deep.equal(r1.header);
  });

  it('update() changes the kernel\'s state and sends only the change; sendCustom without a parent goes to the cell', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w = new f.mods.widget.CommWidget(mgr, 'M', 'V', { a: 1, b: 1 });
    w.update({ a: 2 }, { img: Buffer.from([3]) });
    w.update({ b: 3 });
    w.sendCustom({ type: 'hello' });
    await tick();
    expect(w.state).to.deep.equal({ a: 2, b: 3 });
    expect([...w.binary.img]).to.deep.equal([3]);
    const out = f.published('comm_msg');
    expect(out.map((m) => m.content.data)).to.deep.equal([
      { method: 'update', state: { a: 2, img: null }, buffer_paths: [['img']] },
      { method: 'update', state: { b: 3 }, buffer_paths: [] },
      { method: 'custom', content: { type: 'hello' } },
    ]);
    expect(out[0].buffers.map((b) => [...b])).to.deep.equal([[3]]);
    expect(out.map((m) => m.parent.msg_id)).to.deep.equal([f.cell.msg_id, f.cell.msg_id, f.cell.msg_id]);
    // With a request as parent.
    const r = f.request('comm_msg', { comm_id: w.id, data: { method: 'custom', content: { type: 'ping' } } });
    w.onCustom((_c, _b, msg) => w.update({ a: 9 }, {}, msg));
    await r.done;
    const r2 = f.request('comm_msg', { comm_id: w.id, data: { method: 'custom', content: { type: 'ping' } } });
    await r2.done;
    await tick();
    expect(f.published('comm_msg')[3].parent).to.deep.equal(r2.header);
  });

  it('display: the widget-view bundle with the fallback HTML, under a fresh display id', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w = new f.mods.widget.CommWidget(mgr, 'PlotModel', 'PlotView', {});
    w.display('<b>fallback</b>');
    w.display('<b>fallback</b>');
    await tick();
    const [a, b] = f.published('display_data');
    expect(a.content.data).to.deep.equal({
      'application/vnd.jupyter.widget-view+json': { model_id: w.id, version_major: 2, version_minor: 1 },
      'text/html': '<b>fallback</b>',
      'text/plain': `ganvas PlotModel (Jupyter widget ${w.id.slice(0, 8)})`,
    });
    const id = (a.content.transient as { display_id: string }).display_id;
    expect(id).to.match(/^ganvas-PlotModel-[0-9a-f]{16}$/);
    expect((b.content.transient as { display_id: string }).display_id).to.not.equal(id);
    expect(a.parent).to.deep.equal(f.cell);
  });

  it('close: comm_close to the front end and the close handlers; closed from the front end the same', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w1 = new f.mods.widget.CommWidget(mgr, 'M', 'V', {});
    const w2 = new f.mods.widget.CommWidget(mgr, 'M', 'V', {});
    const closed: string[] = [];
    w1.onClose(() => closed.push('w1'));
    w2.onClose(() => closed.push('w2'));
    w1.close();
    await f.request('comm_close', { comm_id: w2.id, data: {} }).done;
    await tick();
    expect(closed).to.deep.equal(['w1', 'w2']);
    expect(f.published('comm_close').map((m) => m.content.comm_id)).to.deep.equal([w1.id]);
    expect(mgr.openComms).to.equal(0);
  });

  it('request_states on "jupyter.widget.control" lists every live model with its buffers (paths [model id, key])', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const w1 = new f.mods.widget.CommWidget(mgr, 'A', 'AV', { x: 1 }, { img: Buffer.from([1]), msk: Buffer.from([2]) });
    const w2 = new f.mods.widget.CommWidget(mgr, 'B', '', { y: 2 });
    const w3 = new f.mods.widget.CommWidget(mgr, 'C', '', {}, { p: Buffer.from([3]) });
    w3.close();
    // A second widget on the same manager does not register the control target twice (one answer per request).
    await f.request('comm_open', { comm_id: 'ctl', target_name: 'jupyter.widget.control', data: {} }).done;
    await f.request('comm_msg', { comm_id: 'ctl', data: { method: 'other' } }).done;
    await tick();
    expect(f.published('comm_msg')).to.have.length(0);
    const r = f.request('comm_msg', { comm_id: 'ctl', data: { method: 'request_states' } });
    await r.done;
    await tick();
    const out = f.published('comm_msg');
    expect(out).to.have.length(1);
    const data = out[0].content.data as { method: string; states: Record<string, { model_name: string; model_module: string; model_module_version: string; state: Record<string, unknown> }>; buffer_paths: unknown };
    expect(data.method).to.equal('update_states');
    expect(Object.keys(data.states)).to.deep.equal([w1.id, w2.id]);
    expect(data.states[w1.id]).to.deep.include({ model_name: 'A', model_module: 'ganvas/nbextension/index', model_module_version: range });
    expect(data.states[w1.id].state).to.deep.include({ _model_name: 'A', x: 1, img: null, msk: null });
    expect(data.states[w2.id].state).to.deep.include({ _model_name: 'B', y: 2 });
    expect(data.buffer_paths).to.deep.equal([[w1.id, 'img'], [w1.id, 'msk']]);
    expect(out[0].buffers.map((b) => [...b])).to.deep.equal([[1], [2]]);
    expect(out[0].parent).to.deep.equal(r.header);
  });

  it('a control comm with no live models answers empty', async () => {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    new f.mods.widget.CommWidget(mgr, 'A', '', {}).close();
    await f.request('comm_open', { comm_id: 'ctl', target_name: 'jupyter.widget.control', data: {} }).done;
    await f.request('comm_msg', { comm_id: 'ctl', data: { method: 'request_states' } }).done;
    await tick();
    const out = f.published('comm_msg');
    expect(out.map((m) => m.content.data)).to.deep.equal([{ method: 'update_states', states: {}, buffer_paths: [] }]);
  });
});

/** A front end with the ganvas extension: answers a ProbeModel's comm_open with a custom "hello". */
function frontEnd(f: FakeKernel, answer: 'hello' | 'close' | 'other' | 'silent'): { probes: string[] } {
  const probes: string[] = [];
  f.iopub.listeners.push((frames) => {
    const m = decode(f.key, frames);
    if (m.header.msg_type !== 'comm_open') return;
    const st = (m.content.data as { state: { _model_name: string } }).state;
    if (st._model_name !== 'ProbeModel') return;
    const id = String(m.content.comm_id);
    probes.push(id);
    setImmediate(() => {
      if (answer === 'hello') void f.request('comm_msg', { comm_id: id, data: { method: 'custom', content: { type: 'hello', frontend: 'lab' } } });
      else if (answer === 'other') void f.request('comm_msg', { comm_id: id, data: { method: 'custom', content: { type: 'bye' } } });
      else if (answer === 'close') void f.request('comm_close', { comm_id: id, data: {} });
    });
  });
  return { probes };
}

describe('frontendHasGanvas (the extension probe)', () => {
  /** A fake kernel whose front end answers the probe with `answer`; the first probe's result and its wall time. */
  async function probed(answer: 'hello' | 'other' | 'close' | 'silent', timeoutMs?: number) {
    const f = fake();
    const mgr = f.mods.kernel.CommManager.get();
    const fe = frontEnd(f, answer);
    const t0 = Date.now();
    const yes = await f.mods.widget.frontendHasGanvas(mgr, timeoutMs);
    return { f, mgr, fe, yes, ms: Date.now() - t0 };
  }
  // "At once": with a 60 s timeout (12 s under the fake kernel's 5× faster timers), an answer that waited for the
  // timeout would take 12 s; 2 s is far below that and far above the fake kernel's own latency.
  const LONG = 60_000;

  it('yes when the front end answers hello; the probe model is closed and the yes kept', async () => {
    const { f, mgr, fe, yes, ms } = await probed('hello', LONG);
    expect(yes).to.equal(true);
    expect(ms).to.be.below(2000);
    await tick();
    expect(fe.probes).to.have.length(1);
    expect(f.published('comm_close').map((m) => m.content.comm_id)).to.deep.equal(fe.probes);
    expect(await f.mods.widget.frontendHasGanvas(mgr, LONG)).to.equal(true);
    expect(fe.probes).to.have.length(1);
    f.mods.widget.frontendHasGanvasReset();
    expect(await f.mods.widget.frontendHasGanvas(mgr, LONG)).to.equal(true);
    expect(fe.probes).to.have.length(2);
  });

  it('no, at once, when the front end closes the comm (no widget manager); no comm_close sent back', async () => {
    const { f, fe, yes, ms } = await probed('close', LONG);
    expect(yes).to.equal(false);
    expect(ms).to.be.below(2000);
    await tick();
    expect(fe.probes).to.have.length(1);
    expect(f.published('comm_close')).to.have.length(0);
  });

  it('no after the timeout when the front end stays silent (or says something else); the no is kept for a minute', async () => {
    const { f, mgr, fe, yes, ms } = await probed('other', 150);
    expect(yes).to.equal(false);
    expect(ms).to.be.within(150 / WARP - 2, 2000);
    await tick();
    expect(f.published('comm_close').map((m) => m.content.comm_id)).to.deep.equal(fe.probes);
    expect(await f.mods.widget.frontendHasGanvas(mgr, 150)).to.equal(false);
    expect(fe.probes).to.have.length(1);
    // A minute later it asks again.
    const realNow = Date.now;
    try {
      Date.now = (): number => realNow() + 61_000;
      expect(await f.mods.widget.frontendHasGanvas(mgr, 50)).to.equal(false);
      expect(fe.probes).to.have.length(2);
      Date.now = (): number => realNow() + 61_000 + 59_000;
      expect(await f.mods.widget.frontendHasGanvas(mgr, 50)).to.equal(false);
      expect(fe.probes).to.have.length(2);
    } finally {
      Date.now = realNow;
    }
  });

  it('the default timeout is 2 s', async () => {
    const { yes, ms } = await probed('silent');
    expect(yes).to.equal(false);
    expect(ms).to.be.within(2000 / WARP - 2, 2000);
  });
});

describe('chooseTransport', () => {
  it('takes the explicit choice, else GANVAS_WIDGET_TRANSPORT, else auto; refuses anything else, naming it', async () => {
    const f = fake({ tslab: false });
    const { chooseTransport } = f.mods.transport;
    expect(await chooseTransport('websocket')).to.equal('websocket');
    process.env.GANVAS_WIDGET_TRANSPORT = 'websocket';
    expect(await chooseTransport(undefined)).to.equal('websocket');
    process.env.GANVAS_WIDGET_TRANSPORT = 'sockets';
    let e = await rejected(chooseTransport(undefined));
    expect(e.code).to.equal('BAD_INPUT');
    expect(e.message).to.equal('GANVAS_WIDGET_TRANSPORT="sockets" is not a widget transport; use "auto", "comm" or "websocket"');
    e = await rejected(chooseTransport('zmq' as never));
    expect(e.code).to.equal('BAD_INPUT');
    expect(e.message).to.equal('transport "zmq" is not a widget transport; use "auto", "comm" or "websocket"');
    // Empty variable: auto (here: no tslab, so the bridge).
    process.env.GANVAS_WIDGET_TRANSPORT = '';
    expect(await chooseTransport(undefined)).to.equal('websocket');
    delete process.env.GANVAS_WIDGET_TRANSPORT;
    expect(await chooseTransport(undefined)).to.equal('websocket');
    expect(await chooseTransport('auto')).to.equal('websocket');
    // comm where comms cannot work: the reason, not a silent fallback.
    e = await rejected(chooseTransport('comm'));
    expect(e.code).to.equal('UNSUPPORTED');
    process.env.GANVAS_WIDGET_TRANSPORT = 'comm';
    expect((await rejected(chooseTransport(undefined))).code).to.equal('UNSUPPORTED');
    // The explicit choice wins over the variable.
    expect(await chooseTransport('websocket')).to.equal('websocket');
  });

  it('auto takes the bridge while the kernel cannot publish yet (comms installed outside a cell), and asks again once it can', async () => {
    const f = fake({ zeromq: false });
    expect(await f.mods.transport.chooseTransport('auto')).to.equal('websocket');
    expect(f.iopub.sent).to.have.length(0);
    // The next request shows the server (and its iopub socket); the answer "no" was not kept.
    await f.request('kernel_info_request', {}).done;
    frontEnd(f, 'hello');
    expect(await f.mods.transport.chooseTransport('auto')).to.equal('comm');
  });

  it('comm in a tslab kernel; auto asks the front end (hello: comm, silent or closed: websocket)', async () => {
    let f = fake();
    expect(await f.mods.transport.chooseTransport('comm')).to.equal('comm');
    frontEnd(f, 'hello');
    expect(await f.mods.transport.chooseTransport('auto')).to.equal('comm');
    process.env.GANVAS_WIDGET_TRANSPORT = 'websocket';
    expect(await f.mods.transport.chooseTransport('auto')).to.equal('comm');
    f.dispose();
    f = fake();
    frontEnd(f, 'close');
    expect(await f.mods.transport.chooseTransport(undefined)).to.equal('websocket');
    expect(f.published('comm_open')).to.have.length(1);
  });
});

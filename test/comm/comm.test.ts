/**
 * The comm layer (src/comm) against a real tslab kernel process, driven over ZeroMQ like a front end does.
 */
import { expect } from 'chai';
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CommManager, GanvasError } from 'ganvas';
import { KernelClient } from './client';
import { WireMessage } from '../../src/comm/wire';

const SETUP = `
import { CommManager } from 'ganvas';
const mgr = CommManager.get();
const g = globalThis as any;
g.closedComms = [];
g.opened = [];
mgr.registerTarget('echo', (comm, open) => {
  g.opened.push(comm);
  comm.send({ opened: open.data, nbuf: open.buffers.length });
  comm.onMsg((m) => comm.send({ echo: m.data, sizes: m.buffers.map((b) => b.length) }, m.buffers.map((b) => Buffer.from(b).reverse())));
  comm.onClose((m) => { g.closedComms.push(comm.id); });
});
`;

function stdout(out: WireMessage[]): string {
  return out.filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stdout').map((m) => String(m.content.text)).join('');
}

describe('comm layer on a real tslab kernel', function () {
  this.timeout(300_000);
  let k: KernelClient;

  before(async () => {
    k = await KernelClient.start();
    await k.execute(SETUP);
  });
  after(async () => {
    if (k) await k.close();
  });
  afterEach(() => {
    expect(k.bad, 'messages from the kernel with bad signatures or frames').to.deep.equal([]);
  });

  it('answers comm_info_request with a comm_info_reply (tslab replies "complete_reply", empty)', async () => {
    const r = await k.request('comm_info_request', { target_name: 'echo' });
    expect(r.header.msg_type).to.equal('comm_info_reply');
    expect(r.content).to.deep.equal({ status: 'ok', comms: {} });
  });

  it('sends comm_open and comm_msg during a cell, in order, signed, parented to the cell, with buffers, before the cell goes idle', async () => {
    const { out, reply } = await k.execute(`
for (let i = 0; i < 3; i++) {
  const c = mgr.open('probe', { i: i }, { buffers: [Buffer.from([i, 1, 2, 3])] });
  for (let j = 0; j < 5; j++) c.send({ i: i, j: j }, [Buffer.alloc(1000 * (j + 1), i + j)]);
}
`);
    const types = out.map((m) => m.header.msg_type);
    expect(types[0]).to.equal('status');
    expect(types[types.length - 1]).to.equal('status');
    const comm = out.filter((m) => m.header.msg_type.startsWith('comm_'));
    expect(comm.map((m) => m.header.msg_type)).to.deep.equal(Array.from({ length: 3 }, () => ['comm_open', ...Array(5).fill('comm_msg')]).flat());
    for (const m of comm) expect(m.parent.msg_id).to.equal(reply.parent.msg_id);
    const opens = comm.filter((m) => m.header.msg_type === 'comm_open');
    expect(opens.map((m) => m.content.target_name)).to.deep.equal(['probe', 'probe', 'probe']);
    expect(opens.map((m) => [...m.buffers[0]])).to.deep.equal([[0, 1, 2, 3], [1, 1, 2, 3], [2, 1, 2, 3]]);
    const msgs = comm.filter((m) => m.header.msg_type === 'comm_msg');
    msgs.forEach((m, n) => {
      const i = Math.floor(n / 5);
      const j = n % 5;
      expect(m.content.comm_id).to.equal(opens[i].content.comm_id);
      expect(m.content.data).to.deep.equal({ i, j });
      expect(m.buffers).to.have.length(1);
      expect(m.buffers[0].length).to.equal(1000 * (j + 1));
      expect(m.buffers[0].every((b) => b === i + j)).to.equal(true);
    });
    // No probe text leaked into the cell's output.
    expect(out.filter((m) => m.header.msg_type === 'stream')).to.deep.equal([]);
  });

  it('opens a comm from the front end, exchanges binary buffers both ways, keeps order, busy/idle per message after its answer', async () => {
    const commId = randomBytes(8).toString('hex');
    const from = k.iopub.length;
    const open = await k.send('comm_open', { comm_id: commId, target_name: 'echo', data: { hello: 1 } }, [Buffer.from('abc')]);
    const first = await k.waitIopub((m) => m.parent.msg_id === open.msg_id && m.header.msg_type === 'comm_msg', from);
    expect(first.content.data).to.deep.equal({ opened: { hello: 1 }, nbuf: 1 });
    const sent: { id: string; bufs: Buffer[] }[] = [];
    for (let i = 0; i < 20; i++) {
      const bufs = [randomBytes(17 + i), randomBytes(4096)];
      const h = await k.send('comm_msg', { comm_id: commId, data: { n: i } }, bufs);
      sent.push({ id: h.msg_id, bufs });
    }
    await k.waitIopub((m) => m.parent.msg_id === sent[19].id && m.header.msg_type === 'status' && m.content.execution_state === 'idle', from);
    const replies = k.iopub.slice(from).filter((m) => m.header.msg_type === 'comm_msg' && (m.content.data as { echo?: unknown }).echo !== undefined);
    expect(replies.map((m) => (m.content.data as { echo: { n: number } }).echo.n)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    replies.forEach((m, i) => {
      expect(m.parent.msg_id).to.equal(sent[i].id);
      expect(m.content.data).to.deep.include({ sizes: [17 + i, 4096] });
      expect(m.buffers.map((b) => b.toString('hex'))).to.deep.equal(sent[i].bufs.map((b) => Buffer.from(b).reverse().toString('hex')));
    });
    // busy/idle of an answered request come after its answer (src/comm/kernel.ts, QUIET_MS: the answer must be the
    // only message between the front end's request and its next one).
    const seq = k.iopub.slice(from);
    for (const s of sent) {
      const st = seq.filter((m) => m.parent.msg_id === s.id && m.header.msg_type === 'status').map((m) => m.content.execution_state);
      expect(st).to.deep.equal(['busy', 'idle']);
      const answer = seq.findIndex((m) => m.parent.msg_id === s.id && m.header.msg_type === 'comm_msg');
      const busy = seq.findIndex((m) => m.parent.msg_id === s.id && m.header.msg_type === 'status');
      expect(answer).to.be.within(0, busy - 1);
    }
    const info = await k.request('comm_info_request', { target_name: 'echo' });
    expect(Object.keys(info.content.comms as object)).to.deep.equal([commId]);
  });

  it('publishes busy/idle at once, in order, for a comm message it does not answer; owed statuses go out before a cell\'s', async () => {
    await k.execute(`mgr.registerTarget('sink', (comm) => comm.onMsg(() => undefined));`);
    const sink = randomBytes(8).toString('hex');
    const echo = randomBytes(8).toString('hex');
    const open = await k.send('comm_open', { comm_id: sink, target_name: 'sink', data: {} });
    await k.waitIopub((m) => m.parent.msg_id === open.msg_id && m.content.execution_state === 'idle');
    const openEcho = await k.send('comm_open', { comm_id: echo, target_name: 'echo', data: {} });
    await k.waitIopub((m) => m.parent.msg_id === openEcho.msg_id && m.header.msg_type === 'comm_msg');
    let from = k.iopub.length;
    const quiet = await k.send('comm_msg', { comm_id: sink, data: { x: 1 } });
    await k.waitIopub((m) => m.parent.msg_id === quiet.msg_id && m.content.execution_state === 'idle', from);
    expect(k.iopub.slice(from).filter((m) => m.parent.msg_id === quiet.msg_id).map((m) => `${m.header.msg_type}:${String(m.content.execution_state)}`)).to.deep.equal(['status:busy', 'status:idle']);
    // An answered request, then at once a cell: the request's busy/idle come before the cell's busy.
    from = k.iopub.length;
    const asked = await k.send('comm_msg', { comm_id: echo, data: { n: 1 } });
    const { reply } = await k.execute('console.log(1)');
    const seq = k.iopub.slice(from);
    const idle = seq.findIndex((m) => m.parent.msg_id === asked.msg_id && m.content.execution_state === 'idle');
    const cellBusy = seq.findIndex((m) => m.parent.msg_id === reply.parent.msg_id && m.header.msg_type === 'status');
    expect(idle).to.be.within(0, cellBusy - 1);
  });

  it('keeps many comms apart and lists them by target', async () => {
    await k.execute(`g.many = []; for (let i = 0; i < 60; i++) g.many.push(mgr.open('many', { i: i }));`);
    const info = await k.request('comm_info_request', { target_name: 'many' });
    const many = Object.keys(info.content.comms as object);
    expect(many).to.have.length(60);
    const all = await k.request('comm_info_request', {});
    expect(Object.keys(all.content.comms as object)).to.include.members(many);
    // A message to each of 60 front-end-opened echo comms is answered on its own comm.
    const ids = Array.from({ length: 60 }, () => randomBytes(8).toString('hex'));
    const from = k.iopub.length;
    for (const id of ids) await k.send('comm_open', { comm_id: id, target_name: 'echo', data: {} });
    for (const [i, id] of ids.entries()) await k.send('comm_msg', { comm_id: id, data: { i } });
    const echoes = (): WireMessage[] => k.iopub.slice(from).filter((m) => (m.content.data as { echo?: unknown } | undefined)?.echo !== undefined);
    await k.waitIopub(() => echoes().length >= 60, from).catch((e: Error) => {
      throw new Error(`${echoes().length} echoes of 60: ${e.message.slice(0, 300)}; ${JSON.stringify(k.iopub.slice(from).filter((m) => m.header.msg_type === 'comm_msg').slice(0, 3).map((m) => m.content))}`);
    });
    expect(echoes()).to.have.length(60);
    for (const m of echoes()) {
      expect(ids[(m.content.data as { echo: { i: number } }).echo.i]).to.equal(m.content.comm_id);
    }
  });

  it('handles a comm closed by the front end: close handler runs, comm unlisted, kernel-side send refused', async () => {
    const id = randomBytes(8).toString('hex');
    const from = k.iopub.length;
    const open = await k.send('comm_open', { comm_id: id, target_name: 'echo', data: {} });
    await k.waitIopub((m) => m.parent.msg_id === open.msg_id && m.header.msg_type === 'comm_msg', from);
    const close = await k.send('comm_close', { comm_id: id, data: {} });
    await k.waitIopub((m) => m.parent.msg_id === close.msg_id && m.content.execution_state === 'idle', from);
    const { out } = await k.execute(`
const c = g.opened.find((c) => c.id === ${JSON.stringify(id)});
let err = '';
try { c.send({ late: true }); } catch (e) { err = e.name + ': ' + e.message; }
console.log(JSON.stringify({ closed: g.closedComms.includes(${JSON.stringify(id)}), isClosed: c.closed, err: err }));
`);
    const r = JSON.parse(stdout(out)) as { closed: boolean; isClosed: boolean; err: string };
    expect(r.closed).to.equal(true);
    expect(r.isClosed).to.equal(true);
    expect(r.err).to.match(/^GanvasError: comm .* is closed/);
    const info = await k.request('comm_info_request', { target_name: 'echo' });
    expect(Object.keys(info.content.comms as object)).to.not.include(id);
  });

  it('closes a comm_open for an unknown target (as ipykernel does)', async () => {
    const id = randomBytes(8).toString('hex');
    const from = k.iopub.length;
    await k.send('comm_open', { comm_id: id, target_name: 'nobody', data: {} });
    const m = await k.waitIopub((m) => m.header.msg_type === 'comm_close' && m.content.comm_id === id, from);
    expect(m.content.comm_id).to.equal(id);
  });

  it('ignores malformed messages with a log line, and the kernel keeps running', async () => {
    const id = randomBytes(8).toString('hex');
    const open = await k.send('comm_open', { comm_id: id, target_name: 'echo', data: {} });
    await k.waitIopub((m) => m.parent.msg_id === open.msg_id && m.header.msg_type === 'comm_msg');
    const logFrom = k.stderr.join('').length;
    const from = k.iopub.length;
    // 1. bad signature
    const bad = k.frames('comm_msg', { comm_id: id, data: { evil: 1 } });
    const at = bad.frames.findIndex((b) => b.toString() === '<IDS|MSG>');
    bad.frames[at + 1] = Buffer.from('0'.repeat(64));
    await k.sendRaw(bad.frames);
    // 2. content frame not JSON (signed correctly over the broken bytes)
    const { createHmac } = await import('crypto');
    const good = k.frames('comm_msg', { comm_id: id, data: {} });
    const frames = good.frames.slice();
    frames[at + 5] = Buffer.from('{not json');
    const h = createHmac('sha256', k.key);
    for (const f of frames.slice(at + 2, at + 6)) h.update(f);
    frames[at + 1] = Buffer.from(h.digest('hex'));
    await k.sendRaw(frames);
    // 3. comm_msg to a comm nobody opened; 4. no delimiter; 5. header not JSON
    await k.send('comm_msg', { comm_id: 'no-such-comm', data: {} });
    await k.sendRaw([Buffer.from('garbage'), Buffer.from('more')]);
    await k.sendRaw([Buffer.from('<IDS|MSG>'), Buffer.from(''), Buffer.from('{{'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')]);
    const { out } = await k.execute('console.log(6 * 7)');
    expect(stdout(out).trim()).to.equal('42');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (k.stderr.join('').slice(logFrom).match(/\[ganvas comm\]/g) ?? []).length < 5) await new Promise((r) => setTimeout(r, 100));
    const log = k.stderr.join('').slice(logFrom);
    expect(log).to.match(/ignored a comm_msg message: bad signature/);
    expect(log).to.match(/ignored a comm_msg message: frame content is not JSON/);
    expect(log).to.match(/comm_msg for unknown comm no-such-comm ignored/);
    expect((log.match(/ignored a shell message whose header cannot be read/g) ?? []).length).to.equal(2);
    // Nothing of the bad messages reached the echo handler.
    expect(k.iopub.slice(from).filter((m) => m.header.msg_type === 'comm_msg')).to.deep.equal([]);
    expect(k.proc.exitCode).to.equal(null);
  });
});

describe('comm layer outside a known tslab kernel', () => {
  it('refuses in a plain Node process, saying why and what happens instead', () => {
    expect(() => CommManager.get()).to.throw(GanvasError, /need the tslab kernel.*WebSocket bridge/);
  });

  it('refuses a tslab version it does not know, naming it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fake-tslab-'));
    const file = path.join(dir, 'tslab', 'dist', 'jupyter.js');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(path.join(dir, 'tslab', 'package.json'), JSON.stringify({ name: 'tslab', version: '2.3.0' }));
    await fs.writeFile(file, 'class ZmqServer { handleShellMessage() {} }\nexports.ZmqServer = ZmqServer;\n');
    require(file);
    try {
      expect(() => CommManager.get()).to.throw(GanvasError, /tslab 2\.3\.0 .*Install tslab@1\.0/);
    } finally {
      delete require.cache[file];
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

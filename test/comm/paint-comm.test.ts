/**
 * The paint canvas as a Jupyter widget over comms, in a real tslab kernel driven over ZeroMQ the way the
 * ganvas-widgets front end drives it: display bundle, comm_open state, paint request with a PNG mask buffer,
 * reply with a PNG image buffer, state update (mask, image, seed), request_state, and the control comm's
 * request_states.
 */
import { expect } from 'chai';
import { randomBytes } from 'crypto';
import sharp from 'sharp';
import { KernelClient, useKernel } from './client';
import { PAINT_SETUP } from '../e2e/lab';


describe('paint widget over Jupyter comms (real tslab kernel)', function () {
  this.timeout(600_000);
  const kernel = useKernel();
  let k: KernelClient;
  beforeEach(() => {
    k = kernel();
  });

  it('opens a PaintModel, paints a PNG mask sent as a buffer, answers with a PNG buffer, keeps state for reload', async () => {
    const { out, reply } = await k.execute(`
${PAINT_SETUP}
const canvas = (await g.PaintWidget.create(cut, lib, { seed: 3, transport: 'comm' })).show();
console.log(canvas.transport);
`);
    const text = out.filter((m) => m.header.msg_type === 'stream').map((m) => String(m.content.text)).join('');
    expect(text.trim()).to.equal('comm');
    const open = out.find((m) => m.header.msg_type === 'comm_open' && m.content.target_name === 'jupyter.widget');
    expect(open, 'comm_open on jupyter.widget').to.not.equal(undefined);
    expect(open!.metadata).to.deep.equal({ version: '2.1.0' });
    const data = open!.content.data as { state: Record<string, unknown>; buffer_paths: string[][] };
    expect(data.state).to.include({ _model_name: 'PaintModel', _model_module: 'ganvas/nbextension/index', _view_name: 'PaintView', _model_module_version: '^0.1.0', seed: 3, keep: '#00ff00' });
    expect(data.buffer_paths).to.deep.equal([['image']]);
    // The selected vectors, as the notebook saves them: each brush with where its vector came from.
    const brushes = data.state.brushes as { name: string; color: string; provenance: { model: string; layer: string; seed: number; y: number; x: number } | null }[];
    expect(brushes.map((b) => [b.name, b.color])).to.deep.equal([['A', '#ff0000'], ['B', '#0000ff']]);
    for (const b of brushes) expect(b.provenance).to.include({ model: 'fmnist-stylegan', layer: 'b8.conv1' });
    expect(data.state.layer).to.equal('b8.conv1');
    expect(open!.buffers[0].subarray(1, 4).toString()).to.equal('PNG');
    const shown = out.find((m) => m.header.msg_type === 'display_data');
    const bundle = shown!.content.data as Record<string, unknown>;
    expect(bundle['application/vnd.jupyter.widget-view+json']).to.deep.equal({ model_id: open!.content.comm_id, version_major: 2, version_minor: 1 });
    expect(String(bundle['text/html'])).to.match(/<img[^>]+data:image\/png;base64/);
    expect((shown!.content.transient as { display_id: string }).display_id).to.match(/^ganvas-paint-/);
    expect(shown!.parent.msg_id).to.equal(reply.parent.msg_id);

    // Paint: left half brush A (red), right half keep (green).
    const size = Number(data.state.canvasSize);
    const rgb = Buffer.alloc(size * size * 3);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) rgb[3 * (y * size + x) + (x < size / 2 ? 0 : 1)] = 255;
    const maskPng = await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
    const commId = String(open!.content.comm_id);
    const from = k.iopub.length;
    const req = await k.send('comm_msg', { comm_id: commId, data: { method: 'custom', content: { type: 'paint', id: 7, seed: 5 } } }, [maskPng]);
    const answer = await k.waitIopub((m) => m.parent.msg_id === req.msg_id && (m.content.data as { method?: string })?.method === 'custom', from);
    expect((answer.content.data as { content: Record<string, unknown> }).content).to.include({ id: 7, ok: true });
    expect(answer.buffers).to.have.length(1);
    const img = await sharp(answer.buffers[0]).metadata();
    expect(img.format).to.equal('png');
    const upd = await k.waitIopub((m) => m.parent.msg_id === req.msg_id && (m.content.data as { method?: string })?.method === 'update', from);
    const u = upd.content.data as { state: Record<string, unknown>; buffer_paths: string[][] };
    expect(u.state).to.include({ seed: 5, paints: 1 });
    expect(u.buffer_paths).to.deep.equal([['mask'], ['image']]);
    expect(upd.buffers[0].equals(maskPng)).to.equal(true);
    expect(upd.buffers[1].equals(answer.buffers[0])).to.equal(true);

    // The kernel sees the painted mask.
    const seen = await k.execute('console.log(JSON.stringify(canvas.paintedPixels()), canvas.seed)');
    const line = seen.out.filter((m) => m.header.msg_type === 'stream').map((m) => String(m.content.text)).join('').trim();
    expect(line).to.equal(`${JSON.stringify({ A: (size * size) / 2 })} 5`);

    // A bad request (no buffer) is answered with an error, not a crash.
    const bad = await k.send('comm_msg', { comm_id: commId, data: { method: 'custom', content: { type: 'paint', id: 8 } } });
    const err = await k.waitIopub((m) => m.parent.msg_id === bad.msg_id && (m.content.data as { method?: string })?.method === 'custom', from);
    expect((err.content.data as { content: Record<string, unknown> }).content).to.deep.include({ id: 8, ok: false, error: 'a paint request carries the mask as one PNG buffer; got 0 buffers' });

    // request_state: the full state again, with the last mask and image as buffers.
    const rs = await k.send('comm_msg', { comm_id: commId, data: { method: 'request_state' } });
    const full = await k.waitIopub((m) => m.parent.msg_id === rs.msg_id && (m.content.data as { method?: string })?.method === 'update', from);
    expect((full.content.data as { state: Record<string, unknown> }).state).to.include({ _model_name: 'PaintModel', seed: 5, paints: 1 });
    expect((full.content.data as { buffer_paths: string[][] }).buffer_paths).to.deep.equal([['image'], ['mask']]);

    // A reloaded page asks the control comm for every model at once.
    const ctl = randomBytes(8).toString('hex');
    await k.send('comm_open', { comm_id: ctl, target_name: 'jupyter.widget.control', data: {} });
    const q = await k.send('comm_msg', { comm_id: ctl, data: { method: 'request_states' } });
    const states = await k.waitIopub((m) => m.parent.msg_id === q.msg_id && m.header.msg_type === 'comm_msg', from);
    const sd = states.content.data as { method: string; states: Record<string, { model_name: string; state: Record<string, unknown> }>; buffer_paths: string[][] };
    expect(sd.method).to.equal('update_states');
    expect(sd.states[commId].model_name).to.equal('PaintModel');
    expect(sd.buffer_paths).to.deep.equal([[commId, 'image'], [commId, 'mask']]);
    expect(states.buffers).to.have.length(2);

    // snapshot(): the output's HTML fallback is refreshed with the painting (update_display_data, same display id).
    const snap = await k.execute('await canvas.snapshot()');
    const refreshed = snap.out.find((m) => m.header.msg_type === 'update_display_data')!;
    expect(String((refreshed.content.data as Record<string, unknown>)['text/html'])).to.include(String(answer.buffers[0].toString('base64')).slice(0, 200));
    expect((refreshed.content.transient as { display_id: string }).display_id).to.equal((shown!.content.transient as { display_id: string }).display_id);
    expect(refreshed.content.data as object).to.have.property('application/vnd.jupyter.widget-view+json');
  });

  it('auto transport: probes the front end for the extension; silent front end → WebSocket bridge, answering one → comms', async () => {
    const t0 = Date.now();
    const silent = await k.execute(`const a = await g.PaintWidget.create(cut, lib, { seed: 1 }); console.log(a.transport)`);
    expect(silent.out.filter((m) => m.header.msg_type === 'stream').map((m) => String(m.content.text)).join('').trim()).to.equal('websocket');
    expect(Date.now() - t0).to.be.below(20_000);
    const probe = silent.out.find((m) => m.header.msg_type === 'comm_open' && (m.content.data as { state: { _model_name: string } }).state._model_name === 'ProbeModel');
    expect(probe, 'a ProbeModel was opened').to.not.equal(undefined);
    expect(silent.out.some((m) => m.header.msg_type === 'comm_close' && m.content.comm_id === probe!.content.comm_id)).to.equal(true);
    // A front end with the extension answers the probe's hello (as widgets/src/jupyter.ts ProbeModel does).
    const from = k.iopub.length;
    const run = k.execute(`g.frontendHasGanvasReset?.(); const b = await g.PaintWidget.create(cut, lib, { seed: 1 }); console.log(b.transport)`);
    const open = await k.waitIopub((m) => m.header.msg_type === 'comm_open' && (m.content.data as { state: { _model_name: string } }).state._model_name === 'ProbeModel', from);
    await k.send('comm_msg', { comm_id: String(open.content.comm_id), data: { method: 'custom', content: { type: 'hello', version: '0.1.0' } } });
    const { out } = await run;
    expect(out.filter((m) => m.header.msg_type === 'stream').map((m) => String(m.content.text)).join('').trim()).to.equal('comm');
    // Classic Notebook 6's front end says so in its hello; auto takes comms there too (its start-up re-render is handled
    // by the classic extension, widgets/src/nbloader.ts).
    const from2 = k.iopub.length;
    const run2 = k.execute(`g.frontendHasGanvasReset?.(); const c = await g.PaintWidget.create(cut, lib, { seed: 1 }); console.log(c.transport)`);
    const open2 = await k.waitIopub((m) => m.header.msg_type === 'comm_open' && (m.content.data as { state: { _model_name: string } }).state._model_name === 'ProbeModel', from2);
    await k.send('comm_msg', { comm_id: String(open2.content.comm_id), data: { method: 'custom', content: { type: 'hello', version: '0.1.0', frontend: 'classic' } } });
    const r2 = await run2;
    expect(r2.out.filter((m) => m.header.msg_type === 'stream').map((m) => String(m.content.text)).join('').trim()).to.equal('comm');
  });
});

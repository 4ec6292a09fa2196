/**
 * The tileability gallery as a Jupyter widget over comms, in a real tslab kernel driven over ZeroMQ the way the
 * ganvas-widgets front end drives it: the GalleryModel's state (the cards, saved with the notebook), the display
 * bundle with its static fallback, a grid-size row asked for by index and answered as one PNG buffer, a bad index
 * answered with an error.
 */
import { expect } from 'chai';
import sharp from 'sharp';
import { KernelClient, useKernel } from './client';

describe('gallery widget over Jupyter comms (real tslab kernel)', function () {
  this.timeout(600_000);
  const kernel = useKernel();
  let k: KernelClient;
  beforeEach(() => {
    k = kernel();
  });

  it('opens a GalleryModel with the cards, answers a grid-size row request with a PNG buffer, refuses a bad index', async () => {
    const { out } = await k.execute(`
import * as g from 'ganvas';
const rt = new g.Runtime();
const gen = await g.Generator.open(g.demoModelDir('fmnist-stylegan'), rt);
const cut = await gen.cut('b8.conv1');
const fx = await g.FeatureExtractor.open(g.demoModelDir('fmnist-resnet'), 'layer1', rt);
const ranked = g.rank(await g.scan(cut, fx, { count: 6, seed: 4 }));
await g.showGallery(cut, [await g.gallery(cut, ranked.slice(0, 2)), await g.gallery(cut, ranked.slice(-1))], { titles: ['top', 'bottom'], transport: 'comm' });
`);
    const open = out.find((m) => m.header.msg_type === 'comm_open' && (m.content.data as { state: { _model_name?: string } }).state._model_name === 'GalleryModel');
    expect(open, 'comm_open of a GalleryModel').to.not.equal(undefined);
    const state = (open!.content.data as { state: { _view_name: string; sections: { title: string; items: { index: number; score: number; grid: string; full: string; provenance: object }[] }[] } }).state;
    expect(state._view_name).to.equal('GalleryView');
    expect(state.sections.map((s) => s.title)).to.deep.equal(['top', 'bottom']);
    expect(state.sections.map((s) => s.items.map((i) => i.index))).to.deep.equal([[0, 1], [2]]);
    for (const it of state.sections.flatMap((s) => s.items)) {
      expect(it.grid).to.match(/^data:image\/png;base64,/);
      expect(it.full).to.match(/^data:image\/png;base64,/);
      expect(Number.isFinite(it.score)).to.equal(true);
    }
    const shown = out.find((m) => m.header.msg_type === 'display_data')!;
    const bundle = shown.content.data as Record<string, unknown>;
    expect(bundle['application/vnd.jupyter.widget-view+json']).to.deep.include({ model_id: open!.content.comm_id });
    expect(String(bundle['text/html'])).to.match(/data-ganvas-kind="gallery"[\s\S]*<img alt="top" src="data:image\/png;base64,/);

    const commId = String(open!.content.comm_id);
    const from = k.iopub.length;
    const req = await k.send('comm_msg', { comm_id: commId, data: { method: 'custom', content: { type: 'sweep', id: 3, index: 2 } } });
    const answer = await k.waitIopub((m) => m.parent.msg_id === req.msg_id && m.header.msg_type === 'comm_msg', from);
    expect((answer.content.data as { content: object }).content).to.deep.equal({ id: 3, ok: true });
    expect(answer.buffers).to.have.length(1);
    const meta = await sharp(answer.buffers[0]).metadata();
    expect(meta.format).to.equal('png');
    // Six renders (g = 1…5 and full) side by side: much wider than tall.
    expect(meta.width! / meta.height!).to.be.greaterThan(3);

    const bad = await k.send('comm_msg', { comm_id: commId, data: { method: 'custom', content: { type: 'sweep', id: 4, index: 99 } } });
    const err = await k.waitIopub((m) => m.parent.msg_id === bad.msg_id && m.header.msg_type === 'comm_msg', from);
    expect((err.content.data as { content: object }).content).to.deep.equal({ id: 4, ok: false, error: 'no gallery item 99 (items 0…2)' });
    expect(err.buffers).to.have.length(0);
  });

  it('queued cells (Run All): each cell\'s widget output and comm_open go to that cell, also after a widget\'s comm message', async () => {
    // A comm message first (the kernel's last request is then that message), then two cells sent at once (the
    // second arrives while the first runs). Each display_data and kernel-side comm_open must have its own cell's
    // execute_request as parent; front ends route output by parent, so a wrong one puts the widget in another cell
    // (measured before the fix in the browser tests: cells 4 and 5's gallery and plot inside cell 2's output).
    const from = k.iopub.length;
    const open = k.iopub.find((m) => m.header.msg_type === 'comm_open' && (m.content.data as { state: { _model_name?: string } }).state._model_name === 'GalleryModel')!;
    const req = await k.send('comm_msg', { comm_id: String(open.content.comm_id), data: { method: 'custom', content: { type: 'sweep', id: 9, index: 0 } } });
    await k.waitIopub((m) => m.parent.msg_id === req.msg_id && m.header.msg_type === 'comm_msg', from);
    const run = (code: string) => k.request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
    const [a, b] = await Promise.all([
      run(`await g.showGallery(cut, [await g.gallery(cut, ranked.slice(0, 1))], { titles: ['one'], transport: 'comm' });`),
      run(`await g.showSweepPlot([{ grid: 1, mean: 0.5, std: 0.1 }, { grid: 2, mean: 0.7, std: 0.05 }], { title: 'queued', transport: 'comm' });`),
    ]);
    expect(a.content.status).to.equal('ok');
    expect(b.content.status).to.equal('ok');
    for (const [reply, model] of [[a, 'GalleryModel'], [b, 'PlotModel']] as const) {
      const id = reply.parent.msg_id;
      await k.waitIopub((m) => m.parent.msg_id === id && m.header.msg_type === 'status' && m.content.execution_state === 'idle', from);
      const opened = k.iopub.slice(from).find((m) => m.header.msg_type === 'comm_open' && (m.content.data as { state: { _model_name?: string } }).state._model_name === model);
      expect(opened, `comm_open of the ${model}`).to.not.equal(undefined);
      expect(opened!.parent.msg_id, `the ${model}'s comm_open parent`).to.equal(id);
      const shown = k.iopub.slice(from).find((m) => m.header.msg_type === 'display_data' && (m.content.data as Record<string, { model_id?: string }>)['application/vnd.jupyter.widget-view+json']?.model_id === opened!.content.comm_id);
      expect(shown, `the ${model}'s display_data`).to.not.equal(undefined);
      expect(shown!.parent.msg_id, `the ${model}'s display_data parent`).to.equal(id);
    }
  });
});

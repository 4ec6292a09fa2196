/**
 * The widgets over Jupyter comms (paint.ts, plot.ts, gallery.ts), in this process (issue 19): a tslab kernel faked
 * in-process (test/fakeTslab.ts) takes the front end's messages through the comm layer's own shell wrapper, and
 * every message the kernel publishes is read back from its iopub. The same exchanges as test/comm/*.test.ts (real
 * kernels, minutes) in milliseconds; answers are checked against the library calls they stand for (Painter.paint,
 * gridSweep, plotly.js's file).
 */
import { expect } from 'chai';
import { readFileSync } from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import {
  CommManager,
  Cut,
  FeatureExtractor,
  Gallery,
  Generator,
  GridCurveSeries,
  PaintWidget,
  Painter,
  Runtime,
  VectorLibrary,
  WidgetHost,
  contactSheet,
  frontendHasGanvasReset,
  gallery,
  gridCurveSvg,
  gridSweep,
  plotCommWidget,
  rank,
  sampleVectors,
  scan,
  showGallery,
  showGridCurvePlot,
  showSweepPlot,
  sweepSvg,
  toPng,
  vectorsFromProvenance,
} from 'ganvas';
import { FakeTslab } from './fakeTslab';
import { tinyClassifier, tinyGenerator } from './models';
import { WireMessage } from '../src/comm/wire';

const rt = new Runtime({ threads: 1 });
const svgUrl = (svg: string) => `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;

type State = Record<string, unknown>;
const stateOf = (open: WireMessage) => (open.content.data as { state: State }).state;
const idOf = (open: WireMessage) => String(open.content.comm_id);

describe('widget parts over Jupyter comms (a tslab kernel faked in this process)', function () {
  this.timeout(120_000);
  const host = new WidgetHost();
  let fake: FakeTslab;
  let mgr: CommManager;
  let cut: Cut;
  let lib: VectorLibrary;
  let provenance: object;

  before(async () => {
    fake = FakeTslab.load();
    mgr = await fake.comms();
    const gen = await Generator.open(await tinyGenerator(), rt);
    cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 2, seed: 1 });
    lib = VectorLibrary.for(cut);
    lib.add('A', '#ff0000', vectors[0].vector, vectors[0].provenance);
    lib.add('B', '#0000ff', vectors[1].vector);
    provenance = { ...vectors[0].provenance! };
  });
  after(async () => {
    fake.detach();
    frontendHasGanvasReset();
    await host.close();
  });

  /** 64×64: left half A (red), right half keep (green). */
  const maskPng = () => {
    const rgb = Buffer.alloc(64 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) rgb[3 * (64 * y + x) + (x < 32 ? 0 : 1)] = 255;
    return sharp(rgb, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
  };

  /** comm_msg "update"s of one comm published from `from` on. */
  const updates = (commId: string, from: number) =>
    fake.iopub.slice(from).filter((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === commId && (m.content.data as State).method === 'update');

  it('paint: opens a PaintModel with the canvas state (brushes with provenance) and the start image as a buffer; show() displays it', async () => {
    const from = fake.iopub.length;
    const w = await PaintWidget.create(cut, lib, { host, seed: 3, transport: 'comm' });
    expect(w.transport).to.equal('comm');
    const [open] = fake.models(from);
    expect(open.metadata).to.deep.equal({ version: '2.1.0' });
    const state = stateOf(open);
    expect(state).to.deep.include({ _model_name: 'PaintModel', _view_name: 'PaintView', canvasSize: 64, displaySize: 256, keep: '#00ff00', seed: 3, layer: 'b8.conv1', paints: 0, kernel_ms: 0, image: null });
    expect(state.brushes).to.deep.equal([{ name: 'A', color: '#ff0000', provenance }, { name: 'B', color: '#0000ff', provenance: null }]);
    expect((open.content.data as State).buffer_paths).to.deep.equal([['image']]);
    expect(open.buffers[0].equals(await toPng(await cut.generator.generate([3]), 0, { range: [-1, 1] }))).to.equal(true);
    expect(fake.iopub.slice(from).filter((m) => m.header.msg_type === 'display_data'), 'nothing shown before show()').to.deep.equal([]);
    const sized = await PaintWidget.create(cut, lib, { host, canvasSize: 16, displaySize: 99, transport: 'comm' });
    expect(stateOf(fake.models(from)[1])).to.deep.include({ canvasSize: 16, displaySize: 99, seed: 0 });
    sized.jupyter!.close();
    const shownFrom = fake.iopub.length;
    expect(w.show()).to.equal(w);
    const shown = fake.iopub.slice(shownFrom).filter((m) => m.header.msg_type === 'display_data');
    expect(shown).to.have.length(1);
    const bundle = shown[0].content.data as State;
    expect(bundle['application/vnd.jupyter.widget-view+json']).to.deep.equal({ model_id: idOf(open), version_major: 2, version_minor: 1 });
    expect(bundle['text/html']).to.equal(w.html());
    expect((shown[0].content.transient as State).display_id).to.match(/^ganvas-paint-[0-9a-f]{16}$/);
    expect(fake.take(), 'not through tslab\'s display').to.deep.equal([]);
    w.jupyter!.close();
  });

  it('paint: a stroke (mask buffer + seed) is answered with the painted PNG; the model state follows once quiet, the latest only', async () => {
    const w = await PaintWidget.create(cut, lib, { host, seed: 3, transport: 'comm' });
    const id = w.jupyter!.id;
    const mask = await maskPng();
    const from = fake.iopub.length;
    const r = await fake.request(id, { type: 'paint', id: 7, seed: 5 }, [mask]);
    expect(r.content).to.deep.include({ id: 7, ok: true, ms: w.lastPaintMs });
    expect(Number(r.content.t_out)).to.be.at.least(Number(r.content.t_in));
    expect(Number(r.content.t_in)).to.be.closeTo(Date.now(), 60_000);
    const direct = await new Painter(cut, lib).paint(await sharp(mask).raw().toBuffer({ resolveWithObject: true }).then(({ data, info }) => ({ data, width: info.width, height: info.height })), { seed: 5 });
    expect(r.buffers).to.have.length(1);
    expect(r.buffers[0].equals(await toPng(direct.image, 0, { range: [-1, 1] }))).to.equal(true);
    expect([w.seed, w.paints]).to.deep.equal([5, 1]);
    expect(updates(id, from), 'no state while strokes may follow').to.deep.equal([]);
    // Nothing goes wrong on the way (the comm layer logs a hook that throws).
    const logs: string[] = [];
    const log = mgr.log;
    mgr.log = (line: string) => void logs.push(line);
    // A second stroke without a seed: the widget's seed; then quiet: one update with the latest state.
    const r2 = await fake.request(id, { type: 'paint', id: 8 }, [mask]);
    expect(r2.content).to.deep.include({ id: 8, ok: true });
    expect(w.paints).to.equal(2);
    mgr.flushQuiet();
    const ups = updates(id, from);
    expect(ups).to.have.length(1);
    const data = ups[0].content.data as State;
    expect(data.state).to.deep.equal({ seed: 5, paints: 2, kernel_ms: w.lastPaintMs, mask: null, image: null });
    expect(data.buffer_paths).to.deep.equal([['mask'], ['image']]);
    expect(ups[0].buffers[0].equals(mask)).to.equal(true);
    expect(ups[0].buffers[1].equals(r2.buffers[0])).to.equal(true);
    expect(ups[0].parent.msg_id, 'sent as part of the last stroke').to.equal(r2.parent.msg_id);
    expect(w.jupyter!.state).to.deep.include({ seed: 5, paints: 2 });
    mgr.flushQuiet();
    expect(updates(id, from), 'sent once').to.have.length(1);
    // Before a cell runs, a pending state goes out first.
    const before = fake.iopub.length;
    await fake.request(id, { type: 'paint', id: 9, seed: 6 }, [mask]);
    await fake.shell('execute_request', { code: '1', silent: false });
    expect(fake.passed.at(-1)).to.equal('execute_request');
    const pre = updates(id, before);
    expect(pre).to.have.length(1);
    expect((pre[0].content.data as { state: State }).state).to.deep.include({ seed: 6, paints: 3 });
    // A cell with no stroke pending sends nothing.
    const idle = fake.iopub.length;
    await fake.shell('execute_request', { code: '3', silent: false });
    mgr.flushQuiet();
    expect(updates(id, idle)).to.deep.equal([]);
    mgr.log = log;
    expect(logs).to.deep.equal([]);
    w.jupyter!.close();
  });

  it('paint: a request without exactly one buffer, or a mask that is no image, gets an error reply; nothing changes', async () => {
    const w = await PaintWidget.create(cut, lib, { host, seed: 2, transport: 'comm' });
    const id = w.jupyter!.id;
    const mask = await maskPng();
    for (const bufs of [[], [mask, mask]]) {
      const r = await fake.request(id, { type: 'paint', id: 1, seed: 4 }, bufs);
      expect(r.content).to.deep.equal({ id: 1, ok: false, error: `a paint request carries the mask as one PNG buffer; got ${bufs.length} buffers` });
    }
    const bad = await fake.request(id, { type: 'paint', id: 2 }, [Buffer.from('not a png')]);
    expect(bad.content.ok).to.equal(false);
    expect(String(bad.content.error)).to.match(/mask/);
    expect([w.seed, w.paints]).to.deep.equal([2, 0]);
    // A request of another type is left to other handlers (none here): no reply.
    const from = fake.iopub.length;
    await fake.shell('comm_msg', { comm_id: id, data: { method: 'custom', content: { type: 'erase', id: 3 } } });
    expect(fake.iopub.slice(from).filter((m) => m.header.msg_type === 'comm_msg')).to.deep.equal([]);
    w.jupyter!.close();
  });

  it('paint: closed by the front end, a pending state is dropped and no longer sent before cells; its hook is removed', async () => {
    const hooks = () => (mgr as unknown as { beforeExecuteHooks: Set<unknown> }).beforeExecuteHooks.size;
    const n = hooks();
    const w = await PaintWidget.create(cut, lib, { host, seed: 1, transport: 'comm' });
    expect(hooks()).to.equal(n + 1);
    const id = w.jupyter!.id;
    await fake.request(id, { type: 'paint', id: 1 }, [await maskPng()]);
    const from = fake.iopub.length;
    await fake.shell('comm_close', { comm_id: id, data: {} });
    expect(w.jupyter!.comm.closed).to.equal(true);
    await fake.shell('execute_request', { code: '2', silent: false });
    mgr.flushQuiet();
    expect(updates(id, from)).to.deep.equal([]);
    expect(fake.iopub.slice(from).filter((m) => m.content.comm_id === id)).to.deep.equal([]);
    expect(hooks(), 'no hook left behind').to.equal(n);
  });

  it('paint: snapshot() refreshes the shown output\'s HTML in place (update_display_data), only once shown and while open', async () => {
    const w = await PaintWidget.create(cut, lib, { host, seed: 3, transport: 'comm' });
    const id = w.jupyter!.id;
    await fake.request(id, { type: 'paint', id: 1 }, [await maskPng()]);
    let from = fake.iopub.length;
    await w.snapshot();
    expect(fake.iopub.slice(from).filter((m) => m.header.msg_type.endsWith('display_data')), 'not shown yet').to.deep.equal([]);
    w.show();
    const shown = fake.iopub.at(-1)!;
    from = fake.iopub.length;
    await w.snapshot();
    const up = fake.iopub.slice(from).filter((m) => m.header.msg_type === 'update_display_data');
    expect(up).to.have.length(1);
    expect((up[0].content.transient as State).display_id).to.equal((shown.content.transient as State).display_id);
    const html = String((up[0].content.data as State)['text/html']);
    expect(html).to.equal(w.html());
    expect(html).to.include(`data:image/png;base64,${(await toPng(w.image!, 0, { range: [-1, 1] })).toString('base64')}`);
    w.jupyter!.close();
    from = fake.iopub.length;
    await w.snapshot();
    expect(fake.iopub.slice(from)).to.deep.equal([]);
  });

  it('plot: the sweep plot as a PlotModel (config and SVG snapshot in its state), its HTML fallback shown; plotly.js on request', async () => {
    const points = [{ grid: 1, mean: 0.5, std: 0.1 }, { grid: 3, mean: 0.75, std: 0 }];
    const from = fake.iopub.length;
    await showSweepPlot(points, { transport: 'comm', host });
    const [open] = fake.models(from);
    const svg = sweepSvg(points);
    expect(stateOf(open)).to.deep.include({ _model_name: 'PlotModel', _view_name: 'PlotView', snapshot: svgUrl(svg) });
    expect(stateOf(open).config).to.deep.equal({ title: 'tileability vs grid size', x: ['1', '3'], mean: [0.5, 0.75], std: [0.1, 0] });
    const shown = fake.iopub.slice(from).filter((m) => m.header.msg_type === 'display_data');
    expect(shown).to.have.length(1);
    const html = String((shown[0].content.data as State)['text/html']);
    expect(html).to.match(/^<div class="ganvas-widget" data-ganvas-kind="plot"><img class="ganvas-snapshot" alt="tileability vs grid size" src="data:image\/svg\+xml;base64,/);
    expect(html).to.include(svgUrl(svg)).and.include('Static snapshot: the live plot needs the ganvas-widgets Jupyter extension');
    const plotly = readFileSync(require.resolve('plotly.js-dist'));
    for (const n of [1, 2]) {
      const r = await fake.request(idOf(open), { type: 'plotly', id: n });
      expect(r.content).to.deep.equal({ id: n, ok: true });
      expect(r.buffers).to.have.length(1);
      expect(r.buffers[0].equals(plotly), `request ${n}`).to.equal(true);
    }
    // plotly.js unreadable: an error reply that says so; the next request reads it again. On a fresh copy of
    // plot.js, whose plotly.js is not read yet (this process's copy keeps it once read).
    const file = path.join(path.dirname(require.resolve('ganvas')), 'widgets', 'plot.js');
    const cached = require.cache[file];
    delete require.cache[file];
    let fresh: { plotCommWidget: typeof plotCommWidget };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      fresh = require(file) as typeof fresh;
    } finally {
      require.cache[file] = cached;
    }
    const again = fresh.plotCommWidget({ title: 'x' }, svg);
    const { promises } = await import('fs');
    const readFile = promises.readFile;
    promises.readFile = (async () => {
      throw new Error('EIO: i/o error');
    }) as unknown as typeof readFile;
    try {
      const r = await fake.request(again.id, { type: 'plotly', id: 0 });
      expect(r.content).to.deep.equal({ id: 0, ok: false, error: 'cannot read plotly.js in the kernel: EIO: i/o error' });
    } finally {
      promises.readFile = readFile;
    }
    const retry = await fake.request(again.id, { type: 'plotly', id: 1 });
    expect(retry.content).to.deep.equal({ id: 1, ok: true });
    expect(retry.buffers[0].equals(plotly)).to.equal(true);
    again.close();
    const titled = fake.iopub.length;
    await showSweepPlot(points, { transport: 'comm', title: 'mine' });
    expect((stateOf(fake.models(titled)[0]).config as State).title).to.equal('mine');
    // A config without a title: the fallback's alt text says "plot".
    const bare = fake.iopub.length;
    plotCommWidget({ x: [] }, '<svg width="5"></svg>').close();
    const fallback = String((fake.iopub.slice(bare).find((m) => m.header.msg_type === 'display_data')!.content.data as State)['text/html']);
    expect(fallback).to.include('alt="plot"').and.include('width="5"');
  });

  it('plot: Fig. 9 as a PlotModel; with `forward`, a second PlotModel for the forward score, titled', async () => {
    const series: GridCurveSeries[] = [{ name: 's', points: [{ grid: 2, mean: 0.5, std: 0.1, imageStd: 0.2, runs: [0.4, 0.6], images: 3 }, { grid: 0, mean: 0.9, std: 0, imageStd: 0, runs: [0.9], images: 3 }] }];
    let from = fake.iopub.length;
    await showGridCurvePlot(series, { transport: 'comm' });
    let models = fake.models(from);
    expect(models).to.have.length(1);
    expect(stateOf(models[0]).snapshot).to.equal(svgUrl(gridCurveSvg(series)));
    const cfg = stateOf(models[0]).config as { title: string; yTitle: string; series: { x: string[] }[] };
    expect([cfg.title, cfg.yTitle, cfg.series[0].x]).to.deep.equal(['inversion cosine vs grid size (paper 000, Fig. 9)', 'cos(mean F_Y(G_X(a)), y)', ['0', '2']]);
    from = fake.iopub.length;
    const forward = [{ grid: 1, mean: 0.25, std: 0.05 }];
    await showGridCurvePlot(series, { transport: 'comm', title: 'inv', forward });
    models = fake.models(from);
    expect(models.map((m) => (stateOf(m).config as State).title)).to.deep.equal(['inv', 'forward tileability vs grid size']);
    expect(stateOf(models[1]).snapshot).to.equal(svgUrl(sweepSvg(forward, 'forward tileability vs grid size')));
    expect(fake.iopub.slice(from).filter((m) => m.header.msg_type === 'display_data')).to.have.length(2);
    from = fake.iopub.length;
    await showGridCurvePlot(series, { transport: 'comm', forward, forwardTitle: 'fw' });
    expect(fake.models(from).map((m) => (stateOf(m).config as State).title)).to.deep.equal(['inversion cosine vs grid size (paper 000, Fig. 9)', 'fw']);
  });

  it('the WebSocket plots show their HTML through tslab\'s display: Fig. 9 alone, or beside the forward score', async () => {
    const series: GridCurveSeries[] = [{ name: 's', points: [{ grid: 1, mean: 0.5, std: 0.1, imageStd: 0.2, runs: [0.4, 0.6], images: 3 }] }];
    const forward = [{ grid: 1, mean: 0.25, std: 0.05 }];
    fake.take();
    await showSweepPlot(forward, { transport: 'websocket', host, title: 'sw' });
    await showGridCurvePlot(series, { transport: 'websocket', host });
    await showGridCurvePlot(series, { transport: 'websocket', host, forward });
    await showGridCurvePlot(series, { transport: 'websocket', host, title: 'inv', forward, forwardTitle: 'fw' });
    const shown = fake.take();
    expect(shown.map((x) => [x.kind, x.display])).to.deep.equal([['html', 0], ['html', 0], ['html', 0], ['html', 0]]);
    const alts = (h: unknown) => [...String(h).matchAll(/<img class="ganvas-snapshot" alt="([^"]*)"/g)].map((m) => m[1]);
    expect(alts(shown[0].value)).to.deep.equal(['sw']);
    expect(alts(shown[1].value)).to.deep.equal(['inversion cosine vs grid size (paper 000, Fig. 9)']);
    expect(String(shown[1].value)).to.match(/^<div id="ganvas-plot-/);
    expect(alts(shown[2].value)).to.deep.equal(['inversion cosine vs grid size (paper 000, Fig. 9)', 'forward tileability vs grid size']);
    expect(String(shown[2].value)).to.match(/^<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start"><div><div id="ganvas-plot-w\d+-\d+"[\s\S]*<\/div><div><div id="ganvas-plot-w\d+-\d+"[\s\S]*<\/div><\/div>$/);
    expect(alts(shown[3].value)).to.deep.equal(['inv', 'fw']);
    // Both plots are served by the host given.
    const port = (await host.server()).port;
    expect(String(shown[3].value).match(new RegExp(`"http":"http://127\\.0\\.0\\.1:${port}"`, 'g'))).to.have.length(2);
  });

  describe('gallery', () => {
    let galleries: Gallery[];
    before(async () => {
      const fx = await FeatureExtractor.open(await tinyClassifier({ valid: true }), 'layer2', rt);
      const ranked = rank(await scan(cut, fx, { count: 6, erosion: 1 }));
      galleries = [await gallery(cut, ranked.slice(0, 2)), await gallery(cut, ranked.slice(-1))];
    });

    it('a GalleryModel with the cards in its state, its snapshot as the fallback; a grid-size row per card on request', async () => {
      const from = fake.iopub.length;
      await showGallery(cut, galleries, { titles: ['top', 'bottom'], transport: 'comm', host });
      const [open] = fake.models(from);
      const state = stateOf(open) as { _model_name: string; _view_name: string; sections: { title: string; items: { index: number; score: number; grid: string }[] }[] };
      expect([state._model_name, state._view_name]).to.deep.equal(['GalleryModel', 'GalleryView']);
      expect(state.sections.map((s) => [s.title, s.items.map((i) => i.index)])).to.deep.equal([['top', [0, 1]], ['bottom', [2]]]);
      expect(state.sections[1].items[0].score).to.equal(galleries[1].entries[0].cosine);
      const shown = fake.iopub.slice(from).filter((m) => m.header.msg_type === 'display_data');
      expect(shown).to.have.length(1);
      const html = String((shown[0].content.data as State)['text/html']);
      expect(html).to.match(/^<div class="ganvas-widget" data-ganvas-kind="gallery"><div><div style="font:bold 12px sans-serif;margin:4px 0">top<\/div>/);
      expect(html).to.include(`data:image/png;base64,${galleries[1].png.toString('base64')}`);
      const r = await fake.request(idOf(open), { type: 'sweep', id: 4, index: 2 });
      expect(r.content).to.deep.equal({ id: 4, ok: true });
      const [v] = await vectorsFromProvenance(cut, [galleries[1].entries[0].provenance]);
      const [row] = await gridSweep(cut, [v], [1, 2, 3, 4, 5, 'full']);
      const want = await contactSheet([{ images: row, captions: ['g=1', 'g=2', 'g=3', 'g=4', 'g=5', 'full'] }], { range: [-1, 1], scale: 3 });
      expect(r.buffers).to.have.length(1);
      expect(r.buffers[0].equals(want)).to.equal(true);
      for (const [index, shown] of [[3, '3'], ['1', '1'], [null, 'null'], [0.5, '0.5']] as const) {
        const bad = await fake.request(idOf(open), { type: 'sweep', id: 5, index });
        expect(bad.content, String(index)).to.deep.equal({ id: 5, ok: false, error: `no gallery item ${shown} (items 0…2)` });
        expect(bad.buffers).to.deep.equal([]);
      }
    });
  });
});

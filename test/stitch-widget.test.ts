/**
 * The stitch widget's kernel side, through the real transport: a WebSocket client sends what the front end sends
 * (the canvas as a base64 PNG and a seed) and must get one PNG per stitch, the same pixels as inverting the image
 * directly; bad payloads get a clear error reply and change nothing.
 */
import { expect } from 'chai';
import sharp from 'sharp';
import WebSocket from 'ws';
import {
  FloatTensor,
  Runtime,
  Stitch,
  StitchWidget,
  WidgetHost,
  demoModelDir,
  fashionMnist,
  linePlotSvg,
  linePlotWidget,
  loadDemoStitches,
  openModel,
  sliceBatch,
  tissueCrops,
  toPixels,
  toPng,
} from 'ganvas';
import { rejectsGanvas, throwsGanvas } from './util';

type Reply = Record<string, unknown> & { error?: string; images?: { label: string; pixels: string; width: number; height: number; channels: number }[] };

async function raw(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('stitch widget (kernel side)', function () {
  this.timeout(120_000);
  const host = new WidgetHost();
  const rt = new Runtime({ threads: 1 });
  let stitches: Stitch[];
  let images: FloatTensor;
  let widget: StitchWidget;
  let ws: WebSocket;
  let next = 1;

  const call = (type: string, payload: unknown): Promise<Reply> =>
    new Promise((resolve) => {
      const id = next++;
      const onMessage = (d: WebSocket.RawData) => {
        const msg = JSON.parse(d.toString()) as Reply;
        if (msg.id !== id) return;
        ws.off('message', onMessage);
        resolve(msg);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, widget: widget.id, type, payload }));
    });

  before(async () => {
    ({ stitches } = await loadDemoStitches('fmnist-resnet', 'fmnist-stylegan', { layers: ['layer1', 'layer2'], runtime: rt }));
    expect(stitches.map((s) => s.layerX)).to.deep.equal(['layer1', 'layer2']);
    images = (await fashionMnist('test', { count: 4 })).images;
    widget = await StitchWidget.create(stitches, { picks: images, seed: 0, host });
    const server = await host.server();
    ws = new WebSocket(`${server.wsUrl}?token=${server.token}`, { headers: { Origin: 'http://127.0.0.1:8888' } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  });
  after(async () => {
    ws?.close();
    await host.close();
  });

  it('starts from the first pick: its reconstructions are in the snapshot and the live config', async () => {
    expect(widget.image?.dims).to.deep.equal([1, 1, 32, 32]);
    expect(widget.reconstructions.map((r) => r.dims)).to.deep.equal([[1, 1, 32, 32], [1, 1, 32, 32]]);
    const html = widget.html();
    expect(html).to.include('data-ganvas-kind="stitch"');
    expect(html).to.include('layer1 → b16.conv0').and.include('layer2 → b8.conv0');
    // Snapshot: the drawn image and one image per layer, before the script.
    const snapshot = html.slice(0, html.indexOf('<script>'));
    expect(snapshot.match(/<img /g)?.length).to.equal(3);
    const cfg = JSON.parse(/mount\(el,(\{.*\})\);/.exec(html)?.[1] ?? 'null') as { picks: string[]; images: string[]; width: number; channels: number; background: string };
    expect(cfg.picks).to.have.length(4);
    expect(cfg.images).to.have.length(2);
    expect([cfg.width, cfg.channels, cfg.background]).to.deep.equal([32, 1, '#000000']);
  });

  it('inverts the drawn pixels with every stitch: the same pixels as Stitch.invert on that image', async () => {
    const img = sliceBatch(images, 2, 3);
    const bytes = toPixels(img, 0, [0, 1]).data;
    const before = widget.inversions;
    const reply = await call('invert', { pixels: bytes.toString('base64'), seed: 3 });
    expect(reply.error, reply.error).to.equal(undefined);
    expect(reply.ok).to.equal(true);
    expect(reply.seed).to.equal(3);
    expect(Number(reply.ms)).to.be.greaterThan(0);
    expect(reply.images?.map((i) => i.label)).to.deep.equal(['layer1 → b16.conv0', 'layer2 → b8.conv0']);
    expect(widget.inversions).to.equal(before + 1);
    expect(widget.seed).to.equal(3);
    // The image kept on the widget is the 8-bit values in [0, 1].
    for (let i = 0; i < 32 * 32; i++) expect(widget.image!.data[i]).to.be.closeTo(bytes[i] / 255, 1e-6);
    for (const [k, s] of stitches.entries()) {
      const direct = await s.invert(widget.image!, { seed: 3 });
      const r = reply.images![k];
      expect([r.width, r.height, r.channels]).to.deep.equal([32, 32, 1]);
      const want = toPixels(direct, 0, s.generator.range).data;
      expect(Buffer.from(r.pixels, 'base64').equals(want), `${s.name}: reply pixels = direct inversion`).to.equal(true);
      expect(Array.from(widget.reconstructions[k].data)).to.deep.equal(Array.from(direct.data));
    }
  });

  it('a PNG of the canvas gives the same reconstructions as its raw pixels', async () => {
    const img = sliceBatch(images, 3, 4);
    const a = await call('invert', { pixels: toPixels(img, 0, [0, 1]).data.toString('base64'), seed: 4 });
    const b = await call('invert', { image: (await toPng(img, 0, { range: [0, 1] })).toString('base64'), seed: 4 });
    expect(b.error, b.error).to.equal(undefined);
    expect(b.images!.map((i) => i.pixels)).to.deep.equal(a.images!.map((i) => i.pixels));
  });

  it('the seed changes the reconstructions; the same seed repeats them', async () => {
    const pixels = toPixels(sliceBatch(images, 1, 2), 0, [0, 1]).data.toString('base64');
    const a = await call('invert', { pixels, seed: 5 });
    const b = await call('invert', { pixels, seed: 6 });
    const c = await call('invert', { pixels, seed: 5 });
    expect(a.images!.map((i) => i.pixels)).to.deep.equal(c.images!.map((i) => i.pixels));
    for (let k = 0; k < stitches.length; k++) expect(a.images![k].pixels, `layer ${k}`).to.not.equal(b.images![k].pixels);
  });

  it('a payload without a seed uses the widget seed; a data URL is accepted', async () => {
    const png = await toPng(sliceBatch(images, 0, 1), 0, { range: [0, 1] });
    widget.seed = 7;
    const r = await call('invert', { image: `data:image/png;base64,${png.toString('base64')}` });
    expect(r.images).to.have.length(2);
    expect(r.error, r.error).to.equal(undefined);
    expect(r.seed).to.equal(7);
  });

  it('bad payloads get a clear error reply and change nothing', async () => {
    const good = toPixels(sliceBatch(images, 0, 1), 0, [0, 1]).data.toString('base64');
    const small = (await sharp({ create: { width: 28, height: 28, channels: 3, background: '#000' } }).png().toBuffer()).toString('base64');
    const state = { n: widget.inversions, seed: widget.seed, image: widget.image };
    const cases: [string, unknown, RegExp][] = [
      ['paint', { pixels: good }, /unknown request "paint".*"invert"/],
      ['invert', [1, 2], /payload must be a JSON object/],
      ['invert', {}, /needs either pixels \(base64 of 32×32×1 bytes\) or image \(a base64 PNG\), got neither/],
      ['invert', { pixels: good, image: small }, /either pixels .* not both/],
      ['invert', { pixels: 42 }, /pixels must be base64 text of 32×32×1 bytes, got number/],
      ['invert', { pixels: '' }, /pixels must be base64 text .* got an empty string/],
      ['invert', { pixels: 'not base64 at all!' }, /pixels is not base64/],
      ['invert', { pixels: Buffer.alloc(1000).toString('base64') }, /pixels hold 1000 bytes; this widget's classifier takes 32×32×1 = 1024/],
      ['invert', { pixels: Buffer.alloc(3072).toString('base64') }, /pixels hold 3072 bytes/],
      ['invert', { image: Buffer.from('hello, not an image').toString('base64') }, /cannot read drawn image .*expected a PNG or JPEG/],
      ['invert', { image: small }, /the drawn image is 28×28 pixels; this widget's classifier takes 32×32/],
      ['invert', { pixels: good, seed: -1 }, /seed must be a non-negative integer, got -1/],
      ['invert', { pixels: good, seed: 1.5 }, /seed must be a non-negative integer, got 1.5/],
      ['invert', { pixels: good, seed: '3' }, /seed must be an integer, got "3"/],
    ];
    for (const [type, payload, re] of cases) {
      const r = await call(type, payload);
      expect(r.ok, `${type} ${JSON.stringify(payload).slice(0, 60)}`).to.equal(undefined);
      expect(r.error, `${type} ${JSON.stringify(payload).slice(0, 60)}`).to.match(re);
    }
    expect(widget.inversions).to.equal(state.n);
    expect(widget.seed).to.equal(state.seed);
    expect(widget.image).to.equal(state.image);
    // Still answers after the errors.
    expect((await call('invert', { pixels: good, seed: 0 })).ok).to.equal(true);
  });

  it('refuses stitches of different classifiers, picks of the wrong size, wrong labels and an empty list', async () => {
    const tissue = await Stitch.create({ classifier: await openModel(demoModelDir('ihc-features')), layerX: 'layer2', generator: demoModelDir('ihc-gan'), runtime: rt });
    const mixed = await rejectsGanvas(StitchWidget.create([stitches[0], tissue], { host }), 'BAD_INPUT');
    expect(mixed.message).to.match(/same images: .*1×32×32.*3×64×64.*one widget per classifier/);
    expect((await rejectsGanvas(StitchWidget.create([], { host }))).message).to.match(/at least one stitch/);
    const crops = await tissueCrops({ count: 2, seed: 0, split: 'validation' });
    expect((await rejectsGanvas(StitchWidget.create(stitches, { host, picks: crops }))).message).to.match(/picks are 3×64×64, but the classifier takes 1×32×32/);
    expect((await rejectsGanvas(StitchWidget.create(stitches, { host, labels: ['one'] }))).message).to.match(/one per stitch \(2\), got 1/);
    expect((await rejectsGanvas(StitchWidget.create(stitches, { host, seed: -2 }))).message).to.match(/seed must be/);
    expect((await rejectsGanvas(StitchWidget.create(stitches, { host, background: 'white' }))).message).to.match(/#rrggbb/);
  });

  it('RGB: a tissue stitch widget keeps the drawn crop in all three channels and starts blank on white', async () => {
    const tissue = await Stitch.create({ classifier: await openModel(demoModelDir('ihc-features')), layerX: 'layer2', generator: demoModelDir('ihc-gan'), runtime: rt });
    const w = await StitchWidget.create([tissue], { host });
    // No picks: the canvas starts as the white background, 1.0 in every channel.
    expect(w.image?.dims).to.deep.equal([1, 3, 64, 64]);
    expect(w.image!.data.every((v) => v === 1)).to.equal(true);
    const crop = await tissueCrops({ count: 1, seed: 0, split: 'validation' });
    const png = await toPng(crop, 0, { range: [0, 1] });
    const recs = await w.invertImage(png, 2);
    expect(recs.map((r) => r.dims)).to.deep.equal([[1, 3, 64, 64]]);
    const px = await raw(png);
    const hw = 64 * 64;
    for (const i of [0, 777, hw - 1]) for (let k = 0; k < 3; k++) expect(w.image!.data[k * hw + i]).to.be.closeTo(px.data[i * px.channels + k] / 255, 1e-6);
    const direct = await tissue.invert(w.image!, { seed: 2 });
    expect(Array.from(w.reconstructions[0].data)).to.deep.equal(Array.from(direct.data));
  });
});

describe('line plot widget', () => {
  it('draws one polyline per run of points (null splits a line) and a legend entry per series', async () => {
    const svg = linePlotSvg(
      [
        { name: 'layer1', x: [-2, -1, 0, 1], y: [0.8, 0.9, 1, 0.95] },
        { name: 'layer2', x: [-1, 0, 1, 2], y: [0.85, 1, null, 0.9] },
      ],
      { title: 'sweep', xLabel: 'samplings distance', yLabel: 'relative cosine' },
    );
    expect(svg.match(/<polyline/g)?.length).to.equal(2); // layer2's lone last point after the gap has no line
    expect(svg.match(/<circle/g)?.length).to.equal(7);
    expect(svg).to.include('>layer1</text>').and.include('>layer2</text>').and.include('samplings distance');
    const host = new WidgetHost();
    try {
      const html = await linePlotWidget([{ name: 'a', x: [0, 1], y: [1, 2] }], { host, title: 't' });
      expect(html).to.include('data-ganvas-kind="lines"').and.include('"series":[{"name":"a","x":[0,1],"y":[1,2]}]');
    } finally {
      await host.close();
    }
  });

  it('refuses an empty plot, unequal x and y, and non-finite values', () => {
    expect(throwsGanvas(() => linePlotSvg([])).message).to.match(/at least one series/);
    expect(throwsGanvas(() => linePlotSvg([{ name: 'a', x: [1, 2], y: [1] }])).message).to.match(/"a" must have x and y arrays of the same length/);
    expect(throwsGanvas(() => linePlotSvg([{ name: 'a', x: [1, NaN], y: [1, 2] }])).message).to.match(/x holds NaN/);
    expect(throwsGanvas(() => linePlotSvg([{ name: 'a', x: [1, 2], y: [1, Infinity] }])).message).to.match(/y holds Infinity/);
  });
});

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
  loadDemoStitches,
  openModel,
  sliceBatch,
  tissueCrops,
  toPng,
} from 'ganvas';
import { rejectsGanvas } from './util';

type Reply = Record<string, unknown> & { error?: string; images?: { label: string; png: string }[] };

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

  it('inverts a drawn PNG with every stitch: the same pixels as Stitch.invert on that image', async () => {
    const img = sliceBatch(images, 2, 3);
    const png = await toPng(img, 0, { range: [0, 1] });
    const before = widget.inversions;
    const reply = await call('invert', { image: png.toString('base64'), seed: 3 });
    expect(reply.error, reply.error).to.equal(undefined);
    expect(reply.ok).to.equal(true);
    expect(reply.seed).to.equal(3);
    expect(Number(reply.ms)).to.be.greaterThan(0);
    expect(reply.images?.map((i) => i.label)).to.deep.equal(['layer1 → b16.conv0', 'layer2 → b8.conv0']);
    expect(widget.inversions).to.equal(before + 1);
    expect(widget.seed).to.equal(3);
    // The image kept on the widget is the PNG's 8-bit values in [0, 1].
    const px = await raw(png);
    for (let i = 0; i < 32 * 32; i++) expect(widget.image!.data[i]).to.be.closeTo(px.data[i * px.channels] / 255, 1e-6);
    for (const [k, s] of stitches.entries()) {
      const direct = await s.invert(widget.image!, { seed: 3 });
      const got = await raw(Buffer.from(reply.images![k].png, 'base64'));
      const want = await raw(await toPng(direct, 0, { range: s.generator.range }));
      expect([got.width, got.height]).to.deep.equal([32, 32]);
      expect(got.data.equals(want.data), `${s.name}: reply pixels = direct inversion`).to.equal(true);
      expect(Array.from(widget.reconstructions[k].data)).to.deep.equal(Array.from(direct.data));
    }
  });

  it('the seed changes the reconstructions; the same seed repeats them', async () => {
    const image = (await toPng(sliceBatch(images, 1, 2), 0, { range: [0, 1] })).toString('base64');
    const a = await call('invert', { image, seed: 5 });
    const b = await call('invert', { image, seed: 6 });
    const c = await call('invert', { image, seed: 5 });
    expect(a.images!.map((i) => i.png)).to.deep.equal(c.images!.map((i) => i.png));
    for (let k = 0; k < stitches.length; k++) expect(a.images![k].png, `layer ${k}`).to.not.equal(b.images![k].png);
  });

  it('a payload without a seed uses the widget seed; a data URL is accepted', async () => {
    const png = await toPng(sliceBatch(images, 0, 1), 0, { range: [0, 1] });
    widget.seed = 7;
    const r = await call('invert', { image: `data:image/png;base64,${png.toString('base64')}` });
    expect(r.error, r.error).to.equal(undefined);
    expect(r.seed).to.equal(7);
  });

  it('bad payloads get a clear error reply and change nothing', async () => {
    const good = (await toPng(sliceBatch(images, 0, 1), 0, { range: [0, 1] })).toString('base64');
    const small = (await sharp({ create: { width: 28, height: 28, channels: 3, background: '#000' } }).png().toBuffer()).toString('base64');
    const state = { n: widget.inversions, seed: widget.seed, image: widget.image };
    const cases: [string, unknown, RegExp][] = [
      ['paint', { image: good }, /unknown request "paint".*"invert"/],
      ['invert', {}, /image must be the canvas as a base64 PNG string, got nothing/],
      ['invert', { image: 42 }, /image must be .* got number/],
      ['invert', { image: '' }, /image must be/],
      ['invert', { image: 'not base64 at all!' }, /not base64/],
      ['invert', { image: Buffer.from('hello, not an image').toString('base64') }, /cannot read drawn image .*expected a PNG or JPEG/],
      ['invert', { image: small }, /the drawn image is 28×28 pixels; this widget's classifier takes 32×32/],
      ['invert', { image: good, seed: -1 }, /seed must be a non-negative integer, got -1/],
      ['invert', { image: good, seed: 1.5 }, /seed must be a non-negative integer, got 1.5/],
      ['invert', { image: good, seed: '3' }, /seed must be an integer, got "3"/],
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
    expect((await call('invert', { image: good, seed: 0 })).ok).to.equal(true);
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
    const pngs = await w.invertImage(png, 2);
    expect(pngs).to.have.length(1);
    const px = await raw(png);
    const hw = 64 * 64;
    for (const i of [0, 777, hw - 1]) for (let k = 0; k < 3; k++) expect(w.image!.data[k * hw + i]).to.be.closeTo(px.data[i * px.channels + k] / 255, 1e-6);
    const direct = await tissue.invert(w.image!, { seed: 2 });
    expect(Array.from(w.reconstructions[0].data)).to.deep.equal(Array.from(direct.data));
  });
});

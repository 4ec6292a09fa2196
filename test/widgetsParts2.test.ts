/**
 * The model-backed widgets' kernel sides (stitch.ts, paint.ts, gallery.ts) on tiny models in this process (issue
 * 19), over their WebSocket bridge: requests go through a real loopback WidgetServer, answers are checked against the
 * library calls they stand for (Stitch.invert, Painter.paint, gridSweep) and pixel conversions worked out by hand
 * (8-bit → range, Rec. 601 luma, the background colour).
 */
import { expect } from 'chai';
import sharp from 'sharp';
import WebSocket from 'ws';
import {
  Cut,
  FeatureExtractor,
  FloatTensor,
  Gallery,
  Generator,
  PaintWidget,
  Painter,
  Runtime,
  STITCH_WIDGET_REQUESTS,
  Stitch,
  StitchWidget,
  VectorLibrary,
  WidgetHost,
  WidgetServer,
  contactSheet,
  gallery,
  galleryWidget,
  gridSweep,
  rank,
  randn,
  sampleVectors,
  scan,
  showGallery,
  showStitchWidget,
  toPixels,
  toPng,
  vectorsFromProvenance,
} from 'ganvas';
import { GraphBuilder } from './builder';
import { identityGenerator, modelFolder, tinyClassifier, tinyGenerator } from './models';
import { uniformImages } from './stitching/tiny';
import { rejectsGanvas, stdoutOf } from './util';

const rt = new Runtime({ threads: 1 });
const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

/** A 3-channel classifier 8×8 in [-1, 1] (layer `layer1`: 4 channels). */
function rgbClassifier(): Promise<string> {
  const g = new GraphBuilder();
  const x = g.input('image', ['N', 3, 8, 8]);
  const l1 = g.node('Relu', [g.conv(x, 3, 4)], 'l1');
  const pooled = g.node('Flatten', [g.node('GlobalAveragePool', [l1], 'gap')], 'pooled', { axis: 1 });
  g.node('Gemm', [pooled, g.init('cls_w', [2, 4]), g.init('cls_b', [2])], 'logits', { transB: 1 });
  g.output('logits', ['N', 2]);
  return modelFolder(g, {
    format: 'ganvas-manifest/1',
    name: 'rgb-cls',
    model: 'model.onnx',
    role: 'classifier',
    inputs: [{ name: 'image', kind: 'image', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'logits', kind: 'logits', classes: ['a', 'b'] }],
    preprocess: { size: [8, 8], channels: 3, range: [-1, 1], mean: [0, 0, 0], std: [1, 1, 1] },
    layers: { layer1: 'l1' },
  });
}

/** The live widget's config, as the mount call in the HTML carries it. */
function config(html: string): Record<string, unknown> {
  const m = /mount\(el,(\{.*\})\);\}\}\)\(\);<\/script>$/.exec(html);
  expect(m, 'a mount call with the config').to.not.equal(null);
  return JSON.parse(m![1]) as Record<string, unknown>;
}


/**
 * `p`, or a rejection after `ms`: a reply that never comes fails the test at once instead of running into the
 * mocha / StrykerJS timeout (which also restarts StrykerJS's test process: seconds per mutant).
 */
function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A WebSocket client of a widget server: call(widget, type, payload) → the reply. */
async function client(server: WidgetServer): Promise<{ call: (widget: string, type: string, payload: unknown) => Promise<Record<string, unknown>>; close: () => void }> {
  const ws = new WebSocket(`${server.wsUrl}?token=${server.token}`);
  await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'WebSocket open');
  let next = 1;
  return {
    call: (widget, type, payload) =>
      within(new Promise((resolve) => {
        const id = next++;
        const on = (d: WebSocket.RawData) => {
          const msg = JSON.parse(d.toString()) as Record<string, unknown>;
          if (msg.id !== id) return;
          ws.off('message', on);
          resolve(msg);
        };
        ws.on('message', on);
        ws.send(JSON.stringify({ id, widget, type, payload }));
      }), `reply to ${type}`),
    close: () => ws.close(),
  };
}

const same = (a: FloatTensor, b: FloatTensor) => {
  expect(a.dims).to.deep.equal(b.dims);
  expect(Array.from(a.data)).to.deep.equal(Array.from(b.data));
};

describe('widget parts: the stitch widget on tiny models', function () {
  this.timeout(120_000);
  const host = new WidgetHost();
  let mono: Stitch;
  let mono2: Stitch;
  let rgb: Stitch;
  let picks: FloatTensor;
  // The widget and the client are made by the first test that needs them (and again in each StrykerJS run), not in
  // before(): code run by before hooks counts as covered by every test, so each of its mutants would cost the suite.
  let made: StitchWidget | undefined;
  let conn: Awaited<ReturnType<typeof client>> | undefined;
  const widget = async () => (made ??= await StitchWidget.create([mono, mono2], { picks, seed: 2, host }));
  const connect = async () => (conn ??= await client(await host.server()));
  const init = (cin: number, name: string) => ({ weight: randn(`${name}-w`, [3, cin, 1, 1]), bias: randn(`${name}-b`, [3]) });

  before(async () => {
    const cls = await tinyClassifier();
    const idGen = await identityGenerator();
    mono = await Stitch.create({ classifier: cls, layerX: 'layer1', generator: idGen, layerY: 'h', runtime: rt, init: init(6, 'a') });
    mono2 = await Stitch.create({ classifier: cls, layerX: 'layer2', generator: idGen, layerY: 'h', runtime: rt, init: init(8, 'b') });
    rgb = await Stitch.create({ classifier: await rgbClassifier(), layerX: 'layer1', generator: idGen, layerY: 'h', runtime: rt, init: init(4, 'c') });
    picks = uniformImages('sw-picks', 3, 1, 16);
  });
  after(async () => {
    conn?.close();
    conn = undefined;
    made = undefined;
    await host.close();
  });

  it('starts from the first pick, inverted with every stitch on the seed; that start does not count as an inversion', async () => {
    const w = await widget();
    expect(w.spec).to.deep.equal({ channels: 1, height: 16, width: 16, range: [0, 1] });
    expect(w.labels).to.deep.equal(['layer1 → h', 'layer2 → h']);
    expect(w.background).to.equal('#000000');
    expect(w.seed).to.equal(2);
    expect(w.inversions).to.equal(0);
    same(w.image!, { data: picks.data.slice(0, 256), dims: [1, 1, 16, 16] });
    same(w.reconstructions[0], await mono.invert(w.image!, { seed: 2 }));
    same(w.reconstructions[1], await mono2.invert(w.image!, { seed: 2 }));
    expect([...STITCH_WIDGET_REQUESTS]).to.deep.equal(['invert']);
    // The picks as PNGs in the classifier's range [0, 1], served by the host given.
    const pickPngs = await Promise.all([0, 1, 2].map((i) => toPng(picks, i, { range: [0, 1] })));
    expect(config(w.html()).picks).to.deep.equal(pickPngs.map(dataUrl));
    expect(w.server).to.equal(await host.server());
  });

  it('html(): the drawn image and one reconstruction per stitch (at half size) in the snapshot; the live config', async () => {
    const w = await widget();
    const html = w.html();
    const drawn = await toPng(w.image!, 0, { range: [0, 1] });
    const recs = await Promise.all(w.reconstructions.map((r) => toPng(r, 0, { range: [-1, 1] })));
    const snapshot = html.slice(0, html.indexOf('<script>'));
    expect(snapshot).to.include(`<img alt="drawn" src="${dataUrl(drawn)}" style="width:224px;height:224px;image-rendering:pixelated;border:1px solid #999"/><figcaption>drawn</figcaption>`);
    expect(snapshot).to.include(`<img alt="layer2 → h" src="${dataUrl(recs[1])}" style="width:112px;height:112px;`);
    expect(snapshot).to.include('Static snapshot. Drawing needs the kernel');
    expect(snapshot.match(/<\/figure><figure /g), 'three figures side by side').to.have.length(2);
    const cfg = config(html);
    expect(cfg).to.deep.include({ kind: 'stitch', width: 16, height: 16, channels: 1, displaySize: 224, seed: 2, background: '#000000', drawn: dataUrl(drawn), layers: ['layer1 → h', 'layer2 → h'], images: recs.map(dataUrl) });
    const pickPngs = await Promise.all([0, 1, 2].map((i) => toPng(picks, i, { range: [0, 1] })));
    expect(cfg.picks).to.deep.equal(pickPngs.map(dataUrl));
    expect(html).to.match(/^<div id="ganvas-stitch-w\d+-\d+" class="ganvas-widget" data-ganvas-kind="stitch">/);
  });

  it('invert (raw pixels): 8-bit values mapped onto the classifier range; one image per stitch in its generator range', async () => {
    const w = await widget();
    const c = await connect();
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 37) % 256));
    const before = w.inversions;
    const r = await c.call(w.id, 'invert', { pixels: bytes.toString('base64'), seed: 5 });
    expect(r.error, String(r.error)).to.equal(undefined);
    expect([r.ok, r.seed]).to.deep.equal([true, 5]);
    // Kernel time of one inversion of a 16×16 image by two 1×1 convs: above 0, far below a minute.
    expect(Number(r.ms)).to.be.greaterThan(0).and.below(60_000);
    expect(w.lastInvertMs).to.equal(r.ms);
    expect(w.inversions).to.equal(before + 1);
    expect(w.seed).to.equal(5);
    for (let i = 0; i < 256; i++) expect(w.image!.data[i]).to.be.closeTo(bytes[i] / 255, 1e-6);
    const images = r.images as { label: string; pixels: string; width: number; height: number; channels: number }[];
    expect(images.map((x) => [x.label, x.width, x.height, x.channels])).to.deep.equal([['layer1 → h', 4, 4, 3], ['layer2 → h', 4, 4, 3]]);
    for (const [k, s] of [mono, mono2].entries()) {
      const direct = await s.invert(w.image!, { seed: 5 });
      same(w.reconstructions[k], direct);
      expect(Buffer.from(images[k].pixels, 'base64').equals(toPixels(direct, 0, [-1, 1]).data)).to.equal(true);
    }
    // No seed: the widget's; a data URL works too.
    const again = await c.call(w.id, 'invert', { pixels: `data:application/octet-stream;base64,${bytes.toString('base64')}` });
    expect(again.seed).to.equal(5);
    expect((again.images as { pixels: string }[]).map((x) => x.pixels)).to.deep.equal(images.map((x) => x.pixels));
  });

  it('invert (PNG): RGB counts by Rec. 601 luma, grey and RGBA PNGs as their grey / colour channels', async () => {
    const w = await widget();
    const c = await connect();
    const rgbPx = Buffer.alloc(16 * 16 * 3);
    for (let i = 0; i < 256; i++) rgbPx.set([i, 255 - i, (7 * i) % 256], 3 * i);
    const png = await sharp(rgbPx, { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer();
    const r = await c.call(w.id, 'invert', { image: png.toString('base64'), seed: 1 });
    expect(r.error, String(r.error)).to.equal(undefined);
    for (let i = 0; i < 256; i++) expect(w.image!.data[i]).to.be.closeTo((0.299 * i + 0.587 * (255 - i) + 0.114 * ((7 * i) % 256)) / 255, 1e-6);
    const rgba = Buffer.alloc(16 * 16 * 4);
    for (let i = 0; i < 256; i++) rgba.set([i, 0, 0, 100], 4 * i);
    await w.invertImage(await sharp(rgba, { raw: { width: 16, height: 16, channels: 4 } }).png().toBuffer());
    for (let i = 0; i < 256; i++) expect(w.image!.data[i]).to.be.closeTo((0.299 * i) / 255, 1e-6);
    const grey = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
    await w.invertImage(await sharp(grey, { raw: { width: 16, height: 16, channels: 1 } }).png().toBuffer());
    for (let i = 0; i < 256; i++) expect(w.image!.data[i]).to.be.closeTo((255 - i) / 255, 1e-6);
  });

  it('bad requests get a clear error and change nothing', async () => {
    const w = await widget();
    const c = await connect();
    const good = Buffer.alloc(256, 9).toString('base64');
    const small = (await sharp({ create: { width: 16, height: 15, channels: 3, background: '#000' } }).png().toBuffer()).toString('base64');
    const state = { n: w.inversions, seed: w.seed, image: w.image, recs: w.reconstructions };
    const cases: [string, unknown, string][] = [
      ['paint', { pixels: good }, 'unknown request "paint"; the stitch widget answers "invert"'],
      ['invert', {}, 'the invert request needs either pixels (base64 of 16×16×1 bytes) or image (a base64 PNG), got neither'],
      ['invert', { pixels: good, image: small }, 'the invert request needs either pixels (base64 of 16×16×1 bytes) or image (a base64 PNG), not both'],
      ['invert', { pixels: 42 }, 'pixels must be base64 text of 16×16×1 bytes, got number'],
      ['invert', { pixels: '' }, 'pixels must be base64 text of 16×16×1 bytes, got an empty string'],
      ['invert', { image: null }, 'image must be base64 text of a PNG, got object'],
      ['invert', { pixels: 'abc$' }, 'pixels is not base64 (expected base64 text of 16×16×1 bytes)'],
      ['invert', { pixels: 'AAAAA' }, 'pixels is not base64 (expected base64 text of 16×16×1 bytes)'],
      ['invert', { pixels: 'AA==A' }, 'pixels is not base64 (expected base64 text of 16×16×1 bytes)'],
      ['invert', { pixels: Buffer.alloc(255).toString('base64') }, "pixels hold 255 bytes; this widget's classifier takes 16×16×1 = 256 (height × width × channels)"],
      ['invert', { pixels: Buffer.alloc(768).toString('base64') }, "pixels hold 768 bytes; this widget's classifier takes 16×16×1 = 256 (height × width × channels)"],
      ['invert', { image: small }, "the drawn image is 16×15 pixels; this widget's classifier takes 16×16"],
      ['invert', { pixels: good, seed: -1 }, 'seed must be a non-negative integer, got -1'],
      ['invert', { pixels: good, seed: 2.5 }, 'seed must be a non-negative integer, got 2.5'],
      ['invert', { pixels: good, seed: 2 ** 53 }, `seed must be a non-negative integer, got ${2 ** 53}`],
      ['invert', { pixels: good, seed: '3' }, 'seed must be an integer, got "3"'],
      ['invert', { pixels: good, seed: null }, 'seed must be an integer, got null'],
    ];
    for (const [type, payload, msg] of cases) {
      const r = await c.call(w.id, type, payload);
      expect(r, `${type} ${JSON.stringify(payload).slice(0, 50)}`).to.deep.equal({ id: r.id, error: msg });
    }
    for (const bad of [null, [1], 'x']) expect((await rejectsGanvas(w.request('invert', bad as never), 'BAD_INPUT')).message).to.equal('the invert request needs a payload object { pixels, seed }');
    // The same refusals called directly: GanvasErrors of code BAD_INPUT.
    for (const [type, payload, msg] of cases) expect((await rejectsGanvas(w.request(type, payload as never), 'BAD_INPUT')).message, msg).to.equal(msg);
    const notImage = await rejectsGanvas(w.request('invert', { image: Buffer.from('hello, not an image').toString('base64') }), 'BAD_IMAGE');
    expect(notImage.message).to.match(/^cannot read drawn image /);
    expect((await rejectsGanvas(w.invertImage({ data: new Float32Array(256), dims: [1, 16, 16] }), 'NOT_4D')).message).to.equal('image must be 4-D (N, C, H, W), got dims [1, 16, 16]');
    expect(w.inversions).to.equal(state.n);
    expect(w.seed).to.equal(state.seed);
    expect(w.image).to.equal(state.image);
    expect(w.reconstructions).to.equal(state.recs);
    // A width-only or height-only mismatch is caught too.
    const wide = await sharp(Buffer.alloc(15 * 16), { raw: { width: 15, height: 16, channels: 1 } }).png().toBuffer();
    expect((await rejectsGanvas(w.invertImage(wide))).message).to.equal("the drawn image is 15×16 pixels; this widget's classifier takes 16×16");
  });

  it('invertImage(tensor): checks [1, C, H, W]; counts and keeps the result; snapshot() refreshes the html', async () => {
    const w = await widget();
    const t = uniformImages('sw-t', 2, 1, 16);
    const bads: [number[], string][] = [[[2, 1, 16, 16], '2, 1, 16, 16'], [[1, 2, 16, 16], '1, 2, 16, 16'], [[1, 1, 8, 16], '1, 1, 8, 16'], [[1, 1, 16, 8], '1, 1, 16, 8']];
    for (const [dims, desc] of bads) {
      const n = dims.reduce((a, b) => a * b, 1);
      const e = await rejectsGanvas(w.invertImage({ data: t.data.slice(0, n), dims: [...dims] }), 'BAD_INPUT');
      expect(e.message).to.equal(`image must be [1, 1, 16, 16], got [${desc}]`);
    }
    await rejectsGanvas(w.invertImage({ data: t.data.slice(0, 256), dims: [1, 1, 16, 16] }, -3), 'BAD_INPUT');
    const n = w.inversions;
    const one = { data: t.data.slice(256), dims: [1, 1, 16, 16] };
    const before = config(w.html());
    const recs = await w.invertImage(one, 7);
    expect(w.inversions).to.equal(n + 1);
    expect(w.seed).to.equal(7);
    expect(w.image).to.equal(one);
    same(recs[0], await mono.invert(one, { seed: 7 }));
    expect(w.reconstructions).to.equal(recs);
    const now = config(w.html());
    expect([now.drawn, now.images], 'the pictures are unchanged until snapshot()').to.deep.equal([before.drawn, before.images]);
    expect(now.seed, 'the seed is the last one').to.equal(7);
    await w.snapshot();
    const drawn = dataUrl(await toPng(one, 0, { range: [0, 1] }));
    expect(config(w.html())).to.deep.include({ drawn, seed: 7, images: (await Promise.all(recs.map((r) => toPng(r, 0, { range: [-1, 1] })))).map(dataUrl) });
  });

  it('RGB: starts blank in the background colour (each channel on [-1, 1]); pixels fill the three planes', async () => {
    const v = await StitchWidget.create([rgb], { host, background: '#FF8000', displaySize: 100, labels: ['tissue <1>'] });
    expect(v.background).to.equal('#FF8000');
    expect(v.image!.dims).to.deep.equal([1, 3, 8, 8]);
    const plane = (k: number) => Array.from(v.image!.data.slice(64 * k, 64 * (k + 1)));
    expect(plane(0).every((x) => x === 1)).to.equal(true);
    for (const x of plane(1)) expect(x).to.be.closeTo(-1 + (2 * 128) / 255, 1e-6);
    expect(plane(2).every((x) => x === -1)).to.equal(true);
    same(v.reconstructions[0], await rgb.invert(v.image!, { seed: 0 }));
    const html = v.html();
    expect(html).to.include('<figcaption>tissue &lt;1&gt;</figcaption>');
    expect(html).to.include('style="width:100px;height:100px;').and.include('style="width:50px;height:50px;');
    expect(config(html)).to.deep.include({ channels: 3, width: 8, height: 8, background: '#FF8000', picks: [], displaySize: 100 });
    const px = Buffer.alloc(8 * 8 * 3);
    for (let i = 0; i < 64; i++) px.set([i * 4, 255, 0], 3 * i);
    expect((await rejectsGanvas(v.request('invert', { pixels: Buffer.alloc(64).toString('base64') }), 'BAD_INPUT')).message).to.equal("pixels hold 64 bytes; this widget's classifier takes 8×8×3 = 192 (height × width × channels)");
    const r = await v.request('invert', { pixels: px.toString('base64') });
    expect(r.seed).to.equal(0);
    for (let i = 0; i < 64; i++) {
      expect(v.image!.data[i]).to.be.closeTo(-1 + (2 * i * 4) / 255, 1e-6);
      expect(v.image!.data[64 + i]).to.equal(1);
      expect(v.image!.data[128 + i]).to.equal(-1);
    }
    // A grey PNG on an RGB classifier: the one channel in all three planes.
    const grey = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
    await v.invertImage(await sharp(grey, { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer());
    for (let i = 0; i < 64; i++) for (let k = 0; k < 3; k++) expect(v.image!.data[64 * k + i]).to.be.closeTo(-1 + (2 * i) / 255, 1e-6);
    // Without a background: white for RGB, black (above) for one channel.
    expect((await StitchWidget.create([rgb], { host })).background).to.equal('#ffffff');
    // A non-square display keeps the aspect: not here (8×8); the drawn cell is 100 × 100.
    expect(await stdoutOf(async () => v.show())).to.equal('[ganvas] HTML output is shown in notebooks only\n');
    expect(await stdoutOf(async () => expect((await showStitchWidget([rgb], { host })).image!.dims).to.deep.equal([1, 3, 8, 8]))).to.equal('[ganvas] HTML output is shown in notebooks only\n');
  });

  it('refuses no stitches, non-stitches, mixed classifiers, a classifier without preprocess, bad labels, seed, colour or picks', async () => {
    expect((await rejectsGanvas(StitchWidget.create([], { host }), 'BAD_INPUT')).message).to.equal('the stitch widget needs at least one stitch');
    expect((await rejectsGanvas(StitchWidget.create('x' as never, { host }), 'BAD_INPUT')).message).to.equal('the stitch widget needs at least one stitch');
    expect((await rejectsGanvas(StitchWidget.create([mono, {} as never], { host }), 'BAD_INPUT')).message).to.equal('the stitch widget takes Stitch objects (Stitch.load), got object');
    const mixed = await rejectsGanvas(StitchWidget.create([mono, rgb], { host }), 'BAD_INPUT');
    expect(mixed.message).to.equal(`all stitches of one widget must take the same images: ${mono.name} takes 1×16×16 in [0, 1], ${rgb.name} takes 3×8×8 in [-1, 1]; make one widget per classifier`);
    expect((await rejectsGanvas(StitchWidget.create([mono, mono2], { host, labels: ['a'] }), 'BAD_INPUT')).message).to.equal('labels: give one per stitch (2), got 1');
    expect((await rejectsGanvas(StitchWidget.create([mono, mono2], { host, labels: 'ab' as never }), 'BAD_INPUT')).message).to.equal('labels: give one per stitch (2), got string');
    expect((await rejectsGanvas(StitchWidget.create([mono], { host, seed: 0.5 }), 'BAD_INPUT')).message).to.equal('seed must be a non-negative integer, got 0.5');
    for (const bg of ['white', '#fff', '#12345g', ' #123456', '#1234567']) {
      expect((await rejectsGanvas(StitchWidget.create([mono], { host, background: bg }), 'BAD_INPUT')).message).to.equal(`background must be a colour "#rrggbb", got ${JSON.stringify(bg)}`);
    }
    // With picks the blank canvas is never drawn: the colour is still checked.
    expect((await rejectsGanvas(StitchWidget.create([mono], { host, picks, background: 'red' }), 'BAD_INPUT')).message).to.equal('background must be a colour "#rrggbb", got "red"');
    expect((await rejectsGanvas(StitchWidget.create([mono], { host, picks: { data: new Float32Array(256), dims: [1, 16, 16] } }), 'NOT_4D')).message).to.equal('picks must be 4-D (N, C, H, W), got dims [1, 16, 16]');
    for (const dims of [[1, 3, 16, 16], [1, 1, 8, 16], [1, 1, 16, 8]]) {
      const n = dims.reduce((a, b) => a * b, 1);
      const e = await rejectsGanvas(StitchWidget.create([mono], { host, picks: { data: new Float32Array(n), dims } }), 'BAD_INPUT');
      expect(e.message).to.equal(`picks are ${dims.slice(1).join('×')}, but the classifier takes 1×16×16`);
    }
    // Picks of none: the blank canvas (black for one channel: 0 in [0, 1]).
    const empty = await StitchWidget.create([mono], { host, picks: { data: new Float32Array(0), dims: [0, 1, 16, 16] } });
    expect(Array.from(empty.image!.data).every((x) => x === 0)).to.equal(true);
    expect(config(empty.html()).picks).to.deep.equal([]);
    // Same size, another range (a classifier of the same images but trained on [-1, 1]): still refused.
    const pre = mono2.parts.classifier.manifest.preprocess as { range: [number, number] };
    const range = pre.range;
    pre.range = [-1, 1];
    try {
      const e = await rejectsGanvas(StitchWidget.create([mono, mono2], { host }), 'BAD_INPUT');
      expect(e.message).to.include(`${mono.name} takes 1×16×16 in [0, 1], ${mono2.name} takes 1×16×16 in [-1, 1]`);
      // One channel on [-1, 1]: byte v ↦ −1 + 2v/255.
      const wide = await StitchWidget.create([mono2], { host });
      expect(Array.from(wide.image!.data).every((x) => x === -1), 'black').to.equal(true);
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await wide.request('invert', { pixels: bytes.toString('base64') });
      for (const i of [0, 1, 100, 255]) expect(wide.image!.data[i]).to.be.closeTo(-1 + (2 * i) / 255, 1e-6);
    } finally {
      pre.range = range;
    }
    const manifest = mono2.parts.classifier.manifest as { preprocess?: unknown };
    const saved = manifest.preprocess;
    manifest.preprocess = undefined;
    try {
      const e = await rejectsGanvas(StitchWidget.create([mono2], { host }), 'BAD_MANIFEST');
      expect(e.message).to.equal(`${mono2.name}: the classifier has no preprocess (input size)`);
    } finally {
      manifest.preprocess = saved;
    }
  });
});

describe('widget parts: the paint widget on a tiny generator (WebSocket bridge)', function () {
  this.timeout(120_000);
  const host = new WidgetHost();
  let cut: Cut;
  let lib: VectorLibrary;
  let made: PaintWidget | undefined;
  const widget = async () => (made ??= await PaintWidget.create(cut, lib, { host, seed: 4 }));

  /** A 64×64 RGB mask: columns < 32 red (A), rows ≥ 48 of the rest blue (B), the rest keep (green). */
  const mask = () => {
    const data = Buffer.alloc(64 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) data.set(x < 32 ? [255, 0, 0] : y >= 48 ? [0, 0, 255] : [0, 255, 0], 3 * (64 * y + x));
    return { data, width: 64, height: 64 };
  };

  before(async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 2, seed: 1 });
    lib = VectorLibrary.for(cut);
    lib.add('A', '#ff0000', vectors[0].vector, vectors[0].provenance);
    lib.add('B <&>', '#0000ff', vectors[1].vector);
  });
  after(async () => {
    made = undefined;
    await host.close();
  });

  it('starts with the seed\'s unpainted image; html() has the legend, the canvas config and the static note', async () => {
    const w = await widget();
    expect([w.seed, w.paints, w.lastPaintMs, w.transport, w.mask, w.image]).to.deep.equal([4, 0, 0, 'websocket', undefined, undefined]);
    expect(w.paintedPixels()).to.deep.equal({});
    const initial = dataUrl(await toPng(await cut.generator.generate([4]), 0, { range: [-1, 1] }));
    const html = w.html();
    expect(html).to.include(`<img alt="ganvas painting (static snapshot)" src="${initial}" style="width:256px;height:256px;image-rendering:pixelated"/>`);
    expect(html).to.include('<span style="display:inline-block;width:12px;height:12px;background:#0000ff;vertical-align:middle"></span> B &lt;&amp;&gt;</span>');
    expect(html).to.include('Static snapshot — run the notebook to paint');
    expect(html).to.include('#ff0000;vertical-align:middle"></span> A</span><span style="display:inline-block;margin-right:8px">');
    expect(w.server).to.equal(await host.server());
    expect(config(html)).to.deep.include({ kind: 'paint', widget: w.id, canvasSize: 64, displaySize: 256, keep: '#00ff00', seed: 4, image: initial, brushes: [{ name: 'A', color: '#ff0000' }, { name: 'B <&>', color: '#0000ff' }] });
    const sized = await PaintWidget.create(cut, lib, { host, canvasSize: 32, displaySize: 128 });
    expect(sized.seed).to.equal(0);
    expect(config(sized.html())).to.deep.include({ canvasSize: 32, displaySize: 128, seed: 0 });
    expect(sized.html()).to.include('style="width:128px;height:128px;');
    // Seed 0 starts from another image than seed 4.
    expect(config(sized.html()).image).to.not.equal(initial);
    expect(await stdoutOf(async () => sized.show())).to.equal('[ganvas] HTML output is shown in notebooks only\n');
  });

  it('paintMask: the same image as Painter.paint on the widget seed; painted pixels counted by brush', async () => {
    const w = await widget();
    const m = mask();
    const png = await w.paintMask(m);
    const direct = await new Painter(cut, lib).paint(m, { seed: 4 });
    same(w.image!, direct.image);
    expect(png.equals(await toPng(direct.image, 0, { range: [-1, 1] }))).to.equal(true);
    expect([w.paints, w.mask]).to.deep.equal([1, m]);
    expect(w.lastPaintMs).to.be.greaterThan(0).and.below(60_000);
    expect(w.paintedPixels()).to.deep.equal({ A: 32 * 64, 'B <&>': 32 * 16 });
    // A colour outside the library (from elsewhere) counts for nobody.
    w.mask = { data: Buffer.from([255, 0, 0, 1, 2, 3, 0, 0, 255, 255, 0, 0]), width: 2, height: 2 };
    expect(w.paintedPixels()).to.deep.equal({ A: 2, 'B <&>': 1 });
    w.mask = m;
  });

  it('a paint request from the canvas: PNG mask + seed in, the painted PNG out; unknown requests refused', async () => {
    const w = await widget();
    const server = await host.server();
    const c = await client(server);
    try {
      const m = mask();
      const maskPng = await sharp(m.data, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
      const r = await c.call(w.id, 'paint', { mask: maskPng.toString('base64'), seed: 9 });
      expect(r.error, String(r.error)).to.equal(undefined);
      expect(w.seed).to.equal(9);
      const direct = await new Painter(cut, lib).paint(m, { seed: 9 });
      expect(Buffer.from(String(r.image), 'base64').equals(await toPng(direct.image, 0, { range: [-1, 1] }))).to.equal(true);
      expect(r.ms).to.equal(w.lastPaintMs);
      const n = w.paints;
      await c.call(w.id, 'paint', { mask: maskPng.toString('base64'), seed: '3' });
      expect([w.seed, w.paints]).to.deep.equal([9, n + 1]);
      expect(await c.call(w.id, 'erase', {})).to.deep.include({ error: 'unknown request "erase"' });
      expect(w.paints).to.equal(n + 1);
    } finally {
      c.close();
    }
  });

  it('snapshot(): the last painting becomes the static image; without a painting nothing changes', async () => {
    const w = await widget();
    const fresh = await PaintWidget.create(cut, lib, { host, seed: 4 });
    const before = fresh.html();
    await fresh.snapshot();
    expect(fresh.html()).to.equal(before);
    if (!w.painting) await w.paintMask(mask());
    await w.snapshot();
    const painted = dataUrl(await toPng(w.image!, 0, { range: [-1, 1] }));
    expect(config(w.html()).image).to.equal(painted);
    expect(w.html()).to.include(`src="${painted}" style="width:256px`);
  });
});

describe('widget parts: the gallery widget on tiny models (WebSocket bridge)', function () {
  this.timeout(120_000);
  const host = new WidgetHost();
  let cut: Cut;
  let galleries: Gallery[];

  before(async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    cut = await gen.cut('b8.conv1');
    const fx = await FeatureExtractor.open(await tinyClassifier({ valid: true }), 'layer2', rt);
    const ranked = rank(await scan(cut, fx, { count: 6, erosion: 1 }));
    galleries = [await gallery(cut, ranked.slice(0, 2)), await gallery(cut, ranked.slice(-1))];
  });
  after(() => host.close());

  it('the cards: items numbered across galleries with score, l1, provenance and both renders; titles (default "gallery n")', async () => {
    const html = await galleryWidget(cut, galleries, { host, titles: ['top <k>'] });
    const cfg = config(html) as { sections: { title: string; items: { index: number; score: number; l1: number; provenance: object; grid: string; full: string }[] }[] };
    expect(cfg.sections.map((s) => s.title)).to.deep.equal(['top <k>', 'gallery 2']);
    expect(cfg.sections.map((s) => s.items.map((i) => i.index))).to.deep.equal([[0, 1], [2]]);
    for (const [gi, s] of cfg.sections.entries()) {
      for (const [i, item] of s.items.entries()) {
        const e = galleries[gi].entries[i];
        expect(item.score).to.equal(e.cosine);
        expect(item.l1).to.equal(e.l1);
        expect(item.provenance).to.deep.equal({ ...e.provenance });
        expect(item.grid).to.equal(dataUrl(await toPng(galleries[gi].grid, i, { range: [-1, 1] })));
        expect(item.full).to.equal(dataUrl(await toPng(galleries[gi].full, i, { range: [-1, 1] })));
      }
    }
    const snapshot = html.slice(0, html.indexOf('<script>'));
    expect(snapshot).to.include(`<div style="font:bold 12px sans-serif;margin:4px 0">top &lt;k&gt;</div><img alt="top &lt;k&gt;" src="${dataUrl(galleries[0].png)}"/>`);
    expect(snapshot).to.include(`<img alt="gallery 2" src="${dataUrl(galleries[1].png)}"/>`);
    expect(snapshot).to.match(/^<div id="ganvas-gallery-w\d+-\d+" class="ganvas-widget" data-ganvas-kind="gallery"><div><div style="font:bold 12px sans-serif;margin:4px 0">top &lt;k&gt;<\/div><img [^>]*\/><div style="font:bold/);
    expect(config(html).kind).to.equal('gallery');
    expect(config(await galleryWidget(cut, galleries, { host })).sections).to.satisfy((s: { title: string }[]) => s[0].title === 'gallery 1');
  });

  it('a card asks for its grid-size row (g = 1…5 and full): the PNG of that vector\'s sweep; bad indices refused', async () => {
    const html = await galleryWidget(cut, galleries, { host });
    const id = String(config(html).widget);
    const c = await client(await host.server());
    try {
      const r = await c.call(id, 'sweep', { index: 2 });
      expect(r.error, String(r.error)).to.equal(undefined);
      const [v] = await vectorsFromProvenance(cut, [galleries[1].entries[0].provenance]);
      const [row] = await gridSweep(cut, [v], [1, 2, 3, 4, 5, 'full']);
      const want = await contactSheet([{ images: row, captions: ['g=1', 'g=2', 'g=3', 'g=4', 'g=5', 'full'] }], { range: [-1, 1], scale: 3 });
      expect(Buffer.from(String(r.row), 'base64').equals(want)).to.equal(true);
      const r0 = await c.call(id, 'sweep', { index: 0 });
      expect(r0.row).to.not.equal(r.row);
      for (const [payload, msg] of [
        [{ index: 3 }, 'no gallery item 3 (items 0…2)'],
        [{ index: -1 }, 'no gallery item -1 (items 0…2)'],
        [{ index: 1.5 }, 'no gallery item 1.5 (items 0…2)'],
        [{}, 'no gallery item NaN (items 0…2)'],
      ] as const) {
        expect(await c.call(id, 'sweep', payload), JSON.stringify(payload)).to.deep.include({ error: msg });
      }
      expect(await c.call(id, 'grid', { index: 0 })).to.deep.include({ error: 'unknown request "grid"' });
    } finally {
      c.close();
    }
    expect(await stdoutOf(() => showGallery(cut, galleries, { host, transport: 'websocket' }))).to.equal('[ganvas] HTML output is shown in notebooks only\n');
  });
});

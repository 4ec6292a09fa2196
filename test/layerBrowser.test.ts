/**
 * Issue 16 item 7: the layer browser (gen.layers(), fx.layers()) and the "nearby names" of a bad layer name.
 */
import { expect } from 'chai';
import { inspect } from 'util';
import { FeatureExtractor, Generator, Runtime, demoModelDir, layers, resolveLayer } from 'ganvas';
import { styledGenerator } from './models';
import { rejectsGanvas } from './util';

describe('layer browser', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('lists the named layers first, then spatial activations; all: true lists every 4-D tensor', async () => {
    const gen = await Generator.open(demoModelDir('fmnist-stylegan'), rt);
    const t = await gen.layers();
    const every = await layers(gen.bundle.model);
    const aliases = Object.keys(gen.bundle.manifest.layers);
    expect(t.slice(0, aliases.length).map((r) => r.name)).to.have.members(aliases);
    expect(t.slice(aliases.length).every((r) => r.aliases.length === 0)).to.equal(true);
    // Named layers in graph order.
    const order = t.slice(0, aliases.length).map((r) => every.findIndex((l) => l.name === r.tensor));
    expect(order).to.deep.equal([...order].sort((a, b) => a - b));
    for (const r of t.slice(aliases.length)) {
      expect(r.kind, r.tensor).to.equal('activation');
      expect(r.height * r.width, r.tensor).to.be.greaterThan(1);
      expect(r.channels, r.tensor).to.be.greaterThan(3);
    }
    // Left out by default: style vectors, modulation intermediates, noise / RGB maps, the output image.
    const all = await gen.layers({ all: true });
    expect(all.length).to.equal(every.length);
    expect(t.hidden).to.equal(every.length - t.length);
    const kinds = new Set(all.map((r) => r.kind));
    for (const k of ['vector', 'modulation', 'few-channel', 'output']) expect(kinds.has(k as never), k).to.equal(true);
    expect(all.find((r) => r.tensor === gen.outputName)?.kind).to.equal('output');
    expect(all.filter((r) => r.kind === 'vector').every((r) => r.height === 1 && r.width === 1)).to.equal(true);
    expect(t.find((r) => r.name === 'b8.conv1')?.what).to.match(/named layer: activation \(LeakyReLU\)/);
  });

  it('a notebook shows it as a table, not an array dump', async () => {
    const gen = await Generator.open(demoModelDir('fmnist-stylegan'), rt);
    const t = await gen.layers();
    const shown = inspect(t);
    expect(shown).to.equal(String(t));
    const lines = shown.split('\n');
    expect(lines[0]).to.match(/^fmnist-stylegan: 7 named layers, \d+ other; \d+ non-spatial or intermediate tensors hidden/);
    expect(lines[1]).to.match(/^name +shape \(C×H×W\) +op +what$/);
    expect(lines[2]).to.match(/^b4\.conv1 +128×4×4 +Mul +named layer/);
    expect(lines).to.have.length(t.length + 2);
    expect(t.toHtml()).to.match(/^<table>.*<code>b4\.conv1<\/code><\/td><td>128×4×4<\/td>/);
    // Still an array for code: names, JSON.
    expect(JSON.parse(JSON.stringify(t))[0].name).to.equal('b4.conv1');
  });

  it('works on a classifier (fx.layers()) and on a small styled generator', async () => {
    const fx = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer1', rt);
    const t = await fx.layers();
    expect(t.slice(0, 4).map((r) => r.name)).to.deep.equal(['layer1', 'layer2', 'layer3', 'layer4']);
    expect(t.some((r) => r.height === 1)).to.equal(false); // the global average pool
    const styled = await Generator.open(await styledGenerator(), rt);
    const all = await styled.layers({ all: true });
    expect(all.find((r) => r.tensor === 'style')?.kind).to.equal('vector');
    expect(all.find((r) => r.tensor === 'mod')?.kind).to.equal('modulation');
    expect((await styled.layers()).map((r) => r.tensor)).to.not.include('mod');
  });

  it('a bad name suggests only names that resolve (never a broken alias itself) and says how to list them', async () => {
    const gen = await Generator.open(demoModelDir('fmnist-stylegan'), rt);
    const broken = gen.bundle.model.withAliases({ 'b16.conv2': '/no/such/tensor', 'b16.conv3': '/nor/this' });
    const e = await rejectsGanvas(resolveLayer(broken, 'b16.conv2'), 'NO_SUCH_LAYER');
    expect(e.message).to.match(/out of date/);
    const near = /nearby: (.*?)\. List/.exec(e.message)?.[1] ?? '';
    expect(near).to.include('"b16.conv1"');
    expect(near).to.not.include('b16.conv2');
    expect(near).to.not.include('b16.conv3');
    expect(e.message).to.include('gen.layers()');
    const typo = await rejectsGanvas(gen.cut('b16.conv'), 'NO_SUCH_LAYER');
    expect(typo.message).to.match(/nearby: "b16\.conv0", "b16\.conv1"/);
  });
});

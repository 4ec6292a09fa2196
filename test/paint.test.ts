import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  GanvasError,
  Generator,
  KEEP_COLOR,
  Painter,
  RgbImage,
  Runtime,
  VectorLibrary,
  generateDataset,
  labelsToRgb,
  maskColors,
  maxAbsDiff,
  normalizeColor,
  writeNpy,
  paint,
  paintingPng,
  randomLabels,
  readMask,
  resizeLabels,
  rgbToPng,
} from 'ganvas';
import { identityGenerator, tinyGenerator } from './models';
import { rejectsGanvas } from './util';

function solid(width: number, height: number, color: string): RgbImage {
  const v = parseInt(color.slice(1), 16);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set([v >> 16, (v >> 8) & 255, v & 255], 3 * i);
  return { data, width, height };
}

function fillRect(img: RgbImage, y0: number, x0: number, y1: number, x1: number, color: string): void {
  const v = parseInt(color.slice(1), 16);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) img.data.set([v >> 16, (v >> 8) & 255, v & 255], 3 * (y * img.width + x));
}

describe('paint', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('downsizes a known mask by nearest neighbour to the layer and writes the vectors exactly there', async () => {
    // identity tail: the image is the layer, so what was written is what we see.
    const gen = await Generator.open(await identityGenerator(), rt);
    const cut = await gen.cut('h');
    const mask = solid(8, 8, KEEP_COLOR);
    fillRect(mask, 0, 0, 4, 2, '#ff0000'); // rows 0-3, cols 0-1 → layer rows 0-1, col 0
    fillRect(mask, 6, 6, 8, 8, '#0000ff'); // rows 6-7, cols 6-7 → layer (3, 3)
    const red = Float32Array.from([0.5, 0.5, 0.5]);
    const blue = Float32Array.from([-0.5, 0, 0.5]);
    const p = await paint(cut, mask, { '#ff0000': red, '#0000ff': blue }, { seed: 4 });
    expect(Array.from(p.layerLabels.data)).to.deep.equal([0, -1, -1, -1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1]);
    const original = await gen.generate([4]);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 16; i++) {
        const k = p.layerLabels.data[i];
        expect(p.image.data[c * 16 + i]).to.equal(k === 0 ? red[c] : k === 1 ? blue[c] : original.data[c * 16 + i]);
      }
    }
    expect(p.imageLabels.width).to.equal(4);
    // resizeLabels picks source ⌊dst·in/out⌋
    expect(Array.from(resizeLabels({ data: Int16Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]), height: 3, width: 3 }, 2, 2).data)).to.deep.equal([0, 1, 3, 4]);
  });

  it('an all-keep mask leaves the output bit-identical to the unpainted sample', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const lib = VectorLibrary.for(cut);
    lib.add('a', '#ff0000', new Float32Array(4).fill(1));
    const png = await rgbToPng(solid(32, 32, KEEP_COLOR));
    const p = await paint(cut, png, lib, { seed: 9 });
    expect(maxAbsDiff(p.image, await gen.generate([9]))).to.equal(0);
  });

  it('unknown colors are an error listing the colors found with pixel counts', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const mask = solid(10, 10, KEEP_COLOR);
    fillRect(mask, 0, 0, 2, 3, '#123456');
    const e = await rejectsGanvas(paint(cut, mask, { '#ff0000': new Float32Array(4) }));
    expect(e.message).to.include('#123456 (6 px)');
    expect(e.message).to.include('#00ff00 (94 px)');
    expect(e.message).to.include('Palette: #ff0000');
  });

  it('refuses wrong vector sizes, bad colors, bad masks and libraries of another model or layer', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    expect(() => new Painter(cut, { '#ff0000': new Float32Array(3) })).to.throw(/3 channels; b8.conv1 has 4/);
    expect(() => new Painter(cut, { red: new Float32Array(4) })).to.throw(/"red" is not a color/);
    await rejectsGanvas(readMask(Buffer.from('no image here')));
    await rejectsGanvas(readMask({ data: new Uint8Array(5), width: 2, height: 2 }));
    const other = new VectorLibrary('some-other-gan', 'b8.conv1', 4);
    expect(() => new Painter(cut, other)).to.throw(/cannot paint tiny-gen at b8.conv1/);
    const lib = VectorLibrary.for(cut);
    expect(() => lib.add('x', KEEP_COLOR, new Float32Array(4))).to.throw(/reserved/);
    lib.add('x', '#ff0000', new Float32Array(4));
    expect(() => lib.add('y', '#FF0000', new Float32Array(4))).to.throw(/already used by "x"/);
  });

  it('paintLabels paints a label map exactly as paint() paints its colors, and refuses labels outside the palette', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const painter = new Painter(cut, { '#ff0000': new Float32Array(4).fill(1), '#0000ff': new Float32Array(4).fill(-1) });
    const labels = { data: Int16Array.from({ length: 64 }, (_, i) => (i % 3) - 1), height: 8, width: 8 };
    const direct = await painter.paintLabels(labels, { seed: 3 });
    const viaColors = await painter.paint(labelsToRgb(labels, painter.colors), { seed: 3 });
    expect(maxAbsDiff(direct.image, viaColors.image)).to.equal(0);
    expect(Array.from(direct.imageLabels.data)).to.deep.equal(Array.from(viaColors.imageLabels.data));
    const bad = await rejectsGanvas(painter.paintLabels({ ...labels, data: Int16Array.from(labels.data, (v, i) => (i === 5 ? 2 : v)) }));
    expect(bad.message).to.match(/label 2 at position 5 is not a palette index/);
    await rejectsGanvas(painter.paintLabels({ data: new Int16Array(10), height: 8, width: 8 }));
    // An empty map has no pixel to resize from: a clear error, not a layer painted with color 0.
    const empty = await rejectsGanvas(painter.paintLabels({ data: new Int16Array(0), height: 0, width: 0 }));
    expect(empty.message).to.include('cannot resize an axis of size 0');
    await rejectsGanvas(painter.paint({ data: new Uint8Array(0), width: 0, height: 0 }));
  });

  it('saves a library atomically as JSON + .npy, reloads it, and refuses it for another layer', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const lib = VectorLibrary.for(cut);
    lib.add('fur', '#aa0000', Float32Array.from([1, 2, 3, 4]), { model: 'tiny-gen', layer: 'b8.conv1', seed: 1, y: 2, x: 3 });
    lib.add('eye', '#0000aa', Float32Array.from([-1, 0.5, 0, 4]));
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-lib-'));
    await lib.save(path.join(dir, 'lib.json'));
    const files = (await fs.readdir(dir)).sort();
    expect(files).to.have.length(2);
    expect(files).to.include('lib.json');
    const npy = files.find((n) => n !== 'lib.json') as string;
    expect(npy).to.match(/^lib\.[0-9a-f]{12}\.npy$/);
    expect(JSON.parse(await fs.readFile(path.join(dir, 'lib.json'), 'utf8')).vectors).to.equal(npy);
    const back = await VectorLibrary.load(path.join(dir, 'lib.json'), cut);
    expect(back.entries.map((e) => [e.name, e.color, Array.from(e.vector)])).to.deep.equal([
      ['fur', '#aa0000', [1, 2, 3, 4]],
      ['eye', '#0000aa', [-1, 0.5, 0, 4]],
    ]);
    expect(back.get('fur').provenance).to.deep.equal({ model: 'tiny-gen', layer: 'b8.conv1', seed: 1, y: 2, x: 3 });
    const idGen = await Generator.open(await identityGenerator(), rt);
    await rejectsGanvas(VectorLibrary.load(path.join(dir, 'lib.json'), await idGen.cut('h')));
    // Another layer of the *same* model with the same channel count (issue 19: only another model was tried):
    // 'up' (the upsampled Gemm output, 4 channels at 8×8, like b8.conv1) must be refused by name.
    const up = await gen.cut('up');
    expect(up.layer.channels).to.equal(4);
    const e = await rejectsGanvas(VectorLibrary.load(path.join(dir, 'lib.json'), up));
    expect(e.message).to.include('vectors of tiny-gen at b8.conv1').and.include('cannot paint tiny-gen at up');
    expect(() => new Painter(up, back)).to.throw(/cannot paint tiny-gen at up/);
    // The layer's tensor name ('h') and its manifest alias ('b8.conv1') are the same layer: accepted both ways.
    const viaTensor = await gen.cut('h');
    expect((await VectorLibrary.load(path.join(dir, 'lib.json'), viaTensor)).entries).to.have.length(2);
    const tensorLib = new VectorLibrary('tiny-gen', 'h', 4);
    expect(() => tensorLib.checkFits(cut)).to.not.throw();
  });

  it('a library survives kill -9 at any moment of a save: it loads with every entry of the last completed save', async function () {
    this.timeout(120000);
    // A child saves a growing library again and again, printing each entry count once its save has returned; it is
    // killed with SIGKILL at a random moment. The file must then load, holding the last printed count or the one
    // after it (a save that finished but whose line was not read yet), with the right vectors; stale temporaries
    // and older vector files are gone after the next save.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-libkill-'));
    const file = path.join(dir, 'lib.json');
    const script = `
      const g = require(${JSON.stringify(require.resolve('ganvas'))});
      (async () => {
        const lib = new g.VectorLibrary('m', 'l', 64);
        for (let k = 1; ; k++) {
          lib.add('v' + k, '#' + (k % 0xffffff).toString(16).padStart(6, '0'), new Float32Array(64).fill(k));
          await lib.save(${JSON.stringify(file)});
          process.stdout.write(k + '\\n');
        }
      })();`;
    const { spawn } = await import('child_process');
    let trials = 0;
    for (let t = 0; t < 12; t++) {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      // Kill at a random moment after the first completed save (not after a fixed delay: on a loaded machine the
      // child may not have started by then, and the test would measure the machine's speed — issue 19).
      const exited = new Promise((r) => child.on('exit', r));
      await Promise.race([exited, new Promise<void>((r) => {
        const check = (): void => {
          if (out.includes('\n')) r();
          else setTimeout(check, 5);
        };
        check();
      })]);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
      child.kill('SIGKILL');
      await exited;
      const done = out.split('\n').filter((x) => x).map(Number);
      if (done.length === 0) continue;
      const last = done[done.length - 1];
      const back = await VectorLibrary.load(file);
      expect([last, last + 1], `after ${last} completed saves`).to.include(back.entries.length);
      back.entries.forEach((e, i) => expect(e.vector[0]).to.equal(i + 1));
      trials++;
    }
    expect(trials).to.equal(12);
    const lib = await VectorLibrary.load(file);
    await lib.save(file);
    const left = (await fs.readdir(dir)).sort();
    expect(left.filter((n) => n.endsWith('.tmp')), left.join(', ')).to.deep.equal([]);
    expect(left.filter((n) => n.endsWith('.npy'))).to.have.length(1);
  });

  it('variations: fixed noise with different vectors, and a fixed vector with different noise', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const mask = solid(8, 8, KEEP_COLOR);
    fillRect(mask, 2, 2, 6, 6, '#ff0000');
    const painter = new Painter(cut, { '#ff0000': new Float32Array(4).fill(0.5) });
    const vs = await painter.vectorVariations(mask, '#ff0000', [new Float32Array(4).fill(0.5), new Float32Array(4).fill(-1)], { seed: 1 });
    expect(vs.dims[0]).to.equal(2);
    expect(maxAbsDiff({ data: vs.data.subarray(0, 64), dims: [1, 1, 8, 8] }, (await painter.paint(mask, { seed: 1 })).image)).to.equal(0);
    // Every variation, not only the first (issue 19: the first equals the palette vector, so an ignored override
    // passed): variation k is paint() with the palette vector of #ff0000 replaced by vector k.
    const third = Float32Array.from([0.3, -0.7, 1.5, 0]);
    const all = [new Float32Array(4).fill(0.5), new Float32Array(4).fill(-1), third];
    const vs3 = await painter.vectorVariations(mask, '#ff0000', all, { seed: 1 });
    expect(vs3.dims).to.deep.equal([3, 1, 8, 8]);
    for (let k = 0; k < 3; k++) {
      const alone = await new Painter(cut, { '#ff0000': all[k] }).paint(mask, { seed: 1 });
      expect(maxAbsDiff({ data: vs3.data.subarray(64 * k, 64 * (k + 1)), dims: [1, 1, 8, 8] }, alone.image), `variation ${k}`).to.equal(0);
    }
    expect(maxAbsDiff({ data: vs3.data.subarray(64, 128), dims: [1, 1, 8, 8] }, { data: vs3.data.subarray(0, 64), dims: [1, 1, 8, 8] })).to.be.greaterThan(0.01);
    const ns = await painter.noiseVariations(mask, [1, 2, 3], { seed: 1 });
    expect(ns.dims[0]).to.equal(3);
    expect(maxAbsDiff({ data: ns.data.subarray(0, 64), dims: [1, 1, 8, 8] }, { data: ns.data.subarray(64, 128), dims: [1, 1, 8, 8] })).to.be.greaterThan(0);
  });
});

describe('VectorLibrary: refusals with messages that say what is wrong', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('add, get and checkFits', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const lib = VectorLibrary.for(cut);
    expect(() => lib.add('', '#ff0000', new Float32Array(4))).to.throw(/a library vector needs a name/);
    expect(() => lib.add('v', '#ff0000', new Float32Array(5))).to.throw('vector "v" has 5 channels; tiny-gen at b8.conv1 has 4');
    lib.add('fur', '#ff0000', new Float32Array(4));
    expect(() => lib.add('fur', '#0000ff', new Float32Array(4))).to.throw('the library already has a vector named "fur"');
    expect(() => lib.get('fut')).to.throw(/no vector "fut" in the library; it has "fur" \(closest: fur\)/);
    expect(() => VectorLibrary.for(cut).get('x')).to.throw(/it has none/);
    lib.add('fun', '#00aa00', new Float32Array(4));
    expect(() => lib.get('fuz')).to.throw('no vector "fuz" in the library; it has "fur", "fun" (closest: fun, fur)');
    // Colors: "#rrggbb" or "rrggbb", any case, surrounding spaces ignored; nothing before or after.
    expect(normalizeColor(' #AbCdEf ')).to.equal('#abcdef');
    expect(normalizeColor('ff0000')).to.equal('#ff0000');
    for (const bad of ['x#ff0000', '#ff0000ff', '#ff00', 'red']) expect(() => normalizeColor(bad), bad).to.throw(`"${bad}" is not a color`);
    // Each of model, layer and channel count is checked on its own.
    expect(() => new VectorLibrary('other', 'b8.conv1', 4).checkFits(cut)).to.throw(/vectors of other at b8.conv1 \(4 channels\); it cannot paint tiny-gen at b8.conv1 \(4 channels\)/);
    expect(() => new VectorLibrary('tiny-gen', 'b8.conv1', 3).checkFits(cut)).to.throw(/\(3 channels\); it cannot paint tiny-gen/);
    expect(() => new VectorLibrary('tiny-gen', 'up', 4).checkFits(cut)).to.throw(/cannot paint/);
    expect(() => new VectorLibrary('tiny-gen', 'b8.conv1', 4).checkFits(cut)).to.not.throw();
  });

  it('load refuses broken files: not JSON, another format, a vectors path outside, a missing or misshapen .npy', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-libbad-'));
    const lib = VectorLibrary.for(cut);
    lib.add('a', '#ff0000', Float32Array.from([1, 2, 3, 4]));
    await lib.save(path.join(dir, 'good.json'));
    const good = JSON.parse(await fs.readFile(path.join(dir, 'good.json'), 'utf8'));
    const write = (name: string, json: unknown) => fs.writeFile(path.join(dir, name), typeof json === 'string' ? json : JSON.stringify(json));
    await write('broken.json', '{ nope');
    await write('format.json', { ...good, format: 'ganvas-scan/1' });
    await write('outside.json', { ...good, vectors: '../x.npy' });
    await write('notnpy.json', { ...good, vectors: 'x.txt' });
    await write('number.json', { ...good, vectors: 7 });
    await write('missing.json', { ...good, vectors: 'gone.npy' });
    await write('shape.json', { ...good, channels: 5 });
    await write('count.json', { ...good, entries: [...good.entries, { name: 'b', color: '#0000ff' }] });
    const msg = async (name: string) => (await rejectsGanvas(VectorLibrary.load(path.join(dir, name)))).message;
    expect(await msg('broken.json')).to.match(/^cannot read library .*broken\.json: /);
    expect((await rejectsGanvas(VectorLibrary.load(path.join(dir, 'broken.json')))).cause).to.be.instanceOf(SyntaxError);
    await write('null.json', 'null');
    expect(await msg('null.json')).to.include('is not a ganvas vector library');
    await fs.writeFile(path.join(dir, 'three.npy'), writeNpy({ data: Float32Array.from([1, 2, 3, 4]), dims: [1, 4, 1] }));
    await write('threed.json', { ...good, vectors: 'three.npy' });
    expect(await msg('threed.json')).to.match(/has shape \(1, 4, 1\), .*expected \(1, 4\)/);
    expect(((await rejectsGanvas(VectorLibrary.load(path.join(dir, 'missing.json')))).cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
    expect(await msg('format.json')).to.include('is not a ganvas vector library ("format": "ganvas-library/1")');
    for (const f of ['outside.json', 'notnpy.json', 'number.json']) expect(await msg(f), f).to.include('"vectors" must name a .npy file beside it');
    expect(await msg('missing.json')).to.match(/is missing its vectors .*gone\.npy/);
    expect(await msg('shape.json')).to.match(/has shape \(1, 4\), .*expected \(1, 5\)/);
    expect(await msg('count.json')).to.match(/has shape \(1, 4\), .*expected \(2, 4\)/);
    // A library saved before content-named vector files (no "vectors"): <base>.npy beside it.
    const { vectors, ...legacy } = good;
    await write('legacy.json', legacy);
    await fs.copyFile(path.join(dir, vectors), path.join(dir, 'legacy.npy'));
    expect(Array.from((await VectorLibrary.load(path.join(dir, 'legacy.json'))).get('a').vector)).to.deep.equal([1, 2, 3, 4]);
    expect((await rejectsGanvas(lib.save(path.join(dir, 'lib.txt')))).message).to.equal(`a library file must end in .json, got "${path.join(dir, 'lib.txt')}"`);
  });

  it('a save removes older vector files and temporaries of dead processes, keeps those of live ones', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-libstale-'));
    const lib = VectorLibrary.for(cut);
    lib.add('a', '#ff0000', Float32Array.from([1, 2, 3, 4]));
    await lib.save(path.join(dir, 'lib.json'));
    const first = (await fs.readdir(dir)).find((n) => n.endsWith('.npy')) as string;
    const dead = `.lib.json.${2 ** 22 + 12345}.abc123.tmp`; // above Linux's pid_max: no such process
    const live = `.lib.npy.${process.pid}.abc123.tmp`;
    const other = '.other.json.1.abc.tmp';
    for (const n of [dead, live, other, 'lib.npy', 'libx.npy']) await fs.writeFile(path.join(dir, n), 'x');
    lib.add('b', '#0000ff', Float32Array.from([0, 0, 0, 1]));
    await lib.save(path.join(dir, 'lib.json'));
    const names = await fs.readdir(dir);
    expect(names).to.not.include(first);
    expect(names).to.not.include(dead);
    expect(names).to.not.include('lib.npy');
    expect(names).to.include.members([live, other, 'libx.npy', 'lib.json']);
    expect(names.filter((n) => /^lib\.[0-9a-f]{12}\.npy$/.test(n))).to.have.length(1);
  });
});

describe('paint variations on the identity tail (hand-worked)', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('vectorVariations writes each given vector, not the palette one, exactly at the mask positions', async () => {
    // identity tail: the image is the layer (3 channels, 4×4). The 8×8 mask's red rows 0-3, cols 4-7 land on layer
    // rows 0-1, cols 2-3 (nearest, ⌊dst·2⌋); elsewhere the seed-2 sample is kept.
    const gen = await Generator.open(await identityGenerator(), rt);
    const cut = await gen.cut('h');
    const mask = solid(8, 8, KEEP_COLOR);
    fillRect(mask, 0, 4, 4, 8, '#ff0000');
    const painter = new Painter(cut, { '#ff0000': Float32Array.from([0.9, 0.9, 0.9]) });
    const vectors = [Float32Array.from([0.1, -0.2, 0.3]), Float32Array.from([-0.5, 0.25, 0.75])];
    const out = await painter.vectorVariations(mask, '#FF0000', vectors, { seed: 2 });
    expect(out.dims).to.deep.equal([2, 3, 4, 4]);
    const original = await gen.generate([2]);
    const red = new Set([2, 3, 6, 7]); // (y, x) = (0, 2), (0, 3), (1, 2), (1, 3)
    for (let k = 0; k < 2; k++) {
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < 16; i++) {
          const expected = red.has(i) ? vectors[k][c] : original.data[c * 16 + i];
          expect(out.data[(k * 3 + c) * 16 + i], `variation ${k} channel ${c} position ${i}`).to.equal(expected);
        }
      }
    }
    await rejectsGanvas(painter.vectorVariations(mask, '#0000ff', vectors));
  });
});

// Issue 19 (mutation testing of src/paint.ts): mask reading, color counting and every refusal, hand-worked.
describe('paint: masks, colors and refusals (hand-worked)', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());
  const idCut = async () => (await Generator.open(await identityGenerator(), rt)).cut('h');
  const three = () => Float32Array.from([0.1, 0.2, 0.3]);

  it('readMask refuses missing masks and malformed RGB pixels, naming what is wrong', async () => {
    for (const bad of [null, undefined]) {
      expect((await rejectsGanvas(readMask(bad as unknown as RgbImage), 'BAD_IMAGE')).message).to.include('a mask must be a PNG/JPEG path, its bytes, or {data, width, height} RGB pixels');
    }
    expect((await rejectsGanvas(readMask({ data: new Uint8Array(0), width: 0, height: 2 }))).message).to.include("an RGB mask's width");
    expect((await rejectsGanvas(readMask({ data: new Uint8Array(0), width: 2, height: 0 }))).message).to.include("an RGB mask's height");
    expect((await rejectsGanvas(readMask({ data: [0, 0, 0] as unknown as Uint8Array, width: 1, height: 1 }))).message).to.include("an RGB mask's data must be a Uint8Array");
    expect((await rejectsGanvas(readMask({ data: new Uint8Array(5), width: 2, height: 3 }))).message).to.include('an RGB mask of 2×3 needs 18 bytes, got 5');
    expect((await rejectsGanvas(readMask(Buffer.from('no image here')))).message).to.include('cannot read mask');
  });

  it('maskColors counts every pixel once, most frequent first', () => {
    const img = solid(3, 2, '#ff0000'); // 6 red
    fillRect(img, 0, 0, 1, 2, '#0000ff'); // 2 blue
    fillRect(img, 1, 2, 2, 3, '#00ff00'); // 1 green
    expect(maskColors(img)).to.deep.equal([
      { color: '#ff0000', pixels: 3 },
      { color: '#0000ff', pixels: 2 },
      { color: '#00ff00', pixels: 1 },
    ]);
  });

  it('refuses palettes that are not maps, non-finite vectors and a palette color equal to the keep color', async () => {
    const cut = await idCut();
    for (const bad of [5, null, [three()]]) {
      expect(() => new Painter(cut, bad as unknown as Record<string, Float32Array>)).to.throw(GanvasError, 'a palette must be a VectorLibrary or an object {"#rrggbb": Float32Array}');
    }
    expect(() => new Painter(cut, { '#ff0000': Float32Array.from([0, Number.NaN, 0]) })).to.throw(GanvasError, 'the vector for #ff0000');
    expect(() => new Painter(cut, { '#000000': three() }, '#000000')).to.throw(GanvasError, '#000000 is the keep color; it cannot also map to a vector');
  });

  it('unknown colors: the strays alone (at most 8, then …), all colors found, the palette and keep color', async () => {
    const cut = await idCut();
    const painter = new Painter(cut, { '#ff0000': three() });
    // 10 pixels wide: column 0 red (in the palette), columns 1–9 nine stray greys #010101 … #090909, one row.
    const mask: RgbImage = { data: new Uint8Array(30), width: 10, height: 1 };
    mask.data.set([255, 0, 0], 0);
    for (let x = 1; x < 10; x++) mask.data.set([x, x, x], 3 * x);
    const msg = (await rejectsGanvas(painter.paint(mask))).message;
    const strays = msg.slice(msg.indexOf('not in the palette: '), msg.indexOf('. Colors found'));
    expect(msg).to.include('the mask has 9 color(s) that are not in the palette: #010101 (1 px)');
    expect(strays).to.not.include('#ff0000');
    expect(strays).to.include('#080808 (1 px), …');
    expect(strays).to.not.include('#090909');
    expect(msg).to.include('. Colors found: #ff0000 (1 px)');
    expect(msg).to.include('Palette: #ff0000, keep: #00ff00. Draw without anti-aliasing');
    // Exactly 8 strays: no ellipsis. An empty palette says so.
    const eight: RgbImage = { data: mask.data.slice(0, 27), width: 9, height: 1 };
    expect((await rejectsGanvas(painter.paint(eight))).message).to.include('#080808 (1 px). Colors found');
    const empty = new Painter(cut, {});
    expect((await rejectsGanvas(empty.paint(eight))).message).to.include('Palette: (empty), keep: #00ff00');
  });

  it('paintLabels names the size a map needs and the valid label range; −2 is refused', async () => {
    const cut = await idCut();
    const painter = new Painter(cut, { '#ff0000': three(), '#0000ff': three() });
    expect((await rejectsGanvas(painter.paintLabels({ data: new Int16Array(10), height: 2, width: 3 }))).message).to.include('a 2×3 label map needs 6 labels, got 10');
    const bad = await rejectsGanvas(painter.paintLabels({ data: Int16Array.from([0, -2, 1, 0]), height: 2, width: 2 }));
    expect(bad.message).to.include('label -2 at position 1 is not a palette index (−1 = keep, 0 … 1)');
  });

  it('vectorVariations names a color that is not in the palette and lists the palette', async () => {
    const cut = await idCut();
    const painter = new Painter(cut, { '#ff0000': three(), '#0000ff': three() });
    const e = await rejectsGanvas(painter.vectorVariations(solid(4, 4, KEEP_COLOR), '#123456', [three()]));
    expect(e.message).to.include('#123456 is not in the palette (#ff0000, #0000ff)');
  });

  it('paintingPng scales the image: a 4×4 painting at scale 2 is an 8×8 PNG', async () => {
    const cut = await idCut();
    const p = await paint(cut, solid(4, 4, KEEP_COLOR), {}, { seed: 1 });
    const png = await paintingPng(p, [-1, 1], 2);
    // PNG: 8-byte signature, IHDR length and type, then width and height as big-endian 32-bit integers.
    expect(png.readUInt32BE(16)).to.equal(8);
    expect(png.readUInt32BE(20)).to.equal(8);
  });
});

describe('datasets', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('random label maps are seeded and use the requested classes', () => {
    for (const kind of ['voronoi', 'blobs', 'strokes'] as const) {
      const a = randomLabels('s', 16, 16, 3, { kind });
      expect(Array.from(a.data)).to.deep.equal(Array.from(randomLabels('s', 16, 16, 3, { kind }).data));
      expect(a.data.every((v) => v >= -1 && v < 3)).to.equal(true);
      expect(new Set(a.data).size).to.be.greaterThan(1);
    }
    expect(() => randomLabels('s', 16, 16, 3, { keepShare: 1.5 })).to.throw(/keepShare is a probability in \[0, 1\], got 1.5/);
    expect(() => randomLabels('s', 0, 16, 3)).to.throw(/positive integer size, got 0×16/);
    expect(() => randomLabels('s', 16, 16, 3, { kind: 'stars' as never })).to.throw(/unknown mask kind "stars"/);
  });

  it('an interrupted run resumes to exactly N pairs, without duplicates or changes', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const lib = VectorLibrary.for(cut);
    lib.add('a', '#ff0000', new Float32Array(4).fill(1));
    lib.add('b', '#0000ff', new Float32Array(4).fill(-1));
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-ds-'));
    try {
      await generateDataset(cut, lib, {
        dir, count: 10, flushEvery: 4,
        onProgress: (d) => {
          if (d === 7) throw new Error('interrupted');
        },
      });
      throw new Error('expected the interruption');
    } catch (e) {
      expect((e as Error).message).to.equal('interrupted');
    }
    const partial = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8'));
    expect(partial.entries).to.have.length(4);
    const before5 = await fs.readFile(path.join(dir, 'images/000005.png'));
    const index = await generateDataset(cut, lib, { dir, count: 10, flushEvery: 4 });
    expect(index.entries.map((e) => e.id)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const sub of ['images', 'labels', 'masks']) expect((await fs.readdir(path.join(dir, sub))).filter((f) => f.endsWith('.png'))).to.have.length(10);
    expect((await fs.readdir(path.join(dir, 'images'))).some((f) => f.endsWith('.tmp'))).to.equal(false);
    expect((await fs.readFile(path.join(dir, 'images/000005.png'))).equals(before5)).to.equal(true);
    // A fresh, uninterrupted run gives the same files.
    const dir2 = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-ds-'));
    await generateDataset(cut, lib, { dir: dir2, count: 10 });
    expect((await fs.readFile(path.join(dir2, 'labels/000008.png'))).equals(await fs.readFile(path.join(dir, 'labels/000008.png')))).to.equal(true);
    await rejectsGanvas(generateDataset(cut, lib, { dir, count: 10, seed: 1 }));
    const twice = await rejectsGanvas(generateDataset(cut, lib, { dir: dir2, count: 10, classes: ['a', 'b', 'a'] }));
    expect(twice.message).to.include('classes lists "a" more than once');
  });
});

/**
 * Issue 15, "Nothing lost, nothing crashes": one test per fix, each of which failed before it (the message or the
 * behaviour it checks did not exist: silent acceptance, a TypeError, a hang or a V8 abort).
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { deflateSync } from 'zlib';
import {
  Generator,
  Runtime,
  VectorLibrary,
  WidgetServer,
  decodeModel,
  generateDataset,
  openModel,
  rank,
  readMask,
  readNpy,
  sampleVectors,
  toPng,
  vectorsFromProvenance,
  visualize,
  writeFileAtomic,
  writeNpy,
  Scan,
} from 'ganvas';
import { GraphBuilder } from './builder';
import { tinyClassifier, tinyGenerator } from './models';
import { rejectsGanvas, throwsGanvas } from './util';

const tmp = (p: string) => fs.mkdtemp(path.join(os.tmpdir(), `ganvas-rel-${p}-`));

/** A PNG whose header claims width×height (valid CRCs) over a tiny IDAT: decoders read the size before the pixels. */
export function pngClaiming(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 255] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('reliability (issue 15)', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('masks: SVG is refused (bytes or path, references never followed), decoded pixels are capped', async () => {
    const dir = await tmp('svg');
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="8000" height="8000"><filter id="b"><feGaussianBlur stdDeviation="90"/></filter><rect width="8000" height="8000" filter="url(#b)"/><image href="secret.png"/></svg>';
    await fs.writeFile(path.join(dir, 'm.svg'), svg);
    const t0 = Date.now();
    expect((await rejectsGanvas(readMask(Buffer.from(svg)), 'BAD_IMAGE')).message).to.match(/SVG\/XML file; ganvas reads PNG or JPEG images only/);
    expect((await rejectsGanvas(readMask(path.join(dir, 'm.svg')), 'BAD_IMAGE')).message).to.include('PNG or JPEG');
    const huge = await rejectsGanvas(readMask(pngClaiming(20000, 20000)), 'BAD_IMAGE');
    expect(huge.message).to.match(/at most 67108864 pixels/);
    expect(Date.now() - t0).to.be.below(5000);
    await rejectsGanvas(readMask(null as never), 'BAD_IMAGE');
    await rejectsGanvas(readMask(dir), 'BAD_IMAGE'); // a directory
  });

  it('counts: generateDataset and sampleVectors refuse bad counts before allocating or writing anything', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const lib = VectorLibrary.for(cut);
    lib.add('a', '#ff0000', new Float32Array(4).fill(1));
    for (const count of [Infinity, -1, 0, NaN, 1.5, '2', 2e6]) {
      const dir = path.join(await tmp('count'), 'ds');
      const e = await rejectsGanvas(generateDataset(cut, lib, { dir, count: count as number }), 'BAD_INPUT');
      expect(e.message).to.match(/count \(pairs to generate\) must be an integer from 1 to 1000000/);
      expect(await fs.stat(dir).then(() => true, () => false), `nothing written for count ${String(count)}`).to.equal(false);
    }
    const t0 = Date.now();
    expect((await rejectsGanvas(sampleVectors(cut, { count: 1e9 }))).message).to.match(/sampleVectors count = 1000000000 needs .* GiB.*use at most \d+/);
    expect(Date.now() - t0).to.be.below(1000);
    for (const batchSize of [0, -1, NaN]) {
      expect((await rejectsGanvas(sampleVectors(cut, { count: 2, batchSize }))).message).to.include(`batchSize must be an integer ≥ 1, got ${batchSize}`);
    }
  });

  it('ONNX: a graph with a cycle is refused at once, naming the cycle', () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 4]);
    g.node('Add', [x, 'b'], 'a');
    g.node('Relu', ['a'], 'b');
    g.node('Identity', ['b'], 'y');
    g.output('y', ['N', 4]);
    const t0 = Date.now();
    const e = throwsGanvas(() => decodeModel(g.bytes(), 'cyclic.onnx'), 'NOT_ONNX');
    expect(e.message).to.match(/its nodes form a cycle \("Add_0" → "Relu_1" → "Add_0"\)|its nodes form a cycle \("Relu_1" → "Add_0" → "Relu_1"\)/);
    expect(Date.now() - t0).to.be.below(500);
    const twice = new GraphBuilder();
    const y = twice.input('x', ['N', 4]);
    twice.node('Relu', [y], 'r');
    twice.node('Sigmoid', [y], 'r');
    twice.output('r', ['N', 4]);
    expect(throwsGanvas(() => decodeModel(twice.bytes(), 'ssa.onnx')).message).to.include('tensor "r" is written by two nodes');
  });

  it('manifests: shapes, distributions, preprocess and ranges are checked, and against the graph at open', async () => {
    const dir = await tinyGenerator();
    const good = JSON.parse(await fs.readFile(path.join(dir, 'ganvas.json'), 'utf8'));
    const tryManifest = async (edit: (m: Record<string, any>) => void, modelDir = dir, base = good): Promise<string> => {
      const d = await tmp('man');
      await fs.copyFile(path.join(modelDir, 'model.onnx'), path.join(d, 'model.onnx'));
      const m = JSON.parse(JSON.stringify(base));
      edit(m);
      await fs.writeFile(path.join(d, 'ganvas.json'), JSON.stringify(m));
      return (await rejectsGanvas(openModel(d), 'BAD_MANIFEST')).message;
    };
    for (const bad of [1.5, -64, 1e12, 3e8]) {
      expect(await tryManifest((m) => (m.inputs[0].shape[1] = bad))).to.include(`inputs[0].shape[1] must be a positive integer up to 1048576 or a symbolic name such as "N", got ${bad}`);
    }
    expect(await tryManifest((m) => (m.inputs[1].shape = ['N', 1024, 1024, 1024]))).to.match(/inputs\[1\]\.shape describes 1073741824 values per sample/);
    expect(await tryManifest((m) => (m.inputs[0].distribution = 'gauss'))).to.include('inputs[0].distribution must be one of "normal", "uniform", "zeros", got "gauss"');
    expect(await tryManifest((m) => (m.outputs[0].range = [1, 1]))).to.include('outputs[0].range must be [low, high] with finite low < high');
    expect(await tryManifest((m) => (m.inputs[0].shape = ['N', 9]))).to.include('inputs[0].shape[1] is 9, but the graph\'s input "z" has 8 there');
    expect(await tryManifest((m) => (m.inputs[1].shape = ['N', 1, 8]))).to.include('inputs[1].shape [N, 1, 8] has 3 axes; the graph\'s input "noise" has 4');
    expect(await tryManifest((m) => delete m.outputs[0].range)).to.include('a generator needs an image output with a "range"');
    const cdir = await tinyClassifier();
    const cls = JSON.parse(await fs.readFile(path.join(cdir, 'ganvas.json'), 'utf8'));
    expect(await tryManifest((m) => (m.preprocess.std = [0]), cdir, cls)).to.include('preprocess.std must be positive');
    expect(await tryManifest((m) => (m.preprocess.range = [1, 1]), cdir, cls)).to.include('preprocess.range must be [low, high] with finite low < high');
    expect(await tryManifest((m) => (m.preprocess.channels = 3), cdir, cls)).to.match(/preprocess.mean must list 3 finite number|preprocess.channels is 3, but the graph's input "image" has 1 channels/);
    expect(await tryManifest((m) => Object.assign(m.preprocess, { channels: 3, mean: [0, 0, 0], std: [1, 1, 1] }), cdir, cls)).to.include(
      'preprocess.channels is 3, but the graph\'s input "image" has 1 channels',
    );
    expect(await tryManifest((m) => (m.preprocess.size = [32, 16]), cdir, cls)).to.include('preprocess.size[0] (H) is 32, but the graph\'s input "image" is 16 there');
    expect(await tryManifest((m) => delete m.preprocess, cdir, cls)).to.include('a classifier needs "preprocess"');
    const onnxOnly = await rejectsGanvas(Generator.open(path.join(dir, 'model.onnx')), 'BAD_MANIFEST');
    expect(onnxOnly.message).to.include('is an ONNX file; ganvas opens a model directory holding model.onnx and its ganvas.json manifest');
  });

  it('non-finite and out-of-range values are refused: vectors, library .npy, positions, .npy dims, ports', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const lib = VectorLibrary.for(cut);
    for (const v of [new Float32Array([NaN, 0, 0, 0]), new Float32Array([Infinity, 0, 0, 0]), 'abcd', { length: 4 }, null]) {
      const e = await rejectsGanvas(Promise.resolve().then(() => lib.add('v', '#ff0000', v as Float32Array)), 'BAD_INPUT');
      expect(e.message).to.match(/holds (NaN|Infinity) at index 0|must be a Float32Array/);
      await rejectsGanvas(visualize(cut, [{ vector: v as Float32Array }], { backgroundSeed: 0 }), 'BAD_INPUT');
    }
    expect(lib.entries).to.have.length(0);
    // A library whose .npy holds NaN does not load.
    const dir = await tmp('nanlib');
    lib.add('ok', '#ff0000', new Float32Array(4).fill(1));
    await lib.save(path.join(dir, 'lib.json'));
    const json = JSON.parse(await fs.readFile(path.join(dir, 'lib.json'), 'utf8'));
    await fs.writeFile(path.join(dir, json.vectors), writeNpy({ data: new Float32Array([1, NaN, 1, 1]), dims: [1, 4] }));
    expect((await rejectsGanvas(VectorLibrary.load(path.join(dir, 'lib.json')))).message).to.match(/entry 0 \("ok"\): .*holds NaN at index 1/);
    for (const [y, x] of [[999, 0], [0, -1], [0.5, 0], [NaN, 0]]) {
      const e = await rejectsGanvas(vectorsFromProvenance(cut, [{ model: 'tiny-gen', layer: 'b8.conv1', seed: 0, y, x }]), 'BAD_INPUT');
      expect(e.message).to.include('is not a position of the 8×8 layer');
    }
    const npy = writeNpy({ data: new Float32Array(6), dims: [2, 3] });
    const neg = Buffer.from(npy.toString('latin1').replace("'shape': (2, 3)", "'shape': (-2,-3)"), 'latin1');
    expect(throwsGanvas(() => readNpy(neg), 'BAD_NPY').message).to.include('dimensions must be non-negative integers');
    await rejectsGanvas(WidgetServer.start({ port: 'abc' as unknown as number }), 'BAD_INPUT');
    await rejectsGanvas(WidgetServer.start({ port: 70000 }), 'BAD_INPUT');
  });

  it('rank() puts NaN scores last and keeps the finite ones in order', () => {
    const entry = (cosine: number) => ({ cosine }) as unknown as Scan['entries'][number];
    const s = { entries: [entry(0.2), entry(NaN), entry(0.9), entry(0.5), entry(NaN), entry(0.1)] } as unknown as Scan;
    expect(rank(s).map((e) => e.cosine)).to.deep.equal([0.9, 0.5, 0.2, 0.1, NaN, NaN]);
  });

  it('clear errors: null colours, library JSON without entries, toPng scale, file-system errors, prototype-key layers', async () => {
    const lib = new VectorLibrary('m', 'l', 2);
    expect(throwsGanvas(() => lib.add('x', null as unknown as string, new Float32Array(2))).message).to.include('a color must be a string "#rrggbb"');
    const dir = await tmp('clear');
    await fs.writeFile(path.join(dir, 'lib.json'), JSON.stringify({ format: 'ganvas-library/1', model: 'm', layer: 'l', channels: 2 }));
    expect((await rejectsGanvas(VectorLibrary.load(path.join(dir, 'lib.json')))).message).to.include('"entries" must be a list of {name, color}');
    await fs.writeFile(path.join(dir, 'lib.json'), JSON.stringify({ format: 'ganvas-library/1', model: 'm', layer: 'l', channels: '2', entries: [] }));
    expect((await rejectsGanvas(VectorLibrary.load(path.join(dir, 'lib.json')))).message).to.include('"channels" must be a positive integer, got "2"');
    const img = { data: new Float32Array(16), dims: [1, 1, 4, 4] };
    for (const scale of [0, NaN, -1, 1.5]) expect((await rejectsGanvas(toPng(img, 0, { scale }), 'BAD_INPUT')).message).to.include('scale must be an integer from 1 to 64');
    await fs.writeFile(path.join(dir, 'afile'), 'x');
    expect((await rejectsGanvas(writeFileAtomic(path.join(dir, 'afile', 'x.json'), '{}'), 'BAD_PATH')).message).to.include('is a file, not a directory (ENOTDIR)');
    expect((await rejectsGanvas(writeFileAtomic(dir, '{}'), 'BAD_PATH')).message).to.include('it is a directory (EISDIR)');
    const gen = await Generator.open(await tinyGenerator(), rt);
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const e = await rejectsGanvas(gen.cut(name), 'NO_SUCH_LAYER');
      expect(e.message).to.include(`has no layer "${name}"`);
    }
  });

  it('saving under /proc fails at once instead of hanging', async () => {
    const t0 = Date.now();
    const lib = new VectorLibrary('m', 'l', 2);
    expect((await rejectsGanvas(lib.save('/proc/ganvas-x/y/lib.json'), 'BAD_PATH')).message).to.match(/cannot create directory/);
    expect(Date.now() - t0).to.be.below(2000);
  });

  it('datasets: seeds never overlap across dataset seeds, a different count is refused, labels are 1-channel, no orphan .tmp', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const lib = VectorLibrary.for(cut);
    lib.add('a', '#ff0000', new Float32Array(4).fill(1));
    lib.add('b', '#0000ff', new Float32Array(4).fill(-1));
    const train = await generateDataset(cut, lib, { dir: await tmp('train'), count: 10, seed: 0 });
    const testDir = await tmp('test');
    const test = await generateDataset(cut, lib, { dir: testDir, count: 5, seed: 1 });
    const trainSeeds = new Set(train.entries.map((e) => e.sampleSeed));
    expect(test.entries.filter((e) => trainSeeds.has(e.sampleSeed))).to.deep.equal([]);
    const e = await rejectsGanvas(generateDataset(cut, lib, { dir: testDir, count: 7, seed: 1 }));
    expect(e.message).to.include('holds a dataset of 5 pairs (5 written); resume it with count 5');
    const meta = await sharp(path.join(testDir, test.entries[0].label)).metadata();
    expect(meta.channels).to.equal(1);
    // A temporary left by a killed process (a pid that does not run) is removed by the next run.
    const orphan = path.join(testDir, 'images', '.000002.png.999999999.deadbeef.tmp');
    await fs.writeFile(orphan, 'half');
    await generateDataset(cut, lib, { dir: testDir, count: 5, seed: 1 });
    expect(await fs.stat(orphan).then(() => true, () => false)).to.equal(false);
  });
});

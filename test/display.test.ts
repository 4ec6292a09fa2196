/**
 * Issue 16 item 4: tensors show as one short line in a notebook (util.inspect, what tslab prints), toPng(images)
 * shows every image at a readable size, and show() picks the right display.
 */
import { expect } from 'chai';
import sharp from 'sharp';
import { inspect } from 'util';
import { FeatureExtractor, GanvasError, Generator, Runtime, loadScan, saveScan, scan, describeTensor, readableScale, sampleVectors, show, tensor, toPng, visualize } from 'ganvas';
import { tinyClassifier, tinyGenerator } from './models';

describe('display', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('a tensor shows shape, range and mean (checked by hand), not its values', () => {
    const t = tensor([1, -2, NaN, 3], [4]);
    expect(describeTensor(t)).to.equal('FloatTensor [4] float32 (4 values; min -2.0000, max 3.0000, mean 0.6667; 1 not finite)');
    expect(inspect(t)).to.equal(describeTensor(t));
    expect(inspect({ a: t })).to.include('FloatTensor [4]');
    // Invisible to JSON, spreads and deep equality.
    expect(JSON.stringify(t)).to.equal(JSON.stringify({ data: t.data, dims: [4] }));
    expect(Object.keys({ ...t })).to.deep.equal(['data', 'dims']);
    expect(t).to.deep.equal({ data: t.data, dims: [4] });
  });

  it('what visualize returns shows as one line, with a hint for images', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 40 });
    for (const bs of [64, 8]) {
      // One onnxruntime call (64) and a concatenation of five (8): both outputs carry the display.
      const images = await visualize(cut, vectors, { grid: 2, batchSize: bs });
      const shown = inspect(images);
      expect(shown).to.match(/^FloatTensor \[40, 1, 8, 8\] float32 \(2560 values; min -?\d\.\d{4}, max -?\d\.\d{4}, mean -?\d\.\d{4}\) — 40 images 8×8: show\(t\) displays them$/);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of images.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      expect(shown).to.include(`min ${lo.toFixed(4)}, max ${hi.toFixed(4)}`);
    }
  });

  it('a scan shows as one paragraph with its score quantiles (checked against a hand-computed median)', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const fx = await FeatureExtractor.open(await tinyClassifier({ valid: true }), 'layer2', rt);
    const s = await scan(cut, fx, { count: 9, erosion: 1 });
    const sorted = s.entries.map((e) => e.cosine).sort((a, b) => a - b);
    const shown = inspect(s);
    expect(shown).to.match(/^Scan of 9 vectors: tiny-gen b8\.conv1 × tiny-cls layer2, grid\(2\), erosion 1, seed 0; cosine p1 /);
    expect(shown).to.include(`median ${sorted[4].toFixed(3)}`);
    expect(shown).to.include(`p1 ${(sorted[0] + 0.08 * (sorted[1] - sorted[0])).toFixed(3)}`);
    expect(shown.split('\n')).to.have.length(1);
    const os = await import('os');
    const path = await import('path');
    const file = path.join(os.tmpdir(), `ganvas-scan-display-${process.pid}.json`);
    await saveScan(file, s);
    expect(inspect(await loadScan(file))).to.equal(shown);
  });

  it('toPng(images) is a sheet of all images (8 per row) at a readable size; toPng(images, n) stays one image', async () => {
    const n = 10;
    const data = new Float32Array(n * 32 * 32);
    for (let i = 0; i < n; i++) data.fill(-1 + (2 * i) / (n - 1), i * 1024, (i + 1) * 1024);
    const t = tensor(data, [n, 1, 32, 32]);
    expect(readableScale(32, 32)).to.equal(4);
    const sheet = await sharp(await toPng(t)).raw().toBuffer({ resolveWithObject: true });
    const cell = 128 + 2;
    expect([sheet.info.width, sheet.info.height]).to.deep.equal([2 + 8 * cell, 2 + 2 * cell]);
    // Image i sits at row ⌊i/8⌋, column i mod 8, filled with its own gray.
    for (let i = 0; i < n; i++) {
      const x = 2 + (i % 8) * cell + 64;
      const y = 2 + Math.floor(i / 8) * cell + 64;
      const v = sheet.data[(y * sheet.info.width + x) * sheet.info.channels];
      expect(v, `image ${i}`).to.equal(Math.round(((2 * i) / (n - 1)) * 127.5));
    }
    const one = await sharp(await toPng(t, 3)).metadata();
    expect([one.width, one.height]).to.deep.equal([32, 32]);
    const single = await sharp(await toPng(tensor(data.subarray(0, 1024), [1, 1, 32, 32]), { range: [-1, 1] })).metadata();
    expect([single.width, single.height]).to.deep.equal([128, 128]);
    const small = await sharp(await toPng(t, { scale: 1 })).metadata();
    expect(small.width).to.equal(2 + 8 * 34);
  });

  it('show() outside a notebook prints what it would show', async () => {
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stdout.write;
    try {
      await show(tensor(new Float32Array(2 * 16), [2, 1, 4, 4]));
      await show({ a: 1 });
    } finally {
      process.stdout.write = write;
    }
    expect(lines[0]).to.match(/^\[ganvas\] PNG of \d+ bytes/);
    expect(lines[1]).to.equal('{ a: 1 }\n');
  });

  it('a GanvasError prints its code and message first, its cause in one line, and three stack frames', () => {
    const inner = new Error('native failure');
    const e = new GanvasError('RUNTIME', 'onnxruntime failed to run model.onnx', { cause: inner });
    const lines = inspect(e).split('\n');
    expect(lines[0]).to.equal('GanvasError [RUNTIME]: onnxruntime failed to run model.onnx');
    expect(lines[1]).to.equal('  caused by: native failure');
    expect(lines.slice(2, 5).every((l) => /^\s+at /.test(l))).to.equal(true);
    expect(lines[5]).to.match(/^ {4}… \d+ more frames? \(error\.stack has them all\)$/);
    expect(lines).to.have.length(6);
    expect(inspect(e)).to.not.include(inner.stack?.split('\n')[1] ?? '???');
    // Nothing repeated when the message already quotes the cause; stack and toString are unchanged.
    const f = new GanvasError('BAD_INPUT', 'cannot read x: native failure', { cause: inner });
    expect(inspect(f)).to.not.include('caused by');
    expect(String(f)).to.equal('GanvasError: cannot read x: native failure');
    expect(f.stack?.startsWith('GanvasError: cannot read x')).to.equal(true);
  });
});

describe('writeNpy / readNpy with a path', () => {
  it('writes atomically and reads back; the Buffer form still works', async () => {
    const { promises: fs } = await import('fs');
    const os = await import('os');
    const path = await import('path');
    const { readNpy, writeNpy } = await import('ganvas');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-npy-'));
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const file = path.join(dir, 'sub', 'a.npy');
    await writeNpy(file, t);
    expect((await fs.readFile(file)).equals(writeNpy(t))).to.equal(true);
    const back = await readNpy(file);
    expect(Array.from(back.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(back.dims).to.deep.equal([2, 3]);
    expect((await fs.readdir(path.join(dir, 'sub'))).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
    let e: unknown;
    await readNpy(path.join(dir, 'missing.npy')).catch((x) => (e = x));
    expect((e as GanvasError).code).to.equal('BAD_NPY');
    await fs.rm(dir, { recursive: true, force: true });
  });
});

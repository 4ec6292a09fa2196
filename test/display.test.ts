/**
 * Issue 16 item 4: tensors show as one short line in a notebook (util.inspect, what tslab prints), toPng(images)
 * shows every image at a readable size, and show() picks the right display.
 */
import { expect } from 'chai';
import sharp from 'sharp';
import { inspect } from 'util';
import { Generator, Runtime, describeTensor, readableScale, sampleVectors, show, tensor, toPng, visualize } from 'ganvas';
import { tinyGenerator } from './models';

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
});

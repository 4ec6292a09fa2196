/**
 * Issue 19: src/runtime/image.ts piece by piece — pixel values worked out by hand from the documented mappings
 * (range → 0…255, nearest upscaling, the sheet layout of README's figures), read back with sharp, and every
 * refusal with what it names.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import {
  FloatTensor,
  MAX_IMAGE_BYTES,
  MAX_IMAGE_PIXELS,
  contactSheet,
  decodeImage,
  fromImage,
  imageBytes,
  rawToPng,
  readableScale,
  toPixels,
  toPng,
} from 'ganvas';
import { pngClaiming } from './fuzz/png';
import { rejectsGanvas, throwsGanvas } from './util';

const t = (data: number[], dims: number[]): FloatTensor => ({ data: Float32Array.from(data), dims });
async function pixels(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Channel 0 of every pixel (sharp may decode a gray PNG as RGB). */
function gray(p: { data: Buffer; channels: number }): number[] {
  return Array.from({ length: p.data.length / p.channels }, (_, i) => p.data[i * p.channels]);
}

describe('runtime/image.ts: tensor → pixels', () => {
  it('maps the range linearly onto 0…255, rounds, clamps outside, and interleaves channels', () => {
    // One 1×4 sample per channel set; range [0, 1]: 0 → 0, 0.5 → 127.5 → 128, 1 → 255, −0.2 → 0, 1.7 → 255.
    const gray = toPixels(t([0, 0.5, 1, -0.2], [1, 1, 1, 4]), 0, [0, 1]);
    expect(gray).to.include({ width: 4, height: 1, channels: 1 });
    expect(Array.from(gray.data)).to.deep.equal([0, 128, 255, 0]);
    expect(Array.from(toPixels(t([1.7, 0.25, 0.002, 0.998], [1, 1, 1, 4]), 0, [0, 1]).data)).to.deep.equal([255, 64, 1, 254]);
    // Range [−1, 1] (the default): k = 127.5; −1 → 0, 0 → 127.5 → 128, 0.5 → 191.25 → 191.
    expect(Array.from(toPixels(t([-1, 0, 0.5, 1], [1, 1, 2, 2]), 0).data)).to.deep.equal([0, 128, 191, 255]);
    // Range [10, 20]: 15 → 127.5 → 128, 12 → 51.
    expect(Array.from(toPixels(t([15, 12], [1, 1, 1, 2]), 0, [10, 20]).data)).to.deep.equal([128, 51]);
    // RGB planes (C, H, W) become interleaved pixels (H, W, C); sample 1 of two.
    const rgb = t([0, 0, 0, 0, 0, 0, /* sample 1 */ 0.2, 0.4, 0.6, 0.8, 1, 0], [2, 3, 1, 2]);
    const p = toPixels(rgb, 1, [0, 1]);
    expect(p).to.include({ width: 2, height: 1, channels: 3 });
    expect(Array.from(p.data)).to.deep.equal([51, 153, 255, 102, 204, 0]);
  });

  it('refuses NaN pixels with their count, other channel counts, samples out of range and bad ranges', () => {
    const e = throwsGanvas(() => toPixels(t([NaN, 0, NaN, 1], [1, 1, 2, 2]), 0), 'RUNTIME');
    expect(e.message).to.equal('sample 0 holds 2 NaN pixel values; refusing to write them as black (check the vectors or inputs that produced it)');
    expect(throwsGanvas(() => toPixels(t(new Array(8).fill(0), [1, 2, 2, 2]), 0), 'BAD_IMAGE').message).to.equal(
      'an image tensor needs 1 or 3 channels, got 2 (dims [1, 2, 2, 2])',
    );
    throwsGanvas(() => toPixels(t(new Array(16).fill(0), [1, 4, 2, 2]), 0), 'BAD_IMAGE');
    const two = t(new Array(8).fill(0), [2, 1, 2, 2]);
    expect(throwsGanvas(() => toPixels(two, 2), 'BAD_INPUT').message).to.equal('sample 2 is out of range: the tensor holds 2');
    expect(throwsGanvas(() => toPixels(two, -1), 'BAD_INPUT').message).to.equal('sample -1 is out of range: the tensor holds 2');
    expect(throwsGanvas(() => toPixels(two, 0.5), 'BAD_INPUT').message).to.equal('sample index must be an integer, got 0.5');
    expect(toPixels(two, 1).data.length).to.equal(4);
    for (const range of [[1, 1], [2, 1], [0, NaN], [0, Infinity], [0], [0, 1, 2], 'ab'] as unknown as [number, number][]) {
      const r = throwsGanvas(() => toPixels(two, 0, range), 'BAD_INPUT');
      expect(r.message).to.equal(`an image range must be [low, high] with finite low < high, got ${JSON.stringify(range)}`);
    }
  });

  it('readableScale shows an image at about 128 px: the largest side decides', () => {
    expect(readableScale(32, 32)).to.equal(4);
    expect(readableScale(64, 64)).to.equal(2);
    expect(readableScale(33, 33)).to.equal(3);
    expect(readableScale(128, 128)).to.equal(1);
    expect(readableScale(300, 300)).to.equal(1);
    expect(readableScale(16, 64)).to.equal(2);
    expect(readableScale(64, 16)).to.equal(2);
    expect(readableScale(2, 2)).to.equal(64);
    // At most 64, the largest scale rawToPng takes: a 1×1 image is shown at 64 px, not refused.
    expect(readableScale(1, 1)).to.equal(64);
    expect(readableScale(0, 0)).to.equal(64);
  });
});

describe('runtime/image.ts: PNG out', () => {
  it('rawToPng upscales by nearest neighbour and keeps one channel as one channel', async () => {
    const raw = Uint8Array.from([0, 100, 200, 255]);
    const png = await rawToPng(raw, 2, 2, 1, 3);
    const meta = await sharp(png).metadata();
    expect(meta).to.include({ width: 6, height: 6, channels: 1, format: 'png' });
    const p = await pixels(png);
    // Pixel (x, y) of the 6×6 image is source pixel (⌊x/3⌋, ⌊y/3⌋).
    for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) expect(p.data[(y * 6 + x) * p.channels]).to.equal(raw[Math.floor(y / 3) * 2 + Math.floor(x / 3)]);
    const rgb = await pixels(await rawToPng(Uint8Array.from([1, 2, 3, 4, 5, 6]), 2, 1, 3));
    expect(rgb).to.include({ width: 2, height: 1, channels: 3 });
    expect(Array.from(rgb.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    // A subarray is read from its own offset.
    const big = Uint8Array.from([9, 9, 10, 20]);
    const fromSub = await pixels(await rawToPng(big.subarray(2), 2, 1, 1));
    expect([fromSub.data[0], fromSub.data[fromSub.channels]]).to.deep.equal([10, 20]);
  });

  it('rawToPng refuses scales outside 1…64 or beyond the pixel limit, saying which', async () => {
    const raw = new Uint8Array(4);
    for (const scale of [0, 65, 1.5, -2]) {
      const e = await rejectsGanvas(rawToPng(raw, 2, 2, 1, scale), 'BAD_INPUT');
      expect(e.message).to.equal(`scale must be an integer from 1 to 64 that keeps the image under ${MAX_IMAGE_PIXELS} pixels, got ${scale} for a 2×2 image`);
    }
    const s = await rejectsGanvas(rawToPng(raw, 2, 2, 1, '2' as unknown as number), 'BAD_INPUT');
    expect(s.message).to.include('got "2" for a 2×2 image');
    expect(await rawToPng(raw, 2, 2, 1, 64)).to.be.instanceOf(Buffer);
    // 200 × 64 = 12,800 a side: 163.8 Mpx, over the 64 Mpx limit.
    const wide = new Uint8Array(200 * 200);
    expect((await rejectsGanvas(rawToPng(wide, 200, 200, 1, 64), 'BAD_INPUT')).message).to.include('for a 200×200 image');
  });

  it('toPng: one sample at scale 1 by default; an options object as second argument means all samples', async () => {
    const two = t([-1, 1, 1, -1, /* sample 1 */ 0, 0, 1, 1], [2, 1, 2, 2]);
    expect(await sharp(await toPng(two, 1)).metadata()).to.include({ width: 2, height: 2, channels: 1 });
    expect(gray(await pixels(await toPng(two, 1)))).to.deep.equal([128, 128, 255, 255]);
    const scaled = await pixels(await toPng(two, 0, { scale: 2, range: [0, 1] }));
    expect(scaled.width).to.equal(4);
    expect(gray(scaled).slice(0, 4)).to.deep.equal([0, 0, 255, 255]);
    // A single sample without n: shown at the readable scale (2×2 → 64).
    const one = t([-1, 1, 1, -1], [1, 1, 2, 2]);
    const auto = await sharp(await toPng(one)).metadata();
    expect(auto).to.include({ width: 128, height: 128 });
    const viaOpts = await pixels(await toPng(one, { range: [0, 1], scale: 1 }));
    expect(gray(viaOpts)).to.deep.equal([0, 255, 255, 0]);
  });

  it('toPng of many samples: a sheet of 8 per row, sample 0 top left, in order, at the readable scale', async () => {
    // Ten 1×1 gray samples with values 0.1·i (range [0, 1]), first at scale 3 (cells of 3, gap 2).
    const ten = t(Array.from({ length: 10 }, (_, i) => i / 10), [10, 1, 1, 1]);
    const sheet = await pixels(await toPng(ten, { range: [0, 1], scale: 3 }));
    // Width: 8 cells of 3 + 2 gap each, plus one gap = 42; height: 2 rows of 3 + 2, plus one gap = 12.
    expect(sheet).to.include({ width: 42, height: 12 });
    const at = (x: number, y: number): number => sheet.data[(y * sheet.width + x) * sheet.channels];
    for (let i = 0; i < 10; i++) {
      const row = Math.floor(i / 8);
      const col = i % 8;
      const x = 2 + col * 5 + 1;
      const y = 2 + row * 5 + 1;
      // The tensor holds float32 values: 0.7 is 0.69999999 and maps to 178.49999 → 178.
      expect(at(x, y), `sample ${i}`).to.equal(Math.round(Math.fround(i / 10) * 255));
    }
    // Gaps are the white background; the second row has two cells, the rest is background.
    expect(at(0, 0)).to.equal(255);
    expect(at(2 + 2 * 5 + 1, 2 + 5 + 1)).to.equal(255);
    // At the readable scale: 64 for 1×1 samples (one 1×1 sample too).
    const auto = await sharp(await toPng(ten, { range: [0, 1] })).metadata();
    expect(auto).to.include({ width: 8 * (64 + 2) + 2, height: 2 * (64 + 2) + 2 });
    expect(await sharp(await toPng(t([0.5], [1, 1, 1, 1]))).metadata()).to.include({ width: 64, height: 64 });
  });
});

describe('runtime/image.ts: contact sheets', () => {
  const red = t([1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1], [1, 3, 2, 2]);
  const cells = t(new Array(24).fill(0).map((_, i) => (i < 12 ? -1 : 1)), [2, 3, 2, 2]);

  it('lays rows out at scale 2 and gap 2 by default, without a label column when no row has a label', async () => {
    const sheet = await pixels(await contactSheet([{ images: cells }, { images: red }]));
    // Cells 4×4; width = 2 cells × (4 + 2) + 2 = 14; height = 2 rows × (4 + 2) + 2 = 14.
    expect(sheet).to.include({ width: 14, height: 14 });
    const c = sheet.channels;
    const rgbAt = (x: number, y: number): number[] => Array.from(sheet.data.subarray((y * 14 + x) * c, (y * 14 + x) * c + 3));
    expect(rgbAt(2, 2)).to.deep.equal([0, 0, 0]); // row 0, cell 0: black
    expect(rgbAt(5, 5)).to.deep.equal([0, 0, 0]);
    expect(rgbAt(8, 2)).to.deep.equal([255, 255, 255]); // row 0, cell 1: white
    expect(rgbAt(2, 8)).to.deep.equal([255, 0, 0]); // row 1, cell 0: red
    expect(rgbAt(8, 8)).to.deep.equal([255, 255, 255]); // row 1 has one cell: background
    expect(rgbAt(1, 1)).to.deep.equal([255, 255, 255]); // gap
  });

  it('a labelled row adds a 120 px label column (or labelWidth), captions add 14 px per row, column labels 14 px on top', async () => {
    const labelled = await sharp(await contactSheet([{ label: 'full', images: red }], { scale: 1 })).metadata();
    expect(labelled).to.include({ width: 120 + 1 * (2 + 2) + 2, height: 1 * (2 + 2) + 2 });
    const own = await sharp(await contactSheet([{ label: 'x', images: red }], { scale: 1, labelWidth: 10 })).metadata();
    expect(own.width).to.equal(10 + 4 + 2);
    const zero = await pixels(await contactSheet([{ images: red }], { scale: 1, labelWidth: 0, gap: 0 }));
    expect(zero).to.include({ width: 2, height: 2 });
    const captioned = await sharp(await contactSheet([{ images: cells, captions: ['a', 'b'] }, { images: red }], { scale: 1 })).metadata();
    expect(captioned).to.include({ width: 2 * (2 + 2) + 2, height: 2 * (2 + 14 + 2) + 2 });
    const headed = await sharp(await contactSheet([{ images: cells }], { scale: 1, columns: ['g = 1', 'full', 'extra'] })).metadata();
    expect(headed).to.include({ width: 2 * 4 + 2, height: 14 + 4 + 2 });
    const none = await sharp(await contactSheet([{ images: cells }], { scale: 1, columns: [] })).metadata();
    expect(none.height).to.equal(4 + 2);
  });

  it('text is drawn (label column, captions, column labels) and XML-escaped; background is configurable', async () => {
    const plain = await pixels(await contactSheet([{ label: '', images: red }], { scale: 4, labelWidth: 60 }));
    const label = await pixels(await contactSheet([{ label: '<a & "b\'s">', images: red }], { scale: 4, labelWidth: 60 }));
    const dark = (p: { data: Buffer; width: number; channels: number }, x0: number, x1: number, y0: number, y1: number): number => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (p.data[(y * p.width + x) * p.channels] < 128) n++;
      return n;
    };
    expect(dark(plain, 0, 60, 0, plain.height)).to.equal(0);
    expect(dark(label, 0, 60, 0, label.height)).to.be.greaterThan(10);
    const cap = await pixels(await contactSheet([{ images: red, captions: ['<9>'] }], { scale: 8 }));
    expect(dark(cap, 0, cap.width, 2 + 16, cap.height)).to.be.greaterThan(5);
    const col = await pixels(await contactSheet([{ images: red }], { scale: 8, columns: ['"&"'] }));
    expect(dark(col, 0, col.width, 0, 14)).to.be.greaterThan(5);
    const black = await pixels(await contactSheet([{ images: red }], { scale: 1, background: '#000000' }));
    const bc = black.channels;
    expect(Array.from(black.data.subarray(0, 3))).to.deep.equal([0, 0, 0]);
    expect(Array.from(black.data.subarray((2 * black.width + 2) * bc, (2 * black.width + 2) * bc + 3))).to.deep.equal([255, 0, 0]);
  });

  it('refuses an empty sheet and names a row that is not an image batch', async () => {
    expect((await rejectsGanvas(contactSheet([]), 'BAD_INPUT')).message).to.equal('a contact sheet needs at least one row');
    const e = await rejectsGanvas(contactSheet([{ label: 'mine', images: t([0, 0], [2]) }]));
    expect(e.message).to.include('row "mine"');
  });
});

describe('runtime/image.ts: images in', () => {
  let dir = '';
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-imageParts-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('fromImage maps 0…255 onto the range, gray or RGB, and resizes by nearest neighbour (or linear)', async () => {
    const png = await sharp(Buffer.from([0, 0, 255, 255, 255, 0, 51, 51, 51, 0, 0, 0]), { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
    const rgb = await fromImage(png);
    expect(rgb.dims).to.deep.equal([1, 3, 2, 2]);
    // Planes: R = [0, 255, 51, 0]/255, G = [0, 255, 51, 0]/255, B = [255, 0, 51, 0]/255.
    expect(Array.from(rgb.data).map((v) => +v.toFixed(4))).to.deep.equal([0, 1, 0.2, 0, 0, 1, 0.2, 0, 1, 0, 0.2, 0]);
    const ranged = await fromImage(png, { range: [-1, 1] });
    expect(Array.from(ranged.data.subarray(0, 4)).map((v) => +v.toFixed(4))).to.deep.equal([-1, 1, -0.6, -1]);
    const grayPng = await sharp(Buffer.from([0, 255, 102, 51]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
    const gray = await fromImage(grayPng, { channels: 1 });
    expect(gray.dims).to.deep.equal([1, 1, 2, 2]);
    expect(Array.from(gray.data).map((v) => +v.toFixed(4))).to.deep.equal([0, 1, 0.4, 0.2]);
    // A gray file read as RGB: three equal planes.
    const asRgb = await fromImage(grayPng);
    expect(asRgb.dims).to.deep.equal([1, 3, 2, 2]);
    expect(Array.from(asRgb.data.subarray(4, 8))).to.deep.equal(Array.from(asRgb.data.subarray(0, 4)));
    expect(Array.from(asRgb.data.subarray(8, 12))).to.deep.equal(Array.from(asRgb.data.subarray(0, 4)));
    const up = await fromImage(grayPng, { channels: 1, size: [4, 4], range: [0, 255] });
    expect(up.dims).to.deep.equal([1, 1, 4, 4]);
    expect(Array.from(up.data)).to.deep.equal([0, 0, 255, 255, 0, 0, 255, 255, 102, 102, 51, 51, 102, 102, 51, 51]);
    // Size is [H, W]: a 2×2 image to 1 row of 4.
    expect((await fromImage(grayPng, { channels: 1, size: [1, 4] })).dims).to.deep.equal([1, 1, 1, 4]);
    const lin = await fromImage(grayPng, { channels: 1, size: [4, 4], range: [0, 255], kernel: 'linear' });
    expect(Array.from(lin.data).some((v) => v > 0 && v < 255 && v !== 102 && v !== 51)).to.equal(true);
    // A file path reads the same as its bytes.
    const file = path.join(dir, 'g.png');
    await fs.writeFile(file, grayPng);
    expect(Array.from((await fromImage(file, { channels: 1 })).data)).to.deep.equal(Array.from(gray.data));
  });

  it('imageBytes accepts PNG and JPEG by signature, and names what else it got', async () => {
    const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).png().toBuffer();
    const jpeg = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).jpeg().toBuffer();
    expect(await imageBytes(png, 'mask')).to.deep.equal(png);
    expect(await imageBytes(new Uint8Array(jpeg), 'mask')).to.deep.equal(jpeg);
    const sub = Buffer.concat([Buffer.from([1, 2, 3]), png]);
    expect(await imageBytes(sub.subarray(3), 'mask')).to.deep.equal(png);
    const cases: Array<[Buffer, string]> = [
      [Buffer.from('<?xml version="1.0"?><svg/>'), 'an SVG/XML file'],
      [Buffer.from('  <svg xmlns="http://www.w3.org/2000/svg"/>'), 'an SVG/XML file'],
      [Buffer.alloc(0), 'empty'],
      [Buffer.from('GIF89a....'), 'neither PNG nor JPEG'],
      [png.subarray(0, 7), 'neither PNG nor JPEG'],
      [Buffer.from([0xff, 0xd8]), 'neither PNG nor JPEG'],
      [Buffer.from([0xff, 0xd8, 0x00]), 'neither PNG nor JPEG'],
    ];
    for (const [bytes, kind] of cases) {
      const e = await rejectsGanvas(imageBytes(bytes, 'mask'), 'BAD_IMAGE');
      expect(e.message).to.equal(
        `cannot read mask (${bytes.length} bytes): it is ${kind} (expected a PNG or JPEG; ganvas reads no other format — save the mask as PNG)`,
      );
    }
    const svgFile = path.join(dir, 'm.svg');
    await fs.writeFile(svgFile, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    expect((await rejectsGanvas(imageBytes(svgFile, 'mask'), 'BAD_IMAGE')).message).to.equal(
      `cannot read mask ${svgFile}: it is an SVG/XML file (expected a PNG or JPEG; ganvas reads no other format — save the mask as PNG)`,
    );
    for (const [input, word] of [[null, 'null'], [42, 'number'], [{}, 'object']] as Array<[unknown, string]>) {
      expect((await rejectsGanvas(imageBytes(input, 'image'), 'BAD_IMAGE')).message).to.equal(
        `image must be a PNG/JPEG file path or its bytes (Buffer/Uint8Array), got ${word}`,
      );
    }
  });

  it('imageBytes refuses bad paths, folders, missing and oversized files with the path', async () => {
    for (const p of ['', 'a\0b']) {
      expect((await rejectsGanvas(imageBytes(p, 'image'), 'BAD_IMAGE')).message).to.equal(
        `image must be a PNG/JPEG file path or its bytes, got ${JSON.stringify(p)}`,
      );
    }
    expect((await rejectsGanvas(imageBytes(dir, 'mask'), 'BAD_IMAGE')).message).to.equal(
      `cannot read mask ${dir}: it is not a regular file (expected a PNG or JPEG file)`,
    );
    const missing = path.join(dir, 'nope.png');
    const m = await rejectsGanvas(imageBytes(missing, 'mask'), 'BAD_IMAGE');
    expect(m.message).to.match(new RegExp(`^cannot read mask ${missing}: .+ \\(expected a PNG or JPEG file\\)$`));
    expect(m.cause).to.be.instanceOf(Error);
    // A sparse file one byte over the limit: refused by its size before it is read.
    const huge = path.join(dir, 'huge.png');
    const fh = await fs.open(huge, 'w');
    await fh.truncate(MAX_IMAGE_BYTES + 1);
    await fh.close();
    expect((await rejectsGanvas(imageBytes(huge, 'image'), 'BAD_IMAGE')).message).to.equal(
      `image ${huge} is ${MAX_IMAGE_BYTES + 1} bytes; ganvas reads images up to ${MAX_IMAGE_BYTES} bytes`,
    );
    // Exactly at the limit is read (and then refused only for not being a PNG).
    await fs.truncate(huge, MAX_IMAGE_BYTES);
    expect((await rejectsGanvas(imageBytes(huge, 'image'), 'BAD_IMAGE')).message).to.include('it is neither PNG nor JPEG');
    await fs.rm(huge);
    // Unreadable although stat-able (no read permission; root reads anyway, so only checked when it applies).
    const locked = path.join(dir, 'locked.png');
    await fs.writeFile(locked, Buffer.from([0x89]));
    await fs.chmod(locked, 0);
    const r = await imageBytes(locked, 'image').then(() => null, (e: unknown) => e as Error);
    if (process.getuid?.() !== 0) expect(r?.message).to.match(/^cannot read image .*locked\.png: /);
  });

  it('decodeImage names the input and says PNG or JPEG on a broken file, and the pixel limit on a huge one', async () => {
    const good = await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } }).png().toBuffer();
    const { data, info } = await decodeImage(good, 'mask', (img) => img);
    expect(info).to.include({ width: 3, height: 2, channels: 3 }); // alpha dropped
    expect(Array.from(data.subarray(0, 3))).to.deep.equal([10, 20, 30]);
    const broken = Buffer.concat([good.subarray(0, 40), Buffer.alloc(20)]);
    const e = await rejectsGanvas(decodeImage(broken, 'mask', (img) => img), 'BAD_IMAGE');
    expect(e.message).to.match(new RegExp(`^cannot read mask ${broken.length} bytes: .+ \\(expected a PNG or JPEG\\)$`));
    expect(e.message).to.not.include('pixel limit');
    // A header claiming 8193 × 8192 pixels (just over 64 Mpx): refused from the header, before decoding.
    const over = pngClaiming(8193, 8192);
    const big = await rejectsGanvas(decodeImage(over, 'image', (img) => img), 'BAD_IMAGE');
    expect(big.message).to.include(`(at most ${MAX_IMAGE_PIXELS} pixels)`);
    expect(big.message).to.match(/^cannot read image \d+ bytes: /);
    // Exactly 8192 × 8192 passes the header check (and fails later on its tiny pixel data, without the limit named).
    const at = await rejectsGanvas(decodeImage(pngClaiming(8192, 8192), 'image', (img) => img), 'BAD_IMAGE');
    expect(at.message).to.not.include('at most');
    const file = path.join(dir, 'broken.png');
    await fs.writeFile(file, broken);
    expect((await rejectsGanvas(decodeImage(file, 'mask', (img) => img), 'BAD_IMAGE')).message).to.include(`cannot read mask ${file}: `);
  });
});

describe('runtime/image.ts: edges (issue 19 survivors)', () => {
  /** Centre of the text pixels (channel 0 < 200: thin glyph stems are antialiased to about 130) inside a box. */
  function darkCentre(p: { data: Buffer; width: number; channels: number }, x0: number, x1: number, y0: number, y1: number): { x: number; y: number; n: number } {
    let n = 0;
    let sx = 0;
    let sy = 0;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if (p.data[(y * p.width + x) * p.channels] < 200) {
          n++;
          sx += x;
          sy += y;
        }
      }
    }
    return { x: sx / n, y: sy / n, n };
  }
  const white = (n: number, h: number, w: number): FloatTensor => ({ data: new Float32Array(n * 3 * h * w).fill(1), dims: [n, 3, h, w] });

  it('a tensor that is not 4-D is named "image tensor"; a row without a label as row ""', async () => {
    const three = t([0, 0, 0, 0], [1, 2, 2]);
    expect(throwsGanvas(() => toPixels(three, 0), 'NOT_4D').message).to.equal('image tensor must be 4-D (N, C, H, W), got dims [1, 2, 2]');
    expect((await rejectsGanvas(toPng(three), 'NOT_4D')).message).to.equal('image tensor must be 4-D (N, C, H, W), got dims [1, 2, 2]');
    expect((await rejectsGanvas(contactSheet([{ images: three }]), 'NOT_4D')).message).to.equal('row "" must be 4-D (N, C, H, W), got dims [1, 2, 2]');
  });

  it('scales: NaN named as such; exactly 8192 × 8192 pixels is allowed', async function () {
    this.timeout(60000);
    expect((await rejectsGanvas(rawToPng(new Uint8Array(4), 2, 2, 1, NaN), 'BAD_INPUT')).message).to.include('got NaN for a 2×2 image');
    const png = await rawToPng(new Uint8Array(128 * 128), 128, 128, 1, 64);
    expect(await sharp(png, { limitInputPixels: false }).metadata()).to.include({ width: 8192, height: 8192 });
    expect(MAX_IMAGE_PIXELS).to.equal(8192 * 8192);
  });

  it('a multiple of 8 samples fills whole rows (no empty row after them)', async () => {
    const eight = t(new Array(8).fill(0.5), [8, 1, 1, 1]);
    expect(await sharp(await toPng(eight, { scale: 2 })).metadata()).to.include({ width: 8 * 4 + 2, height: 4 + 2 });
    const sixteen = t(new Array(16).fill(0.5), [16, 1, 1, 1]);
    expect((await sharp(await toPng(sixteen, { scale: 2 })).metadata()).height).to.equal(2 * 4 + 2);
  });

  it('signatures: the 8-byte PNG signature alone passes, a JPEG needs all three bytes', async () => {
    const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(await imageBytes(sig, 'image')).to.deep.equal(sig);
    for (const b of [[0x00, 0xd8, 0xff], [0xff, 0x00, 0xff], [0xff, 0xd8, 0x00], [0x00, 0x00, 0xff]]) {
      await rejectsGanvas(imageBytes(Buffer.from(b), 'image'), 'BAD_IMAGE');
    }
    expect(await imageBytes(Buffer.from([0xff, 0xd8, 0xff]), 'image')).to.have.length(3);
    // The file limit is 256 MiB, by the literal figure.
    expect(MAX_IMAGE_BYTES).to.equal(268435456);
  });

  it('fromImage: an unreadable image is named "image" with its cause; RGB read as gray is its luma, not its red', async () => {
    const broken = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(30)]);
    const e = await rejectsGanvas(fromImage(broken), 'BAD_IMAGE');
    expect(e.message).to.match(/^cannot read image 38 bytes: /);
    expect(e.cause).to.be.instanceOf(Error);
    const red = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const g = await fromImage(red, { channels: 1 });
    expect(g.dims).to.deep.equal([1, 1, 1, 1]);
    // libvips' b-w is the luminance, sRGB-encoded: pure red's 0.2126 in linear light is 127/255 ≈ 0.498; the red
    // channel alone would be 1.
    expect(g.data[0]).to.be.within(0.4, 0.6);
  });

  it('sheet geometry: the largest image sets the cell, one labelled row gives all a label column', async () => {
    const sheet = await contactSheet([{ images: white(1, 2, 2) }, { label: 'big', images: white(1, 4, 6) }], { scale: 1, gap: 1 });
    // Cells 6 wide, 4 high; label column 120: width 120 + 1 × (6 + 1) + 1, height 2 × (4 + 1) + 1.
    expect(await sharp(sheet).metadata()).to.include({ width: 128, height: 11 });
  });

  it('text positions: a column label is centred over its column, a row label beside its row’s middle', async () => {
    const sheet = await pixels(await contactSheet([{ images: white(2, 2, 2) }], { scale: 16, columns: ['', 'I'], background: '#ffffff' }));
    // Column 1 spans x = 2 + 34 … 2 + 34 + 32; its centre is 52. Header band: y < 14.
    const col = darkCentre(sheet, 0, sheet.width, 0, 14);
    expect(col.n).to.be.greaterThan(3);
    expect(col.x).to.be.closeTo(52, 1.5);
    const rows = await pixels(await contactSheet([{ images: white(1, 2, 2) }, { label: 'I', images: white(1, 2, 2) }], { scale: 16, labelWidth: 40 }));
    // Row 1 starts at top = 2 + 34 = 36; its middle is 36 + 16 = 52; the text's baseline is 4 px below the middle.
    const lab = darkCentre(rows, 0, 40, 0, rows.height);
    expect(lab.n).to.be.greaterThan(3);
    expect(lab.y).to.be.within(52 - 5, 52 + 2);
    expect(lab.y).to.be.greaterThan(36); // inside row 1, not row 0
    expect(lab.x).to.be.within(3, 10);
  });
});

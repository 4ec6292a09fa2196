/**
 * display.ts and show.ts in this process (issue 19): outside a kernel and inside a tslab kernel faked in-process
 * (test/fakeTslab.ts), whose display calls are recorded. Expected lines are worked out by hand from the clock the
 * test sets (progress) or from util.inspect's documented options (show's text).
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { inspect } from 'util';
import { FloatTensor, inKernel, progress, show, showHtml, showPng, tensor, tslab } from 'ganvas';
import { FakeTslab } from './fakeTslab';

/** Captures what `fn` writes to process.stdout / process.stderr (and, for stderr, with isTTY set as given). */
async function capture(stream: 'stdout' | 'stderr', fn: () => unknown, isTTY = false): Promise<string[]> {
  const s = process[stream];
  const write = s.write;
  const tty = Object.getOwnPropertyDescriptor(s, 'isTTY');
  const out: string[] = [];
  s.write = ((x: string) => (out.push(String(x)), true)) as typeof s.write;
  Object.defineProperty(s, 'isTTY', { value: isTTY, configurable: true, writable: true });
  try {
    await fn();
  } finally {
    s.write = write;
    if (tty) Object.defineProperty(s, 'isTTY', tty);
    else delete (s as { isTTY?: boolean }).isTTY;
  }
  return out;
}

/** Runs `fn` with Date.now() returning what `clock.t` holds. */
async function withClock<T>(clock: { t: number }, fn: () => Promise<T> | T): Promise<T> {
  const now = Date.now;
  Date.now = () => clock.t;
  try {
    return await fn();
  } finally {
    Date.now = now;
  }
}

const img = (dims: number[], f: (i: number) => number = (i) => (i % 7) / 7): FloatTensor => {
  const n = dims.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: n }, (_, i) => f(i)), dims);
};

/** The progress calls of one run by hand: label "scan", total 10, the clock in ms after start. */
const LINES = {
  start: 'scan [..............................] 0/10 0.0/s eta 0s',
  // 2 s: 5 done, 2.5/s, 5 left → 2 s; 15 of 30 bar cells.
  half: 'scan [###############...............] 5/10 2.5/s eta 2s',
  // 2.2 s: 7 done, 7/2.2 = 3.18/s, 3 left → 0.94 s; round(21) cells.
  seven: 'scan [#####################.........] 7/10 3.2/s eta 1s',
  // 2.3 s: all 10, 10/2.3 = 4.35/s.
  done: 'scan [##############################] 10/10 4.3/s done in 2.3s',
};

async function runProgress(clock: { t: number }, quiet = false): Promise<void> {
  const t0 = 1_000_000;
  clock.t = t0;
  await withClock(clock, () => {
    const p = progress('scan', { quiet });
    p(0, 10);
    clock.t = t0 + 100;
    p(2, 10); // 100 ms after the last update: dropped
    clock.t = t0 + 2000;
    p(5, 10);
    clock.t = t0 + 2199;
    p(6, 10); // 199 ms: dropped
    clock.t = t0 + 2200;
    p(7, 10); // 200 ms: shown
    clock.t = t0 + 2300;
    p(10, 10); // the last call always shows
  });
}

describe('display parts: outside a notebook', () => {
  it('finds no kernel; showHtml and showPng print a note instead', async () => {
    expect(tslab()).to.equal(undefined);
    expect(inKernel()).to.equal(false);
    const out = await capture('stdout', () => {
      showHtml('<b>x</b>');
      showPng(new Uint8Array(37));
    });
    expect(out).to.deep.equal(['[ganvas] HTML output is shown in notebooks only\n', '[ganvas] PNG of 37 bytes (shown in notebooks only)\n']);
  });

  it('progress on a terminal: one line rewritten in place (\\r), a newline at the end', async () => {
    const clock = { t: 0 };
    const out = await capture('stderr', () => runProgress(clock), true);
    expect(out).to.deep.equal([`\r${LINES.start}`, `\r${LINES.half}`, `\r${LINES.seven}`, `\r${LINES.done}\n`]);
  });

  it('progress into a file or pipe: only the last line', async () => {
    const clock = { t: 0 };
    const out = await capture('stderr', () => runProgress(clock), false);
    expect(out).to.deep.equal([`${LINES.done}\n`]);
    expect(await capture('stderr', () => runProgress(clock, true), true), 'quiet').to.deep.equal([]);
  });

  it('show() prints text: strings as they are, other values as util.inspect at depth 2 with 20 array items', async () => {
    const out = await capture('stdout', async () => {
      await show('hello');
      await show({ a: { b: { c: { d: 1 } } } });
      await show(Array.from({ length: 25 }, (_, i) => i));
      await show(null);
    });
    expect(out[0]).to.equal('hello\n');
    expect(out[1]).to.equal('{ a: { b: { c: [Object] } } }\n');
    expect(out[2]).to.match(/^\[\s+0, +1, +2,[\s\S]* 19,\s+\.\.\. 5 more items\s*\]\n$/);
    expect(out[3]).to.equal('null\n');
  });
});

describe('display parts: inside a (faked) tslab kernel', () => {
  let fake: FakeTslab;
  let decoys: string[] = [];
  before(() => {
    // A copy of tslab that is loaded but not the running kernel's (no lastWriteDisplayData), found first, and a
    // module that only looks like tslab's: neither may be taken for the kernel.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ganvas-idle-tslab-'));
    const dist = path.join(dir, 'tslab', 'dist');
    mkdirSync(dist, { recursive: true });
    writeFileSync(path.join(dist, 'jupyter.js'), 'exports.ZmqServer = class {};\n');
    decoys = [path.join(dist, 'jupyter.js'), path.join(dir, 'tslab', 'dist', 'jupyter.js.map'), path.join(dir, 'nottslab', 'dist', 'jupyter.js'), path.join(dir, 'tslab', 'lib', 'jupyter.js')];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(decoys[0]);
    for (const k of decoys.slice(1)) require.cache[k] = { id: k, filename: k, loaded: true, exports: { lastWriteDisplayData: () => undefined } } as unknown as NodeModule;
    // A module still loading (no exports yet) at a tslab path.
    const loading = path.join(dir, 'loading', 'tslab', 'dist', 'jupyter.js');
    require.cache[loading] = { id: loading, filename: loading, loaded: false, exports: undefined } as unknown as NodeModule;
    decoys.push(loading);
    fake = FakeTslab.load();
  });
  after(() => {
    fake.detach();
    for (const k of decoys) delete require.cache[k];
  });
  beforeEach(() => fake.take());

  it('finds the running kernel\'s tslab; showHtml and showPng go to its display', async () => {
    expect(inKernel()).to.equal(true);
    const t = tslab();
    expect(t).to.not.equal(undefined);
    const out = await capture('stdout', () => {
      showHtml('<i>y</i>');
      showPng(Uint8Array.from([1, 2, 3]));
    });
    expect(out, 'nothing printed').to.deep.equal([]);
    expect(fake.take()).to.deep.equal([
      { kind: 'html', value: '<i>y</i>', display: 0 },
      { kind: 'png', value: Uint8Array.from([1, 2, 3]), display: 0 },
    ]);
  });

  it('progress: one display of its own, updated in place at most 5 times a second; nothing when quiet', async () => {
    const clock = { t: 0 };
    const err = await capture('stderr', () => runProgress(clock), true);
    expect(err, 'nothing on the terminal').to.deep.equal([]);
    const shown = fake.take();
    expect(shown.map((s) => s.kind)).to.deep.equal(['text', 'text', 'text', 'text']);
    expect(new Set(shown.map((s) => s.display)).size, 'one display').to.equal(1);
    expect(shown[0].display).to.be.greaterThan(0);
    expect(shown.map((s) => s.value)).to.deep.equal([LINES.start, LINES.half, LINES.seven, LINES.done]);
    await runProgress(clock, true);
    expect(fake.take()).to.deep.equal([]);
    // A fresh display per progress line.
    const before = shown[0].display;
    progress('x')(1, 1);
    expect(fake.take()[0].display).to.equal(before + 1);
  });

  it('show(): PNG bytes as a picture, image tensors [N, 1|3, H, W] as a sheet at the asked scale', async () => {
    await show(Buffer.from([9, 8, 7]));
    expect(fake.take()).to.deep.equal([{ kind: 'png', value: Buffer.from([9, 8, 7]), display: 0 }]);
    // Two 4×4 images at scale 1: a sheet 2 + 2·(4 + 2) wide, 2 + (4 + 2) high; at the readable scale (128/4 = 32):
    // one 4×4 image is 128 pixels wide.
    await show(img([2, 1, 4, 4]), { range: [0, 1], scale: 1 });
    await show(img([1, 3, 4, 4]), { range: [0, 1] });
    const [sheet, rgb] = fake.take();
    expect(sheet.kind).to.equal('png');
    const m = await sharp(sheet.value as Buffer).metadata();
    expect([m.width, m.height]).to.deep.equal([14, 8]);
    const m3 = await sharp(rgb.value as Buffer).metadata();
    expect([m3.width, m3.height, m3.channels]).to.deep.equal([128, 128, 3]);
    // Gray 0.5 in [0, 1] is 128 (of 255), in the default [-1, 1] it is 191.
    const half = img([1, 1, 2, 2], () => 0.5);
    await show(half, { range: [0, 1] });
    await show(half);
    const [a, b] = fake.take();
    expect((await sharp(a.value as Buffer).raw().toBuffer())[0]).to.equal(128);
    expect((await sharp(b.value as Buffer).raw().toBuffer())[0]).to.equal(191);
  });

  it('show(): results by their PNG, their HTML or their image, in that order of preference', async () => {
    const png = Uint8Array.from([1, 1]);
    await show({ png, toHtml: () => '<p>no</p>', image: img([1, 1, 2, 2]) });
    await show({ toHtml: () => '<table></table>', image: img([1, 1, 2, 2]) });
    await show({ image: img([1, 1, 2, 2], () => 0.5) }, { range: [0, 1], scale: 3 });
    const [p, h, i] = fake.take();
    expect(p).to.deep.equal({ kind: 'png', value: png, display: 0 });
    expect(h).to.deep.equal({ kind: 'html', value: '<table></table>', display: 0 });
    expect(i.kind).to.equal('png');
    const raw = await sharp(i.value as Buffer).raw().toBuffer({ resolveWithObject: true });
    expect([raw.info.width, raw.data[0]]).to.deep.equal([6, 128]);
  });

  it('show(): anything else as text in the notebook, tensors that are no images by their one-line description', async () => {
    const notImages: unknown[] = [img([1, 2, 4, 4]), img([3, 4, 4]), img([4]), img([1, 4, 4, 4]), img([2, 3, 4]), undefined];
    for (const x of notImages) await show(x);
    await show({ png: [1, 2], image: { data: [1], dims: [1, 1, 1, 1] } });
    await show({ data: new Float32Array(4), dims: 'no' });
    await show('text');
    const shown = fake.take();
    expect(shown.map((s) => s.kind)).to.deep.equal(['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text']);
    // A 3-D tensor whose second size is 3 is no image either; undefined shows as its name.
    expect(shown.splice(4, 2).map((s) => s.value)).to.satisfy((v: string[]) => /^FloatTensor \[2, 3, 4\] float32/.test(v[0]) && v[1] === 'undefined');
    expect(shown[0].value).to.match(/^FloatTensor \[1, 2, 4, 4\] float32 \(32 values; /);
    expect(shown[1].value).to.match(/^FloatTensor \[3, 4, 4\] float32/);
    expect(shown[2].value).to.match(/^FloatTensor \[4\] float32/);
    expect(shown[3].value).to.match(/^FloatTensor \[1, 4, 4, 4\] float32/);
    expect(shown[4].value).to.equal("{ png: [ 1, 2 ], image: { data: [ 1 ], dims: [ 1, 1, 1, 1 ] } }");
    expect(shown[5].value).to.equal(inspect({ data: new Float32Array(4), dims: 'no' }));
    expect(shown[6].value).to.equal('text');
  });
});

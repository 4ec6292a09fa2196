/**
 * Issue 19: the vector library's checks (src/library.ts), each rule on its own: what the constructor, add() and
 * load() accept and refuse, and the exact message a user reads. A library file is written here by hand (JSON + .npy),
 * so every field can be wrong in one way at a time; the rules are those of the file format documented in README
 * ("ganvas-library/1": model, layer, channels, entries of {name, color, provenance?}, vectors beside it).
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VectorLibrary, normalizeColor, writeNpy } from 'ganvas';
import { rejectsGanvas, throwsGanvas } from './util';

describe('vector library checks (library.ts, issue 19)', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-libparts-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('the constructor names the field at fault: model, layer (non-empty strings), channel count (1 … 2^20)', () => {
    const msg = (f: () => unknown) => throwsGanvas(f, 'BAD_INPUT').message;
    expect(msg(() => new VectorLibrary('', 'l', 2))).to.equal(`a library's model must be a non-empty string, got ""`);
    expect(msg(() => new VectorLibrary(3 as unknown as string, 'l', 2))).to.equal(`a library's model must be a non-empty string, got 3`);
    expect(msg(() => new VectorLibrary('m', '', 2))).to.equal(`a library's layer must be a non-empty string, got ""`);
    expect(msg(() => new VectorLibrary('m', null as unknown as string, 2))).to.equal(`a library's layer must be a non-empty string, got null`);
    expect(msg(() => new VectorLibrary('m', 'l', 0))).to.equal(`a library's channel count must be an integer from 1 to 1048576, got 0`);
    expect(msg(() => new VectorLibrary('m', 'l', (1 << 20) + 1))).to.equal(`a library's channel count must be an integer from 1 to 1048576, got 1048577`);
    // The bounds themselves are allowed.
    expect(new VectorLibrary('m', 'l', 1).channels).to.equal(1);
    expect(new VectorLibrary('m', 'l', 1 << 20).channels).to.equal(1 << 20);
  });

  it('add() refuses a vector that is missing or not array-like, naming the vector and the channel count', () => {
    const lib = new VectorLibrary('m', 'l', 2);
    const msg = (v: unknown) => throwsGanvas(() => lib.add('v', '#112233', v as Float32Array), 'BAD_INPUT').message;
    expect(msg(null)).to.equal('vector "v" must be a Float32Array of 2 values, got null');
    expect(msg(undefined)).to.equal('vector "v" must be a Float32Array of 2 values, got undefined');
    expect(msg(7)).to.equal('vector "v" must be a Float32Array of 2 values, got 7');
    expect(msg(Float32Array.of(1))).to.equal('vector "v" has 1 channels; m at l has 2');
    expect(lib.add('v', '#112233', Float32Array.of(1, 2)).color).to.equal('#112233');
    expect(throwsGanvas(() => normalizeColor(5 as unknown as string), 'BAD_INPUT').message).to.equal('a color must be a string "#rrggbb" (e.g. "#ff0000"), got 5');
  });

  /** Writes lib.json (the given fields over a valid library of two 3-channel vectors) and its .npy. */
  async function write(name: string, over: Record<string, unknown>, npy = { data: new Float32Array(6).fill(0.5), dims: [2, 3] }): Promise<string> {
    const sub = path.join(dir, name);
    await fs.mkdir(sub, { recursive: true });
    const json = {
      format: 'ganvas-library/1',
      model: 'gen',
      layer: 'b8.conv1',
      channels: 3,
      vectors: 'lib.npy',
      entries: [
        { name: 'a', color: '#ff0000' },
        { name: 'b', color: '#0000ff', provenance: { source: 'hand' } },
      ],
      ...over,
    };
    await fs.writeFile(path.join(sub, 'lib.npy'), writeNpy(npy));
    const file = path.join(sub, 'lib.json');
    await fs.writeFile(file, JSON.stringify(json));
    return file;
  }

  it('load() accepts the valid file, and lists every field that is wrong, each with what would be right', async () => {
    const ok = await VectorLibrary.load(await write('ok', {}));
    expect([ok.model, ok.layer, ok.channels, ok.entries.map((e) => e.name)]).to.deep.equal(['gen', 'b8.conv1', 3, ['a', 'b']]);
    expect(ok.entries[1].provenance).to.deep.equal({ source: 'hand' });
    const problems = async (name: string, over: Record<string, unknown>) => {
      const file = await write(name, over);
      const e = await rejectsGanvas(VectorLibrary.load(file), 'BAD_INPUT');
      const [head, ...rest] = e.message.split('\n  - ');
      expect(head).to.equal(`${file} is not a valid vector library:`);
      return rest;
    };
    expect(await problems('model-empty', { model: '' })).to.deep.equal(['"model" must be a non-empty string, got ""']);
    expect(await problems('model-number', { model: 4 })).to.deep.equal(['"model" must be a non-empty string, got 4']);
    expect(await problems('layer-empty', { layer: '' })).to.deep.equal(['"layer" must be a non-empty string, got ""']);
    expect(await problems('layer-list', { layer: ['x'] })).to.deep.equal(['"layer" must be a non-empty string, got ["x"]']);
    for (const channels of ['3', 2.5, 0, -1, (1 << 20) + 1]) {
      expect(await problems(`channels-${channels}`, { channels }), String(channels)).to.deep.equal([`"channels" must be a positive integer, got ${JSON.stringify(channels)}`]);
    }
    expect(await problems('entries-object', { entries: {} })).to.deep.equal(['"entries" must be a list of {name, color}, got {}']);
    expect(await problems('entry-null', { entries: [{ name: 'a', color: '#ff0000' }, null] })).to.deep.equal([`entries[1] must be {"name": string, "color": "#rrggbb"}, got null`]);
    expect(await problems('entry-number', { entries: [3, { name: 'b', color: '#0000ff' }] })).to.deep.equal([`entries[0] must be {"name": string, "color": "#rrggbb"}, got 3`]);
    expect(await problems('entry-no-name', { entries: [{ color: '#ff0000' }, { name: 'b', color: '#0000ff' }] })).to.deep.equal([`entries[0] must be {"name": string, "color": "#rrggbb"}, got {"color":"#ff0000"}`]);
    expect(await problems('entry-no-color', { entries: [{ name: 'a' }, { name: 'b', color: 255 }] })).to.deep.equal([
      `entries[0] must be {"name": string, "color": "#rrggbb"}, got {"name":"a"}`,
      `entries[1] must be {"name": string, "color": "#rrggbb"}, got {"name":"b","color":255}`,
    ]);
    expect(await problems('provenance', { entries: [{ name: 'a', color: '#ff0000', provenance: 'typed' }, { name: 'b', color: '#0000ff', provenance: [1] }] })).to.deep.equal([
      'entries[0].provenance must be an object, got "typed"',
      'entries[1].provenance must be an object, got [1]',
    ]);
    // Several at once: all of them, in the file's order.
    expect(await problems('several', { model: '', layer: 7, channels: 0, entries: null })).to.deep.equal([
      '"model" must be a non-empty string, got ""',
      '"layer" must be a non-empty string, got 7',
      '"channels" must be a positive integer, got 0',
      '"entries" must be a list of {name, color}, got null',
    ]);
  });

  it('load(): the vector file must be a .npy beside the JSON, of shape (entries, channels); a bad entry is named', async () => {
    for (const vectors of ['../lib.npy', 'sub\\lib.npy', 'lib.bin', 5]) {
      const file = await write(`vectors-${String(vectors).replace(/\W/g, '_')}`, { vectors });
      expect((await rejectsGanvas(VectorLibrary.load(file), 'BAD_INPUT')).message).to.equal(`${file}: "vectors" must name a .npy file beside it, got ${JSON.stringify(vectors)}`);
    }
    // Without "vectors" (JSON drops the undefined field): <base>.npy, as older saves named it.
    const old = await write('old', { vectors: undefined });
    expect((await VectorLibrary.load(old)).entries).to.have.length(2);
    const shape = await write('shape', {}, { data: new Float32Array(6), dims: [3, 2] });
    expect((await rejectsGanvas(VectorLibrary.load(shape), 'BAD_INPUT')).message).to.equal(
      `${path.join(dir, 'shape', 'lib.npy')} has shape (3, 2), but ${shape} lists 2 entries of 3 channels: expected (2, 3)`,
    );
    const flat = await write('flat', {}, { data: new Float32Array(6), dims: [6] });
    expect((await rejectsGanvas(VectorLibrary.load(flat), 'BAD_INPUT')).message).to.match(/has shape \(6\), but .* expected \(2, 3\)$/);
    const missing = await write('missing', { vectors: 'gone.npy' });
    const e = await rejectsGanvas(VectorLibrary.load(missing), 'BAD_INPUT');
    expect(e.message).to.match(new RegExp(`^library ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is missing its vectors .*gone\\.npy: .*ENOENT`));
    expect((e as Error & { cause?: { code?: string } }).cause?.code).to.equal('ENOENT');
    const dup = await write('dup', { entries: [{ name: 'a', color: '#ff0000' }, { name: 'b', color: '#FF0000' }] });
    const d = await rejectsGanvas(VectorLibrary.load(dup), 'BAD_INPUT');
    expect(d.message).to.equal(`library ${dup}, entry 1 ("b"): color #ff0000 is already used by "a"; each vector needs its own color`);
    expect((d as Error & { cause?: Error }).cause?.message).to.equal('color #ff0000 is already used by "a"; each vector needs its own color');
  });

  it('save() wants a .json file name', async () => {
    const lib = new VectorLibrary('m', 'l', 1);
    for (const f of ['lib', 'lib.npy', 7]) {
      expect((await rejectsGanvas(lib.save(f as string), 'BAD_INPUT')).message).to.equal(`a library file must end in .json, got ${JSON.stringify(f)}`);
    }
  });
});

/**
 * Issue 19: src/dataset.ts piece by piece (paper 000 §4.3: (image, label map) pairs from random label maps painted
 * with library vectors). What a user reads back — index.json, the three PNGs per pair and how they agree — plus
 * resuming (also a from…to part), stopping, and every refusal with what it names.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Cut, DatasetIndex, Generator, MAX_DATASET_COUNT, Painter, Runtime, VectorLibrary, datasetSampleSeed, generateDataset, randomLabels, toPng } from 'ganvas';
import { tinyGenerator } from './models';
import { rejectsGanvas } from './util';

const RED = '#ff0000';
const BLUE = '#0000ff';

async function raw(file: string): Promise<{ data: Buffer; channels: number; width: number; height: number }> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels, width: info.width, height: info.height };
}

describe('dataset.ts', () => {
  const rt = new Runtime({ threads: 1 });
  let cut: Cut;
  let lib: VectorLibrary;
  const dirs: string[] = [];
  const tmp = async (): Promise<string> => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-datasetParts-'));
    dirs.push(d);
    return d;
  };
  before(async () => {
    cut = await (await Generator.open(await tinyGenerator(), rt)).cut('b8.conv1');
    lib = VectorLibrary.for(cut);
    lib.add('a', RED, new Float32Array(4).fill(1));
    lib.add('b', BLUE, new Float32Array(4).fill(-1));
  });
  after(async () => {
    await rt.release();
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  describe('pairs, index and resuming', () => {
    it('datasetSampleSeed names the dataset seed and the pair', () => {
      expect(datasetSampleSeed(3, 7)).to.equal('dataset:3:7');
      expect(datasetSampleSeed(-1, 0)).to.equal('dataset:-1:0');
    });

    it('index.json lists the settings, the classes (label k+1 = class k) and one entry per pair with its seeds and files', async () => {
      const dir = await tmp();
      const seen: Array<[number, number]> = [];
      const index = await generateDataset(cut, lib, { dir, count: 3, seed: 5, keepShare: 0.3, onProgress: (d, t) => seen.push([d, t]) });
      expect(seen).to.deep.equal([[1, 3], [2, 3], [3, 3]]);
      const onDisk = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as DatasetIndex;
      expect(onDisk).to.deep.equal(JSON.parse(JSON.stringify(index)));
      expect(index).to.deep.include({ format: 'ganvas-dataset/1', model: 'tiny-gen', layer: 'b8.conv1', kind: 'voronoi', seed: 5, count: 3 });
      expect(index.classes).to.deep.equal([{ label: 1, name: 'a', color: RED }, { label: 2, name: 'b', color: BLUE }]);
      expect(index.entries).to.deep.equal([0, 1, 2].map((i) => ({
        id: i,
        sampleSeed: `dataset:5:${i}`,
        maskSeed: `5:${i}`,
        image: `images/00000${i}.png`,
        label: `labels/00000${i}.png`,
        mask: `masks/00000${i}.png`,
      })));
      for (const e of index.entries) {
        const img = await raw(path.join(dir, e.image));
        const label = await raw(path.join(dir, e.label));
        const mask = await raw(path.join(dir, e.mask));
        expect((await sharp(path.join(dir, e.label)).metadata()).channels).to.equal(1);
        expect([img.width, img.height, label.width, label.height, mask.width, mask.height]).to.deep.equal([8, 8, 8, 8, 8, 8]);
        // Label and mask agree pixel by pixel: label 1 is red, 2 is blue, 0 (kept) neither.
        const labels = new Set<number>();
        for (let p = 0; p < 64; p++) {
          const l = label.data[p * label.channels];
          labels.add(l);
          const rgb = Array.from(mask.data.subarray(p * mask.channels, p * mask.channels + 3));
          if (l === 1) expect(rgb).to.deep.equal([255, 0, 0]);
          else if (l === 2) expect(rgb).to.deep.equal([0, 0, 255]);
          else {
            expect(l).to.equal(0);
            expect(rgb).to.not.deep.equal([255, 0, 0]);
            expect(rgb).to.not.deep.equal([0, 0, 255]);
          }
        }
        expect([...labels].every((l) => l <= 2)).to.equal(true);
      }
      // Another seed, other pairs; a subset of classes, in the order given.
      const dir2 = await tmp();
      const other = await generateDataset(cut, lib, { dir: dir2, count: 1, classes: ['b'], kind: 'blobs' });
      expect(other.classes).to.deep.equal([{ label: 1, name: 'b', color: BLUE }]);
      expect(other.kind).to.equal('blobs');
      expect(other.seed).to.equal(0);
      expect(other.entries[0].sampleSeed).to.equal('dataset:0:0');
      const l2 = await raw(path.join(dir2, other.entries[0].label));
      expect(Array.from(l2.data).every((v) => v === 0 || v === 1)).to.equal(true);
    });

    it('a part from…to holds those pairs with their whole-dataset seeds, and resumes like a whole one', async () => {
      const whole = await tmp();
      await generateDataset(cut, lib, { dir: whole, count: 5, seed: 2 });
      const part = await tmp();
      const seen: Array<[number, number]> = [];
      const idx = await generateDataset(cut, lib, { dir: part, count: 5, seed: 2, from: 2, to: 4, onProgress: (d, t) => seen.push([d, t]) });
      expect(seen).to.deep.equal([[1, 2], [2, 2]]);
      expect(idx.entries.map((e) => [e.id, e.sampleSeed, e.maskSeed])).to.deep.equal([[2, 'dataset:2:2', '2:2'], [3, 'dataset:2:3', '2:3']]);
      for (const f of ['images/000003.png', 'labels/000002.png', 'masks/000003.png']) {
        expect((await fs.readFile(path.join(part, f))).equals(await fs.readFile(path.join(whole, f))), f).to.equal(true);
      }
      // Called again with the same part: nothing to add, the same index.
      const again = await generateDataset(cut, lib, { dir: part, count: 5, seed: 2, from: 2, to: 4 });
      expect(again.entries.map((e) => e.id)).to.deep.equal([2, 3]);
      // Resumed from another start: refused with the start it holds.
      const moved = await rejectsGanvas(generateDataset(cut, lib, { dir: part, count: 5, seed: 2, from: 0, to: 4 }), 'BAD_INPUT');
      expect(moved.message).to.equal(`${part} holds the pairs from 2 on (a part of a dataset); resume it with from 2, or choose another directory`);
      // An interrupted part resumes where it stopped, to the same files as the whole dataset.
      const cutShort = await tmp();
      await generateDataset(cut, lib, { dir: cutShort, count: 5, seed: 2, from: 1, to: 5, onProgress: (d) => {
        if (d === 2) throw new Error('killed');
      } }).catch(() => undefined);
      const resumed = await generateDataset(cut, lib, { dir: cutShort, count: 5, seed: 2, from: 1, to: 5 });
      expect(resumed.entries.map((e) => e.id)).to.deep.equal([1, 2, 3, 4]);
      expect((await fs.readFile(path.join(cutShort, 'images/000004.png'))).equals(await fs.readFile(path.join(whole, 'images/000004.png')))).to.equal(true);
      // An empty part writes the header only.
      const none = await generateDataset(cut, lib, { dir: await tmp(), count: 5, from: 5, to: 5 });
      expect(none.entries).to.deep.equal([]);
    });

    it('stops on the signal after indexing every finished pair; a later call resumes to the same files', async () => {
      const dir = await tmp();
      const ctl = new AbortController();
      const why = new Error('user stop');
      let caught: unknown;
      await generateDataset(cut, lib, {
        dir, count: 6, flushEvery: 100, signal: ctl.signal,
        onProgress: (d) => {
          if (d === 3) ctl.abort(why);
        },
      }).catch((e) => (caught = e));
      expect(caught).to.equal(why);
      const partial = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as DatasetIndex;
      expect(partial.entries.map((e) => e.id)).to.deep.equal([0, 1, 2]);
      // A killed writer's temporary (pid 2^22 + 1 is above any Linux pid) is removed on resume.
      const orphan = path.join(dir, 'images', `.000004.png.${2 ** 22 + 1}.abcd.tmp`);
      await fs.writeFile(orphan, 'half');
      const done = await generateDataset(cut, lib, { dir, count: 6, flushEvery: 100 });
      expect(done.entries.map((e) => e.id)).to.deep.equal([0, 1, 2, 3, 4, 5]);
      await fs.access(orphan).then(() => expect.fail('the orphan temporary is still there'), () => undefined);
      const fresh = await tmp();
      await generateDataset(cut, lib, { dir: fresh, count: 6 });
      for (const f of ['images/000001.png', 'images/000004.png', 'labels/000005.png']) {
        expect((await fs.readFile(path.join(fresh, f))).equals(await fs.readFile(path.join(dir, f))), f).to.equal(true);
      }
      // Pre-aborted: nothing written beyond the folders and the index.
      const pre = new AbortController();
      pre.abort(why);
      const d2 = await tmp();
      caught = undefined;
      await generateDataset(cut, lib, { dir: d2, count: 2, signal: pre.signal }).catch((e) => (caught = e));
      expect(caught).to.equal(why);
      expect(await fs.readdir(path.join(d2, 'images'))).to.deep.equal([]);
    });

    it('refuses to mix settings into an existing dataset, naming what it holds', async () => {
      const dir = await tmp();
      await generateDataset(cut, lib, { dir, count: 2, seed: 1 });
      const other = await rejectsGanvas(generateDataset(cut, lib, { dir, count: 2, seed: 9 }), 'BAD_INPUT');
      expect(other.message).to.equal(`${dir} holds a dataset made with other settings (tiny-gen at b8.conv1, voronoi, seed 1); choose another directory to start a new one`);
      await rejectsGanvas(generateDataset(cut, lib, { dir, count: 2, seed: 1, kind: 'strokes' }), 'BAD_INPUT');
      await rejectsGanvas(generateDataset(cut, lib, { dir, count: 2, seed: 1, classes: ['b', 'a'] }), 'BAD_INPUT');
      const count = await rejectsGanvas(generateDataset(cut, lib, { dir, count: 3, seed: 1 }), 'BAD_INPUT');
      expect(count.message).to.equal(`${dir} holds a dataset of 2 pairs (2 written); resume it with count 2, or choose another directory for 3 pairs`);
      const file = path.join(dir, 'index.json');
      const idx = JSON.parse(await fs.readFile(file, 'utf8')) as DatasetIndex;
      idx.entries[1].sampleSeed = String(1 * 2 + 1); // the old seed·count + i rule
      await fs.writeFile(file, JSON.stringify(idx));
      const stale = await rejectsGanvas(generateDataset(cut, lib, { dir, count: 2, seed: 1 }), 'BAD_INPUT');
      expect(stale.message).to.equal(`${dir} holds pairs made with other per-sample seeds (an older ganvas); choose another directory to start a new dataset`);
      idx.entries[1].sampleSeed = 'dataset:1:1';
      idx.entries[1].id = 5;
      await fs.writeFile(file, JSON.stringify(idx));
      await rejectsGanvas(generateDataset(cut, lib, { dir, count: 2, seed: 1 }), 'BAD_INPUT');
      // A damaged index is refused, not overwritten.
      await fs.writeFile(file, '{"format": "ganvas-dataset/1", "entr');
      const bad = await rejectsGanvas(generateDataset(cut, lib, { dir, count: 2, seed: 1 }), 'BAD_INPUT');
      expect(bad.message).to.match(new RegExp(`^${file.replace(/[.]/g, '\\.')} is not valid JSON \\(.+\\); it is not a ganvas dataset index — choose another directory$`));
      expect(await fs.readFile(file, 'utf8')).to.equal('{"format": "ganvas-dataset/1", "entr');
      const notIndex = `${file} is not a ganvas dataset index ("format": "ganvas-dataset/1" with entries and count); choose another directory`;
      for (const text of ['null', '{"format": "other", "entries": [], "count": 1}', '{"format": "ganvas-dataset/1", "count": 1}', '{"format": "ganvas-dataset/1", "entries": [], "count": 1.5}']) {
        await fs.writeFile(file, text);
        expect((await rejectsGanvas(generateDataset(cut, lib, { dir, count: 2, seed: 1 }), 'BAD_INPUT')).message, text).to.equal(notIndex);
      }
      // index.json that cannot be read (a folder).
      await fs.rm(file);
      await fs.mkdir(file);
      const unreadable = await rejectsGanvas(generateDataset(cut, lib, { dir, count: 2, seed: 1 }), 'BAD_PATH');
      expect(unreadable.message).to.match(new RegExp(`^cannot read ${file.replace(/[.]/g, '\\.')}: `));
    });

    it('refuses bad options, saying what was given and what is allowed', async () => {
      const dir = await tmp();
      const bad = async (opts: Record<string, unknown>, what: RegExp | string, l: unknown = lib): Promise<void> => {
        const e = await rejectsGanvas(generateDataset(cut, l as VectorLibrary, { dir, count: 2, ...opts } as never), 'BAD_INPUT');
        if (typeof what === 'string') expect(e.message).to.equal(what);
        else expect(e.message).to.match(what);
      };
      await bad({}, 'generateDataset needs a VectorLibrary (its vectors are the classes)', { entries: [] });
      await bad({ dir: '' }, 'dir must be a directory path, got ""');
      await bad({ dir: 7 }, 'dir must be a directory path, got 7');
      await bad({ count: 0 }, /count \(pairs to generate\)/);
      await bad({ count: MAX_DATASET_COUNT + 1 }, /count \(pairs to generate\)/);
      await bad({ seed: 1.5 }, /seed/);
      await bad({ seed: 2 ** 31 + 1 }, /seed/);
      await bad({ flushEvery: 0 }, /flushEvery/);
      await bad({ classes: 'a' }, 'classes must be a list of library vector names, got "a"');
      await bad({ classes: ['a', 3] }, /^classes must be a list of library vector names, got /);
      await bad({ kind: 'stars' }, 'kind must be "voronoi", "blobs" or "strokes", got "stars"');
      for (const keepShare of [-0.1, 1.5, '0.5', NaN]) await bad({ keepShare }, /^keepShare is a probability in \[0, 1\], got /);
      await bad({ classes: [] }, 'the dataset needs at least one class vector in the library');
      await bad({ classes: ['a', 'b', 'a', 'b', 'a'] }, 'classes lists "a", "b" more than once; name each class once');
      for (const [from, to] of [[-1, 2], [0, 3], [2, 1], [0.5, 2], [0, 1.5]]) {
        await bad({ from, to }, `from…to must be integers with 0 ≤ from ≤ to ≤ count (2), got ${from}…${to}`);
      }
      const e = await rejectsGanvas(generateDataset(cut, lib, null as never));
      expect(e.message).to.include('generateDataset options');
      // 255 classes do not fit an 8-bit label PNG (0 is "kept"); 254 do (checked up to the refusal only).
      const many = VectorLibrary.for(cut);
      for (let i = 0; i < 255; i++) many.add(`c${i}`, `#${(i + 1).toString(16).padStart(6, '0')}`, new Float32Array(4));
      await bad({}, 'at most 254 classes fit an 8-bit label PNG', many);
      await bad({ classes: [] }, 'the dataset needs at least one class vector in the library', many);
      // None of these refusals wrote anything.
      expect(await fs.readdir(dir)).to.deep.equal([]);
    });
  });

  describe('settings that reach the pairs (issue 19 survivors)', () => {
    const labelsOf = async (dir: string, i = 0): Promise<number[]> => {
      const l = await raw(path.join(dir, `labels/00000${i}.png`));
      return Array.from({ length: l.width * l.height }, (_, p) => l.data[p * l.channels]);
    };

    it('pair images are the painter’s output for the mask seed and the sample seed', async () => {
      const dir = await tmp();
      await generateDataset(cut, lib, { dir, count: 2, seed: 4, kind: 'voronoi' });
      const palette = { [RED]: lib.get('a').vector, [BLUE]: lib.get('b').vector };
      const painter = new Painter(cut, palette);
      for (const i of [0, 1]) {
        const painted = await painter.paintLabels(randomLabels(`4:${i}`, 8, 8, 2, { kind: 'voronoi' }), { seed: `dataset:4:${i}` });
        const want = await toPng(painted.image, 0, { range: [-1, 1] });
        expect((await fs.readFile(path.join(dir, `images/00000${i}.png`))).equals(want), `pair ${i}`).to.equal(true);
        expect(await labelsOf(dir, i)).to.deep.equal(Array.from(painted.imageLabels.data, (v) => v + 1));
      }
    });

    it('kind and keepShare reach the label maps: 1 keeps everything, 0 nothing; kinds differ', async () => {
      const kept = await tmp();
      await generateDataset(cut, lib, { dir: kept, count: 1, keepShare: 1 });
      expect(new Set(await labelsOf(kept))).to.deep.equal(new Set([0]));
      const none = await tmp();
      await generateDataset(cut, lib, { dir: none, count: 1, keepShare: 0 });
      expect((await labelsOf(none)).includes(0)).to.equal(false);
      const maps: number[][] = [];
      for (const kind of ['voronoi', 'blobs', 'strokes'] as const) {
        const d = await tmp();
        await generateDataset(cut, lib, { dir: d, count: 1, kind, keepShare: 0 });
        maps.push(await labelsOf(d));
      }
      expect(maps[0]).to.not.deep.equal(maps[1]);
      expect(maps[1]).to.not.deep.equal(maps[2]);
    });

    it('254 classes fit; every setting in the index is compared on resume; header-only and null entries', async () => {
      const many = VectorLibrary.for(cut);
      for (let i = 0; i < 254; i++) many.add(`c${i}`, `#${(i + 1).toString(16).padStart(6, '0')}`, new Float32Array(4));
      const big = await generateDataset(cut, many, { dir: await tmp(), count: 1 });
      expect(big.classes).to.have.length(254);
      expect(big.classes[253]).to.deep.equal({ label: 254, name: 'c253', color: '#0000fe' });

      const dir = await tmp();
      await generateDataset(cut, lib, { dir, count: 5, from: 5, to: 5 });
      expect((await fs.readdir(dir)).sort()).to.deep.equal(['images', 'index.json', 'labels', 'masks']);
      // A header-only index resumes (nothing to add).
      expect((await generateDataset(cut, lib, { dir, count: 5, from: 5, to: 5 })).entries).to.deep.equal([]);
      const file = path.join(dir, 'index.json');
      const header = JSON.parse(await fs.readFile(file, 'utf8')) as DatasetIndex;
      for (const [key, value] of [['model', 'other-gen'], ['layer', 'b4'], ['kind', 'blobs'], ['seed', 3]] as const) {
        await fs.writeFile(file, JSON.stringify({ ...header, [key]: value }));
        const e = await rejectsGanvas(generateDataset(cut, lib, { dir, count: 5, from: 5, to: 5 }), 'BAD_INPUT');
        expect(e.message, key).to.include('holds a dataset made with other settings');
      }
      await fs.writeFile(file, JSON.stringify({ ...header, entries: [null] }));
      const e = await rejectsGanvas(generateDataset(cut, lib, { dir, count: 5, from: 0, to: 5 }), 'BAD_INPUT');
      expect(e.message).to.include('holds pairs made with other per-sample seeds');
      // strokes is a valid kind: refused here for the settings, not as a kind.
      await fs.writeFile(file, JSON.stringify(header));
      const k = await rejectsGanvas(generateDataset(cut, lib, { dir, count: 5, from: 5, to: 5, kind: 'strokes' }), 'BAD_INPUT');
      expect(k.message).to.include('other settings');
      // Errors keep their cause.
      await fs.writeFile(file, '{');
      expect((await rejectsGanvas(generateDataset(cut, lib, { dir, count: 5, from: 5, to: 5 }))).cause).to.be.instanceOf(Error);
      await fs.rm(file);
      await fs.mkdir(file);
      expect((await rejectsGanvas(generateDataset(cut, lib, { dir, count: 5, from: 5, to: 5 }))).cause).to.be.instanceOf(Error);
    });

    it('orphan temporaries of killed writers are removed from every folder of the dataset', async () => {
      const dir = await tmp();
      await generateDataset(cut, lib, { dir, count: 1 });
      const dead = 2 ** 22 + 1;
      const orphans = ['.', 'images', 'labels', 'masks'].map((sub) => path.join(dir, sub, `.x.png.${dead}.abcd.tmp`));
      for (const o of orphans) await fs.writeFile(o, 'half');
      await generateDataset(cut, lib, { dir, count: 1 });
      for (const o of orphans) await fs.access(o).then(() => expect.fail(`${o} is still there`), () => undefined);
    });
  });
});

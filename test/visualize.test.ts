import { expect } from 'chai';
import {
  FeatureExtractor,
  GanvasError,
  Generator,
  GridSize,
  Runtime,
  composeBatch,
  erodeMask,
  gridMask,
  gridSweep,
  indexSeeds,
  maskImage,
  maxAbsDiff,
  pixelVector,
  randomPositions,
  resizeMask,
  sampleVectors,
  vectorsFromProvenance,
  visualize,
  writeVector,
} from 'ganvas';
import { identityGenerator, tinyClassifier, tinyGenerator } from './models';

function rows(m: { data: Uint8Array; height: number; width: number }): string[] {
  return Array.from({ length: m.height }, (_, y) => Array.from(m.data.subarray(y * m.width, (y + 1) * m.width)).join(''));
}

describe('gridMask', () => {
  // Hand-written: corners at 0, g+1, 2(g+1), … while corner < 16 − g.
  const expectedRow: Record<number, string> = {
    1: '1010101010101010',
    2: '1101101101101100',
    3: '1110111011101110',
    4: '1111011110111100',
    5: '1111101111100000',
  };
  const coveredRows: Record<number, number[]> = {
    1: [0, 2, 4, 6, 8, 10, 12, 14],
    2: [0, 1, 3, 4, 6, 7, 9, 10, 12, 13],
    3: [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14],
    4: [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13],
    5: [0, 1, 2, 3, 4, 6, 7, 8, 9, 10],
  };
  for (const g of [1, 2, 3, 4, 5]) {
    it(`is exact for H=W=16, g=${g}`, () => {
      const r = rows(gridMask(16, 16, g));
      r.forEach((row, y) => expect(row, `row ${y}`).to.equal(coveredRows[g].includes(y) ? expectedRow[g] : '0'.repeat(16)));
    });
  }
  // Hand-written (issue 19). 8×8, g=2: corners 0 and 3 (< 8 − 2 = 6); the corner 6 = H − g is not taken, so the
  // last two rows and columns stay empty — the authors' rule that the last row/column is never covered.
  it('is exact for 8×8, g=2, where a corner would land exactly on H − g', () => {
    const on = '11011000';
    const off = '00000000';
    expect(rows(gridMask(8, 8, 2))).to.deep.equal([on, on, off, on, on, off, off, off]);
  });
  // 6×12, g=2: row corners 0, 3 (< 4); column corners 0, 3, 6, 9 (< 10). 12×6 the transpose. 7×5, g=3: row
  // corner 0 (< 4; 4 is not), column corner 0 (< 2). 5×9, g=1: row corners 0, 2 (< 4); columns 0, 2, 4, 6 (< 8).
  it('is exact for non-square masks (6×12 g=2, 12×6 g=2, 7×5 g=3, 5×9 g=1)', () => {
    const wide = '110110110110';
    expect(rows(gridMask(6, 12, 2))).to.deep.equal([wide, wide, '0'.repeat(12), wide, wide, '0'.repeat(12)]);
    const tall = '110110';
    const none = '000000';
    expect(rows(gridMask(12, 6, 2))).to.deep.equal([tall, tall, none, tall, tall, none, tall, tall, none, tall, tall, none]);
    expect(rows(gridMask(7, 5, 3))).to.deep.equal(['11100', '11100', '11100', '00000', '00000', '00000', '00000']);
    const r9 = '101010100';
    expect(rows(gridMask(5, 9, 1))).to.deep.equal([r9, '0'.repeat(9), r9, '0'.repeat(9), '0'.repeat(9)]);
  });
  it('never covers the last row or column (every size 2…13, every g)', () => {
    for (let h = 2; h <= 13; h++) {
      for (let w = 2; w <= 13; w++) {
        for (let g = 1; g < Math.min(h, w); g++) {
          const r = rows(gridMask(h, w, g));
          expect(r[h - 1], `${h}×${w} g=${g} last row`).to.equal('0'.repeat(w));
          expect(r.map((row) => row[w - 1]).join(''), `${h}×${w} g=${g} last column`).to.equal('0'.repeat(h));
          // g covered rows per corner 0, g+1, 2(g+1), … below h − g: ⌈(h − g)/(g + 1)⌉ corners (likewise columns).
          const covered = (n: number) => g * Math.ceil((n - g) / (g + 1));
          expect(r.filter((row) => row.includes('1')).length, `${h}×${w} g=${g} covered rows`).to.equal(covered(h));
          expect(r[0].replace(/0/g, '').length, `${h}×${w} g=${g} covered columns`).to.equal(covered(w));
        }
      }
    }
  });
  it('full covers everything; bad sizes are refused', () => {
    expect(gridMask(3, 5, 'full').data.every((v) => v === 1)).to.equal(true);
    expect(() => gridMask(16, 16, 0)).to.throw(GanvasError, /positive integer/);
    expect(() => gridMask(4, 4, 4)).to.throw(GanvasError, /leaves no block/);
    // 1×n and n×1 layers are valid for 'full'; zero, negative and fractional sizes are not (each side checked).
    expect(Array.from(gridMask(1, 1, 'full').data)).to.deep.equal([1]);
    expect(gridMask(1, 4, 'full').data.length).to.equal(4);
    expect(gridMask(4, 1, 'full').data.length).to.equal(4);
    for (const [h, w] of [[0, 4], [4, 0], [-2, 4], [4, -2], [2.5, 4], [4, 2.5]]) {
      expect(() => gridMask(h, w, 'full'), `${h}×${w}`).to.throw(GanvasError, new RegExp(`positive integer size, got ${h}×${w}`));
    }
    expect(() => gridMask(8, 8, 1.5)).to.throw(GanvasError, /got 1.5/);
    // The smaller side decides: 3×8 has no room for g = 3 (corners < 0), and says g ≤ 2.
    expect(() => gridMask(3, 8, 3)).to.throw(GanvasError, /use g ≤ 2 or 'full'/);
    expect(() => gridMask(8, 3, 3)).to.throw(GanvasError, /use g ≤ 2 or 'full'/);
    expect(() => gridMask(8, 3, 5)).to.throw(GanvasError, /use g ≤ 2 or 'full'/);
    expect(rows(gridMask(3, 8, 2))).to.deep.equal(['11011000', '11011000', '00000000']); // row corner 0 (< 1); columns 0, 3 (< 6)
  });
  it('maskImage is a [1, 1, H, W] image; erosion sizes must be odd positive integers, 1 keeps the mask', () => {
    const m = gridMask(3, 5, 1);
    const img = maskImage(m);
    expect(img.dims).to.deep.equal([1, 1, 3, 5]);
    expect(Array.from(img.data)).to.deep.equal([-1, 1, -1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    for (const k of [0, 2, -1, 1.5, 4]) expect(() => erodeMask(m, k), `k=${k}`).to.throw(GanvasError, new RegExp(`odd positive integer \\(1 = none\\), got ${k}`));
    expect(rows(erodeMask(m, 1))).to.deep.equal(rows(m));
    // 5×5 erosion of a full 7×6 mask keeps the positions at least 2 from every edge.
    expect(rows(erodeMask(gridMask(7, 6, 'full'), 5))).to.deep.equal(['000000', '000000', '001100', '001100', '001100', '000000', '000000']);
  });
  it('renders as an image, resizes by nearest neighbour and erodes with zero padding', () => {
    const m = gridMask(4, 4, 1);
    expect(Array.from(maskImage(m).data.slice(0, 4))).to.deep.equal([-1, 1, -1, 1]);
    expect(rows(resizeMask(m, 8, 8))[0]).to.equal('11001100');
    expect(rows(erodeMask(gridMask(8, 8, 'full'), 3))).to.deep.equal([
      '00000000', '01111110', '01111110', '01111110', '01111110', '01111110', '01111110', '00000000',
    ]);
    expect(rows(erodeMask(resizeMask(gridMask(8, 8, 2), 16, 16), 3))[1]).to.equal('0110000110000000');
  });
});

describe('visualize', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('a generator whose tail is the identity turns `full` into a constant image of v', async () => {
    const gen = await Generator.open(await identityGenerator(), rt);
    const cut = await gen.cut('h');
    const v = Float32Array.from([0.25, -0.5, 0.75]);
    const img = await visualize(cut, [{ vector: v }], { backgroundSeed: 3 });
    expect(img.dims).to.deep.equal([1, 3, 4, 4]);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 16; i++) expect(img.data[c * 16 + i]).to.equal(v[c]);
  });

  it('grid(g) writes v exactly in the mask and keeps the original activations elsewhere', async () => {
    const gen = await Generator.open(await identityGenerator(), rt);
    const cut = await gen.cut('h');
    const original = await gen.generate([7]);
    const v = Float32Array.from([0.1, 0.2, 0.3]);
    const img = await visualize(cut, [{ vector: v }], { backgroundSeed: 7, grid: 1 });
    const mask = gridMask(4, 4, 1);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 16; i++) {
        expect(img.data[c * 16 + i]).to.equal(mask.data[i] ? v[c] : original.data[c * 16 + i]);
      }
    }
    const bg = Float32Array.from([9, 9, 9]);
    const withVector = await visualize(cut, [{ vector: v }], { backgroundSeed: 7, grid: 1, background: { vector: bg } });
    expect(withVector.data[1]).to.equal(9);
    const other = await visualize(cut, [{ vector: v }], { backgroundSeed: 7, grid: 1, background: { position: [3, 3] } });
    expect(other.data[1]).to.equal(pixelVector(original, 0, 3, 3)[0]);
  });

  it('sampled vectors keep a provenance that regenerates them exactly', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 5, seed: 2 });
    expect(vectors[0].provenance).to.include({ model: 'tiny-gen', layer: 'b8.conv1', seed: 10 });
    const again = await vectorsFromProvenance(cut, vectors.map((v) => v.provenance!));
    again.forEach((v, i) => expect(Array.from(v.vector)).to.deep.equal(Array.from(vectors[i].vector)));
    // Rendering v in full on its own sample with the head's activations untouched reproduces nothing special,
    // but rendering the *original* activations through the tail reproduces the full generator's image.
    const head = await cut.sample([10]);
    const viaTail = await cut.render(head.activations, head.carry);
    expect(maxAbsDiff(viaTail, await gen.generate([10]))).to.be.at.most(1e-5);
  });

  it('gridSweep gives one row per vector with g = 1…5 and full', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 2 });
    const rowsOut = await gridSweep(cut, vectors, [1, 2, 3, 'full']);
    expect(rowsOut).to.have.length(2);
    expect(rowsOut[0].dims).to.deep.equal([4, 1, 8, 8]);
    // Column k of vector i's row is exactly visualize() of that vector with grid size k.
    const g3 = await visualize(cut, [vectors[1]], { grid: 3 });
    expect(Array.from(rowsOut[1].data.subarray(2 * 64, 3 * 64))).to.deep.equal(Array.from(g3.data));
    const g1 = await visualize(cut, [vectors[1]], { grid: 1 });
    expect(maxAbsDiff(g1, g3)).to.be.greaterThan(0);
  });

  it('refuses vectors of the wrong length and generators opened as extractors', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    try {
      await visualize(cut, [{ vector: new Float32Array(3) }], { backgroundSeed: 0 });
      throw new Error('expected an error');
    } catch (e) {
      expect((e as Error).message).to.include('the vector has 3 channels, the layer has 4');
    }
    try {
      await FeatureExtractor.open(gen.bundle);
      throw new Error('expected an error');
    } catch (e) {
      expect((e as Error).message).to.include('is a generator');
    }
    await FeatureExtractor.open(await tinyClassifier(), 'layer2');
  });
});

// Issue 19 (mutation testing of src/visualize.ts): the bookkeeping and every refusal, with what the message names.
describe('visualize: bookkeeping and refusals', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());
  const idCut = async () => (await Generator.open(await identityGenerator(), rt)).cut('h');

  async function refused(p: Promise<unknown>, ...parts: string[]): Promise<void> {
    try {
      await p;
    } catch (e) {
      expect(e).to.be.instanceOf(GanvasError);
      for (const part of parts) expect((e as Error).message).to.include(part);
      return;
    }
    throw new Error(`expected a GanvasError naming ${parts.join(', ')}`);
  }

  it('indexSeeds: distinct seeds in first-seen order and each input seed’s row (hand-worked)', () => {
    expect(indexSeeds([5, 7, 5, 'a', 7])).to.deep.equal({ unique: [5, 7, 'a'], index: [0, 1, 0, 2, 1] });
  });

  it('randomPositions: inside the map, covering every row and column, and set by the seed', () => {
    const at = randomPositions(1, 400, 4, 3);
    expect(at).to.have.length(400);
    for (const [y, x] of at) {
      expect(y).to.be.within(0, 3);
      expect(x).to.be.within(0, 2);
    }
    // 400 uniform draws miss one of 4 rows with probability ≈ 4·(3/4)^400: every row and column is hit.
    expect(new Set(at.map(([y]) => y)).size).to.equal(4);
    expect(new Set(at.map(([, x]) => x)).size).to.equal(3);
    expect(randomPositions(1, 400, 4, 3)).to.deep.equal(at);
    expect(randomPositions(2, 400, 4, 3)).to.not.deep.equal(at);
  });

  it('writeVector: v where the mask is 1, the fill elsewhere, nothing past the map; refuses mismatched sizes', () => {
    // 2 samples × 2 channels × 2×2: write into sample 1 with mask [1 0; 0 1].
    const acts = { data: new Float32Array(16).fill(-1), dims: [2, 2, 2, 2] };
    const mask = { data: Uint8Array.from([1, 0, 0, 1]), height: 2, width: 2 };
    writeVector(acts, 1, Float32Array.from([5, 6]), mask, Float32Array.from([7, 8]));
    expect(Array.from(acts.data)).to.deep.equal([-1, -1, -1, -1, -1, -1, -1, -1, 5, 7, 7, 5, 6, 8, 8, 6]);
    // Without a fill the other positions keep their values.
    const keep = { data: new Float32Array(8).fill(-1), dims: [1, 2, 2, 2] };
    writeVector(keep, 0, Float32Array.from([5, 6]), { data: Uint8Array.from([0, 0, 0, 1]), height: 2, width: 2 });
    expect(Array.from(keep.data)).to.deep.equal([-1, -1, -1, 5, -1, -1, -1, 6]);
    expect(() => writeVector(keep, 0, Float32Array.from([1, 2, 3]), mask)).to.throw(GanvasError, 'the vector has 3 channels, the layer has 2');
    expect(() => writeVector(keep, 0, Float32Array.from([1, 2]), mask, Float32Array.from([1]))).to.throw(GanvasError, 'the background vector has 1 channels, the layer has 2');
    expect(() => writeVector(keep, 0, Float32Array.from([1, 2]), { data: new Uint8Array(6), height: 2, width: 3 })).to.throw(GanvasError, 'the mask is 2×3, the layer is 2×2');
    expect(() => writeVector(keep, 0, Float32Array.from([1, 2]), { data: new Uint8Array(6), height: 3, width: 2 })).to.throw(GanvasError, 'the mask is 3×2, the layer is 2×2');
  });

  it('composeBatch refuses a mask list whose length is not the vector count', () => {
    const head = { activations: { data: new Float32Array(8), dims: [1, 2, 2, 2] }, carry: {} };
    const m = gridMask(2, 2, 'full');
    expect(() => composeBatch(head, [0, 0], [new Float32Array(2), new Float32Array(2)], [m])).to.throw(GanvasError, 'composeBatch got 1 masks for 2 vectors');
  });

  it('visualize refuses empty or malformed vector lists, bad batch sizes, backgrounds and positions', async () => {
    const cut = await idCut();
    const v = { vector: new Float32Array(3) };
    await refused(visualize(cut, []), 'non-empty list of vectors');
    await refused(visualize(cut, 'v' as unknown as []), 'non-empty list of vectors');
    await refused(visualize(cut, [v], { backgroundSeed: 0, batchSize: 0 }), 'batchSize');
    await refused(visualize(cut, [v, 'w' as unknown as typeof v], { backgroundSeed: 0 }), 'vector 1 ({vector: Float32Array, provenance?})');
    await refused(visualize(cut, [v, { vector: new Float32Array(2) }], { backgroundSeed: 0 }), 'vector 1');
    const prov = { model: 'identity-gen', layer: 'h', seed: 1, y: 4, x: 0 };
    await refused(visualize(cut, [{ vector: new Float32Array(3), provenance: prov }]), "vector 0's provenance");
    await refused(visualize(cut, [v], { backgroundSeed: 0, background: 'mean' as unknown as 'original' }), "background must be 'original', {position: [y, x]} or {vector: Float32Array}");
    await refused(visualize(cut, [v], { backgroundSeed: 0, background: { vector: new Float32Array(2) } }), 'the background vector');
    await refused(visualize(cut, [v]), 'vector 0 has no provenance: pass backgroundSeed');
    await refused(visualize(cut, [v], { backgroundSeed: 0, background: { position: [1] as unknown as [number, number] } }), 'background position must be [y, x]');
    await refused(visualize(cut, [v], { backgroundSeed: 0, background: { position: [0, 4] } }), 'background position');
  });

  it('sampleVectors refuses bad options, naming each', async () => {
    const cut = await idCut();
    await refused(sampleVectors(cut, 5 as unknown as { count: number }), 'sampleVectors options');
    await refused(sampleVectors(cut, { count: 0 }), 'sampleVectors count');
    await refused(sampleVectors(cut, { count: 2, seed: 0.5 }), 'sampleVectors seed');
  });

  it('vectorsFromProvenance: string seeds and the layer’s tensor name are accepted; other models, layers and bad entries refused', async () => {
    const cut = await idCut();
    const p = { model: 'identity-gen', layer: 'h', seed: 'a', y: 1, x: 2 };
    // The identity generator's layer h is tanh(z) reshaped: the vector at (1, 2) of sample 'a' is what the head gives.
    const head = await cut.sample(['a']);
    const [got] = await vectorsFromProvenance(cut, [p]);
    expect(Array.from(got.vector)).to.deep.equal(Array.from(pixelVector(head.activations, 0, 1, 2)));
    await refused(vectorsFromProvenance(cut, p as unknown as []), 'needs a list of provenances');
    await refused(vectorsFromProvenance(cut, [p, 3 as unknown as typeof p]), 'provenance 1');
    await refused(vectorsFromProvenance(cut, [{ ...p, y: 4 }]), 'provenance 0');
    await refused(vectorsFromProvenance(cut, [{ ...p, seed: Number.NaN }]), 'provenance 0 has seed NaN; a seed is a finite number or a string');
    await refused(vectorsFromProvenance(cut, [{ ...p, model: 'other' }]), 'a vector from other at h cannot be regenerated with identity-gen at h');
    await refused(vectorsFromProvenance(cut, [{ ...p, layer: 'g' }]), 'a vector from identity-gen at g cannot be regenerated');
    // tiny-gen names its layer b8.conv1; the tensor is h: a provenance may give either.
    const tiny = await (await Generator.open(await tinyGenerator(), rt)).cut('b8.conv1');
    const q = { model: 'tiny-gen', layer: 'h', seed: 2, y: 7, x: 0 };
    const [byTensor] = await vectorsFromProvenance(tiny, [q]);
    const [byName] = await vectorsFromProvenance(tiny, [{ ...q, layer: 'b8.conv1' }]);
    expect(Array.from(byTensor.vector)).to.deep.equal(Array.from(byName.vector));
  });

  it('noiseSeed: the tail’s noise comes from that seed, not the background sample’s', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const v = { vector: Float32Array.from([0.5, -0.5, 0.25, 1]) };
    const own = await visualize(cut, [v], { backgroundSeed: 3 });
    const noisy = await visualize(cut, [v], { backgroundSeed: 3, noiseSeed: 9 });
    expect(maxAbsDiff(own, noisy)).to.be.greaterThan(1e-3);
    // Without noiseSeed the noise is the background sample's own: the same as noiseSeed = backgroundSeed.
    expect(maxAbsDiff(own, await visualize(cut, [v], { backgroundSeed: 3, noiseSeed: 3 }))).to.equal(0);
    // The definition: the head on sample 3 with noise seed 9, v written everywhere, the tail.
    const head = await cut.sample([3], { noiseSeeds: [9] });
    for (let i = 0; i < 64; i++) for (let c = 0; c < 4; c++) head.activations.data[c * 64 + i] = v.vector[c];
    expect(maxAbsDiff(noisy, await cut.render(head.activations, head.carry))).to.be.at.most(1e-6);
  });

  it('gridSweep by default renders g = 1…5 and full, in that order', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const v = { vector: Float32Array.from([0.5, -0.5, 0.25, 1]) };
    const [row] = await gridSweep(cut, [v], undefined, { backgroundSeed: 4 });
    expect(row.dims).to.deep.equal([6, 1, 8, 8]);
    const sizes: GridSize[] = [1, 2, 3, 4, 5, 'full'];
    for (const [k, g] of sizes.entries()) {
      const one = await visualize(cut, [v], { backgroundSeed: 4, grid: g });
      expect(Array.from(row.data.subarray(k * 64, (k + 1) * 64)), `column ${k} (grid ${g})`).to.deep.equal(Array.from(one.data));
    }
    // The options reach every column: a chosen background vector, and 'original' spelled out is the default.
    const bg = { vector: Float32Array.from([1, 1, -1, -1]) };
    const [withBg] = await gridSweep(cut, [v], [2, 'full'], { backgroundSeed: 4, background: bg });
    const g2 = await visualize(cut, [v], { backgroundSeed: 4, grid: 2, background: bg });
    expect(Array.from(withBg.data.subarray(0, 64))).to.deep.equal(Array.from(g2.data));
    const [orig] = await gridSweep(cut, [v], [2], { backgroundSeed: 4, background: 'original' });
    expect(Array.from(orig.data)).to.deep.equal(Array.from(row.data.subarray(64, 128)));
  });
});

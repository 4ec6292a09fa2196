/**
 * Issue 19 (mutation testing): Algorithm 1's implementation (paper 000's appendix, src/gridInversion.ts) part by part,
 * against hand-worked cases and the plain (non-composed) path. In its own file so that gridInversion.test.ts, and the
 * mutation results recorded against it, stay as they were (StrykerJS's --incremental reuses them).
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Cut,
  FeatureExtractor,
  FloatTensor,
  Generator,
  GridInversionCell,
  GridInversionResult,
  HeadResult,
  Runtime,
  demoModelDir,
  gaussian,
  gridInversion,
  gridInversionCurve,
  gridMask,
  initialVectors,
  inversionGradient,
  inversionTargets,
  invertTargets,
  loadGridInversion,
  renderInversions,
} from 'ganvas';
import { rejectsGanvas } from './util';
import { tinyClassifier, tinyGenerator } from './models';
import { meanVectors, relErr, targetsFor } from './gridInversionHelpers';

describe('grid-size inversion: hand-worked parts (issue 19)', function () {
  this.timeout(600000);
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());
  let opened: Promise<{ cut: Cut; fx: FeatureExtractor }> | undefined;
  function fmnist(): Promise<{ cut: Cut; fx: FeatureExtractor }> {
    opened ??= (async () => {
      const gen = await Generator.open(demoModelDir('fmnist-stylegan'), rt);
      return { cut: await gen.cut('b8.conv1'), fx: await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer1', rt) };
    })();
    return opened;
  }
  const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let k = 0; k < a.length; k++) {
      d += a[k] * b[k];
      na += a[k] ** 2;
      nb += b[k] ** 2;
    }
    return d / Math.sqrt(na * nb);
  };

  it('initialVectors: the image\'s own channel means (v1 = v2), zeros, or mean + std·z from each image\'s seeded stream', () => {
    // Image 0: channel 0 = 1, 3, 1, 3 (mean 2, std 1), channel 1 = 0, 0, 0, 4 (mean 1, std √3).
    // Image 1: channel 0 = 5 everywhere (mean 5, std 0), channel 1 = −2, 2, −2, 2 (mean 0, std 2).
    const acts: FloatTensor = { data: Float32Array.from([1, 3, 1, 3, 0, 0, 0, 4, 5, 5, 5, 5, -2, 2, -2, 2]), dims: [2, 2, 2, 2] };
    const seeds = ['image a', 'image b'];
    expect(Array.from(initialVectors(acts, 'mean', 2, seeds))).to.deep.equal([2, 1, 2, 1, 5, 0, 5, 0]);
    expect(Array.from(initialVectors(acts, 'zeros', 2, seeds))).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0]);
    // 'random': v1 takes the first C draws of the image's stream, v2 the next C (the image's per-channel mean and
    // population std); a constant channel stays at its value.
    const za = gaussian('image a', 4);
    const zb = gaussian('image b', 4);
    const s3 = Math.sqrt(3);
    const want = [2 + za[0], 1 + s3 * za[1], 2 + za[2], 1 + s3 * za[3], 5, 2 * zb[1], 5, 2 * zb[3]];
    const got = initialVectors(acts, 'random', 2, seeds);
    want.forEach((x, i) => expect(got[i], `value ${i}`).to.be.closeTo(x, 1e-5));
    // g = 0 is one vector: v2 = v1.
    const one = initialVectors(acts, 'random', 0, seeds);
    const v1 = [want[0], want[1], want[0], want[1], 5, want[5], 5, want[5]];
    v1.forEach((x, i) => expect(one[i], `g = 0, value ${i}`).to.be.closeTo(x, 1e-5));
  });

  it('initialVectors: a constant channel whose float variance rounds below zero still starts at its value (not NaN)', () => {
    // 38 copies of this float32 value: E[x²] − E[x]² is −1.4e-16 in float64 (found by search), whose square root
    // would be NaN.
    const x = -0.49697574973106384;
    const acts: FloatTensor = { data: new Float32Array(38).fill(x), dims: [1, 1, 2, 19] };
    const v = initialVectors(acts, 'random', 1, ['s']);
    expect(v[0]).to.be.closeTo(x, 1e-6);
    expect(v[1]).to.be.closeTo(x, 1e-6);
  });

  it('inversionTargets: run r takes sample seeds (seed + r)·count + i and positions spread over the whole feature map', () => {
    const t0 = inversionTargets({ count: 400, seed: 2 }, 0, 16, 12);
    const t1 = inversionTargets({ count: 400, seed: 2 }, 1, 16, 12);
    expect(t0.map((t) => t.seed)).to.deep.equal(Array.from({ length: 400 }, (_, i) => 800 + i));
    expect(t1.map((t) => t.seed)).to.deep.equal(Array.from({ length: 400 }, (_, i) => 1200 + i));
    for (const ts of [t0, t1]) {
      const ys = ts.map((t) => t.y);
      const xs = ts.map((t) => t.x);
      expect(ys.every((y) => Number.isInteger(y) && y >= 0 && y < 16)).to.equal(true);
      expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 12)).to.equal(true);
      // 400 uniform draws over 16 rows and 12 columns reach the first and the last of each (a miss has odds
      // (15/16)^400 ≈ 6e-12).
      expect([Math.min(...ys), Math.max(...ys), Math.min(...xs), Math.max(...xs)]).to.deep.equal([0, 15, 0, 11]);
      // Row and column are drawn independently: not the same fraction of the map.
      expect(ts.some((t) => Math.floor((t.y * 12) / 16) !== t.x)).to.equal(true);
    }
    expect(inversionTargets({ count: 400, seed: 2 }, 0, 16, 12)).to.deep.equal(t0);
    expect(t1.map((t) => [t.y, t.x])).to.not.deep.equal(t0.map((t) => [t.y, t.x]));
  });

  it('gridInversionCurve: per g the mean of the run means, their sample std, and the population std over all images', () => {
    const cell = (run: number, grid: number, cosines: number[]): GridInversionCell => ({
      run, grid, cosines, l1: cosines.map(() => 0), mean: cosines.reduce((a, b) => a + b, 0) / cosines.length, std: 0, seconds: 0,
    });
    // Out of order on purpose. g = 0: runs 0.3 ([0.1, 0.5]) and 0.5 ([0.5, 0.5]); g = 2: runs 0.9 and 0.6.
    const result = {
      format: 'ganvas-grid-inversion/1',
      settings: {},
      targets: {},
      cells: [cell(1, 2, [0.5, 0.7]), cell(0, 0, [0.1, 0.5]), cell(0, 2, [0.8, 1.0]), cell(1, 0, [0.5, 0.5])],
    } as unknown as GridInversionResult;
    const [p0, p2] = gridInversionCurve(result);
    expect(p0.grid).to.equal(0);
    expect(p0.mean).to.be.closeTo(0.4, 1e-12);
    expect(p0.std).to.be.closeTo(Math.sqrt(0.02), 1e-12); // (0.1² + 0.1²) / (2 − 1)
    expect(p0.imageStd).to.be.closeTo(Math.sqrt(0.03), 1e-12); // (0.3² + 3·0.1²) / 4
    expect(p0.runs).to.deep.equal([0.3, 0.5]);
    expect(p0.images).to.equal(4);
    expect(p2.grid).to.equal(2);
    expect(p2.mean).to.be.closeTo(0.75, 1e-12);
    expect(p2.runs[0]).to.be.closeTo(0.9, 1e-12); // run 0 first, although its cell came second
    expect(p2.runs[1]).to.be.closeTo(0.6, 1e-12);
    expect(p2.std).to.be.closeTo(Math.sqrt(0.045), 1e-12);
    // One run: no spread over runs (0, not NaN).
    const single = gridInversionCurve({ ...result, cells: [cell(0, 3, [0.2, 0.6])] });
    expect(single).to.have.length(1);
    expect(single[0].std).to.equal(0);
    expect(single[0].imageStd).to.be.closeTo(0.2, 1e-12);
  });

  it('loadGridInversion refuses a missing file, broken JSON and other JSON, naming the file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-inv-'));
    try {
      const f = (name: string) => path.join(dir, name);
      let e = await rejectsGanvas(loadGridInversion(f('none.json')), 'BAD_INPUT');
      expect(e.message).to.match(/cannot read grid-inversion results .*none\.json/);
      await fs.writeFile(f('broken.json'), '{"format": ');
      e = await rejectsGanvas(loadGridInversion(f('broken.json')), 'BAD_INPUT');
      expect(e.message).to.match(/cannot read grid-inversion results .*broken\.json/);
      const good = { format: 'ganvas-grid-inversion/1', settings: { count: 1 }, targets: {}, cells: [] };
      for (const [name, json] of [
        ['format.json', { ...good, format: 'ganvas-grid-inversion/2' }],
        ['cells.json', { ...good, cells: {} }],
        ['settings.json', { ...good, settings: 'none' }],
        ['null.json', null],
      ] as const) {
        await fs.writeFile(f(name), JSON.stringify(json));
        e = await rejectsGanvas(loadGridInversion(f(name)), 'BAD_INPUT');
        expect(e.message, name).to.contain(`${f(name)} is not a ganvas grid-inversion results file`);
      }
      await fs.writeFile(f('good.json'), JSON.stringify(good));
      expect(await loadGridInversion(f('good.json'))).to.deep.equal(good);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad options with GanvasErrors that name the option and what would be right', async () => {
    const { cut, fx } = await fmnist();
    const head = await cut.sample([1]);
    const y: FloatTensor = { data: new Float32Array(16), dims: [1, 16] };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ schedule: 'linear' }, /schedule must be 'cosine' or 'constant', got "linear"/],
      [{ steps: -1 }, /steps must be a non-negative integer, got -1/],
      [{ lr: 0 }, /lr must be a positive finite number, got 0/],
      [{ lr: -0.1 }, /lr must be a positive finite number, got -0\.1/],
      [{ lr: Infinity }, /lr must be a positive finite number, got Infinity/],
      [{ lr: NaN }, /lr must be a positive finite number, got NaN/],
      [{ init: 'ones' }, /init must be 'mean', 'zeros' or 'random', got "ones"/],
      [{ batchSize: 0 }, /batchSize must be a positive integer, got 0/],
      [{ batchSize: 2.5 }, /batchSize must be a positive integer, got 2\.5/],
      [{ layout: 'gpu' }, /layout must be 'js' or 'graph', got "gpu"/],
    ];
    for (const [opts, re] of cases) {
      const e = await rejectsGanvas(invertTargets(cut, fx, head, y, 2, opts), 'BAD_INPUT');
      expect(e.message, JSON.stringify(opts)).to.match(re);
    }
    for (const [opts, re] of [
      [{ runs: 0 }, /runs must be a positive integer, got 0/],
      [{ runs: 1.5 }, /runs must be a positive integer, got 1\.5/],
      [{ count: 2.5 }, /count \(images per run\) must be a positive integer, got 2\.5/],
      [{ seed: -1 }, /seed must be a non-negative integer, got -1/],
      [{ seed: 0.5 }, /seed must be a non-negative integer, got 0\.5/],
      [{ sizes: [] }, /sizes must list at least one grid size/],
      [{ sizes: [1.5] }, /grid size 1\.5 does not fit the 8×8 layer b8\.conv1/],
      [{ sizes: [7, 8] }, /grid size 8 does not fit/],
    ] as [Record<string, unknown>, RegExp][]) {
      const e = await rejectsGanvas(gridInversion(cut, fx, { count: 1, runs: 1, steps: 0, ...opts }), 'BAD_INPUT');
      expect(e.message, JSON.stringify(opts)).to.match(re);
    }
    // 8×8 layer, g = 1: blocks at rows and columns 0, 2, 4, 6; the 4×4 layer3 samples exactly those (nearest:
    // source ⌊i·8/4⌋ = 2i), so the carried mask is blue everywhere.
    const coarse = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer3', rt);
    const e = await rejectsGanvas(gridInversion(cut, coarse, { count: 1, runs: 1, sizes: [1], steps: 0 }), 'BAD_INPUT');
    expect(e.message).to.contain('the grid mask covers all of its positions');
    // g = 2 there: blocks at rows 0–1 and 3–4, the samples 0, 2, 4, 6 mix blue and white; g = 4: one block, rows
    // 0–3, samples 0, 2 blue and 4, 6 white: accepted. g = 7 (rows 0–6) covers all four samples again.
    const ok = await gridInversion(cut, coarse, { count: 1, runs: 1, sizes: [2, 4], steps: 0 });
    expect(ok.cells.map((c) => c.grid)).to.deep.equal([2, 4]);
    const e7 = await rejectsGanvas(gridInversion(cut, coarse, { count: 1, runs: 1, sizes: [7], steps: 0 }), 'BAD_INPUT');
    expect(e7.message).to.contain('too coarse for grid size 7 on the 8×8 layer b8.conv1');
    // The other refusals of one inversion: no images, vectors of the wrong length, a carry without the tail's inputs.
    const empty: HeadResult = { activations: { data: new Float32Array(0), dims: [0, 128, 8, 8] }, carry: head.carry };
    expect((await rejectsGanvas(invertTargets(cut, fx, empty, { data: new Float32Array(0), dims: [0, 16] }, 2), 'BAD_INPUT')).message).to.match(/at least one image \(got 0\)/);
    expect((await rejectsGanvas(inversionGradient(cut, fx, head, y, 2, new Float32Array(255)), 'BAD_INPUT')).message).to.match(/vectors must hold 1 × 2 × 128 values .*got 255/);
    const noCarry = await rejectsGanvas(invertTargets(cut, fx, { activations: head.activations, carry: {} }, y, 2, { steps: 1 }), 'BAD_INPUT');
    expect(noCarry.message).to.match(/the inversion needs ".+" in carry; pass the carry returned by cut\.sample\(\)/);
  });

  it('an image\'s inversion does not depend on the batch it runs in (batchSize 1, 2 and 64, both layouts), and progress counts image·steps', async () => {
    const { cut, fx } = await fmnist();
    const { head, y } = await targetsFor(cut, fx, [41, 42, 43], [[1, 1], [7, 3], [14, 15]]);
    const whole = await invertTargets(cut, fx, head, y, 2, { steps: 2 });
    const calls: [number, number][] = [];
    const byTwo = await invertTargets(cut, fx, head, y, 2, { steps: 2, batchSize: 2, onProgress: (d, t) => calls.push([d, t]) });
    // Batch [0, 1] for two steps, then batch [2] for two steps.
    expect(calls).to.deep.equal([[2, 6], [4, 6], [5, 6], [6, 6]]);
    const one = await invertTargets(cut, fx, head, y, 2, { steps: 2, batchSize: 1 });
    const graph = await invertTargets(cut, fx, head, y, 2, { steps: 2, batchSize: 2, layout: 'graph' });
    for (const [name, r] of [['batchSize 2', byTwo], ['batchSize 1', one], ['graph, batchSize 2', graph]] as const) {
      expect(relErr(r.vectors, whole.vectors), name).to.be.lessThan(1e-5);
      r.cosines.forEach((c, i) => expect(c, `${name}: image ${i}`).to.be.closeTo(whole.cosines[i], 1e-5));
    }
    // The steps move the vectors away from the start.
    const start = meanVectors(head.activations);
    expect(relErr(whole.vectors, start)).to.be.greaterThan(1e-4);
  });

  it('reports the final cosine and L1 per image as computed on the plain path (render, then features), and the loss agrees', async () => {
    const { cut, fx } = await fmnist();
    const { head, y } = await targetsFor(cut, fx, [51, 52], [[3, 3], [10, 12]]);
    const [n, c, h, w] = head.activations.dims;
    const fc = y.dims[1];
    for (const g of [0, 3]) {
      const out = await invertTargets(cut, fx, head, y, g, { steps: 3, init: 'random', initSeed: 5 });
      // The reported vectors, laid out by hand (v1 on gridMask's 1s), rendered and featured without the chain.
      const mask = g === 0 ? null : gridMask(h, w, g);
      const a = new Float32Array(n * c * h * w);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < c; k++) {
          for (let p = 0; p < h * w; p++) a[(i * c + k) * h * w + p] = out.vectors[i * 2 * c + (!mask || mask.data[p] ? 0 : c) + k];
        }
      }
      const f = await fx.features(await cut.render({ data: a, dims: [n, c, h, w] }, head.carry), cut.generator.range);
      const hw = f.dims[2] * f.dims[3];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const m = Array.from({ length: fc }, (_, k) => {
          let s = 0;
          for (let p = 0; p < hw; p++) s += f.data[(i * fc + k) * hw + p];
          return s / hw;
        });
        const t = y.data.subarray(i * fc, (i + 1) * fc);
        expect(out.cosines[i], `g = ${g}, image ${i}: cosine`).to.be.closeTo(cosine(m, t), 1e-4);
        const l1 = m.reduce((s, x, k) => s + Math.abs(x - t[k]), 0) / fc;
        expect(out.l1[i], `g = ${g}, image ${i}: L1`).to.be.closeTo(l1, 1e-4);
        total += l1;
      }
      // Algorithm 1's loss at the final vectors, through the gradient model: the sum of the images' L1.
      expect((await inversionGradient(cut, fx, head, y, g, out.vectors)).loss).to.be.closeTo(total, 1e-4);
      if (g === 0) expect(Array.from(out.vectors.subarray(0, c))).to.deep.equal(Array.from(out.vectors.subarray(c, 2 * c)));
    }
  });

  it('\'random\' starts are seeded per image: the same initSeed repeats, another differs; \'zeros\' starts at 0', async () => {
    const { cut, fx } = await fmnist();
    const { head, y } = await targetsFor(cut, fx, [61, 62], [[0, 0], [5, 5]]);
    const a = await invertTargets(cut, fx, head, y, 2, { steps: 0, init: 'random', initSeed: 1 });
    const b = await invertTargets(cut, fx, head, y, 2, { steps: 0, init: 'random', initSeed: 1 });
    const other = await invertTargets(cut, fx, head, y, 2, { steps: 0, init: 'random', initSeed: 2 });
    expect(Array.from(b.vectors)).to.deep.equal(Array.from(a.vectors));
    expect(relErr(other.vectors, a.vectors)).to.be.greaterThan(0.1);
    // Not the mean start, and each image draws its own (image 1 is not image 0's draw on its own means).
    const mean = meanVectors(head.activations);
    expect(relErr(a.vectors, mean)).to.be.greaterThan(0.01);
    const zeros = await invertTargets(cut, fx, head, y, 2, { steps: 0, init: 'zeros' });
    expect(zeros.vectors.every((v) => v === 0)).to.equal(true);
    // Without initSeed: seed 0.
    const dflt = await invertTargets(cut, fx, head, y, 2, { steps: 0, init: 'random' });
    const zero = await invertTargets(cut, fx, head, y, 2, { steps: 0, init: 'random', initSeed: 0 });
    expect(Array.from(dflt.vectors)).to.deep.equal(Array.from(zero.vectors));
  });

  it('keepVectors stores each image\'s v1, v2; renderInversions lays them out on the grid and renders them on the image\'s own sample', async () => {
    const { cut, fx } = await fmnist();
    const r = await gridInversion(cut, fx, { count: 3, runs: 1, sizes: [0, 2], steps: 0, keepVectors: true });
    const seeds = r.targets['0'].map((t) => t.seed);
    const head = await cut.sample(seeds);
    const [, c, h, w] = head.activations.dims;
    const start = meanVectors(head.activations); // steps 0, init 'mean': the vectors are the images' own means
    const cell = r.cells.find((x) => x.grid === 2) as GridInversionCell;
    expect(cell.vectors).to.have.length(3);
    cell.vectors?.forEach((v, i) => {
      expect(v).to.have.length(2 * c);
      v.forEach((x, k) => expect(x).to.be.closeTo(start[i * 2 * c + k], 1e-6));
    });
    // Render images 2 and 0 at g = 2 with distinct v1, v2 (replacing the stored ones by hand-made vectors).
    const v1 = Array.from({ length: c }, (_, k) => Math.sin(k));
    const v2 = Array.from({ length: c }, (_, k) => Math.cos(3 * k));
    const edited = { ...r, cells: r.cells.map((x) => (x.grid === 2 ? { ...x, vectors: [[...v1, ...v2], [...v2, ...v1], [...v1, ...v1]] } : x)) };
    const { original, inverted } = await renderInversions(cut, edited, 0, 2, [2, 0]);
    const pick = await cut.sample([seeds[2], seeds[0]]);
    const mask = gridMask(h, w, 2);
    const a = new Float32Array(2 * c * h * w);
    const rowsOf = [[...v1, ...v1], [...v1, ...v2]];
    for (let i = 0; i < 2; i++) for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) a[(i * c + k) * h * w + p] = rowsOf[i][(mask.data[p] ? 0 : c) + k];
    const want = await cut.render({ data: a, dims: [2, c, h, w] }, pick.carry);
    expect(relErr(inverted.data, want.data)).to.be.lessThan(1e-6);
    expect(relErr(original.data, (await cut.render(pick.activations, pick.carry)).data)).to.be.lessThan(1e-6);
    // g = 0: one vector everywhere.
    const flat = await renderInversions(cut, r, 0, 0, [1]);
    const a0 = new Float32Array(c * h * w);
    for (let k = 0; k < c; k++) a0.fill(start[2 * c + k], k * h * w, (k + 1) * h * w);
    const one = await cut.sample([seeds[1]]);
    expect(relErr(flat.inverted.data, (await cut.render({ data: a0, dims: [1, c, h, w] }, one.carry)).data)).to.be.lessThan(1e-5);
    // Refusals: no such cell, no vectors kept, no index, an index outside the targets.
    let e = await rejectsGanvas(renderInversions(cut, r, 1, 2, [0]), 'BAD_INPUT');
    expect(e.message).to.contain('no cell for run 1, grid size 2');
    e = await rejectsGanvas(renderInversions(cut, r, 0, 5, [0]), 'BAD_INPUT');
    expect(e.message).to.contain('no cell for run 0, grid size 5');
    const bare = { ...r, cells: r.cells.map(({ vectors: _v, ...x }) => x) };
    e = await rejectsGanvas(renderInversions(cut, bare, 0, 2, [0]), 'BAD_INPUT');
    expect(e.message).to.contain('run 0, grid size 2 was computed without keepVectors: true');
    e = await rejectsGanvas(renderInversions(cut, r, 0, 2, []), 'BAD_INPUT');
    expect(e.message).to.contain('at least one index');
    for (const bad of [3, -1, 1.5]) {
      e = await rejectsGanvas(renderInversions(cut, r, 0, 2, [0, bad]), 'BAD_INPUT');
      expect(e.message).to.contain(`index ${bad} is outside 0 … 2`);
    }
    // Without keepVectors the cells hold no vectors.
    const plain = await gridInversion(cut, fx, { count: 1, runs: 1, sizes: [1], steps: 0 });
    expect(plain.cells[0].vectors).to.equal(undefined);
  });

  it('gridInversion: every run on its own images, y read at each target\'s pixel, progress over all pending work', async () => {
    const { cut, fx } = await fmnist();
    const calls: [number, number][] = [];
    // Sizes given out of order: the cells still come sorted by run, then grid size.
    const t0 = Date.now();
    const r = await gridInversion(cut, fx, { count: 2, runs: 2, sizes: [2, 0], steps: 1, seed: 3, onProgress: (d, t) => calls.push([d, t]) });
    const elapsed = (Date.now() - t0) / 1000;
    expect(calls.at(-1)).to.deep.equal([2 * 2 * 2 * 1, 8]);
    expect(calls.every(([d, t], i) => t === 8 && d > 0 && (i === 0 || d > calls[i - 1][0]))).to.equal(true);
    expect(r.settings).to.deep.equal({
      generator: 'fmnist-stylegan', layer: 'b8.conv1', extractor: 'fmnist-resnet', featureLayer: 'layer1',
      count: 2, seed: 3, steps: 1, lr: 0.05, init: 'mean', schedule: 'cosine', loss: 'l1',
    });
    expect(r.cells.map((c) => [c.run, c.grid])).to.deep.equal([[0, 0], [0, 2], [1, 0], [1, 2]]);
    expect(r.targets['1'].map((t) => t.seed)).to.deep.equal([8, 9]);
    // Each cell equals invertTargets on the run's images with y read by hand at the targets' pixels.
    for (const run of [0, 1]) {
      const ts = r.targets[String(run)];
      const { head, y } = await targetsFor(cut, fx, ts.map((t) => t.seed), ts.map((t) => [t.y, t.x]));
      const out = await invertTargets(cut, fx, head, y, 2, { steps: 1, initSeed: 3 + run });
      const cell = r.cells.find((c) => c.run === run && c.grid === 2) as GridInversionCell;
      cell.cosines.forEach((x, i) => expect(x, `run ${run}, image ${i}`).to.be.closeTo(out.cosines[i], 1e-4));
      expect(cell.mean).to.be.closeTo((out.cosines[0] + out.cosines[1]) / 2, 1e-4);
      expect(cell.std).to.be.closeTo(Math.abs(out.cosines[0] - out.cosines[1]) / 2, 1e-4);
      // Seconds of the cell's own inversion: within the whole call's wall time.
      expect(cell.seconds).to.be.within(0, elapsed);
    }
  });
  it('records a feature layer by the alias it was opened with (tiny models: alias layer2, tensor l2); refuses targets y of another shape', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer2', rt);
    expect(fx.layer.name).to.not.equal('layer2');
    const head = await cut.sample([1, 2]);
    const fc = fx.layer.channels;
    const y = (dims: number[]): FloatTensor => ({ data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims });
    const r = await gridInversion(cut, fx, { count: 1, runs: 1, sizes: [2], steps: 0 });
    expect(r.settings.featureLayer).to.equal('layer2');
    for (const dims of [[2, fc, 1], [3, fc], [1, fc], [2, fc + 1], [2 * fc]]) {
      expect((await rejectsGanvas(invertTargets(cut, fx, head, y(dims), 2), 'BAD_INPUT')).message).to.equal(
        `targets y must have shape [2, ${fc}] (one ${fc}-channel vector of tiny-cls per image), got [${dims.join(', ')}]`,
      );
    }
  });
});

/**
 * Issue 19: textureThreshold (src/tileability.ts) against Otsu's method written here from its definition: the split
 * of the histogram (`bins` equal bins between the lowest and highest texture) that maximizes the between-class
 * variance ω0·ω1·(μ0 − μ1)², each class's mean and weight summed afresh for every split (not the running sums of the
 * implementation); the threshold is then halfway between the nearest values on either side of the split, and never
 * below `floor`.
 */
import { expect } from 'chai';
import seedrandom from 'seedrandom';
import { FeatureExtractor, GanvasError, Generator, Runtime, Scan, TEXTURE_FLOOR, rank, scan, textureThreshold } from 'ganvas';
import { tinyClassifier, tinyGenerator } from './models';
import { rejectsGanvas } from './util';

const scanOf = (textures: (number | undefined)[]): Scan => ({ entries: textures.map((texture) => ({ cosine: 1, texture })) }) as unknown as Scan;

function otsu(xs: number[], bins: number, floor: number): number {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  if (hi <= lo) return Math.max(lo, floor);
  const bin = (x: number) => Math.min(bins - 1, Math.floor(((x - lo) / (hi - lo)) * bins));
  let best = -Infinity;
  let split = -1;
  for (let k = 0; k < bins - 1; k++) {
    const left = xs.filter((x) => bin(x) <= k).map(bin);
    const right = xs.filter((x) => bin(x) > k).map(bin);
    if (left.length === 0 || right.length === 0) continue;
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const between = left.length * right.length * (mean(left) - mean(right)) ** 2;
    if (between > best * (1 + 1e-12)) {
      best = between;
      split = k;
    }
  }
  const cut = lo + ((split + 1) / bins) * (hi - lo);
  const below = Math.max(...xs.filter((x) => x < cut));
  const above = Math.min(...xs.filter((x) => x >= cut));
  return Math.max((below + above) / 2, floor);
}

describe('textureThreshold: Otsu on the textures, checked against the definition (issue 19)', () => {
  it('random two- and three-mode samples, default and other bin counts and floors', () => {
    const rng = seedrandom('texture-otsu');
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    let cases = 0;
    for (let t = 0; t < 24; t++) {
      const modes = 2 + (t % 2);
      const xs: number[] = [];
      for (let m = 0; m < modes; m++) {
        const centre = 0.02 + 0.3 * m + 0.1 * rng();
        const n = 5 + Math.floor(rng() * 40);
        for (let i = 0; i < n; i++) xs.push(Math.abs(centre + 0.03 * normal()));
      }
      const bins = [256, 16, 7, 2][t % 4];
      const floor = [TEXTURE_FLOOR, 0, 0.2, TEXTURE_FLOOR][Math.floor(t / 6) % 4];
      const opts = t % 4 === 0 && floor === TEXTURE_FLOOR ? {} : { bins, floor };
      expect(textureThreshold(scanOf(xs), opts), `case ${t}`).to.be.closeTo(otsu(xs, bins, floor), 1e-12);
      cases++;
    }
    expect(cases).to.equal(24);
  });

  it('a skewed sample whose best split is not the middle bin; the flat and one-value cases', () => {
    const xs = [0.01, 0.011, 0.012, 0.013, 0.5, 0.52, 0.9, 0.95, 0.97, 0.99, 1];
    for (const bins of [256, 10, 3]) expect(textureThreshold(scanOf(xs), { bins })).to.be.closeTo(otsu(xs, bins, TEXTURE_FLOOR), 1e-12);
    // All equal: that value, or the floor when it is below it.
    expect(textureThreshold(scanOf([0.3, 0.3, 0.3]))).to.equal(0.3);
    expect(textureThreshold(scanOf([0.3]))).to.equal(0.3);
    expect(textureThreshold(scanOf([0.001, 0.001]))).to.equal(TEXTURE_FLOOR);
    expect(textureThreshold(scanOf([0.001, 0.001]), { floor: 0 })).to.equal(0.001);
    // Two values: halfway between them.
    expect(textureThreshold(scanOf([0.2, 0.6]))).to.be.closeTo(0.4, 1e-15);
  });

  it('refuses a scan without texture values, or with a non-finite one', () => {
    for (const t of [[], [undefined], [0.1, NaN], [0.1, Infinity]]) {
      expect(() => textureThreshold(scanOf(t)), JSON.stringify(t)).to.throw(GanvasError, /textureThreshold needs a scan with texture values/);
    }
  });
});

describe('rank and scan ranges: hand-worked cases (issue 19)', () => {
  const entry = (cosine: unknown, texture?: number) => ({ cosine, texture });
  const ranked = (entries: unknown[], opts = {}) => rank({ entries } as unknown as Scan, opts).map((e) => entries.indexOf(e));

  it('rank: descending cosine, ties in scan order; entries without a number cosine last, in scan order', () => {
    const entries = [entry(0.5), entry(NaN), entry(0.9), entry('0.99'), entry(0.9), entry(undefined), entry(-Infinity), null, entry(0.7)];
    expect(ranked(entries)).to.deep.equal([2, 4, 8, 0, 6, 1, 3, 5, 7]);
    for (const bad of [null, undefined, {}, { entries: 'x' }]) {
      expect(() => rank(bad as unknown as Scan), JSON.stringify(bad)).to.throw(GanvasError, /^rank\(\) needs a scan \(\{entries: \[\.\.\.\]\}\) as returned by scan\(\) or loadScan\(\)$/);
    }
  });

  it('rank with minTexture: keeps textures at or above it (0 keeps all); refuses a scan where any entry lacks one', () => {
    const entries = [entry(0.1, 0.2), entry(0.9, 0.05), entry(0.5, 0), entry(0.7, 0.3)];
    expect(ranked(entries, { minTexture: 0.2 })).to.deep.equal([3, 0]);
    expect(ranked(entries, { minTexture: 0 })).to.deep.equal([1, 3, 2, 0]);
    expect(() => rank({ entries: [entry(0.1, 0.2), entry(0.2)] } as unknown as Scan, { minTexture: 0.1 })).to.throw(GanvasError, /no texture values/);
    for (const m of [-0.1, NaN, Infinity]) expect(() => rank({ entries } as unknown as Scan, { minTexture: m }), String(m)).to.throw(GanvasError, /^minTexture must be a number ≥ 0/);
  });

  it('scan from…to: the range is checked against count, and progress counts within the range', async () => {
    const rt = new Runtime({ threads: 1 });
    try {
      const cut = await (await Generator.open(await tinyGenerator(), rt)).cut('b8.conv1');
      const fx = await FeatureExtractor.open(await tinyClassifier(), 'layer1', rt);
      for (const [from, to] of [[-1, 2], [0, 5], [3, 2], [0.5, 2], [0, 2.5]]) {
        const e = await rejectsGanvas(scan(cut, fx, { count: 4, from, to, erosion: 1 }), 'BAD_INPUT');
        expect(e.message).to.equal(`from…to must be integers with 0 ≤ from ≤ to ≤ count (4), got ${from}…${to}`);
      }
      const calls: [number, number][] = [];
      const part = await scan(cut, fx, { count: 4, from: 2, to: 4, batchSize: 1, erosion: 1, onProgress: (d, t) => calls.push([d, t]) });
      expect(calls).to.deep.equal([[1, 2], [2, 2]]);
      expect(part.entries).to.have.length(2);
      // The defaults: the whole scan, from 0 to count.
      expect((await scan(cut, fx, { count: 2, erosion: 1 })).entries).to.have.length(2);
      expect((await scan(cut, fx, { count: 4, from: 4, erosion: 1 })).entries).to.have.length(0);
    } finally {
      await rt.release();
    }
  });
});

/**
 * Issue 19: textureThreshold (src/tileability.ts) against Otsu's method written here from its definition: the split
 * of the histogram (`bins` equal bins between the lowest and highest texture) that maximizes the between-class
 * variance ω0·ω1·(μ0 − μ1)², each class's mean and weight summed afresh for every split (not the running sums of the
 * implementation); the threshold is then halfway between the nearest values on either side of the split, and never
 * below `floor`.
 */
import { expect } from 'chai';
import seedrandom from 'seedrandom';
import { GanvasError, Scan, TEXTURE_FLOOR, textureThreshold } from 'ganvas';

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

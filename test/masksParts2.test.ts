/**
 * Random label maps (src/masks.ts), more of the design: Voronoi cells are nearest-site regions under the Euclidean
 * distance, so on one row every site's cell meets the row (many labels), and on a square map with many classes
 * nearly every cell shows; strokes are a symmetric random walk from a uniform start, so over many maps they cover
 * the top and bottom halves (left and right) about equally, and they reach the map's first and last rows and
 * columns.
 */
import { expect } from 'chai';
import { randomLabels } from 'ganvas';

describe('random label maps: cells and walks', function () {
  this.timeout(60_000);

  it('Voronoi: a 1×2000 row with 500 classes shows many cells (every site\'s cell meets the row)', () => {
    for (let s = 0; s < 3; s++) {
      const { data } = randomLabels(`row-${s}`, 1, 2000, 500, { keepShare: 0 });
      // 501–504 sites, each with a class drawn from 500: about 500·(1 − e^−1) ≈ 316 distinct classes.
      expect(new Set(data).size, `seed ${s}`).to.be.greaterThan(250);
    }
  });

  it('Voronoi: a 48×48 map with 100 classes shows most of its 101–104 cells', () => {
    for (let s = 0; s < 3; s++) {
      const { data } = randomLabels(`sq-${s}`, 48, 48, 100, { keepShare: 0 });
      // ≈ 100·(1 − e^−1) ≈ 63 distinct classes if every cell shows (each has ≈ 22 pixels on average).
      expect(new Set(data).size, `seed ${s}`).to.be.greaterThan(45);
    }
  });

  it('strokes: over 60 maps the top and bottom halves, and the left and right halves, are about equally covered', () => {
    let [top, bottom, left, right] = [0, 0, 0, 0];
    for (let s = 0; s < 60; s++) {
      const { data } = randomLabels(`walk-${s}`, 32, 32, 2, { kind: 'strokes' });
      for (let p = 0; p < 1024; p++) {
        if (data[p] < 0) continue;
        if (p < 512) top++;
        else bottom++;
        if (p % 32 < 16) left++;
        else right++;
      }
    }
    expect(top / (top + bottom), 'top share').to.be.within(0.4, 0.6);
    expect(left / (left + right), 'left share').to.be.within(0.4, 0.6);
  });

  it('strokes reach the first and last rows and columns of the map', () => {
    const edges = { top: 0, bottom: 0, left: 0, right: 0 };
    for (let s = 0; s < 20; s++) {
      const { data } = randomLabels(`edge-${s}`, 24, 24, 2, { kind: 'strokes' });
      for (let i = 0; i < 24; i++) {
        if (data[i] >= 0) edges.top++;
        if (data[23 * 24 + i] >= 0) edges.bottom++;
        if (data[i * 24] >= 0) edges.left++;
        if (data[i * 24 + 23] >= 0) edges.right++;
      }
    }
    for (const [edge, n] of Object.entries(edges)) expect(n, `${edge} edge`).to.be.greaterThan(0);
  });
});

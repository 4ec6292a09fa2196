/**
 * Random label maps (src/masks.ts), the painted dataset's masks, checked for what their design says rather than for
 * their exact pixels: Voronoi cells take a class or "keep" (−1) with probability keepShare, each class equally likely;
 * blobs and strokes are drawn over a "keep" background; the shapes spread over the whole map (not bands or a
 * corner); sizes and counts are refused outside their ranges. Statistics run over 20 seeds with wide bounds around
 * the design's expectation (a uniform class pick gives each of K classes 1/K of the labelled area).
 */
import { expect } from 'chai';
import { MaskKind, randomLabels } from 'ganvas';

const KINDS: MaskKind[] = ['voronoi', 'blobs', 'strokes'];

/** Shares over 20 seeds of a H×W map with K classes: keep (−1), each class; and in how many maps some row and some column hold two labels. */
function survey(kind: MaskKind, K: number, keepShare?: number, H = 48, W = 48): { keep: number; classes: number[]; rowsMixed: number; colsMixed: number; outOfRange: number } {
  let keep = 0;
  let outOfRange = 0;
  let rowsMixed = 0;
  let colsMixed = 0;
  const classes = new Array<number>(K).fill(0);
  const seeds = 20;
  for (let s = 0; s < seeds; s++) {
    const { data, height, width } = randomLabels(`survey-${s}`, H, W, K, { kind, keepShare });
    expect([height, width, data.length]).to.deep.equal([H, W, H * W]);
    for (const v of data) {
      if (v === -1) keep++;
      else if (v >= 0 && v < K) classes[v]++;
      else outOfRange++;
    }
    const mixed = (line: (i: number) => number, n: number): boolean => {
      for (let i = 1; i < n; i++) if (line(i) !== line(0)) return true;
      return false;
    };
    let row = false;
    for (let y = 0; y < H && !row; y++) row = mixed((x) => data[y * W + x], W);
    let col = false;
    for (let x = 0; x < W && !col; x++) col = mixed((y) => data[y * W + x], H);
    if (row) rowsMixed++;
    if (col) colsMixed++;
  }
  const area = seeds * H * W;
  return { keep: keep / area, classes: classes.map((c) => c / area), rowsMixed, colsMixed, outOfRange };
}

describe('random label maps (dataset masks)', function () {
  this.timeout(60_000);

  it('Voronoi: keepShare 0 labels every cell with a class, each class about equally; keepShare 1 keeps everything; the default keeps about a quarter', () => {
    const none = survey('voronoi', 4, 0);
    expect(none.outOfRange).to.equal(0);
    expect(none.keep).to.equal(0);
    for (const c of none.classes) expect(c).to.be.within(0.15, 0.35);
    const all = survey('voronoi', 4, 1);
    expect(all.keep).to.equal(1);
    const dflt = survey('voronoi', 4);
    expect(dflt.keep, 'default keepShare 0.25 of the cells (area share, 20 maps)').to.be.within(0.12, 0.38);
  });

  it('blobs and strokes: shapes of each class over a keep background; classes about equally used', () => {
    for (const kind of ['blobs', 'strokes'] as MaskKind[]) {
      const r = survey(kind, 4, 0);
      expect(r.outOfRange, kind).to.equal(0);
      // Blobs have radii of 10–35 % of the map, strokes are short thick paths: neither covers the whole map nor
      // almost none of it.
      expect(r.keep, `${kind}: background share`).to.be.within(0.25, 0.8);
      const labelled = 1 - r.keep;
      for (const c of r.classes) expect(c / labelled, `${kind}: a class's share of the labelled area`).to.be.within(0.1, 0.4);
      // keepShare draws Voronoi cells only: the background is kept whatever it is.
      expect(survey(kind, 4, 1).keep, kind).to.equal(r.keep);
    }
  });

  it('every kind spreads over the map: some row and some column hold two labels in nearly every map (not bands, not a corner)', () => {
    for (const kind of KINDS) {
      const r = survey(kind, 3, 0);
      expect(r.rowsMixed, `${kind}: maps with a mixed row`).to.be.at.least(18);
      expect(r.colsMixed, `${kind}: maps with a mixed column`).to.be.at.least(18);
    }
  });

  it('blob and stroke shapes reach every part of the map over many seeds', () => {
    // Over 20 maps each quadrant is labelled somewhere: centres are drawn over the whole map.
    for (const kind of ['blobs', 'strokes'] as MaskKind[]) {
      const hit = [0, 0, 0, 0];
      for (let s = 0; s < 20; s++) {
        const { data } = randomLabels(`q-${s}`, 40, 40, 2, { kind });
        for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) if (data[y * 40 + x] >= 0) hit[(y < 20 ? 0 : 2) + (x < 20 ? 0 : 1)]++;
      }
      for (const h of hit) expect(h, `${kind}: labelled pixels in a quadrant`).to.be.greaterThan(0.1 * 20 * 400);
    }
  });

  it('non-square maps are covered in both directions', () => {
    for (const kind of KINDS) {
      const { data } = randomLabels('wide', 6, 60, 2, { kind, keepShare: 0 });
      const right = Array.from(data.filter((_, i) => i % 60 >= 30));
      const left = Array.from(data.filter((_, i) => i % 60 < 30));
      if (kind === 'voronoi') expect(right.every((v) => v >= 0) && left.every((v) => v >= 0), kind).to.equal(true);
      else expect(right.some((v) => v >= 0) || left.some((v) => v >= 0), kind).to.equal(true);
    }
  });

  it('the seed decides the map: same seed same map, another seed another map', () => {
    for (const kind of KINDS) {
      const a = Array.from(randomLabels('s', 24, 24, 3, { kind }).data);
      expect(Array.from(randomLabels('s', 24, 24, 3, { kind }).data)).to.deep.equal(a);
      expect(Array.from(randomLabels('t', 24, 24, 3, { kind }).data)).to.not.deep.equal(a);
    }
  });

  it('refuses class counts, sizes and keep shares outside their ranges, and takes their ends', () => {
    for (const k of [0, 1.5, 32768, Number.NaN]) expect(() => randomLabels('s', 4, 4, k), String(k)).to.throw(/integer number of classes from 1 to 32767/);
    expect(randomLabels('s', 4, 4, 1, { keepShare: 0 }).data.every((v) => v === 0)).to.equal(true);
    expect(() => randomLabels('s', 4, 4, 32767)).to.not.throw();
    for (const [h, w] of [[0, 4], [4, 0], [4.5, 4], [4, -1]]) expect(() => randomLabels('s', h, w, 2), `${h}×${w}`).to.throw(/positive integer size/);
    expect(() => randomLabels('s', 1, 1, 2)).to.not.throw();
    expect(() => randomLabels('s', 1, 2 ** 26 + 1, 1, { kind: 'strokes' })).to.throw(/too large \(at most 2\^26 positions\)/);
    expect(randomLabels('s', 1, 2 ** 26, 1, { kind: 'strokes' }).data.length).to.equal(2 ** 26);
    for (const p of [-0.01, 1.01, Number.NaN]) expect(() => randomLabels('s', 4, 4, 2, { keepShare: p }), String(p)).to.throw(/keepShare is a probability in \[0, 1\]/);
    expect(randomLabels('s', 4, 4, 2, { keepShare: 1 }).data.every((v) => v === -1)).to.equal(true);
  });
});

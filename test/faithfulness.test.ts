import { expect } from 'chai';
import { Generator, KEEP_COLOR, Painter, Runtime, afterCutInfluence, paintIoU, rgbToHed, stainLabels } from 'ganvas';
import { identityGenerator, styledGenerator, tinyGenerator } from './models';

describe('faithfulness of painting', () => {
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  function squareMask(size: number, color: string) {
    const data = new Uint8Array(size * size * 3);
    const k = parseInt(KEEP_COLOR.slice(1), 16);
    const v = parseInt(color.slice(1), 16);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const c = y >= size / 4 && y < (3 * size) / 4 && x >= size / 4 && x < (3 * size) / 4 ? v : k;
        data.set([c >> 16, (c >> 8) & 255, c & 255], 3 * (y * size + x));
      }
    }
    return { data, width: size, height: size };
  }

  it('nothing enters after the cut of a plain generator: the painted image does not change with other seeds', async () => {
    const gen = await Generator.open(await identityGenerator(), rt);
    const cut = await gen.cut('h');
    const inf = await afterCutInfluence(new Painter(cut, { '#ff0000': Float32Array.from([0.2, 0.1, 0.3]) }), squareMask(8, '#ff0000'), { others: [1, 2, 3] });
    expect(inf.enteringAfterCut).to.deep.equal([]);
    expect(inf.inside).to.equal(0);
    expect(inf.outside).to.equal(0);
  });

  it('noise entering after the cut changes the painted region', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const inf = await afterCutInfluence(new Painter(cut, { '#ff0000': new Float32Array(4).fill(0.5) }), squareMask(16, '#ff0000'), { others: [1, 2] });
    expect(inf.enteringAfterCut).to.deep.equal(['noise']);
    expect(inf.varied).to.deep.equal(['noise']);
    expect(inf.inside).to.be.greaterThan(0);
  });

  it('varies style vectors (N×C and N×C×1×1) and noise, and keeps spatial skip branches the base sample\'s', async () => {
    const gen = await Generator.open(await styledGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const inf = await afterCutInfluence(new Painter(cut, { '#ff0000': new Float32Array(4).fill(0.5) }), squareMask(16, '#ff0000'), { others: [1, 2] });
    // The RGB skip is made from `pre` before the cut: it crosses as its one-channel result, not as `pre`.
    expect(inf.enteringAfterCut).to.deep.equal(['style', 'rgb_skip', 'noise']);
    expect(inf.varied).to.deep.equal(['style', 'noise']);
    expect(inf.inside).to.be.greaterThan(0);
  });

  it('paint IoU: with an identity tail the painted square is exactly the vector colour, and IoU counts the background too', async () => {
    const gen = await Generator.open(await identityGenerator(), rt);
    const cut = await gen.cut('h');
    // A brown (DAB-like) colour in [-1, 1]: RGB (0.55, 0.35, 0.15).
    const v = Float32Array.from([0.1, -0.3, -0.7]);
    const thresholds = { hematoxylin: 0.05, dab: 0.05 };
    const [r] = await paintIoU(cut, [{ vector: v, provenance: { model: gen.name, layer: 'h', seed: 0, y: 0, x: 0 } }], { seeds: [5], thresholds });
    expect(r.stainClass).to.equal('dab');
    // Independent count: painted square (2×2 of 4×4 = 4 px) ∪ DAB pixels of the unpainted sample outside it.
    const original = await gen.generate([5]);
    const labels = stainLabels(rgbToHed(original, 0), thresholds);
    let outsideDab = 0;
    for (let p = 0; p < 16; p++) {
      const y = Math.floor(p / 4);
      const x = p % 4;
      const inside = y >= 1 && y < 3 && x >= 1 && x < 3;
      if (!inside && labels[p] === 1) outsideDab++;
    }
    expect(r.iou).to.be.closeTo(4 / (4 + outsideDab), 1e-12);
    expect(r.coverage).to.equal(1);
  });
});

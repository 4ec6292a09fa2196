/**
 * Does painting put the vector's structure where the mask says? (paper 000 §4.3, measured)
 * 1. ihc-gan at l16: scan vectors with ihc-features, take the most and least tileable, paint each into the
 *    central square on 8 backgrounds, and compare with an oracle segmentation by colour deconvolution (IoU).
 * 2. The limitation of §4.4: the same painted activations rendered with what enters after the cut taken from other
 *    seeds; fmnist-stylegan (style w and noise enter after b16.conv1) against ihc-gan (nothing does).
 *
 *   npm run bench:faithfulness [-- --count 256 --k 8]
 */
import { FeatureExtractor, Generator, Painter, Runtime, afterCutInfluence, openDemoModel, paintIoU, rank, scan, vectorsFromProvenance } from 'ganvas';
import { arg, intArg, table } from './util';

function square(size: number): { data: Uint8Array; width: number; height: number } {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = y >= size / 4 && y < (3 * size) / 4 && x >= size / 4 && x < (3 * size) / 4;
      data.set(inside ? [255, 0, 0] : [0, 255, 0], 3 * (y * size + x));
    }
  }
  return { data, width: size, height: size };
}

async function main(): Promise<void> {
  const count = intArg('count', 256);
  const k = intArg('k', 8);
  const rt = new Runtime({ threads: 2 });
  const ihc = new Generator(await openDemoModel('ihc-gan'), rt);
  const cut = await ihc.cut(arg('layer', 'l16'));
  const fx = await FeatureExtractor.open(await openDemoModel('ihc-features'), arg('feature-layer', 'layer1'), rt);
  const s = await scan(cut, fx, { count, seed: 0 });
  const ranked = rank(s);
  const groups = [
    { name: 'tileable (top)', entries: ranked.slice(0, k) },
    { name: 'non-tileable (bottom)', entries: ranked.slice(-k).reverse() },
  ];
  const rows: (string | number)[][] = [];
  const summary: (string | number)[][] = [];
  for (const g of groups) {
    const vectors = await vectorsFromProvenance(cut, g.entries.map((e) => e.provenance));
    const res = await paintIoU(cut, vectors);
    res.forEach((r, i) => rows.push([g.name, `seed ${r.vector.provenance?.seed} (${r.vector.provenance?.y},${r.vector.provenance?.x})`, g.entries[i].cosine, r.stainClass, r.iou, r.coverage]));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    summary.push([g.name, k, mean(g.entries.map((e) => e.cosine)), mean(res.map((r) => r.iou)), mean(res.map((r) => r.coverage))]);
  }
  console.log(`bench/faithfulness — ihc-gan ${cut.layerName}, ranked by ihc-features ${fx.layer.aliases[0] ?? fx.layer.name} over ${count} vectors; central square painted on 8 backgrounds`);
  console.log(table(['group', 'vectors', 'mean tileability', 'mean IoU with the oracle', 'mean coverage of the square'], summary));
  console.log(table(['group', 'vector', 'tileability', 'oracle class', 'IoU', 'coverage'], rows));

  const influence: (string | number)[][] = [];
  for (const [name, layer] of [['fmnist-stylegan', 'b16.conv1'], ['ihc-gan', 'l16']]) {
    const gen = name === 'ihc-gan' ? ihc : new Generator(await openDemoModel(name), rt);
    const c = await gen.cut(layer);
    const [v] = (await vectorsFromProvenance(c, [{ model: name, layer, seed: 0, y: Math.floor(c.layer.height / 2), x: Math.floor(c.layer.width / 2) }]));
    const inf = await afterCutInfluence(new Painter(c, { '#ff0000': v.vector }), square(c.layer.height * 4));
    influence.push([`${name} at ${layer}`, inf.enteringAfterCut.length ? inf.enteringAfterCut.join(', ') : '(nothing)', inf.varied.length ? inf.varied.join(', ') : '(nothing)', inf.inside, inf.outside]);
  }
  console.log('after-cut influence: the same painted activations rendered with the style and noise of 8 other seeds; mean |Δ pixel| / range');
  console.log(table(['model', 'tail inputs besides the layer', 'taken from other seeds', 'inside the painted region', 'outside'], influence));
  await rt.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * Does the texture of the `full` render (its spatial std, `Score.texture`) tell textures from flat background on the
 * shipped models? For each demo pair: the texture distribution over a scan, Otsu's threshold on it
 * (`textureThreshold`), and the top 8 by tileability with and without `rank(scan, { minTexture })` — how many of
 * them are flat — plus the textured top-8 galleries written to docs/ (grid(2) above full, score under each).
 *
 *   npm run bench:texture [-- --count 2048]
 */
import * as path from 'path';
import { Runtime, TEXTURE_MARGIN, gallery, rank, scan, spatialStd, textureThreshold, writeFileAtomic } from 'ganvas';
import { DEMO_PAIRS, intArg, openDemoPair, percentile, table } from './util';

async function main(): Promise<void> {
  const count = intArg('count', 2048);
  const docs = path.join(__dirname, '..', '..', 'docs');
  const rt = new Runtime({ threads: 2 });
  const dist: (string | number)[][] = [];
  const tops: (string | number)[][] = [];
  for (const pair of DEMO_PAIRS) {
    const [g, layer, f, flayer] = pair;
    const { gen, cut, fx } = await openDemoPair(rt, pair);
    const s = await scan(cut, fx, { count, seed: 0 });
    const tex = s.entries.map((e) => e.texture as number);
    const t = textureThreshold(s);
    const below = tex.filter((x) => x < t).length;
    // The gap Otsu's cut sits in: how many entries lie within ±25% of it (few = a clear valley between two modes).
    const near = tex.filter((x) => x > 0.75 * t && x < 1.25 * t).length;
    const name = `${g} ${layer} × ${f} ${flayer}`;
    // The generator's own samples, for scale: how much a real image varies.
    const samples = gen.generate(Array.from({ length: 256 }, (_, i) => 100000 + i));
    const own = spatialStd(await samples, gen.range, 0, undefined, TEXTURE_MARGIN);
    const e = (x: number) => (x < 1e-3 ? x.toExponential(1) : x.toFixed(3));
    dist.push([name, count, e(percentile(tex, 10)), e(percentile(tex, 25)), e(percentile(tex, 50)), e(percentile(tex, 90)), e(Math.max(...tex)), e(percentile(own, 50)), e(t), `${((100 * below) / count).toFixed(1)}%`, `${((100 * near) / count).toFixed(1)}%`]);
    const plain = rank(s).slice(0, 8);
    // plain/textured: the top 8 without and with the option.
    const textured = rank(s, { minTexture: t }).slice(0, 8);
    const flat = (es: typeof plain) => es.filter((e) => (e.texture as number) < t).length;
    const meanCos = (es: typeof plain) => es.reduce((a, e) => a + e.cosine, 0) / es.length;
    tops.push([name, `${flat(plain)}/8`, meanCos(plain), `${flat(textured)}/${textured.length}`, textured.length ? meanCos(textured) : '—', rank(s, { minTexture: t }).length]);
    if (textured.length > 0) {
      const gal = await gallery(cut, textured, { scale: g === 'ihc-gan' ? 2 : 3 });
      await writeFileAtomic(path.join(docs, `tileability-${g}-top-textured.png`), gal.png);
    }
  }
  console.log(`bench/texture — texture (spatial std of the full render, in units of the output range) over ${count} vectors (scan seed 0)`);
  console.log(table(['generator × extractor', 'N', 'p10', 'p25', 'median', 'p90', 'max', 'own samples median', 'textureThreshold', 'below it', 'within ±25% of it'], dist));
  console.log('top 8 by tileability: flat ones (texture below the threshold) and mean score, without and with rank(scan, { minTexture: threshold })');
  console.log(table(['generator × extractor', 'flat in top 8', 'mean score', 'flat in top 8 (minTexture)', 'mean score (minTexture)', 'entries kept'], tops));
  await rt.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

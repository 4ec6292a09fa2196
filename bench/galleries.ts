/**
 * "What we found": the tileability score distribution on the shipped models and the top / bottom galleries
 * (grid(2) above full, as Figs. 5 and 6), written to docs/ for the README.
 *
 *   npm run bench:galleries [-- --count 2048]
 */
import * as path from 'path';
import { Runtime, gallery, rank, scan, writeFileAtomic } from 'ganvas';
import { DEMO_PAIRS, intArg, openDemoPair, percentile, table } from './util';

async function main(): Promise<void> {
  const count = intArg('count', 2048);
  const docs = path.join(__dirname, '..', '..', 'docs');
  const rt = new Runtime({ threads: 2 });
  const rows: (string | number)[][] = [];
  for (const pair of DEMO_PAIRS) {
    const [g, layer, f, flayer] = pair;
    const { cut, fx } = await openDemoPair(rt, pair);
    const s = await scan(cut, fx, { count, seed: 0 });
    const scores = s.entries.map((e) => e.cosine);
    rows.push([`${g} ${layer} × ${f} ${flayer}`, count, percentile(scores, 1), percentile(scores, 25), percentile(scores, 50), percentile(scores, 75), percentile(scores, 99)]);
    const ranked = rank(s);
    for (const [which, entries] of [['top', ranked.slice(0, 8)], ['bottom', ranked.slice(-8).reverse()]] as const) {
      const gal = await gallery(cut, entries, { scale: g === 'ihc-gan' ? 2 : 3 });
      await writeFileAtomic(path.join(docs, `tileability-${g}-${which}.png`), gal.png);
    }
  }
  console.log(`bench/galleries — tileability score quantiles over ${count} vectors (scan seed 0); galleries in docs/`);
  console.log(table(['generator × extractor', 'N', 'p1', 'p25', 'median', 'p75', 'p99'], rows));
  await rt.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * `npm run fuzz`: the whole bad-input suite (every case in its pool child, see pool.ts) and the kill -9 trials
 * (kill.ts), with totals. Exits non-zero on any crash, hang, silent garbage, non-GanvasError or loss.
 *
 *   npm run fuzz                     # everything
 *   node build/test/fuzz/run.js --cases-only | --kills-only | --group=mask | --workers=2 | --kills=50
 */
import { promises as fs } from 'fs';
import { FUZZ_ROOT, allCases } from './cases';
import { datasetKillTrials, libraryKillTrials } from './kill';
import { failures, runCases, totals } from './pool';

async function main(): Promise<void> {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const flag = (name: string) => process.argv.includes(`--${name}`);
  const workers = Number(arg('workers') ?? 2);
  const kills = Number(arg('kills') ?? 50);
  let bad = 0;
  await fs.rm(FUZZ_ROOT, { recursive: true, force: true });
  if (!flag('kills-only')) {
    const group = arg('group');
    const ids = allCases().filter((c) => !group || c.group === group).map((c) => c.id);
    const t0 = Date.now();
    const results = await runCases(ids, {
      workers,
      timeoutMs: Number(arg('timeout') ?? 30000),
      onResult: (r, done, total) => {
        if (r.outcome !== 'ganvas' && r.outcome !== 'ok') process.stdout.write(`\n  ${r.outcome.toUpperCase()} ${r.id}: ${r.detail}\n`);
        if (done % 25 === 0 || done === total) process.stdout.write(`  ${done}/${total} cases (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      },
    });
    const t = totals(results);
    console.log(`\nbad-input cases: ${results.length} in ${((Date.now() - t0) / 1000).toFixed(0)} s with ${workers} workers`);
    console.log('| group | cases | GanvasError | legitimate success | silent garbage | other error | crash | hang |');
    console.log('|---|---|---|---|---|---|---|---|');
    const row = (name: string, o: Partial<Record<string, number>>) => {
      const n = Object.values(o).reduce((a, b) => (a ?? 0) + (b ?? 0), 0);
      console.log(`| ${name} | ${n} | ${o.ganvas ?? 0} | ${o.ok ?? 0} | ${o.garbage ?? 0} | ${o.other ?? 0} | ${o.crash ?? 0} | ${o.hang ?? 0} |`);
    };
    for (const [g, o] of Object.entries(t.byGroup)) row(g, o);
    row('**all**', t.byOutcome);
    bad += failures(results).length;
  }
  if (!flag('cases-only')) {
    for (const [name, trial] of [['library saves', libraryKillTrials], ['dataset runs', datasetKillTrials]] as const) {
      const t0 = Date.now();
      const r = await trial(kills, (msg) => process.stdout.write(`  ${msg}\n`));
      console.log(`kill -9 during ${name}: ${r.trials} kills, ${r.losses} losses, ${r.invalid} invalid files after resume (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      bad += r.losses + r.invalid;
      if (r.trials < kills) {
        console.log(`  only ${r.trials} of ${kills} kills landed inside the work`);
        bad++;
      }
    }
  }
  await fs.rm(FUZZ_ROOT, { recursive: true, force: true });
  console.log(bad === 0 ? 'fuzz: all clear' : `fuzz: ${bad} failure(s)`);
  process.exit(bad === 0 ? 0 : 1);
}

void main();

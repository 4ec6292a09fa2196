/**
 * The fast subset of the bad-input fuzz suite (test/fuzz/, the whole of it with `npm run fuzz`) and a few kill -9
 * trials: every case must end in a GanvasError or a documented legitimate success — no crash, hang, silent garbage
 * or other error — and no kill may lose what a completed save promised.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import { FUZZ_ROOT, fastSubset } from './fuzz/cases';
import { datasetKillTrials, libraryKillTrials } from './fuzz/kill';
import { failures, runCases } from './fuzz/pool';

describe('fuzz (fast subset; npm run fuzz runs all)', () => {
  after(() => fs.rm(FUZZ_ROOT, { recursive: true, force: true }));

  it('about 50 generated bad inputs, each in a pool child: only GanvasErrors or documented successes', async function () {
    this.timeout(600000);
    const ids = fastSubset(50).map((c) => c.id);
    expect(ids.length).to.be.within(45, 60);
    expect(new Set(ids.map((id) => id.split('/')[0])).size, 'every group is represented').to.equal(10);
    const results = await runCases(ids, { workers: 2, timeoutMs: 60000 });
    expect(results).to.have.length(ids.length);
    expect(failures(results).map((r) => `${r.outcome} ${r.id}: ${r.detail}`)).to.deep.equal([]);
  });

  it('kill -9 during library saves (4 trials): nothing lost, nothing left behind', async function () {
    this.timeout(600000);
    const log: string[] = [];
    const r = await libraryKillTrials(4, (m) => log.push(m));
    expect(r.trials).to.equal(4);
    expect({ losses: r.losses, invalid: r.invalid }, log.join('\n')).to.deep.equal({ losses: 0, invalid: 0 });
  });

  it('kill -9 during dataset runs (4 trials): resumes to the uninterrupted run, byte for byte', async function () {
    this.timeout(600000);
    const log: string[] = [];
    const r = await datasetKillTrials(4, (m) => log.push(m));
    expect(r.trials).to.equal(4);
    expect({ losses: r.losses, invalid: r.invalid }, log.join('\n')).to.deep.equal({ losses: 0, invalid: 0 });
  });
});

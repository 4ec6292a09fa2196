/**
 * The on-disk cache of Python reference results (test/referenceCache.ts) must never hand back a result computed
 * from other inputs: a changed file or folder it reads, a changed argument or stdin runs Python again; the same
 * contents under another temporary path reuse the stored result.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cachedPython } from './referenceCache';

describe('cached Python reference results', function () {
  this.timeout(60000);
  let tmp: string;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-refcache-'));
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('recomputes when what the script reads changes, reuses it when only the path does', async () => {
    // The script prints its inputs and a random number: a reused result repeats the random number.
    const script = path.join(tmp, 'ref.py');
    await fs.writeFile(script, 'import sys, os, random\nd = sys.argv[1]\nprint(sorted((f, open(os.path.join(d, f)).read()) for f in os.listdir(d)), sys.argv[2], sys.stdin.read(), random.random())\n');
    const dirA = path.join(tmp, 'a');
    await fs.mkdir(dirA);
    await fs.writeFile(path.join(dirA, 'x.txt'), 'one');
    const first = cachedPython([script, dirA, 'arg'], [script, dirA], 'in');
    expect(first).to.match(/\[\('x\.txt', 'one'\)\] arg in 0\.\d+/);
    expect(cachedPython([script, dirA, 'arg'], [script, dirA], 'in'), 'same inputs').to.equal(first);
    // The same contents in another folder (a fresh mkdtemp): the stored result.
    const dirB = path.join(tmp, 'b');
    await fs.mkdir(dirB);
    await fs.writeFile(path.join(dirB, 'x.txt'), 'one');
    expect(cachedPython([script, dirB, 'arg'], [script, dirB], 'in'), 'other path, same contents').to.equal(first);
    // Each change below runs Python again (a new random number, and the new inputs in the output).
    await fs.writeFile(path.join(dirB, 'x.txt'), 'two');
    const changedFile = cachedPython([script, dirB, 'arg'], [script, dirB], 'in');
    expect(changedFile).to.match(/\[\('x\.txt', 'two'\)\] arg in /);
    await fs.writeFile(path.join(dirB, 'y.txt'), '');
    expect(cachedPython([script, dirB, 'arg'], [script, dirB], 'in'), 'a file added').to.match(/'y\.txt'/);
    const changedArg = cachedPython([script, dirA, 'other'], [script, dirA], 'in');
    expect(changedArg).to.match(/ other in /);
    const changedInput = cachedPython([script, dirA, 'arg'], [script, dirA], 'stdin 2');
    expect(changedInput).to.match(/ arg stdin 2 /);
    await fs.appendFile(script, '# an edit of the script\n');
    const changedScript = cachedPython([script, dirA, 'arg'], [script, dirA], 'in');
    expect(changedScript).to.match(/\[\('x\.txt', 'one'\)\] arg in /);
    expect(new Set([first, changedFile, changedArg, changedInput, changedScript]).size, 'five different runs').to.equal(5);
  });
});

/**
 * The model recipes cannot rot: each one runs in --smoke mode (a few iterations, into a temporary folder) with
 * Debian's PyTorch, and what it writes is a model ganvas can open and run.
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import { promises as fs, readdirSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Runtime, openModel, randn } from 'ganvas';

const recipes = path.join(__dirname, '..', '..', 'models', 'recipes');

describe('model recipes (--smoke)', function () {
  this.timeout(300_000);
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());
  for (const r of readdirSync(recipes).filter((f) => f.startsWith('train_') && f.endsWith('.py')).sort()) {
    it(`${r} --smoke writes a model ganvas can run`, async () => {
      const out = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-recipe-'));
      const t0 = Date.now();
      const log = await new Promise<string>((resolve, reject) => {
        execFile('/usr/bin/python3', [path.join(recipes, r), '--smoke', '--out', out], { maxBuffer: 32 * 1024 * 1024, env: { ...process.env, PYTHONUNBUFFERED: '1' } }, (err, stdout, stderr) => {
          if (err) reject(new Error(`${r} --smoke failed: ${err.message}\n${(stdout + stderr).slice(-3000)}`));
          else resolve(stdout + stderr);
        });
      });
      expect(Date.now() - t0, `${r} took too long for a smoke run`).to.be.below(150_000);
      const dirs = (await fs.readdir(out, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => path.join(out, d.name));
      const candidates = [out, ...dirs];
      let opened = 0;
      for (const dir of candidates) {
        if (!(await fs.stat(path.join(dir, 'ganvas.json')).then(() => true, () => false))) continue;
        const b = await openModel(dir);
        const s = await rt.session(b.model);
        const feeds = Object.fromEntries(b.manifest.inputs.map((i) => [i.name, randn(i.name, [2, ...i.shape.slice(1).map(Number)])]));
        const res = await s.run(feeds);
        for (const o of b.manifest.outputs) expect(res[o.name].dims[0], `${r}: ${o.name}`).to.equal(2);
        for (const alias of Object.keys(b.manifest.layers)) expect(Object.values(b.model.aliases)).to.include(b.manifest.layers[alias]);
        opened++;
      }
      expect(opened, `${r} wrote no ganvas.json under ${out}:\n${log.slice(-1500)}`).to.be.at.least(1);
      await fs.rm(out, { recursive: true, force: true });
    });
  }
});

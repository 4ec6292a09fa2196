/**
 * Whole shipped models against PyTorch autograd: every models/<name>/fixtures/fixture.json written by the model
 * zoo holds inputs and d(mean(output²))/d(input) computed by PyTorch in eval mode. Our gradient model must agree
 * to a relative error ≤ 1e-4 (‖ours − torch‖ / ‖torch‖ per input). Runs over whatever fixtures exist.
 */
import { expect } from 'chai';
import { existsSync, promises as fs, readdirSync } from 'fs';
import * as path from 'path';
import { FloatTensor, LossExpr, Runtime, gradName, gradientModel, loss, lossAndGradients, openModel, readNpy, split } from 'ganvas';

const MODELS = path.resolve(__dirname, '../../../models');
const rt = new Runtime();
after(() => rt.release());

interface Fixture {
  output: string;
  lossValue: number;
  inputs: Record<string, { input: string; grad: string; shape: number[] }>;
}

function listFixtures(): string[] {
  // Synchronous listing: mocha needs the list of tests when the file loads.
  if (!existsSync(MODELS)) return [];
  return readdirSync(MODELS)
    .filter((d) => existsSync(path.join(MODELS, d, 'fixtures', 'fixture.json')) && existsSync(path.join(MODELS, d, 'ganvas.json')))
    .sort();
}

function relErr(a: FloatTensor, b: FloatTensor): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.data.length; i++) {
    num += (a.data[i] - b.data[i]) ** 2;
    den += b.data[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

describe('autodiff: shipped models against PyTorch autograd (relative error ≤ 1e-4)', function () {
  this.timeout(120000);
  const names = listFixtures();
  if (names.length === 0) {
    it('no model fixtures exist yet (models/<name>/fixtures/fixture.json)', function () {
      this.skip();
    });
  }
  for (const name of names) {
    it(`${name}: loss and gradient w.r.t. every input`, async () => {
      const dir = path.join(MODELS, name);
      const fx = JSON.parse(await fs.readFile(path.join(dir, 'fixtures', 'fixture.json'), 'utf8')) as Fixture;
      const { model } = await openModel(dir);
      const wrt = Object.keys(fx.inputs);
      const gm = await gradientModel(model, { wrt, loss: loss.mse(fx.output) });
      const feeds: Record<string, FloatTensor> = {};
      const expected: Record<string, FloatTensor> = {};
      for (const [input, f] of Object.entries(fx.inputs)) {
        feeds[input] = readNpy(await fs.readFile(path.join(dir, 'fixtures', f.input)));
        expected[input] = readNpy(await fs.readFile(path.join(dir, 'fixtures', f.grad)));
      }
      const session = await rt.session(gm);
      const r = await session.run(Object.fromEntries(session.inputs.map((s) => [s.name, feeds[s.name]])));
      expect(Math.abs(r.loss.data[0] - fx.lossValue) / Math.abs(fx.lossValue), 'loss value').to.be.at.most(1e-5);
      const errs: string[] = [];
      for (const input of wrt) {
        const g = r[gradName(input)];
        expect(g.dims, `dims of grad_${input}`).to.deep.equal(expected[input].dims);
        const e = relErr(g, expected[input]);
        errs.push(`${input} ${e.toExponential(1)}`);
        expect(e, `relative error of grad_${input}`).to.be.at.most(1e-4);
      }
      if (process.env.GANVAS_VERBOSE) console.log(`      ${name}: ${errs.join(', ')}`);
    });

    it(`${name}: the same gradients through a cut (split at a middle layer, tail then head by the chain rule)`, async () => {
      const dir = path.join(MODELS, name);
      const fx = JSON.parse(await fs.readFile(path.join(dir, 'fixtures', 'fixture.json'), 'utf8')) as Fixture;
      const { model, manifest } = await openModel(dir);
      const aliases = Object.keys(manifest.layers ?? {});
      if (aliases.length === 0) return;
      const s = await split(model, aliases[Math.floor(aliases.length / 2)]);
      const feeds: Record<string, FloatTensor> = {};
      const expected: Record<string, FloatTensor> = {};
      for (const [input, f] of Object.entries(fx.inputs)) {
        feeds[input] = readNpy(await fs.readFile(path.join(dir, 'fixtures', f.input)));
        expected[input] = readNpy(await fs.readFile(path.join(dir, 'fixtures', f.grad)));
      }
      const head = await (await rt.session(s.head)).run(Object.fromEntries(s.headInputs.map((n) => [n, feeds[n]])));
      // Tail: d loss / d (every tail input) — the layer, the crossing tensors and inputs read after the cut.
      const tailNames = s.tailInputs.map((t) => t.name);
      const tailFeeds: Record<string, FloatTensor> = {};
      for (const t of s.tailInputs) tailFeeds[t.name] = t.role === 'input' ? feeds[t.name] : head[t.name];
      const tg = await gradientModel(s.tail, { wrt: tailNames, loss: loss.mse(fx.output) });
      const tr = await lossAndGradients(await rt.session(tg), tailFeeds);
      expect(Math.abs(tr.loss - fx.lossValue) / fx.lossValue).to.be.at.most(1e-5);
      // Head: the vector-Jacobian product with the tail's gradients, Σₜ sum(t · Gₜ) over the head's outputs.
      const terms: LossExpr[] = s.headOutputs.map((t, i) => loss.sum(loss.mul(t, loss.feed(`ganvas_G${i}`))));
      const vjp = terms.reduce((a, b) => loss.add(a, b));
      const hg = await gradientModel(s.head, { wrt: s.headInputs, loss: loss.sum(vjp) });
      const hFeeds: Record<string, FloatTensor> = { ...feeds };
      s.headOutputs.forEach((t, i) => (hFeeds[`ganvas_G${i}`] = tr.grads[t]));
      const hr = await lossAndGradients(await rt.session(hg), hFeeds);
      for (const input of Object.keys(fx.inputs)) {
        const parts = [hr.grads[input], tr.grads[input]].filter((g): g is FloatTensor => g !== undefined);
        expect(parts.length, `${input} is read before or after the cut`).to.be.greaterThan(0);
        const total = { data: parts[0].data.map((v, i) => v + (parts[1]?.data[i] ?? 0)), dims: parts[0].dims };
        expect(relErr(total, expected[input]), `relative error of grad_${input} through the cut`).to.be.at.most(1e-4);
      }
    });
  }
});

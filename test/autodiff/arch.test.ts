/**
 * Issue 13: architectures outside the demo models against PyTorch autograd. test/autodiff/arch/<name>/ holds a
 * small model exported from PyTorch and its fixture (inputs, d(mean(output²))/d(input) by PyTorch in eval mode),
 * written by `/usr/bin/python3 bench/autodiff_torch.py --fixtures test/autodiff/arch`:
 *   maxpool-resnet   torchvision's ResNet layout (7×7/2 stem, 3×3/2 pad-1 overlapping MaxPool), narrow;
 *   stylegan2-fused  a StyleGAN2 generator with the fused modulated convolution (per-sample weights demodulated
 *                    through Pow(w, 2) on 5-D tensors, one grouped Conv with groups = batch).
 * Also checks the form of the StyleGAN2 gradient model that made it fast: no Pow among the backward nodes.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as path from 'path';
import { FloatTensor, Runtime, gradName, gradientModel, loadModel, loss, readNpy } from 'ganvas';

const ARCH = path.resolve(__dirname, '../../../test/autodiff/arch');
const rt = new Runtime({ threads: 1 });
after(() => rt.release());

interface Fixture {
  output: string;
  lossValue: number;
  inputs: Record<string, { input: string; grad: string; shape: number[] }>;
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

async function check(name: string) {
  const dir = path.join(ARCH, name);
  const fx = JSON.parse(await fs.readFile(path.join(dir, 'fixtures', 'fixture.json'), 'utf8')) as Fixture;
  const model = await loadModel(path.join(dir, 'model.onnx'));
  const wrt = Object.keys(fx.inputs);
  const gm = await gradientModel(model, { wrt, loss: loss.mse(fx.output) });
  const feeds: Record<string, FloatTensor> = {};
  const expected: Record<string, FloatTensor> = {};
  for (const [input, f] of Object.entries(fx.inputs)) {
    feeds[input] = readNpy(await fs.readFile(path.join(dir, 'fixtures', f.input)));
    expected[input] = readNpy(await fs.readFile(path.join(dir, 'fixtures', f.grad)));
  }
  const r = await (await rt.session(gm)).run(feeds);
  expect(Math.abs(r.loss.data[0] - fx.lossValue) / Math.abs(fx.lossValue), 'loss value').to.be.at.most(1e-5);
  for (const input of wrt) {
    const g = r[gradName(input)];
    expect(g.dims, `dims of grad_${input}`).to.deep.equal(expected[input].dims);
    expect(relErr(g, expected[input]), `relative error of grad_${input}`).to.be.at.most(1e-4);
  }
  return gm;
}

describe('autodiff: architectures outside the demo models against PyTorch autograd (issue 13)', function () {
  this.timeout(120000);

  it('max-pool-stem ResNet: gradient w.r.t. the image', async () => {
    await check('maxpool-resnet');
  });

  it('StyleGAN2 with fused demodulation: gradient w.r.t. z; no Pow among the backward nodes', async () => {
    const gm = await check('stylegan2-fused');
    const model = await loadModel(path.join(ARCH, 'stylegan2-fused', 'model.onnx'));
    const forwardPows = (model.graph.node ?? []).filter((n) => n.opType === 'Pow').length;
    expect(forwardPows, 'the model squares through Pow').to.be.greaterThan(0);
    expect((gm.graph.node ?? []).filter((n) => n.opType === 'Pow').length).to.equal(forwardPows);
  });
});

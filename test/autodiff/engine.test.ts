/**
 * The engine around the rules: loss helpers, variables at a cut and weights fed as inputs, whole small models,
 * caching, and the errors users see.
 */
import { expect } from 'chai';
import {
  FloatTensor,
  GanvasError,
  decodeModel,
  gradientModel,
  loss,
  lossAndGradients,
  randn,
  registeredOps,
  split,
  uniform,
} from 'ganvas';
import { GraphBuilder } from '../builder';
import { chain, styled, unet } from '../graphs';
import { JsLoss, expectGradients, rt } from './check';

after(() => rt.release());

async function rejects(p: Promise<unknown>): Promise<GanvasError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    return e as GanvasError;
  }
  throw new Error('expected a GanvasError');
}

/** x[N,3,6,6] → conv → tanh = y: a smooth little model for loss checks. */
function smooth() {
  const g = new GraphBuilder();
  g.input('x', ['N', 3, 6, 6]);
  g.node('Tanh', [g.conv('x', 3, 4)], 'y');
  g.output('y');
  return g.build('smooth');
}

const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
};

describe('autodiff: loss helpers (finite differences)', () => {
  const x = randn('loss-x', [2, 3, 6, 6]);
  const t = randn('loss-t', [2, 4, 6, 6]);

  it('meanL1 against a target', async () => {
    const js: JsLoss = (o, f) => mean(o.y.data.map((v, i) => Math.abs(v - f.target.data[i])));
    await expectGradients({ model: smooth(), inputs: { x }, wrt: ['x'], loss: loss.meanL1('y', loss.feed('target')), jsLoss: js, lossFeeds: { target: t }, h: 1e-3 });
  });

  it('mse against a target, masked by a fed [N,1,H,W] mask', async () => {
    const mask = { data: Float32Array.from(uniform('mask', 2 * 36), (u) => (u > 0.4 ? 1 : 0)), dims: [2, 1, 6, 6] };
    const js: JsLoss = (o, f) => {
      const y = o.y.data;
      let s = 0;
      for (let i = 0; i < y.length; i++) {
        const n = Math.floor(i / 144);
        const p = i % 36;
        s += ((y[i] - f.target.data[i]) * f.m.data[n * 36 + p]) ** 2;
      }
      return s / y.length;
    };
    const spec = loss.mean(loss.square(loss.masked(loss.sub('y', loss.feed('target', ['N', 4, 6, 6])), 'm', ['N', 1, 6, 6])));
    await expectGradients({ model: smooth(), inputs: { x }, wrt: ['x'], loss: spec, jsLoss: js, lossFeeds: { target: t, m: mask } });
  });

  it('cosine distance along channels', async () => {
    const js: JsLoss = (o, f) => {
      let s = 0;
      for (let n = 0; n < 2; n++)
        for (let p = 0; p < 36; p++) {
          let d = 0;
          let a2 = 0;
          let b2 = 0;
          for (let c = 0; c < 4; c++) {
            const a = o.y.data[n * 144 + c * 36 + p];
            const b = f.target.data[n * 144 + c * 36 + p];
            d += a * b;
            a2 += a * a;
            b2 += b * b;
          }
          s += 1 - d / Math.sqrt(a2 * b2 + 1e-12);
        }
      return s / 72;
    };
    await expectGradients({ model: smooth(), inputs: { x }, wrt: ['x'], loss: loss.cosineDistance('y', loss.feed('target')), jsLoss: js, lossFeeds: { target: t } });
  });

  it('spatial mean of one channel, scaled and negated (maximize an activation)', async () => {
    const js: JsLoss = (o) => {
      let s = 0;
      for (let n = 0; n < 2; n++) for (let p = 0; p < 36; p++) s += o.y.data[n * 144 + 2 * 36 + p];
      return (-3 * s) / 72 / 4;
    };
    // mean over [N, C] of −3·spatialMean(y·onehot(c=2)): the one-hot is a Constant-free feed here.
    const onehot = { data: Float32Array.from([0, 0, 1, 0]), dims: [1, 4, 1, 1] };
    const spec = loss.scale(loss.spatialMean(loss.mul('y', loss.feed('onehot', [1, 4, 1, 1]))), -3);
    await expectGradients({ model: smooth(), inputs: { x }, wrt: ['x'], loss: spec, jsLoss: js, lossFeeds: { onehot } });
  });

  it('a tensor name alone is the mean of that tensor', async () => {
    const js: JsLoss = (o) => mean(o.y.data);
    await expectGradients({ model: smooth(), inputs: { x }, wrt: ['x'], loss: 'y', jsLoss: js, lossFeeds: {} });
  });
});

describe('autodiff: variables', () => {
  it('an activation injected at a cut: split() then differentiate the tail w.r.t. its layer input', async () => {
    const s = await split(chain().build(), 'h1');
    const h1 = randn('h1', [2, 4, 8, 8]);
    const js: JsLoss = (o) => mean(o.out.data.map((v) => v * v));
    await expectGradients({ model: s.tail, inputs: { h1 }, wrt: ['h1'], loss: loss.mse('out'), jsLoss: js, lossFeeds: {}, h: 1e-3 });
  });

  it('UNet tail at the bottleneck: gradients w.r.t. the layer and both skip connections', async () => {
    const s = await split(unet().build(), 'mid');
    const inputs: Record<string, FloatTensor> = {
      mid: randn('mid', [2, 6, 2, 2]),
      e1: randn('e1', [2, 4, 8, 8]),
      e2: randn('e2', [2, 6, 4, 4]),
    };
    const js: JsLoss = (o) => mean(o.y.data.map((v) => v * v));
    // float32 noise in the central differences grows as 1/h; ±3e-3 keeps it under the tolerance here.
    await expectGradients({ model: s.tail, inputs, wrt: ['mid', 'e1', 'e2'], loss: loss.mse('y'), jsLoss: js, lossFeeds: {}, h: 3e-3 });
  });

  it('whole models: the styled graph w.r.t. latent and noise (Gemm, Reshape, Mul, LeakyRelu, Conv, Tanh)', async () => {
    const inputs = { z: randn('z', [2, 8]), noise: randn('noise', [2, 1, 4, 4]) };
    const js: JsLoss = (o) => mean(o.img.data.map((v) => v * v));
    await expectGradients({ model: styled().build(), inputs, wrt: ['z', 'noise'], loss: loss.mse('img'), jsLoss: js, lossFeeds: {}, h: 1e-3 });
  });

  it('whole models: the UNet w.r.t. its input (MaxPool, Resize, Concat, skips accumulate)', async () => {
    const js: JsLoss = (o) => mean(o.y.data.map((v) => v * v));
    await expectGradients({ model: unet().build(), inputs: { x: randn('ux', [2, 2, 8, 8]) }, wrt: ['x'], loss: loss.mse('y'), jsLoss: js, lossFeeds: {}, h: 1e-3 });
  });

  it('a fully convolutional model with symbolic H and W: inputShapes fixes the sizes the rules need', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3, 'H', 'W']);
    g.node('Relu', [g.conv('x', 3, 2, undefined, 3, 2)], 'y');
    g.output('y');
    const model = g.build('fcn');
    const e = await rejects(gradientModel(model, { wrt: ['x'], loss: 'y' }));
    expect(e.message).to.include('inputShapes');
    const js: JsLoss = (o) => mean(o.y.data);
    await expectGradients({
      model,
      inputs: { x: randn('fcn', [2, 3, 7, 6]) },
      wrt: ['x'],
      loss: 'y',
      inputShapes: { x: [1, 3, 7, 6] },
      jsLoss: js,
      lossFeeds: {},
      h: 1e-3,
    });
  });

  it('an intermediate tensor can be a variable too (its total gradient)', async () => {
    const model = chain().build();
    const gm = await gradientModel(model, { wrt: ['x', 'h2'], loss: loss.mse('out') });
    const r = await (await rt.session(gm)).run({ x: randn('ix', [1, 3, 8, 8]) });
    const tail = (await split(model, 'h2')).tail;
    const head = (await split(model, 'h2')).head;
    const h2 = (await (await rt.session(head)).run({ x: randn('ix', [1, 3, 8, 8]) })).h2;
    const r2 = await (await rt.session(await gradientModel(tail, { wrt: ['h2'], loss: loss.mse('out') }))).run({ h2 });
    let err = 0;
    r.grad_h2.data.forEach((v, i) => (err = Math.max(err, Math.abs(v - r2.grad_h2.data[i]))));
    expect(err).to.be.at.most(1e-6);
  });

  it('a variable the loss does not depend on gets a zero gradient of its shape', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3]);
    g.input('unused', ['N', 2]);
    g.node('Tanh', ['x'], 'y');
    g.output('y');
    g.node('Relu', ['unused'], 'other');
    const gm = await gradientModel(g.build(), { wrt: ['x', 'unused'], loss: loss.mse('y') });
    const r = await (await rt.session(gm)).run({ x: randn(1, [2, 3]), unused: randn(2, [2, 2]) });
    expect(r.grad_unused.dims).to.deep.equal([2, 2]);
    expect([...r.grad_unused.data]).to.deep.equal([0, 0, 0, 0]);
    expect(gm.outputNames()).to.deep.equal(['loss', 'grad_x', 'grad_unused']);
  });
});

describe('autodiff: model building', () => {
  it('caches per (model, variables, loss) and rebuilds when either changes', async () => {
    const m = smooth();
    const a = await gradientModel(m, { wrt: ['x'], loss: loss.mse('y') });
    const b = await gradientModel(m, { wrt: ['x'], loss: loss.mse('y') });
    const c = await gradientModel(m, { wrt: ['x'], loss: loss.meanL1('y') });
    expect(a).to.equal(b);
    expect(c).to.not.equal(a);
  });

  it('keeps the opset unless a rule needs more (overlapping MaxPool → 16), and the result runs with a symbolic batch', async () => {
    const opsetOf = (m: { proto: { opsetImport?: { domain?: string | null; version?: unknown }[] | null } }) =>
      Number((m.proto.opsetImport ?? []).find((o) => !o.domain)?.version);
    expect(opsetOf(await gradientModel(smooth(), { wrt: ['x'], loss: 'y' }))).to.equal(13);
    // The UNet's 2×2 stride-2 pools do not overlap: no scatter-add, no new opset.
    expect(opsetOf(await gradientModel(unet().build(), { wrt: ['x'], loss: 'y' }))).to.equal(13);
    const g = new GraphBuilder();
    g.input('x', ['N', 2, 8, 8]);
    g.node('MaxPool', ['x'], 'y', { kernel_shape: [3, 3], strides: [2, 2] });
    g.output('y');
    const gm = await gradientModel(g.build('overlapping pool'), { wrt: ['x'], loss: 'y' });
    expect(opsetOf(gm)).to.equal(16);
    const s = await rt.session(gm);
    for (const n of [1, 3]) {
      const r = await s.run({ x: randn(n, [n, 2, 8, 8]) });
      expect(r.grad_x.dims).to.deep.equal([n, 2, 8, 8]);
      // Each of the 9 outputs per channel sends 1/(n·2·9) to one input: the gradient sums to 1.
      expect(r.grad_x.data.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-5);
    }
  });

  it('an op without a rule on the path is an error naming the op and the node', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3]);
    g.node('Atan', ['x'], 'c');
    g.node('Tanh', ['c'], 'y');
    g.output('y');
    const e = await rejects(gradientModel(g.build(), { wrt: ['x'], loss: 'y' }));
    expect(e.code).to.equal('UNSUPPORTED');
    expect(e.message).to.include('Atan').and.include('"Atan_0"');
    expect(registeredOps()).to.not.include('Atan');
  });

  it('an op without a rule off the path (constant branch, or not leading to the loss) is fine', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3]);
    const k = g.node('Atan', [g.init('k0', [3])], 'k');
    g.node('Mul', ['x', k], 'y');
    g.output('y');
    g.node('Atan', ['x'], 'side');
    const gm = await gradientModel(g.build(), { wrt: ['x'], loss: 'y' });
    expect(gm.outputNames()).to.deep.equal(['loss', 'grad_x']);
  });

  it('names outputs loss and grad_<name> even when the model already uses those names', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3]);
    g.node('Tanh', ['x'], 'loss');
    g.node('Mul', ['loss', 'loss'], 'grad_x');
    g.node('Identity', ['grad_x'], 'y');
    g.output('y');
    const gm = await gradientModel(g.build(), { wrt: ['x'], loss: 'y' });
    expect(gm.outputNames()).to.deep.equal(['loss_1', 'grad_x_1']);
    const x = randn('names', [2, 3]);
    const r = await lossAndGradients(await rt.session(gm), { x });
    // y = tanh(x)²; mean over 6 elements: d/dx = 2·tanh·(1 − tanh²)/6.
    r.grads.x.data.forEach((v, i) => {
      const t = Math.tanh(x.data[i]);
      expect(v).to.be.closeTo((2 * t * (1 - t * t)) / 6, 1e-6);
    });
    // A copy read back from the model's bytes (as from disk) still keys the gradient by the variable's name.
    const copy = await lossAndGradients(await rt.session(decodeModel(gm.bytes(), 'copy of the gradient model')), { x });
    expect(Object.keys(copy.grads)).to.deep.equal(['x']);
    expect(Array.from(copy.grads.x.data)).to.deep.equal(Array.from(r.grads.x.data));
  });

  it('refuses wrt that is not an array of names, a variable that is not float32, and a forward model in lossAndGradients', async () => {
    const m = smooth();
    const notArray = await rejects(gradientModel(m, { wrt: 'x' as unknown as string[], loss: 'y' }));
    expect(notArray.message).to.include("wrt must be an array of tensor names, e.g. wrt: ['z']");
    const g = new GraphBuilder();
    g.input('i', ['N', 3], 'int64');
    g.input('x', ['N', 3]);
    g.node('Mul', [g.node('Cast', ['i'], 'fi', { to: 1 }), 'x'], 'y');
    g.output('y');
    const int = await rejects(gradientModel(g.build(), { wrt: ['i'], loss: 'y' }));
    expect(int.code).to.equal('BAD_INPUT');
    expect(int.message).to.include('"i" is int64; gradients are taken w.r.t. float32 tensors');
    const forward = await rejects(lossAndGradients(await rt.session(m), { x: randn('fw', [1, 3, 6, 6]) }));
    expect(forward.message).to.include('is not a gradient model made by gradientModel()');
  });

  it('refuses Dropout in training mode on the path', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3]);
    const on = g.node('Cast', [g.initInt64('one', [1])], 'train', { to: 9 });
    const sq = g.node('Squeeze', [on, g.initInt64('ax', [0])]);
    g.node('Dropout', ['x', '', sq], 'y');
    g.output('y');
    const e = await rejects(gradientModel(g.build(), { wrt: ['x'], loss: 'y' }));
    expect(e.message).to.include('training mode');
  });

  it('refuses weights, unknown names and a loss that ignores the variables, saying what would work', async () => {
    const m = chain().build();
    const w = (await rejects(gradientModel(m, { wrt: ['w0'], loss: 'out' }))).message;
    expect(w).to.include('initializer').and.include('Make it an input');
    const u = await rejects(gradientModel(m, { wrt: ['hh1'], loss: 'out' }));
    expect(u.code).to.equal('BAD_INPUT');
    expect(u.message).to.include('"h1"');
    const l = await rejects(gradientModel(m, { wrt: ['x'], loss: loss.mse('out', 'nope') }));
    expect(l.message).to.include('"nope"').and.include('loss.feed("nope")');
    const s = await split(m, 'h2');
    const ind = await rejects(gradientModel(s.tail, { wrt: ['h2'], loss: loss.mse('out', loss.feed('h2')) }));
    expect(ind.message).to.include('name of a model tensor');
  });
});

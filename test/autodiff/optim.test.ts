/**
 * Optimizers: Adam and plain gradient steps on problems with known minima, the sigmoid parameterization's
 * chain rule against finite differences, and a loop driving a gradient model (fit a 1×1 conv weight fed as input).
 */
import { expect } from 'chai';
import {
  Adam,
  GradientDescent,
  Variable,
  gradientModel,
  identityParam,
  loss,
  lossAndGradients,
  randn,
  sigmoidParam,
} from 'ganvas';
import { GraphBuilder } from '../builder';
import { rt } from './check';

after(() => rt.release());

/** f(θ) = Σ cᵢ(θᵢ − aᵢ)², gradient 2cᵢ(θᵢ − aᵢ). */
const target = Float32Array.from([1.5, -2, 0.25, 3]);
const curv = [1, 10, 0.5, 2];
const gradOf = (t: Float32Array) => Float32Array.from(t, (v, i) => 2 * curv[i] * (v - target[i]));

describe('autodiff: optimizers', () => {
  it('GradientDescent converges on a quadratic', () => {
    const theta = new Float32Array(4);
    const opt = new GradientDescent(0.04);
    for (let k = 0; k < 500; k++) opt.step(theta, gradOf(theta));
    theta.forEach((v, i) => expect(v).to.be.closeTo(target[i], 1e-3));
  });

  it('Adam converges on an ill-conditioned quadratic; its first step has size lr in every coordinate', () => {
    const theta = new Float32Array(4);
    const opt = new Adam({ lr: 0.1 });
    opt.step(theta, gradOf(theta));
    // Bias-corrected first step: m̂/√v̂ = sign(g), so every coordinate moves by lr.
    theta.forEach((v, i) => expect(Math.abs(v)).to.be.closeTo(0.1, 1e-6, `coordinate ${i}`));
    for (let k = 0; k < 1500; k++) opt.step(theta, gradOf(theta));
    theta.forEach((v, i) => expect(v).to.be.closeTo(target[i], 1e-2));
    opt.reset();
  });

  it('rejects bad settings and mismatched lengths', () => {
    expect(() => new Adam({ lr: -1 })).to.throw(/positive/);
    expect(() => new Adam({ beta1: 1 })).to.throw(/beta1/);
    expect(() => new GradientDescent(0)).to.throw(/positive/);
    expect(() => new GradientDescent(0.1).step(new Float32Array(2), new Float32Array(3))).to.throw(/gradient has 3/);
    expect(() => new GradientDescent(Infinity)).to.throw(/positive finite/);
    expect(() => new Adam({ learningRate: 0.5 } as never)).to.throw(/no option "learningRate"; its options are lr, beta1, beta2, eps/);
    expect(() => new Adam(0.05 as never)).to.throw(/options object such as \{ lr: 0.05 \}/);
    expect(() => new Adam({ eps: -1 })).to.throw(/eps must be a positive finite number/);
    const shared = new Adam();
    shared.step(new Float32Array(2), new Float32Array(2));
    expect(() => shared.step(new Float32Array(2), new Float32Array(2))).to.throw(/give each Variable its own Adam/);
  });

  it('sigmoid parameterization: value in (0, 1), inverse round-trips, chain rule matches finite differences', () => {
    const x0 = Float32Array.from([0.1, 0.5, 0.9]);
    const v = new Variable(x0, new GradientDescent(1), sigmoidParam);
    v.value.forEach((x, i) => expect(x).to.be.closeTo(x0[i], 1e-6));
    // L(x) = Σ wᵢxᵢ, so dL/dθ = wᵢ·x(1 − x); check against central differences in θ.
    const w = [2, -1, 3];
    const L = (theta: number[]) => theta.reduce((s, t, i) => s + w[i] / (1 + Math.exp(-t)), 0);
    const gTheta = new Float32Array(3);
    sigmoidParam.backward(v.theta, v.value, Float32Array.from(w), gTheta);
    const th = Array.from(v.theta);
    th.forEach((_, i) => {
      const p = [...th];
      const m = [...th];
      p[i] += 1e-4;
      m[i] -= 1e-4;
      expect(gTheta[i]).to.be.closeTo((L(p) - L(m)) / 2e-4, 1e-5);
    });
    v.step(Float32Array.from(w));
    v.value.forEach((x) => expect(x > 0 && x < 1).to.equal(true));
    expect(identityParam.name).to.equal('identity');
  });

  it('drives a gradient model: Adam fits a 1×1 conv weight fed as an input (the stitching layer)', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3, 4, 4]);
    g.input('w', [2, 3, 1, 1]);
    g.node('Conv', ['x', 'w'], 'y');
    g.output('y');
    const model = g.build('stitch');
    const trueW = randn('true-w', [2, 3, 1, 1]);
    const x = randn('stitch-x', [4, 3, 4, 4]);
    const fwd = await rt.session(model);
    const target = (await fwd.run({ x, w: trueW })).y;
    const gm = await rt.session(await gradientModel(model, { wrt: ['w'], loss: loss.mse('y', loss.feed('target')) }));
    const w = new Variable(new Float32Array(6), new Adam({ lr: 0.05 }));
    let first = 0;
    let last = 0;
    for (let k = 0; k < 300; k++) {
      // An extra feed the gradient model does not read is dropped by lossAndGradients.
      const r = await lossAndGradients(gm, { x, w: { data: w.value, dims: [2, 3, 1, 1] }, target, unused: x });
      if (k === 0) first = r.loss;
      last = r.loss;
      w.step(r.grads.w.data);
    }
    expect(last).to.be.below(first * 1e-4);
    w.value.forEach((v, i) => expect(v).to.be.closeTo(trueW.data[i], 1e-2));
  });
});

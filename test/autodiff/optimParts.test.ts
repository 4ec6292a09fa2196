/**
 * The optimizers' parts, checked against independent computations (issue 19, mutation testing of optim.ts):
 * Adam step by step against torch.optim.Adam (float64, test/autodiff/adam_torch.json written by adam_torch.py), with its default settings and
 * with an eps large enough to matter; hand-worked gradient-descent steps; checkpoint/resume of Adam's moments
 * (a resumed run steps exactly as an unbroken one); the sigmoid parameterization's known values and its clamped
 * inverse; and the settings each optimizer refuses.
 */
import { expect } from 'chai';
import { readFileSync } from 'fs';
import * as path from 'path';
import { Adam, AdamOptions, GanvasError, GradientDescent, Variable, identityParam, sigmoidParam } from 'ganvas';
import { throwsGanvas } from '../util';

interface TorchAdam {
  theta0: number[];
  grads: number[][];
  cases: { name: string; options: AdamOptions; theta: number[][] }[];
}
/** torch.optim.Adam's trajectories, written by `/usr/bin/python3 test/autodiff/adam_torch.py`. */
const TORCH = JSON.parse(readFileSync(path.resolve(__dirname, '../../../test/autodiff/adam_torch.json'), 'utf8')) as TorchAdam;
const { theta0, grads } = TORCH;

function runAdam(opts: AdamOptions | undefined, theta0: number[], grads: number[][]): number[][] {
  const adam = opts === undefined ? new Adam() : new Adam(opts);
  const theta = Float32Array.from(theta0);
  return grads.map((g) => {
    adam.step(theta, Float32Array.from(g));
    return Array.from(theta);
  });
}

function expectClose(ours: number[][], ref: number[][], tol: number): void {
  expect(ours.length).to.equal(ref.length);
  ref.forEach((row, k) => row.forEach((v, i) => expect(ours[k][i], `step ${k + 1}, coordinate ${i}`).to.be.closeTo(v, tol * Math.max(1, Math.abs(v)))));
}

function rejects(f: () => unknown, pattern: RegExp): void {
  expect(throwsGanvas(f, 'BAD_INPUT').message).to.match(pattern);
}

describe('autodiff: optimizer parts against independent computations', function () {
  for (const c of TORCH.cases) {
    it(`Adam steps as torch.optim.Adam: ${c.name} ${JSON.stringify(c.options)}`, () => {
      expectClose(runAdam(c.options, theta0, grads), c.theta, 1e-6);
      // Each coordinate that saw a gradient moved, by far more than the tolerance.
      c.theta[c.theta.length - 1].forEach((v, i) => expect(Math.abs(v - theta0[i])).to.be.above(3e-5));
    });
  }

  it('Adam() without options is Adam({})', () => {
    const ref = TORCH.cases.find((c) => c.name === 'defaults');
    expect(ref?.options).to.deep.equal({});
    expectClose(runAdam(undefined, theta0, grads), ref?.theta ?? [], 1e-6);
  });

  it('Adam checkpoints: a run resumed from state() on a fresh Adam steps exactly as an unbroken one', () => {
    const opts = { lr: 0.1, beta1: 0.7, beta2: 0.9, eps: 0.01 };
    const unbroken = runAdam(opts, theta0, grads);
    const a = new Adam(opts);
    expect(a.state()).to.equal(undefined);
    const theta = Float32Array.from(theta0);
    for (const g of grads.slice(0, 3)) a.step(theta, Float32Array.from(g));
    const s = a.state();
    if (!s) throw new Error('no state after three steps');
    expect(s.t).to.equal(3);
    // state() is a copy: changing it does not change the optimizer, and the restored optimizer copies too.
    const saved = { m: Float64Array.from(s.m), v: Float64Array.from(s.v), t: s.t };
    s.m.fill(100);
    s.v.fill(100);
    const b = new Adam(opts);
    b.restore(theta, saved);
    saved.m.fill(-100);
    const rest: number[][] = [];
    for (const g of grads.slice(3)) {
      b.step(theta, Float32Array.from(g));
      rest.push(Array.from(theta));
    }
    rest.forEach((row, k) => row.forEach((v, i) => expect(v).to.equal(unbroken[k + 3][i])));
    // The original also continues as the unbroken run (its moments were not touched through the copy).
    const c = new Adam(opts);
    const t2 = Float32Array.from(theta0);
    for (const g of grads.slice(0, 3)) c.step(t2, Float32Array.from(g));
    c.state()?.m.fill(7);
    c.step(t2, Float32Array.from(grads[3]));
    expect(Array.from(t2)).to.deep.equal(unbroken[3]);
    // The restored optimizer belongs to the variable it was restored for.
    rejects(() => b.step(new Float32Array(4), new Float32Array(4)), /already steps another variable/);
  });

  it('Adam.restore refuses a state that does not fit the variable', () => {
    const theta = new Float32Array(3);
    const ok = { m: new Float64Array(3), v: new Float64Array(3), t: 2 };
    const a = new Adam();
    rejects(() => a.restore(theta, { ...ok, m: new Float64Array(2) }), /state for 2 values at step 2 does not fit a variable of 3 values/);
    rejects(() => a.restore(theta, { ...ok, v: new Float64Array(4) }), /does not fit a variable of 3 values/);
    rejects(() => a.restore(theta, { ...ok, t: 1.5 }), /at step 1.5 does not fit/);
    rejects(() => a.restore(theta, { ...ok, t: -1 }), /at step -1 does not fit/);
    // t = 0 is a fresh start: the next step is the bias-corrected first step, lr·sign(g) per coordinate.
    a.restore(theta, { ...ok, t: 0 });
    a.step(theta, Float32Array.from([2, -0.5, 1e-3]));
    [-1e-3, 1e-3, -1e-3].forEach((v, i) => expect(theta[i]).to.be.closeTo(v, 1e-8));
  });

  it('Adam.reset forgets the moments, the step count and the variable', () => {
    const a = new Adam({ lr: 0.1 });
    const first = new Float32Array(2);
    for (let k = 0; k < 5; k++) a.step(first, Float32Array.from([1, -3]));
    a.reset();
    expect(a.state()).to.equal(undefined);
    // Another variable may now use it, and its first step is again lr·sign(g) (t restarted from 0).
    const other = Float32Array.from([1, 1, 1]);
    a.step(other, Float32Array.from([5, -0.01, 0]));
    expect(other[0]).to.be.closeTo(0.9, 1e-6);
    expect(other[1]).to.be.closeTo(1.1, 1e-6);
    expect(other[2]).to.equal(1);
    expect(a.state()?.t).to.equal(1);
    // ... and the first variable is no longer its own.
    rejects(() => a.step(first, new Float32Array(2)), /already steps another variable/);
  });

  it('Adam refuses settings outside its domain, and options that are not an object', () => {
    rejects(() => new Adam({ beta2: 1 }), /Adam beta2 must be in \[0, 1\), got 1/);
    rejects(() => new Adam({ beta1: -0.1 }), /Adam beta1 must be in \[0, 1\), got -0.1/);
    rejects(() => new Adam({ beta2: NaN }), /beta2 must be in \[0, 1\)/);
    rejects(() => new Adam({ lr: NaN }), /Adam lr must be a positive finite number, got NaN/);
    rejects(() => new Adam({ lr: 0 }), /Adam lr must be a positive finite number, got 0/);
    rejects(() => new Adam({ lr: Infinity }), /Adam lr must be/);
    rejects(() => new Adam({ eps: 0 }), /Adam eps must be a positive finite number, got 0/);
    rejects(() => new Adam({ eps: Infinity }), /Adam eps must be/);
    rejects(() => new Adam(null as never), /options object such as \{ lr: 0.05 \}, got null/);
    rejects(() => new Adam([] as never), /options object such as \{ lr: 0.05 \}, got \[\]/);
    rejects(() => new Adam({ lr: 0.1, rate: 1, decay: 2 } as never), /Adam has no option "rate", "decay"; its options are lr, beta1, beta2, eps/);
    // The edges of the domain are accepted: β = 0 (no averaging).
    expect(new Adam({ beta1: 0, beta2: 0 }).beta2).to.equal(0);
  });

  it('GradientDescent: θ ← θ − lr·g, by hand', () => {
    const gd = new GradientDescent(0.5);
    const theta = Float32Array.from([1, -2, 0]);
    gd.step(theta, Float32Array.from([4, -1, 0.25]));
    expect(Array.from(theta)).to.deep.equal([-1, -1.5, -0.125]);
    gd.reset(); // stateless: the same step again
    gd.step(theta, Float32Array.from([4, -1, 0.25]));
    expect(Array.from(theta)).to.deep.equal([-3, -1, -0.25]);
    rejects(() => new GradientDescent(NaN), /learning rate must be a positive finite number, got NaN/);
    rejects(() => new GradientDescent(-0.1), /got -0.1/);
    rejects(() => gd.step(new Float32Array(3), new Float32Array(2)), /parameter has 3 values but its gradient has 2/);
  });

  it('sigmoid parameterization: known values, dx/dθ = x(1 − x), inverse clamped so θ stays finite at 0 and 1', () => {
    expect(sigmoidParam.name).to.equal('sigmoid');
    const x = new Float32Array(3);
    sigmoidParam.forward(Float32Array.from([0, 2, -3]), x);
    // σ(0) = 1/2, σ(2) = 1/(1 + e⁻²), σ(−3) = 1/(1 + e³).
    expect(x[0]).to.equal(0.5);
    expect(x[1]).to.be.closeTo(0.8807970779778823, 1e-7);
    expect(x[2]).to.be.closeTo(0.04742587317756678, 1e-8);
    const g = new Float32Array(3);
    sigmoidParam.backward(new Float32Array(3), Float32Array.from([0.5, 0.9, 0.2]), Float32Array.from([4, 1, -2]), g);
    expect(g[0]).to.be.closeTo(1, 1e-7); // 4 · 0.5 · 0.5
    expect(g[1]).to.be.closeTo(0.09, 1e-7); // 0.9 · 0.1
    expect(g[2]).to.be.closeTo(-0.32, 1e-7); // −2 · 0.2 · 0.8
    // inverse: logit(x); at 0 and 1 (and beyond) it clamps to 1e-6 away, so θ = ±log((1 − 1e-6)/1e-6).
    const th = new Float32Array(6);
    sigmoidParam.inverse(Float32Array.from([0.25, 0.5, 0, 1, -2, 3]), th);
    expect(th[0]).to.be.closeTo(Math.log(1 / 3), 1e-6);
    expect(th[1]).to.equal(0);
    const edge = Math.log((1 - 1e-6) / 1e-6);
    expect(th[2]).to.be.closeTo(-edge, 1e-5);
    expect(th[3]).to.be.closeTo(edge, 1e-5);
    expect(th[4]).to.be.closeTo(-edge, 1e-5);
    expect(th[5]).to.be.closeTo(edge, 1e-5);
    // 1e-6 from the edge, not more: inputs just inside the clamp are kept.
    sigmoidParam.inverse(Float32Array.from([1e-5, 1 - 1e-4]), th);
    expect(th[0]).to.be.closeTo(Math.log(1e-5 / (1 - 1e-5)), 1e-3);
    expect(th[1]).to.be.closeTo(Math.log((1 - 1e-4) / 1e-4), 1e-2);
  });

  it('Variable: starts at the given value, steps θ by the optimizer on dL/dθ and refreshes the value', () => {
    // Identity (the default): θ = x, one hand-worked gradient step.
    const v = new Variable(Float32Array.from([1, 2]), new GradientDescent(0.25));
    expect(v.param).to.equal(identityParam);
    expect(Array.from(v.theta)).to.deep.equal([1, 2]);
    v.step(Float32Array.from([4, -4]));
    expect(Array.from(v.theta)).to.deep.equal([0, 3]);
    expect(Array.from(v.value)).to.deep.equal([0, 3]);
    rejects(() => v.step(new Float32Array(3)), /parameter has 2 values but its gradient has 3/);
    // Sigmoid: x = 0.5 at θ = 0; dL/dx = 4 gives dL/dθ = 4·¼ = 1, so θ = −lr and x = σ(−lr).
    const s = new Variable(Float32Array.from([0.5]), new GradientDescent(2), sigmoidParam);
    expect(s.theta[0]).to.equal(0);
    s.step(Float32Array.from([4]));
    expect(s.theta[0]).to.be.closeTo(-2, 1e-7);
    expect(s.value[0]).to.be.closeTo(1 / (1 + Math.exp(2)), 1e-7);
  });
});

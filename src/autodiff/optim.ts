/**
 * Optimizers over Float32Arrays, for driving a gradient model from TypeScript: plain gradient steps and Adam,
 * with a pluggable parameterization (optimize θ, feed x = p(θ)) so constrained variables — a mask in [0, 1] as
 * sigmoid(θ), say — use the same loop.
 */
import { GanvasError } from '../errors';

/** x = forward(θ); backward turns dL/dx into dL/dθ. */
export interface Parameterization {
  readonly name: string;
  forward(theta: Float32Array, out: Float32Array): void;
  /** dL/dθ from dL/dx, given θ and x = forward(θ). */
  backward(theta: Float32Array, x: Float32Array, gradX: Float32Array, out: Float32Array): void;
  /** θ with forward(θ) = x (to start from a given value). */
  inverse(x: Float32Array, out: Float32Array): void;
}

export const identity: Parameterization = {
  name: 'identity',
  forward: (t, out) => out.set(t),
  backward: (_t, _x, g, out) => out.set(g),
  inverse: (x, out) => out.set(x),
};

/** x = sigmoid(θ) ∈ (0, 1); dx/dθ = x(1 − x). inverse clamps x away from 0 and 1 so θ stays finite. */
export const sigmoid: Parameterization = {
  name: 'sigmoid',
  forward: (t, out) => {
    // Stryker disable next-line EqualityOperator: i <= length only adds a write past the end of a typed array, which is dropped
    for (let i = 0; i < t.length; i++) out[i] = 1 / (1 + Math.exp(-t[i]));
  },
  backward: (_t, x, g, out) => {
    // Stryker disable next-line EqualityOperator: i <= length only adds a write past the end of a typed array, which is dropped
    for (let i = 0; i < x.length; i++) out[i] = g[i] * x[i] * (1 - x[i]);
  },
  inverse: (x, out) => {
    // Stryker disable next-line EqualityOperator: i <= length only adds a write past the end of a typed array, which is dropped
    for (let i = 0; i < x.length; i++) {
      const v = Math.min(Math.max(x[i], 1e-6), 1 - 1e-6);
      out[i] = Math.log(v / (1 - v));
    }
  },
};

/** Updates θ in place from dL/dθ. */
export interface Optimizer {
  step(theta: Float32Array, grad: Float32Array): void;
  reset(): void;
}

function checkLengths(theta: Float32Array, grad: Float32Array): void {
  if (theta.length !== grad.length) {
    throw new GanvasError('BAD_INPUT', `parameter has ${theta.length} values but its gradient has ${grad.length}`);
  }
}

/** θ ← θ − lr·g. */
export class GradientDescent implements Optimizer {
  constructor(readonly lr: number) {
    if (!(Number.isFinite(lr) && lr > 0)) throw new GanvasError('BAD_INPUT', `learning rate must be a positive finite number, got ${lr}`);
  }
  step(theta: Float32Array, grad: Float32Array): void {
    checkLengths(theta, grad);
    // Stryker disable next-line EqualityOperator: i <= length only adds a write past the end of a typed array, which is dropped
    for (let i = 0; i < theta.length; i++) theta[i] -= this.lr * grad[i];
  }
  reset(): void {
    // Stateless.
  }
}

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

const ADAM_KEYS = ['lr', 'beta1', 'beta2', 'eps'];

/** Adam (Kingma & Ba) with bias correction, moments kept in float64 for long runs. */
export class Adam implements Optimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private m?: Float64Array;
  private v?: Float64Array;
  private t = 0;
  /** The θ the moments belong to: one Adam serves one variable. */
  private owner?: Float32Array;

  constructor(opts: AdamOptions = {}) {
    if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
      throw new GanvasError('BAD_INPUT', `Adam takes an options object such as { lr: 0.05 }, got ${JSON.stringify(opts)}`);
    }
    const unknown = Object.keys(opts).filter((k) => !ADAM_KEYS.includes(k));
    if (unknown.length > 0) {
      throw new GanvasError('BAD_INPUT', `Adam has no option ${unknown.map((k) => `"${k}"`).join(', ')}; its options are ${ADAM_KEYS.join(', ')}`);
    }
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    if (!(Number.isFinite(this.lr) && this.lr > 0)) throw new GanvasError('BAD_INPUT', `Adam lr must be a positive finite number, got ${this.lr}`);
    if (!(Number.isFinite(this.eps) && this.eps > 0)) throw new GanvasError('BAD_INPUT', `Adam eps must be a positive finite number, got ${this.eps}`);
    for (const [k, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new GanvasError('BAD_INPUT', `Adam ${k} must be in [0, 1), got ${b}`);
    }
  }

  step(theta: Float32Array, grad: Float32Array): void {
    checkLengths(theta, grad);
    if (this.owner && this.owner !== theta) {
      // Sharing would mix two variables' moments and count each iteration twice.
      throw new GanvasError('BAD_INPUT', 'this Adam already steps another variable; give each Variable its own Adam (or reset() it first)');
    }
    if (!this.m) {
      this.owner = theta;
      this.m = new Float64Array(theta.length);
      this.v = new Float64Array(theta.length);
      this.t = 0;
    }
    const m = this.m;
    const v = this.v as Float64Array;
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    // Stryker disable next-line EqualityOperator: i <= length only adds a write past the end of a typed array, which is dropped
    for (let i = 0; i < theta.length; i++) {
      m[i] = this.beta1 * m[i] + (1 - this.beta1) * grad[i];
      v[i] = this.beta2 * v[i] + (1 - this.beta2) * grad[i] * grad[i];
      theta[i] -= (this.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps);
    }
  }

  reset(): void {
    this.m = undefined;
    this.v = undefined;
    this.owner = undefined;
    this.t = 0;
  }

  /** The moments and step count (copies), to checkpoint a run; undefined before the first step. */
  state(): AdamState | undefined {
    if (!this.m || !this.v) return undefined;
    return { m: Float64Array.from(this.m), v: Float64Array.from(this.v), t: this.t };
  }

  /** Continues from a checkpointed state for the variable `theta` (a resumed run steps exactly as an unbroken one). */
  restore(theta: Float32Array, s: AdamState): void {
    if (s.m.length !== theta.length || s.v.length !== theta.length || !Number.isInteger(s.t) || s.t < 0) {
      throw new GanvasError('BAD_INPUT', `Adam state for ${s.m.length} values at step ${s.t} does not fit a variable of ${theta.length} values`);
    }
    this.owner = theta;
    this.m = Float64Array.from(s.m);
    this.v = Float64Array.from(s.v);
    this.t = s.t;
  }
}

export interface AdamState {
  m: Float64Array;
  v: Float64Array;
  t: number;
}

/**
 * A variable optimized through a parameterization: `value` is what the model is fed; `step(gradX)` applies
 * the optimizer to θ and refreshes `value`.
 */
export class Variable {
  readonly theta: Float32Array;
  readonly value: Float32Array;
  private readonly gradTheta: Float32Array;

  constructor(
    initial: Float32Array,
    readonly optimizer: Optimizer,
    readonly param: Parameterization = identity,
  ) {
    this.theta = new Float32Array(initial.length);
    this.value = new Float32Array(initial.length);
    this.gradTheta = new Float32Array(initial.length);
    param.inverse(initial, this.theta);
    param.forward(this.theta, this.value);
  }

  step(gradX: Float32Array): void {
    checkLengths(this.value, gradX);
    this.param.backward(this.theta, this.value, gradX, this.gradTheta);
    this.optimizer.step(this.theta, this.gradTheta);
    this.param.forward(this.theta, this.value);
  }
}

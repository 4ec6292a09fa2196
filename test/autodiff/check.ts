/**
 * Finite-difference checks for gradient models. The reference is independent of the code under test: the
 * forward model (not the gradient model) is run by onnxruntime at x ± h·eᵢ and the loss is computed here in
 * float64 JavaScript, so a wrong rule or a wrong loss builder both show up as a mismatch.
 */
import { expect } from 'chai';
import { FloatTensor, LossSpec, OnnxModel, Runtime, gradName, gradientModel, randn } from 'ganvas';

export const rt = new Runtime({ threads: 1 });

/** The loss, computed in float64 from the forward model's outputs and the loss feeds. */
export type JsLoss = (outs: Record<string, FloatTensor>, feeds: Record<string, FloatTensor>) => number;

export const jsMse = (out: string, target: string): JsLoss => (o, f) => {
  const y = o[out].data;
  const t = f[target].data;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] - t[i]) ** 2;
  return s / y.length;
};

export interface CheckOptions {
  model: OnnxModel;
  /** Every input of the forward model. */
  inputs: Record<string, FloatTensor>;
  wrt: string[];
  /** Default: mse(output "y", feed "target"). */
  loss?: LossSpec;
  jsLoss?: JsLoss;
  /** Extra inputs of the gradient model (targets, masks); default a random "target" shaped like y. */
  lossFeeds?: Record<string, FloatTensor>;
  h?: number;
  /** Passed to gradientModel (models with symbolic non-batch axes). */
  inputShapes?: Record<string, number[]>;
  /** At most this many coordinates per variable are checked (chosen evenly); default 120. */
  maxCoords?: number;
  /** Largest fraction of coordinates that may be skipped because a kink lies within ±h (default 0.1). */
  maxKinks?: number;
}

export interface CheckResult {
  /** ‖g − fd‖ / ‖fd‖ per variable. */
  relErr: Record<string, number>;
  /** Coordinates skipped per variable because a ReLU/MaxPool/Abs kink lay within ±h. */
  kinks: Record<string, number>;
  loss: number;
  jsLoss: number;
  grads: Record<string, FloatTensor>;
}

async function forward(model: OnnxModel, feeds: Record<string, FloatTensor>): Promise<Record<string, FloatTensor>> {
  return (await rt.session(model)).run(feeds);
}

export async function checkGradients(o: CheckOptions): Promise<CheckResult> {
  const h = o.h ?? 1e-2;
  let lossFeeds = o.lossFeeds;
  if (!lossFeeds) {
    const y = (await forward(o.model, o.inputs)).y;
    lossFeeds = { target: randn('target', y.dims) };
  }
  const lossSpec: LossSpec = o.loss ?? { kind: 'mean', x: { kind: 'square', x: { kind: 'sub', a: { kind: 'tensor', name: 'y' }, b: { kind: 'feed', name: 'target', like: 'y' } } } };
  const jsLoss = o.jsLoss ?? jsMse('y', 'target');
  const gm = await gradientModel(o.model, { wrt: o.wrt, loss: lossSpec, inputShapes: o.inputShapes });
  const session = await rt.session(gm);
  const feeds: Record<string, FloatTensor> = {};
  for (const spec of session.inputs) {
    const v = o.inputs[spec.name] ?? lossFeeds[spec.name];
    if (!v) throw new Error(`test provides no value for gradient-model input ${spec.name}`);
    feeds[spec.name] = v;
  }
  const res = await session.run(feeds);
  const L = async (inputs: Record<string, FloatTensor>) => jsLoss(await forward(o.model, inputs), lossFeeds as Record<string, FloatTensor>);
  const base = await L(o.inputs);
  const relErr: Record<string, number> = {};
  const kinks: Record<string, number> = {};
  const grads: Record<string, FloatTensor> = {};
  for (const w of o.wrt) {
    const g = res[gradName(w)];
    grads[w] = g;
    const x = o.inputs[w];
    expect(g.dims, `dims of grad_${w}`).to.deep.equal(x.dims);
    const n = x.data.length;
    const count = Math.min(n, o.maxCoords ?? 120);
    let num = 0;
    let den = 0;
    const at = async (i: number, step: number) => {
      const plus = Float32Array.from(x.data);
      const minus = Float32Array.from(x.data);
      plus[i] += step;
      minus[i] -= step;
      const fp = await L({ ...o.inputs, [w]: { data: plus, dims: x.dims } });
      const fm = await L({ ...o.inputs, [w]: { data: minus, dims: x.dims } });
      // Actual perturbations after float32 rounding.
      const up = plus[i] - x.data[i];
      const down = x.data[i] - minus[i];
      return { central: (fp - fm) / (up + down), jump: Math.abs((fp - base) / up - (base - fm) / down) };
    };
    for (let k = 0; k < count; k++) {
      const i = Math.floor((k * n) / count);
      let d = await at(i, h);
      // Where a piecewise-linear op (ReLU, MaxPool, Abs, Clip) switches branch within ±h, the central difference
      // averages two slopes and matches neither: a kink. Forward and backward one-sided differences then differ by
      // a jump that does not shrink with h, whereas smooth curvature makes them differ by O(h). So a suspicious
      // coordinate is re-measured at h/2: if the jump stays, it is a kink and is skipped; if it halves, the
      // h/2 central difference is used.
      if (d.jump > 0.02 * Math.abs(d.central) + (2e-7 * Math.abs(base)) / h) {
        const half = await at(i, h / 2);
        if (half.jump > 0.75 * d.jump) {
          kinks[w] = (kinks[w] ?? 0) + 1;
          continue;
        }
        d = half;
      }
      num += (g.data[i] - d.central) ** 2;
      den += d.central ** 2;
    }
    relErr[w] = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
    if ((kinks[w] ?? 0) > (o.maxKinks ?? 0.1) * count) {
      throw new Error(`${kinks[w]} of ${count} coordinates of ${w} lie within ±${h} of a kink: choose a smaller h`);
    }
  }
  return { relErr, kinks, loss: res.loss.data[0], jsLoss: base, grads };
}

/** Runs checkGradients and asserts relative error ≤ tol for every variable and the loss value itself. */
export async function expectGradients(o: CheckOptions, tol = 1e-3): Promise<CheckResult> {
  const r = await checkGradients(o);
  expect(Math.abs(r.loss - r.jsLoss), `loss value ${r.loss} vs ${r.jsLoss}`).to.be.at.most(1e-5 * Math.max(1, Math.abs(r.jsLoss)));
  if (process.env.GANVAS_VERBOSE) {
    const parts = Object.entries(r.relErr).map(([w, e]) => `${w} ${e.toExponential(1)}${r.kinks[w] ? ` (${r.kinks[w]} kinks skipped)` : ''}`);
    console.log(`      relative errors: ${parts.join(', ')}`);
  }
  for (const [w, e] of Object.entries(r.relErr)) expect(e, `relative error of grad_${w}`).to.be.at.most(tol);
  // A gradient that is identically zero would pass against a zero reference; the graphs are built so it is not.
  for (const [w, g] of Object.entries(r.grads)) {
    expect(g.data.some((v) => v !== 0), `grad_${w} is all zeros`).to.equal(true);
  }
  return r;
}

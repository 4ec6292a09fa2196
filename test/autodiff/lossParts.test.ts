/**
 * The loss builder's parts (issue 19, mutation testing of loss.ts): every expression kind and helper, checked by
 * value and by central finite differences against the loss written out in float64 JavaScript over the forward
 * model's output (check.ts), on a rank-3 output so reductions over one axis, negative axes and the final averaging
 * are told apart; then the feeds a loss adds to the gradient model (names, order, dims) and the errors for feeds
 * and tensors the loss cannot use.
 */
import { expect } from 'chai';
import { FloatTensor, GanvasError, LossExpr, gradientModel, loss, randn } from 'ganvas';
import { GraphBuilder } from '../builder';
import { JsLoss, expectGradients, rt } from './check';
import { rejectsGanvas } from '../util';

after(() => rt.release());

/** x[N,3,4] → Tanh = y; k[N,2] → Sigmoid = z (z does not depend on x). */
function model() {
  const g = new GraphBuilder();
  g.input('x', ['N', 3, 4]);
  g.input('k', ['N', 2]);
  g.node('Tanh', ['x'], 'y');
  g.node('Sigmoid', ['k'], 'z');
  g.output('y');
  g.output('z');
  return g.build('loss-parts');
}

const N = 2;
const C = 3;
const W = 4;
const x = randn('loss-parts-x', [N, C, W]);
const k = randn('loss-parts-k', [N, 2]);
const t = randn('loss-parts-t', [N, C, W]);
/** A positive divisor. */
const d: FloatTensor = { data: Float32Array.from(randn('loss-parts-d', [N, C, W]).data, (v) => 1 + Math.abs(v)), dims: [N, C, W] };
/** A mask broadcast over the channel axis. */
const m: FloatTensor = { data: Float32Array.from([1, 0, 0.5, 2, 0, 1, 1, 0.25]), dims: [N, 1, W] };

const at = (a: ArrayLike<number>, n: number, c: number, w: number) => a[(n * C + c) * W + w];
function meanOf(f: (n: number, c: number, w: number) => number): number {
  let s = 0;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let w = 0; w < W; w++) s += f(n, c, w);
  return s / (N * C * W);
}
const y = (o: Record<string, FloatTensor>) => o.y.data;

async function check(spec: LossExpr, js: JsLoss, feeds: Record<string, FloatTensor> = {}, h = 1e-3): Promise<number> {
  const r = await expectGradients({ model: model(), inputs: { x, k }, wrt: ['x'], loss: spec, jsLoss: js, lossFeeds: feeds, h });
  return r.loss;
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  expect((await rejectsGanvas(p, 'BAD_INPUT')).message).to.match(pattern);
}

describe('autodiff: loss expressions by value and finite differences', () => {
  it('add, sub, mul, div with constants and feeds: mean(3y + 2 − y/d + t)', async () => {
    const spec = loss.add(loss.sub(loss.add(loss.mul('y', 3), 2), loss.div('y', loss.feed('d'))), loss.feed('t', ['N', C, W]));
    await check(spec, (o, f) => meanOf((n, c, w) => 3 * at(y(o), n, c, w) + 2 - at(y(o), n, c, w) / at(f.d.data, n, c, w) + at(f.t.data, n, c, w)), { d, t });
    // A constant on the left, a feed first: mean(1/(2 + t·y)) is not mean(t·y/2) or the like.
    const spec2 = loss.div(1, loss.add(2, loss.mul(loss.feed('t'), 'y')));
    const tt: FloatTensor = { data: Float32Array.from(t.data, (v) => 0.5 * Math.tanh(v)), dims: t.dims };
    await check(spec2, (o, f) => meanOf((n, c, w) => 1 / (2 + at(f.t.data, n, c, w) * at(y(o), n, c, w))), { t: tt });
  });

  it('neg, abs, sqrt, scale: mean(−|y|·… ) and mean(√(y² + 1))', async () => {
    await check(loss.scale(loss.neg(loss.abs(loss.sub('y', 0.1))), 2.5), (o) => meanOf((n, c, w) => -2.5 * Math.abs(at(y(o), n, c, w) - 0.1)));
    const sqrt: LossExpr = { kind: 'sqrt', x: loss.add(loss.square('y'), 1) };
    await check(sqrt, (o) => meanOf((n, c, w) => Math.sqrt(at(y(o), n, c, w) ** 2 + 1)));
    // meanL1 and mse with one argument: mean |y| and mean y².
    await check(loss.meanL1(loss.sub('y', 0.2)), (o) => meanOf((n, c, w) => Math.abs(at(y(o), n, c, w) - 0.2)));
    await check(loss.mse(loss.add('y', 0.5)), (o) => meanOf((n, c, w) => (at(y(o), n, c, w) + 0.5) ** 2));
  });

  it('sum over all axes is not averaged again; sum and mean over one axis are, over what is left', async () => {
    const total = await check(loss.sum(loss.square('y')), (o) => N * C * W * meanOf((n, c, w) => at(y(o), n, c, w) ** 2));
    expect(total).to.be.above(1); // a sum of 24 squares of tanh(randn), far from their mean
    // Σ over channels, squared, averaged over N and W.
    const sumC = (o: Record<string, FloatTensor>, n: number, w: number) => [0, 1, 2].reduce((s, c) => s + at(y(o), n, c, w), 0);
    await check(loss.square(loss.sum('y', [1])), (o) => meanOf((n, _c, w) => sumC(o, n, w) ** 2));
    // mean over the last axis (given as −1), squared, averaged over N and C.
    const meanW = (o: Record<string, FloatTensor>, n: number, c: number) => [0, 1, 2, 3].reduce((s, w) => s + at(y(o), n, c, w), 0) / W;
    await check(loss.square(loss.mean('y', [-1])), (o) => meanOf((n, c) => meanW(o, n, c) ** 2));
    // A mean over some axes at the root is averaged over the rest too (a scalar loss).
    await check(loss.mean(loss.square('y'), [0, 2]), (o) => meanOf((n, c, w) => at(y(o), n, c, w) ** 2));
    await check(loss.sum(loss.square('y'), [2]), (o) => W * meanOf((n, c, w) => at(y(o), n, c, w) ** 2));
  });

  it('reduced axes are dropped (a target of the remaining shape lines up); spatialMean averages the last two axes', async () => {
    // mean over W leaves [N, C]: minus a fed [N, C] target, squared. Keeping the axis ([N, C, 1]) would broadcast
    // against the target to [N, C, C] and change the value.
    const tm: FloatTensor = randn('loss-parts-tm', [N, C]);
    const meanW = (o: Record<string, FloatTensor>, n: number, c: number) => [0, 1, 2, 3].reduce((s, w) => s + at(y(o), n, c, w), 0) / W;
    await check(loss.mse(loss.mean(loss.tensor('y'), [2]), loss.feed('tm', ['N', C])), (o, f) => meanOf((n, c) => (meanW(o, n, c) - f.tm.data[n * C + c]) ** 2), { tm });
    const ts: FloatTensor = randn('loss-parts-ts', [N, W]);
    const sumC = (o: Record<string, FloatTensor>, n: number, w: number) => [0, 1, 2].reduce((s, c) => s + at(y(o), n, c, w), 0);
    await check(loss.mse(loss.sum('y', [1]), loss.feed('ts', ['N', W])), (o, f) => meanOf((n, _c, w) => (sumC(o, n, w) - f.ts.data[n * W + w]) ** 2), { ts });
    // spatialMean of [N, C, W] averages C and W: one value per sample, squared, averaged over N.
    const perSample = (o: Record<string, FloatTensor>, n: number) => [0, 1, 2].reduce((s, c) => s + meanW(o, n, c), 0) / C;
    await check(loss.square(loss.spatialMean('y')), (o) => meanOf((n) => perSample(o, n) ** 2));
  });

  it('the loss output is a rank-0 scalar, whatever the expression leaves', async () => {
    for (const spec of [loss.mean(loss.square('y'), [0, 2]), loss.square('y'), loss.sum('y'), loss.mean('y'), loss.sum('y', [1])]) {
      const s = await rt.session(await gradientModel(model(), { wrt: ['x'], loss: spec }));
      const r = await s.run({ x });
      expect(r[s.outputNames[0]].dims, JSON.stringify(spec)).to.deep.equal([]);
    }
  });

  it('cosine similarity along a chosen axis, with its eps inside the square root', async () => {
    // cos along W (axis 2), eps = 0.5 large enough to change the value: dot / √(|y|²|t|² + eps).
    const cos = (o: Record<string, FloatTensor>, f: Record<string, FloatTensor>, n: number, c: number, eps: number) => {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let w = 0; w < W; w++) {
        const a = at(y(o), n, c, w);
        const b = at(f.t.data, n, c, w);
        dot += a * b;
        na += a * a;
        nb += b * b;
      }
      return dot / Math.sqrt(na * nb + eps);
    };
    await check(loss.cosineSimilarity('y', loss.feed('t'), 2, 0.5), (o, f) => meanOf((n, c) => cos(o, f, n, c, 0.5)), { t });
    // cosineDistance along axis 2 (default eps 1e-12): mean(1 − cos).
    await check(loss.cosineDistance(loss.feed('t'), 'y', 2), (o, f) => meanOf((n, c) => 1 - cos(o, f, n, c, 0)), { t });
  });

  it('masked: a mask fed with its own dims broadcasts; a LossExpr mask is used as given', async () => {
    await check(loss.masked(loss.square('y'), 'm', [N, 1, W]), (o, f) => meanOf((n, c, w) => at(y(o), n, c, w) ** 2 * f.m.data[n * W + w]), { m });
    await check(loss.masked('y', loss.mul(loss.feed('m', [N, 1, W]), 3)), (o, f) => meanOf((n, c, w) => 3 * at(y(o), n, c, w) * f.m.data[n * W + w]), { m });
  });
});

describe('autodiff: the feeds a loss adds, and the losses it refuses', () => {
  it('adds each feed once, in order of first use, with the dims given or those of the tensor it meets', async () => {
    // t meets y (dims of y); m has its own dims; t is used again without dims.
    const spec = loss.add(loss.masked(loss.sub(loss.feed('t'), 'y'), 'm', [1, 1, W]), loss.mul(loss.square('y'), loss.feed('t')));
    const gm = await gradientModel(model(), { wrt: ['x'], loss: spec });
    const s = await rt.session(gm);
    expect(s.inputs.map((i) => [i.name, i.dims])).to.deep.equal([
      ['x', ['N', 3, 4]],
      ['t', ['N', 3, 4]],
      ['m', [1, 1, 4]],
    ]);
  });

  it('refuses a feed named like a model tensor, a feed with no dims to take, and a tensor the model lacks', async () => {
    await rejects(gradientModel(model(), { wrt: ['x'], loss: loss.mse('y', loss.feed('z')) }), /loss input "z" has the name of a model tensor; choose another name/);
    // Two feeds meeting each other, or a feed meeting an expression (not a tensor): no dims to copy.
    await rejects(
      gradientModel(model(), { wrt: ['x'], loss: loss.add('y', loss.sub(loss.feed('a'), loss.feed('b'))) }),
      /loss input "a" needs dims: give them \(loss.feed\("a", \["N", 1, 32, 32\]\)\) or combine it with a model tensor/,
    );
    await rejects(gradientModel(model(), { wrt: ['x'], loss: loss.mul(loss.square('y'), loss.feed('q')) }), /loss input "q" needs dims/);
    await rejects(gradientModel(model(), { wrt: ['x'], loss: loss.mse('y', 'w') }), /the loss reads tensor "w", which the model does not compute/);
    // A loss of tensors that do not depend on the variables names what it reads, once each.
    await rejects(gradientModel(model(), { wrt: ['x'], loss: loss.add('z', loss.mul('z', 'z')) }), /the loss does not depend on "x"; .*\(the loss reads z\)$/);
  });
});

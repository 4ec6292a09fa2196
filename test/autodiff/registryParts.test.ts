/**
 * The rule registry and the context a rule sees (issue 19, mutation testing of registry.ts and gradient.ts's
 * GradContext), through the public API a user extends the engine with (src/autodiff/README.md, "Writing a rule"):
 * a rule registered here for Shrink (which ganvas has no rule for) is used by gradientModel and checked against
 * finite differences; its attributes are read as the ONNX spec defines them (defaults when absent); probed and
 * static dims, refusals naming the node, and what needs/isConstant/constValue say.
 */
import { expect } from 'chai';
import { GanvasError, GradContext, gradientModel, loss, randn, registerGradient, registeredOps } from 'ganvas';
import { GraphBuilder } from '../builder';
import { expectGradients, rt } from './check';

after(() => rt.release());

/** What the test wants the rule to do besides its gradient (inspect the context, refuse). */
let hook: ((ctx: GradContext) => void) | undefined;

// Shrink: y = x − bias where x > lambd, x + bias where x < −lambd, 0 between; dy/dx = 1 where |x| > lambd.
// lambd defaults to 0.5 (ONNX spec).
registerGradient({
  op: 'Shrink',
  grad: (ctx) => {
    hook?.(ctx);
    const { e, x } = ctx;
    const lambd = ctx.attrFloat('lambd', 0.5);
    const outside = e.castFloat(e.op('Greater', [e.op('Abs', [x[0]]), e.scalar(lambd)]));
    return [e.mul(ctx.dyOrZeros(0), outside)];
  },
});

function shrink(attrs: Record<string, number | { float: number }>, dims: (number | string)[] = ['N', 3, 8], name?: string) {
  const g = new GraphBuilder();
  g.input('x', dims);
  g.node('Shrink', ['x'], 'y', attrs);
  g.output('y');
  const m = g.build('shrink');
  if (name !== undefined) (m.proto.graph?.node ?? [])[0].name = name;
  return m;
}
const x = randn('registry-x', [2, 3, 8]);

async function refusedWith(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    expect((e as GanvasError).code).to.equal('UNSUPPORTED');
    return (e as Error).message;
  }
  throw new Error('expected a GanvasError');
}

describe('autodiff: a rule registered through the public API, and the context it sees', () => {
  afterEach(() => (hook = undefined));

  it('registeredOps lists it among the built-in rules, sorted', () => {
    const ops = registeredOps();
    expect(ops).to.include('Shrink').and.include('Conv').and.include('Tanh');
    expect(ops).to.deep.equal([...ops].sort());
    expect(new Set(ops).size).to.equal(ops.length);
  });

  it('gradientModel uses it: finite differences with lambd given and defaulted', async () => {
    // (lambd = 1 written as an INT attribute is refused by onnxruntime when it loads the model.)
    const cases: Record<string, { float: number }>[] = [{ lambd: { float: 0.3 }, bias: { float: 0.1 } }, { lambd: { float: 1 } }, {}];
    for (const attrs of cases) {
      await expectGradients({ model: shrink(attrs), inputs: { x }, wrt: ['x'], loss: loss.mse('y'), jsLoss: (o) => o.y.data.reduce((s, v) => s + v * v, 0) / o.y.data.length, h: 1e-3 });
    }
  });

  it('the context: probed dims with a symbolic batch, static dims, attributes and their defaults, needs/isConstant', async () => {
    const seen: Record<string, unknown> = {};
    hook = (ctx) => {
      seen.op = ctx.node.opType;
      seen.x = ctx.x;
      seen.y = ctx.y;
      seen.dyCount = ctx.dy.length;
      seen.dims = ctx.dims(ctx.x[0]);
      seen.rank = ctx.rank(ctx.x[0]);
      seen.static = ctx.staticDims(ctx.x[0]);
      seen.needs = [ctx.needs(0), ctx.needs(1)];
      seen.isConstant = [ctx.isConstant(0), ctx.isConstant(1)];
      seen.constValue = ctx.constValue(0);
      seen.lambd = ctx.attrFloat('lambd', 0.5);
      seen.bias = ctx.attrFloat('bias', 0);
      seen.has = [ctx.hasAttr('lambd'), ctx.hasAttr('bias'), ctx.hasAttr('alpha')];
      seen.defaults = [ctx.attrInt('nope', 7), ctx.attrInts('nope', [1, 2]), ctx.attrString('nope', 'dflt'), ctx.attrFloat('nope', 0.25)];
    };
    await gradientModel(shrink({ lambd: { float: 0.75 } }), { wrt: ['x'], loss: loss.mse('y') });
    expect(seen).to.deep.equal({
      op: 'Shrink',
      x: ['x'],
      y: ['y'],
      dyCount: 1,
      dims: ['N', 3, 8],
      rank: 3,
      static: [-1, 3, 8],
      needs: [true, false],
      isConstant: [false, false],
      constValue: undefined,
      lambd: 0.75,
      bias: 0,
      has: [true, false, false],
      defaults: [7, [1, 2], 'dflt', 0.25],
    });
  });

  it('staticDims refuses an axis whose size follows the batch, naming the node, the axis and the fix', async () => {
    // x[N, 3, 8] reshaped to [3, −1]: axis 1 of r is 8·N, symbolic in the probe.
    const g = new GraphBuilder();
    g.input('x', ['N', 3, 8]);
    g.node('Reshape', ['x', g.initInt64('s', [3, -1])], 'r');
    g.node('Shrink', ['r'], 'y');
    g.output('y');
    const model = g.build('folded batch');
    (model.proto.graph?.node ?? [])[1].name = 'my_shrink';
    let dims: unknown;
    hook = (ctx) => {
      dims = ctx.dims(ctx.x[0]);
      ctx.staticDims(ctx.x[0], 'the Shrink probe');
    };
    const msg = await refusedWith(gradientModel(model, { wrt: ['x'], loss: loss.mse('y') }));
    expect(dims).to.deep.equal([3, 'r_d1']);
    expect(msg).to.equal('cannot differentiate Shrink node "my_shrink": the Shrink probe needs the size of axis 1 of "r", which changes with the batch size (dims [3, r_d1]); export the model with a fixed batch size, or so that only axis 0 follows the batch');
    // Without a name for what needs it, the message says "this rule".
    hook = (ctx) => void ctx.staticDims(ctx.x[0]);
    expect(await refusedWith(gradientModel(model, { wrt: ['x'], loss: loss.mean('y') }))).to.include(': this rule needs the size of axis 1');
  });

  it('fail() refuses naming the node, or its output when it has no name', async () => {
    hook = (ctx) => ctx.fail('bias must be 0 here');
    expect(await refusedWith(gradientModel(shrink({ bias: { float: 0.5 } }, undefined, 'named'), { wrt: ['x'], loss: loss.mse('y') }))).to.equal(
      'cannot differentiate Shrink node "named": bias must be 0 here',
    );
    expect(await refusedWith(gradientModel(shrink({ bias: { float: 0.5 } }, undefined, ''), { wrt: ['x'], loss: loss.mse('y') }))).to.equal(
      'cannot differentiate Shrink node "y": bias must be 0 here',
    );
  });
});

/**
 * The engine around the rules (issue 19, mutation testing of gradient.ts), by the behaviour src/autodiff/README.md
 * describes: what a gradient model's inputs and outputs are (only the inputs the loss needs, never a weight, with
 * probed dims; a scalar loss and one gradient per variable, named clear of the model's names), that it holds no
 * node no output needs, the opset/IR version it is written for (raised only when a rule needs it, refused under
 * RoiAlign, other domains kept), that gradients reach a variable through every path, and the refusals with what
 * would work instead.
 */
import { expect } from 'chai';
import { FloatTensor, GanvasError, OnnxModel, decodeModel, gradName, gradientModel, loss, lossAndGradients, onnx, randn } from 'ganvas';
import { GraphBuilder } from '../builder';
import { rt } from './check';

after(() => rt.release());

async function refusal(p: Promise<unknown>, code: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    expect((e as GanvasError).code).to.equal(code);
    return (e as Error).message;
  }
  throw new Error('expected a GanvasError');
}

/** Re-encodes a builder's model after editing its proto (as a model file edited elsewhere would be). */
function edited(g: GraphBuilder, edit: (p: onnx.ModelProto) => void, source = 'edited'): OnnxModel {
  const p = onnx.ModelProto.decode(g.bytes());
  edit(p);
  return decodeModel(onnx.ModelProto.encode(p).finish(), source);
}

const opsetOf = (m: OnnxModel, domain = '') => Number((m.proto.opsetImport ?? []).find((o) => (o.domain ?? '') === domain)?.version);
const dimsOf = (v: onnx.IValueInfoProto) => (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));

/** Every node of a gradient model feeds some other node or an output (no dead backward nodes). */
function expectNoDeadNodes(m: OnnxModel): void {
  const nodes = m.proto.graph?.node ?? [];
  const used = new Set<string>((m.proto.graph?.output ?? []).map((o) => o.name ?? ''));
  for (const n of nodes) for (const i of n.input ?? []) used.add(i);
  for (const n of nodes) expect((n.output ?? []).some((o) => used.has(o)), `node ${n.opType} ${n.name} is dead`).to.equal(true);
}

describe('autodiff engine: the gradient model it writes', () => {
  it('inputs: only those the loss needs (not an unused input, not a weight also listed as an input), with probed dims', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3]);
    g.input('unused', ['N', 5]);
    g.input('w', [3]);
    g.init('w', [3], [0.5, -1, 2]);
    g.node('Mul', ['x', 'w'], 'y');
    g.node('Relu', ['unused'], 'side');
    g.output('y');
    g.output('side');
    const gm = await gradientModel(g.build('weight listed as input'), { wrt: ['x'], loss: loss.mse('y', loss.feed('t')) });
    const inputs = gm.proto.graph?.input ?? [];
    expect(inputs.map((v) => [v.name, dimsOf(v)])).to.deep.equal([
      ['x', ['N', 3]],
      ['t', ['N', 3]],
    ]);
    // Outputs: the scalar loss, then the gradient with the variable's dims.
    expect((gm.proto.graph?.output ?? []).map((v) => [v.name, dimsOf(v)])).to.deep.equal([
      ['loss', []],
      ['grad_x', ['N', 3]],
    ]);
    const x = randn('gp-x', [2, 3]);
    const t = randn('gp-t', [2, 3]);
    const r = await lossAndGradients(await rt.session(gm), { x, t, unused: randn('u', [2, 5]) });
    // L = mean((x·w − t)²) over 6 values; dL/dx = 2(x·w − t)·w / 6.
    const w = [0.5, -1, 2];
    let L = 0;
    x.data.forEach((v, i) => (L += (v * w[i % 3] - t.data[i]) ** 2 / 6));
    expect(r.loss).to.be.closeTo(L, 1e-5);
    r.grads.x.data.forEach((v, i) => expect(v).to.be.closeTo((2 * (x.data[i] * w[i % 3] - t.data[i]) * w[i % 3]) / 6, 1e-6));
    expect(gm.proto.producerName).to.equal('ganvas');
    expect(gm.source).to.equal('gradient of weight listed as input w.r.t. x');
  });

  it('output names stay clear of the model\'s own (loss, loss_1 taken → loss_2); gradients keyed by variable in wrt order', async () => {
    const g = new GraphBuilder();
    g.input('b', ['N', 2]);
    g.input('a', ['N', 2]);
    g.node('Tanh', ['a'], 'loss');
    g.node('Tanh', ['b'], 'loss_1');
    g.node('Mul', ['loss', 'loss_1'], 'grad_a');
    g.node('Identity', ['grad_a'], 'y');
    g.output('y');
    const gm = await gradientModel(g.build(), { wrt: ['b', 'a'], loss: 'y' });
    expect(gm.outputNames()).to.deep.equal(['loss_2', 'grad_b', 'grad_a_1']);
    const a = randn('gp-a', [2, 2]);
    const b = randn('gp-b', [2, 2]);
    const r = await lossAndGradients(await rt.session(gm), { a, b });
    // L = mean(tanh a · tanh b): dL/da = (1 − tanh² a)·tanh b / 4, and the other way round.
    const ta = Array.from(a.data, Math.tanh);
    const tb = Array.from(b.data, Math.tanh);
    r.grads.a.data.forEach((v, i) => expect(v).to.be.closeTo(((1 - ta[i] ** 2) * tb[i]) / 4, 1e-6));
    r.grads.b.data.forEach((v, i) => expect(v).to.be.closeTo(((1 - tb[i] ** 2) * ta[i]) / 4, 1e-6));
    expect(r.loss).to.be.closeTo(ta.reduce((s, v, i) => s + v * tb[i], 0) / 4, 1e-6);
  });

  it('gradients from several consumers of a tensor are summed; no node is left that no output needs', async () => {
    // y = x·x + tanh(x) + x³ (Pow under a ReduceSum whose gradient is expanded): dy/dx = 2x + 1 − tanh² x + 3x².
    const g = new GraphBuilder();
    g.input('x', ['N', 4]);
    const sq = g.node('Mul', ['x', 'x']);
    const th = g.node('Tanh', ['x']);
    const cube = g.node('Pow', ['x', g.init('three', [1], [3])]);
    g.node('Sum', [sq, th, cube], 'y');
    g.output('y');
    const gm = await gradientModel(g.build(), { wrt: ['x'], loss: loss.sum('y') });
    expectNoDeadNodes(gm);
    const x = randn('gp-sum', [2, 4]);
    const r = await lossAndGradients(await rt.session(gm), { x });
    r.grads.x.data.forEach((v, i) => {
      const u = x.data[i];
      expect(v).to.be.closeTo(2 * u + 1 - Math.tanh(u) ** 2 + 3 * u * u, 1e-4);
    });
    const pooled = new GraphBuilder();
    pooled.input('x', ['N', 2, 6, 6]);
    pooled.node('MaxPool', ['x'], 'p', { kernel_shape: [3, 3], strides: [1, 1] });
    pooled.node('Pow', ['p', pooled.init('e', [1, 1, 1, 1], [2])], 'y');
    pooled.output('y');
    expectNoDeadNodes(await gradientModel(pooled.build(), { wrt: ['x'], loss: loss.mean('y', [2, 3]) }));
  });

  it('the opset and IR version: kept, or raised to 16 / IR 8 for an overlapping MaxPool; other domains keep theirs', async () => {
    const pool = (overlap: boolean) => {
      const g = new GraphBuilder();
      g.input('x', ['N', 2, 8, 8]);
      g.node('MaxPool', ['x'], 'y', { kernel_shape: [3, 3], strides: overlap ? [2, 2] : [3, 3] });
      g.output('y');
      return edited(g, (p) => {
        p.irVersion = 7;
        p.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 }));
      }, overlap ? 'overlapping pool' : 'tiling pool');
    };
    const kept = await gradientModel(pool(false), { wrt: ['x'], loss: 'y' });
    expect([opsetOf(kept), opsetOf(kept, 'com.microsoft'), Number(kept.proto.irVersion)]).to.deep.equal([13, 1, 7]);
    const raised = await gradientModel(pool(true), { wrt: ['x'], loss: 'y' });
    expect([opsetOf(raised), opsetOf(raised, 'com.microsoft'), Number(raised.proto.irVersion)]).to.deep.equal([16, 1, 8]);
    // Both run.
    for (const m of [kept, raised]) expect((await rt.session(m)).outputNames).to.deep.equal(['loss', 'grad_x']);
  });

  it('refuses to raise the opset under a RoiAlign (its meaning changed in opset 16), and keeps a model with RoiAlign otherwise', async () => {
    const model = (overlap: boolean) => {
      const g = new GraphBuilder();
      g.input('x', ['N', 2, 8, 8]);
      g.input('k', [1, 2, 8, 8]);
      g.node('MaxPool', ['x'], 'y', { kernel_shape: [3, 3], strides: overlap ? [2, 2] : [3, 3] });
      g.node('RoiAlign', ['k', g.init('rois', [1, 4], [0, 0, 4, 4]), g.initInt64('bi', [0])], 'z', { output_height: 2, output_width: 2 });
      g.output('y');
      g.output('z');
      return g.build(overlap ? 'pool and roi' : 'tiling pool and roi');
    };
    const spec = loss.add(loss.mean('y'), loss.mean('z'));
    const msg = await refusal(gradientModel(model(true), { wrt: ['x'], loss: spec }), 'UNSUPPORTED');
    expect(msg).to.match(/needs opset 16, but pool and roi \(opset 13\) contains RoiAlign, whose meaning changed in opset 16; re-export the model with opset_version=16$/);
    expect(msg).to.match(/^\S/); // starts with the reason the rule gave
    expect(msg.toLowerCase()).to.include('maxpool');
    const ok = await gradientModel(model(false), { wrt: ['x'], loss: spec });
    expect(opsetOf(ok)).to.equal(13);
  });

  it('caches per model, variables, loss and input shapes', async () => {
    const g = new GraphBuilder();
    g.input('x', ['N', 3, 'H', 'W']);
    g.input('z', ['N', 3, 'H', 'W']);
    g.node('Mul', ['x', 'z'], 'y');
    g.output('y');
    const m = g.build();
    const at = (h: number, wrt = ['x']) => gradientModel(m, { wrt, loss: 'y', inputShapes: { x: [1, 3, h, h], z: [1, 3, h, h] } });
    const a = await at(4);
    expect(await at(4)).to.equal(a);
    const b = await at(5);
    expect(b).to.not.equal(a);
    expect(dimsOf((b.proto.graph?.output ?? [])[1])).to.deep.equal(['N', 3, 5, 5]);
    expect(await at(4, ['z'])).to.not.equal(a);
  });
});

describe('autodiff engine: refusals that say what would work', () => {
  const smooth = (opset = 13) => {
    const g = new GraphBuilder(opset);
    g.input('x', ['N', 3]);
    g.node('Tanh', ['x'], 'h');
    g.node('Sigmoid', ['h'], 'y');
    g.output('y');
    return g.build('smooth');
  };

  it('opset below 13, no variables, a variable twice, a name the model lacks', async () => {
    expect(await refusal(gradientModel(smooth(12), { wrt: ['x'], loss: 'y' }), 'UNSUPPORTED')).to.equal(
      'smooth uses ONNX opset 12; gradient models need opset 13 or later. Re-export with torch.onnx.export(..., opset_version=13) or convert with onnx.version_converter.',
    );
    expect(await refusal(gradientModel(smooth(), { wrt: [], loss: 'y' }), 'BAD_INPUT')).to.equal('gradientModel needs at least one tensor in wrt');
    expect(await refusal(gradientModel(smooth(), { wrt: ['x', 'h', 'x'], loss: 'y' }), 'BAD_INPUT')).to.equal('wrt lists a tensor twice: x, h, x');
    expect(await refusal(gradientModel(smooth(), { wrt: ['hx'], loss: 'y' }), 'BAD_INPUT')).to.match(/^smooth has no tensor "hx" to differentiate w.r.t.; its inputs are x; closest names: "h", "x"/);
    expect(await refusal(gradientModel(smooth(), { wrt: [3] as unknown as string[], loss: 'y' }), 'BAD_INPUT')).to.include('got [3]');
    // An intermediate tensor is a valid variable (its total gradient): dL/dh = σ'(h)/N·… only checked to exist here.
    expect((await gradientModel(smooth(), { wrt: ['h'], loss: 'y' })).outputNames()).to.deep.equal(['loss', 'grad_h']);
  });

  it('a float64 or float16 tensor between the variables and the loss, and an op of another domain on the path', async () => {
    for (const [to, name] of [[11, 'float64'], [10, 'float16']] as const) {
      const g = new GraphBuilder();
      g.input('x', ['N', 3]);
      g.node('Cast', ['x'], 'wide', { to });
      g.node('Cast', ['wide'], 'y', { to: 1 });
      g.output('y');
      // The only path goes through the wide tensor (this was refused as "the loss does not depend on x" before
      // issue 19's fix), or a float32 path runs beside it (whose gradient alone would be silently incomplete).
      const msg = await refusal(gradientModel(g.build(), { wrt: ['x'], loss: 'y' }), 'UNSUPPORTED');
      expect(msg).to.equal(`tensor "wide" (output of Cast node "Cast_0") is ${name} and lies between x and the loss; gradients are computed in float32 only. Export the model in float32.`);
      g.node('Tanh', ['x'], 'th');
      g.node('Add', ['y', 'th'], 'both');
      g.output('both');
      expect(await refusal(gradientModel(g.build('beside'), { wrt: ['x'], loss: 'both' }), 'UNSUPPORTED')).to.include('tensor "wide" (output of Cast node "Cast_0")');
    }
    // Off the path (a float64 side branch that the loss does not read), it is fine.
    const g = new GraphBuilder();
    g.input('x', ['N', 3]);
    g.node('Cast', ['x'], 'wide', { to: 11 });
    g.node('Tanh', ['x'], 'y');
    g.output('y');
    expect((await gradientModel(g.build(), { wrt: ['x'], loss: 'y' })).outputNames()).to.deep.equal(['loss', 'grad_x']);
    // com.microsoft's Gelu (an onnxruntime contrib op) on the path: named with its domain.
    const ms = new GraphBuilder();
    ms.input('x', ['N', 3]);
    ms.node('Gelu', ['x'], 'y');
    ms.output('y');
    const m = edited(ms, (p) => {
      p.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 }));
      (p.graph?.node ?? [])[0].domain = 'com.microsoft';
    }, 'contrib');
    const msg = await refusal(gradientModel(m, { wrt: ['x'], loss: 'y' }), 'UNSUPPORTED');
    expect(msg).to.match(/^no gradient rule for op com\.microsoft\.Gelu \(node "Gelu_0", output "y"\), which lies on a path from x to the loss\. Ops with gradient rules: Abs, Add, /);
  });

  it('lossAndGradients refuses a model whose recorded variables do not match its outputs', async () => {
    const gm = await gradientModel(smooth(), { wrt: ['x'], loss: 'y' });
    const p = onnx.ModelProto.decode(gm.bytes());
    p.metadataProps = [onnx.StringStringEntryProto.create({ key: 'ganvas.wrt', value: JSON.stringify(['x', 'extra']) })];
    const bad = decodeModel(onnx.ModelProto.encode(p).finish(), 'tampered');
    const msg = await refusal(lossAndGradients(await rt.session(bad), { x: randn('t', [1, 3]) }), 'BAD_INPUT');
    expect(msg).to.include('tampered is not a gradient model made by gradientModel()');
    // The untampered copy works, and keys its gradient by the variable's name.
    const r = await lossAndGradients(await rt.session(decodeModel(gm.bytes(), 'copy')), { x: randn('t', [1, 3]) as FloatTensor });
    expect(Object.keys(r.grads)).to.deep.equal(['x']);
    expect(gradName('x')).to.equal('grad_x');
  });
});

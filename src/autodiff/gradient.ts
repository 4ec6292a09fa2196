/**
 * gradientModel(): from a forward ONNX model, a second ONNX model computing a scalar loss and its gradients.
 *
 * 1. The loss expression is appended to the forward graph as ONNX nodes and the result is probed once, so every
 *    tensor's shape is known (gradients of broadcasting ops must be summed back to their inputs' shapes).
 * 2. Tensors that depend on a variable through float tensors are "varying"; nodes are visited in reverse graph
 *    order from the loss, and a node's rule runs only when a gradient reaches one of its outputs and one of its
 *    inputs is varying. So rules are applied only along paths from the variables to the loss, and an op without
 *    a rule is an error only when it actually lies on such a path.
 * 3. The backward nodes read forward tensors by name: onnxruntime computes each activation once and keeps it.
 */
import { mapFor, memoPromise } from '../memo';
import { GanvasError, closestNames } from '../errors';
import { GraphIndex, nodeReads } from '../onnx/graph';
import { OnnxModel, defaultOpset, onnx } from '../onnx/model';
import type { NodeProto } from '../onnx/model';
import { ProbeOptions, TensorInfo, probe } from '../onnx/probe';
import type { Feeds, ModelSession } from '../runtime/session';
import type { FloatTensor } from '../runtime/tensor';
import { Dim, formatDims, makeValueInfo } from '../onnx/types';
import { ConstValue, evaluateConstants } from './constants';
import { Emitter } from './emit';
import { LossSpec, buildLoss } from './loss';
import { GradContext, getGradient, readAttr, registeredOps, unsupported } from './registry';
import './ops';

export interface GradientOptions {
  /** Tensors to differentiate with respect to: graph inputs (latents, injected activations, weights fed as inputs). */
  wrt: string[];
  loss: LossSpec;
  /** Concrete shapes for inputs with symbolic non-batch axes (as for probe()). */
  inputShapes?: ProbeOptions['inputShapes'];
}

/** Name of the loss output of a gradient model. */
export const LOSS_OUTPUT = 'loss';
/** Name of the gradient output for variable `name`. */
export function gradName(name: string): string {
  return `grad_${name}`;
}

const cache = new WeakMap<OnnxModel, Map<string, Promise<OnnxModel>>>();
/**
 * Metadata key under which a gradient model records its variables (JSON, in output order): the model carries them
 * itself, so a copy read back from disk or rebuilt from its bytes still knows which gradient is which.
 */
const WRT_KEY = 'ganvas.wrt';

/**
 * The gradient model of `model`: outputs `loss` (a scalar) then `grad_<name>` for each name in `wrt`; inputs are
 * the model's inputs that the loss needs plus any loss feeds (targets, masks). Cached per (model, wrt, loss).
 */
export function gradientModel(model: OnnxModel, opts: GradientOptions): Promise<OnnxModel> {
  if (!Array.isArray(opts.wrt) || !opts.wrt.every((w) => typeof w === 'string')) {
    return Promise.reject(
      new GanvasError('BAD_INPUT', `wrt must be an array of tensor names, e.g. wrt: ['z'], got ${JSON.stringify(opts.wrt)}`),
    );
  }
  const key = JSON.stringify({ wrt: opts.wrt, loss: opts.loss, shapes: opts.inputShapes ?? {} });
  return memoPromise(mapFor(cache, model), key, () => build(model, opts));
}

async function build(model: OnnxModel, opts: GradientOptions): Promise<OnnxModel> {
  const opset = defaultOpset(model);
  if (opset < 13) {
    throw new GanvasError(
      'UNSUPPORTED',
      `${model.source} uses ONNX opset ${opset}; gradient models need opset 13 or later. ` +
        `Re-export with torch.onnx.export(..., opset_version=13) or convert with onnx.version_converter.`,
    );
  }
  if (opts.wrt.length === 0) throw new GanvasError('BAD_INPUT', 'gradientModel needs at least one tensor in wrt');
  if (new Set(opts.wrt).size !== opts.wrt.length) {
    throw new GanvasError('BAD_INPUT', `wrt lists a tensor twice: ${opts.wrt.join(', ')}`);
  }
  const g0 = model.graph;
  const index0 = new GraphIndex(model);
  const initNames = index0.initializers;
  for (const w of opts.wrt) {
    if (index0.inputs.has(w)) continue;
    if (initNames.has(w)) {
      throw new GanvasError(
        'BAD_INPUT',
        `"${w}" is a weight (an initializer) of ${model.source}; gradients are taken w.r.t. graph inputs. ` +
          `Make it an input (feed the weight at run time) or differentiate w.r.t. an input instead.`,
      );
    }
    if (!index0.producer.has(w)) {
      const all = [...index0.inputs, ...index0.producer.keys()];
      throw new GanvasError(
        'BAD_INPUT',
        `${model.source} has no tensor "${w}" to differentiate w.r.t.; its inputs are ${[...index0.inputs].join(', ')}` +
          `; closest names: ${closestNames(w, all).map((c) => `"${c}"`).join(', ')}`,
      );
    }
    // Issue 19: a constant (a Constant node, or computed from weights alone) was refused as "of unknown type" (the
    // probe lists no constants), which did not say what was wrong.
    if (index0.isConstant(w)) {
      throw new GanvasError(
        'BAD_INPUT',
        `"${w}" is a constant of ${model.source} (computed from its weights alone); gradients are taken w.r.t. graph ` +
          `inputs and tensors computed from them. Make the weights it comes from inputs, or differentiate w.r.t. an input instead.`,
      );
    }
  }

  // Every name in the model, so the names we add never collide with the model's.
  const taken = new Set<string>([...index0.inputs, ...initNames, ...index0.producer.keys()]);
  for (const n of index0.nodes) if (n.name) taken.add(n.name);
  const base = await probe(model, { inputShapes: opts.inputShapes });
  for (const w of opts.wrt) {
    const type = base.tensors.get(w)?.type;
    if (type !== 'float32') {
      throw new GanvasError(
        'BAD_INPUT',
        // Stryker disable next-line StringLiteral: unreachable: the probe lists every input and every tensor that is not a constant, and constants are refused above
        `"${w}" is ${type ?? 'of unknown type'}; gradients are taken w.r.t. float32 tensors (a tensor such as an index ` +
          `or a mask has no gradient)`,
      );
    }
  }
  const dimsOf0 = (name: string): Dim[] | undefined => base.tensors.get(name)?.dims;
  // Stryker disable next-line StringLiteral: a prefix that only shapes the loss nodes' names; the taken set keeps them unique
  const le = new Emitter('ganvas_loss/', opset, taken);
  const built = buildLoss(opts.loss, dimsOf0, le);

  const augGraph = onnx.GraphProto.create({
    ...g0,
    node: [...(g0.node ?? []), ...le.nodes],
    input: [...(g0.input ?? []), ...built.feeds.map((f) => makeValueInfo(f.name, 'float32', f.dims))],
    initializer: [...(g0.initializer ?? []), ...le.initializers],
    // Stryker disable next-line ArrayDeclaration: probe() makes every tensor that is not a constant an output anyway
    output: [onnx.ValueInfoProto.create({ name: built.name })],
  });
  const aug = new OnnxModel(onnx.ModelProto.create({ ...model.proto, graph: augGraph }), `${model.source} with loss`);
  const { tensors } = await probe(aug, { inputShapes: opts.inputShapes });
  const index = new GraphIndex(aug);
  const isFloat = (n: string) => tensors.get(n)?.type === 'float32';

  // Forward sweep: which tensors depend on a variable.
  const varying = new Set<string>(opts.wrt);
  for (const node of index.nodes) {
    if (!nodeReads(node).some((r) => varying.has(r))) continue;
    // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    for (const o of node.output ?? []) if (o && isFloat(o)) varying.add(o);
  }

  const needed = index.closure([built.name]);
  // Only float32 is differentiated: a float64/float16 tensor computed from a variable on the way to the loss would
  // otherwise silently cut the gradient.
  for (const i of needed) {
    const node = index.nodes[i];
    if (!nodeReads(node).some((r) => varying.has(r))) continue;
    // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    for (const o of node.output ?? []) {
      const t = tensors.get(o)?.type;
      if (o && (t === 'float64' || t === 'float16')) {
        throw new GanvasError(
          'UNSUPPORTED',
          `tensor "${o}" (output of ${node.opType} node "${node.name || o}") is ${t} and lies between ${opts.wrt.join(', ')} ` +
            `and the loss; gradients are computed in float32 only. Export the model in float32.`,
        );
      }
    }
  }
  // After the float32-only check (issue 19): a loss that reads the variables only through a float64 tensor is not
  // varying either, and was refused with this message, which blamed the loss instead of the model's float64 tensor.
  if (!varying.has(built.name)) {
    throw new GanvasError(
      'BAD_INPUT',
      `the loss does not depend on ${opts.wrt.map((w) => `"${w}"`).join(', ')}; check that the loss reads an output ` +
        `computed from them (the loss reads ${built.reads.join(', ')})`,
    );
  }
  // Constant inputs the rules will read (Slice starts, Pad pads, …) and constants whose dims rules need.
  const constNames = new Set<string>();
  for (const i of needed) {
    const node = index.nodes[i];
    // Stryker disable next-line ConditionalExpression,ArrayDeclaration: without the skip, constants read by nodes off the path are evaluated too: more work, the same values for the rules; protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    if (!(node.output ?? []).some((o) => varying.has(o))) continue;
    // Stryker disable next-line StringLiteral: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    const rule = getGradient(node.opType ?? '');
    // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    (node.input ?? []).forEach((name, k) => {
      if (!name || !index.isConstant(name)) return;
      // Stryker disable next-line ConditionalExpression: decoding every weight a rule reads (not only those it needs the values of) gives the dims initDims gives
      if (rule?.constInputs?.includes(k) || !index.initializers.has(name)) constNames.add(name);
    });
  }
  const consts = await evaluateConstants(aug, index, [...constNames]);
  // Stryker disable next-line ArrayDeclaration,StringLiteral: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
  const initDims = new Map((augGraph.initializer ?? []).map((t) => [t.name ?? '', (t.dims ?? []).map(Number)]));

  // Stryker disable next-line StringLiteral: a prefix that only shapes the backward nodes' names; the taken set keeps them unique
  const e = new Emitter('ganvas_grad/', opset, taken);
  const grads = new Map<string, string[]>();
  const total = (name: string): string | undefined => {
    const parts = grads.get(name);
    // A list, once set, always holds a part.
    if (!parts) return undefined;
    const s = e.sum(parts);
    grads.set(name, [s]);
    return s;
  };
  grads.set(built.name, [e.scalar(1)]);

  const dims = (name: string): Dim[] => {
    const t: TensorInfo | undefined = tensors.get(name);
    if (t) return t.dims;
    const c = consts.get(name) ?? undefined;
    if (c) return c.dims;
    const d = initDims.get(name);
    if (d) return d;
    // Stryker disable next-line StringLiteral: unreachable: rules ask for dims of their node's tensors, and every non-constant tensor is probed, every constant a varying node reads is evaluated, every weight is in initDims
    throw new GanvasError('RUNTIME', `no shape known for tensor "${name}" of ${model.source}`);
  };

  for (let k = needed.length - 1; k >= 0; k--) {
    const node = index.nodes[needed[k]];
    // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    const outs = node.output ?? [];
    const dy = outs.map((o) => (o ? total(o) : undefined));
    if (dy.every((d) => d === undefined)) continue;
    // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    const ins = node.input ?? [];
    // varying holds float32 tensors only (the variables were checked above; outputs join only when float32), never ''.
    const need = ins.map((n) => varying.has(n));
    if (!need.some((b) => b)) continue;
    // Stryker disable next-line StringLiteral: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    const op = node.opType ?? '';
    const rule = node.domain && node.domain !== 'ai.onnx' ? undefined : getGradient(op);
    if (!rule) {
      throw new GanvasError(
        'UNSUPPORTED',
        `no gradient rule for op ${node.domain ? `${node.domain}.` : ''}${op} (node "${node.name || outs[0]}", ` +
          `output "${outs[0]}"), which lies on a path from ${opts.wrt.join(', ')} to the loss. ` +
          `Ops with gradient rules: ${registeredOps().join(', ')}.`,
      );
    }
    const ctx = makeContext(node, dy, need, e, dims, consts, (name) => index.isConstant(name));
    const res = rule.grad(ctx);
    ins.forEach((name, i) => {
      const g = res[i];
      if (!need[i] || !g) return;
      const list = grads.get(name);
      if (list) list.push(g);
      else grads.set(name, [g]);
    });
  }

  const outName = (b: string) => {
    let n = b;
    for (let i = 1; taken.has(n); i++) n = `${b}_${i}`;
    taken.add(n);
    return n;
  };
  const lossOut = outName(LOSS_OUTPUT);
  e.opInto('Identity', [built.name], lossOut);
  const gradOuts: onnx.IValueInfoProto[] = [];
  for (const w of opts.wrt) {
    const g = total(w) ?? e.zerosLike(w);
    const n = outName(gradName(w));
    e.opInto('Identity', [g], n);
    const info = tensors.get(w);
    gradOuts.push(makeValueInfo(n, 'float32', info?.dims));
  }

  // Backward nodes that some output needs: a rule may have read past a node it emitted (Pow's gradient multiplies
  // by the small tensor under an Expand rather than by the Expand's output), and such dead nodes are dropped here.
  // Stryker disable next-line StringLiteral: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
  const live = new Set<string>([lossOut, ...gradOuts.map((g) => g.name ?? '')]);
  const backward: NodeProto[] = [];
  for (let i = e.nodes.length - 1; i >= 0; i--) {
    const n = e.nodes[i];
    // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    if (!(n.output ?? []).some((o) => live.has(o))) continue;
    backward.push(n);
    for (const r of nodeReads(n)) live.add(r);
  }
  backward.reverse();

  // Forward nodes: whatever the backward nodes read (the loss's Identity reads the loss), with what those need. The
  // names the backward nodes make have no producer in the forward graph, so the closure passes over them.
  const fwdReads = new Set<string>();
  for (const n of backward) for (const r of nodeReads(n)) fwdReads.add(r);
  const fwd = index.closure(fwdReads);
  const allNodes: NodeProto[] = [...fwd.map((i) => index.nodes[i]), ...backward];
  const reads = new Set<string>();
  for (const n of allNodes) for (const r of nodeReads(n)) reads.add(r);
  for (const w of opts.wrt) reads.add(w);
  // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
  const inputs = (augGraph.input ?? []).filter((v) => {
    // Stryker disable next-line StringLiteral: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    const n = v.name ?? '';
    return reads.has(n) && !initNames.has(n);
  });
  const describeInput = (v: onnx.IValueInfoProto): onnx.IValueInfoProto => {
    // Stryker disable next-line StringLiteral: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    const t = tensors.get(v.name ?? '');
    return t ? makeValueInfo(t.name, t.type, t.dims) : v;
  };

  const minOpset = Math.max(opset, e.minOpset);
  // Between opsets 13 and 16 only RoiAlign changed meaning (its coordinate mode's default): refuse to raise the
  // opset under it rather than silently change the forward computation. (A raise beyond 16 would need this
  // list extended.)
  if (minOpset > opset && allNodes.some((n) => n.opType === 'RoiAlign')) {
    throw new GanvasError(
      'UNSUPPORTED',
      `${e.opsetReason} needs opset ${minOpset}, but ${model.source} (opset ${opset}) contains RoiAlign, ` +
        `whose meaning changed in opset 16; re-export the model with opset_version=16`,
    );
  }
  // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
  const opsetImport = (model.proto.opsetImport ?? []).map((o) =>
    !o.domain || o.domain === 'ai.onnx' ? onnx.OperatorSetIdProto.create({ domain: o.domain, version: minOpset }) : o,
  );
  // Opset 16 needs IR version 8: raise it with the opset.
  const irVersion = Math.max(Number(model.proto.irVersion ?? 7), minOpset >= 16 ? 8 : 7);
  const graph = onnx.GraphProto.create({
    // Stryker disable next-line StringLiteral: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    name: `${g0.name ?? 'graph'}_gradient`,
    node: allNodes,
    input: inputs.map(describeInput),
    // Stryker disable next-line ArrayDeclaration,StringLiteral: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
    initializer: [...(augGraph.initializer ?? []), ...e.initializers].filter((t) => reads.has(t.name ?? '')),
    output: [makeValueInfo(lossOut, 'float32', []), ...gradOuts],
  });
  const proto = onnx.ModelProto.create({
    irVersion,
    opsetImport,
    producerName: 'ganvas',
    producerVersion: model.proto.producerVersion,
    functions: model.proto.functions,
    metadataProps: [onnx.StringStringEntryProto.create({ key: WRT_KEY, value: JSON.stringify(opts.wrt) })],
    graph,
  });
  return new OnnxModel(proto, `gradient of ${model.source} w.r.t. ${opts.wrt.join(', ')}`);
}

function makeContext(
  node: NodeProto,
  dy: (string | undefined)[],
  need: boolean[],
  e: Emitter,
  dimsOf: (name: string) => Dim[],
  consts: Map<string, ConstValue>,
  isConstant: (name: string) => boolean,
): GradContext {
  // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
  const x = node.input ?? [];
  // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
  const y = node.output ?? [];
  const ctx: GradContext = {
    node,
    x,
    y,
    dy,
    e,
    dyOrZeros: (i) => dy[i] ?? e.zerosLike(y[i]),
    needs: (i) => need[i] === true,
    isConstant: (i) => Boolean(x[i]) && isConstant(x[i]),
    dims: dimsOf,
    staticDims: (name, what = 'this rule') => {
      const d = dimsOf(name);
      // The batch axis (0) may stay symbolic. The probe has made every other input axis concrete (or refused, asking
      // for inputShapes), so a symbolic axis here is one whose size follows the batch (issue 19: this said "pass
      // inputShapes", which cannot help).
      const bad = d.slice(1).findIndex((v) => typeof v !== 'number') + 1;
      if (bad > 0) {
        unsupported(
          node,
          `${what} needs the size of axis ${bad} of "${name}", which changes with the batch size (dims ${formatDims(d)}); ` +
            `export the model with a fixed batch size, or so that only axis 0 follows the batch`,
        );
      }
      return d.map((v) => (typeof v === 'number' ? v : -1));
    },
    rank: (name) => dimsOf(name).length,
    constValue: (i) => (x[i] ? consts.get(x[i]) : undefined),
    attrInt: (name, dflt) => {
      const a = readAttr(node, name);
      return a ? Number(a.i ?? dflt) : dflt;
    },
    attrInts: (name, dflt) => {
      const a = readAttr(node, name);
      // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
      return a ? (a.ints ?? []).map(Number) : dflt;
    },
    attrFloat: (name, dflt) => {
      const a = readAttr(node, name);
      if (!a) return dflt;
      // Hand-written graphs sometimes store a float attribute such as alpha = 1 as an INT.
      // Stryker disable next-line LogicalOperator: protobufjs defaults i and f to 0, so neither fallback runs
      return a.type === onnx.AttributeProto.AttributeType.INT ? Number(a.i ?? dflt) : Number(a.f ?? dflt);
    },
    attrString: (name, dflt) => {
      const a = readAttr(node, name);
      return a?.s ? Buffer.from(a.s).toString() : dflt;
    },
    hasAttr: (name) => readAttr(node, name) !== undefined,
    fail: (what) => unsupported(node, what),
  };
  return ctx;
}

export interface LossAndGradients {
  loss: number;
  /** Gradient per variable, keyed by the variable's name (not the output's). */
  grads: Record<string, FloatTensor>;
}

/**
 * Runs a gradient model once. `feeds` may hold more tensors than the gradient model reads (all the forward
 * model's inputs, say): the gradient model keeps only the inputs the loss depends on, so the extra ones are
 * dropped here rather than rejected.
 */
export async function lossAndGradients(session: ModelSession, feeds: Feeds): Promise<LossAndGradients> {
  const used: Feeds = {};
  for (const spec of session.inputs) {
    const f = feeds[spec.name];
    // Stryker disable next-line ConditionalExpression: a feed left out and one set to undefined are refused alike ("missing input") by the session
    if (f) used[spec.name] = f;
  }
  const wrt = wrtOfModel(session.model);
  const out = await session.run(used);
  const grads: Record<string, FloatTensor> = {};
  const names = session.outputNames;
  // Outputs are the loss, then one gradient per variable in wrt order.
  names.slice(1).forEach((n, i) => (grads[wrt[i]] = out[n]));
  return { loss: out[names[0]].data[0], grads };
}

/** The variables a gradient model records, in output order; a clear error for any other model. */
function wrtOfModel(model: OnnxModel): string[] {
  // Stryker disable next-line ArrayDeclaration: protobufjs defaults repeated fields to [] and strings to '', so the fallback never runs
  const entry = (model.proto.metadataProps ?? []).find((p) => p.key === WRT_KEY);
  const wrt: unknown = entry?.value ? JSON.parse(entry.value) : undefined;
  if (!Array.isArray(wrt) || wrt.length !== model.outputNames().length - 1) {
    throw new GanvasError(
      'BAD_INPUT',
      `${model.source} is not a gradient model made by gradientModel() (it does not record its variables); ` +
        `run lossAndGradients on the session of gradientModel(model, { wrt, loss })`,
    );
  }
  return wrt as string[];
}

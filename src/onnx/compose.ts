/**
 * Composing ONNX graphs from pieces, and moving weights between initializers and graph inputs.
 *
 * Paper 003 builds one computation out of parts of three networks: a classifier up to LayerX, a 1×1 convolution,
 * a generator tail from LayerY, and the classifier again. `compose` wires such pieces into one ONNX graph: every
 * tensor of a piece is renamed with the piece's prefix, and inputs named in `connect` read a tensor of an earlier
 * piece instead of becoming graph inputs. onnxruntime then runs the whole chain in one session (one call, no copies
 * between pieces), and the autodiff differentiates through it like any other graph.
 *
 * `initializersToInputs` / `inputsToInitializers` turn chosen weights into graph inputs (to train them, or to swap
 * them per run) and back (to freeze them into a standalone file).
 */
import { GanvasError, closestNames } from '../errors';
import { floatTensorProto, readFloatTensor } from './tensorProto';
import { OnnxModel, defaultOpset, onnx, withGraph } from './model';
import type { FloatTensor } from '../runtime/tensor';
import { Dim, formatDims, makeValueInfo, valueInfoType } from './types';

export interface ComposePiece {
  model: OnnxModel;
  /** Prepended to every tensor and node name of this piece (e.g. "gen/"); must be unique among the pieces. */
  prefix: string;
  /** Inputs of this piece → the composed tensor they read (an earlier piece's tensor, prefixed, or a graph input). */
  connect?: Record<string, string>;
  /**
   * Unconnected inputs keep their own names (no prefix), and one that an earlier piece already has as a graph
   * input reads that input: a generator's head and tail both reading the noise "noise_b32", say.
   */
  shareInputs?: boolean;
}

export interface ComposeOptions {
  /** Tensors of the composed graph (prefixed names) to expose as outputs. */
  outputs: string[];
  /** Described in errors and provenance. */
  source?: string;
}

/**
 * One graph from pieces, in order: a piece may connect its inputs only to tensors of the pieces before it (or to
 * graph inputs those created). Unconnected inputs become graph inputs (prefixed). All pieces must use the same
 * default-domain opset: operators changed meaning between opsets (Resize, ReduceMean's axes), so a graph mixing
 * them could not be run under any one opset.
 */
export function compose(pieces: ComposePiece[], opts: ComposeOptions): OnnxModel {
  if (pieces.length === 0) throw new GanvasError('BAD_INPUT', 'compose() needs at least one piece');
  const prefixes = new Set<string>();
  for (const p of pieces) {
    if (prefixes.has(p.prefix)) throw new GanvasError('BAD_INPUT', `two pieces share the prefix "${p.prefix}"; give each piece its own`);
    prefixes.add(p.prefix);
  }
  const opsets = pieces.map((p) => defaultOpset(p.model));
  if (new Set(opsets).size > 1) {
    throw new GanvasError(
      'UNSUPPORTED',
      `cannot compose models of different ONNX opsets (${pieces.map((p, i) => `${p.model.source}: ${opsets[i]}`).join(', ')}); ` +
        `export them at the same opset (torch.onnx.export(..., opset_version=N)) or convert one with onnx.version_converter`,
    );
  }
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const inputs: onnx.IValueInfoProto[] = [];
  const valueInfo: onnx.IValueInfoProto[] = [];
  /** Every tensor name of the composed graph, with the value info known for it. */
  const known = new Map<string, onnx.IValueInfoProto | undefined>();
  const otherDomains = new Map<string, number>();

  for (const piece of pieces) {
    const g = piece.model.graph;
    if ((piece.model.proto.functions ?? []).length > 0) {
      throw new GanvasError('UNSUPPORTED', `${piece.model.source} defines model-local functions; inline them before composing (onnx.inliner)`);
    }
    for (const imp of piece.model.proto.opsetImport ?? []) {
      if (imp.domain && imp.domain !== 'ai.onnx') otherDomains.set(imp.domain, Math.max(otherDomains.get(imp.domain) ?? 0, Number(imp.version)));
    }
    const realInputs = new Set(piece.model.inputNames());
    const connect = piece.connect ?? {};
    for (const [inp, target] of Object.entries(connect)) {
      if (!realInputs.has(inp)) {
        throw new GanvasError(
          'BAD_INPUT',
          `piece "${piece.prefix}" (${piece.model.source}) has no input "${inp}" to connect; its inputs are ${[...realInputs].join(', ')}` +
            closestHint(inp, [...realInputs]),
        );
      }
      if (!known.has(target)) {
        throw new GanvasError(
          'BAD_INPUT',
          `piece "${piece.prefix}" connects "${inp}" to "${target}", which no earlier piece makes` + closestHint(target, [...known.keys()]),
        );
      }
    }
    const graphInputs = new Set(inputs.map((i) => i.name ?? ''));
    const shared = (n: string) => piece.shareInputs === true && realInputs.has(n) && !Object.prototype.hasOwnProperty.call(connect, n);
    const rename = (n: string | null | undefined): string => {
      if (!n) return '';
      if (Object.prototype.hasOwnProperty.call(connect, n)) return connect[n];
      return shared(n) ? n : piece.prefix + n;
    };
    for (const t of g.initializer ?? []) {
      initializers.push({ ...t, name: rename(t.name) });
      known.set(rename(t.name), undefined);
    }
    for (const v of g.input ?? []) {
      const n = v.name ?? '';
      if (!realInputs.has(n) || Object.prototype.hasOwnProperty.call(connect, n)) continue;
      const renamed = { ...v, name: rename(n) };
      if (shared(n) && graphInputs.has(n)) continue;
      if (known.has(renamed.name)) throw new GanvasError('BAD_INPUT', `compose: tensor name "${renamed.name}" occurs twice; use distinct prefixes`);
      inputs.push(renamed);
      known.set(renamed.name, renamed);
    }
    for (const node of g.node ?? []) {
      for (const a of node.attribute ?? []) {
        if (a.g || (a.graphs ?? []).length > 0) {
          throw new GanvasError('UNSUPPORTED', `compose: node "${node.name}" (${node.opType}) has a sub-graph; control flow cannot be composed yet`);
        }
      }
      const out = (node.output ?? []).map(rename);
      // A nameless node is named by its (already prefixed) first output: "p/h", not "p/p/h" as before.
      nodes.push({ ...node, name: node.name ? piece.prefix + node.name : out[0], input: (node.input ?? []).map(rename), output: out });
      for (const o of out) if (o) known.set(o, known.get(o));
    }
    for (const list of [g.valueInfo ?? [], g.output ?? []]) {
      for (const v of list) {
        const n = rename(v.name);
        if (n && !inputs.some((i) => i.name === n)) {
          const renamed = { ...v, name: n };
          known.set(n, renamed);
          valueInfo.push(renamed);
        }
      }
    }
  }
  const outputs = opts.outputs.map((name) => {
    if (!known.has(name)) throw new GanvasError('BAD_INPUT', `compose: no tensor "${name}" to output` + closestHint(name, [...known.keys()]));
    const { type, dims } = valueInfoType(known.get(name));
    return makeValueInfo(name, type ?? 'float32', dims);
  });
  // Only what the outputs need: a piece's other outputs (a generator head's layer when only its style crosses,
  // say) would otherwise be computed on every run, and their inputs would have to be fed.
  const needed = new Set(opts.outputs);
  const kept: onnx.INodeProto[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    if ((nodes[i].output ?? []).some((o) => needed.has(o))) {
      kept.push(nodes[i]);
      // Stryker disable next-line ConditionalExpression: no tensor, input or initializer of the composed graph is named ""
      for (const x of nodes[i].input ?? []) if (x) needed.add(x);
    }
  }
  kept.reverse();
  const base = pieces[0].model;
  const graph: onnx.IGraphProto = {
    name: 'composed',
    node: kept,
    initializer: initializers.filter((t) => needed.has(t.name ?? '')),
    input: inputs.filter((v) => needed.has(v.name ?? '')),
    output: outputs,
    valueInfo: valueInfo.filter((v) => needed.has(v.name ?? '') && !opts.outputs.includes(v.name ?? '')),
  };
  const model = withGraph(base, graph, opts.source ?? `composed of ${pieces.map((p) => p.model.source).join(' + ')}`);
  const irs = pieces.map((p) => Number(p.model.proto.irVersion ?? 0));
  model.proto.irVersion = Math.max(...irs);
  model.proto.opsetImport = [
    onnx.OperatorSetIdProto.create({ domain: '', version: opsets[0] }),
    ...[...otherDomains].map(([domain, version]) => onnx.OperatorSetIdProto.create({ domain, version })),
  ];
  return model;
}

function closestHint(name: string, candidates: string[]): string {
  const near = closestNames(name, candidates, 5);
  return near.length > 0 ? ` (nearby: ${near.join(', ')})` : '';
}

/**
 * The model with the named float32 initializers turned into graph inputs (their values returned, to feed back or
 * to start from): weights to train, or to swap per run without rebuilding a session.
 */
export function initializersToInputs(model: OnnxModel, names: string[]): { model: OnnxModel; values: Record<string, FloatTensor> } {
  const g = model.graph;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const values: Record<string, FloatTensor> = {};
  const newInputs: onnx.IValueInfoProto[] = [];
  for (const n of names) {
    const t = inits.get(n);
    if (!t) throw new GanvasError('BAD_INPUT', `${model.source} has no initializer "${n}"` + closestHint(n, [...inits.keys()]));
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) {
      throw new GanvasError('BAD_INPUT', `initializer "${n}" is not float32; only float32 weights can become inputs`);
    }
    const dims = (t.dims ?? []).map(Number);
    values[n] = readFloatTensor(t);
    newInputs.push(makeValueInfo(n, 'float32', dims));
  }
  const drop = new Set(names);
  const graph: onnx.IGraphProto = {
    ...g,
    initializer: (g.initializer ?? []).filter((t) => !drop.has(t.name ?? '')),
    input: [...(g.input ?? []).filter((v) => !drop.has(v.name ?? '')), ...newInputs],
  };
  const out = withGraph(model, graph, model.source).withAliases({ ...model.aliases });
  out.proto.opsetImport = model.proto.opsetImport;
  out.proto.irVersion = model.proto.irVersion;
  return { model: out, values };
}

/** The model with the named graph inputs fixed to the given values (stored as initializers): a standalone file. */
export function inputsToInitializers(model: OnnxModel, values: Record<string, FloatTensor>): OnnxModel {
  const g = model.graph;
  const inputs = new Map((g.input ?? []).map((v) => [v.name ?? '', v]));
  const inits: onnx.ITensorProto[] = [];
  for (const [n, t] of Object.entries(values)) {
    const v = inputs.get(n);
    if (!v) throw new GanvasError('BAD_INPUT', `${model.source} has no input "${n}"` + closestHint(n, [...inputs.keys()]));
    const { dims } = valueInfoType(v);
    if (dims && (dims.length !== t.dims.length || dims.some((d, i) => typeof d === 'number' && d !== t.dims[i]))) {
      throw new GanvasError('BAD_INPUT', `value for input "${n}" has shape ${formatDims(t.dims)}, the graph expects ${formatDims(dims as Dim[])}`);
    }
    inits.push(floatTensorProto(n, t));
  }
  const graph: onnx.IGraphProto = {
    ...g,
    initializer: [...(g.initializer ?? []), ...inits],
    input: (g.input ?? []).filter((v) => !Object.prototype.hasOwnProperty.call(values, v.name ?? '')),
  };
  const out = withGraph(model, graph, model.source).withAliases({ ...model.aliases });
  out.proto.opsetImport = model.proto.opsetImport;
  out.proto.irVersion = model.proto.irVersion;
  return out;
}

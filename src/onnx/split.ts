/**
 * Cutting a model at a hidden layer (paper 000's Fig. 1: the generator G = tail ∘ head, with the activation
 * vectors living at the cut).
 *
 * head: the original inputs → the layer's activations, plus every other tensor that the rest of the graph still
 *       needs from before the cut (UNet skips, the mapping network's style vector w, …).
 * tail: the activations + those crossing tensors + any original input read after the cut (noise, style) → the
 *       original outputs.
 * Work that needs neither the layer nor an input read after the cut may run on either side; it goes into the
 * head when that makes the hand-over cheaper (StyleGAN's toRGB chain: the one-channel image so far crosses
 * instead of the wide feature maps it is made from), decided by a minimum cut over the crossing costs.
 * Constant sub-graphs (initializers, Constant nodes and whatever is computed only from them) never cross: they
 * are copied into whichever side reads them.
 */
import { GraphIndex, nodeReads } from './graph';
import { LayerInfo, resolveLayer } from './layers';
import { FlowNetwork } from './mincut';
import { OnnxModel, onnx, withGraph } from './model';
import { ProbeOptions, TensorInfo, probe } from './probe';
import { makeValueInfo } from './types';

export interface TailInput {
  name: string;
  /** "layer": the activations; "crossing": made by the head, read after the cut; "input": an original input. */
  role: 'layer' | 'crossing' | 'input';
}

export interface Split {
  layer: LayerInfo;
  head: OnnxModel;
  tail: OnnxModel;
  /** Head outputs: the layer first, then the crossing tensors. */
  headOutputs: string[];
  /** Original inputs the head reads. */
  headInputs: string[];
  tailInputs: TailInput[];
}

export async function split(model: OnnxModel, layer: string, opts: ProbeOptions = {}): Promise<Split> {
  const info = await resolveLayer(model, layer, opts);
  const { tensors } = await probe(model, opts);
  const index = new GraphIndex(model);
  const L = info.name;

  const inputs = new Set(model.inputNames());
  // First the smallest head: the layer's ancestors. Everything else the outputs need is the tail.
  const firstHead = index.closure([L], (t) => inputs.has(t));
  const firstMade = index.writes(firstHead);
  // Stryker disable next-line ConditionalExpression,LogicalOperator: L is in firstMade and not constant, and an input has no producer: the walk stops at both either way
  const firstTail = index.closure(index.outputs, (t) => t === L || inputs.has(t) || (firstMade.has(t) && !index.isConstant(t)));
  const tailOriginalInputs = model.inputNames().filter((n) => index.freeReads(firstTail).has(n));
  // Then move into the head the tail nodes that need neither the layer nor an input read after the cut, where
  // that hands fewer bytes across (a skip branch reduced to one channel crosses instead of the wide tensor it
  // was made from). They also run once per head call instead of once per render.
  const hoisted = hoistable(index, firstHead, firstTail, new Set([L, ...tailOriginalInputs]), tensors);
  const headMade = index.writes([...firstHead, ...hoisted]);
  // Stryker disable next-line ConditionalExpression: L is in headMade and not constant, so `t === L` only names it
  const crossesAt = (t: string) => t === L || (headMade.has(t) && !index.isConstant(t));

  const tailNodes = index.closure(index.outputs, (t) => crossesAt(t) || inputs.has(t));
  const tailFree = index.freeReads(tailNodes);
  // Original outputs that are not computed after the cut pass straight through the tail.
  const tailMade = index.writes(tailNodes);
  // Stryker disable next-line ConditionalExpression: an output the tail makes is no head tensor, so adding it changes no crossing
  for (const o of index.outputs) if (!tailMade.has(o)) tailFree.add(o);

  // In graph order, so the head's outputs and the tail's inputs read like the model.
  const crossing = [...headMade].filter((t) => t !== L && tailFree.has(t) && crossesAt(t));
  const headOutputs = [L, ...crossing];
  const headNodes = index.closure(headOutputs, (t) => inputs.has(t));
  const headInputs = model.inputNames().filter((n) => index.freeReads(headNodes).has(n));

  const head = subModel(model, index, headNodes, headInputs, headOutputs, tensors, `head of ${model.source} at ${layer}`);
  const tailInputs: TailInput[] = [
    { name: L, role: 'layer' },
    ...crossing.map((name): TailInput => ({ name, role: 'crossing' })),
    ...tailOriginalInputs.map((name): TailInput => ({ name, role: 'input' })),
  ];
  const tail = subModel(
    model,
    index,
    tailNodes,
    tailInputs.map((t) => t.name),
    index.outputs,
    tensors,
    `tail of ${model.source} at ${layer}`,
  );
  return { layer: info, head, tail, headOutputs, headInputs, tailInputs };
}

/** The model from its inputs up to one tensor: a classifier up to `layer2`, a feature extractor. */
export async function truncate(model: OnnxModel, layer: string, opts: ProbeOptions = {}): Promise<OnnxModel> {
  const info = await resolveLayer(model, layer, opts);
  const { tensors } = await probe(model, opts);
  const index = new GraphIndex(model);
  const nodes = index.closure([info.name], (t) => index.inputs.has(t));
  const inputs = model.inputNames().filter((n) => index.freeReads(nodes).has(n));
  return subModel(model, index, nodes, inputs, [info.name], tensors, `${model.source} up to ${layer}`);
}

/**
 * What one tensor costs to hand from head to tail, in float32-sized elements per sample. The fixed part is the
 * per-tensor work of onnxruntime-node on both sides of the hand-over (a JavaScript tensor out of the head, an
 * onnxruntime value into the tail): about 6.5 µs per tensor, where each float handed over costs about 0.6 ns
 * (allocation, copy out), so one more tensor weighs as much as roughly ten thousand floats (`npm run
 * bench:handover` measures both). Tensors that are not float32 cost far more: a Cut carries float32 tensors only,
 * so an int64 shape stays on the side that reads it whenever a float tensor can cross instead.
 */
const PER_TENSOR = 8192;
const NOT_FLOAT = 1e6;

function crossingCost(info: TensorInfo | undefined): number {
  if (!info) return NOT_FLOAT;
  const perSample = info.dims.reduce<number>((n, d) => n * (typeof d === 'number' ? d : 1), 1);
  return PER_TENSOR + perSample * (info.type === 'float32' ? 1 : NOT_FLOAT);
}

/**
 * The tail nodes to run in the head instead: of the nodes that read neither the layer nor an input used after
 * the cut (`pinned`), the set whose move minimises the total crossing cost, found as a minimum cut. Vertices
 * are the movable nodes plus one per tensor that might cross; the head is the source, the rest of the tail the
 * sink. A tensor's producer → tensor edge carries its cost; tensor → reader and reader → producer edges are
 * infinite, so a tensor that any tail node reads is paid for once, and no node can go to the head without
 * the nodes it reads from.
 */
function hoistable(
  index: GraphIndex,
  headNodes: number[],
  tailNodes: number[],
  pinned: Set<string>,
  tensors: Map<string, TensorInfo>,
): number[] {
  // Stryker disable next-line ArrowFunction,ConditionalExpression,LogicalOperator,ArrayDeclaration: a constant node reads only constants; taken as movable it gets no edge (constants are no candidates) and changes no plan
  const isConstantNode = (i: number) => (index.nodes[i].output ?? []).every((o) => !o || index.isConstant(o));
  const inHead = new Set(headNodes);
  const inTail = new Set(tailNodes);
  const movable: number[] = [];
  const pinnedMade = new Set<string>(pinned);
  for (const i of tailNodes) {
    // Stryker disable next-line ConditionalExpression: as for isConstantNode above
    if (isConstantNode(i)) continue;
    if (nodeReads(index.nodes[i]).some((r) => pinnedMade.has(r))) {
      // Stryker disable next-line ConditionalExpression,ArrayDeclaration: '' (an omitted output) is never read (nodeReads drops it); decoded nodes always have an output list
      for (const o of index.nodes[i].output ?? []) if (o) pinnedMade.add(o);
    } else {
      movable.push(i);
    }
  }
  // Stryker disable next-line ConditionalExpression: a shortcut; without movable nodes the cut hoists nothing anyway
  if (movable.length === 0) return [];
  const SOURCE = 0;
  const SINK = 1;
  const vertexOf = new Map<number, number>(movable.map((n, k) => [n, k + 2]));
  const side = (node: number) => (inHead.has(node) ? SOURCE : (vertexOf.get(node) ?? SINK));
  const candidates: { tensor: string; producer: number }[] = [];
  for (const i of [...headNodes, ...movable]) {
    // Stryker disable next-line ArrayDeclaration: decoded nodes always have an output list
    for (const o of index.nodes[i].output ?? []) {
      // Constants are copied to the side that reads them, never handed over.
      if (!o || index.isConstant(o)) continue;
      // Stryker disable next-line ConditionalExpression: the one pinned tensor a node makes is L, whose tail readers are all pinned (the sink): its edge adds the same cost to every cut
      if (!pinned.has(o)) candidates.push({ tensor: o, producer: i });
    }
  }
  const net = new FlowNetwork(2 + movable.length + candidates.length);
  const outputs = new Set(index.outputs);
  candidates.forEach(({ tensor, producer }, k) => {
    const readers = (index.consumers.get(tensor) ?? []).filter((c) => inTail.has(c));
    // Stryker disable next-line ConditionalExpression: a shortcut; such a tensor's vertex has only its incoming cost edge and never lies on a path to the sink
    if (readers.length === 0 && !outputs.has(tensor)) return;
    const tv = 2 + movable.length + k;
    const pv = side(producer);
    net.addEdge(pv, tv, crossingCost(tensors.get(tensor)));
    for (const c of readers) {
      const cv = side(c);
      net.addEdge(tv, cv, Infinity);
      // Stryker disable next-line ConditionalExpression,LogicalOperator: an edge out of the sink or into the source never crosses a cut and carries no flow
      if (cv !== SINK && pv !== SOURCE) net.addEdge(cv, pv, Infinity);
    }
    if (outputs.has(tensor)) net.addEdge(tv, SINK, Infinity);
  });
  const { sinkSide } = net.minCut(SOURCE, SINK);
  return movable.filter((n) => !sinkSide.has(vertexOf.get(n) as number));
}

function subModel(
  model: OnnxModel,
  index: GraphIndex,
  nodeIdx: number[],
  inputs: string[],
  outputs: string[],
  tensors: Map<string, TensorInfo>,
  source: string,
): OnnxModel {
  const g = model.graph;
  const free = index.freeReads(nodeIdx);
  const describe = (name: string): onnx.IValueInfoProto => {
    const original = model.valueInfo(name);
    const probed = tensors.get(name);
    // Probed shapes are authoritative: exporters often leave intermediates untyped.
    if (probed) return makeValueInfo(name, probed.type, probed.dims);
    if (original) return original;
    // Stryker disable next-line ObjectLiteral: not reached: every input and output is probed (non-constant) or declared in the graph
    return onnx.ValueInfoProto.create({ name });
  };
  const inside = new Set<string>([...inputs, ...free, ...index.writes(nodeIdx)]);
  return withGraph(
    model,
    {
      name: g.name,
      docString: g.docString,
      node: nodeIdx.map((i) => index.nodes[i]),
      input: inputs.map(describe),
      output: outputs.map(describe),
      // Stryker disable next-line StringLiteral: `?? ''` is for a nameless entry, which no tensor reads
      initializer: (g.initializer ?? []).filter((t) => free.has(t.name ?? '')),
      // Stryker disable next-line StringLiteral: as above
      sparseInitializer: (g.sparseInitializer ?? []).filter((t) => free.has(t.values?.name ?? '')),
      valueInfo: (g.valueInfo ?? []).filter(
        // Stryker disable next-line StringLiteral: as above
        (v) => inside.has(v.name ?? '') && !inputs.includes(v.name ?? '') && !outputs.includes(v.name ?? ''),
      ),
    },
    source,
  );
}

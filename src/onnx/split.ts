/**
 * Cutting a model at a hidden layer (paper 000's Fig. 1: the generator G = tail ∘ head, with the activation
 * vectors living at the cut).
 *
 * head: the original inputs → the layer's activations, plus every other tensor that the rest of the graph still
 *       needs from before the cut (UNet skips, the mapping network's style vector w, …).
 * tail: the activations + those crossing tensors + any original input read after the cut (noise, style) → the
 *       original outputs.
 * Constant sub-graphs (initializers, Constant nodes and whatever is computed only from them) never cross: they
 * are copied into whichever side reads them.
 */
import { GraphIndex } from './graph';
import { LayerInfo, resolveLayer } from './layers';
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

  const headNodes = index.closure([L], (t) => index.inputs.has(t));
  const headMade = new Set<string>();
  for (const i of headNodes) for (const o of index.nodes[i].output ?? []) if (o) headMade.add(o);
  const crossesAt = (t: string) => t === L || (headMade.has(t) && !index.isConstant(t));

  const tailNodes = index.closure(index.outputs, (t) => crossesAt(t) || index.inputs.has(t));
  const tailFree = index.freeReads(tailNodes);
  // Original outputs that are not computed after the cut pass straight through the tail.
  for (const o of index.outputs) if (!tailNodes.some((i) => (index.nodes[i].output ?? []).includes(o))) tailFree.add(o);

  const crossing = [...headMade].filter((t) => t !== L && tailFree.has(t) && crossesAt(t));
  const tailOriginalInputs = model.inputNames().filter((n) => tailFree.has(n));
  const headOutputs = [L, ...crossing];
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
    return onnx.ValueInfoProto.create({ name });
  };
  const inside = new Set<string>([...inputs, ...free]);
  for (const i of nodeIdx) for (const o of index.nodes[i].output ?? []) inside.add(o);
  return withGraph(
    model,
    {
      name: g.name,
      docString: g.docString,
      node: nodeIdx.map((i) => index.nodes[i]),
      input: inputs.map(describe),
      output: outputs.map(describe),
      initializer: (g.initializer ?? []).filter((t) => free.has(t.name ?? '')),
      sparseInitializer: (g.sparseInitializer ?? []).filter((t) => free.has(t.values?.name ?? '')),
      valueInfo: (g.valueInfo ?? []).filter(
        (v) => inside.has(v.name ?? '') && !inputs.includes(v.name ?? '') && !outputs.includes(v.name ?? ''),
      ),
    },
    source,
  );
}

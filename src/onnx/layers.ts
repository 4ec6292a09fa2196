/**
 * The hidden layers of a model: every intermediate 4-D (N, C, H, W) tensor, in graph order, and the lookup of a
 * layer by tensor name or alias with errors that point at the right name.
 */
import { GanvasError, closestNames } from '../errors';
import { GraphIndex } from './graph';
import { OnnxModel } from './model';
import { ProbeOptions, TensorInfo, probe } from './probe';
import { Dim, formatDims } from './types';
import { ownValue } from '../validate';

export interface LayerInfo {
  /** The ONNX tensor name. */
  name: string;
  /** Manifest aliases that point at this tensor (e.g. "b16.conv1"). */
  aliases: string[];
  /** Shape with the batch axis symbolic, e.g. ["N", 64, 16, 16]. */
  dims: Dim[];
  channels: number;
  height: number;
  width: number;
  /** Name and op type of the node that produces it. */
  node: string;
  op: string;
  /** Position of the producing node in the graph (graph order). */
  index: number;
}

/** Every intermediate 4-D tensor, in graph order. Shapes come from a probe run through onnxruntime. */
export async function layers(model: OnnxModel, opts: ProbeOptions = {}): Promise<LayerInfo[]> {
  const { tensors } = await probe(model, opts);
  const index = new GraphIndex(model);
  const aliasesOf = new Map<string, string[]>();
  for (const [alias, tensor] of Object.entries(model.aliases)) {
    const list = aliasesOf.get(tensor);
    if (list) list.push(alias);
    else aliasesOf.set(tensor, [alias]);
  }
  const out: LayerInfo[] = [];
  index.nodes.forEach((node, i) => {
    // Stryker disable next-line ArrayDeclaration: decoded NodeProtos always carry an output list
    for (const name of node.output ?? []) {
      const info = tensors.get(name);
      if (!info || !is4d(info)) continue;
      // Stryker disable next-line StringLiteral: decoded NodeProtos always carry name and opType (protobufjs defaults them to '')
      out.push(layerInfo(info, aliasesOf.get(name) ?? [], node.name ?? '', node.opType ?? '', i));
    }
  });
  return out;
}

function is4d(info: TensorInfo): boolean {
  return info.dims.length === 4 && info.type === 'float32';
}

function layerInfo(info: TensorInfo, aliases: string[], node: string, op: string, index: number): LayerInfo {
  const [, c, h, w] = info.dims;
  return {
    name: info.name,
    aliases,
    dims: info.dims,
    channels: Number(c),
    height: Number(h),
    width: Number(w),
    node,
    op,
    index,
  };
}

/**
 * Finds a layer by alias or tensor name. A name that does not exist lists the closest ones; a tensor that is not
 * 4-D says its shape and names nearby 4-D layers; inputs and weights are refused with the reason.
 */
export async function resolveLayer(model: OnnxModel, layer: string, opts: ProbeOptions = {}): Promise<LayerInfo> {
  if (typeof layer !== 'string' || layer === '') {
    throw new GanvasError('NO_SUCH_LAYER', `a layer name must be a non-empty string, got ${JSON.stringify(layer)}`);
  }
  const all = await layers(model, opts);
  const tensorName = ownValue(model.aliases, layer) ?? layer;
  const found = all.find((l) => l.name === tensorName);
  if (found) return found;

  const index = new GraphIndex(model);
  // Only names that resolve are suggested: never the broken alias itself, nor another alias whose tensor is gone.
  const exists = new Set(all.map((l) => l.name));
  const candidates = [...Object.keys(model.aliases).filter((a) => exists.has(model.aliases[a])), ...all.map((l) => l.name)].filter((n) => n !== layer);
  const near = closestNames(layer, candidates, 6);
  const hint =
    `Layers that exist nearby: ${near.map((n) => `"${n}"`).join(', ')}. ` +
    `List them with gen.layers() for a Generator or fx.layers() for a FeatureExtractor (named layers first, with shapes).`;
  if (ownValue(model.aliases, layer) !== undefined && !index.producer.has(tensorName)) {
    throw new GanvasError(
      'NO_SUCH_LAYER',
      `alias "${layer}" of ${model.source} points at tensor "${tensorName}", which no node produces: the manifest is out of date. ${hint}`,
    );
  }
  if (index.inputs.has(tensorName)) {
    throw new GanvasError('NO_SUCH_LAYER', `"${layer}" is an input of ${model.source}, not a hidden layer. ${hint}`);
  }
  if (index.initializers.has(tensorName) || (index.producer.has(tensorName) && index.isConstant(tensorName))) {
    throw new GanvasError(
      'NO_SUCH_LAYER',
      `"${layer}" is a constant (weights) in ${model.source}, not activations. ${hint}`,
    );
  }
  if (index.producer.has(tensorName)) {
    const { tensors } = await probe(model, opts);
    const info = tensors.get(tensorName);
    // Stryker disable next-line ConditionalExpression,StringLiteral: the probe reports every tensor a node produces
    const shape = info ? `${info.type} ${formatDims(info.dims)}` : 'unknown shape';
    throw new GanvasError(
      'NOT_4D',
      `layer "${layer}" of ${model.source} has shape ${shape}, but ganvas needs a 4-D float tensor (N, C, H, W) ` +
        `whose pixels are activation vectors. ${hint}`,
    );
  }
  throw new GanvasError('NO_SUCH_LAYER', `${model.source} has no layer "${layer}". ${hint}`);
}

/**
 * Which generator layer to stitch into (paper 003 §4.2 and §4.4).
 *
 * The paper's rule: "the first convolution of a layer that is the same number of samplings away from the output as
 * the layer in ResNet50 is away from the input" (ResNet50 layer1, 56×56 of a 224 input: two down-samplings →
 * StyleGAN2 b128.conv0, two up-samplings from the 512 output). Computed from shapes: LayerX has
 * k = log2(input size / LayerX size) down-samplings, so LayerY is the first generator layer (in graph order) whose
 * size is output size / 2^k. The end-layer sweep (§4.4, Fig. 5, Table 4) moves d = −2…+2 up-sampling steps from
 * there: −1 is one step further from the output (half the size), +1 one step closer.
 *
 * Candidates are the generator's named layers (its manifest aliases) when it has any — the layers a person would
 * name, such as b16.conv0 — and otherwise every 4-D hidden tensor.
 */
import { GanvasError } from '../errors';
import { ModelBundle, imageOutput } from '../manifest';
import { LayerInfo, layers, resolveLayer } from '../onnx/layers';
import { probe } from '../onnx/probe';

export interface TargetLayer {
  /** The generator layer's name (its alias when it has one). */
  layer: string;
  info: LayerInfo;
  /** Samplings distance from the paper's rule: 0 = the rule's own choice; −1 one up-sampling further from the output. */
  distance: number;
  /** Down-samplings of LayerX from the classifier's input (log2 of the size ratio). */
  downsamplings: number;
  /** Up-samplings of the chosen layer from the generator's output. */
  upsamplings: number;
  /** A sentence saying why this layer. */
  explanation: string;
}

const log2 = (x: number) => Math.log(x) / Math.log(2);

async function candidates(generator: ModelBundle): Promise<LayerInfo[]> {
  const all = await layers(generator.model);
  const out = imageOutput(generator.manifest).name;
  const named = all.filter((l) => l.aliases.length > 0 && l.name !== out);
  return named.length > 0 ? named : all.filter((l) => l.name !== out);
}

async function outputSize(generator: ModelBundle): Promise<[number, number]> {
  const { tensors } = await probe(generator.model);
  const info = tensors.get(imageOutput(generator.manifest).name);
  if (!info || info.dims.length !== 4) throw new GanvasError('BAD_MANIFEST', `${generator.manifest.name}'s image output is not N×C×H×W`);
  return [Number(info.dims[2]), Number(info.dims[3])];
}

function nameOf(l: LayerInfo): string {
  return l.aliases[0] ?? l.name;
}

/**
 * The layers at each samplings distance that exists (in the paper's order −2…+2 by default): each entry is the
 * first layer at that size. The distance-0 entry is the paper's rule; when the generator has no layer of exactly
 * that size (a classifier layer coarser than the generator's first layer), the nearest size in log scale is used
 * (a tie goes to the size whose first layer comes earlier in the graph) and the explanation says so.
 */
export async function targetLayers(
  classifier: ModelBundle,
  layerX: string,
  generator: ModelBundle,
  distances: number[] = [-2, -1, 0, 1, 2],
): Promise<TargetLayer[]> {
  const x = await resolveLayer(classifier.model, layerX);
  const pre = classifier.manifest.preprocess;
  if (!pre) throw new GanvasError('BAD_MANIFEST', `${classifier.manifest.name} has no "preprocess" in its manifest (its input size is needed)`);
  const [inH] = pre.size;
  const [outH, outW] = await outputSize(generator);
  const k = log2(inH / x.height);
  const cands = await candidates(generator);
  // First layer (graph order) of each size.
  const bySize = new Map<number, LayerInfo>();
  // Stryker disable next-line MethodExpression,ArithmeticOperator: layers() already lists in graph order; the sort states the rule
  for (const l of [...cands].sort((a, b) => a.index - b.index)) if (!bySize.has(l.height)) bySize.set(l.height, l);
  const sizes = [...bySize.keys()];
  if (sizes.length === 0) throw new GanvasError('NO_SUCH_LAYER', `${generator.manifest.name} has no 4-D hidden layer to stitch into`);
  const want0 = outH / 2 ** k;
  const nearest = (size: number) => sizes.reduce((best, s) => (Math.abs(log2(s / size)) < Math.abs(log2(best / size)) ? s : best), sizes[0]);
  const base = bySize.has(want0) ? want0 : nearest(want0);
  const out: TargetLayer[] = [];
  for (const d of distances) {
    const size = base * 2 ** d;
    const l = bySize.get(size);
    if (!l) continue;
    const up = log2(outH / l.height);
    let why =
      `${nameOf(x)} of ${classifier.manifest.name} is ${x.height}×${x.width}, ${fmt(k)} down-sampling(s) from its ${inH}×${pre.size[1]} input; ` +
      `${nameOf(l)} is the first ${l.height}×${l.width} layer of ${generator.manifest.name}, ${fmt(up)} up-sampling(s) from its ${outH}×${outW} output`;
    if (d === 0 && base !== want0) {
      why += ` — the rule asks for a ${fmt(want0)}×${fmt(want0)} layer, which ${generator.manifest.name} does not have; ${l.height}×${l.width} is the nearest size`;
    } else if (d !== 0) {
      // Stryker disable next-line EqualityOperator: d is never 0 in this branch
      why += ` (samplings distance ${d > 0 ? '+' : ''}${d} from the paper's rule)`;
    }
    out.push({ layer: nameOf(l), info: l, distance: d, downsamplings: k, upsamplings: up, explanation: why });
  }
  return out;
}

/** The paper's rule: the generator layer as many up-samplings from the output as LayerX is down-samplings from the input. */
export async function targetLayer(classifier: ModelBundle, layerX: string, generator: ModelBundle): Promise<TargetLayer> {
  const [t] = await targetLayers(classifier, layerX, generator, [0]);
  return t;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/**
 * The stitched graphs of paper 003 (Fig. 1), each one ONNX graph run by one onnxruntime session:
 *
 * inverter (steps 1–3): image → classifier preprocessing → classifier up to LayerX → 1×1 conv → nearest resize to
 *   LayerY's size → generator tail from LayerY → reconstruction. The tail's other inputs (style, noise, skips) come
 *   from the generator head run on a seed: fed as inputs `g/<name>`, or — in the standalone export — computed by
 *   the head inside the same graph from the generator's own inputs (z, noise).
 * training (step 4 added): reconstruction → the classifier's preprocessing for generator images → classifier up to
 *   LayerX again; the loss is L1 between those activations and the original image's LayerX activations.
 *
 * Tensor names: the data image is `image`; the stitch's weight and bias are `s/weight`, `s/bias`; the original's
 * LayerX activations `c/<LayerX>`, the reconstruction's `d/<LayerX>`; the generator output `g/<output>`.
 */
import { GanvasError } from '../errors';
import type { Cut } from '../generator';
import { ModelBundle, imageOutput } from '../manifest';
import { ComposePiece, compose } from '../onnx/compose';
import { LayerInfo } from '../onnx/layers';
import { OnnxModel, defaultOpset } from '../onnx/model';
import { preprocessModel, stitchLayerModel } from '../onnx/pieces';
import { truncate } from '../onnx/split';

/** Shape and value range of the images a stitch inverts. */
export interface ImageSpec {
  channels: number;
  height: number;
  width: number;
  range: [number, number];
}

export interface StitchParts {
  classifier: ModelBundle;
  layerX: LayerInfo;
  generator: ModelBundle;
  cut: Cut;
  /** The classifier truncated at LayerX. */
  truncated: OnnxModel;
}

export const WEIGHT = 's/weight';
export const BIAS = 's/bias';
export const IMAGE = 'image';

export async function stitchParts(classifier: ModelBundle, layerX: LayerInfo, generator: ModelBundle, cut: Cut): Promise<StitchParts> {
  return { classifier, layerX, generator, cut, truncated: await truncate(classifier.model, layerX.name) };
}

function classifierInput(m: OnnxModel): string {
  const ins = m.inputNames();
  if (ins.length !== 1) {
    throw new GanvasError('UNSUPPORTED', `${m.source} has ${ins.length} inputs (${ins.join(', ')}); a classifier to stitch must have exactly one image input`);
  }
  return ins[0];
}

/** The generator's output image spec (channels, size, range). */
export function generatorImage(parts: StitchParts): ImageSpec {
  const out = imageOutput(parts.generator.manifest);
  const d = parts.cut.split.tail.valueInfo(out.name);
  const dims = d?.type?.tensorType?.shape?.dim?.map((x) => Number(x.dimValue ?? 0)) ?? [];
  const [c, h, w] = dims.slice(1);
  if (!(c > 0 && h > 0 && w > 0)) throw new GanvasError('BAD_MANIFEST', `${parts.generator.manifest.name}'s output "${out.name}" has no known N×C×H×W shape`);
  return { channels: c, height: h, width: w, range: out.range };
}

function pieces(parts: StitchParts, data: ImageSpec, withHead: boolean): ComposePiece[] {
  const pre = parts.classifier.manifest.preprocess;
  if (!pre) throw new GanvasError('BAD_MANIFEST', `${parts.classifier.manifest.name} has no "preprocess" in its manifest`);
  const layerY = parts.cut.split.layer;
  const X = parts.layerX;
  const opset = defaultOpset(parts.truncated);
  const tailConnect: Record<string, string> = { [layerY.name]: 's/y' };
  const list: ComposePiece[] = [];
  if (withHead) {
    list.push({ model: parts.cut.split.head, prefix: 'h/', shareInputs: true });
    for (const t of parts.cut.split.tailInputs) if (t.role === 'crossing') tailConnect[t.name] = `h/${t.name}`;
  }
  list.push(
    { model: preprocessModel(pre, data, opset), prefix: 'p/', shareInputs: true },
    { model: parts.truncated, prefix: 'c/', connect: { [classifierInput(parts.truncated)]: 'p/input' } },
    {
      model: stitchLayerModel(X.channels, layerY.channels, [X.height, X.width], [layerY.height, layerY.width], opset),
      prefix: 's/',
      connect: { x: `c/${X.name}` },
    },
    { model: parts.cut.split.tail, prefix: 'g/', connect: tailConnect, shareInputs: withHead },
  );
  return list;
}

/** Output name of the reconstruction in the stitched graphs. */
export function reconstructionName(parts: StitchParts): string {
  return `g/${imageOutput(parts.generator.manifest).name}`;
}

/** image (+ `g/<tail input>` feeds, + s/weight, s/bias) → reconstruction. */
export function inverterModel(parts: StitchParts, data: ImageSpec): OnnxModel {
  return compose(pieces(parts, data, false), {
    outputs: [reconstructionName(parts)],
    source: `stitched inverter ${parts.classifier.manifest.name}.${parts.layerX.aliases[0] ?? parts.layerX.name} → ${parts.generator.manifest.name}.${parts.cut.layerName}`,
  });
}

/** image (+ s/weight, s/bias) → `s/y`, the activations the stitch writes into LayerY. */
export function injectedModel(parts: StitchParts, data: ImageSpec): OnnxModel {
  // Stryker disable next-line MethodExpression: with the tail kept, compose prunes it anyway (only s/y is an output)
  const list = pieces(parts, data, false).slice(0, 3);
  return compose(list, { outputs: ['s/y'], source: `stitch ${parts.classifier.manifest.name} → LayerY activations` });
}

/**
 * The standalone inverter: image + the generator's own inputs (z, noise) → reconstruction, with the generator head
 * inside (s/weight and s/bias are still inputs; freeze them with inputsToInitializers).
 */
export function standaloneInverterModel(parts: StitchParts, data: ImageSpec): OnnxModel {
  return compose(pieces(parts, data, true), {
    outputs: [reconstructionName(parts)],
    source: `stitched inverter ${parts.classifier.manifest.name} → ${parts.generator.manifest.name}`,
  });
}

/** The training graph: the inverter followed by the classifier again; outputs `d/<LayerX>` (and `c/<LayerX>`). */
export function trainingModel(parts: StitchParts, data: ImageSpec): OnnxModel {
  const pre = parts.classifier.manifest.preprocess;
  if (!pre) throw new GanvasError('BAD_MANIFEST', `${parts.classifier.manifest.name} has no "preprocess" in its manifest`);
  const X = parts.layerX.name;
  const gen = generatorImage(parts);
  const list = pieces(parts, data, false);
  list.push(
    { model: preprocessModel(pre, gen, defaultOpset(parts.truncated)), prefix: 'q/', connect: { image: reconstructionName(parts) } },
    { model: parts.truncated, prefix: 'd/', connect: { [classifierInput(parts.truncated)]: 'q/input' } },
  );
  return compose(list, { outputs: [`d/${X}`, `c/${X}`], source: `stitch training graph ${parts.classifier.manifest.name}.${X} → ${parts.generator.manifest.name}.${parts.cut.layerName}` });
}

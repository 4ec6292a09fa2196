/**
 * A first manifest from an ONNX file: the inputs, outputs and their shapes are read from the graph; what the graph
 * cannot say (an image output's value range, a classifier's pixel range and normalization) comes from the options
 * or is filled with a stated guess that the user confirms. Validation stays in ./manifest (validateManifest and
 * openModel check the result, here as for any hand-written manifest).
 *
 *   const draft = await draftManifest('my/model.onnx', { kind: 'generator', range: [-1, 1] });
 *   draft.assumptions   // what to confirm
 *   await writeManifest('my/model.onnx', { kind: 'generator', range: [-1, 1] });   // my/ganvas.json
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, describeError } from './errors';
import { writeFileAtomic } from './io';
import { InputKind, Manifest, ManifestInput, ManifestOutput, Preprocess, Role, openModel, validateManifest } from './manifest';
import { layers } from './onnx/layers';
import { OnnxModel, loadModel } from './onnx/model';
import { probe } from './onnx/probe';
import { Dim, valueInfoType } from './onnx/types';

export interface DraftOptions {
  /** What the model is: a generator (latent → image) or a classifier / features model (image → …). */
  kind: Role;
  /** Manifest name (default: the model directory's name). */
  name?: string;
  /** Generators: the pixel value range of the image output (e.g. [-1, 1] for tanh). Guessed [-1, 1] if absent. */
  range?: [number, number];
  /** Generators: which output is the image (default: the first 4-D output). */
  imageOutput?: string;
  /** Classifiers: pixel range before normalization, and per-channel mean / std (none if absent). */
  preprocess?: Partial<Pick<Preprocess, 'range' | 'mean' | 'std'>>;
  /** Per input: its kind, when the name does not say (default: guessed from name and shape). */
  inputKinds?: Record<string, InputKind>;
  /** Layer aliases to record ({ alias: tensor name }); see `layers(model)` for the candidates. */
  layers?: Record<string, string>;
  description?: string;
}

export interface ManifestDraft {
  manifest: Manifest;
  /** Every guess the draft made, in words: confirm (or fix in the file) before trusting results. */
  assumptions: string[];
}

function shapeOf(model: OnnxModel, name: string, what: string): Dim[] {
  const { dims } = valueInfoType(model.valueInfo(name));
  if (!dims) throw new GanvasError('BAD_INPUT', `${what} "${name}" has no shape in the ONNX graph; re-export it with shapes (torch.onnx.export does by default)`);
  return dims.map((d, axis) => {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: valueInfoType gives only positive sizes as numbers (others as symbols)
    if (typeof d === 'number' && d > 0) return d;
    if (axis === 0) return 'N';
    throw new GanvasError(
      'BAD_INPUT',
      `${what} "${name}" has a dynamic axis ${axis} (${String(d)}): ganvas needs every axis but the batch fixed. ` +
        `Re-export with dynamic_axes only on axis 0, e.g. torch.onnx.export(..., dynamic_axes={"${name}": {0: "N"}}).`,
    );
  });
}

/**
 * The rank of an output. Outputs may keep symbolic axes (exporters often cannot infer an image's size through
 * resizes): ganvas reads their shape at run time, so only the rank matters; a graph without it is probed once.
 */
async function outputRank(model: OnnxModel, name: string): Promise<number> {
  const dims = valueInfoType(model.valueInfo(name)).dims;
  if (dims) return dims.length;
  const t = (await probe(model)).tensors.get(name);
  // Stryker disable next-line OptionalChaining,LogicalOperator: the probe reports every tensor a node produces, outputs included
  return t?.dims?.length ?? 0;
}

function guessKind(name: string, shape: Dim[], role: Role, index: number): InputKind {
  if (role !== 'generator') return shape.length === 4 ? 'image' : 'other';
  if (/noise/i.test(name)) return 'noise';
  if (/^(w|ws|style|styles)(_|$)/i.test(name)) return 'style';
  if (shape.length === 2) return index === 0 ? 'latent' : 'style';
  if (shape.length === 4 && shape[1] === 1) return 'noise';
  return 'other';
}

/** A manifest for the ONNX file at `onnxPath`, from its graph and `opts`, with the guesses listed. */
export async function draftManifest(onnxPath: string, opts: DraftOptions): Promise<ManifestDraft> {
  if (!['generator', 'classifier', 'features'].includes(opts.kind)) {
    throw new GanvasError('BAD_INPUT', `kind must be "generator", "classifier" or "features", got ${JSON.stringify(opts.kind)}`);
  }
  let model: OnnxModel;
  try {
    model = await loadModel(onnxPath);
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `cannot read ONNX model ${onnxPath}: ${describeError(e)}`, { cause: e });
  }
  const assumptions: string[] = [];
  const role = opts.kind;
  const inputs: ManifestInput[] = model.inputNames().map((name, i) => {
    const shape = shapeOf(model, name, 'input');
    const given = opts.inputKinds?.[name];
    const kind = given ?? guessKind(name, shape, role, i);
    if (!given) assumptions.push(`input "${name}" ${JSON.stringify(shape)}: kind "${kind}" guessed from its name and shape`);
    const input: ManifestInput = { name, kind, shape };
    if (kind === 'latent' || kind === 'noise') {
      input.distribution = 'normal';
      assumptions.push(`input "${name}": drawn from a standard normal distribution`);
    }
    return input;
  });
  const outputs: ManifestOutput[] = [];
  let preprocess: Preprocess | undefined;
  if (role === 'generator') {
    const names = model.outputNames();
    let image = opts.imageOutput;
    // Stryker disable next-line ConditionalExpression: the loop's own !image test keeps a given imageOutput
    if (!image) for (const n of names) if (!image && (await outputRank(model, n)) === 4) image = n;
    if (!image || !names.includes(image)) {
      throw new GanvasError('BAD_INPUT', `${onnxPath}: no 4-D image output among ${names.join(', ')}${opts.imageOutput ? ` (imageOutput "${opts.imageOutput}")` : ''}; a generator needs one`);
    }
    const range = opts.range ?? [-1, 1];
    if (!opts.range) assumptions.push(`output "${image}": pixel range [-1, 1] guessed (tanh); pass range, e.g. [0, 1] for a sigmoid output`);
    outputs.push({ name: image, kind: 'image', range });
  } else {
    const image = inputs.find((i) => i.kind === 'image');
    if (!image) throw new GanvasError('BAD_INPUT', `${onnxPath}: a ${role} needs a 4-D image input (N×C×H×W); inputs: ${inputs.map((i) => `${i.name} ${JSON.stringify(i.shape)}`).join(', ')}`);
    const [, c, h, w] = image.shape;
    // Stryker disable next-line ConditionalExpression: axes after the batch are numbers or absent (shapeOf), and a shape without c or h has no w either
    if (typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number') {
      throw new GanvasError('BAD_INPUT', `image input "${image.name}" must have fixed channels, height and width, got ${JSON.stringify(image.shape)}`);
    }
    const range = opts.preprocess?.range ?? [0, 1];
    if (!opts.preprocess?.range) assumptions.push(`preprocess.range [0, 1] guessed: the pixel range the model was trained on before normalization`);
    preprocess = { size: [h, w], channels: c, range };
    if (opts.preprocess?.mean) preprocess.mean = opts.preprocess.mean;
    if (opts.preprocess?.std) preprocess.std = opts.preprocess.std;
    if (!opts.preprocess?.mean || !opts.preprocess?.std) {
      assumptions.push('preprocess.mean / std not given: none applied; give the exact values the model was trained with (not rounded)');
    }
    for (const n of model.outputNames()) {
      outputs.push({ name: n, kind: role === 'classifier' && (await outputRank(model, n)) === 2 ? 'logits' : 'features' });
    }
  }
  const aliases = opts.layers ?? {};
  if (!opts.layers) {
    const spatial = (await layers(model)).filter((l) => l.height > 1 && l.width > 1).length;
    assumptions.push(`no layer aliases: name the layers to cut at in "layers" (${spatial} spatial tensors; list them with layers(model))`);
  }
  const name = opts.name ?? path.basename(path.dirname(path.resolve(onnxPath)));
  const json: Record<string, unknown> = {
    format: 'ganvas-manifest/1',
    name,
    role,
    description: opts.description ?? `Drafted by ganvas draftManifest from ${path.basename(onnxPath)}; confirm the assumptions.`,
    model: path.basename(onnxPath),
    inputs,
    outputs,
    ...(preprocess ? { preprocess } : {}),
    layers: aliases,
  };
  // The same checks as a hand-written manifest gets.
  const manifest = validateManifest(json, `draft manifest for ${onnxPath}`);
  return { manifest, assumptions };
}

/**
 * Drafts the manifest and writes it as ganvas.json next to the ONNX file (atomically), then opens it as any model
 * is opened, so a draft that does not fit the graph fails here. Refuses to replace an existing ganvas.json unless
 * `overwrite`.
 */
export async function writeManifest(onnxPath: string, opts: DraftOptions & { overwrite?: boolean }): Promise<ManifestDraft & { file: string }> {
  const draft = await draftManifest(onnxPath, opts);
  const file = path.join(path.dirname(path.resolve(onnxPath)), 'ganvas.json');
  const exists = await fs.stat(file).then(() => true, () => false);
  if (exists && !opts.overwrite) {
    throw new GanvasError('BAD_INPUT', `${file} exists; pass overwrite: true to replace it (or edit it by hand)`);
  }
  await writeFileAtomic(file, `${JSON.stringify(draft.manifest, null, 2)}\n`);
  await openModel(path.dirname(file));
  return { ...draft, file };
}

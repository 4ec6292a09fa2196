/**
 * Model manifests (`ganvas.json`, described in models/MANIFEST.md): how to feed a model, how to read its output
 * as an image, and which friendly layer names map to which tensors.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, closestNames, describeError } from './errors';
import { OnnxModel, loadModel } from './onnx/model';
import { Dim, formatDims, valueInfoType } from './onnx/types';
import { show } from './validate';

export type Role = 'generator' | 'classifier' | 'features';
export type InputKind = 'latent' | 'noise' | 'style' | 'image' | 'other';

export interface ManifestInput {
  name: string;
  kind: InputKind;
  shape: Dim[];
  distribution?: 'normal' | 'uniform' | 'zeros';
}

export interface ManifestOutput {
  name: string;
  kind: string;
  /** Pixel value range of an image output, e.g. [-1, 1]. */
  range?: [number, number];
  classes?: string[];
}

export interface Preprocess {
  size: [number, number];
  channels: number;
  range: [number, number];
  mean?: number[];
  std?: number[];
}

export interface Manifest {
  format: string;
  name: string;
  role: Role;
  description?: string;
  model: string;
  inputs: ManifestInput[];
  outputs: ManifestOutput[];
  preprocess?: Preprocess;
  layers: Record<string, string>;
  provenance?: Record<string, unknown>;
  quality?: Record<string, unknown>;
}

/** A model with its manifest: what every high-level ganvas function takes. */
export interface ModelBundle {
  manifest: Manifest;
  model: OnnxModel;
  /** Directory of the manifest. */
  dir: string;
}

const ROLES: Role[] = ['generator', 'classifier', 'features'];
type Distribution = NonNullable<ManifestInput['distribution']>;
const DISTRIBUTIONS: Distribution[] = ['normal', 'uniform', 'zeros'];
/** The largest fixed axis a manifest may give (1e12 or 3e8 took 24 s and 3 GB before failing). */
const MAX_DIM = 2 ** 20;
/** The most values one sample of one input may hold (64 Mi floats, 256 MiB). */
const MAX_SAMPLE_VALUES = 2 ** 26;

function isRange(r: unknown): r is [number, number] {
  return Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number' && Number.isFinite(x)) && r[0] < r[1];
}
const KINDS: InputKind[] = ['latent', 'noise', 'style', 'image', 'other'];

/** Checks a parsed manifest; every complaint names the field and what would be right. */
export function validateManifest(json: unknown, source: string): Manifest {
  const problems: string[] = [];
  const m = (json ?? {}) as Record<string, unknown>;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new GanvasError('BAD_MANIFEST', `${source} must hold a JSON object (see models/MANIFEST.md)`);
  }
  if (m.format !== 'ganvas-manifest/1') problems.push(`"format" must be "ganvas-manifest/1", got ${JSON.stringify(m.format)}`);
  if (typeof m.name !== 'string' || m.name === '') problems.push('"name" must be a non-empty string');
  if (!ROLES.includes(m.role as Role)) problems.push(`"role" must be one of ${ROLES.join(', ')}, got ${JSON.stringify(m.role)}`);
  if (typeof m.model !== 'string') problems.push('"model" must be the ONNX file name, e.g. "model.onnx"');
  if (!Array.isArray(m.inputs) || m.inputs.length === 0) problems.push('"inputs" must list the graph inputs');
  else
    m.inputs.forEach((inp: Record<string, unknown>, i: number) => {
      if (typeof inp?.name !== 'string') problems.push(`inputs[${i}].name must be a string`);
      if (!KINDS.includes(inp?.kind as InputKind)) problems.push(`inputs[${i}].kind must be one of ${KINDS.join(', ')}`);
      if (!Array.isArray(inp?.shape) || inp.shape.length === 0) problems.push(`inputs[${i}].shape must be a non-empty array such as ["N", 64]`);
      else {
        let per = 1;
        inp.shape.forEach((d: unknown, j: number) => {
          if (typeof d === 'string' && d !== '') return;
          if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > MAX_DIM) {
            problems.push(`inputs[${i}].shape[${j}] must be a positive integer up to ${MAX_DIM} or a symbolic name such as "N", got ${show(d)}`);
          } else if (j > 0) per *= d;
        });
        if (per > MAX_SAMPLE_VALUES) problems.push(`inputs[${i}].shape describes ${per} values per sample; ganvas feeds at most ${MAX_SAMPLE_VALUES}`);
      }
      if (inp?.distribution !== undefined && !DISTRIBUTIONS.includes(inp.distribution as Distribution)) {
        problems.push(`inputs[${i}].distribution must be one of ${DISTRIBUTIONS.map((d) => `"${d}"`).join(', ')}, got ${show(inp.distribution)}`);
      }
    });
  if (!Array.isArray(m.outputs) || m.outputs.length === 0) problems.push('"outputs" must list at least one output');
  else
    m.outputs.forEach((o: Record<string, unknown>, i: number) => {
      if (typeof o?.name !== 'string') problems.push(`outputs[${i}].name must be a string`);
      const r = o?.range;
      if (r !== undefined && !isRange(r)) problems.push(`outputs[${i}].range must be [low, high] with finite low < high (e.g. [-1, 1]), got ${show(r)}`);
    });
  if (m.role === 'generator' && Array.isArray(m.outputs) && !m.outputs.some((o: Record<string, unknown>) => Array.isArray(o?.range))) {
    problems.push('a generator needs an image output with a "range" (e.g. [-1, 1])');
  }
  // Stryker disable next-line ConditionalExpression: an undefined role is not in ROLES either
  if (m.role !== 'generator' && m.role !== undefined && ROLES.includes(m.role as Role)) {
    const p = m.preprocess as Record<string, unknown> | undefined;
    if (!p) problems.push(`a ${String(m.role)} needs "preprocess" ({size, channels, range, mean, std})`);
    else {
      if (typeof p !== 'object' || Array.isArray(p)) problems.push(`"preprocess" must be an object {size, channels, range, mean, std}, got ${show(p)}`);
      else {
        if (!Array.isArray(p.size) || p.size.length !== 2 || !p.size.every((d) => Number.isInteger(d) && d >= 1 && d <= 8192)) {
          problems.push(`preprocess.size must be [H, W], positive integers up to 8192, got ${show(p.size)}`);
        }
        if (p.channels !== 1 && p.channels !== 3) problems.push(`preprocess.channels must be 1 (grayscale) or 3 (RGB), got ${show(p.channels)}`);
        if (!isRange(p.range)) problems.push(`preprocess.range must be [low, high] with finite low < high (the pixel range before normalization, e.g. [0, 1]), got ${show(p.range)}`);
        for (const key of ['mean', 'std'] as const) {
          const v = p[key];
          if (v === undefined) continue;
          const n = typeof p.channels === 'number' ? p.channels : NaN;
          if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
            problems.push(`preprocess.${key} must list ${Number.isNaN(n) ? 'one finite number per channel' : `${n} finite number(s), one per channel`}, got ${show(v)}`);
          } else if (key === 'std' && !v.every((x) => x > 0)) {
            problems.push(`preprocess.std must be positive (inputs are divided by it), got ${show(v)}`);
          }
        }
      }
    }
  }
  if (m.layers !== undefined && (typeof m.layers !== 'object' || m.layers === null || Array.isArray(m.layers))) {
    problems.push('"layers" must map aliases to tensor names, e.g. {"b16.conv1": "/b16/conv1/Mul_output_0"}');
  } else if (m.layers !== undefined) {
    for (const [k, v] of Object.entries(m.layers as Record<string, unknown>)) {
      if (typeof v !== 'string' || v === '') problems.push(`layers["${k}"] must be a tensor name (a non-empty string), got ${show(v)}`);
    }
  }
  if (problems.length > 0) {
    throw new GanvasError('BAD_MANIFEST', `${source} is not a valid ganvas manifest:\n  - ${problems.join('\n  - ')}\nSee models/MANIFEST.md.`);
  }
  return { layers: {}, ...(m as object) } as Manifest;
}

/**
 * Opens a model directory (or a ganvas.json path): reads the manifest, loads the ONNX file, attaches the aliases,
 * and checks that the manifest's inputs and outputs are the model's.
 */
export async function openModel(location: string): Promise<ModelBundle> {
  if (typeof location !== 'string' || location === '') {
    throw new GanvasError('BAD_MANIFEST', `a model location must be a directory (with ganvas.json and model.onnx) or a ganvas.json path, got ${JSON.stringify(location)}`);
  }
  let manifestPath = location;
  try {
    if ((await fs.stat(location)).isDirectory()) manifestPath = path.join(location, 'ganvas.json');
  } catch (e) {
    // A misspelled demo model: name the shipped ones.
    const demoRoot = path.join(__dirname, '..', 'models');
    const hint =
      path.resolve(path.dirname(location)) === path.resolve(demoRoot)
        ? ` — no demo model "${path.basename(location)}"; shipped: ${(await demoModels()).join(', ')}`
        : '';
    throw new GanvasError('BAD_MANIFEST', `cannot open model ${location}: ${describeError(e)}${hint}`, { cause: e });
  }
  if (manifestPath.endsWith('.onnx')) {
    throw new GanvasError(
      'BAD_MANIFEST',
      `${location} is an ONNX file; ganvas opens a model directory holding model.onnx and its ganvas.json manifest ` +
        `(which says the model's role, inputs, image range and layer names — see models/MANIFEST.md and docs/own-models.md). ` +
        `Put the file in a directory with a ganvas.json and pass the directory.`,
    );
  }
  let text: string;
  try {
    text = await fs.readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new GanvasError(
      'BAD_MANIFEST',
      `cannot read ${manifestPath}: ${describeError(e)}. A model directory holds model.onnx and ganvas.json (see models/MANIFEST.md).`,
      { cause: e },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GanvasError('BAD_MANIFEST', `${manifestPath} is not valid JSON: ${describeError(e)}`, { cause: e });
  }
  const manifest = validateManifest(json, manifestPath);
  const dir = path.dirname(path.resolve(manifestPath));
  const model = (await loadModel(path.join(dir, manifest.model))).withAliases(manifest.layers);
  const actualIn = model.inputNames();
  const declared = manifest.inputs.map((i) => i.name);
  const missing = actualIn.filter((n) => !declared.includes(n));
  const unknown = declared.filter((n) => !actualIn.includes(n));
  if (missing.length || unknown.length) {
    throw new GanvasError(
      'BAD_MANIFEST',
      `${manifestPath} does not match ${manifest.model}: ` +
        (unknown.length ? `the model has no input ${unknown.map((n) => `"${n}" (did you mean "${closestNames(n, actualIn, 1)[0]}"?)`).join(', ')}; ` : '') +
        (missing.length ? `the manifest does not describe input ${missing.map((n) => `"${n}"`).join(', ')}; ` : '') +
        `the model's inputs are ${actualIn.join(', ')}`,
    );
  }
  const outs = model.outputNames();
  for (const o of manifest.outputs) {
    if (!outs.includes(o.name)) {
      throw new GanvasError(
        'BAD_MANIFEST',
        `${manifestPath} names output "${o.name}", but ${manifest.model} has outputs ${outs.join(', ')}`,
      );
    }
  }
  checkAgainstGraph(manifest, model, manifestPath);
  return { manifest, model, dir };
}

/**
 * The manifest's input shapes and preprocess against the graph's own input shapes, so that a mismatch is reported
 * at open with the field at fault, instead of as an onnxruntime error at the first run. Symbolic axes on either
 * side match anything; a fixed axis the graph leaves symbolic is taken from the manifest.
 */
function checkAgainstGraph(m: Manifest, model: OnnxModel, source: string): void {
  const problems: string[] = [];
  m.inputs.forEach((inp, i) => {
    const dims = valueInfoType(model.valueInfo(inp.name)).dims;
    if (!dims) return;
    if (dims.length !== inp.shape.length) {
      problems.push(`inputs[${i}].shape ${formatDims(inp.shape)} has ${inp.shape.length} axes; the graph's input "${inp.name}" has ${dims.length}: ${formatDims(dims)}`);
      return;
    }
    dims.forEach((d, j) => {
      const mine = inp.shape[j];
      if (typeof d === 'number' && typeof mine === 'number' && d !== mine) {
        problems.push(`inputs[${i}].shape[${j}] is ${mine}, but the graph's input "${inp.name}" has ${d} there (${formatDims(dims)})`);
      } else if (j > 0 && typeof d === 'number' && typeof mine === 'string' && m.role === 'generator') {
        problems.push(`inputs[${i}].shape[${j}] is "${mine}", but the graph's input "${inp.name}" has the fixed size ${d} there; write ${d}`);
      }
    });
  });
  const p = m.preprocess;
  if (p && m.role !== 'generator') {
    const image = m.inputs.find((x) => x.kind === 'image') ?? m.inputs[0];
    const dims = valueInfoType(model.valueInfo(image.name)).dims;
    if (dims && dims.length === 4) {
      if (typeof dims[1] === 'number' && dims[1] !== p.channels) {
        problems.push(`preprocess.channels is ${p.channels}, but the graph's input "${image.name}" has ${dims[1]} channels (${formatDims(dims)})`);
      }
      (['H', 'W'] as const).forEach((axis, k) => {
        const d = dims[2 + k];
        if (typeof d === 'number' && d !== p.size[k]) {
          problems.push(`preprocess.size[${k}] (${axis}) is ${p.size[k]}, but the graph's input "${image.name}" is ${d} there (${formatDims(dims)})`);
        }
      });
      // Stryker disable next-line ConditionalExpression: with dims given, the branch above took the 4-D case
    } else if (dims && dims.length !== 4) {
      problems.push(`"preprocess" describes images, but the graph's input "${image.name}" has shape ${formatDims(dims)}, not [N, C, H, W]`);
    }
  }
  if (problems.length > 0) {
    throw new GanvasError('BAD_MANIFEST', `${source} does not match ${m.model}:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The image output of a generator (the first output with a value range). */
export function imageOutput(m: Manifest): ManifestOutput & { range: [number, number] } {
  const o = m.outputs.find((x) => Array.isArray(x.range));
  // Stryker disable next-line ConditionalExpression: the output was found by its range being an array
  if (!o || !o.range) throw new GanvasError('BAD_MANIFEST', `${m.name} has no image output with a "range"`);
  return o as ManifestOutput & { range: [number, number] };
}

/** Directory of a model shipped with ganvas (fmnist-stylegan, ihc-gan, fmnist-resnet, fmnist-testnet, ihc-features). */
export function demoModelDir(name: string): string {
  return path.join(__dirname, '..', 'models', name);
}

export async function demoModels(): Promise<string[]> {
  const root = path.join(__dirname, '..', 'models');
  // Stryker disable next-line ArrowFunction,ArrayDeclaration: the models directory ships with the package
  const names = await fs.readdir(root).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names) {
    if (await fs.stat(path.join(root, n, 'ganvas.json')).then(() => true, () => false)) out.push(n);
  }
  return out.sort();
}

/** Opens a shipped demo model by name; an unknown name lists the shipped ones. */
export async function openDemoModel(name: string): Promise<ModelBundle> {
  const names = await demoModels();
  if (!names.includes(name)) {
    throw new GanvasError(
      'BAD_MANIFEST',
      `no demo model "${name}"; shipped: ${names.join(', ') || '(none found under ' + path.join(__dirname, '..', 'models') + ')'}`,
    );
  }
  return openModel(demoModelDir(name));
}

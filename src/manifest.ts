/**
 * Model manifests (`ganvas.json`, described in models/MANIFEST.md): how to feed a model, how to read its output
 * as an image, and which friendly layer names map to which tensors.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, closestNames, describeError } from './errors';
import { OnnxModel, loadModel } from './onnx/model';
import { Dim } from './onnx/types';

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
      if (!Array.isArray(inp?.shape)) problems.push(`inputs[${i}].shape must be an array such as ["N", 64]`);
    });
  if (!Array.isArray(m.outputs) || m.outputs.length === 0) problems.push('"outputs" must list at least one output');
  else
    m.outputs.forEach((o: Record<string, unknown>, i: number) => {
      if (typeof o?.name !== 'string') problems.push(`outputs[${i}].name must be a string`);
      const r = o?.range;
      if (r !== undefined && !(Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number') && r[0] < r[1])) {
        problems.push(`outputs[${i}].range must be [low, high] with low < high`);
      }
    });
  if (m.role === 'generator' && Array.isArray(m.outputs) && !m.outputs.some((o: Record<string, unknown>) => Array.isArray(o?.range))) {
    problems.push('a generator needs an image output with a "range" (e.g. [-1, 1])');
  }
  if (m.role !== 'generator' && m.role !== undefined && ROLES.includes(m.role as Role)) {
    const p = m.preprocess as Record<string, unknown> | undefined;
    if (!p) problems.push(`a ${String(m.role)} needs "preprocess" ({size, channels, range, mean, std})`);
    else {
      if (!Array.isArray(p.size) || p.size.length !== 2) problems.push('preprocess.size must be [H, W]');
      if (typeof p.channels !== 'number') problems.push('preprocess.channels must be a number');
      if (!Array.isArray(p.range) || p.range.length !== 2) problems.push('preprocess.range must be [low, high]');
    }
  }
  if (m.layers !== undefined && (typeof m.layers !== 'object' || m.layers === null || Array.isArray(m.layers))) {
    problems.push('"layers" must map aliases to tensor names, e.g. {"b16.conv1": "/b16/conv1/Mul_output_0"}');
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
  return { manifest, model, dir };
}

/** The image output of a generator (the first output with a value range). */
export function imageOutput(m: Manifest): ManifestOutput & { range: [number, number] } {
  const o = m.outputs.find((x) => Array.isArray(x.range));
  if (!o || !o.range) throw new GanvasError('BAD_MANIFEST', `${m.name} has no image output with a "range"`);
  return o as ManifestOutput & { range: [number, number] };
}

/** Directory of a model shipped with ganvas (fmnist-stylegan, ihc-gan, fmnist-resnet, fmnist-testnet, ihc-features). */
export function demoModelDir(name: string): string {
  return path.join(__dirname, '..', 'models', name);
}

export async function demoModels(): Promise<string[]> {
  const root = path.join(__dirname, '..', 'models');
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

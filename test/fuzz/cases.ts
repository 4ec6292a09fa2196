/**
 * Our own bad-input suite: generated, seeded cases across ONNX files, manifests, layer names, vectors, masks, .npy
 * files, libraries, counts, paths and widget messages. Each case is a function run in a fuzz child (pool.ts); it
 * either throws (classified by the worker: GanvasError or not) or returns. A return is "silent garbage" unless the
 * case has a `legit` check: then the success is documented as legitimate (e.g. a flipped byte inside a weight makes
 * a different but valid model) and the check verifies the output (a decodable PNG, a finite vector, a shape that
 * matches the data).
 *
 * Case ids are "<group>/<name>"; the list is built the same way in every process, so an id names one case.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import WebSocket from 'ws';
import {
  Cut,
  FeatureExtractor,
  GanvasError,
  Generator,
  Painter,
  Runtime,
  VectorLibrary,
  WidgetServer,
  generateDataset,
  onnx,
  openModel,
  randomLabels,
  readNpy,
  sampleVectors,
  saveScan,
  toPng,
  visualize,
  writeFileAtomic,
  writeNpy,
  Scan,
} from 'ganvas';
import { tinyClassifier, tinyGenerator } from '../models';
import { pngClaiming } from './png';

export interface FuzzCase {
  id: string;
  group: string;
  run: () => Promise<unknown>;
  /** Present when a success is legitimate: checks the output, throwing a plain Error if it is garbage. */
  legit?: (result: unknown) => void;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// ---------------------------------------------------------------------------------------------------------------
// Fixtures, made once per child process.

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      v = make();
      done = true;
    }
    return v as T;
  };
}

/** Root of every file a fuzz child writes (removed by the runner before and after). */
export const FUZZ_ROOT = path.join(os.tmpdir(), 'ganvas-fuzz');
let tmpCount = 0;
async function tmpDir(): Promise<string> {
  const d = path.join(FUZZ_ROOT, `${process.pid}-${tmpCount++}`);
  await fs.mkdir(d, { recursive: true });
  return d;
}

const rt = lazy(() => new Runtime({ threads: 1 }));
const genDir = lazy(() => tinyGenerator());
const clsDir = lazy(() => tinyClassifier());
const gen = lazy(async () => Generator.open(await genDir(), rt()));
const cut = lazy(async (): Promise<Cut> => (await gen()).cut('b8.conv1'));
const modelBytes = lazy(async () => fs.readFile(path.join(await genDir(), 'model.onnx')));
const goodManifest = lazy(async (): Promise<Record<string, Json>> => JSON.parse(await fs.readFile(path.join(await genDir(), 'ganvas.json'), 'utf8')));
const clsManifest = lazy(async (): Promise<Record<string, Json>> => JSON.parse(await fs.readFile(path.join(await clsDir(), 'ganvas.json'), 'utf8')));
const RED = '#ff0000';
const vec4 = (x = 1) => new Float32Array(4).fill(x);

/** A solid-colour PNG mask. */
function solidPng(w: number, h: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
}
const maskPng = lazy(() => solidPng(8, 8, [255, 0, 0]));

// ---------------------------------------------------------------------------------------------------------------
// Checks for legitimate successes.

function isPng(r: unknown): void {
  if (!(r instanceof Uint8Array) || r.length < 8 || r[0] !== 0x89 || r[1] !== 0x50) throw new Error('the result is not a PNG');
}

function finiteTensor(r: unknown): void {
  const t = r as { data?: Float32Array; dims?: number[] };
  if (!(t?.data instanceof Float32Array) || !Array.isArray(t.dims)) throw new Error('not a tensor');
  if (t.dims.some((d) => !Number.isInteger(d) || d < 0) || t.dims.reduce((a, b) => a * b, 1) !== t.data.length) throw new Error(`dims [${t.dims}] do not match ${t.data.length} values`);
}

// ---------------------------------------------------------------------------------------------------------------
// Pipelines the cases feed.

/** Everything a user does first with a generator directory: open, cut, sample, render, write a PNG. */
async function generatorPipeline(dir: string, layer = 'b8.conv1'): Promise<Buffer> {
  const g = await Generator.open(dir, rt());
  const c = await g.cut(layer);
  const h = await c.sample([0, 1]);
  const img = await c.render(h.activations, h.carry);
  return toPng(img, 1, { range: g.range });
}

async function modelDir(bytes: Uint8Array, manifest: Json): Promise<string> {
  const d = await tmpDir();
  await fs.writeFile(path.join(d, 'model.onnx'), bytes);
  await fs.writeFile(path.join(d, 'ganvas.json'), JSON.stringify(manifest));
  return d;
}

function setPath(obj: Json, keys: (string | number)[], value: Json | undefined): void {
  let o = obj as Record<string | number, Json>;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string | number, Json>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete o[last];
  else o[last] = value;
}

// ---------------------------------------------------------------------------------------------------------------
// The cases.

function build(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const add = (group: string, name: string, run: () => Promise<unknown>, legit?: (r: unknown) => void) =>
    cases.push({ id: `${group}/${name}`, group, run, legit });
  const rng = seedrandom.alea('ganvas-fuzz-1');
  const int = (n: number) => Math.floor(rng() * n);

  // --- ONNX files --------------------------------------------------------------------------------------------
  for (let k = 0; k < 40; k++) {
    const flips = Array.from({ length: 1 + int(8) }, () => [rng(), 1 + int(255)] as [number, number]);
    add('onnx', `flip-${k}`, async () => {
      const b = Buffer.from(await modelBytes());
      for (const [at, x] of flips) b[Math.floor(at * b.length)] ^= x;
      return generatorPipeline(await modelDir(b, await goodManifest()));
    }, isPng); // a flipped byte inside a weight is a different, valid model
  }
  for (let k = 0; k < 20; k++) {
    const at = rng();
    add('onnx', `truncate-${k}`, async () => {
      const b = await modelBytes();
      return generatorPipeline(await modelDir(b.subarray(0, Math.floor(at * b.length)), await goodManifest()));
    }, isPng);
  }
  for (let k = 0; k < 10; k++) {
    const len = int(5000);
    const seed = `garbage-${k}`;
    add('onnx', `garbage-${k}`, async () => {
      const r = seedrandom.alea(seed);
      return generatorPipeline(await modelDir(Uint8Array.from({ length: len }, () => Math.floor(r() * 256)), await goodManifest()));
    }, isPng);
  }
  const fixedBodies: [string, () => Promise<Uint8Array>][] = [
    ['empty', async () => new Uint8Array(0)],
    ['text', async () => Buffer.from('this is not a model\n')],
    ['json', async () => Buffer.from(JSON.stringify(await goodManifest()))],
    ['png', () => maskPng()],
    ['zeros-1mb', async () => new Uint8Array(1 << 20)],
  ];
  for (const [name, body] of fixedBodies) add('onnx', name, async () => generatorPipeline(await modelDir(await body(), await goodManifest())));
  add('onnx', 'model-is-a-directory', async () => {
    const d = await modelDir(await modelBytes(), { ...(await goodManifest()), model: '.' });
    return generatorPipeline(d);
  });

  /** The tiny generator's proto, edited. */
  const edited = (name: string, edit: (m: onnx.ModelProto) => void, manifestEdit?: (m: Record<string, Json>) => void, legit?: (r: unknown) => void) =>
    add('onnx', name, async () => {
      const m = onnx.ModelProto.decode(await modelBytes());
      edit(m);
      const man = JSON.parse(JSON.stringify(await goodManifest())) as Record<string, Json>;
      manifestEdit?.(man);
      return generatorPipeline(await modelDir(onnx.ModelProto.encode(m).finish(), man));
    }, legit);
  // Cycles: node i reads the output of node j ≥ i (j = i: a self-loop), and longer hand-made loops.
  for (let k = 0; k < 20; k++) {
    const a = rng();
    const b = rng();
    const slot = rng();
    edited(`rewire-${k}`, (m) => {
      const nodes = m.graph?.node ?? [];
      const i = Math.floor(a * nodes.length);
      const j = i + Math.floor(b * (nodes.length - i));
      const inputs = nodes[i].input ?? [];
      inputs[Math.floor(slot * inputs.length)] = nodes[j].output?.[0] ?? '';
    }, undefined, isPng); // j may not depend on i: then the rewired graph is acyclic, and may even run
  }
  edited('cycle-self', (m) => {
    const n = (m.graph?.node ?? []).find((x) => x.opType === 'LeakyRelu') as onnx.INodeProto;
    n.input = [n.output?.[0] ?? ''];
  });
  edited('cycle-whole-chain', (m) => {
    const nodes = m.graph?.node ?? [];
    const gemm = nodes.find((x) => x.opType === 'Gemm') as onnx.INodeProto;
    (gemm.input as string[])[0] = 'img';
  });
  for (let k = 0; k < 6; k++) {
    edited(`missing-input-${k}`, (m) => {
      const nodes = m.graph?.node ?? [];
      const n = nodes[k % nodes.length];
      (n.input as string[])[0] = `nobody_makes_${k}`;
    });
  }
  edited('graph-input-removed', (m) => {
    (m.graph as onnx.IGraphProto).input = (m.graph?.input ?? []).filter((v) => v.name !== 'z');
  });
  edited('graph-output-removed', (m) => {
    (m.graph as onnx.IGraphProto).output = [];
  });
  for (const big of [1e9, 2 ** 31, 2 ** 40, 1e15]) {
    edited(`huge-input-dim-${big}`, (m) => {
      const z = (m.graph?.input ?? []).find((v) => v.name === 'z') as onnx.IValueInfoProto;
      (z.type?.tensorType?.shape?.dim ?? [])[1] = { dimValue: big };
    });
    edited(`huge-input-dim-both-${big}`, (m) => {
      const z = (m.graph?.input ?? []).find((v) => v.name === 'z') as onnx.IValueInfoProto;
      (z.type?.tensorType?.shape?.dim ?? [])[1] = { dimValue: big };
    }, (man) => setPath(man, ['inputs', 0, 'shape', 1], big));
    edited(`huge-reshape-${big}`, (m) => {
      const shape = (m.graph?.initializer ?? []).find((t) => t.name === 'shape4') as onnx.ITensorProto;
      shape.int64Data = [-1, big, 4, 4];
    });
    edited(`huge-initializer-dims-${big}`, (m) => {
      const w = (m.graph?.initializer ?? []).find((t) => t.name === 'fc_w') as onnx.ITensorProto;
      w.dims = [big, 8];
    });
  }
  edited('two-producers', (m) => {
    const nodes = m.graph?.node ?? [];
    nodes[1].output = [...(nodes[0].output ?? [])];
  });
  edited('no-opset', (m) => (m.opsetImport = []));
  edited('ir-version-999', (m) => (m.irVersion = 999));
  edited('opset-1', (m) => (m.opsetImport = [{ domain: '', version: 1 }]));
  edited('unknown-op', (m) => ((m.graph?.node ?? [])[2].opType = 'NoSuchOp'));
  edited('unknown-domain', (m) => ((m.graph?.node ?? [])[2].domain = 'com.example.evil'));
  edited('no-nodes', (m) => ((m.graph as onnx.IGraphProto).node = []));
  edited('external-data', (m) => {
    const w = (m.graph?.initializer ?? [])[0];
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [{ key: 'location', value: '/etc/passwd' }];
  });
  edited('int-input-type', (m) => {
    const z = (m.graph?.input ?? []).find((v) => v.name === 'z') as onnx.IValueInfoProto;
    (z.type?.tensorType as onnx.TypeProto.ITensor).elemType = onnx.TensorProto.DataType.INT64;
  });
  edited('string-input-type', (m) => {
    const z = (m.graph?.input ?? []).find((v) => v.name === 'z') as onnx.IValueInfoProto;
    (z.type?.tensorType as onnx.TypeProto.ITensor).elemType = onnx.TensorProto.DataType.STRING;
  });

  // --- Manifests ---------------------------------------------------------------------------------------------
  const badValues: [string, Json | undefined][] = [
    ['deleted', undefined], ['null', null], ['1.5', 1.5], ['-64', -64], ['1e12', 1e12], ['3e8', 3e8], ['x', 'x'], ['empty', ''],
    ['array', []], ['object', {}], ['true', true], ['range11', [1, 1]], ['constructor', 'constructor'],
  ];
  const manifestPaths: (string | number)[][] = [
    ['format'], ['name'], ['role'], ['model'], ['inputs'], ['inputs', 0], ['inputs', 0, 'name'], ['inputs', 0, 'kind'], ['inputs', 0, 'shape'],
    ['inputs', 0, 'shape', 1], ['inputs', 0, 'shape', 0], ['inputs', 0, 'distribution'], ['inputs', 1, 'shape', 2], ['outputs'], ['outputs', 0],
    ['outputs', 0, 'name'], ['outputs', 0, 'range'], ['outputs', 0, 'range', 1], ['layers'], ['layers', 'b8.conv1'],
  ];
  for (const p of manifestPaths) {
    for (const [vn, v] of badValues) {
      // Names are free text: any non-empty string is a valid name. "N"-like strings are valid symbolic axes.
      const key = p.join('.');
      const fine =
        (key === 'name' && typeof v === 'string' && v !== '') ||
        (key === 'inputs.0.shape.0' && typeof v === 'string' && v !== '') ||
        key === 'inputs.0.distribution' && v === undefined || // the default, "normal"
        (key === 'outputs.0.range.1' && typeof v === 'number' && v > -1); // any finite high > low is a valid range
      add('manifest', `${p.join('.')}=${vn}`, async () => {
        const man = JSON.parse(JSON.stringify(await goodManifest())) as Json;
        setPath(man, p, v);
        return generatorPipeline(await modelDir(await modelBytes(), man));
      }, fine ? isPng : undefined);
    }
  }
  const clsPaths: (string | number)[][] = [['preprocess'], ['preprocess', 'size'], ['preprocess', 'size', 0], ['preprocess', 'channels'], ['preprocess', 'range'], ['preprocess', 'mean'], ['preprocess', 'std'], ['preprocess', 'std', 0]];
  const clsValues: [string, Json | undefined][] = [['deleted', undefined], ['null', null], ['0', 0], ['-1', -1], ['1.5', 1.5], ['1e12', 1e12], ['x', 'x'], ['range11', [1, 1]], ['three', [1, 1, 1]]];
  for (const p of clsPaths) {
    for (const [vn, v] of clsValues) {
      if (p.join('.') === 'preprocess.mean' && vn === 'deleted') continue; // mean is optional: a legitimate manifest
      if (p.join('.') === 'preprocess.std' && vn === 'deleted') continue;
      const fine = p.join('.') === 'preprocess.std.0' && typeof v === 'number' && v > 0; // any positive std is valid
      add('manifest', `classifier.${p.join('.')}=${vn}`, async () => {
        const man = JSON.parse(JSON.stringify(await clsManifest())) as Json;
        setPath(man, p, v);
        const d = await tmpDir();
        await fs.copyFile(path.join(await clsDir(), 'model.onnx'), path.join(d, 'model.onnx'));
        await fs.writeFile(path.join(d, 'ganvas.json'), JSON.stringify(man));
        const fx = await FeatureExtractor.open(d, 'layer2', rt());
        return fx.name;
      }, fine ? (r) => { if (r !== 'tiny-cls') throw new Error('wrong model'); } : undefined);
    }
  }
  for (const [name, text] of [['not-json', '{"format": '], ['array', '[]'], ['null', 'null'], ['number', '42'], ['empty', ''], ['bom', '\ufeff{}']] as const) {
    add('manifest', `file-${name}`, async () => {
      const d = await tmpDir();
      await fs.writeFile(path.join(d, 'model.onnx'), await modelBytes());
      await fs.writeFile(path.join(d, 'ganvas.json'), text);
      return generatorPipeline(d);
    });
  }
  add('manifest', 'open-onnx-file', async () => Generator.open(path.join(await genDir(), 'model.onnx')));
  add('manifest', 'open-missing-dir', async () => Generator.open(path.join(FUZZ_ROOT, 'no-such-model')));
  add('manifest', 'open-null', async () => Generator.open(null as unknown as string));
  add('manifest', 'open-classifier-as-generator', async () => Generator.open(await clsDir(), rt()));

  // --- Layer names -------------------------------------------------------------------------------------------
  const okLayers = ['b8.conv1', 'h', 'x4', 'up'];
  const maybeLayers = ['noise_scaled', 'y', 'img'];
  const badLayers: unknown[] = [
    'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', 'z', 'noise', 'fc_w', 'fc', 'shape4', 'scales',
    'B8.CONV1', 'b8.conv', 'b8.conv1 ', 'x'.repeat(10000), '\0', '../../etc/passwd', '🙂', null, undefined, 123, {}, [], NaN, true,
  ];
  for (const l of okLayers) add('layer', `ok-${l}`, async () => generatorPipeline(await genDir(), l), isPng);
  for (const l of maybeLayers) add('layer', `either-${l}`, async () => generatorPipeline(await genDir(), l), isPng);
  badLayers.forEach((l, i) => add('layer', `bad-${i}-${String(l).slice(0, 20)}`, async () => (await gen()).cut(l as string).then((c) => c.sample([0]))));

  // --- Vectors -----------------------------------------------------------------------------------------------
  const nanAt = (i: number, x: number) => {
    const v = vec4(0.5);
    v[i] = x;
    return v;
  };
  const vectorValues: [string, () => unknown, boolean][] = [
    ['nan-0', () => nanAt(0, NaN), false], ['nan-3', () => nanAt(3, NaN), false], ['inf', () => nanAt(1, Infinity), false], ['-inf', () => nanAt(2, -Infinity), false],
    ['len-0', () => new Float32Array(0), false], ['len-3', () => new Float32Array(3), false], ['len-5', () => new Float32Array(5), false],
    ['len-1e6', () => new Float32Array(1e6), false], ['string', () => 'abcd', false], ['length-obj', () => ({ length: 4 }), false], ['null', () => null, false],
    ['undefined', () => undefined, false], ['number', () => 42, false], ['nested', () => [[1], [2], [3], [4]], false], ['strings', () => ['1', '2', '3', '4'], false],
    ['int8', () => new Int8Array(4), false], ['array', () => [1, 2, 3, 4], true], ['float64', () => new Float64Array(4).fill(0.25), true],
    ['big', () => vec4(3.4e38), true], ['neg-zero', () => vec4(-0), true],
  ];
  for (const [vn, v, ok] of vectorValues) {
    add('vector', `visualize-${vn}`, async () => {
      const c = await cut();
      const img = await visualize(c, [{ vector: v() as Float32Array }], { backgroundSeed: 0 });
      return toPng(img, 0, { range: c.generator.range });
    }, ok ? isPng : undefined);
    add('vector', `library-${vn}`, async () => {
      const lib = VectorLibrary.for(await cut());
      const e = lib.add('v', RED, v() as Float32Array);
      return Array.from(e.vector);
    }, ok ? (r) => { if (!(r as number[]).every(Number.isFinite)) throw new Error('non-finite vector stored'); } : undefined);
    add('vector', `paint-${vn}`, async () => {
      const c = await cut();
      const p = await new Painter(c, { [RED]: v() as Float32Array }).paint(await maskPng());
      return toPng(p.image, 0, { range: c.generator.range });
    }, ok ? isPng : undefined);
  }

  // --- Masks -------------------------------------------------------------------------------------------------
  const paintMask = async (mask: unknown) => {
    const c = await cut();
    const p = await new Painter(c, { [RED]: vec4() }).paint(mask as Buffer);
    return toPng(p.image, 0, { range: c.generator.range });
  };
  const svgs: [string, string][] = [
    ['plain', '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#ff0000"/></svg>'],
    ['blur-8000', '<svg xmlns="http://www.w3.org/2000/svg" width="8000" height="8000"><filter id="b"><feGaussianBlur stdDeviation="200"/></filter><rect width="8000" height="8000" fill="red" filter="url(#b)"/></svg>'],
    ['href', '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="8" height="8"><image xlink:href="secret.png" width="8" height="8"/></svg>'],
    ['xml-decl', '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'],
    ['entity', '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><text>&x;</text></svg>'],
    ['leading-space', '   <svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'],
  ];
  for (const [n, svg] of svgs) {
    add('mask', `svg-bytes-${n}`, async () => paintMask(Buffer.from(svg)));
    add('mask', `svg-file-${n}`, async () => {
      const d = await tmpDir();
      await fs.writeFile(path.join(d, 'secret.png'), await maskPng());
      await fs.writeFile(path.join(d, 'mask.png'), svg); // a misleading extension changes nothing
      return paintMask(path.join(d, 'mask.png'));
    });
  }
  for (const [w, h] of [[20000, 20000], [100000, 1], [9000, 9000], [2 ** 31 - 1, 2 ** 31 - 1]]) add('mask', `png-claims-${w}x${h}`, async () => paintMask(pngClaiming(w, h)));
  for (let k = 0; k < 15; k++) {
    const flips = Array.from({ length: 1 + int(4) }, () => [rng(), 1 + int(255)] as [number, number]);
    add('mask', `png-flip-${k}`, async () => {
      const b = Buffer.from(await maskPng());
      for (const [at, x] of flips) b[Math.floor(at * b.length)] ^= x;
      return paintMask(b);
    }, isPng); // a flip in a pixel may leave a valid red mask
  }
  for (let k = 0; k < 5; k++) {
    const at = rng();
    add('mask', `png-truncate-${k}`, async () => {
      const b = await maskPng();
      return paintMask(b.subarray(0, Math.floor(at * b.length)));
    }, isPng);
  }
  const otherFormats: [string, () => Promise<Buffer>][] = [
    ['gif', () => sharp({ create: { width: 8, height: 8, channels: 3, background: RED } }).gif().toBuffer()],
    ['webp', () => sharp({ create: { width: 8, height: 8, channels: 3, background: RED } }).webp({ lossless: true }).toBuffer()],
    ['tiff', () => sharp({ create: { width: 8, height: 8, channels: 3, background: RED } }).tiff().toBuffer()],
    ['empty', async () => Buffer.alloc(0)],
    ['random', async () => Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) & 255))],
    ['pdf', async () => Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n')],
  ];
  for (const [n, make] of otherFormats) add('mask', `format-${n}`, async () => paintMask(await make()));
  const maskInputs: [string, () => Promise<unknown>, boolean][] = [
    ['missing-path', async () => path.join(FUZZ_ROOT, 'none.png'), false], ['dir-path', async () => FUZZ_ROOT, false], ['dev-zero', async () => '/dev/zero', false],
    ['proc-mem', async () => '/proc/self/mem', false], ['null', async () => null, false], ['undefined', async () => undefined, false], ['number', async () => 7, false],
    ['object', async () => ({}), false], ['rgb-width-0', async () => ({ data: new Uint8Array(0), width: 0, height: 0 }), false],
    ['rgb-nan', async () => ({ data: new Uint8Array(3), width: NaN, height: 1 }), false], ['rgb-short', async () => ({ data: new Uint8Array(5), width: 2, height: 1 }), false],
    ['rgb-not-bytes', async () => ({ data: [255, 0, 0], width: 1, height: 1 }), false], ['rgb-huge', async () => ({ data: new Uint8Array(3), width: 1e9, height: 1e9 }), false],
    ['empty-string', async () => '', false], ['small-1x1', async () => solidPng(1, 1, [255, 0, 0]), true], ['odd-3x5', async () => solidPng(3, 5, [255, 0, 0]), true],
    ['large-100', async () => solidPng(100, 100, [255, 0, 0]), true], ['stray-colour', async () => solidPng(8, 8, [1, 2, 3]), false],
    ['jpeg-red', async () => sharp({ create: { width: 8, height: 8, channels: 3, background: RED } }).jpeg().toBuffer(), true],
  ];
  for (const [n, make, ok] of maskInputs) add('mask', `input-${n}`, async () => paintMask(await make()), ok ? isPng : undefined);

  // --- .npy files --------------------------------------------------------------------------------------------
  const goodNpy = () => writeNpy({ data: Float32Array.from({ length: 6 }, (_, i) => i), dims: [2, 3] });
  const withHeader = (from: string, to: string) => () => Buffer.from(goodNpy().toString('latin1').replace(from, to), 'latin1');
  const npyChecked = (r: unknown) => finiteTensor(r);
  for (let k = 0; k < 20; k++) {
    const flips = Array.from({ length: 1 + int(3) }, () => [int(80), 1 + int(255)] as [number, number]);
    add('npy', `header-flip-${k}`, async () => {
      const b = goodNpy();
      for (const [at, x] of flips) b[Math.min(at, b.length - 1)] ^= x;
      return readNpy(b);
    }, npyChecked); // a flip in the padding is harmless
  }
  for (let k = 0; k < 10; k++) {
    const at = rng();
    add('npy', `truncate-${k}`, async () => {
      const b = goodNpy();
      return readNpy(b.subarray(0, Math.floor(at * b.length)));
    });
  }
  const shapes = ['(-2, -3)', '(1.5,)', '(1e9,)', '(99999999999,)', '(0x10,)', "('a',)", '(2, 3, 4, 5, 6, 7, 8, 9)', '(2,-3)', '(  )', '(6,)'];
  shapes.forEach((sh, i) =>
    add('npy', `shape-${i}`, async () => readNpy(withHeader("'shape': (2, 3)", `'shape': ${sh}`)()), sh === '(6,)' || sh === '(  )' ? npyChecked : undefined),
  );
  for (const d of ['>f4', '|S4', '<c8', 'O', '<f16', '<M8']) add('npy', `dtype-${d}`, async () => readNpy(withHeader("'<f4'", `'${d}'`)()));
  add('npy', 'fortran', async () => readNpy(withHeader("'fortran_order': False", "'fortran_order': True")()));
  for (const v of [0, 2, 9, 255]) add('npy', `version-${v}`, async () => {
    const b = goodNpy();
    b[6] = v;
    return readNpy(b);
  });
  add('npy', 'header-len-huge', async () => {
    const b = goodNpy();
    b.writeUInt16LE(0xffff, 8);
    return readNpy(b);
  });
  for (const [n, v] of [['text', Buffer.from('hello')], ['empty', Buffer.alloc(0)], ['string-arg', 'x.npy'], ['null-arg', null], ['magic-only', Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])]] as const) {
    add('npy', `input-${n}`, async () => readNpy(v as Uint8Array));
  }
  add('npy', 'nan-data', async () => readNpy(writeNpy({ data: new Float32Array([NaN, 1]), dims: [2] })), npyChecked); // numpy arrays may hold NaN

  // --- Libraries ---------------------------------------------------------------------------------------------
  const libCase = (name: string, edit: (json: Record<string, Json>, dir: string) => Promise<void> | void, legit?: (r: unknown) => void) =>
    add('library', name, async () => {
      const c = await cut();
      const lib = VectorLibrary.for(c);
      lib.add('a', RED, vec4(1));
      lib.add('b', '#0000ff', vec4(-1));
      const d = await tmpDir();
      const file = path.join(d, 'lib.json');
      await lib.save(file);
      const json = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, Json>;
      await edit(json, d);
      await fs.writeFile(file, JSON.stringify(json));
      const back = await VectorLibrary.load(file, c);
      return back.entries.map((e) => Array.from(e.vector));
    }, legit);
  for (const field of ['format', 'model', 'layer', 'channels', 'entries', 'vectors']) {
    for (const [vn, v] of [['deleted', undefined], ['null', null], ['number', 3.5], ['string', 'x'], ['object', {}]] as const) {
      if (field === 'model' && vn === 'string') continue; // another model name: refused by checkFits below anyway
      libCase(`${field}=${vn}`, (j) => setPath(j, [field], v as Json | undefined), field === 'vectors' && vn === 'deleted' ? undefined : undefined);
    }
  }
  libCase('entry-null', (j) => setPath(j, ['entries', 0], null));
  libCase('entry-no-color', (j) => setPath(j, ['entries', 0, 'color'], undefined));
  libCase('entry-bad-color', (j) => setPath(j, ['entries', 0, 'color'], 'red'));
  libCase('entry-keep-color', (j) => setPath(j, ['entries', 0, 'color'], '#00ff00'));
  libCase('entry-dup-name', (j) => setPath(j, ['entries', 1, 'name'], 'a'));
  libCase('entry-dup-color', (j) => setPath(j, ['entries', 1, 'color'], RED));
  libCase('entry-provenance-string', (j) => setPath(j, ['entries', 0, 'provenance'], 'x'));
  libCase('vectors-traversal', (j) => setPath(j, ['vectors'], '../../etc/passwd.npy'));
  libCase('vectors-absolute', (j) => setPath(j, ['vectors'], '/etc/passwd'));
  libCase('vectors-missing', (j) => setPath(j, ['vectors'], 'nothing.npy'));
  libCase('vectors-is-json', (j) => setPath(j, ['vectors'], 'lib.json'));
  const npyEdit = (name: string, t: { data: Float32Array; dims: number[] } | Buffer, legit?: (r: unknown) => void) =>
    libCase(`npy-${name}`, async (j, d) => {
      await fs.writeFile(path.join(d, j.vectors as string), t instanceof Buffer ? t : writeNpy(t));
    }, legit);
  npyEdit('shape-3x4', { data: new Float32Array(12), dims: [3, 4] });
  npyEdit('shape-2x5', { data: new Float32Array(10), dims: [2, 5] });
  npyEdit('rank-1', { data: new Float32Array(8), dims: [8] });
  npyEdit('nan', { data: new Float32Array([1, NaN, 1, 1, 1, 1, 1, 1]), dims: [2, 4] });
  npyEdit('inf', { data: new Float32Array([1, 1, 1, 1, 1, 1, 1, -Infinity]), dims: [2, 4] });
  npyEdit('text', Buffer.from('not npy'));
  npyEdit('ok-other-values', { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), dims: [2, 4] }, (r) => {
    if (!(r as number[][]).flat().every(Number.isFinite)) throw new Error('non-finite vectors loaded');
  });
  libCase('channels-mismatch', (j) => setPath(j, ['channels'], 5));
  libCase('other-layer', (j) => setPath(j, ['layer'], 'x4'));
  for (const [n, text] of [['invalid-json', '{'], ['array', '[]'], ['null', 'null'], ['empty', '']] as const) {
    add('library', `file-${n}`, async () => {
      const d = await tmpDir();
      await fs.writeFile(path.join(d, 'lib.json'), text);
      return VectorLibrary.load(path.join(d, 'lib.json'));
    });
  }
  add('library', 'load-missing', async () => VectorLibrary.load(path.join(FUZZ_ROOT, 'none.json')));
  add('library', 'load-null', async () => VectorLibrary.load(null as unknown as string));
  add('library', 'save-not-json', async () => new VectorLibrary('m', 'l', 2).save(path.join(await tmpDir(), 'lib.txt')));
  for (const [n, args] of [['channels-0', ['m', 'l', 0]], ['channels-nan', ['m', 'l', NaN]], ['channels-str', ['m', 'l', '4']], ['model-null', [null, 'l', 4]], ['channels-1e9', ['m', 'l', 1e9]]] as const) {
    add('library', `new-${n}`, async () => new VectorLibrary(...(args as unknown as [string, string, number])).entries.length);
  }

  // --- Counts and sizes --------------------------------------------------------------------------------------
  const datasetWith = (name: string, opts: Record<string, unknown>) =>
    add('count', `dataset-${name}`, async () => {
      const c = await cut();
      const lib = VectorLibrary.for(c);
      lib.add('a', RED, vec4(1));
      return generateDataset(c, lib, { dir: path.join(await tmpDir(), 'ds'), count: 2, ...opts } as never);
    });
  const counts: unknown[] = [Infinity, -1, 0, NaN, 1.5, '2', 1e9, null, [], {}, 2 ** 53, -Infinity, true];
  counts.forEach((v, i) => datasetWith(`count-${i}-${String(v)}`, { count: v }));
  datasetWith('count-undefined', { count: undefined });
  for (const v of [0, -1, NaN, 1.5, '2']) datasetWith(`flushEvery-${String(v)}`, { flushEvery: v });
  for (const v of [NaN, 1.5, 'x', Infinity, 1e20]) datasetWith(`seed-${String(v)}`, { seed: v });
  for (const v of [-0.1, 2, NaN, '0.5']) datasetWith(`keepShare-${String(v)}`, { keepShare: v });
  for (const v of ['stars', null, 3]) datasetWith(`kind-${String(v)}`, { kind: v });
  for (const v of [[], ['zz'], ['a', 'a'], 'a', [1]]) datasetWith(`classes-${JSON.stringify(v)}`, { classes: v });
  for (const v of ['', null, 42]) datasetWith(`dir-${JSON.stringify(v)}`, { dir: v });
  const svCounts: unknown[] = [1e9, Infinity, -1, 0, NaN, 1.5, '2', 2 ** 31, null];
  svCounts.forEach((v, i) => add('count', `sampleVectors-count-${i}-${String(v)}`, async () => sampleVectors(await cut(), { count: v as number })));
  for (const v of [0, -1, NaN, 1.5, '2', Infinity]) add('count', `sampleVectors-batchSize-${String(v)}`, async () => sampleVectors(await cut(), { count: 3, batchSize: v as number }));
  for (const v of [NaN, 1.5, 'x', 1e20]) add('count', `sampleVectors-seed-${String(v)}`, async () => sampleVectors(await cut(), { count: 2, seed: v as number }));
  add('count', 'sampleVectors-no-options', async () => sampleVectors(await cut(), undefined as never));
  for (const [n, args] of [['size-1e5', [1e5, 1e5, 2]], ['size-0', [0, 5, 2]], ['size-1.5', [1.5, 2, 2]], ['size-nan', [NaN, 4, 2]], ['classes-0', [4, 4, 0]], ['classes-1e9', [4, 4, 1e9]], ['classes-1.5', [4, 4, 1.5]]] as const) {
    add('count', `randomLabels-${n}`, async () => randomLabels('s', ...(args as unknown as [number, number, number])).data.length);
  }
  for (const v of [0, NaN, -1, 1.5, 1e6, '2']) add('count', `toPng-scale-${String(v)}`, async () => toPng({ data: new Float32Array(16), dims: [1, 1, 4, 4] }, 0, { scale: v as number }));
  for (const v of [[1, 1], [NaN, 1], [1, 0], 'x']) add('count', `toPng-range-${JSON.stringify(v)}`, async () => toPng({ data: new Float32Array(16), dims: [1, 1, 4, 4] }, 0, { range: v as [number, number] }));
  // null, like undefined, means "the default range [-1, 1]": a documented success.
  add('count', 'toPng-range-null', async () => toPng({ data: new Float32Array(16), dims: [1, 1, 4, 4] }, 0, { range: null as never }), isPng);
  add('count', 'toPng-nan-pixels', async () => toPng({ data: new Float32Array(16).fill(NaN), dims: [1, 1, 4, 4] }));

  // --- Paths -------------------------------------------------------------------------------------------------
  const badPaths: [string, () => Promise<string>][] = [
    ['proc', async () => '/proc/ganvas-fuzz/x/out.json'],
    ['proc-self', async () => '/proc/self/ganvas/out.json'],
    ['sys', async () => '/sys/ganvas-fuzz/out.json'],
    ['dev-null-dir', async () => '/dev/null/out.json'],
    ['file-as-dir', async () => {
      const d = await tmpDir();
      await fs.writeFile(path.join(d, 'f'), 'x');
      return path.join(d, 'f', 'sub', 'out.json');
    }],
    ['dir-as-file', async () => {
      const d = await tmpDir();
      await fs.mkdir(path.join(d, 'out.json'));
      return path.join(d, 'out.json');
    }],
    ['empty', async () => ''],
    ['nul', async () => path.join(FUZZ_ROOT, 'a\0b.json')],
    ['too-long', async () => path.join(FUZZ_ROOT, `${'a'.repeat(300)}.json`)],
  ];
  for (const [n, p] of badPaths) {
    add('path', `library-save-${n}`, async () => new VectorLibrary('m', 'l', 2).save(await p()));
    add('path', `saveScan-${n}`, async () => saveScan(await p(), { format: 'ganvas-scan/1', entries: [] } as unknown as Scan));
    add('path', `writeFileAtomic-${n}`, async () => writeFileAtomic(await p(), 'x'));
    if (n === 'dir-as-file') continue; // a dataset directory that is a directory: fine
    add('path', `dataset-${n}`, async () => {
      const c = await cut();
      const lib = VectorLibrary.for(c);
      lib.add('a', RED, vec4(1));
      return generateDataset(c, lib, { dir: await p(), count: 1 });
    });
  }
  add('path', 'dataset-dir-is-a-file', async () => {
    const c = await cut();
    const lib = VectorLibrary.for(c);
    lib.add('a', RED, vec4(1));
    const d = await tmpDir();
    await fs.writeFile(path.join(d, 'ds'), 'x');
    return generateDataset(c, lib, { dir: path.join(d, 'ds'), count: 1 });
  });

  // --- Widget server -----------------------------------------------------------------------------------------
  for (const [n, o] of [['port-abc', { port: 'abc' }], ['port-neg', { port: -1 }], ['port-70000', { port: 70000 }], ['port-1.5', { port: 1.5 }], ['port-nan', { port: NaN }], ['token-empty', { token: '' }], ['token-short', { token: 'abc' }], ['token-number', { token: 123 }]] as const) {
    add('widget', `start-${n}`, async () => {
      const s = await WidgetServer.start(o as never);
      await s.close();
      return s.port;
    });
  }
  const messages: [string, () => string | Buffer, boolean][] = [
    ['null', () => 'null', false], ['number', () => '1', false], ['string', () => '"x"', false], ['array', () => '[]', false], ['empty-object', () => '{}', false],
    ['widget-only', () => '{"widget":"w1"}', false], ['payload-null', () => '{"widget":"w1","type":"ping","payload":null}', false],
    ['payload-array', () => '{"widget":"w1","type":"ping","payload":[]}', false], ['payload-number', () => '{"widget":"w1","type":"ping","payload":1}', false],
    ['widget-proto', () => '{"widget":"__proto__","type":"ping"}', false], ['widget-constructor', () => '{"widget":"constructor","type":"ping"}', false],
    ['widget-number', () => '{"widget":1,"type":"ping"}', false], ['type-boom', () => '{"widget":"w1","type":"boom","payload":{}}', false],
    ['type-missing', () => '{"widget":"w1","payload":{}}', false], ['not-json', () => 'abc', false], ['empty', () => '', false], ['brace', () => '{', false],
    ['deep', () => '['.repeat(100000), false], ['huge', () => JSON.stringify({ widget: 'w1', type: 'ping', payload: { s: 'x'.repeat(10 * 2 ** 20) } }), false],
    ['binary', () => Buffer.from([0, 255, 1, 254, 0x93]), false], ['utf8-broken', () => Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), false],
    ['id-object', () => '{"id":{"a":1},"widget":"w1","type":"ping","payload":{"n":1}}', true], ['ok', () => '{"id":5,"widget":"w1","type":"ping","payload":{"n":2}}', true],
    ['payload-proto', () => '{"widget":"w1","type":"ping","payload":{"__proto__":{"n":1}}}', false],
  ];
  for (const [n, msg, ok] of messages) {
    add('widget', `message-${n}`, async () => {
      const s = await WidgetServer.start();
      try {
        s.register(async (type, payload) => {
          if (type !== 'ping') throw new GanvasError('BAD_INPUT', `unknown request "${type}"`);
          if (typeof payload.n !== 'number') throw new GanvasError('BAD_INPUT', 'ping needs a number n');
          return { n: payload.n + 1 };
        });
        const ws = new WebSocket(`${s.wsUrl}?token=${s.token}`, { headers: { Origin: 'http://localhost:8888' } });
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        const ask = (m: string | Buffer) =>
          new Promise<Record<string, unknown>>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('the server did not answer within 5 s')), 5000);
            ws.once('message', (d) => {
              clearTimeout(t);
              resolve(JSON.parse(d.toString()));
            });
            ws.send(m);
          });
        const reply = await ask(msg());
        // The server must still serve a good request after any message.
        const after = await ask('{"id":99,"widget":"w1","type":"ping","payload":{"n":1}}');
        ws.close();
        if (after.n !== 2) throw new Error(`the server stopped answering correctly: ${JSON.stringify(after)}`);
        // An error reply is the server's clear refusal (the GanvasError of the wire).
        if (typeof reply.error === 'string') throw new GanvasError('BAD_INPUT', `server replied: ${reply.error}`);
        return reply;
      } finally {
        await s.close();
      }
    }, ok ? (r) => { if ((r as { ok?: boolean }).ok !== true) throw new Error('no ok reply'); } : undefined);
  }
  return cases;
}

export const allCases = lazy(build);

export function caseById(id: string): FuzzCase | undefined {
  return allCases().find((c) => c.id === id);
}

/** The fast subset run by `npm test`: every k-th case of each group, about `target` in all. */
export function fastSubset(target = 50): FuzzCase[] {
  const all = allCases();
  const step = Math.max(1, Math.floor(all.length / target));
  return all.filter((_, i) => i % step === 0);
}

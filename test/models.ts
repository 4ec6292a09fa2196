/**
 * Tiny generator and classifier model directories (model.onnx + ganvas.json) for tests of the high-level API.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Manifest } from 'ganvas';
import { GraphBuilder } from './builder';

async function writeModel(name: string, g: GraphBuilder, manifest: Omit<Manifest, 'format' | 'name' | 'model'>): Promise<string> {
  const full: Manifest = { format: 'ganvas-manifest/1', name, model: 'model.onnx', ...manifest };
  return modelFolder(g, JSON.stringify(full, null, 2), `ganvas-${name}-`);
}

/**
 * A fresh temporary model folder: `model.onnx` (a built graph or raw bytes) and `ganvas.json` (a manifest object, or
 * text written as given — for malformed manifests).
 */
export async function modelFolder(g: GraphBuilder | Uint8Array, manifest: unknown, prefix = 'ganvas-model-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.writeFile(path.join(dir, 'model.onnx'), g instanceof GraphBuilder ? g.bytes() : g);
  await fs.writeFile(path.join(dir, 'ganvas.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return dir;
}

/** A valid generator manifest for test/graphs.ts's styled() (z [N,8], noise [N,1,4,4] → img [N,1,4,4]), no layers. */
export function styledManifest(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'ganvas-manifest/1',
    name: 'styled',
    role: 'generator',
    model: 'model.onnx',
    inputs: [
      { name: 'z', kind: 'latent', shape: ['N', 8], distribution: 'normal' },
      { name: 'noise', kind: 'noise', shape: ['N', 1, 4, 4], distribution: 'normal' },
    ],
    outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
    ...over,
  };
}

/**
 * z[N,8] → Gemm → [N,4,4,4] → Resize×2 → conv → LeakyRelu = `h` [N,4,8,8] → conv (+ noise after the cut) →
 * Tanh → img [N,1,8,8].
 */
export function tinyGenerator(): Promise<string> {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 8]);
  const noise = g.input('noise', ['N', 1, 8, 8]);
  const fc = g.node('Gemm', [z, g.init('fc_w', [64, 8]), g.init('fc_b', [64])], 'fc', { transB: 1 });
  const x4 = g.node('Reshape', [fc, g.initInt64('shape4', [-1, 4, 4, 4])], 'x4');
  const up = g.node('Resize', [x4, '', g.init('scales', [4], [1, 1, 2, 2])], 'up', { mode: 'nearest' });
  const h = g.node('LeakyRelu', [g.conv(up, 4, 4)], 'h', { alpha: 0.2 });
  const n = g.node('Mul', [noise, g.init('noise_gain', [1], [0.1])], 'noise_scaled');
  const y = g.node('Add', [g.conv(h, 4, 1), n], 'y');
  g.node('Tanh', [y], 'img');
  g.output('img', ['N', 1, 8, 8]);
  return writeModel('tiny-gen', g, {
    role: 'generator',
    inputs: [
      { name: 'z', kind: 'latent', shape: ['N', 8], distribution: 'normal' },
      { name: 'noise', kind: 'noise', shape: ['N', 1, 8, 8], distribution: 'normal' },
    ],
    outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
    layers: { 'b8.conv1': 'h' },
  });
}

/**
 * StyleGAN-like in miniature: z → w[N,4] → a per-layer style [N,4,1,1] (Gemm + Reshape, read before and after the
 * cut); `pre` [N,4,8,8] → `h` (the layer); an RGB skip made from `pre` (1×1 conv to one channel) is added to the
 * output, as StyleGAN's toRGB chain is. After the cut: style modulation, noise, output conv.
 */
export function styledGenerator(): Promise<string> {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 8]);
  const noise = g.input('noise', ['N', 1, 8, 8]);
  const w = g.node('Gemm', [z, g.init('map_w', [4, 8]), g.init('map_b', [4])], 'w', { transB: 1 });
  const style = g.node('Reshape', [w, g.initInt64('style_shape', [-1, 4, 1, 1])], 'style');
  const fc = g.node('Gemm', [z, g.init('fc_w', [256, 8]), g.init('fc_b', [256])], 'fc', { transB: 1 });
  const pre = g.node('Mul', [g.node('Reshape', [fc, g.initInt64('shape8', [-1, 4, 8, 8])], 'x8'), style], 'pre');
  const h = g.node('LeakyRelu', [g.conv(pre, 4, 4)], 'h', { alpha: 0.2 });
  const rgbSkip = g.conv(pre, 4, 1, 'rgb_skip', 1);
  const modulated = g.node('Mul', [h, style], 'mod');
  const y = g.node('Add', [g.node('Add', [g.conv(modulated, 4, 1), rgbSkip], 'sum'), g.node('Mul', [noise, g.init('noise_gain', [1], [0.1])], 'noise_scaled')], 'y');
  g.node('Tanh', [y], 'img');
  g.output('img', ['N', 1, 8, 8]);
  return writeModel('styled-gen', g, {
    role: 'generator',
    inputs: [
      { name: 'z', kind: 'latent', shape: ['N', 8], distribution: 'normal' },
      { name: 'noise', kind: 'noise', shape: ['N', 1, 8, 8], distribution: 'normal' },
    ],
    outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
    layers: { 'b8.conv1': 'h' },
  });
}

/** A generator whose tail is the identity: img = h, so writing v everywhere gives a constant image v. */
export function identityGenerator(): Promise<string> {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 48]);
  const x = g.node('Reshape', [z, g.initInt64('shape', [-1, 3, 4, 4])], 'x');
  g.node('Tanh', [x], 'h');
  g.node('Identity', ['h'], 'img');
  g.output('img', ['N', 3, 4, 4]);
  return writeModel('identity-gen', g, {
    role: 'generator',
    inputs: [{ name: 'z', kind: 'latent', shape: ['N', 48], distribution: 'normal' }],
    outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
    layers: { h: 'h' },
  });
}

/** A generator whose output ignores the layer's values (img = 0·h + 0.5): every render is the same image. */
export function constantGenerator(): Promise<string> {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 64]);
  const h = g.node('Tanh', [g.node('Reshape', [z, g.initInt64('shape', [-1, 1, 8, 8])], 'x')], 'h');
  g.node('Add', [g.node('Mul', [h, g.init('zero', [1], [0])], 'zeroed'), g.init('half', [1], [0.5])], 'img');
  g.output('img', ['N', 1, 8, 8]);
  return writeModel('constant-gen', g, {
    role: 'generator',
    inputs: [{ name: 'z', kind: 'latent', shape: ['N', 64], distribution: 'normal' }],
    outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
    layers: { h: 'h' },
  });
}

/**
 * image[N,1,16,16] → conv → relu = layer1 → conv → relu = layer2 → GAP → Gemm → logits.
 * With `valid` convolutions (no padding) a constant image gives spatially constant features.
 */
export function tinyClassifier(opts: { valid?: boolean } = {}): Promise<string> {
  const g = new GraphBuilder();
  const x = g.input('image', ['N', 1, 16, 16]);
  const conv = (inp: string, cin: number, cout: number) => {
    if (!opts.valid) return g.conv(inp, cin, cout);
    const id = Math.random().toString(36).slice(2, 8);
    return g.node('Conv', [inp, g.init(`vw_${id}`, [cout, cin, 3, 3], undefined, 0.3), g.init(`vb_${id}`, [cout], undefined, 0.1)], undefined, { kernel_shape: [3, 3] });
  };
  const l1 = g.node('Relu', [conv(x, 1, 6)], 'l1');
  const l2 = g.node('Relu', [conv(l1, 6, 8)], 'l2');
  const pooled = g.node('Flatten', [g.node('GlobalAveragePool', [l2], 'gap')], 'pooled', { axis: 1 });
  g.node('Gemm', [pooled, g.init('cls_w', [3, 8]), g.init('cls_b', [3])], 'logits', { transB: 1 });
  g.output('logits', ['N', 3]);
  return writeModel('tiny-cls', g, {
    role: 'classifier',
    inputs: [{ name: 'image', kind: 'image', shape: ['N', 1, 16, 16] }],
    outputs: [{ name: 'logits', kind: 'logits', classes: ['a', 'b', 'c'] }],
    preprocess: { size: [16, 16], channels: 1, range: [0, 1], mean: [0.5], std: [0.25] },
    layers: { layer1: 'l1', layer2: 'l2' },
  });
}

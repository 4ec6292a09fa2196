/**
 * Small ONNX graphs to compose with real models: a classifier's preprocessing in-graph, and the stitching layer
 * (a 1×1 convolution followed by a nearest-neighbour resize).
 *
 * The preprocessing graph does exactly what FeatureExtractor.preprocess does in JavaScript (tested against it):
 * channel conversion (gray → RGB repeats, RGB → gray takes ITU-R 601 luma), the value-range map and mean/std
 * normalization folded into one 1×1 convolution (per-pixel affine maps commute with a nearest resize), then a
 * nearest resize with PyTorch's rule (source index floor(i · in / out)). In-graph, it lets onnxruntime run the
 * generator → classifier chain in one session and lets the autodiff differentiate through it.
 */
import { GanvasError } from '../errors';
import { Emitter } from '../autodiff/emit';
import type { Preprocess } from '../manifest';
import { OnnxModel, onnx } from './model';
import { makeValueInfo } from './types';
import { nearestIndex } from '../runtime/tensor';

/** ITU-R 601 luma, as PIL's convert('L') and FeatureExtractor.preprocess. */
const LUMA = [0.299, 0.587, 0.114];

/** The small graph as a model of its own (ir version 8, the given default-domain opset). */
function finish(e: Emitter, opset: number, graph: onnx.IGraphProto, source: string): OnnxModel {
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: opset })],
    producerName: 'ganvas',
    graph: onnx.GraphProto.create({ ...graph, node: e.nodes, initializer: e.initializers }),
  });
  return new OnnxModel(proto, source);
}

/** The per-channel affine map of preprocessing as a 1×1 conv: weight [C, c, 1, 1] and bias [C]. */
export function preprocessAffine(p: Preprocess, channels: number, range: [number, number]): { weight: Float32Array; bias: Float32Array } {
  const C = p.channels;
  if (channels !== 1 && channels !== 3) throw new GanvasError('BAD_INPUT', `images must have 1 or 3 channels, got ${channels}`);
  if (C !== 1 && C !== 3) throw new GanvasError('BAD_MANIFEST', `preprocess.channels must be 1 or 3, got ${C}`);
  const [lo, hi] = range;
  if (!(hi > lo)) throw new GanvasError('BAD_INPUT', `value range [${lo}, ${hi}] is empty; expected [low, high] with low < high`);
  const [plo, phi] = p.range;
  const scale = (phi - plo) / (hi - lo);
  const weight = new Float32Array(C * channels);
  const bias = new Float32Array(C);
  for (let k = 0; k < C; k++) {
    const mean = p.mean?.[k] ?? p.mean?.[0] ?? 0;
    const std = p.std?.[k] ?? p.std?.[0] ?? 1;
    if (!(std !== 0 && Number.isFinite(std))) throw new GanvasError('BAD_MANIFEST', `preprocess.std[${k}] is ${std}; it must be a non-zero number`);
    bias[k] = (plo - lo * scale - mean) / std;
    if (channels === C) weight[k * channels + k] = scale / std;
    else if (channels === 1) weight[k] = scale / std; // gray → RGB: every output channel reads the one input
    else for (let j = 0; j < 3; j++) weight[k * 3 + j] = (LUMA[j] * scale) / std; // RGB → gray
  }
  return { weight, bias };
}

/**
 * A graph `image` [N, channels, height, width] in `range` → `input` [N, C, H, W], the classifier's input as its
 * manifest's preprocess describes it.
 */
export function preprocessModel(
  p: Preprocess,
  from: { channels: number; height: number; width: number; range: [number, number] },
  opset = 13,
): OnnxModel {
  const { weight, bias } = preprocessAffine(p, from.channels, from.range);
  const e = new Emitter('pre/', opset);
  // Stryker disable next-line StringLiteral: a name hint; fresh() makes names unique
  const w = e.f32(weight, [p.channels, from.channels, 1, 1], 'w');
  // Stryker disable next-line StringLiteral: a name hint; fresh() makes names unique
  const b = e.f32(bias, [p.channels], 'b');
  const [H, W] = p.size;
  let x = e.op('Conv', ['image', w, b], { kernel_shape: { ints: [1, 1] } });
  if (H !== from.height || W !== from.width) x = nearestResize(e, x, [from.height, from.width], [H, W]);
  e.opInto('Identity', [x], 'input');
  return finish(
    e,
    opset,
    {
      input: [makeValueInfo('image', 'float32', ['N', from.channels, from.height, from.width])],
      output: [makeValueInfo('input', 'float32', ['N', p.channels, H, W])],
    },
    `preprocessing of ${from.channels}×${from.height}×${from.width} images in [${from.range.join(', ')}] for ${p.channels}×${H}×${W}`,
  );
}

/**
 * Nearest resize to [H, W] with source index floor(i · in / out) (PyTorch's F.interpolate(mode='nearest') and
 * ganvas's nearestIndex), exact for any sizes, one axis at a time: an integer up-sampling is a Resize with an
 * integer scale (asymmetric, floor), an integer down-sampling a strided Slice, anything else a Gather of the
 * nearestIndex rows. (A Resize with a fractional scale is not exact: 9 → 3 has scale 0.33333334 in float32 and
 * maps output 1 to input 2.)
 */
export function nearestResize(e: Emitter, x: string, from: [number, number], size: [number, number]): string {
  let y = x;
  for (const axis of [0, 1]) {
    const a = from[axis];
    const b = size[axis];
    if (a === b) continue;
    const onnxAxis = 2 + axis;
    if (b % a === 0) {
      const scales = axis === 0 ? [1, 1, b / a, 1] : [1, 1, 1, b / a];
      // Stryker disable next-line StringLiteral: a name hint; fresh() makes names unique
      const s = e.f32(scales, [4], 'scales');
      y = e.op('Resize', [y, '', s], {
        mode: { s: 'nearest' },
        coordinate_transformation_mode: { s: 'asymmetric' },
        nearest_mode: { s: 'floor' },
      });
    } else if (a % b === 0) {
      y = e.op('Slice', [y, e.i64([0]), e.i64([a]), e.i64([onnxAxis]), e.i64([a / b])]);
    } else {
      y = e.op('Gather', [y, e.i64(Array.from(nearestIndex(b, a)))], { axis: { i: onnxAxis } });
    }
  }
  return y;
}

/**
 * The stitching layer of paper 003 (§3.1): `x` [N, cin, h, w] → 1×1 conv (`weight` [cout, cin, 1, 1] and `bias`
 * [cout], graph inputs) → nearest resize to [H, W] → `y` [N, cout, H, W].
 */
export function stitchLayerModel(cin: number, cout: number, from: [number, number], to: [number, number], opset = 13): OnnxModel {
  const e = new Emitter('stitch/', opset);
  // A nearest resize only selects pixels, so it commutes with the 1×1 conv: resize first when that shrinks the
  // map (stitching into a coarser layer), convolve first otherwise — the conv then runs on the fewer pixels.
  const same = from[0] === to[0] && from[1] === to[1];
  const shrink = to[0] * to[1] < from[0] * from[1];
  let y = shrink ? nearestResize(e, 'x', from, to) : 'x';
  y = e.op('Conv', [y, 'weight', 'bias'], { kernel_shape: { ints: [1, 1] } });
  if (!same && !shrink) y = nearestResize(e, y, from, to);
  e.opInto('Identity', [y], 'y');
  return finish(
    e,
    opset,
    {
      input: [
        makeValueInfo('x', 'float32', ['N', cin, from[0], from[1]]),
        makeValueInfo('weight', 'float32', [cout, cin, 1, 1]),
        makeValueInfo('bias', 'float32', [cout]),
      ],
      output: [makeValueInfo('y', 'float32', ['N', cout, to[0], to[1]])],
    },
    `1×1 stitch ${cin}→${cout}, ${from.join('×')} → ${to.join('×')}`,
  );
}

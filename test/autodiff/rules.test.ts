/**
 * One finite-difference check per gradient rule, on tiny random graphs (batch 2), including broadcasting shapes and
 * strided / padded / grouped / dilated convolutions. Reference: central differences of the forward model run by
 * onnxruntime, loss computed in float64 JavaScript (see check.ts).
 */
import { FloatTensor, randn } from 'ganvas';
import { GraphBuilder } from '../builder';
import { expectGradients, rt } from './check';

after(() => rt.release());

type Dims = (number | string)[];
interface Case {
  name: string;
  /** Builds the graph; must produce output "y". */
  build: (g: GraphBuilder) => void;
  inputs: Record<string, Dims>;
  wrt?: string[];
  h?: number;
  /** Map raw gaussian inputs (e.g. to positive values for Log/Sqrt). */
  transform?: (name: string, v: number) => number;
  opset?: number;
}

function make(c: Case) {
  const g = new GraphBuilder(c.opset ?? 13);
  for (const [name, dims] of Object.entries(c.inputs)) g.input(name, dims);
  c.build(g);
  g.output('y');
  const inputs: Record<string, FloatTensor> = {};
  Object.entries(c.inputs).forEach(([name, dims], k) => {
    const concrete = dims.map((d) => (typeof d === 'number' ? d : 2));
    const t = randn(`${c.name}:${name}:${k}`, concrete);
    inputs[name] = c.transform ? { data: t.data.map((v) => c.transform?.(name, v) ?? v), dims: t.dims } : t;
  });
  return { model: g.build(c.name), inputs, wrt: c.wrt ?? Object.keys(c.inputs) };
}

const X4 = { x: ['N', 3, 5, 5] as Dims };
const unary = (op: string, attrs: Record<string, number> = {}) => (g: GraphBuilder) => {
  g.node(op, ['x'], 'y', attrs);
};

const cases: Case[] = [
  // ---------------------------------------------------------------- convolutions
  {
    name: 'Conv 3x3 pad 1 with bias (x, W, B)',
    inputs: { x: ['N', 3, 5, 5], w: [4, 3, 3, 3], b: [4] },
    build: (g) => g.node('Conv', ['x', 'w', 'b'], 'y', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
  },
  {
    // Few channels, stride 1: the unpadded-ConvTranspose-then-crop path, with pads wider than the kernel reach.
    name: 'Conv stride 1, 2 groups, kernel 3 × 2, asymmetric pads larger than the kernel (x, W)',
    inputs: { x: ['N', 4, 6, 5], w: [2, 2, 3, 2] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { group: 2, pads: [3, 0, 1, 2] }),
  },
  {
    name: 'Conv stride 2, asymmetric pads (x, W)',
    inputs: { x: ['N', 2, 7, 6], w: [3, 2, 3, 2] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { strides: [2, 2], pads: [1, 0, 0, 1] }),
  },
  {
    name: 'Conv stride 3 dropping trailing rows (x, W)',
    inputs: { x: ['N', 2, 8, 8], w: [2, 2, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { strides: [3, 3] }),
  },
  {
    name: 'Conv dilation 2 (x, W)',
    inputs: { x: ['N', 2, 7, 7], w: [3, 2, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { dilations: [2, 2], pads: [2, 1, 2, 1] }),
  },
  {
    name: 'Conv group 2, stride 2, dilation 2 (x, W)',
    inputs: { x: ['N', 4, 9, 9], w: [6, 2, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { group: 2, strides: [2, 2], dilations: [2, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv depthwise (group = C) with bias',
    inputs: { x: ['N', 3, 6, 6], w: [3, 1, 3, 3], b: [3] },
    build: (g) => g.node('Conv', ['x', 'w', 'b'], 'y', { group: 3, pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv auto_pad SAME_UPPER stride 2',
    inputs: { x: ['N', 2, 6, 5], w: [2, 2, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { auto_pad: 'SAME_UPPER', strides: [2, 2] }),
  },
  {
    // Odd total padding (6 rows, stride 2, kernel 3: one pad row; 5 columns, kernel 2: one pad column):
    // SAME_LOWER puts it in front, SAME_UPPER behind, so the two disagree here (issue 19: SAME_LOWER was untested).
    name: 'Conv auto_pad SAME_LOWER stride 2, kernel 3 × 2 (odd total padding)',
    inputs: { x: ['N', 2, 6, 5], w: [2, 2, 3, 2] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { auto_pad: 'SAME_LOWER', strides: [2, 2] }),
  },
  {
    name: 'Conv 1x1 weight fed as an input (the stitching layer)',
    inputs: { x: ['N', 4, 5, 5], w: [3, 4, 1, 1] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y'),
  },
  {
    name: 'Conv with 8 input channels, pads 1 (x, W, B)',
    inputs: { x: ['N', 8, 4, 5], w: [3, 8, 3, 3], b: [3] },
    build: (g) => g.node('Conv', ['x', 'w', 'b'], 'y', { pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv 8 channels, group 2, dilation 2, asymmetric pads, non-square kernel (x, W)',
    inputs: { x: ['N', 8, 6, 6], w: [4, 4, 3, 2] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { group: 2, dilations: [2, 1], pads: [2, 0, 1, 1] }),
  },
  {
    name: 'Conv depthwise over 8 channels (x, W)',
    inputs: { x: ['N', 8, 4, 4], w: [8, 1, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { group: 8, pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv stride 2, pad 1, 8 channels, constant weight',
    inputs: { x: ['N', 8, 6, 6] },
    build: (g) => g.node('Conv', ['x', g.init('w', [3, 8, 3, 3]), g.init('b', [3])], 'y', { strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv stride 2, odd input size, kernel 4, asymmetric pads',
    inputs: { x: ['N', 8, 7, 5] },
    build: (g) => g.node('Conv', ['x', g.init('w', [2, 8, 4, 4])], 'y', { strides: [2, 2], pads: [1, 2, 0, 1] }),
  },
  {
    name: 'Conv stride 3, kernel 3 × 5, no pads, trailing rows dropped',
    inputs: { x: ['N', 8, 8, 10] },
    build: (g) => g.node('Conv', ['x', g.init('w', [3, 8, 3, 5])], 'y', { strides: [3, 3] }),
  },
  {
    name: 'Conv 1-D',
    inputs: { x: ['N', 2, 9], w: [3, 2, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { strides: [2], pads: [1, 1] }),
  },
  {
    name: 'Conv 3-D with stride and pads (x, W)',
    inputs: { x: ['N', 2, 3, 4, 5], w: [2, 2, 2, 2, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { strides: [1, 2, 1], pads: [0, 1, 1, 0, 0, 1] }),
  },
  // Issue 13: the weight gradient of stride-1 Convs as shifted Slices and MatMuls (batch 1 takes the group-major
  // form without a batch sum), the input gradient with a varying weight as a ConvTranspose, and the
  // flipped-kernel path for the same shapes when only x varies.
  {
    name: 'Conv stride 1, batch 1, 4 groups, weight fed as an input (the fused modulated-conv form)',
    inputs: { x: [1, 8, 5, 6], w: [8, 2, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { group: 4, pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv stride 1, batch 1, dilation 2, asymmetric pads, kernel 3 × 2 (x, W)',
    inputs: { x: [1, 4, 7, 6], w: [3, 4, 3, 2] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { dilations: [2, 2], pads: [2, 0, 1, 3] }),
  },
  {
    name: 'Conv stride 1, no pads, kernel 2 × 3 (x, W)',
    inputs: { x: ['N', 3, 5, 6], w: [4, 3, 2, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y'),
  },
  {
    // The weight outweighs K inputs: one MatMul over the concatenated windows.
    name: 'Conv stride 1, batch 1, 2 groups, weight larger than 9 inputs (x, W)',
    inputs: { x: [1, 4, 2, 3], w: [14, 2, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { group: 2, pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv stride 1, symbolic batch, weight larger than 9 inputs, dilation 2 (x, W)',
    inputs: { x: ['N', 3, 3, 4], w: [16, 3, 2, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { dilations: [2, 1], pads: [1, 1, 0, 1] }),
  },
  {
    name: 'Conv 1x1, batch 1, 2 groups, no pads (x, W): the weight gradient reads x as it is',
    inputs: { x: [1, 4, 3, 5], w: [6, 2, 1, 1] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { group: 2 }),
  },
  {
    name: 'Conv 1x1 with pads 1 (x, W)',
    inputs: { x: ['N', 3, 3, 4], w: [2, 3, 1, 1] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { pads: [1, 0, 0, 1] }),
  },
  {
    name: 'Conv 1-D stride 1, dilation 2 (x, W)',
    inputs: { x: ['N', 3, 9], w: [2, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { dilations: [2], pads: [1, 2] }),
  },
  {
    name: 'Conv 3-D stride 1, pads (x, W)',
    inputs: { x: [1, 2, 4, 3, 4], w: [3, 2, 2, 3, 2] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { pads: [1, 1, 0, 0, 1, 1] }),
  },
  {
    name: 'Conv with a large varying weight, 8 channels: ConvTranspose input gradient (x, W, B)',
    inputs: { x: ['N', 8, 4, 4], w: [8, 8, 3, 3], b: [8] },
    build: (g) => g.node('Conv', ['x', 'w', 'b'], 'y', { pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv flipped-kernel path with a constant weight: group 2, dilation 1 × 2, asymmetric pads',
    inputs: { x: ['N', 8, 4, 5] },
    build: (g) => g.node('Conv', ['x', g.init('w', [4, 4, 3, 3])], 'y', { group: 2, dilations: [1, 2], pads: [1, 2, 1, 0] }),
  },
  {
    name: 'Conv flipped-kernel path with a constant weight: depthwise over 8 channels, bias',
    inputs: { x: ['N', 8, 4, 4] },
    build: (g) => g.node('Conv', ['x', g.init('w', [8, 1, 3, 3]), g.init('b', [8])], 'y', { group: 8, pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv with a weight that is an input but not differentiated: ConvTranspose input gradient',
    inputs: { x: ['N', 8, 4, 5], w: [4, 4, 3, 3] },
    wrt: ['x'],
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { group: 2, dilations: [1, 2], pads: [1, 2, 1, 0] }),
  },
  {
    name: 'Conv with a small varying weight beside a large input (16 × smaller): flipped kernel, weight gradient',
    inputs: { x: [2, 8, 12, 12], w: [4, 8, 1, 1] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y'),
  },
  {
    // Per-sample weights, demodulated, applied by one grouped Conv (groups = batch): StyleGAN2's fused form.
    name: 'fused modulated conv: W·s, demodulation by rsqrt(Σ (W·s)²), grouped Conv (x, style)',
    inputs: { x: [2, 3, 5, 5], s: [2, 1, 3, 1, 1] },
    build: (g) => {
      const w = g.node('Mul', [g.init('w', [1, 4, 3, 3, 3]), 's']);
      const sq = g.node('ReduceSum', [g.node('Pow', [w, g.init('two', [], [2])]), g.initInt64('ax', [2, 3, 4])], undefined, { keepdims: 1 });
      const d = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [sq, g.init('eps', [], [1e-8])])])]);
      const wd = g.node('Reshape', [g.node('Mul', [w, d]), g.initInt64('wshape', [8, 3, 3, 3])]);
      const xr = g.node('Reshape', ['x', g.initInt64('xshape', [1, 6, 5, 5])]);
      g.node('Reshape', [g.node('Conv', [xr, wd], undefined, { group: 2, pads: [1, 1, 1, 1] }), g.initInt64('yshape', [2, 4, 5, 5])], 'y');
    },
  },
  {
    name: 'ConvTranspose stride 1, pads, dilation 2 (x, W)',
    inputs: { x: ['N', 3, 4, 5], w: [3, 2, 3, 2] },
    build: (g) => g.node('ConvTranspose', ['x', 'w'], 'y', { dilations: [2, 1], pads: [1, 0, 2, 1] }),
  },
  {
    name: 'ConvTranspose stride 2, pads, output_padding (x, W, B)',
    inputs: { x: ['N', 3, 4, 4], w: [3, 2, 3, 3], b: [2] },
    build: (g) => g.node('ConvTranspose', ['x', 'w', 'b'], 'y', { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }),
  },
  {
    name: 'ConvTranspose group 2, dilation 2',
    inputs: { x: ['N', 4, 3, 4], w: [4, 1, 2, 3] },
    build: (g) => g.node('ConvTranspose', ['x', 'w'], 'y', { group: 2, dilations: [2, 2], strides: [1, 2] }),
  },
  // ---------------------------------------------------------------- matrix products
  {
    name: 'Gemm transB with broadcast C (A, B, C)',
    inputs: { a: ['N', 4], b: [3, 4], c: [3] },
    build: (g) => g.node('Gemm', ['a', 'b', 'c'], 'y', { transB: 1, alpha: 0.7, beta: 1.3 }),
  },
  {
    name: 'Gemm transA (A, B, C [1,3])',
    inputs: { a: [4, 2], b: [4, 3], c: [1, 3] },
    build: (g) => g.node('Gemm', ['a', 'b', 'c'], 'y', { transA: 1 }),
  },
  {
    name: 'Gemm transA and transB',
    inputs: { a: [4, 2], b: [3, 4] },
    build: (g) => g.node('Gemm', ['a', 'b'], 'y', { transA: 1, transB: 1, alpha: 2.5 }),
  },
  {
    name: 'MatMul batched, B broadcast [2,3,4]@[4,5]',
    inputs: { a: [2, 3, 4], b: [4, 5] },
    build: (g) => g.node('MatMul', ['a', 'b'], 'y'),
  },
  {
    name: 'MatMul A broadcast [3,4]@[2,1,4,5] and batch broadcast',
    inputs: { a: [3, 4], b: [2, 1, 4, 5] },
    build: (g) => g.node('MatMul', ['a', 'b'], 'y'),
  },
  {
    name: 'MatMul 1-D operands',
    inputs: { a: [4], b: [2, 4, 3], c: [3] },
    build: (g) => g.node('MatMul', [g.node('MatMul', ['a', 'b']), 'c'], 'y'),
  },
  // ---------------------------------------------------------------- broadcasting arithmetic
  {
    name: 'Add with [C,1,1] and scalar broadcast',
    inputs: { x: ['N', 3, 4, 4], c: [3, 1, 1], s: [] },
    build: (g) => g.node('Add', [g.node('Add', ['x', 'c']), 's'], 'y'),
  },
  {
    name: 'Sub with [1,C,1,W] and rank-1 broadcast',
    inputs: { x: ['N', 3, 4, 4], c: [1, 3, 1, 4], r: [4] },
    build: (g) => g.node('Sub', [g.node('Sub', ['c', 'x']), 'r'], 'y'),
  },
  {
    name: 'Mul with broadcasting on both sides ([N,1,4] * [3,1])',
    inputs: { a: ['N', 1, 4], b: [3, 1] },
    build: (g) => g.node('Mul', ['a', 'b'], 'y'),
  },
  {
    name: 'Mul of a tensor by itself (two uses of one input)',
    inputs: { x: ['N', 3, 2] },
    build: (g) => g.node('Mul', ['x', 'x'], 'y'),
  },
  {
    name: 'Div with broadcast denominator',
    inputs: { a: ['N', 3, 4], b: [3, 1] },
    transform: (n, v) => (n === 'b' ? 1 + Math.abs(v) : v),
    build: (g) => g.node('Div', ['a', 'b'], 'y'),
  },
  {
    name: 'Sum (variadic, broadcasting) and Where',
    inputs: { a: ['N', 3], b: [3], c: ['N', 1] },
    build: (g) => {
      const s = g.node('Sum', ['a', 'b', 'c']);
      const cond = g.node('Greater', ['a', g.init('zero', [1], [0])]);
      g.node('Where', [cond, s, 'b'], 'y');
    },
  },
  // ---------------------------------------------------------------- element-wise
  { name: 'Relu', inputs: X4, build: unary('Relu'), h: 1e-3 },
  { name: 'LeakyRelu', inputs: X4, build: unary('LeakyRelu', { alpha: 0.2 }), h: 1e-3 },
  { name: 'Sigmoid', inputs: X4, build: unary('Sigmoid') },
  { name: 'Tanh', inputs: X4, build: unary('Tanh') },
  { name: 'Softplus', inputs: X4, build: unary('Softplus') },
  { name: 'Exp', inputs: X4, build: unary('Exp') },
  { name: 'Log', inputs: X4, build: unary('Log'), transform: (_n, v) => 0.5 + Math.abs(v) },
  { name: 'Sqrt', inputs: X4, build: unary('Sqrt'), transform: (_n, v) => 0.5 + Math.abs(v) },
  { name: 'Abs', inputs: X4, build: unary('Abs'), h: 1e-3 },
  { name: 'Erf', inputs: X4, build: unary('Erf') },
  { name: 'Neg', inputs: X4, build: unary('Neg') },
  { name: 'Reciprocal', inputs: X4, build: unary('Reciprocal'), transform: (_n, v) => 0.5 + Math.abs(v) },
  {
    name: 'Clip with min and max inputs',
    inputs: X4,
    h: 1e-3,
    build: (g) => g.node('Clip', ['x', g.init('lo', [], [-0.5]), g.init('hi', [], [0.7])], 'y'),
  },
  {
    name: 'Clip with only max',
    inputs: X4,
    h: 1e-3,
    build: (g) => g.node('Clip', ['x', '', g.init('hi', [], [0.3])], 'y'),
  },
  {
    name: 'Pow with constant exponent 2 and 1.5',
    inputs: X4,
    transform: (_n, v) => 0.5 + Math.abs(v),
    build: (g) => g.node('Pow', [g.node('Pow', ['x', g.init('two', [], [2])]), g.init('p', [], [0.75])], 'y'),
  },
  // Issue 13: constant exponents that are integers or halves get x^(p−1) from Muls, Sqrt and Div.
  ...[2, 3, 4, 7, 0.5, 1.5, 2.5, -1, -2, -0.5, 1, 0.3, -1.7].map(
    (p): Case => ({
      name: `Pow with constant exponent ${p}`,
      inputs: X4,
      transform: (_n, v) => 0.5 + Math.abs(v),
      build: (g) => g.node('Pow', ['x', g.init('p', [], [p])], 'y'),
    }),
  ),
  {
    // x⁰ = 1 has no gradient; times x so that the loss still has one (from the Mul's other side).
    name: 'Pow with constant exponent 0 (x⁰ · x)',
    inputs: X4,
    transform: (_n, v) => 0.5 + Math.abs(v),
    build: (g) => g.node('Mul', [g.node('Pow', ['x', g.init('p', [], [0])]), 'x'], 'y'),
  },
  {
    name: 'Pow: x² and x³ with negative bases, integer (int64) exponent',
    inputs: X4,
    build: (g) => g.node('Mul', [g.node('Pow', ['x', g.init('two', [], [2])]), g.node('Pow', ['x', g.initInt64('three', [3])])], 'y'),
  },
  {
    name: 'Pow with a constant exponent tensor of one value, broadcasting x up',
    inputs: { x: ['N', 3, 1] },
    transform: (_n, v) => 0.5 + Math.abs(v),
    build: (g) => g.node('Pow', ['x', g.init('p', [3, 4], new Array<number>(12).fill(3))], 'y'),
  },
  {
    name: 'Pow with a constant per-element exponent tensor',
    inputs: { x: ['N', 4] },
    transform: (_n, v) => 0.5 + Math.abs(v),
    build: (g) => g.node('Pow', ['x', g.init('p', [4], [2, -1, 0.5, 1.3])], 'y'),
  },
  {
    name: 'Pow with a computed exponent (an input not differentiated)',
    inputs: { x: ['N', 3], p: [3] },
    wrt: ['x'],
    transform: (n, v) => (n === 'x' ? 0.5 + Math.abs(v) : v),
    build: (g) => g.node('Pow', ['x', 'p'], 'y'),
  },
  {
    name: 'Pow with an exponent computed from constants (Add of two initializers: 1 + 1)',
    inputs: X4,
    build: (g) => g.node('Pow', ['x', g.node('Add', [g.init('a', [], [1]), g.init('b', [], [1])])], 'y'),
  },
  {
    name: 'Pow with a varying exponent',
    inputs: { x: ['N', 3], p: [3] },
    transform: (n, v) => (n === 'x' ? 0.5 + Math.abs(v) : v),
    build: (g) => g.node('Pow', ['x', 'p'], 'y'),
  },
  // ---------------------------------------------------------------- normalization
  {
    name: 'BatchNormalization (inference): x, scale, B',
    inputs: { x: ['N', 3, 4, 4], s: [3], b: [3] },
    build: (g) =>
      g.node('BatchNormalization', ['x', 's', 'b', g.init('mean', [3], [0.1, -0.2, 0.3]), g.init('var', [3], [0.5, 1.5, 2.0])], 'y', {
        epsilon: 1e-5,
      }),
  },
  {
    name: 'BatchNormalization on [N, C] (BatchNorm1d): x, scale',
    inputs: { x: ['N', 3], s: [3] },
    build: (g) =>
      g.node('BatchNormalization', ['x', 's', g.init('b1', [3]), g.init('m1', [3], [0.1, 0.2, -0.3]), g.init('v1', [3], [1, 2, 0.5])], 'y'),
  },
  {
    name: 'InstanceNormalization: x, scale, B',
    inputs: { x: ['N', 3, 4, 4], s: [3], b: [3] },
    build: (g) => g.node('InstanceNormalization', ['x', 's', 'b'], 'y', { epsilon: 1e-5 }),
  },
  // ---------------------------------------------------------------- resampling and pooling
  {
    name: 'Resize nearest ×2 (asymmetric, floor: the PyTorch export)',
    inputs: { x: ['N', 2, 3, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 2, 2])], 'y', {
        mode: 'nearest',
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      }),
  },
  {
    name: 'Resize nearest to sizes 5×7 (half_pixel, round_prefer_floor)',
    inputs: { x: [2, 2, 3, 4] },
    build: (g) => g.node('Resize', ['x', '', '', g.initInt64('sz', [2, 2, 5, 7])], 'y', { mode: 'nearest' }),
  },
  {
    name: 'Resize nearest to 5×7 (pytorch_half_pixel, round_prefer_ceil)',
    inputs: { x: [2, 2, 3, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', '', g.initInt64('sz', [2, 2, 5, 7])], 'y', {
        mode: 'nearest',
        coordinate_transformation_mode: 'pytorch_half_pixel',
        nearest_mode: 'round_prefer_ceil',
      }),
  },
  {
    name: 'Resize nearest ×1.5 (align_corners, ceil)',
    inputs: { x: ['N', 2, 4, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 1.5, 1.5])], 'y', {
        mode: 'nearest',
        coordinate_transformation_mode: 'align_corners',
        nearest_mode: 'ceil',
      }),
  },
  // Non-×2 scales, where the coordinate transforms disagree (issue 19: at ×2 with floor, asymmetric o/s and
  // (o+0.5)/s pick the same source rows). Hand-worked for 4 → 6 (×1.5): asymmetric o/s with floor reads rows
  // 0,0,1,2,2,3; tf_half_pixel_for_nn (o+0.5)/s = 0.33,1,1.67,2.33,3,3.67 with round_prefer_floor reads 0,1,2,2,3,3.
  {
    name: 'Resize nearest ×1.5 (asymmetric, floor)',
    inputs: { x: ['N', 2, 4, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 1.5, 1.5])], 'y', {
        mode: 'nearest',
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      }),
  },
  {
    name: 'Resize nearest ×2.5 × 0.75 (asymmetric, round_prefer_floor)',
    inputs: { x: ['N', 2, 3, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 2.5, 0.75])], 'y', {
        mode: 'nearest',
        coordinate_transformation_mode: 'asymmetric',
      }),
  },
  {
    name: 'Resize nearest ×1.5 (tf_half_pixel_for_nn, round_prefer_floor)',
    inputs: { x: ['N', 2, 4, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 1.5, 1.5])], 'y', {
        mode: 'nearest',
        coordinate_transformation_mode: 'tf_half_pixel_for_nn',
      }),
  },
  {
    name: 'Resize nearest to sizes 7×3 (tf_half_pixel_for_nn, floor)',
    inputs: { x: [2, 2, 3, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', '', g.initInt64('sz', [2, 2, 7, 3])], 'y', {
        mode: 'nearest',
        coordinate_transformation_mode: 'tf_half_pixel_for_nn',
        nearest_mode: 'floor',
      }),
  },
  {
    name: 'Resize nearest ×2.5 (half_pixel, round_prefer_ceil)',
    inputs: { x: ['N', 2, 3, 2] },
    build: (g) =>
      g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 2.5, 2.5])], 'y', {
        mode: 'nearest',
        coordinate_transformation_mode: 'half_pixel',
        nearest_mode: 'round_prefer_ceil',
      }),
  },
  {
    name: 'Resize linear ×1.5 (asymmetric)',
    inputs: { x: ['N', 2, 4, 3] },
    build: (g) =>
      g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 1.5, 1.5])], 'y', {
        mode: 'linear',
        coordinate_transformation_mode: 'asymmetric',
      }),
  },
  {
    name: 'Resize linear to sizes 5×7 (half_pixel, upsampling at a non-integer scale)',
    inputs: { x: [2, 2, 3, 4] },
    build: (g) => g.node('Resize', ['x', '', '', g.initInt64('sz', [2, 2, 5, 7])], 'y', { mode: 'linear' }),
  },
  {
    // An axis resized to one: pytorch_half_pixel reads source 0 there (not the half-pixel centre).
    name: 'Resize linear to sizes 1×3 (pytorch_half_pixel, an axis of length one)',
    inputs: { x: [2, 2, 3, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', '', g.initInt64('sz', [2, 2, 1, 3])], 'y', {
        mode: 'linear',
        coordinate_transformation_mode: 'pytorch_half_pixel',
      }),
  },
  {
    name: 'Resize linear to sizes 1×5 (align_corners, an axis of length one)',
    inputs: { x: [2, 2, 3, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', '', g.initInt64('sz', [2, 2, 1, 5])], 'y', {
        mode: 'linear',
        coordinate_transformation_mode: 'align_corners',
      }),
  },
  {
    name: 'Resize linear ×2 (pytorch_half_pixel: F.interpolate bilinear)',
    inputs: { x: ['N', 2, 3, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 2, 2])], 'y', {
        mode: 'linear',
        coordinate_transformation_mode: 'pytorch_half_pixel',
      }),
  },
  {
    name: 'Resize linear ×0.5 (half_pixel, downsampling)',
    inputs: { x: ['N', 2, 6, 8] },
    build: (g) => g.node('Resize', ['x', '', g.init('sc', [4], [1, 1, 0.5, 0.5])], 'y', { mode: 'linear' }),
  },
  {
    name: 'Resize linear to sizes 5×7 (align_corners)',
    inputs: { x: [2, 2, 3, 4] },
    build: (g) =>
      g.node('Resize', ['x', '', '', g.initInt64('sz', [2, 2, 5, 7])], 'y', {
        mode: 'linear',
        coordinate_transformation_mode: 'align_corners',
      }),
  },
  {
    name: 'MaxPool 2×2 stride 2',
    inputs: { x: ['N', 2, 4, 6] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [2, 2], strides: [2, 2] }),
  },
  {
    name: 'MaxPool 3×3 stride 2 pad 1 (overlapping windows)',
    inputs: { x: ['N', 2, 5, 5] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  // Issue 13: more MaxPool geometries (the rule scatters dY to the pool's row-major Indices).
  {
    name: 'MaxPool 3×3 stride 2 pad 1, 7×7 (the ResNet stem pool)',
    inputs: { x: ['N', 2, 7, 7] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'MaxPool 3×3 stride 2, ceil_mode (last window past the input)',
    inputs: { x: ['N', 2, 6, 6] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
  },
  {
    name: 'MaxPool 2×3 stride 1 (overlapping), asymmetric pads',
    inputs: { x: ['N', 2, 4, 5] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [2, 3], pads: [0, 1, 1, 0] }),
  },
  {
    name: 'MaxPool 2×2 dilation 2 stride 1',
    inputs: { x: ['N', 2, 5, 5] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [2, 2], dilations: [2, 2] }),
  },
  {
    name: 'MaxPool 1-D kernel 3 stride 3 (non-overlapping), auto_pad SAME_UPPER',
    inputs: { x: ['N', 3, 8] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [3], strides: [3], auto_pad: 'SAME_UPPER' }),
  },
  {
    name: 'MaxPool 1-D kernel 2 stride 2 on odd length, auto_pad SAME_LOWER (the pad goes in front)',
    inputs: { x: ['N', 3, 7] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [2], strides: [2], auto_pad: 'SAME_LOWER' }),
  },
  {
    name: 'AveragePool 2×2 stride 2 on 5×5, auto_pad SAME_LOWER, pads counted',
    inputs: { x: ['N', 2, 5, 5] },
    build: (g) =>
      g.node('AveragePool', ['x'], 'y', { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_LOWER', count_include_pad: 1 }),
  },
  {
    name: 'AveragePool 2×2 stride 2 on 5×5, auto_pad VALID (the trailing row and column dropped)',
    inputs: { x: ['N', 2, 5, 5] },
    build: (g) => g.node('AveragePool', ['x'], 'y', { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'VALID' }),
  },
  {
    name: 'MaxPool 3-D 2×2×2 stride 2',
    inputs: { x: ['N', 2, 4, 4, 4] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [2, 2, 2], strides: [2, 2, 2] }),
  },
  {
    name: 'MaxPool whose Indices the model reads (row-major): the rule reuses them',
    inputs: { x: ['N', 2, 5, 5] },
    h: 1e-3,
    build: (g) => {
      g.node('MaxPool', ['x'], ['p', 'i'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
      // The indices only shift y by a constant (0·i): the model reads them without them changing the loss's slope.
      g.node('Add', ['p', g.node('Mul', [g.node('Cast', ['i'], undefined, { to: 1 }), g.init('zero', [], [0])])], 'y');
    },
  },
  {
    name: 'MaxPool whose column-major Indices the model reads (storage_order 1): a second pool',
    inputs: { x: ['N', 2, 4, 6] },
    h: 1e-3,
    build: (g) => {
      g.node('MaxPool', ['x'], ['p', 'i'], { kernel_shape: [2, 2], strides: [2, 2], storage_order: 1 });
      g.node('Add', ['p', g.node('Mul', [g.node('Cast', ['i'], undefined, { to: 1 }), g.init('zero', [], [0])])], 'y');
    },
  },
  {
    name: 'AveragePool 2×2 stride 2',
    inputs: { x: ['N', 2, 4, 6] },
    build: (g) => g.node('AveragePool', ['x'], 'y', { kernel_shape: [2, 2], strides: [2, 2] }),
  },
  {
    name: 'AveragePool 3×3 stride 2 pad 1, count_include_pad 0',
    inputs: { x: ['N', 2, 6, 5] },
    build: (g) => g.node('AveragePool', ['x'], 'y', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'AveragePool 3×3 pad 1, count_include_pad 1',
    inputs: { x: ['N', 2, 5, 5] },
    build: (g) =>
      g.node('AveragePool', ['x'], 'y', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }),
  },
  { name: 'GlobalAveragePool', inputs: X4, build: unary('GlobalAveragePool') },
  // ---------------------------------------------------------------- re-layouts
  {
    name: 'Reshape',
    inputs: X4,
    build: (g) => g.node('Reshape', ['x', g.initInt64('shape', [-1, 5, 15])], 'y'),
  },
  { name: 'Flatten', inputs: { x: [2, 3, 5, 5] }, build: unary('Flatten', { axis: 2 }) },
  {
    name: 'Transpose',
    inputs: { x: [2, 3, 4, 5] },
    build: (g) => g.node('Transpose', ['x'], 'y', { perm: [2, 0, 3, 1] }),
  },
  {
    name: 'Transpose default perm',
    inputs: { x: [2, 3, 4] },
    build: (g) => g.node('Transpose', ['x'], 'y'),
  },
  {
    name: 'Concat along channels (both inputs)',
    inputs: { a: ['N', 2, 3, 3], b: ['N', 3, 3, 3] },
    build: (g) => g.node('Concat', ['a', 'b'], 'y', { axis: 1 }),
  },
  {
    name: 'Concat with a constant, negative axis',
    inputs: { a: [2, 2, 3] },
    build: (g) => g.node('Concat', [g.init('k', [2, 2, 2]), 'a'], 'y', { axis: -1 }),
  },
  {
    name: 'Slice unit step, negative start, very large end',
    inputs: { x: ['N', 4, 6, 5] },
    build: (g) =>
      g.node('Slice', ['x', g.initInt64('st', [1, -4]), g.initInt64('en', [3, 1000000000]), g.initInt64('ax', [1, 2])], 'y'),
  },
  {
    name: 'Slice step 2 and negative step',
    inputs: { x: ['N', 4, 7, 5] },
    build: (g) =>
      g.node(
        'Slice',
        ['x', g.initInt64('st', [1, -1]), g.initInt64('en', [7, -6]), g.initInt64('ax', [2, 3]), g.initInt64('sp', [2, -2])],
        'y',
      ),
  },
  {
    name: 'Split with sizes, one output unused',
    inputs: { x: ['N', 5, 3] },
    build: (g) => {
      g.node('Split', ['x', g.initInt64('parts', [2, 1, 2])], ['s0', 's1', 's2'], { axis: 1 });
      g.node('Mul', ['s0', 's2'], 'y');
    },
  },
  {
    name: 'Pad constant (positive pads)',
    inputs: { x: ['N', 2, 3, 4] },
    build: (g) => g.node('Pad', ['x', g.initInt64('pads', [0, 0, 1, 2, 0, 1, 0, 1])], 'y'),
  },
  {
    name: 'Pad constant with cropping (negative pads)',
    inputs: { x: ['N', 2, 4, 5] },
    build: (g) => g.node('Pad', ['x', g.initInt64('pads', [0, 0, -1, 2, 0, 0, 1, -2])], 'y'),
  },
  {
    name: 'Squeeze and Unsqueeze',
    inputs: { x: [2, 1, 3, 1] },
    build: (g) => g.node('Unsqueeze', [g.node('Squeeze', ['x', g.initInt64('ax', [1, 3])]), g.initInt64('ax2', [0])], 'y'),
  },
  {
    name: 'Expand [C,1] to [N,C,4]',
    inputs: { x: [3, 1] },
    build: (g) => g.node('Expand', ['x', g.initInt64('shape', [2, 3, 4])], 'y'),
  },
  {
    name: 'ReduceMean keepdims 1 over spatial axes, then keepdims 0',
    inputs: X4,
    build: (g) => g.node('ReduceMean', [g.node('ReduceMean', ['x'], undefined, { axes: [2, 3] })], 'y', { axes: [-3], keepdims: 0 }),
  },
  {
    name: 'ReduceMean over the batch axis (symbolic)',
    inputs: X4,
    build: (g) => g.node('ReduceMean', ['x'], 'y', { axes: [0, 2], keepdims: 0 }),
  },
  {
    name: 'ReduceSum with axes input, keepdims 0',
    inputs: X4,
    build: (g) => g.node('ReduceSum', ['x', g.initInt64('ax', [1, -1])], 'y', { keepdims: 0 }),
  },
  { name: 'Softmax over channels', inputs: X4, build: unary('Softmax', { axis: 1 }) },
  { name: 'LogSoftmax', inputs: { x: ['N', 5] }, build: unary('LogSoftmax', { axis: -1 }) },
  {
    name: 'DepthToSpace DCR',
    inputs: { x: ['N', 8, 2, 3] },
    build: (g) => g.node('DepthToSpace', ['x'], 'y', { blocksize: 2 }),
  },
  {
    name: 'DepthToSpace CRD',
    inputs: { x: ['N', 8, 2, 3] },
    build: (g) => g.node('DepthToSpace', ['x'], 'y', { blocksize: 2, mode: 'CRD' }),
  },
  {
    name: 'SpaceToDepth',
    inputs: { x: ['N', 2, 4, 6] },
    build: (g) => g.node('SpaceToDepth', ['x'], 'y', { blocksize: 2 }),
  },
  {
    name: 'Identity, Dropout and a Constant-fed Mul',
    inputs: X4,
    build: (g) => {
      const k = g.constant('k', [3, 1, 1], [0.5, -1.5, 2]);
      g.node('Mul', [g.node('Dropout', [g.node('Identity', ['x'])]), k], 'y');
    },
  },
  // ---------------------------------------------------------------- further ops
  {
    name: 'ReduceMax over spatial axes and ReduceMin keepdims 0',
    inputs: X4,
    build: (g) =>
      g.node('Add', [
        g.node('ReduceMax', ['x'], undefined, { axes: [2, 3] }),
        g.node('Unsqueeze', [g.node('ReduceMin', ['x'], undefined, { axes: [1, 2, 3], keepdims: 0 }), g.initInt64('ua', [1, 2, 3])]),
      ], 'y'),
  },
  {
    name: 'ReduceL2 and ReduceSumSquare',
    inputs: X4,
    build: (g) =>
      g.node('Add', [g.node('ReduceL2', ['x'], undefined, { axes: [1] }), g.node('ReduceSumSquare', ['x'], undefined, { axes: [1] })], 'y'),
  },
  {
    name: 'Max, Min (broadcasting) and Mean',
    h: 1e-3,
    inputs: { a: ['N', 3, 4], b: [3, 1], c: ['N', 3, 4] },
    build: (g) => g.node('Mean', [g.node('Max', ['a', 'b']), g.node('Min', ['a', 'c'])], 'y'),
  },
  { name: 'GlobalMaxPool', inputs: X4, build: unary('GlobalMaxPool'), h: 1e-3 },
  { name: 'Elu', inputs: X4, build: unary('Elu', { alpha: 0.7 }), h: 1e-3 },
  { name: 'Selu', inputs: X4, build: unary('Selu'), h: 1e-3 },
  { name: 'HardSigmoid', inputs: X4, build: unary('HardSigmoid', { alpha: 0.3 }), h: 1e-3, transform: (_n, v) => 2 * v },
  { name: 'HardSwish', inputs: X4, opset: 14, build: unary('HardSwish'), h: 1e-3, transform: (_n, v) => 3 * v },
  {
    name: 'PRelu with per-channel slope (x, slope)',
    inputs: { x: ['N', 3, 4, 4], s: [3, 1, 1] },
    h: 1e-3,
    build: (g) => g.node('PRelu', ['x', 's'], 'y'),
  },
  {
    name: 'Gather: scalar index on axis 1 and repeated 1-D indices',
    inputs: { x: ['N', 5, 3] },
    build: (g) => {
      // A scalar index, computed from constants (Squeeze of a 1-D initializer): exercises constant evaluation.
      const scalar = g.node('Squeeze', [g.initInt64('i0', [1]), g.initInt64('sq', [0])]);
      const a = g.node('Gather', ['x', scalar], undefined, { axis: 1 });
      const b = g.node('Gather', ['x', g.initInt64('i1', [4, 0, 4, -1])], undefined, { axis: 1 });
      g.node('Mul', [b, g.node('Unsqueeze', [a, g.initInt64('u', [1])])], 'y');
    },
  },
  {
    name: 'LayerNormalization over the last two axes (x, scale, B)',
    opset: 17,
    inputs: { x: ['N', 3, 4, 5], s: [4, 5], b: [4, 5] },
    build: (g) => g.node('LayerNormalization', ['x', 's', 'b'], 'y', { axis: -2 }),
  },
  {
    name: 'Tile',
    inputs: { x: [2, 3, 2] },
    build: (g) => g.node('Tile', ['x', g.initInt64('r', [1, 2, 3])], 'y'),
  },
  {
    name: 'opset 18: ReduceMean and ReduceSum with axes inputs (and the loss written for opset 18)',
    opset: 18,
    inputs: X4,
    build: (g) =>
      g.node('ReduceSum', [g.node('ReduceMean', ['x', g.initInt64('a1', [2, 3])]), g.initInt64('a2', [1])], 'y', { keepdims: 0 }),
  },
  { name: 'Cast float32 → float32', inputs: X4, build: (g) => g.node('Tanh', [g.node('Cast', ['x'], undefined, { to: 1 })], 'y') },
  { name: 'Sin and Cos', inputs: X4, build: (g) => g.node('Cos', [g.node('Sin', ['x'])], 'y') },
  // ---------------------------------------------------------------- issue 19: mutation testing of src/autodiff/ops
  // Attributes at values other than their defaults (a rule that read the wrong attribute name would fall back to
  // the default and pass where the test sets the default), axes at 0 and negative, and rarer input forms.
  {
    name: 'BatchNormalization with epsilon 0.3 (not the default)',
    inputs: { x: ['N', 3, 2, 2], s: [3], b: [3] },
    build: (g) =>
      g.node('BatchNormalization', ['x', 's', 'b', g.init('mean', [3], [0.1, -0.2, 0.3]), g.init('var', [3], [0.05, 0.5, 0.2])], 'y', { epsilon: 0.3 }),
  },
  {
    name: 'InstanceNormalization with epsilon 0.3 (not the default)',
    inputs: { x: ['N', 3, 2, 3], s: [3], b: [3] },
    build: (g) => g.node('InstanceNormalization', ['x', 's', 'b'], 'y', { epsilon: 0.3 }),
  },
  {
    name: 'LayerNormalization with the default axis (−1) and epsilon 0.3, no bias (x, scale)',
    opset: 17,
    inputs: { x: ['N', 3, 4], s: [4] },
    build: (g) => g.node('LayerNormalization', ['x', 's'], 'y', { epsilon: 0.3 }),
  },
  {
    name: 'LayerNormalization axis 1 (positive) (x, scale, B)',
    opset: 17,
    inputs: { x: [2, 3, 4], s: [3, 4], b: [3, 4] },
    build: (g) => g.node('LayerNormalization', ['x', 's', 'b'], 'y', { axis: 1 }),
  },
  {
    name: 'LayerNormalization axis 0: over the whole tensor (x, scale)',
    opset: 17,
    inputs: { x: [2, 3, 2], s: [2, 3, 2] },
    build: (g) => g.node('LayerNormalization', ['x', 's'], 'y', { axis: 0 }),
  },
  { name: 'HardSigmoid with alpha 0.3, beta 0.3', inputs: X4, build: unary('HardSigmoid', { alpha: 0.3, beta: 0.3 }), h: 1e-3, transform: (_n, v) => 2 * v },
  { name: 'Selu with alpha 1.5, gamma 1.2', inputs: X4, build: unary('Selu', { alpha: 1.5, gamma: 1.2 }), h: 1e-3 },
  { name: 'Softmax with the default axis (−1 from opset 13)', inputs: { x: ['N', 3, 4] }, build: unary('Softmax') },
  { name: 'LogSoftmax with the default axis (−1 from opset 13)', inputs: { x: ['N', 3, 4] }, build: unary('LogSoftmax') },
  {
    name: 'Concat along axis 0',
    inputs: { a: [2, 3], b: [1, 3] },
    build: (g) => g.node('Concat', ['a', 'b'], 'y', { axis: 0 }),
  },
  {
    name: 'Gather on the default axis 0 and on axis −1',
    inputs: { x: [5, 3] },
    build: (g) => {
      const a = g.node('Gather', ['x', g.initInt64('i0', [4, 0, -1])]);
      const b = g.node('Gather', ['x', g.initInt64('i1', [2, 0, 0])], undefined, { axis: -1 });
      g.node('Concat', [a, b], 'y', { axis: 0 });
    },
  },
  {
    name: 'Clip with only min',
    inputs: X4,
    h: 1e-3,
    build: (g) => g.node('Clip', ['x', g.init('lo', [], [-0.2])], 'y'),
  },
  {
    name: 'Dropout with a constant bool training_mode false (opset 12 inputs; refused before issue 19)',
    inputs: X4,
    build: (g) => g.node('Dropout', ['x', g.init('ratio', [], [0.5]), g.initBool('train', false)], 'y'),
  },
  {
    name: 'MatMul of two 1-D vectors (a dot product)',
    inputs: { a: [4], b: [4] },
    build: (g) => g.node('MatMul', ['a', 'b'], 'y'),
  },
  {
    // dY of the Pow is the Expand of the ReduceSum's gradient: the rule may scale the small tensor only when x has
    // y's shape, and here x is broadcast up ([N,3,1] → [N,3,4]).
    name: 'Pow with a one-valued exponent tensor broadcasting x up, under a ReduceSum',
    inputs: { x: ['N', 3, 1] },
    transform: (_n, v) => 0.5 + Math.abs(v),
    build: (g) =>
      g.node('ReduceSum', [g.node('Pow', ['x', g.init('p', [3, 4], new Array<number>(12).fill(3))]), g.initInt64('ax', [2])], 'y'),
  },
  {
    name: 'ReduceSum (opset 13) without axes: over every axis',
    inputs: { x: ['N', 3, 2] },
    build: (g) => g.node('ReduceSum', ['x'], 'y', { keepdims: 0 }),
  },
  {
    name: 'MaxPool 2×2 stride 2 dilation 2: windows overlap through the dilation',
    inputs: { x: ['N', 2, 5, 5] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [2, 2], strides: [2, 2], dilations: [2, 2] }),
  },
  {
    name: 'Slice without axes and steps inputs, negative end',
    inputs: { x: [4, 5] },
    build: (g) => g.node('Slice', ['x', g.initInt64('st', [1, 0]), g.initInt64('en', [-1, 4])], 'y'),
  },
  {
    // Every begin and end pad of the gradient's Pad is non-zero.
    name: 'Slice cropping both ends of both axes',
    inputs: { x: [5, 6] },
    build: (g) => g.node('Slice', ['x', g.initInt64('st', [1, 1]), g.initInt64('en', [4, 5]), g.initInt64('ax', [0, 1])], 'y'),
  },
  {
    name: 'Slice step 2 on axis 1 of 4 (negative axis −3) and a reversal on the last axis from past its end',
    inputs: { x: ['N', 5, 2, 3] },
    build: (g) =>
      g.node(
        'Slice',
        ['x', g.initInt64('st', [0, 1000]), g.initInt64('en', [5, -1000]), g.initInt64('ax', [-3, 3]), g.initInt64('sp', [2, -1])],
        'y',
      ),
  },
  {
    name: 'Slice step −2 on axis 0 of 3 (the moved-axis MatMul), negative start',
    inputs: { x: [5, 2, 3] },
    build: (g) => g.node('Slice', ['x', g.initInt64('st', [-1]), g.initInt64('en', [-1000]), g.initInt64('ax', [0]), g.initInt64('sp', [-2])], 'y'),
  },
  {
    name: 'Pad (opset 18) with an axes input, one axis negative',
    opset: 18,
    inputs: { x: ['N', 2, 3, 4] },
    build: (g) => g.node('Pad', ['x', g.initInt64('pads', [1, 0, 2, -1]), '', g.initInt64('axes', [2, -1])], 'y'),
  },
  {
    name: 'Pad with all pads zero',
    inputs: { x: ['N', 2, 3] },
    build: (g) => g.node('Pad', ['x', g.initInt64('pads', [0, 0, 0, 0, 0, 0])], 'y'),
  },
  {
    // Even total padding (kernel 5 × 3, stride 1: 4 rows split 2 + 2, 2 columns split 1 + 1). (onnxruntime runs no
    // dilated SAME Conv.)
    name: 'Conv auto_pad SAME_LOWER stride 1, kernel 5 × 3 (x, W)',
    inputs: { x: ['N', 2, 5, 4], w: [2, 2, 5, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { auto_pad: 'SAME_LOWER' }),
  },
  {
    name: 'Slice from the last element back to (not including) index 0, step −1',
    inputs: { x: ['N', 4, 3] },
    build: (g) => g.node('Slice', ['x', g.initInt64('st', [-1]), g.initInt64('en', [0]), g.initInt64('ax', [1]), g.initInt64('sp', [-1])], 'y'),
  },
  {
    name: 'opset 18: ReduceMax, ReduceMin, ReduceL2 and ReduceSumSquare with axes inputs',
    opset: 18,
    inputs: X4,
    build: (g) => {
      const ax = (n: string) => g.initInt64(n, [1, 3]);
      const mx = g.node('Add', [g.node('ReduceMax', ['x', ax('a1')]), g.node('ReduceMin', ['x', ax('a2')])]);
      g.node('Add', [mx, g.node('Add', [g.node('ReduceL2', ['x', ax('a3')]), g.node('ReduceSumSquare', ['x', ax('a4')])])], 'y');
    },
  },
  { name: 'LogSoftmax over axis 1 of 3', inputs: { x: ['N', 3, 4] }, build: unary('LogSoftmax', { axis: 1 }) },
  {
    // On a 3×3 map every position lies in at least four of the nine padded 3×3 windows, so the maximum is shared.
    name: 'MaxPool 3×3 stride 1 pad 1 on 3×3: the maximum is the maximum of several windows',
    inputs: { x: ['N', 2, 3, 3] },
    h: 1e-3,
    build: (g) => g.node('MaxPool', ['x'], 'y', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv strides 1 × 2 (one axis strided), pads 1',
    inputs: { x: ['N', 3, 6, 5], w: [2, 3, 3, 3] },
    build: (g) => g.node('Conv', ['x', 'w'], 'y', { strides: [1, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv auto_pad VALID stride 2, 8 channels, constant weight',
    inputs: { x: ['N', 8, 5, 5] },
    build: (g) => g.node('Conv', ['x', g.init('w', [2, 8, 3, 3])], 'y', { auto_pad: 'VALID', strides: [2, 2] }),
  },
  {
    name: 'ConvTranspose auto_pad VALID',
    inputs: { x: ['N', 2, 3, 3], w: [2, 3, 2, 2] },
    build: (g) => g.node('ConvTranspose', ['x', 'w'], 'y', { auto_pad: 'VALID', strides: [2, 2] }),
  },
];

describe('autodiff rules: finite differences (relative error ≤ 1e-3)', function () {
  this.timeout(60000);
  for (const c of cases) {
    it(c.name, async () => {
      const { model, inputs, wrt } = make(c);
      await expectGradients({ model, inputs, wrt, h: c.h });
    });
  }
});

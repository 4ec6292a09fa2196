/**
 * Issue 19: the form of the convolution gradients. The Conv rule and convWeightGrad (src/autodiff/ops/conv.ts,
 * util.ts) choose between formulations that give the same values and differ in speed; each comment there records
 * the measurement behind the choice. rules.test.ts checks the values of every path; this file checks that each
 * documented choice is made where the comments say (a swapped condition would keep the values and lose the speed):
 *   dX, stride 1: a flipped-kernel Conv when X has ≥ 8 channels, the pads fit within the kernel's reach and W is a
 *   weight or has at most 1/16 of X's elements; else, for a padded 2-D undilated Conv, an unpadded ConvTranspose
 *   then a Slice; else a ConvTranspose with output_padding.
 *   dW: stride 1 → shifted Slices and MatMuls (K MatMuls, or one over the concatenated windows when K inputs have
 *   fewer elements than the weight; a 1×1 unpadded kernel reads x as it is); strided → one Conv.
 */
import { expect } from 'chai';
import { gradientModel } from 'ganvas';
import { GraphBuilder } from '../builder';

type Dims = (number | string)[];

/** Backward op counts: op type → number of nodes in the gradient model beyond the forward model's. */
async function backwardOps(x: Dims, w: number[], attrs: Record<string, number[] | number>, opts: { wrt: ('x' | 'w')[]; constW?: boolean }): Promise<Record<string, number>> {
  const g = new GraphBuilder(13);
  g.input('x', x);
  const wName = opts.constW ? g.init('w', w) : g.input('w', w);
  g.node('Conv', ['x', wName], 'y', attrs);
  g.output('y');
  const model = g.build('form');
  const gm = await gradientModel(model, { wrt: opts.wrt, loss: 'y' });
  const counts: Record<string, number> = {};
  for (const n of gm.graph.node ?? []) counts[n.opType as string] = (counts[n.opType as string] ?? 0) + 1;
  for (const n of model.graph.node ?? []) counts[n.opType as string] -= 1;
  return counts;
}

const n = (c: Record<string, number>, op: string) => c[op] ?? 0;

describe('autodiff: the form of the convolution gradients (issue 19)', () => {
  it('dX, stride 1, 8 channels, constant W, pads exactly the kernel reach (2 for 3×3): the flipped-kernel Conv', async () => {
    const c = await backwardOps(['N', 8, 5, 5], [4, 8, 3, 3], { pads: [2, 2, 2, 2] }, { wrt: ['x'], constW: true });
    expect(n(c, 'Conv'), 'backward Convs').to.equal(1);
    expect(n(c, 'ConvTranspose')).to.equal(0);
  });
  it('dX, stride 1, 8 channels, a varying W with exactly 1/16 of the input: the flipped-kernel Conv', async () => {
    // x 1 × 8 × 8 × 4 = 256 elements, W 2 × 8 × 1 × 1 = 16.
    const c = await backwardOps([1, 8, 8, 4], [2, 8, 1, 1], {}, { wrt: ['x', 'w'] });
    expect(n(c, 'Conv')).to.equal(1);
    expect(n(c, 'ConvTranspose')).to.equal(0);
  });
  it('dX, stride 1, 8 channels, a varying W with more than 1/16 of the input: a ConvTranspose', async () => {
    const c = await backwardOps([1, 8, 4, 4], [8, 8, 3, 3], { pads: [1, 1, 1, 1] }, { wrt: ['x', 'w'] });
    expect(n(c, 'ConvTranspose')).to.equal(1);
    expect(n(c, 'Conv')).to.equal(0);
  });
  it('dX, stride 1, 7 channels, padded: an unpadded ConvTranspose then a Slice', async () => {
    const c = await backwardOps(['N', 7, 5, 5], [4, 7, 3, 3], { pads: [1, 1, 1, 1] }, { wrt: ['x'], constW: true });
    expect(n(c, 'ConvTranspose')).to.equal(1);
    expect(n(c, 'Conv')).to.equal(0);
    expect(n(c, 'Slice')).to.equal(1);
  });
  it('dX, stride 1, 7 channels, padded on one side of each axis only: still the unpadded ConvTranspose then a Slice', async () => {
    const c = await backwardOps(['N', 7, 5, 5], [4, 7, 3, 3], { pads: [1, 0, 0, 1] }, { wrt: ['x'], constW: true });
    expect(n(c, 'ConvTranspose')).to.equal(1);
    expect(n(c, 'Slice')).to.equal(1);
  });
  it('dX, stride 1, 8 channels, a pad beyond the kernel reach (begin or end): not the flipped Conv', async () => {
    for (const pads of [[3, 0, 0, 0], [0, 0, 3, 0], [0, 3, 0, 0], [0, 0, 0, 3]]) {
      const c = await backwardOps(['N', 8, 5, 5], [4, 8, 3, 3], { pads }, { wrt: ['x'], constW: true });
      expect(n(c, 'Conv'), `pads ${pads}`).to.equal(0);
      expect(n(c, 'ConvTranspose'), `pads ${pads}`).to.equal(1);
    }
  });
  it('dX, stride 1, 8 channels, dilation 2 with pads 4 (the dilated reach): the flipped Conv', async () => {
    const c = await backwardOps(['N', 8, 6, 6], [4, 8, 3, 3], { pads: [4, 4, 4, 4], dilations: [2, 2] }, { wrt: ['x'], constW: true });
    expect(n(c, 'Conv')).to.equal(1);
  });
  it('dX, stride 1, few channels, no pads, or 1-D, or dilated: a ConvTranspose without a crop', async () => {
    for (const [x, w, attrs] of [
      [['N', 3, 5, 5], [4, 3, 3, 3], {}],
      [['N', 3, 7], [4, 3, 3], { pads: [1, 1] }],
      [['N', 3, 7, 7], [4, 3, 3, 3], { pads: [1, 1, 1, 1], dilations: [2, 2] }],
    ] as [Dims, number[], Record<string, number[]>][]) {
      const c = await backwardOps(x, w, attrs, { wrt: ['x'], constW: true });
      expect(n(c, 'ConvTranspose'), JSON.stringify(attrs)).to.equal(1);
      expect(n(c, 'Slice'), JSON.stringify(attrs)).to.equal(0);
    }
  });
  it('dX, stride 2, 8 channels: a ConvTranspose', async () => {
    const c = await backwardOps(['N', 8, 6, 6], [4, 8, 3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] }, { wrt: ['x'], constW: true });
    expect(n(c, 'ConvTranspose')).to.equal(1);
    expect(n(c, 'Conv')).to.equal(0);
  });
  it('dW, stride 1: no Conv, one MatMul per kernel offset when the weight is smaller than K inputs', async () => {
    // x 2 × 3 × 5 × 5 = 150 elements, 9 inputs = 1350 > W 4 × 3 × 9 = 108.
    const c = await backwardOps([2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }, { wrt: ['w'] });
    expect(n(c, 'Conv') + n(c, 'ConvTranspose')).to.equal(0);
    expect(n(c, 'MatMul')).to.equal(9);
  });
  it('dW, stride 1: one MatMul over the concatenated windows when the weight outweighs K inputs', async () => {
    // x 1 × 2 × 2 × 2 = 8 elements (9 inputs: 72) against W 16 × 2 × 9 = 288.
    const c = await backwardOps([1, 2, 2, 2], [16, 2, 3, 3], { pads: [1, 1, 1, 1] }, { wrt: ['w'] });
    expect(n(c, 'MatMul')).to.equal(1);
    expect(n(c, 'Concat')).to.equal(1);
  });
  it('dW, stride 1: K inputs exactly as large as the weight take the K MatMuls', async () => {
    // x 1 × 4 × 2 × 2 = 16 elements, W 4 × 4 × 3 × 3: M·Cg = 16.
    const c = await backwardOps([1, 4, 2, 2], [4, 4, 3, 3], { pads: [1, 1, 1, 1] }, { wrt: ['w'] });
    expect(n(c, 'MatMul')).to.equal(9);
  });
  it('dW, a 1×1 kernel without pads: x read as it is (no Pad, no Slice), one MatMul', async () => {
    const c = await backwardOps([2, 4, 3, 3], [16, 4, 1, 1], {}, { wrt: ['w'] });
    expect(n(c, 'Pad')).to.equal(0);
    expect(n(c, 'Slice')).to.equal(0);
    expect(n(c, 'MatMul')).to.equal(1);
  });
  it('dW, a padded 1×1 kernel: the padded input is sliced', async () => {
    const c = await backwardOps([2, 4, 3, 3], [2, 4, 1, 1], { pads: [1, 0, 0, 1] }, { wrt: ['w'] });
    expect(n(c, 'Pad')).to.be.at.least(1);
    expect(n(c, 'Slice')).to.equal(1);
  });
  it('dW, strided: one Conv', async () => {
    const c = await backwardOps([2, 3, 6, 6], [4, 3, 3, 3], { strides: [2, 2] }, { wrt: ['w'] });
    expect(n(c, 'Conv')).to.equal(1);
    expect(n(c, 'MatMul')).to.equal(0);
  });
});

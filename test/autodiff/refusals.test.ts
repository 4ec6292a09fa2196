/**
 * Gradient rules refuse what they do not handle with a GanvasError naming the attribute (issue 19: the Resize
 * rule's refusals were untested, so a rule that silently differentiated cubic or antialiased resizing as nearest
 * would have passed).
 */
import { expect } from 'chai';
import { GanvasError, gradientModel } from 'ganvas';
import { GraphBuilder } from '../builder';

async function refusal(build: (g: GraphBuilder) => void, opset = 13, more: Record<string, (number | string)[]> = {}, xDims: (number | string)[] = ['N', 2, 3, 4]): Promise<string> {
  const g = new GraphBuilder(opset);
  g.input('x', xDims);
  for (const [name, dims] of Object.entries(more)) g.input(name, dims);
  build(g);
  g.output('y');
  try {
    await gradientModel(g.build('refusal'), { wrt: ['x', ...Object.keys(more).filter((n) => !n.startsWith('k'))], loss: 'y' });
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    return (e as Error).message;
  }
  throw new Error('expected a GanvasError');
}

describe('autodiff rules: refusals', () => {
  it('Resize: cubic mode, antialias, the axes attribute', async () => {
    const scales = (g: GraphBuilder) => g.init('sc', [4], [1, 1, 2, 2]);
    expect(await refusal((g) => g.node('Resize', ['x', '', scales(g)], 'y', { mode: 'cubic' }))).to.include('mode "cubic" is not supported (nearest and linear are)');
    expect(await refusal((g) => g.node('Resize', ['x', '', scales(g)], 'y', { mode: 'linear', antialias: 1 }), 18)).to.include('antialias is not supported');
    expect(await refusal((g) => g.node('Resize', ['x', '', g.init('sc2', [2], [2, 2])], 'y', { mode: 'nearest', axes: [2, 3] }), 18)).to.include('the axes attribute is not supported');
  });

  // Issue 19 (mutation testing): each rule's refusals, with the reason in the message. Inputs named k… are graph
  // inputs that are not differentiated (a value the rule needs as a constant but cannot have).
  // (training_mode 1 and a Conv kernel_shape of the wrong rank are refused by onnxruntime itself when it loads the model.)
  it('onnxruntime itself refuses a training-mode BatchNormalization and a Conv kernel_shape of the wrong rank (the rules\' guards for them are unreachable)', async () => {
    expect(await refusal((g) => g.node('BatchNormalization', ['x', g.init('s', [2]), g.init('b', [2]), g.init('m', [2]), g.init('v', [2], [1, 2])], 'y', { training_mode: 1 }), 15)).to.include('onnxruntime could not load');
    expect(await refusal((g) => g.node('Conv', ['x', g.init('w', [2, 2, 2, 2])], 'y', { kernel_shape: [2] }))).to.include('onnxruntime could not load');
  });
  it('BatchNormalization: gradients w.r.t. the running statistics', async () => {
    const bn = (g: GraphBuilder, mean: string, attrs = {}) =>
      g.node('BatchNormalization', ['x', g.init('s', [2]), g.init('b', [2]), mean, g.init('v', [2], [1, 2])], 'y', attrs);
    expect(await refusal((g) => bn(g, 'm'), 13, { m: [2] })).to.include('running mean and variance');
  });
  it('LayerNormalization: a gradient through its Mean output', async () => {
    const msg = await refusal((g) => {
      g.node('LayerNormalization', ['x', g.init('s', [4])], ['n', 'mean'], {});
      g.node('Add', ['n', 'mean'], 'y');
    }, 17);
    expect(msg).to.include('gradients through the Mean');
  });
  it('ConvTranspose: auto_pad SAME_UPPER, output_shape', async () => {
    const w = (g: GraphBuilder) => g.init('w', [2, 2, 2, 2]);
    expect(await refusal((g) => g.node('ConvTranspose', ['x', w(g)], 'y', { auto_pad: 'SAME_UPPER', strides: [2, 2] }))).to.include('auto_pad SAME_UPPER is no');
    expect(await refusal((g) => g.node('ConvTranspose', ['x', w(g)], 'y', { output_shape: [6, 8], strides: [2, 2] }))).to.include('output_shape attribute is not supported');
  });
  it('AveragePool: dilations, ceil_mode windows past the input', async () => {
    expect(await refusal((g) => g.node('AveragePool', ['x'], 'y', { kernel_shape: [2, 2], dilations: [2, 2] }), 19)).to.include('dilations are not supported');
    expect(await refusal((g) => g.node('AveragePool', ['x'], 'y', { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }))).to.include('ceil_mode windows that run past');
  });
  it('Pad: reflect mode, pads and axes that are not constant', async () => {
    expect(await refusal((g) => g.node('Pad', ['x', g.initInt64('p', [0, 0, 1, 1, 0, 0, 1, 1])], 'y', { mode: 'reflect' }))).to.include('mode "reflect" is not supported (only "constant")');
    expect(await refusal((g) => g.node('Pad', ['x', g.node('Cast', ['kp'], undefined, { to: 7 })], 'y'), 13, { kp: [8] })).to.include('its pads input must be constant');
    expect(await refusal((g) => g.node('Pad', ['x', g.initInt64('p', [1, 1]), '', g.node('Cast', ['ka'], undefined, { to: 7 })], 'y'), 18, { ka: [1] })).to.include('its axes input must be constant');
  });
  it('Slice, Gather, ReduceSum, Resize: indices, axes or sizes that are not constant', async () => {
    const i64 = (g: GraphBuilder, name: string) => g.node('Cast', [name], undefined, { to: 7 });
    expect(await refusal((g) => g.node('Slice', ['x', i64(g, 'ks'), g.initInt64('e', [2]), g.initInt64('a', [1])], 'y'), 13, { ks: [1] })).to.include('its starts input must be constant');
    expect(await refusal((g) => g.node('Slice', ['x', g.initInt64('s', [1]), i64(g, 'ke'), g.initInt64('a', [1])], 'y'), 13, { ke: [1] })).to.include('its ends input must be constant');
    expect(await refusal((g) => g.node('Slice', ['x', g.initInt64('s', [1]), g.initInt64('e', [2]), i64(g, 'ka')], 'y'), 13, { ka: [1] })).to.include('its axes input must be constant');
    expect(await refusal((g) => g.node('Slice', ['x', g.initInt64('s', [1]), g.initInt64('e', [2]), g.initInt64('a', [1]), i64(g, 'kp')], 'y'), 13, { kp: [1] })).to.include('its steps input must be constant');
    expect(await refusal((g) => g.node('Gather', ['x', i64(g, 'ki')], 'y', { axis: 1 }), 13, { ki: [2] })).to.include('its indices must be constant');
    expect(await refusal((g) => g.node('ReduceSum', ['x', i64(g, 'kx')], 'y'), 13, { kx: [1] })).to.include('the axes input must be constant');
    expect(await refusal((g) => g.node('Resize', ['x', '', g.node('Abs', ['kc'])], 'y', { mode: 'nearest' }), 13, { kc: [4] })).to.include('its scales or sizes must be c');
  });
  it('Tile: an input with a symbolic size', async () => {
    expect(await refusal((g) => g.node('Tile', ['x', g.initInt64('r', [1, 2, 1, 1])], 'y'))).to.include('the input must have known siz');
  });
  it('Resize: an unknown coordinate_transformation_mode or nearest_mode', async () => {
    const sc = (g: GraphBuilder) => g.init('sc', [4], [1, 1, 2, 2]);
    expect(await refusal((g) => g.node('Resize', ['x', g.init('roi', [8], [0, 0, 0, 0, 1, 1, 1, 1]), sc(g)], 'y', { mode: 'nearest', coordinate_transformation_mode: 'tf_crop_and_resize' }))).to.include('coordinate_transformation_mode "tf_crop_and_resize" is not supported');
  });
  it('Slice and Gather along the symbolic batch axis', async () => {
    expect(await refusal((g) => g.node('Slice', ['x', g.initInt64('s', [0]), g.initInt64('e', [1]), g.initInt64('a', [0])], 'y'))).to.include('axis 0 of "x" is sliced but its size is symbolic');
    expect(await refusal((g) => g.node('Gather', ['x', g.initInt64('i', [0])], 'y', { axis: 0 }))).to.include('the gathered axis 0 has a symbolic size');
  });
  it('AveragePool: a dilation on one axis only', async () => {
    expect(await refusal((g) => g.node('AveragePool', ['x'], 'y', { kernel_shape: [2, 2], dilations: [1, 2] }), 19)).to.include('dilations are not supported');
  });
  it('Concat along an axis of symbolic size', async () => {
    expect(await refusal((g) => g.node('Concat', ['x', 'x'], 'y', { axis: 0 }))).to.include('has a symbolic size along the concatenation axis');
  });
  it('rules that need static sizes name themselves when a size follows the batch', async () => {
    // x [N, 4, 3, 4] reshaped to [1, 4N, 3, 4]: the channel axis grows with the batch.
    for (const [op, attrs] of [
      ['AveragePool', { kernel_shape: [2, 2] }],
      ['GlobalAveragePool', {}],
    ] as [string, Record<string, number[] | number>][]) {
      const msg = await refusal((g) => g.node(op, [g.node('Reshape', ['x', g.initInt64('s', [1, -1, 3, 4])])], 'y', attrs), 13, {}, ['N', 4, 3, 4]);
      expect(msg, op).to.include(`the ${op} gradient`);
    }
  });
});

/**
 * The layer browser's rules, one by one (issue 19; src/layerBrowser.ts's header is the spec): a row per 4-D float
 * tensor says what the tensor is from its shape, producing op and what that op reads; the default view keeps the
 * manifest's named layers (first, in graph order) and the spatial activations, and hides per-channel vectors,
 * modulation intermediates, maps of three channels or fewer and the outputs. Hand-made graphs (test/builder.ts)
 * with one tensor per rule; the printed and HTML tables are worked out by hand.
 */
import { expect } from 'chai';
import { inspect } from 'util';
import { LayerRow, layerTable } from 'ganvas';
import { GraphBuilder } from './builder';

/**
 * One tensor per op the browser names, and one per classification rule. x [N,16,4,4], z [N,8].
 */
function zoo(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 16, 4, 4]);
  const z = g.input('z', ['N', 8]);
  const conv = g.conv(x, 16, 8, 'conv');
  const relu = g.node('Relu', [conv], 'relu');
  const lrelu = g.node('LeakyRelu', [relu], 'lrelu', { alpha: 0.2 });
  const sig = g.node('Sigmoid', [lrelu], 'sig');
  const tanh = g.node('Tanh', [sig], 'tanh');
  const add = g.node('Add', [tanh, relu], 'add');
  const mul = g.node('Mul', [add, relu], 'mul');
  const up = g.node('Resize', [mul, '', g.init('scales', [4], [1, 1, 2, 2])], 'up', { mode: 'nearest' });
  const mp = g.node('MaxPool', [up], 'maxpool', { kernel_shape: [2, 2], strides: [2, 2] });
  const ap = g.node('AveragePool', [up], 'avgpool', { kernel_shape: [2, 2], strides: [2, 2] });
  const ones = Array(8).fill(1);
  const zeros = Array(8).fill(0);
  const bn = g.node('BatchNormalization', [ap, g.init('bn_s', [8], ones), g.init('bn_b', [8], zeros), g.init('bn_m', [8], zeros), g.init('bn_v', [8], ones)], 'bn');
  const inn = g.node('InstanceNormalization', [bn, g.init('in_s', [8], ones), g.init('in_b', [8], zeros)], 'inorm');
  const cat = g.node('Concat', [mp, inn], 'cat', { axis: 1 });
  g.node('DepthToSpace', [cat], 'd2s', { blocksize: 2 });
  g.node('ConvTranspose', [x, g.init('ct_w', [16, 8, 2, 2])], 'convT', { strides: [2, 2], kernel_shape: [2, 2] });
  const rs = g.node('Reshape', [g.node('Gemm', [z, g.init('fc_w', [128, 8])], 'fc', { transB: 1 }), g.initInt64('rs_shape', [-1, 8, 4, 4])], 'reshape');
  const batch = g.node('Slice', [g.node('Shape', [z], 'zshape'), g.initInt64('s0', [0]), g.initInt64('s1', [1]), g.initInt64('sa', [0])], 'batch');
  const shapeN = g.node('Concat', [batch, g.initInt64('chw', [8, 4, 4])], 'shapeN', { axis: 0 });
  g.node('Expand', [g.init('const4', [1, 8, 4, 4]), shapeN], 'expand');
  const elu = g.node('Elu', [rs], 'elu');
  // Gains: a constant on either side, a Constant node or an initializer; a Div by one; a gain on a graph input.
  const gain = g.constant('gain', [1], [0.7]);
  g.node('Mul', [relu, gain], 'relu_gain');
  g.node('Mul', [gain, elu], 'elu_gain');
  g.node('Div', [tanh, g.init('div', [1], [2])], 'tanh_div');
  g.node('Mul', [x, gain], 'x_gain');
  // A bias: an Add with a constant is a sum, not a gain.
  g.node('Add', [relu, g.init('bias', [1, 8, 1, 1])], 'add_bias');
  // Styles and norms.
  const style = g.node('Reshape', [g.node('Gemm', [z, g.init('map_w', [8, 8])], 'map', { transB: 1 }), g.initInt64('style_shape', [-1, 8, 1, 1])], 'style');
  g.node('Mul', [relu, style], 'mod');
  g.node('Div', [relu, style], 'demod');
  g.node('Mul', [style, style], 'style2');
  const pw = g.node('Pow', [relu, g.init('two', [1], [2])], 'pow');
  const norm = g.node('Sqrt', [g.node('ReduceMean', [pw], 'msq', { axes: [1], keepdims: 1 })], 'norm');
  g.node('Div', [relu, norm], 'pixnorm');
  const four = g.conv(relu, 8, 4, 'four', 1);
  g.node('Mul', [four, norm], 'pixnorm4');
  const rgb = g.conv(relu, 8, 3, 'rgb', 1);
  g.node('Div', [rgb, norm], 'rgb_norm');
  g.node('Pow', [rgb, g.init('two3', [1], [2])], 'rgb_pow');
  g.node('Mul', [rgb, gain], 'rgb_gain');
  g.conv(relu, 8, 2, 'two_ch', 1);
  const row = g.node('ReduceMean', [relu], 'row', { axes: [2], keepdims: 1 });
  g.node('ReduceMean', [relu], 'col', { axes: [3], keepdims: 1 });
  g.node('Mul', [relu, row], 'mul_row');
  // Outputs: a 1×1 one and a 3-channel one are outputs first.
  g.node('GlobalAveragePool', [tanh], 'out_vec');
  g.output('out_vec', ['N', 8, 1, 1]);
  g.node('Tanh', [rgb], 'img');
  g.output('img', ['N', 3, 4, 4]);
  return g;
}

const EXPECTED: [string, string, string][] = [
  ['conv', 'activation', 'convolution output'],
  ['relu', 'activation', 'activation (ReLU)'],
  ['lrelu', 'activation', 'activation (LeakyReLU)'],
  ['sig', 'activation', 'activation (sigmoid)'],
  ['tanh', 'activation', 'activation (tanh)'],
  ['add', 'activation', 'sum (residual, bias or noise added)'],
  ['mul', 'activation', 'scaled'],
  ['up', 'activation', 'upsampled'],
  ['maxpool', 'activation', 'max-pooled'],
  ['avgpool', 'activation', 'average-pooled'],
  ['bn', 'activation', 'batch-normalized'],
  ['inorm', 'activation', 'instance-normalized'],
  ['cat', 'activation', 'concatenation (skip connection)'],
  ['d2s', 'activation', 'pixel shuffle (depth to space)'],
  ['convT', 'activation', 'transposed convolution output'],
  ['reshape', 'activation', 'reshaped (e.g. a latent projected to a first feature map)'],
  ['expand', 'activation', 'constant input broadcast to the batch'],
  ['elu', 'activation', 'Elu output'],
  ['relu_gain', 'activation', 'activation (ReLU), scaled by a constant'],
  ['elu_gain', 'activation', 'Elu output, scaled by a constant'],
  ['tanh_div', 'activation', 'activation (tanh), scaled by a constant'],
  ['x_gain', 'activation', 'scaled'],
  ['add_bias', 'activation', 'sum (residual, bias or noise added)'],
  ['style', 'vector', 'per-channel vector [N, C, 1, 1] (a style or pooled features): not spatial'],
  ['mod', 'modulation', 'scaled per channel by a style vector (modulation / demodulation intermediate)'],
  ['demod', 'modulation', 'scaled per channel by a style vector (modulation / demodulation intermediate)'],
  ['style2', 'vector', 'per-channel vector [N, C, 1, 1] (a style or pooled features): not spatial'],
  ['pow', 'modulation', 'normalization intermediate (a power of the activations)'],
  ['msq', 'few-channel', '1 channel (a noise map, or an image / RGB skip)'],
  ['norm', 'few-channel', '1 channel (a noise map, or an image / RGB skip)'],
  ['pixnorm', 'activation', 'normalized per pixel (divided by a one-channel norm map: pixel norm)'],
  ['four', 'activation', 'convolution output'],
  ['pixnorm4', 'activation', 'normalized per pixel (divided by a one-channel norm map: pixel norm)'],
  ['rgb', 'few-channel', '3 channels (a noise map, or an image / RGB skip)'],
  ['rgb_norm', 'few-channel', '3 channels (a noise map, or an image / RGB skip)'],
  ['rgb_pow', 'modulation', 'normalization intermediate (a power of the activations)'],
  ['rgb_gain', 'few-channel', '3 channels (a noise map, or an image / RGB skip)'],
  ['two_ch', 'few-channel', '2 channels (a noise map, or an image / RGB skip)'],
  ['row', 'activation', 'ReduceMean output'],
  ['col', 'activation', 'ReduceMean output'],
  ['mul_row', 'activation', 'scaled'],
  ['out_vec', 'output', "the model's output"],
  ['img', 'output', "the model's output"],
];

describe('layer browser parts: what each tensor is', function () {
  this.timeout(120_000);

  it('every 4-D float tensor, in graph order, with the kind and words its op, shape and reads give', async () => {
    const t = await layerTable(zoo().build('zoo'), 'zoo', { all: true });
    expect(t.map((r) => [r.tensor, r.kind, r.what])).to.deep.equal(EXPECTED);
    expect(t.hidden).to.equal(0);
    // Shapes and ops as the probe sees them.
    const byTensor = new Map(t.map((r) => [r.tensor, r]));
    expect(byTensor.get('up')).to.deep.equal({ name: 'up', tensor: 'up', aliases: [], channels: 8, height: 8, width: 8, op: 'Resize', kind: 'activation', what: 'upsampled' });
    expect(byTensor.get('d2s')).to.include({ channels: 4, height: 8, width: 8, op: 'DepthToSpace' });
    expect(byTensor.get('row')).to.include({ channels: 8, height: 1, width: 4 });
    expect(byTensor.get('col')).to.include({ channels: 8, height: 4, width: 1 });
    expect(byTensor.get('relu_gain')?.op).to.equal('Mul');
  });

  it('the default view: spatial activations only, in graph order; the rest counted as hidden', async () => {
    const t = await layerTable(zoo().build('zoo'), 'zoo');
    const activations = EXPECTED.filter(([, kind]) => kind === 'activation').map(([n]) => n);
    expect(t.map((r) => r.tensor)).to.deep.equal(activations);
    expect(t.hidden).to.equal(EXPECTED.length - activations.length);
    expect(t.model).to.equal('zoo');
  });

  it('Upsample (opset 9) is "upsampled"', async () => {
    const g = new GraphBuilder(9);
    const x = g.input('x', ['N', 8, 2, 2]);
    g.node('Relu', [g.node('Upsample', [x, g.init('scales', [4], [1, 1, 2, 2])], 'up', { mode: 'nearest' })], 'y');
    g.output('y', ['N', 8, 4, 4]);
    const t = await layerTable(g.build('up9'), 'up9', { all: true });
    expect(t.map((r) => `${r.tensor}:${r.what}`)).to.deep.equal(['up:upsampled', "y:the model's output"]);
  });

  it('symbolic spatial inputs are probed at the inputShapes given', async () => {
    const g = new GraphBuilder();
    g.node('Relu', [g.conv(g.input('x', ['N', 3, 'H', 'W']), 3, 8, 'c')], 'h');
    g.output('h', ['N', 8, 'H', 'W']);
    const t = await layerTable(g.build('sym'), 'sym', { inputShapes: { x: [1, 3, 6, 5] } });
    expect(t.map((r) => [r.tensor, r.channels, r.height, r.width])).to.deep.equal([['c', 8, 6, 5]]);
  });
});

/**
 * x [N,3,4,6] → conv c (8 ch) → Relu h → GlobalAveragePool p [N,8,1,1] → m = h × p → 1×1 conv y (3 ch, the output).
 * Aliases (given in this order): "m&m&m" → m, "a<1><2>" → h, "b&" → h.
 */
function tiny(aliases: Record<string, string> = { 'm&m&m': 'm', 'a<1><2>': 'h', 'b&': 'h' }) {
  const g = new GraphBuilder();
  const c = g.conv(g.input('x', ['N', 3, 4, 6]), 3, 8, 'c');
  const h = g.node('Relu', [c], 'h');
  const m = g.node('Mul', [h, g.node('GlobalAveragePool', [h], 'p')], 'm');
  g.conv(m, 8, 3, 'y', 1);
  g.output('y', ['N', 3, 4, 6]);
  return g.build('tiny').withAliases(aliases);
}

describe('layer browser parts: the table', function () {
  this.timeout(120_000);

  it('named layers first (in graph order, by their first alias, whatever their kind), then the other activations', async () => {
    const t = await layerTable(tiny(), 'T');
    const rows: LayerRow[] = [
      { name: 'a<1><2>', tensor: 'h', aliases: ['a<1><2>', 'b&'], channels: 8, height: 4, width: 6, op: 'Relu', kind: 'activation', what: 'named layer: activation (ReLU)' },
      { name: 'm&m&m', tensor: 'm', aliases: ['m&m&m'], channels: 8, height: 4, width: 6, op: 'Mul', kind: 'modulation', what: 'named layer: scaled per channel by a style vector (modulation / demodulation intermediate)' },
      { name: 'c', tensor: 'c', aliases: [], channels: 8, height: 4, width: 6, op: 'Conv', kind: 'activation', what: 'convolution output' },
    ];
    expect([...t]).to.deep.equal(rows);
    expect(t.hidden).to.equal(2); // p (a vector) and y (the output)
    const all = await layerTable(tiny(), 'T', { all: true });
    expect(all.map((r) => r.name)).to.deep.equal(['a<1><2>', 'm&m&m', 'c', 'p', 'y']);
    expect(all.hidden).to.equal(0);
  });

  it('prints as a padded plain-text table under a heading (also for util.inspect), worked out by hand', async () => {
    const t = await layerTable(tiny(), 'T');
    const text = [
      'T: 2 named layers, 1 other; 2 non-spatial or intermediate tensors hidden (layers({ all: true }) lists them)',
      'name     shape (C×H×W)  op    what',
      'a<1><2>  8×4×6          Relu  named layer: activation (ReLU)',
      'm&m&m    8×4×6          Mul   named layer: scaled per channel by a style vector (modulation / demodulation intermediate)',
      'c        8×4×6          Conv  convolution output',
    ].join('\n');
    expect(String(t)).to.equal(text);
    expect(t.toString()).to.equal(text);
    expect(inspect(t)).to.equal(text);
    const all = await layerTable(tiny({ only: 'c' }), 'tiny model', { all: true });
    expect(String(all)).to.equal(
      [
        'tiny model: 1 named layer, 4 other',
        'name  shape (C×H×W)  op                 what',
        'only  8×4×6          Conv               named layer: convolution output',
        'h     8×4×6          Relu               activation (ReLU)',
        'p     8×1×1          GlobalAveragePool  per-channel vector [N, C, 1, 1] (a style or pooled features): not spatial',
        'm     8×4×6          Mul                scaled per channel by a style vector (modulation / demodulation intermediate)',
        "y     3×4×6          Conv               the model's output",
      ].join('\n'),
    );
    // A long layer name widens the first column.
    const long = await layerTable(tiny({ 'generator.block8.conv_after_relu': 'h' }), 'L');
    expect(String(long).split('\n').slice(1)).to.deep.equal([
      'name                              shape (C×H×W)  op    what',
      'generator.block8.conv_after_relu  8×4×6          Relu  named layer: activation (ReLU)',
      'c                                 8×4×6          Conv  convolution output',
    ]);
    expect(String(long).split('\n')[0]).to.equal('L: 1 named layer, 1 other; 3 non-spatial or intermediate tensors hidden (layers({ all: true }) lists them)');
  });

  it('as HTML, names escaped; still an array for code (JSON, keys), with model and hidden', async () => {
    const t = await layerTable(tiny(), 'T');
    expect(t.toHtml()).to.equal(
      '<table><thead><tr><th>name</th><th>shape (C×H×W)</th><th>op</th><th>what</th></tr></thead><tbody>' +
        '<tr><td><code>a&lt;1&gt;&lt;2&gt;</code></td><td>8×4×6</td><td>Relu</td><td>named layer: activation (ReLU)</td></tr>' +
        '<tr><td><code>m&amp;m&amp;m</code></td><td>8×4×6</td><td>Mul</td><td>named layer: scaled per channel by a style vector (modulation / demodulation intermediate)</td></tr>' +
        '<tr><td><code>c</code></td><td>8×4×6</td><td>Conv</td><td>convolution output</td></tr>' +
        '</tbody></table>',
    );
    expect(Array.isArray(t)).to.equal(true);
    expect(Object.keys(t)).to.deep.equal(['0', '1', '2']);
    // Only the rows are enumerable (a spread or a copy is the plain rows): not the heading, printers or inspect hook.
    expect(Reflect.ownKeys(t).filter((k) => Object.prototype.propertyIsEnumerable.call(t, k))).to.deep.equal(['0', '1', '2']);
    expect(Reflect.ownKeys(t)).to.include.members(['model', 'hidden', 'toString', 'toHtml', inspect.custom]);
    expect(JSON.parse(JSON.stringify(t)).map((r: LayerRow) => r.name)).to.deep.equal(['a<1><2>', 'm&m&m', 'c']);
    expect([t.model, t.hidden]).to.deep.equal(['T', 2]);
    // Empty: no layer at all.
    const g = new GraphBuilder();
    g.node('Relu', [g.input('x', ['N', 8])], 'y');
    g.output('y', ['N', 8]);
    const none = await layerTable(g.build('flat'), 'flat');
    expect(String(none)).to.equal('flat: 0 named layers, 0 other\nname  shape (C×H×W)  op  what');
    expect(none.toHtml()).to.equal('<table><thead><tr><th>name</th><th>shape (C×H×W)</th><th>op</th><th>what</th></tr></thead><tbody></tbody></table>');
  });
});

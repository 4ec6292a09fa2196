/**
 * The layer browser (issue 16, item 7): which hidden layers of a model are worth cutting at, aliases first.
 *
 * `layers(model)` lists every intermediate 4-D float tensor — 97 for the demo StyleGAN, most of them pieces of a
 * modulated convolution. `layerTable` sorts and labels them: the manifest's named layers first, then the other
 * spatial activations; per-channel vectors ([N, C, 1, 1]: styles, pooled features), the tensors a style scales
 * (modulation / demodulation intermediates), maps of three channels or fewer (noise, RGB skips) and the model's
 * outputs are left out unless `all` is asked for. Each row says what the tensor is, from its shape, its producing
 * op and what that op reads — a rule, so it works on models ganvas never saw.
 */
import { inspect } from 'util';
import { GraphIndex } from './onnx/graph';
import { LayerInfo, layers } from './onnx/layers';
import { OnnxModel } from './onnx/model';
import { ProbeOptions } from './onnx/probe';

export type LayerKind = 'activation' | 'vector' | 'modulation' | 'few-channel' | 'output';

export interface LayerRow {
  /** What to pass to `gen.cut(name)` / `FeatureExtractor.open(dir, name)`: the alias when there is one. */
  name: string;
  /** The ONNX tensor name. */
  tensor: string;
  aliases: string[];
  channels: number;
  height: number;
  width: number;
  /** The producing node's op type. */
  op: string;
  kind: LayerKind;
  /** A few words on what the tensor is. */
  what: string;
}

export interface LayerTable extends Array<LayerRow> {
  /** The model's name (its manifest's), for the heading. */
  model: string;
  /** How many 4-D tensors the default view left out (0 with `all`). */
  hidden: number;
  /** A plain-text table (what a notebook shows when the table is a cell's value). */
  toString(): string;
  /** An HTML table (for `showHtml`). */
  toHtml(): string;
}

export interface LayerTableOptions extends ProbeOptions {
  /** Every 4-D tensor, not only the aliases and spatial activations (default false). */
  all?: boolean;
}

const WHAT: Record<string, string> = {
  Conv: 'convolution output',
  ConvTranspose: 'transposed convolution output',
  Relu: 'activation (ReLU)',
  LeakyRelu: 'activation (LeakyReLU)',
  Sigmoid: 'activation (sigmoid)',
  Tanh: 'activation (tanh)',
  Add: 'sum (residual, bias or noise added)',
  Mul: 'scaled',
  Resize: 'upsampled',
  Upsample: 'upsampled',
  MaxPool: 'max-pooled',
  AveragePool: 'average-pooled',
  BatchNormalization: 'batch-normalized',
  InstanceNormalization: 'instance-normalized',
  Concat: 'concatenation (skip connection)',
  DepthToSpace: 'pixel shuffle (depth to space)',
  Expand: 'constant input broadcast to the batch',
  Reshape: 'reshaped (e.g. a latent projected to a first feature map)',
};

function classify(l: LayerInfo, index: GraphIndex, byName: Map<string, LayerInfo>, outputs: Set<string>): { kind: LayerKind; what: string } {
  if (outputs.has(l.name)) return { kind: 'output', what: "the model's output" };
  if (l.height === 1 && l.width === 1) return { kind: 'vector', what: 'per-channel vector [N, C, 1, 1] (a style or pooled features): not spatial' };
  const node = index.nodes[l.index];
  // Stryker disable next-line OptionalChaining,ArrayDeclaration: every row comes from a node of the index, and decoded NodeProtos carry an input list
  const reads = (node?.input ?? []).map((n) => byName.get(n));
  if ((l.op === 'Mul' || l.op === 'Div') && reads.some((r) => r && r.height === 1 && r.width === 1)) {
    return { kind: 'modulation', what: 'scaled per channel by a style vector (modulation / demodulation intermediate)' };
  }
  if (l.op === 'Pow') return { kind: 'modulation', what: 'normalization intermediate (a power of the activations)' };
  if ((l.op === 'Mul' || l.op === 'Div') && l.channels > 3 && reads.some((r) => r && r.channels === 1)) {
    return { kind: 'activation', what: 'normalized per pixel (divided by a one-channel norm map: pixel norm)' };
  }
  if (l.channels <= 3) return { kind: 'few-channel', what: `${l.channels} channel${l.channels > 1 ? 's' : ''} (a noise map, or an image / RGB skip)` };
  if ((l.op === 'Mul' || l.op === 'Div') && node) {
    // x × a constant gain: say what x is.
    // Stryker disable next-line ArrayDeclaration: decoded NodeProtos carry an input list
    const inputs = node.input ?? [];
    const k = inputs.findIndex((n) => index.isConstant(n));
    // Stryker disable next-line ConditionalExpression: Mul and Div read two inputs, and with k = -1 inputs[2] is no layer either
    const x = inputs.length === 2 && k >= 0 ? byName.get(inputs[1 - k]) : undefined;
    if (x) return { kind: 'activation', what: `${WHAT[x.op] ?? `${x.op} output`}, scaled by a constant` };
  }
  return { kind: 'activation', what: WHAT[l.op] ?? `${l.op} output` };
}

/** The layer browser's rows for a model: named layers first, then spatial activations (or every 4-D tensor). */
export async function layerTable(model: OnnxModel, name: string, opts: LayerTableOptions = {}): Promise<LayerTable> {
  const all = await layers(model, opts);
  const index = new GraphIndex(model);
  const byName = new Map(all.map((l) => [l.name, l]));
  const outputs = new Set(model.outputNames());
  const rows = all.map((l): LayerRow => {
    const { kind, what } = classify(l, index, byName, outputs);
    return {
      name: l.aliases[0] ?? l.name,
      tensor: l.name,
      aliases: l.aliases,
      channels: l.channels,
      height: l.height,
      width: l.width,
      op: l.op,
      kind,
      what: l.aliases.length > 0 ? `named layer: ${what}` : what,
    };
  });
  // Aliases first (in graph order), then the rest in graph order.
  const named = rows.filter((r) => r.aliases.length > 0);
  const rest = rows.filter((r) => r.aliases.length === 0 && (opts.all || r.kind === 'activation'));
  return tableOf([...named, ...rest], name, rows.length - named.length - rest.length);
}

function tableOf(rows: LayerRow[], model: string, hidden: number): LayerTable {
  const t = rows as LayerTable;
  const text = (): string => {
    const nNamed = rows.filter((r) => r.aliases.length > 0).length;
    const head =
      `${model}: ${nNamed} named layer${nNamed === 1 ? '' : 's'}, ${rows.length - nNamed} other` +
      (hidden > 0 ? `; ${hidden} non-spatial or intermediate tensors hidden (layers({ all: true }) lists them)` : '');
    const cols = ['name', 'shape (C×H×W)', 'op', 'what'];
    const cells = rows.map((r) => [r.name, `${r.channels}×${r.height}×${r.width}`, r.op, r.what]);
    const width = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]))).join('  ');
    return [head, line(cols), ...cells.map(line)].join('\n');
  };
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const html = (): string =>
    `<table><thead><tr><th>name</th><th>shape (C×H×W)</th><th>op</th><th>what</th></tr></thead><tbody>` +
    rows.map((r) => `<tr><td><code>${esc(r.name)}</code></td><td>${r.channels}×${r.height}×${r.width}</td><td>${esc(r.op)}</td><td>${esc(r.what)}</td></tr>`).join('') +
    `</tbody></table>`;
  Object.defineProperties(t, {
    model: { value: model, enumerable: false },
    hidden: { value: hidden, enumerable: false },
    toString: { value: text, enumerable: false },
    toHtml: { value: html, enumerable: false },
    // tslab shows a cell's value with console.log, i.e. util.inspect: the table instead of an array dump.
    [inspect.custom]: { value: text, enumerable: false },
  });
  return t;
}

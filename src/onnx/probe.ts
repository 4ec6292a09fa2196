/**
 * The probe run: execute the model once with every intermediate tensor exposed as an output, to learn each
 * tensor's element type and shape. ONNX files often carry no shapes for intermediates, and shape inference in
 * TypeScript would mean re-implementing every operator's rules; onnxruntime already knows them.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { GanvasError, describeError } from '../errors';
import { writeFileAtomic } from '../io';
import { cacheDir } from './cache';
import { mapFor, memoPromise } from '../memo';
import { gaussian } from '../runtime/noise';
import { GraphIndex } from './graph';
import { firstRunInSandbox } from './sandbox';
import { OnnxModel, onnx, withGraph } from './model';
import { Dim, ElemType, formatDims, valueInfoType } from './types';

export interface TensorInfo {
  name: string;
  type: ElemType;
  /** Sizes at batch size 1, with the batch axis (and any other axis that follows it) given as a symbol. */
  dims: Dim[];
}

export interface ProbeOptions {
  /** Concrete shapes for inputs with symbolic axes other than the batch axis 0. */
  inputShapes?: Record<string, number[]>;
}

export interface ProbeResult {
  /** Every non-constant tensor produced by a top-level node, plus the graph inputs. */
  tensors: Map<string, TensorInfo>;
  /** The symbol used for the batch axis ("N" unless the model names it otherwise). */
  batchSymbol: string;
}

const memo = new WeakMap<OnnxModel, Map<string, Promise<ProbeResult>>>();

/**
 * Probes once per model object and options (the result is cached on the model), and once per model file and
 * onnxruntime version on this machine: the result is also kept on disk (GANVAS_CACHE/probe, see onnx/cache.ts)
 * keyed by the model's SHA-1, the input shapes and the onnxruntime version, so that every process of a batch job
 * — `ganvas scan --workers N`, each shard of a Slurm array, a resume — does not probe the same generator again.
 * Measured for fmnist-stylegan (the generator the CLI bench cuts): probing it costs 107–125 ms CPU, reading the
 * cached shapes 2 ms; the probe was a quarter of a `ganvas scan` process's fixed start-up (about 0.46 s CPU).
 * GANVAS_PROBE_CACHE=0 turns the disk cache off.
 */
export function probe(model: OnnxModel, opts: ProbeOptions = {}): Promise<ProbeResult> {
  return memoPromise(mapFor(memo, model), JSON.stringify(opts.inputShapes ?? {}), () => cachedProbe(model, opts));
}

/** A cached probe. Change the format tag whenever runProbe's result changes: older files are then ignored. */
interface ProbeFile {
  format: 'ganvas-probe/1';
  onnxruntime: string;
  batchSymbol: string;
  tensors: TensorInfo[];
}

async function cachedProbe(model: OnnxModel, opts: ProbeOptions): Promise<ProbeResult> {
  // An untrusted model's first run stays in its sandboxed child whether or not its shapes are cached.
  await firstRunInSandbox(model, opts.inputShapes);
  if (process.env.GANVAS_PROBE_CACHE === '0') return runProbe(model, opts);
  const version = ort.env.versions.node ?? ort.env.versions.common;
  const shapes = createHash('sha1').update(JSON.stringify(opts.inputShapes ?? {})).digest('hex').slice(0, 16);
  const file = path.join(cacheDir('probe'), `${model.digest()}-${shapes}.json`);
  const cached = await fs.readFile(file, 'utf8').then(
    (text) => {
      const f = JSON.parse(text) as ProbeFile;
      const valid = f.format === 'ganvas-probe/1' && f.onnxruntime === version && typeof f.batchSymbol === 'string' && Array.isArray(f.tensors) &&
        f.tensors.every((t) => typeof t.name === 'string' && typeof t.type === 'string' && Array.isArray(t.dims));
      return valid ? f : undefined;
    },
    () => undefined,
  ).catch(() => undefined);
  if (cached) return { tensors: new Map(cached.tensors.map((t) => [t.name, t])), batchSymbol: cached.batchSymbol };
  const result = await runProbe(model, opts);
  const out: ProbeFile = { format: 'ganvas-probe/1', onnxruntime: version, batchSymbol: result.batchSymbol, tensors: [...result.tensors.values()] };
  // A cache that cannot be written (read-only home on a cluster node) only costs the next process a probe.
  await writeFileAtomic(file, JSON.stringify(out)).catch(() => undefined);
  return result;
}

async function runProbe(model: OnnxModel, opts: ProbeOptions): Promise<ProbeResult> {
  const index = new GraphIndex(model);
  const outputs = model.outputNames();
  const seen = new Set<string>();
  for (const n of index.nodes) {
    for (const o of n.output ?? []) {
      if (o && !index.isConstant(o)) seen.add(o);
    }
  }
  const names = [...seen];
  const extra = names.filter((n) => !outputs.includes(n));
  // Outputs with a name and no type: onnxruntime infers the type while resolving the graph.
  const graph = onnx.GraphProto.create({
    ...model.graph,
    output: [...(model.graph.output ?? []), ...extra.map((name) => onnx.ValueInfoProto.create({ name }))],
  });
  const probeModel = withGraph(model, graph, `probe of ${model.source}`);

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(probeModel.bytes(), { graphOptimizationLevel: 'disabled' });
  } catch (e) {
    throw new GanvasError('RUNTIME', `onnxruntime could not load ${model.source}: ${describeError(e)}`, { cause: e });
  }
  try {
    const inputs = model.inputNames().map((name) => ({ name, ...valueInfoType(model.valueInfo(name)) }));
    const batched = inputs.some((i) => i.dims && typeof i.dims[0] === 'string');
    const batchSymbol = String(inputs.find((i) => i.dims && typeof i.dims[0] === 'string')?.dims?.[0] ?? 'N');
    const run = async (batch: number) => {
      const feeds: Record<string, ort.Tensor> = {};
      for (const inp of inputs) feeds[inp.name] = probeInput(inp.name, inp.type, inp.dims, batch, opts, model.source);
      try {
        // Inputs are not outputs of the run; they are described from the feeds we made.
        return { ...feeds, ...(await session.run(feeds)) } as Record<string, ort.Tensor>;
      } catch (e) {
        throw new GanvasError('RUNTIME', `probe run of ${model.source} failed: ${describeError(e)}`, { cause: e });
      }
    };
    const r1 = await run(1);
    // Stryker disable next-line ConditionalExpression: without a symbolic batch axis, a second run gets the same feeds and gives the same dims
    const r2 = batched ? await run(2) : r1;
    const tensors = new Map<string, TensorInfo>();
    for (const name of [...inputs.map((i) => i.name), ...outputs, ...extra]) {
      const a = r1[name];
      const b = r2[name];
      if (!a || !b) continue;
      const dims: Dim[] = a.dims.map((d, i) => {
        if (b.dims.length !== a.dims.length || b.dims[i] === d) return d;
        return d === 1 && b.dims[i] === 2 ? batchSymbol : `${name}_d${i}`;
      });
      tensors.set(name, { name, type: a.type as ElemType, dims });
    }
    return { tensors, batchSymbol };
    // Stryker disable next-line BlockStatement: releasing only frees the session's memory sooner
  } finally {
    await session.release();
  }
}

function probeInput(
  name: string,
  type: ElemType | undefined,
  dims: Dim[] | undefined,
  batch: number,
  opts: ProbeOptions,
  source: string,
): ort.Tensor {
  const given = opts.inputShapes?.[name];
  let shape: number[];
  if (given) {
    shape = [...given];
    if (dims && typeof dims[0] === 'string') shape[0] = batch;
  } else {
    if (!dims) {
      throw new GanvasError(
        'BAD_INPUT',
        `input "${name}" of ${source} has no recorded shape; pass inputShapes: { "${name}": [1, ...] }`,
      );
    }
    shape = dims.map((d, i) => {
      if (typeof d === 'number') return d;
      if (i === 0) return batch;
      throw new GanvasError(
        'BAD_INPUT',
        `input "${name}" of ${source} has shape ${formatDims(dims)} with symbolic axis ${i} ("${d}"); ` +
          `pass inputShapes: { "${name}": [${dims.map((x, j) => (j === 0 ? 1 : typeof x === 'number' ? x : '?')).join(', ')}] } with concrete sizes`,
      );
    });
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (!(n <= 2 ** 26)) {
    throw new GanvasError('BAD_INPUT', `input "${name}" of ${source} has shape [${shape.join(', ')}] (${n} values at batch ${batch}); ganvas probes inputs of at most 2^26 values`);
  }
  // Stryker disable next-line LogicalOperator: never undefined here: onnxruntime-node refuses at load a graph input of a type it has no name for (0, bfloat16: measured)
  switch (type ?? 'float32') {
    case 'float32':
      return new ort.Tensor('float32', gaussian(`probe:${name}`, n), shape);
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(n), shape);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n), shape);
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(n), shape);
    default:
      throw new GanvasError('UNSUPPORTED', `input "${name}" of ${source} has element type ${type}; ganvas probes float32, int64, int32 and bool inputs`);
  }
}

/**
 * onnxruntime-node sessions: a cache, input checks before anything reaches native code, and batched runs.
 */
import * as ort from 'onnxruntime-node';
import { GanvasError, describeError } from '../errors';
import { checkpoint, operationSignal } from '../interrupt';
import { displayable } from './describe';
import { memoPromise } from '../memo';
import { OnnxModel } from '../onnx/model';
import { Dim, ElemType, formatDims, valueInfoType } from '../onnx/types';
import { FloatTensor, concatBatch, numel, sliceBatch } from './tensor';
import { firstRunInSandbox } from '../onnx/sandbox';
import { readdirSync } from 'fs';
import * as path from 'path';

/**
 * The execution providers this onnxruntime-node install can start. `listSupportedBackends()` names CUDA on every
 * Linux x64 install, with `bundled: false`: its provider library is downloaded by the package's install script,
 * which ganvas's .npmrc skips. Without that library the CUDA request failed inside onnxruntime ("Failed to load
 * shared library") and the explanation below was never shown (found by issue 19's mutation run). So a provider that
 * is not bundled counts only when its library (`…onnxruntime_providers_<name>…`) lies beside the binding.
 */
export function usableBackends(): string[] {
  let files: string[] = [];
  try {
    files = readdirSync(path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin'), { recursive: true }).map(String);
  } catch {
    // No bin folder to look in: only bundled providers count.
  }
  return ort
    .listSupportedBackends()
    .filter((b) => b.bundled || files.some((f) => path.basename(f).includes(`onnxruntime_providers_${b.name}`)))
    .map((b) => b.name);
}

export type ExecutionProvider = 'cpu' | 'cuda';

export interface RuntimeOptions {
  /** Threads inside one operator (intra-op); default: onnxruntime's choice (all cores). */
  threads?: number;
  /** Providers in order of preference; default ['cpu']. */
  executionProviders?: ExecutionProvider[];
  /**
   * Whether onnxruntime's idle intra-op threads busy-wait for the next operator (its default: true). Spinning
   * shortens the hand-over between operators but burns a core meanwhile: with 2 threads, a `ganvas dataset` run
   * (many small batch-1 calls between PNG encodes) took 1.9–2.4× the CPU seconds of 1 thread (4.7–5.6 s vs
   * 2.3–2.5 s for 256 pairs, two runs on the shared 2-core machine) and was slower in wall time too, since the
   * spinning thread takes the core the JavaScript needs; with spinning off, 2 threads took 2.4–2.5 s. A 1024-vector
   * `ganvas scan`: 6.7 s CPU spinning, 4.2 s not, 3.9 s at 1 thread. Batch jobs (the `ganvas` command) turn it
   * off: CPU time is what a cluster bills and what other jobs on the node need.
   */
  spinning?: boolean;
  /**
   * onnxruntime's memory pattern (its default: true): after the first run of a shape it plans one block for all
   * of that shape's intermediates and allocates it on the second run, beside the arena blocks the first run left.
   * For a process that runs a few shapes many times this only adds start-up: measured on the `ganvas scan` tail
   * (fmnist-stylegan b8.conv1, batch 64, 1 thread), the second run touched 11k fresh pages (44 MB, ~10–20 ms CPU)
   * that the first run's arena blocks would have served, while the steady per-run CPU did not change (median
   * tail run 99.7 vs 100.9 ms over 84 runs each, within the loaded machine's noise) and the results are
   * bit-identical. Batch jobs (the `ganvas` command) turn it off: every shard and worker pays it once.
   */
  memPattern?: boolean;
}

export interface InputSpec {
  name: string;
  type?: ElemType;
  dims?: Dim[];
}

export type Feed = FloatTensor | ort.Tensor;
export type Feeds = Record<string, Feed>;

export interface BatchOptions {
  /** Samples per onnxruntime call (default 32). */
  batchSize?: number;
  /** Called after each batch with the samples done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Which outputs to fetch (default: all). */
  outputs?: string[];
  /**
   * Stops between chunks (the promise rejects with the signal's reason). A kernel interrupt stops the run too,
   * without a signal (src/interrupt.ts).
   */
  signal?: AbortSignal;
}

/** One model loaded into onnxruntime, with its input signature. */
export class ModelSession {
  readonly inputs: InputSpec[];
  readonly outputNames: string[];
  private readonly inputNames: Set<string>;
  /** Calls into onnxruntime and the wall time spent inside them (for overhead measurements). */
  readonly stats = { runs: 0, seconds: 0 };

  constructor(
    readonly model: OnnxModel,
    readonly ortSession: ort.InferenceSession,
  ) {
    this.inputs = model.inputNames().map((name) => ({ name, ...valueInfoType(model.valueInfo(name)) }));
    this.outputNames = model.outputNames();
    this.inputNames = new Set(this.inputs.map((s) => s.name));
  }

  /** Runs once; float outputs come back as FloatTensors (other numeric types are converted to float32). */
  async run(feeds: Feeds, outputs?: string[]): Promise<Record<string, FloatTensor>> {
    const raw = await this.runRaw(feeds, outputs);
    const out: Record<string, FloatTensor> = {};
    for (const [k, v] of Object.entries(raw)) out[k] = toFloatTensor(v);
    return out;
  }

  async runRaw(feeds: Feeds, outputs?: string[]): Promise<Record<string, ort.Tensor>> {
    const ortFeeds = this.checkFeeds(feeds);
    const fetches = outputs ?? this.outputNames;
    for (const o of fetches) {
      if (!this.outputNames.includes(o)) {
        throw new GanvasError(
          'BAD_INPUT',
          `${this.model.source} has no output "${o}"; its outputs are: ${this.outputNames.join(', ')}`,
        );
      }
    }
    const t0 = process.hrtime.bigint();
    let got: Record<string, ort.Tensor>;
    try {
      got = (await this.ortSession.run(ortFeeds, fetches)) as Record<string, ort.Tensor>;
    } catch (e) {
      throw new GanvasError('RUNTIME', `onnxruntime failed to run ${this.model.source}: ${describeError(e)}`, {
        cause: e,
      });
    } finally {
      this.stats.runs++;
      this.stats.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
    }
    return this.labelled(got, fetches);
  }

  /**
   * The results under the names asked for. onnxruntime-node 1.23 (ours) labels a strict subset of the outputs wrongly:
   * it returns the fetched outputs in the model's output order but names them after the model's first outputs —
   * fetching only `c` of outputs [a, b, c] gave `{ a: <c's values> }` (microsoft/onnxruntime#26865, fixed upstream
   * in #26939). A generator whose image is not its first output then drew from the wrong tensor. Results already
   * under the names asked for (a fixed onnxruntime, all outputs, a prefix of them) are passed through.
   */
  private labelled(got: Record<string, ort.Tensor>, fetches: readonly string[]): Record<string, ort.Tensor> {
    const asked = new Set(fetches);
    const keys = Object.keys(got);
    if (keys.length === asked.size && keys.every((k) => asked.has(k))) return got;
    const inOrder = this.outputNames.filter((n) => asked.has(n));
    const misnamed = this.outputNames.slice(0, inOrder.length);
    if (keys.length !== inOrder.length || !misnamed.every((n) => n in got)) {
      throw new GanvasError(
        'RUNTIME',
        `onnxruntime returned outputs ${keys.join(', ')} of ${this.model.source} when asked for ${fetches.join(', ')}`,
      );
    }
    const out: Record<string, ort.Tensor> = {};
    for (let i = 0; i < inOrder.length; i++) out[inOrder[i]] = got[misnamed[i]];
    return out;
  }

  /**
   * Runs over a large batch in chunks along axis 0 and concatenates the outputs. Inputs whose first dim is not
   * the batch (none in the shipped models) are passed whole to every chunk.
   */
  async runBatched(feeds: Feeds, opts: BatchOptions = {}): Promise<Record<string, FloatTensor>> {
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new GanvasError('BAD_INPUT', `batchSize must be a positive integer, got ${batchSize}`);
    }
    const total = this.batchOf(feeds);
    const signal = operationSignal(opts.signal);
    // Stryker disable next-line EqualityOperator: at total = batchSize the chunked path makes the same one call, with a copy
    if (total <= batchSize) {
      // One call, no slicing or copying: the common interactive case, where every microsecond shows.
      signal.throwIfAborted();
      const out = await this.run(feeds, opts.outputs);
      opts.onProgress?.(total, total);
      return out;
    }
    const parts: Record<string, FloatTensor[]> = {};
    for (let start = 0; start < total; start += batchSize) {
      // Yield before every chunk: a kernel interrupt (SIGINT) is seen only when the event loop runs.
      await checkpoint(signal);
      const end = Math.min(total, start + batchSize);
      const chunk: Feeds = {};
      for (const spec of this.inputs) {
        const f = feeds[spec.name];
        chunk[spec.name] = f && isBatched(spec) ? sliceFeed(f, start, end) : f;
      }
      const out = await this.run(chunk, opts.outputs);
      for (const [k, v] of Object.entries(out)) (parts[k] ??= []).push(v);
      opts.onProgress?.(end, total);
    }
    const result: Record<string, FloatTensor> = {};
    for (const [k, v] of Object.entries(parts)) result[k] = concatBatch(v);
    return result;
  }

  /** The batch size implied by the feeds (the first symbolic axis-0 input). */
  batchOf(feeds: Feeds): number {
    for (const spec of this.inputs) {
      const f = feeds[spec.name];
      if (f && isBatched(spec)) return f.dims[0];
    }
    throw new GanvasError('BAD_INPUT', `${this.model.source} has no input with a dynamic batch axis to split on`);
  }

  /** Checks names, dtypes and shapes against the model's declared inputs, so no mistake reaches native code. */
  checkFeeds(feeds: Feeds): Record<string, ort.Tensor> {
    // This runs on every call, and interactive paints count microseconds: plain loops, no closures or
    // temporary arrays on the success path; messages are built only when an error needs them.
    for (const k in feeds) {
      if (!this.inputNames.has(k)) {
        const extra = Object.keys(feeds).filter((e) => !this.inputNames.has(e));
        throw new GanvasError(
          'BAD_INPUT',
          `${this.model.source} has no input named ${extra.map((e) => `"${e}"`).join(', ')}; it expects ${this.expected()}`,
        );
      }
    }
    let symbols: Map<string, { value: number; from: string }> | undefined;
    const out: Record<string, ort.Tensor> = {};
    for (const spec of this.inputs) {
      const f = feeds[spec.name];
      if (!f) {
        throw new GanvasError('BAD_INPUT', `missing input "${spec.name}" for ${this.model.source}; it expects ${this.expected()}`);
      }
      const t = toOrt(f);
      if (spec.type && t.type !== spec.type) {
        throw new GanvasError(
          'BAD_INPUT',
          `input "${spec.name}" of ${this.model.source} must be ${spec.type}, got ${t.type}` +
            (spec.type === 'float32' ? ' (use a Float32Array)' : ''),
        );
      }
      if (t.data.length !== numel(t.dims)) {
        throw new GanvasError(
          'BAD_INPUT',
          `input "${spec.name}" has ${t.data.length} values but dims ${formatDims(t.dims)} need ${numel(t.dims)}`,
        );
      }
      const dims = spec.dims;
      if (dims) {
        if (t.dims.length !== dims.length) throw this.badShape(spec.name, dims, t.dims);
        // Stryker disable next-line EqualityOperator: ranks are equal here; i = length reads undefined, which only records an unused symbol
        for (let i = 0; i < dims.length; i++) {
          const d = dims[i];
          const got = t.dims[i];
          if (typeof d === 'number') {
            if (got !== d) throw this.badShape(spec.name, dims, t.dims);
            continue;
          }
          symbols ??= new Map();
          const seen = symbols.get(d);
          if (seen && seen.value !== got) {
            throw new GanvasError(
              'BAD_INPUT',
              `inputs "${seen.from}" and "${spec.name}" disagree on dimension "${d}" (${seen.value} vs ${got}); ` +
                `every input must have the same batch size`,
            );
          }
          if (!seen) symbols.set(d, { value: got, from: spec.name });
        }
      }
      out[spec.name] = t;
    }
    return out;
  }

  private expected(): string {
    return this.inputs.map((s) => `${s.name}: ${s.type ?? '?'} ${s.dims ? formatDims(s.dims) : '[?]'}`).join('; ');
  }

  private badShape(name: string, want: Dim[], got: readonly number[]): GanvasError {
    return new GanvasError('BAD_INPUT', `input "${name}" of ${this.model.source} must have shape ${formatDims(want)}, got ${formatDims(got)}`);
  }
}

function isBatched(spec: InputSpec): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a rank-0 input's dims[0] is undefined, not a string, either way
  return !!spec.dims && spec.dims.length > 0 && typeof spec.dims[0] === 'string';
}

function sliceFeed(f: Feed, start: number, end: number): Feed {
  if (f instanceof ort.Tensor) {
    if (f.type !== 'float32') {
      throw new GanvasError('BAD_INPUT', `batched runs split float32 inputs only, got ${f.type}`);
    }
    return sliceBatch(toFloatTensor(f), start, end);
  }
  return sliceBatch(f as FloatTensor, start, end);
}

/**
 * onnxruntime tensors made for (or received as) a Float32Array. onnxruntime-node pays a noticeable cost the first
 * time it sees a tensor object, so a head output handed to a tail, or the same feeds run twice, reuse the
 * tensor instead of wrapping the data again. Tensors reference the data (no copy), so in-place edits are seen.
 */
const ortOf = new WeakMap<Float32Array, ort.Tensor>();

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function toOrt(f: Feed): ort.Tensor {
  if (f instanceof ort.Tensor) return f;
  if (!(f.data instanceof Float32Array)) {
    throw new GanvasError('BAD_INPUT', `tensor data must be a Float32Array, got ${describeType(f.data)}`);
  }
  if (f.data.length !== numel(f.dims)) {
    throw new GanvasError(
      'BAD_INPUT',
      `tensor has ${f.data.length} values but dims ${formatDims(f.dims as number[])} need ${numel(f.dims)}`,
    );
  }
  const known = ortOf.get(f.data);
  if (known && sameDims(known.dims, f.dims)) return known;
  const t = new ort.Tensor('float32', f.data, [...f.dims]);
  ortOf.set(f.data, t);
  return t;
}

export function toFloatTensor(t: ort.Tensor): FloatTensor {
  const dims = [...t.dims];
  if (t.type === 'float32') {
    const data = t.data as Float32Array;
    ortOf.set(data, t);
    return displayable({ data, dims });
  }
  if (t.type === 'string') throw new GanvasError('UNSUPPORTED', 'string tensors cannot be converted to float32');
  const src = t.data as ArrayLike<number | bigint>;
  const data = new Float32Array(src.length);
  // Stryker disable next-line EqualityOperator: i = length writes past the typed array's end, which is dropped
  for (let i = 0; i < src.length; i++) data[i] = Number(src[i]);
  return displayable({ data, dims });
}

function describeType(x: unknown): string {
  return x === null ? 'null' : typeof x === 'object' ? (x as object).constructor.name : typeof x;
}

/**
 * Sessions keyed by the model's bytes and the options, so asking twice for the same model (a head rebuilt from the
 * same split, say) costs nothing. One cache per Runtime object: no hidden global state.
 */
export class Runtime {
  private cache = new Map<string, Promise<ModelSession>>();
  readonly options: Required<RuntimeOptions>;

  constructor(options: RuntimeOptions = {}) {
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new GanvasError('BAD_INPUT', `threads must be a positive integer, got ${options.threads}`);
    }
    if (options.spinning !== undefined && typeof options.spinning !== 'boolean') {
      throw new GanvasError('BAD_INPUT', `spinning must be true or false, got ${JSON.stringify(options.spinning)}`);
    }
    if (options.memPattern !== undefined && typeof options.memPattern !== 'boolean') {
      throw new GanvasError('BAD_INPUT', `memPattern must be true or false, got ${JSON.stringify(options.memPattern)}`);
    }
    const eps = options.executionProviders ?? ['cpu'];
    for (const ep of eps) {
      if (ep !== 'cpu' && ep !== 'cuda') {
        throw new GanvasError('PROVIDER', `unknown execution provider "${String(ep)}"; use "cpu" or "cuda"`);
      }
    }
    this.options = { threads: options.threads ?? 0, executionProviders: eps, spinning: options.spinning ?? true, memPattern: options.memPattern ?? true };
  }

  session(model: OnnxModel): Promise<ModelSession> {
    return memoPromise(this.cache, model.digest(), () => this.create(model));
  }

  get size(): number {
    return this.cache.size;
  }

  async release(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) {
      try {
        await (await p).ortSession.release();
      } catch {
        // Already failed at creation: nothing to release.
      }
    }
  }

  private async create(model: OnnxModel): Promise<ModelSession> {
    // A model file from outside ganvas runs first in a child process (onnx/sandbox.ts), whichever call runs it first.
    await firstRunInSandbox(model, undefined);
    const eps = this.options.executionProviders;
    if (eps.includes('cuda')) {
      const backends = usableBackends();
      if (!backends.includes('cuda')) {
        throw new GanvasError(
          'PROVIDER',
          `the CUDA execution provider is not available in this onnxruntime-node install (available: ${backends.join(', ')}). ` +
            `Its CUDA binaries are downloaded by onnxruntime-node's install script, which ganvas's .npmrc skips ` +
            `(onnxruntime-node-install=skip). Use executionProviders: ['cpu'], or reinstall onnxruntime-node with ` +
            `ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with CUDA and network access to its release files.`,
        );
      }
    }
    const opts: ort.InferenceSession.SessionOptions = {
      executionProviders: eps,
      graphOptimizationLevel: 'all',
      enableMemPattern: this.options.memPattern,
    };
    if (this.options.threads > 0) {
      opts.intraOpNumThreads = this.options.threads;
      opts.interOpNumThreads = 1;
    }
    // Keys of onnxruntime_session_options_config_keys.h, passed through by onnxruntime-node's `extra`.
    if (!this.options.spinning) opts.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
    try {
      const s = await ort.InferenceSession.create(model.bytes(), opts);
      return new ModelSession(model, s);
    } catch (e) {
      const msg = describeError(e);
      if (/cuda/i.test(msg)) {
        throw new GanvasError('PROVIDER', `onnxruntime could not start the CUDA execution provider: ${msg}. Use executionProviders: ['cpu'].`, { cause: e });
      }
      throw new GanvasError('RUNTIME', `onnxruntime could not load ${model.source}: ${msg}`, { cause: e });
    }
  }
}

/**
 * The probe run (src/onnx/probe.ts) and the sandboxed first run (src/onnx/sandbox.ts, sandboxChild.ts) on
 * hand-built graphs (issue 19, mutation testing). Shapes are worked out by hand from each graph (a 3×3 "same"
 * convolution keeps the size, Flatten multiplies the axes, Concat on axis 0 doubles the batch); the disk cache is
 * pointed at a fresh folder per test and every model is a fresh object, so neither cache hides a mutant. The
 * sandbox's parent side is driven with stand-in children (a `--require`d script that exits, writes or dies as told,
 * milliseconds each) and twice with the real child; the child side is also run directly, its exit code and reply
 * read from outside.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { OnnxModel, decodeModel, loadModel, onnx, probe } from 'ganvas';
import type { ProbeResult } from 'ganvas';
import { GraphBuilder } from './builder';
import { childEnv } from './mutationBridge';
import { rejectsGanvas } from './util';
import { withEnv as withProcessEnv } from './cliHarness';

interface SandboxModule {
  markUntrusted(proto: object, source: string): void;
  firstRunInSandbox(model: OnnxModel, inputShapes: Record<string, number[]> | undefined): Promise<void>;
}
const dist = path.dirname(require.resolve('ganvas'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sandbox = require(path.join(dist, 'onnx', 'sandbox.js')) as SandboxModule;
const CHILD = path.join(dist, 'onnx', 'sandboxChild.js');
const SHIPPED = path.resolve(dist, '..', 'models');
const VERSION = ort.env.versions.node ?? ort.env.versions.common;

/** Runs fn with a fresh GANVAS_CACHE (removed after) and the given variables, all restored after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: (cache: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-onnxparts3-'));
  try {
    return await withProcessEnv({ GANVAS_CACHE: dir, GANVAS_PROBE_CACHE: undefined, GANVAS_SANDBOX: undefined, GANVAS_SANDBOX_TIMEOUT: undefined, ...vars }, () => fn(dir));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const entries = (r: ProbeResult) => [...r.tensors.values()].map((t) => [t.name, t.type, t.dims]);

/**
 * x [N,2,4,4] → conv h [N,3,4,4] → Flatten f [N,48]; Concat(h, h, axis 0) cat [2N,3,4,4]; Shape(h) s int64 [4];
 * Constant c and c2 = c · k (constants, not probed); out = h · c2 [N,3,4,4].
 */
function model(batch: string | number = 'N'): GraphBuilder {
  const g = new GraphBuilder();
  g.input('x', [batch, 2, 4, 4]);
  const h = g.conv('x', 2, 3, 'h');
  g.node('Flatten', [h], 'f', { axis: 1 });
  g.node('Concat', [h, h], 'cat', { axis: 0 });
  g.node('Shape', [h], 's');
  const c = g.constant('c', [1], [2]);
  const c2 = g.node('Mul', [c, g.init('k', [1], [3])], 'c2');
  g.node('Mul', [h, c2], 'out');
  g.output('out', [batch, 3, 4, 4]);
  return g;
}

describe('onnx probe: shapes and types of every intermediate', function () {
  this.timeout(60000);

  it('probes inputs, outputs and intermediates (not constants), with the batch axis as the input names it', async () => {
    await withEnv({ GANVAS_PROBE_CACHE: '0' }, async () => {
      const r = await probe(model().build('p.onnx'));
      expect(r.batchSymbol).to.equal('N');
      expect(entries(r)).to.deep.equal([
        ['x', 'float32', ['N', 2, 4, 4]],
        ['out', 'float32', ['N', 3, 4, 4]],
        ['h', 'float32', ['N', 3, 4, 4]],
        ['f', 'float32', ['N', 48]],
        ['cat', 'float32', ['cat_d0', 3, 4, 4]],
        ['s', 'int64', [4]],
      ]);
      const b = await probe(model('batch').build('b.onnx'));
      expect(b.batchSymbol).to.equal('batch');
      expect(b.tensors.get('f')?.dims).to.deep.equal(['batch', 48]);
      expect(b.tensors.get('x')).to.deep.equal({ name: 'x', type: 'float32', dims: ['batch', 2, 4, 4] });
      // A fixed batch: one run, every size a number.
      const one = await probe(model(1).build('one.onnx'));
      expect(one.batchSymbol).to.equal('N');
      expect(entries(one)).to.deep.equal([
        ['x', 'float32', [1, 2, 4, 4]],
        ['out', 'float32', [1, 3, 4, 4]],
        ['h', 'float32', [1, 3, 4, 4]],
        ['f', 'float32', [1, 48]],
        ['cat', 'float32', [2, 3, 4, 4]],
        ['s', 'int64', [4]],
      ]);
    });
  });

  it('names an axis that grows with the batch otherwise than as the batch; keeps the batch-1 dims when the rank changes', async () => {
    await withEnv({ GANVAS_PROBE_CACHE: '0' }, async () => {
      // odd = cat[1:] has 2N − 1 rows: 1 at batch 1, 3 at batch 2. z = ConstantOfShape(range(N) + N) has rank N:
      // [1] at batch 1, [2, 3] at batch 2.
      const I = onnx.TensorProto.DataType.INT64;
      const scalar = (name: string, v: number) => onnx.TensorProto.create({ name, dims: [], dataType: I, int64Data: [v] });
      const vec = (name: string, v: number) => onnx.TensorProto.create({ name, dims: [1], dataType: I, int64Data: [v] });
      const nd = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []) => onnx.NodeProto.create({ name: output, opType, input, output: [output], attribute });
      const p = onnx.ModelProto.decode(new GraphBuilder().bytes());
      p.graph = onnx.GraphProto.create({
        name: 'grow',
        input: [onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } })],
        initializer: [scalar('zero', 0), scalar('one', 1), vec('start', 1), vec('end', 1000), vec('axis', 0)],
        node: [
          nd('Concat', ['x', 'x'], 'cat', [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
          nd('Slice', ['cat', 'start', 'end', 'axis'], 'odd'),
          nd('Shape', ['x'], 's'),
          nd('Gather', ['s', 'zero'], 'n'),
          nd('Range', ['zero', 'n', 'one'], 'r'),
          nd('Add', ['r', 'n'], 'rn'),
          nd('ConstantOfShape', ['rn'], 'z'),
        ],
        output: [onnx.ValueInfoProto.create({ name: 'odd' })],
      });
      const r = await probe(new OnnxModel(p, 'grow.onnx'));
      expect(entries(r)).to.deep.equal([
        ['x', 'float32', ['N', 2]],
        ['odd', 'float32', ['odd_d0', 2]],
        ['cat', 'float32', ['cat_d0', 2]],
        ['s', 'int64', [2]],
        ['n', 'int64', []],
        ['r', 'int64', ['N']],
        ['rn', 'int64', ['N']],
        ['z', 'float32', [1]],
      ]);
    });
  });

  it('feeds float32, int64, int32 and bool inputs; refuses other types', async () => {
    await withEnv({ GANVAS_PROBE_CACHE: '0' }, async () => {
      const p = onnx.ModelProto.decode(new GraphBuilder().bytes());
      const vi = (name: string, elemType: number, dims: (number | string)[]) =>
        onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
      const D = onnx.TensorProto.DataType;
      const graph = onnx.GraphProto.create({
        name: 'typed',
        input: [vi('a', D.INT64, ['N', 3]), vi('b', D.INT32, ['N', 3]), vi('c', D.BOOL, ['N', 3]), vi('d', D.FLOAT, ['N', 3])],
        node: [
          onnx.NodeProto.create({ name: 'ca', opType: 'Cast', input: ['a'], output: ['af'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: D.FLOAT }] }),
          onnx.NodeProto.create({ name: 'cb', opType: 'Cast', input: ['b'], output: ['bf'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: D.FLOAT }] }),
          onnx.NodeProto.create({ name: 'nc', opType: 'Not', input: ['c'], output: ['cn'] }),
          onnx.NodeProto.create({ name: 'add', opType: 'Add', input: ['af', 'bf'], output: ['y'] }),
          onnx.NodeProto.create({ name: 'dd', opType: 'Neg', input: ['d'], output: ['dn'] }),
        ],
        output: [onnx.ValueInfoProto.create({ name: 'y' })],
      });
      p.graph = graph;
      const r = await probe(new OnnxModel(p, 'typed.onnx'));
      expect(entries(r)).to.deep.equal([
        ['a', 'int64', ['N', 3]],
        ['b', 'int32', ['N', 3]],
        ['c', 'bool', ['N', 3]],
        ['d', 'float32', ['N', 3]],
        ['y', 'float32', ['N', 3]],
        ['af', 'float32', ['N', 3]],
        ['bf', 'float32', ['N', 3]],
        ['cn', 'bool', ['N', 3]],
        ['dn', 'float32', ['N', 3]],
      ]);
      const p64 = onnx.ModelProto.decode(new GraphBuilder().bytes());
      p64.graph = onnx.GraphProto.create({
        name: 'f64',
        input: [vi('x', D.DOUBLE, ['N', 2])],
        node: [onnx.NodeProto.create({ name: 'n', opType: 'Neg', input: ['x'], output: ['y'] })],
        output: [onnx.ValueInfoProto.create({ name: 'y' })],
      });
      const e = await rejectsGanvas(probe(new OnnxModel(p64, 'f64.onnx')), 'UNSUPPORTED');
      expect(e.message).to.equal('input "x" of f64.onnx has element type float64; ganvas probes float32, int64, int32 and bool inputs');
    });
  });

  it('needs concrete sizes for symbolic axes past the batch axis, and a recorded shape', async () => {
    await withEnv({ GANVAS_PROBE_CACHE: '0' }, async () => {
      const g = new GraphBuilder();
      g.input('x', ['N', 2, 'H', 'W']);
      g.node('Relu', [g.conv('x', 2, 3)], 'h');
      g.output('h');
      const e = await rejectsGanvas(probe(g.build('sym.onnx')), 'BAD_INPUT');
      expect(e.message).to.equal('input "x" of sym.onnx has shape [N, 2, H, W] with symbolic axis 2 ("H"); pass inputShapes: { "x": [1, 2, ?, ?] } with concrete sizes');
      // Given sizes: the batch axis is still probed at 1 and 2 (whatever size was given for it).
      const r = await probe(g.build('sym.onnx'), { inputShapes: { x: [7, 2, 3, 5] } });
      expect(r.tensors.get('h')?.dims).to.deep.equal(['N', 3, 3, 5]);
      expect(r.tensors.get('x')?.dims).to.deep.equal(['N', 2, 3, 5]);
      // A fixed first axis keeps the size given.
      const f = new GraphBuilder();
      f.input('x', [1, 'C']);
      f.node('Relu', ['x'], 'y');
      f.output('y');
      expect((await probe(f.build('fixed.onnx'), { inputShapes: { x: [1, 5] } })).tensors.get('y')?.dims).to.deep.equal([1, 5]);
      // No shape recorded at all.
      const p = onnx.ModelProto.decode(f.bytes());
      (p.graph as onnx.GraphProto).input[0] = onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: 1 } } });
      const none = await rejectsGanvas(probe(new OnnxModel(p, 'noshape.onnx')), 'BAD_INPUT');
      expect(none.message).to.equal('input "x" of noshape.onnx has no recorded shape; pass inputShapes: { "x": [1, ...] }');
      expect((await probe(new OnnxModel(p, 'noshape.onnx'), { inputShapes: { x: [2, 3] } })).tensors.get('y')?.dims).to.deep.equal([2, 3]);
    });
  });

  it('probes inputs of up to 2^26 values and refuses larger ones', async () => {
    await withEnv({ GANVAS_PROBE_CACHE: '0' }, async () => {
      const p = onnx.ModelProto.decode(new GraphBuilder().bytes());
      const big = (n: number) => {
        p.graph = onnx.GraphProto.create({
          name: 'big',
          input: [onnx.ValueInfoProto.create({ name: 'c', type: { tensorType: { elemType: onnx.TensorProto.DataType.BOOL, shape: { dim: [{ dimValue: 1 }, { dimValue: n }] } } } })],
          node: [onnx.NodeProto.create({ name: 'n', opType: 'Not', input: ['c'], output: ['y'] })],
          output: [onnx.ValueInfoProto.create({ name: 'y' })],
        });
        return new OnnxModel(onnx.ModelProto.decode(onnx.ModelProto.encode(p).finish()), 'big.onnx');
      };
      expect((await probe(big(2 ** 26))).tensors.get('y')?.dims).to.deep.equal([1, 2 ** 26]);
      const e = await rejectsGanvas(probe(big(2 ** 26 + 1)), 'BAD_INPUT');
      expect(e.message).to.equal(`input "c" of big.onnx has shape [1, ${2 ** 26 + 1}] (${2 ** 26 + 1} values at batch 1); ganvas probes inputs of at most 2^26 values`);
    });
  });

  it('reports a graph onnxruntime cannot load, and a run that fails', async () => {
    await withEnv({ GANVAS_PROBE_CACHE: '0' }, async () => {
      const g = new GraphBuilder();
      g.input('x', ['N', 2]);
      g.node('NoSuchOp', ['x'], 'y');
      g.output('y');
      const e = await rejectsGanvas(probe(g.build('bad.onnx')), 'RUNTIME');
      expect(e.message).to.match(/^onnxruntime could not load bad\.onnx: .*NoSuchOp/);
      expect(e.cause).to.be.instanceOf(Error);
      // Reshape of [N, 6] to [4]: loads, but no batch size fits.
      const r = new GraphBuilder();
      r.input('x', ['N', 6]);
      r.node('Reshape', ['x', r.initInt64('shape', [4])], 'y');
      r.output('y');
      const e2 = await rejectsGanvas(probe(r.build('reshape.onnx')), 'RUNTIME');
      expect(e2.message).to.match(/^probe run of reshape\.onnx failed: .+/);
      expect(e2.cause).to.be.instanceOf(Error);
    });
  });

  it('remembers a probe per model object and options', async () => {
    await withEnv({ GANVAS_PROBE_CACHE: '0' }, async () => {
      const m = model().build('memo.onnx');
      const a = probe(m);
      expect(probe(m)).to.equal(a);
      expect(probe(m, {})).to.equal(a);
      const b = probe(m, { inputShapes: { x: [1, 2, 4, 4] } });
      expect(b).to.not.equal(a);
      expect(probe(m, { inputShapes: { x: [1, 2, 4, 4] } })).to.equal(b);
      expect(probe(model().build('memo.onnx'))).to.not.equal(a);
      expect((await b).tensors.get('h')?.dims).to.deep.equal(['N', 3, 4, 4]);
      await a;
    });
  });

  it('keeps probes on disk by model digest, input shapes and onnxruntime version, and reads them back', async () => {
    await withEnv({}, async (dir) => {
      const g = model();
      const first = await probe(g.build('disk.onnx'));
      const shapes = createHash('sha1').update('{}').digest('hex').slice(0, 16);
      const digest = createHash('sha1').update(g.bytes()).digest('hex');
      expect(await fs.readdir(path.join(dir, 'probe'))).to.deep.equal([`${digest}-${shapes}.json`]);
      const file = path.join(dir, 'probe', `${digest}-${shapes}.json`);
      const stored = JSON.parse(await fs.readFile(file, 'utf8'));
      expect(stored).to.deep.equal({ format: 'ganvas-probe/1', onnxruntime: VERSION, batchSymbol: 'N', tensors: [...first.tensors.values()] });
      // A valid file is read instead of probing: mark it to tell.
      await fs.writeFile(file, JSON.stringify({ ...stored, batchSymbol: 'FROM_DISK', tensors: [{ name: 'only', type: 'float32', dims: [1] }] }));
      const again = await probe(g.build('disk2.onnx'));
      expect(again.batchSymbol).to.equal('FROM_DISK');
      expect(entries(again)).to.deep.equal([['only', 'float32', [1]]]);
      // Other input shapes: another file.
      await probe(g.build('disk3.onnx'), { inputShapes: { x: [1, 2, 4, 4] } });
      const other = createHash('sha1').update(JSON.stringify({ x: [1, 2, 4, 4] })).digest('hex').slice(0, 16);
      expect((await fs.readdir(path.join(dir, 'probe'))).sort()).to.deep.equal([`${digest}-${other}.json`, `${digest}-${shapes}.json`].sort());
    });
  });

  it('ignores a cached file that is torn, of another format or onnxruntime, or malformed, and writes a good one', async () => {
    await withEnv({}, async (dir) => {
      const g = model();
      const truth = await probe(g.build('t.onnx'));
      const file = path.join(dir, 'probe', (await fs.readdir(path.join(dir, 'probe')))[0]);
      const good = JSON.parse(await fs.readFile(file, 'utf8'));
      const t0 = good.tensors[0];
      const bad: unknown[] = [
        { ...good, format: 'ganvas-probe/0', batchSymbol: 'X' },
        { ...good, onnxruntime: '0.0.1', batchSymbol: 'X' },
        { ...good, batchSymbol: 7 },
        { ...good, batchSymbol: 'X', tensors: {} },
        { ...good, batchSymbol: 'X', tensors: [{ ...t0, name: 3 }] },
        { ...good, batchSymbol: 'X', tensors: [{ ...t0, type: null }] },
        { ...good, batchSymbol: 'X', tensors: [t0, { ...t0, dims: '1,2' }] },
      ];
      for (const b of bad) {
        await fs.writeFile(file, JSON.stringify(b));
        const r = await probe(g.build('t2.onnx'));
        expect(r.batchSymbol, JSON.stringify(b)).to.equal('N');
        expect(entries(r), JSON.stringify(b)).to.deep.equal(entries(truth));
        expect(JSON.parse(await fs.readFile(file, 'utf8'))).to.deep.equal(good);
      }
      await fs.writeFile(file, '{"format":"ganvas-pro');
      expect(entries(await probe(g.build('t3.onnx')))).to.deep.equal(entries(truth));
      // An empty tensor list is a valid file.
      await fs.writeFile(file, JSON.stringify({ ...good, batchSymbol: 'EMPTY', tensors: [] }));
      expect((await probe(g.build('t4.onnx'))).batchSymbol).to.equal('EMPTY');
    });
  });

  it('GANVAS_PROBE_CACHE=0 neither reads nor writes; a cache that cannot be written costs only the cache', async () => {
    await withEnv({}, async (dir) => {
      const g = model();
      await probe(g.build('w.onnx'));
      const [name] = await fs.readdir(path.join(dir, 'probe'));
      const file = path.join(dir, 'probe', name);
      const good = JSON.parse(await fs.readFile(file, 'utf8'));
      await fs.writeFile(file, JSON.stringify({ ...good, batchSymbol: 'FROM_DISK' }));
      process.env.GANVAS_PROBE_CACHE = '0';
      expect((await probe(g.build('w2.onnx'))).batchSymbol).to.equal('N');
      await fs.rm(path.join(dir, 'probe'), { recursive: true });
      await probe(model(1).build('w3.onnx'));
      expect(await fs.readdir(dir)).to.deep.equal([]);
      process.env.GANVAS_PROBE_CACHE = '1';
      const blocker = path.join(dir, 'not-a-dir');
      await fs.writeFile(blocker, '');
      process.env.GANVAS_CACHE = blocker;
      expect((await probe(g.build('w4.onnx'))).tensors.get('h')?.dims).to.deep.equal(['N', 3, 4, 4]);
    });
  });
});

describe('onnx sandbox: the first run of an outside model in a child', function () {
  this.timeout(120000);
  let scripts: string;
  before(async () => {
    scripts = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sandbox-stand-ins-'));
  });
  after(async () => {
    await fs.rm(scripts, { recursive: true, force: true });
  });

  /** A stand-in for the child: a script `--require`d before sandboxChild.js, which does what `body` says first. */
  async function standIn(name: string, body: string): Promise<Record<string, string>> {
    const file = path.join(scripts, `${name}.js`);
    await fs.writeFile(file, body);
    return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(file)}`.trim() };
  }

  function untrustedModel(tag: string): OnnxModel {
    const g = new GraphBuilder();
    g.input('x', ['N', 2]);
    g.node('Mul', ['x', g.init(`k_${tag}`, [1], [2])], 'y');
    g.output('y', ['N', 2]);
    const m = g.build(`/somewhere/${tag}.onnx`);
    sandbox.markUntrusted(m.proto, m.source);
    return m;
  }
  const markOf = (dir: string, m: OnnxModel, shapes = '{}') => path.join(dir, 'verified', `${m.digest()}-${Buffer.from(shapes).toString('hex').slice(0, 40)}`);

  it('trusts models ganvas ships and models not read from a file; runs others in a child only once', async () => {
    await withEnv({ GANVAS_SANDBOX_TIMEOUT: '0.001' }, async () => {
      // With a 1 ms limit, any child at all fails: no error means no child.
      const shipped = model().build(path.join(SHIPPED, 'fmnist-testnet', 'model.onnx'));
      sandbox.markUntrusted(shipped.proto, shipped.source);
      await sandbox.firstRunInSandbox(shipped, undefined);
      await sandbox.firstRunInSandbox(model().build('/anywhere/bytes.onnx'), undefined);
      const beside = model().build(`${SHIPPED}-not/model.onnx`);
      sandbox.markUntrusted(beside.proto, beside.source);
      const e = await rejectsGanvas(sandbox.firstRunInSandbox(beside, undefined), 'RUNTIME');
      expect(e.message).to.equal(`${beside.source}: its first run did not finish within 0.001 s (GANVAS_SANDBOX_TIMEOUT); the model may loop or be far too large`);
      // Through probe, for a model loaded from a file outside models/.
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sandbox-file-'));
      try {
        await fs.writeFile(path.join(dir, 'outside.onnx'), model().bytes());
        const loaded = await loadModel(path.join(dir, 'outside.onnx'));
        expect((await rejectsGanvas(probe(loaded), 'RUNTIME')).message).to.match(/outside\.onnx: its first run did not finish within 0\.001 s/);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
      process.env.GANVAS_SANDBOX = '0';
      await sandbox.firstRunInSandbox(beside, undefined);
    });
  });

  it('a model already verified on disk (for these input shapes) runs no child, and is trusted from then on', async () => {
    await withEnv({ GANVAS_SANDBOX_TIMEOUT: '0.001' }, async (dir) => {
      const m = untrustedModel('marked');
      await fs.mkdir(path.join(dir, 'verified'), { recursive: true });
      const shapes = { x: [1, 2] };
      await fs.writeFile(markOf(dir, m, JSON.stringify(shapes)), '');
      await rejectsGanvas(sandbox.firstRunInSandbox(m, undefined), 'RUNTIME');
      await sandbox.firstRunInSandbox(m, shapes);
      await fs.rm(path.join(dir, 'verified'), { recursive: true });
      await sandbox.firstRunInSandbox(m, undefined);
    });
  });

  it('the real child: a model that runs is verified (marked on disk and in this process); one that crashes is a RUNTIME error', async () => {
    await withEnv(childEnv(), async (dir) => {
      const m = untrustedModel('real');
      await sandbox.firstRunInSandbox(m, undefined);
      expect(await fs.readdir(path.join(dir, 'verified'))).to.deep.equal([path.basename(markOf(dir, m))]);
      // The model object itself is trusted now, for any input shapes: a 1 ms limit would fail a child.
      process.env.GANVAS_SANDBOX_TIMEOUT = '0.001';
      await sandbox.firstRunInSandbox(m, { x: [1, 2] });
      delete process.env.GANVAS_SANDBOX_TIMEOUT;
      // Another object with the same bytes: known in this process, no child (a 1 ms limit would fail one).
      await fs.rm(path.join(dir, 'verified'), { recursive: true });
      process.env.GANVAS_SANDBOX_TIMEOUT = '0.001';
      const again = untrustedModel('real');
      await sandbox.firstRunInSandbox(again, undefined);
      expect(await fs.readdir(dir)).to.not.include('verified');
      delete process.env.GANVAS_SANDBOX_TIMEOUT;
      // Found by the fuzz suite: Resize reading its scales from a computed tensor aborts onnxruntime-node 1.23.
      const g = new GraphBuilder();
      g.input('x', ['N', 1, 8, 8]);
      const s = g.node('Mul', ['x', g.init('k', [1], [0.5])], 's');
      g.node('Resize', ['x', '', s], 'y', { mode: 'nearest' });
      g.output('y');
      const bad = g.build('/fuzz/abort.onnx');
      sandbox.markUntrusted(bad.proto, bad.source);
      const e = await rejectsGanvas(sandbox.firstRunInSandbox(bad, undefined), 'RUNTIME');
      expect(e.message).to.match(/^onnxruntime crashed running \/fuzz\/abort\.onnx for the first time \(SIGABRT(: .+)?\)\. The model is malformed in a way onnxruntime does not check; ganvas ran it in a separate process so that your session survives\. Re-export the model\.$/);
      expect(await fs.readdir(path.join(dir, 'verified')).catch(() => [])).to.deep.equal([]);
    });
  });

  it('the real child: a clean GanvasError there (exit 3) verifies the model; the same error then comes from here', async () => {
    await withEnv(childEnv(), async (dir) => {
      const g = new GraphBuilder();
      g.input('x', ['N', 'C']);
      g.node('Relu', ['x'], 'y');
      g.output('y');
      const m = g.build('/somewhere/symbolic.onnx');
      sandbox.markUntrusted(m.proto, m.source);
      const e = await rejectsGanvas(probe(m), 'BAD_INPUT');
      expect(e.message).to.match(/^input "x" of \/somewhere\/symbolic\.onnx has shape \[N, C\] with symbolic axis 1/);
      expect(await fs.readdir(path.join(dir, 'verified'))).to.deep.equal([path.basename(markOf(dir, m))]);
      // With the shapes given, the child is asked again (another key) and the probe succeeds.
      const m2 = g.build('/somewhere/symbolic.onnx');
      sandbox.markUntrusted(m2.proto, m2.source);
      expect((await probe(m2, { inputShapes: { x: [1, 3] } })).tensors.get('y')?.dims).to.deep.equal(['N', 3]);
      expect((await fs.readdir(path.join(dir, 'verified'))).length).to.equal(2);
    });
  });

  it('stand-in children: exit codes, replies, signals and stderr decide the verdict', async () => {
    const cases: [string, string, RegExp | null][] = [
      ['ok0', 'process.exit(0);', null],
      ['reply3', 'process.stdout.write(JSON.stringify({ code: "BAD_INPUT", message: "m" }), () => process.exit(3));', null],
      ['garbage3', 'process.stdout.write("not json", () => process.exit(3));', /\(exit code 3\)\. The model is malformed/],
      ['nomessage3', 'process.stdout.write(JSON.stringify({ code: "BAD_INPUT", message: 7 }), () => process.exit(3));', /\(exit code 3\)\./],
      ['reply1', 'process.stdout.write(JSON.stringify({ message: "m" }), () => process.exit(1));', /\(exit code 1\)\./],
      ['stderr1', 'process.stderr.write("first\\n[W:onnxruntime:, warn] noise\\n  second  \\n\\nthird\\n[W:onnxruntime: more]\\n", () => process.exit(1));', /\(exit code 1: second \| third\)\. /],
      ['killed', 'process.kill(process.pid, "SIGKILL");', /for the first time \(SIGKILL\)\. /],
      ['long', 'process.stderr.write("x".repeat(5000) + "\\nlast line", () => process.exit(2));', /\(exit code 2: x{3990,3999} \| last line\)\. /],
    ];
    for (const [name, body, expected] of cases) {
      await withEnv({ ...(await standIn(name, body)) }, async (dir) => {
        const m = untrustedModel(name);
        const err = await sandbox.firstRunInSandbox(m, undefined).then(() => null, (e: unknown) => e);
        if (expected === null) {
          expect(err, name).to.equal(null);
          expect(await fs.readdir(path.join(dir, 'verified')), name).to.deep.equal([path.basename(markOf(dir, m))]);
        } else {
          expect(err, name).to.be.instanceOf(Error);
          expect((err as Error).message, name).to.match(new RegExp(`^onnxruntime crashed running /somewhere/${name}\\.onnx for the first time `));
          expect((err as Error).message, name).to.match(expected);
          expect(await fs.readdir(dir), name).to.deep.equal([]);
        }
      });
    }
  });

  it('the verified mark goes into a cache folder made as needed', async () => {
    await withEnv({ ...(await standIn('okdeep', 'process.exit(0);')) }, async (dir) => {
      process.env.GANVAS_CACHE = path.join(dir, 'a', 'b');
      const m = untrustedModel('deep');
      await sandbox.firstRunInSandbox(m, undefined);
      expect(await fs.readdir(path.join(dir, 'a', 'b', 'verified'))).to.deep.equal([path.basename(markOf(path.join(dir, 'a', 'b'), m))]);
    });
  });

  it('a verified mark that cannot be written costs only the mark', async () => {
    await withEnv({ ...(await standIn('okmark', 'process.exit(0);')) }, async (dir) => {
      await fs.writeFile(path.join(dir, 'verified'), 'a file where the folder goes');
      const m = untrustedModel('nomark');
      await sandbox.firstRunInSandbox(m, undefined);
      // Trusted in this process now: a 1 ms limit does not fail.
      process.env.GANVAS_SANDBOX_TIMEOUT = '0.001';
      await sandbox.firstRunInSandbox(m, undefined);
      await sandbox.firstRunInSandbox(untrustedModel('nomark'), undefined);
    });
  });
});

describe('onnx sandboxChild: the child side, run directly', function () {
  this.timeout(120000);

  function child(bytes: Uint8Array, args: string[], cache: string): { status: number | null; stdout: string } {
    const r = spawnSync(process.execPath, [CHILD, ...args], {
      input: Buffer.from(bytes),
      env: { ...process.env, ...childEnv(), GANVAS_CACHE: cache, GANVAS_SANDBOX: '0' },
      encoding: 'utf8',
      timeout: 60000,
    });
    return { status: r.status, stdout: r.stdout };
  }

  it('exits 0 after a good probe, with the input shapes given as its second argument', async () => {
    await withEnv({}, async (dir) => {
      const g = new GraphBuilder();
      g.input('x', ['N', 'C']);
      g.node('Relu', ['x'], 'y');
      g.output('y');
      expect(child(g.bytes(), ['sym.onnx', '{"x":[1,3]}'], dir)).to.deep.equal({ status: 0, stdout: '' });
      // The probe it ran is on disk, keyed by those shapes.
      const shapes = createHash('sha1').update('{"x":[1,3]}').digest('hex').slice(0, 16);
      expect((await fs.readdir(path.join(dir, 'probe')))[0]).to.match(new RegExp(`-${shapes}\\.json$`));
      // Without shapes (no second argument): the probe's GanvasError, as JSON, and exit 3.
      const r = child(g.bytes(), ['sym.onnx'], dir);
      expect(r.status).to.equal(3);
      expect(JSON.parse(r.stdout)).to.deep.equal({
        code: 'BAD_INPUT',
        message: 'input "x" of sym.onnx has shape [N, C] with symbolic axis 1 ("C"); pass inputShapes: { "x": [1, ?] } with concrete sizes',
      });
      const fixed = model(1);
      expect(child(fixed.bytes(), ['fixed.onnx'], dir)).to.deep.equal({ status: 0, stdout: '' });
    });
  });

  it('exits 3 with the error as JSON: bad bytes (NOT_ONNX), bad shapes argument (RUNTIME, not a GanvasError)', async () => {
    await withEnv({}, async (dir) => {
      const empty = child(new Uint8Array(0), ['empty.onnx', '{}'], dir);
      expect(empty.status).to.equal(3);
      expect(JSON.parse(empty.stdout)).to.deep.equal({ code: 'NOT_ONNX', message: 'empty.onnx is empty: expected an ONNX model file (a serialized onnx.ModelProto).' });
      const badArg = child(model().bytes(), ['m.onnx', '{not json'], dir);
      expect(badArg.status).to.equal(3);
      const reply = JSON.parse(badArg.stdout);
      expect(reply.code).to.equal('RUNTIME');
      expect(reply.message).to.match(/JSON/);
      // A large model arrives whole over stdin (in many chunks).
      const g = new GraphBuilder();
      g.input('x', ['N', 2]);
      g.node('Add', ['x', g.node('ReduceSum', [g.init('big', [1 << 18, 2])], 's', { keepdims: 0 })], 'y');
      g.output('y');
      expect(child(g.bytes(), ['big.onnx', '{}'], dir)).to.deep.equal({ status: 0, stdout: '' });
      expect(decodeModel(g.bytes()).bytes().length).to.be.above(1 << 20);
    });
  });
});

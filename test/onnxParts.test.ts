/**
 * The ONNX plumbing called in this process on hand-built graphs (issue 19, mutation testing): element types and
 * value infos (src/onnx/types.ts, checked against the type numbers of onnx.proto and against value-info bytes
 * encoded by hand from its field numbers), the cache folder (cache.ts), reading and checking model files
 * (model.ts) and the graph index with its cycle check (graph.ts). Each answer is worked out by hand from the small
 * graph in the test, or is a property checked on the result (a reported cycle really is one), not the code again.
 * Modules 'ganvas' does not export are loaded from the compiled package, as constantsParts2 does.
 */
import { expect } from 'chai';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  GanvasError,
  GraphIndex,
  OnnxModel,
  assertAcyclic,
  decodeModel,
  defaultOpset,
  formatDims,
  loadModel,
  nodeReads,
  onnx,
  withGraph,
} from 'ganvas';
import { GraphBuilder } from './builder';
import { rejectsGanvas, throwsGanvas } from './util';

type ElemType = string;
type Dim = number | string;
interface TypesModule {
  ortType(t: number): ElemType | undefined;
  onnxType(t: ElemType): number;
  valueInfoType(v: onnx.IValueInfoProto | undefined): { type?: ElemType; dims?: Dim[] };
  makeValueInfo(name: string, type: ElemType, dims: Dim[] | undefined): onnx.ValueInfoProto;
}
interface CacheModule {
  cacheDir(sub: string): string;
}
const dist = path.dirname(require.resolve('ganvas'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const types = require(path.join(dist, 'onnx', 'types.js')) as TypesModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cache = require(path.join(dist, 'onnx', 'cache.js')) as CacheModule;

/** A model proto from plain parts (no decode), for the checks that decodeModel would refuse first. */
function raw(graph: onnx.IGraphProto, extra: Partial<onnx.IModelProto> = {}): onnx.ModelProto {
  return onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph, ...extra });
}
function node(name: string, input: string[], output: string[], opType = 'Relu', attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { name, opType, input, output, attribute };
}
const bytesOf = (m: onnx.IModelProto): Uint8Array => onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish();

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('onnx types: element type numbers and value infos', () => {
  // onnx.proto, TensorProto.DataType: the numbers are the file format's, written here from the spec.
  const SPEC: [number, string][] = [
    [1, 'float32'], [2, 'uint8'], [3, 'int8'], [4, 'uint16'], [5, 'int16'], [6, 'int32'], [7, 'int64'],
    [8, 'string'], [9, 'bool'], [10, 'float16'], [11, 'float64'], [12, 'uint32'], [13, 'uint64'],
  ];

  it('maps every ONNX type number onnxruntime has to its name and back; others have none', () => {
    for (const [n, name] of SPEC) {
      expect(types.ortType(n), `ortType(${n})`).to.equal(name);
      expect(types.onnxType(name), `onnxType(${name})`).to.equal(n);
    }
    for (const n of [0, 14, 15, 16, 99]) expect(types.ortType(n), `ortType(${n})`).to.equal(undefined);
    expect(() => types.onnxType('complex64')).to.throw('unknown element type complex64');
  });

  it('reads element type and dims of a value info: symbols, sizes, unknown axes, no shape, no type', () => {
    const vi = onnx.ValueInfoProto.create({
      name: 'v',
      type: { tensorType: { elemType: 7, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }, {}, { dimValue: 0 }, { dimValue: 1 }] } } },
    });
    expect(types.valueInfoType(vi)).to.deep.equal({ type: 'int64', dims: ['batch', 3, 'd2', 'd3', 1] });
    // Decoded from bytes (int64 fields come back as Long objects there).
    const back = onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(vi).finish());
    expect(types.valueInfoType(back)).to.deep.equal({ type: 'int64', dims: ['batch', 3, 'd2', 'd3', 1] });
    expect(types.valueInfoType({ name: 'v', type: { tensorType: { elemType: 1 } } })).to.deep.equal({ type: 'float32', dims: undefined });
    expect(types.valueInfoType({ name: 'v', type: { tensorType: { elemType: 1, shape: {} } } })).to.deep.equal({ type: 'float32', dims: [] });
    expect(types.valueInfoType({ name: 'v', type: { tensorType: { shape: { dim: [{ dimValue: 2 }] } } } })).to.deep.equal({ type: undefined, dims: [2] });
    expect(types.valueInfoType({ name: 'v', type: { tensorType: { elemType: 14, shape: { dim: [] } } } })).to.deep.equal({ type: undefined, dims: [] });
    expect(types.valueInfoType({ name: 'v' })).to.deep.equal({});
    expect(types.valueInfoType({ name: 'v', type: {} })).to.deep.equal({});
    expect(types.valueInfoType(undefined)).to.deep.equal({});
  });

  it('writes value infos whose bytes are the ones onnx.proto\'s field numbers give', () => {
    // ValueInfoProto{1: name, 2: type}; TypeProto{1: tensor_type}; Tensor{1: elem_type, 2: shape};
    // TensorShapeProto{1: dim}; Dimension{1: dim_value, 2: dim_param}. Tag byte = field << 3 | wire type.
    const N = 'N'.charCodeAt(0);
    const dimN = [0x12, 1, N];
    const dim3 = [0x08, 3];
    const shape = [0x0a, dimN.length, ...dimN, 0x0a, dim3.length, ...dim3];
    const tensor = [0x08, 1, 0x12, shape.length, ...shape];
    const type = [0x0a, tensor.length, ...tensor];
    const expected = [0x0a, 1, 'x'.charCodeAt(0), 0x12, type.length, ...type];
    expect(Array.from(onnx.ValueInfoProto.encode(types.makeValueInfo('x', 'float32', ['N', 3])).finish())).to.deep.equal(expected);
    // No dims: no shape field at all (unknown rank), unlike [] (a scalar).
    const noShape = [0x0a, 1, 'y'.charCodeAt(0), 0x12, 4, 0x0a, 2, 0x08, 7];
    expect(Array.from(onnx.ValueInfoProto.encode(types.makeValueInfo('y', 'int64', undefined)).finish())).to.deep.equal(noShape);
    const scalar = [0x0a, 1, 'z'.charCodeAt(0), 0x12, 6, 0x0a, 4, 0x08, 9, 0x12, 0];
    expect(Array.from(onnx.ValueInfoProto.encode(types.makeValueInfo('z', 'bool', [])).finish())).to.deep.equal(scalar);
  });

  it('formats dims as a bracketed list', () => {
    expect(formatDims(['N', 3, 8, 8])).to.equal('[N, 3, 8, 8]');
    expect(formatDims([])).to.equal('[]');
  });
});

describe('onnx cache: the per-user cache folder', () => {
  it('lies under GANVAS_CACHE when set, else under ~/.cache/ganvas', () => {
    expect(withEnv({ GANVAS_CACHE: '/tmp/elsewhere' }, () => cache.cacheDir('probe'))).to.equal('/tmp/elsewhere/probe');
    const home = path.join(os.homedir(), '.cache', 'ganvas', 'verified');
    expect(withEnv({ GANVAS_CACHE: undefined }, () => cache.cacheDir('verified'))).to.equal(home);
    expect(withEnv({ GANVAS_CACHE: '' }, () => cache.cacheDir('verified'))).to.equal(home);
  });
});

describe('onnx model: OnnxModel, decodeModel, loadModel, defaultOpset, withGraph', () => {
  function small(): GraphBuilder {
    const g = new GraphBuilder();
    g.input('x', ['N', 2]);
    g.node('Mul', ['x', g.init('k', [1], [3])], 'y');
    g.output('y', ['N', 2]);
    return g;
  }

  it('names real inputs (not initializers listed as inputs, not empty names), outputs, and finds value infos', () => {
    const proto = raw({
      node: [node('a', ['x', 'w'], ['h']), node('b', ['h'], ['y'])],
      input: [{ name: 'x' }, { name: 'w' }, { name: '' }, { name: 'z' }],
      initializer: [{ name: 'w', dims: [1], dataType: 1, floatData: [1] }],
      output: [{ name: 'y', docString: 'output y' }, { name: '' }],
      valueInfo: [{ name: 'h', docString: 'annotation' }, { name: 'y', docString: 'second y' }],
    });
    const m = new OnnxModel(proto, 'plain');
    expect(m.inputNames()).to.deep.equal(['x', 'z']);
    expect(m.outputNames()).to.deep.equal(['y', '']);
    expect(m.valueInfo('h')?.docString).to.equal('annotation');
    // Inputs, then outputs, then annotations: the output's entry wins over the annotation of the same name.
    expect(m.valueInfo('y')?.docString).to.equal('output y');
    expect(m.valueInfo('x')?.name).to.equal('x');
    expect(m.valueInfo('nothing')).to.equal(undefined);
    const bare = new OnnxModel(raw({ node: [node('a', [], ['y'])] }), 'bare');
    expect(bare.inputNames()).to.deep.equal([]);
    expect(bare.outputNames()).to.deep.equal([]);
    expect(bare.valueInfo('y')).to.equal(undefined);
  });

  it('encodes once, keeps the bytes it was decoded from, and digests them with SHA-1', () => {
    const g = small();
    const bytes = g.bytes();
    const m = decodeModel(bytes, 'small.onnx');
    expect(m.bytes()).to.equal(bytes);
    expect(m.digest()).to.equal(createHash('sha1').update(bytes).digest('hex'));
    expect(m.digest()).to.equal(m.digest());
    const made = new OnnxModel(onnx.ModelProto.decode(bytes), 'made');
    const first = made.bytes();
    expect(made.bytes()).to.equal(first);
    expect(onnx.ModelProto.decode(first).graph?.node?.[0].opType).to.equal('Mul');
    expect(made.digest()).to.equal(createHash('sha1').update(first).digest('hex'));
    // The digest is of the bytes, so a model changed after its first encoding keeps its old digest and bytes.
    made.proto.producerName = 'changed';
    expect(made.digest()).to.equal(createHash('sha1').update(first).digest('hex'));
  });

  it('attaches aliases without sharing them: later ones win, the source and proto stay', () => {
    const m = small().build('s.onnx');
    expect(m.aliases).to.deep.equal({});
    const given: Record<string, string> = { a: 'y', b: 'x' };
    const a = m.withAliases(given);
    given.a = 'changed';
    expect(a.aliases).to.deep.equal({ a: 'y', b: 'x' });
    const b = a.withAliases({ b: 'k', c: 'y' });
    expect(b.aliases).to.deep.equal({ a: 'y', b: 'k', c: 'y' });
    expect(a.aliases).to.deep.equal({ a: 'y', b: 'x' });
    expect(b.source).to.equal('s.onnx');
    expect(b.proto).to.equal(m.proto);
    expect(b.graph).to.equal(m.proto.graph);
    expect(b.bytes()).to.equal(m.bytes());
    const own = new OnnxModel(m.proto, 'own', undefined, given);
    given.z = 'x';
    expect(own.aliases).to.not.have.property('z');
  });

  it('refuses empty, unreadable and not-model bytes, naming every problem', () => {
    const empty = throwsGanvas(() => decodeModel(new Uint8Array(0), 'e.onnx'), 'NOT_ONNX');
    expect(empty.message).to.equal('e.onnx is empty: expected an ONNX model file (a serialized onnx.ModelProto).');
    expect(throwsGanvas(() => decodeModel(new Uint8Array(0))).message).to.match(/^<bytes> is empty/);
    // 0xff: field 31 with wire type 7, which protobuf does not have.
    const bad = throwsGanvas(() => decodeModel(Uint8Array.from([0xff, 0xff, 0xff]), 'bad.onnx'), 'NOT_ONNX');
    expect(bad.message).to.match(/^bad\.onnx is not a readable ONNX model \(.+\)\. The file may be truncated or not an ONNX file at all; re-export it/);
    expect(bad.cause).to.be.instanceOf(Error);
    const all = throwsGanvas(() => decodeModel(bytesOf({ producerName: 'x' }), 'none.onnx'), 'NOT_ONNX');
    expect(all.message).to.equal(
      'none.onnx does not look like an ONNX model: it has no graph, its ir_version is 0, it imports no operator set. ' +
        'Expected an onnx.ModelProto with ir_version 3 or later, an opset import and a non-empty graph.',
    );
    const noNodes = throwsGanvas(() => decodeModel(bytesOf(raw({ name: 'g' })), 'n.onnx'), 'NOT_ONNX');
    expect(noNodes.message).to.match(/^n\.onnx does not look like an ONNX model: its graph has no nodes\. /);
    const g = { node: [node('a', ['x'], ['y'])] };
    for (const ir of [2, 21, -1]) {
      expect(throwsGanvas(() => decodeModel(bytesOf(raw(g, { irVersion: ir })), 'ir.onnx')).message).to.include(`: its ir_version is ${ir}.`);
    }
    for (const ir of [3, 20]) expect(decodeModel(bytesOf(raw(g, { irVersion: ir })), 'ok.onnx').source).to.equal('ok.onnx');
    expect(throwsGanvas(() => decodeModel(bytesOf(raw(g, { opsetImport: [] })))).message).to.include(': it imports no operator set.');
  });

  it('refuses a cycle and weights stored outside the file', () => {
    const cyc = raw({ node: [node('a', ['y'], ['x']), node('b', ['x'], ['y'])] });
    expect(throwsGanvas(() => decodeModel(bytesOf(cyc), 'cyc.onnx'), 'NOT_ONNX').message).to.match(/^cyc\.onnx is not a valid ONNX graph: its nodes form a cycle/);
    const ext = (t: onnx.ITensorProto) => raw({ node: [node('a', ['x'], ['y'])], initializer: [{ dims: [1], dataType: 1, ...t }] });
    const e1 = throwsGanvas(() => decodeModel(bytesOf(ext({ name: 'w', externalData: [{ key: 'location', value: 'w.bin' }] })), 'ext.onnx'), 'UNSUPPORTED');
    expect(e1.message).to.equal(
      'ext.onnx stores initializer "w" as external data; ganvas needs self-contained models. Save it with onnx.save(model, path, save_as_external_data=False).',
    );
    throwsGanvas(() => decodeModel(bytesOf(ext({ name: 'w2', dataLocation: onnx.TensorProto.DataLocation.EXTERNAL })), 'ext2.onnx'), 'UNSUPPORTED');
    expect(decodeModel(bytesOf(ext({ name: 'w3', floatData: [1], dataLocation: onnx.TensorProto.DataLocation.DEFAULT })), 'in.onnx').graph.initializer?.[0].name).to.equal('w3');
  });

  it('loads from a model, bytes or a file; an unreadable path is refused', async () => {
    const g = small();
    const m = g.build('m.onnx');
    expect(await loadModel(m)).to.equal(m);
    const fromBytes = await loadModel(g.bytes());
    expect(fromBytes.source).to.equal('<bytes>');
    expect(fromBytes.outputNames()).to.deep.equal(['y']);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-onnxparts-'));
    try {
      await fs.writeFile(path.join(dir, 'f.onnx'), g.bytes());
      const rel = path.relative(process.cwd(), path.join(dir, 'f.onnx'));
      const fromFile = await loadModel(rel);
      expect(fromFile.source).to.equal(path.join(dir, 'f.onnx'));
      expect(fromFile.inputNames()).to.deep.equal(['x']);
      const missing = await rejectsGanvas(loadModel(path.join(dir, 'absent.onnx')), 'NOT_ONNX');
      expect(missing.message).to.match(/^cannot read model file .*absent\.onnx: ENOENT/);
      await fs.writeFile(path.join(dir, 'empty.onnx'), '');
      expect((await rejectsGanvas(loadModel(path.join(dir, 'empty.onnx')), 'NOT_ONNX')).message).to.equal(`${path.join(dir, 'empty.onnx')} is empty: expected an ONNX model file (a serialized onnx.ModelProto).`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reads the default-domain opset (named "" or "ai.onnx"), not another domain\'s', () => {
    const at = (imports: onnx.IOperatorSetIdProto[]) => defaultOpset(new OnnxModel(raw({}, { opsetImport: imports }), 'o'));
    expect(at([{ domain: 'com.microsoft', version: 1 }, { domain: '', version: 11 }])).to.equal(11);
    expect(at([{ domain: 'com.microsoft', version: 1 }, { domain: 'ai.onnx', version: 17 }])).to.equal(17);
    expect(at([{ version: 9 }])).to.equal(9);
    expect(at([{ domain: 'com.microsoft', version: 1 }])).to.equal(0);
    expect(at([])).to.equal(0);
  });

  it('wraps a new graph in the base model\'s metadata', () => {
    const base = new OnnxModel(
      raw({ name: 'old' }, {
        irVersion: 7, producerName: 'torch', producerVersion: '1.13', domain: 'org.x', modelVersion: 4, docString: 'doc',
        opsetImport: [{ domain: '', version: 12 }, { domain: 'com.microsoft', version: 1 }],
        functions: [{ name: 'f', domain: 'd' }],
      }),
      'base',
    );
    const m = withGraph(base, { name: 'new', node: [node('a', ['x'], ['y'])] }, 'derived');
    expect(m.source).to.equal('derived');
    const p = m.proto;
    expect([Number(p.irVersion), p.producerName, p.producerVersion, p.domain, Number(p.modelVersion), p.docString]).to.deep.equal([7, 'ganvas', '1.13', 'org.x', 4, 'doc']);
    expect(p.opsetImport.map((o) => [o.domain, Number(o.version)])).to.deep.equal([['', 12], ['com.microsoft', 1]]);
    expect(p.functions.map((f) => f.name)).to.deep.equal(['f']);
    expect(m.graph.name).to.equal('new');
    expect(m.graph).to.be.instanceOf(onnx.GraphProto);
    expect(m.aliases).to.deep.equal({});
    // Encodes as a model onnx can read back.
    expect(onnx.ModelProto.decode(m.bytes()).graph?.node?.[0].output).to.deep.equal(['y']);
  });
});

describe('onnx graph: the index, reads of sub-graphs, the cycle check', () => {
  /**
   * x → A(x, w) → a; Constant C → c; B(c, w) → b (constant); D(a, b) → d; E(d, '') → e (missing optional input);
   * an If node reads d and, inside its branches, the outer a and c (captures), plus tensors local to them.
   */
  function graph(): OnnxModel {
    const branch = (extra: string): onnx.IGraphProto => ({
      name: 'branch',
      input: [{ name: 'local_in' }],
      initializer: [{ name: 'local_w', dims: [1], dataType: 1, floatData: [1] }],
      node: [node('in1', ['a', 'local_w', 'local_in'], ['t1']), node('in2', ['t1', extra], ['t2'])],
      output: [{ name: 't2' }],
    });
    const ifNode = node('If', ['cond'], ['f'], 'If', [
      { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('c') },
      { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPHS, graphs: [branch('t1'), branch('x')] },
    ]);
    const cNode = node('C', [], ['c'], 'Constant');
    return new OnnxModel(
      raw({
        node: [node('A', ['x', 'w'], ['a']), cNode, node('B', ['c', 'w'], ['b']), node('D', ['a', 'b'], ['d', '']), node('E', ['d', ''], ['e']), ifNode, node('G', ['b', 'b'], ['g'])],
        input: [{ name: 'x' }, { name: 'w' }, { name: 'cond' }],
        initializer: [{ name: 'w', dims: [1], dataType: 1, floatData: [2] }],
        output: [{ name: 'e' }, { name: 'f' }],
      }),
      'index',
    );
  }

  it('indexes producers, consumers (with sub-graph captures), initializers, inputs and outputs', () => {
    const ix = new GraphIndex(graph());
    expect(ix.nodes.map((n) => n.name)).to.deep.equal(['A', 'C', 'B', 'D', 'E', 'If', 'G']);
    expect([...ix.producer.entries()]).to.deep.equal([['a', 0], ['c', 1], ['b', 2], ['d', 3], ['e', 4], ['f', 5], ['g', 6]]);
    expect(Object.fromEntries(ix.consumers)).to.deep.equal({ x: [0, 5], w: [0, 2], c: [2, 5], a: [3, 5, 5, 5], b: [3, 6, 6], d: [4], cond: [5] });
    expect([...ix.initializers]).to.deep.equal(['w']);
    expect([...ix.inputs]).to.deep.equal(['x', 'cond']);
    expect(ix.outputs).to.deep.equal(['e', 'f']);
    expect(ix.model.source).to.equal('index');
  });

  it('reads of a node: its non-empty inputs and what its sub-graphs capture, not their own tensors', () => {
    const ifNode = graph().graph.node?.[5] as onnx.INodeProto;
    // then: a, c; else[0]: a (t1 is local there); else[1]: a, x.
    expect(nodeReads(ifNode)).to.deep.equal(['cond', 'a', 'c', 'a', 'a', 'x']);
    expect(nodeReads(node('E', ['d', '', 'q'], ['e']))).to.deep.equal(['d', 'q']);
    expect(nodeReads({ opType: 'Relu' })).to.deep.equal([]);
    // A sub-graph inside a sub-graph: captures pass up through both.
    const inner: onnx.IGraphProto = { node: [node('i', ['deep', 'mid_local'], ['o'])] };
    const mid: onnx.IGraphProto = { node: [node('m', [], ['mid_local']), node('loop', ['mid_local'], ['r'], 'Loop', [{ name: 'body', g: inner }])] };
    expect(nodeReads(node('outer', [], ['z'], 'If', [{ name: 'then_branch', g: mid }]))).to.deep.equal(['deep']);
  });

  it('calls a tensor constant when it depends on no input, input or not reached through sub-graphs', () => {
    const ix = new GraphIndex(graph());
    const expected: Record<string, boolean> = { w: true, c: true, b: true, g: true, x: false, cond: false, a: false, d: false, e: false, f: false, nowhere: true };
    for (const [t, v] of Object.entries(expected)) expect(ix.isConstant(t), t).to.equal(v);
    // Asked again (now cached), in another order, on a fresh index: the same answers.
    for (const [t, v] of Object.entries(expected)) expect(ix.isConstant(t), `${t} again`).to.equal(v);
    const fresh = new GraphIndex(graph());
    for (const t of Object.keys(expected).reverse()) expect(fresh.isConstant(t), `${t} fresh`).to.equal(expected[t]);
  });

  it('walks a 30000-node chain without overflowing the stack', () => {
    const n = 30000;
    const nodes = Array.from({ length: n }, (_, i) => node(`n${i}`, [i === 0 ? 'k' : `t${i - 1}`], [`t${i}`]));
    const ix = new GraphIndex(new OnnxModel(raw({ node: nodes, initializer: [{ name: 'k', dims: [1], dataType: 1, floatData: [1] }] }), 'chain'));
    expect(ix.isConstant(`t${n - 1}`)).to.equal(true);
    expect(ix.closure([`t${n - 1}`]).length).to.equal(n);
    const withInput = new GraphIndex(new OnnxModel(raw({ node: nodes, input: [{ name: 'k' }] }), 'chain2'));
    expect(withInput.isConstant(`t${n - 1}`)).to.equal(false);
  });

  it('closure: the nodes needed for targets, in graph order, stopping at chosen tensors', () => {
    const ix = new GraphIndex(graph());
    expect(ix.closure(['e'])).to.deep.equal([0, 1, 2, 3, 4]);
    expect(ix.closure(['e'], (t) => t === 'd')).to.deep.equal([4]);
    expect(ix.closure(['e'], (t) => t === 'b')).to.deep.equal([0, 3, 4]);
    expect(ix.closure(['f'])).to.deep.equal([0, 1, 5]);
    expect(ix.closure(['g', 'x', 'nowhere'])).to.deep.equal([1, 2, 6]);
    expect(ix.closure(new Set(['a', 'a']))).to.deep.equal([0]);
    expect(ix.closure([])).to.deep.equal([]);
    expect(ix.closure(['e'], (t) => t === 'e')).to.deep.equal([]);
  });

  it('writes and free reads of a set of nodes', () => {
    const ix = new GraphIndex(graph());
    expect([...ix.writes([4, 0, 3])]).to.deep.equal(['a', 'd', 'e']);
    expect([...ix.writes([])]).to.deep.equal([]);
    expect([...ix.freeReads([3, 4, 0])]).to.deep.equal(['b', 'x', 'w']);
    expect([...ix.freeReads([5])]).to.deep.equal(['cond', 'a', 'c', 'x']);
    expect([...ix.freeReads([0, 1, 2, 5])]).to.deep.equal(['x', 'w', 'cond']);
  });

  it('accepts a DAG, a node writing one tensor twice, and an empty graph', () => {
    expect(() => assertAcyclic(graph().graph, 'g')).to.not.throw();
    expect(() => assertAcyclic({ node: [node('a', ['x'], ['y', 'y'])] }, 'g')).to.not.throw();
    expect(() => assertAcyclic({}, 'g')).to.not.throw();
    // Missing optional outputs are empty names, which two nodes may both "write".
    expect(() => assertAcyclic({ node: [node('a', ['x'], ['y', '']), node('b', ['y'], ['z', '', ''])] }, 'g')).to.not.throw();
    // A read of nothing produced, and a node read twice by one node: no cycle.
    expect(() => assertAcyclic({ node: [node('a', ['x'], ['y']), node('b', ['y', 'y', 'q'], ['z'])] }, 'g')).to.not.throw();
  });

  it('refuses a tensor with two producers, naming both nodes', () => {
    const e = throwsGanvas(() => assertAcyclic({ node: [node('first', ['x'], ['r']), node('', ['x'], ['s']), node('third', ['x'], ['r'])] }, 'two.onnx'), 'NOT_ONNX');
    expect(e.message).to.equal('two.onnx is not a valid ONNX graph: tensor "r" is written by two nodes ("first" and "third"); every tensor must have one producer. Re-export the model.');
    const unnamed = throwsGanvas(() => assertAcyclic({ node: [{ opType: 'A', input: [], output: ['s'] }, { opType: 'B', output: ['t'] }, { opType: 'C', input: ['t'], output: ['s'] }] }, 'u'));
    expect(unnamed.message).to.include('tensor "s" is written by two nodes ("0" and "2")');
  });

  /** The node names of a reported cycle, in the message's order (the first repeated at the end). */
  function cycleOf(message: string): string[] {
    const m = message.match(/form a cycle \((.*)\); /);
    expect(m, message).to.not.equal(null);
    return (m as RegExpMatchArray)[1].split(' → ').map((s) => s.replace(/^"|"$/g, ''));
  }

  it('names a cycle in data-flow order: each node feeds the next, back to the first', () => {
    // t is read by a node outside the cycle, listed first; u by one after it.
    const nodes = [node('outside', ['p'], ['q']), node('A', ['x', 'c'], ['a']), node('B', ['a'], ['b']), node('C', ['b'], ['c', 'p']), node('tail', ['q'], ['z'])];
    const e = throwsGanvas(() => assertAcyclic({ node: nodes }, 'cyc.onnx'), 'NOT_ONNX');
    expect(e.message).to.match(/^cyc\.onnx is not a valid ONNX graph: its nodes form a cycle \(.*\); an ONNX graph must be acyclic\. Re-export the model\.$/);
    const names = cycleOf(e.message);
    expect(names.length).to.equal(4);
    expect(names[3]).to.equal(names[0]);
    expect([...names.slice(0, 3)].sort()).to.deep.equal(['A', 'B', 'C']);
    const byName = new Map(nodes.map((n) => [n.name, n]));
    for (let i = 0; i < 3; i++) {
      const from = byName.get(names[i]) as onnx.INodeProto;
      const to = byName.get(names[i + 1]) as onnx.INodeProto;
      expect((to.input ?? []).some((t) => (from.output ?? []).includes(t)), `${names[i]} feeds ${names[i + 1]}`).to.equal(true);
    }
    // A node that reads its own output; nameless nodes are named by op type, or by index.
    expect(cycleOf(throwsGanvas(() => assertAcyclic({ node: [node('self', ['s'], ['s'])] }, 's')).message)).to.deep.equal(['self', 'self']);
    expect(cycleOf(throwsGanvas(() => assertAcyclic({ node: [node('ok', ['x'], ['y']), { opType: 'Add', input: ['y', 'w'], output: ['v'] }, { input: ['v'], output: ['w'] }] }, 's')).message)).to.deep.equal(['2', 'Add', '2']);
  });

  it('shortens a long cycle to its first eight nodes', () => {
    const n = 10;
    const ring = Array.from({ length: n }, (_, i) => node(`r${i}`, [`t${(i + n - 1) % n}`], [`t${i}`]));
    const e = throwsGanvas(() => assertAcyclic({ node: ring }, 'ring'));
    // From r0, following its inputs backwards r0 ← r9 ← … ← r1, reversed into data-flow order: r1 → … → r9 → r0.
    expect(e.message).to.include('its nodes form a cycle ("r1" → "r2" → "r3" → "r4" → "r5" → "r6" → "r7" → "r8" → … → "r1"); ');
    const eight = Array.from({ length: 8 }, (_, i) => node(`r${i}`, [`t${(i + 7) % 8}`], [`t${i}`]));
    expect(throwsGanvas(() => assertAcyclic({ node: eight }, 'ring8')).message).to.include('("r1" → "r2" → "r3" → "r4" → "r5" → "r6" → "r7" → "r0" → "r1")');
  });

  it('GanvasError instances all the way', () => {
    expect(throwsGanvas(() => assertAcyclic({ node: [node('s', ['s'], ['s'])] }, 's'))).to.be.instanceOf(GanvasError);
  });
});

/**
 * Reading and writing ONNX model files with the ONNX protobuf schema (no Python at run time).
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { GanvasError, describeError } from '../errors';
import { assertAcyclic } from './graph';

export type ModelProto = onnx.ModelProto;
export type GraphProto = onnx.IGraphProto;
export type NodeProto = onnx.INodeProto;
export type TensorProto = onnx.ITensorProto;
export type ValueInfoProto = onnx.IValueInfoProto;

/** A parsed ONNX model plus where it came from (for error messages and provenance). */
export class OnnxModel {
  readonly proto: ModelProto;
  /** A path, or a short description such as "head of model.onnx at b16.conv1". */
  readonly source: string;
  /** Friendly layer names (from the model's manifest) → tensor names. */
  readonly aliases: Readonly<Record<string, string>>;
  private encoded?: Uint8Array;
  private hash?: string;

  constructor(proto: ModelProto, source: string, bytes?: Uint8Array, aliases: Record<string, string> = {}) {
    this.proto = proto;
    this.source = source;
    this.encoded = bytes;
    this.aliases = { ...aliases };
  }

  /** The same model with layer aliases attached (as a manifest's "layers" gives them). */
  withAliases(aliases: Record<string, string>): OnnxModel {
    return new OnnxModel(this.proto, this.source, this.encoded, { ...this.aliases, ...aliases });
  }

  get graph(): onnx.IGraphProto {
    // Validated in decodeModel / by construction: every OnnxModel has a graph.
    return this.proto.graph as onnx.IGraphProto;
  }

  /** Serialized bytes, encoded once and cached (sessions are keyed on them). */
  bytes(): Uint8Array {
    if (!this.encoded) this.encoded = onnx.ModelProto.encode(this.proto).finish();
    return this.encoded;
  }

  /** SHA-1 of the serialized model, computed once: sessions are cached by it, and hashing megabytes per run would cost more than running a small generator. */
  digest(): string {
    this.hash ??= createHash('sha1').update(this.bytes()).digest('hex');
    return this.hash;
  }

  /** Names of the real graph inputs: old exporters also list initializers as inputs; those are weights. */
  inputNames(): string[] {
    const inits = new Set((this.graph.initializer ?? []).map((t) => t.name ?? ''));
    return (this.graph.input ?? []).map((v) => v.name ?? '').filter((n) => n !== '' && !inits.has(n));
  }

  outputNames(): string[] {
    return (this.graph.output ?? []).map((v) => v.name ?? '');
  }

  /** ValueInfo of a real input, output or annotated tensor by name. */
  valueInfo(name: string): ValueInfoProto | undefined {
    const g = this.graph;
    for (const list of [g.input, g.output, g.valueInfo]) {
      const v = (list ?? []).find((x) => x.name === name);
      if (v) return v;
    }
    return undefined;
  }
}

/** Decodes and sanity-checks ONNX bytes. Random bytes often decode as *some* protobuf, so decoding alone proves nothing. */
export function decodeModel(bytes: Uint8Array, source = '<bytes>'): OnnxModel {
  if (bytes.length === 0) {
    throw new GanvasError('NOT_ONNX', `${source} is empty: expected an ONNX model file (a serialized onnx.ModelProto).`);
  }
  let proto: onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new GanvasError(
      'NOT_ONNX',
      `${source} is not a readable ONNX model (${describeError(e)}). ` +
        `The file may be truncated or not an ONNX file at all; re-export it (e.g. torch.onnx.export) and check its size.`,
      { cause: e },
    );
  }
  const problems: string[] = [];
  if (!proto.graph) problems.push('it has no graph');
  const ir = Number(proto.irVersion ?? 0);
  if (!(ir >= 3 && ir <= 20)) problems.push(`its ir_version is ${ir}`);
  if (!proto.opsetImport || proto.opsetImport.length === 0) problems.push('it imports no operator set');
  if (proto.graph && (proto.graph.node ?? []).length === 0) problems.push('its graph has no nodes');
  if (problems.length > 0) {
    throw new GanvasError(
      'NOT_ONNX',
      `${source} does not look like an ONNX model: ${problems.join(', ')}. Expected an onnx.ModelProto with ` +
        `ir_version 3 or later, an opset import and a non-empty graph.`,
    );
  }
  assertAcyclic(proto.graph as GraphProto, source);
  for (const t of proto.graph?.initializer ?? []) {
    if ((t.externalData ?? []).length > 0 || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      throw new GanvasError(
        'UNSUPPORTED',
        `${source} stores initializer "${t.name}" as external data; ganvas needs self-contained models. ` +
          `Save it with onnx.save(model, path, save_as_external_data=False).`,
      );
    }
  }
  return new OnnxModel(proto, source, bytes);
}

export async function loadModel(file: string | Uint8Array | OnnxModel): Promise<OnnxModel> {
  if (file instanceof OnnxModel) return file;
  if (typeof file !== 'string') return decodeModel(file);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new GanvasError('NOT_ONNX', `cannot read model file ${file}: ${describeError(e)}`, { cause: e });
  }
  return decodeModel(bytes, path.resolve(file));
}

/** The model's default-domain (ai.onnx) opset version (0 when it imports none; decodeModel refuses such files). */
export function defaultOpset(model: OnnxModel): number {
  const imp = (model.proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return Number(imp?.version ?? 0);
}

/** A new model with the same metadata (ir version, opsets, functions) around a new graph. */
export function withGraph(base: OnnxModel, graph: onnx.IGraphProto, source: string): OnnxModel {
  const proto = onnx.ModelProto.create({
    irVersion: base.proto.irVersion,
    opsetImport: base.proto.opsetImport,
    producerName: 'ganvas',
    producerVersion: base.proto.producerVersion,
    domain: base.proto.domain,
    modelVersion: base.proto.modelVersion,
    docString: base.proto.docString,
    functions: base.proto.functions,
    graph: onnx.GraphProto.create(graph),
  });
  return new OnnxModel(proto, source);
}

export { onnx };

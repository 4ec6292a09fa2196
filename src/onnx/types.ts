/**
 * ONNX element types and shapes, and their onnxruntime counterparts.
 */
import { onnx } from 'onnx-proto';
import type { ValueInfoProto } from './model';

/** onnxruntime's names for element types (ort.Tensor['type']). */
export type ElemType =
  | 'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32'
  | 'int64' | 'uint64' | 'bool' | 'string';

const D = onnx.TensorProto.DataType;
const ONNX_TO_ORT: Record<number, ElemType> = {
  [D.FLOAT]: 'float32', [D.DOUBLE]: 'float64', [D.FLOAT16]: 'float16', [D.INT8]: 'int8', [D.UINT8]: 'uint8',
  [D.INT16]: 'int16', [D.UINT16]: 'uint16', [D.INT32]: 'int32', [D.UINT32]: 'uint32', [D.INT64]: 'int64',
  [D.UINT64]: 'uint64', [D.BOOL]: 'bool', [D.STRING]: 'string',
};

export function ortType(onnxType: number): ElemType | undefined {
  return ONNX_TO_ORT[onnxType];
}

export function onnxType(t: ElemType): number {
  for (const [k, v] of Object.entries(ONNX_TO_ORT)) if (v === t) return Number(k);
  throw new Error(`unknown element type ${t}`);
}

/** A dimension: a fixed size, or a symbolic name (dim_param) such as "N" for the batch axis. */
export type Dim = number | string;

/** Element type and dims of a value info; dims undefined when the shape is not recorded. */
export function valueInfoType(v: ValueInfoProto | undefined): { type?: ElemType; dims?: Dim[] } {
  const tt = v?.type?.tensorType;
  if (!tt) return {};
  // A missing elem_type is NaN here, which names no type, as 0 (UNDEFINED) does.
  const type = ortType(Number(tt.elemType));
  const dims = tt.shape
    ? (tt.shape.dim ?? []).map((d, i): Dim => {
        if (d.dimParam) return d.dimParam;
        const size = Number(d.dimValue ?? 0);
        if (size > 0) return size;
        return `d${i}`;
      })
    : undefined;
  return { type, dims };
}

export function makeValueInfo(name: string, type: ElemType, dims: Dim[] | undefined): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnxType(type),
        shape: dims
          ? onnx.TensorShapeProto.create({
              dim: dims.map((d) =>
                typeof d === 'number'
                  ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
                  : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
              ),
            })
          : undefined,
      }),
    }),
  });
}

export function formatDims(dims: readonly Dim[]): string {
  return `[${dims.join(', ')}]`;
}

/**
 * Losses, written as small expression trees that become ONNX nodes appended to the forward graph. The engine
 * then differentiates them like any other part of the graph, so a loss helper needs no gradient code of its own.
 *
 * The loss is always a scalar: whatever the expression leaves is averaged over all its elements (batch included).
 */
import { GanvasError } from '../errors';
import type { Dim } from '../onnx/types';
import type { Emitter } from './emit';

export type LossExpr =
  /** A tensor of the model (an output, or any intermediate). */
  | { kind: 'tensor'; name: string }
  /** A new float32 graph input of the gradient model, fed at run time (a target image, a mask). */
  | { kind: 'feed'; name: string; dims?: Dim[]; like?: string }
  | { kind: 'const'; value: number }
  | { kind: 'add' | 'sub' | 'mul' | 'div'; a: LossExpr; b: LossExpr }
  | { kind: 'abs' | 'square' | 'sqrt' | 'neg'; x: LossExpr }
  /** Mean or sum over axes (all axes when omitted); reduced axes are dropped. */
  | { kind: 'mean' | 'sum'; x: LossExpr; axes?: number[] }
  /** Cosine similarity of a and b along one axis (that axis is dropped). */
  | { kind: 'cosine'; a: LossExpr; b: LossExpr; axis: number; eps: number };

/** A loss: an expression, or a tensor name (meaning the mean of that tensor). */
export type LossSpec = LossExpr | string;

type Operand = LossExpr | string | number;

function lift(x: Operand): LossExpr {
  if (typeof x === 'string') return { kind: 'tensor', name: x };
  if (typeof x === 'number') return { kind: 'const', value: x };
  return x;
}

/** A feed whose dims were not given takes the dims of the tensor it is combined with. */
function pair(a: Operand, b: Operand): [LossExpr, LossExpr] {
  const ea = lift(a);
  const eb = lift(b);
  const fill = (f: LossExpr, other: LossExpr): LossExpr =>
    f.kind === 'feed' && !f.dims && !f.like && other.kind === 'tensor' ? { ...f, like: other.name } : f;
  return [fill(ea, eb), fill(eb, ea)];
}

export const loss = {
  tensor: (name: string): LossExpr => ({ kind: 'tensor', name }),
  /** A run-time input (target, mask); dims default to those of the tensor it is first combined with. */
  feed: (name: string, dims?: Dim[]): LossExpr => ({ kind: 'feed', name, dims }),
  add: (a: Operand, b: Operand): LossExpr => ({ kind: 'add', ...ab(pair(a, b)) }),
  sub: (a: Operand, b: Operand): LossExpr => ({ kind: 'sub', ...ab(pair(a, b)) }),
  mul: (a: Operand, b: Operand): LossExpr => ({ kind: 'mul', ...ab(pair(a, b)) }),
  div: (a: Operand, b: Operand): LossExpr => ({ kind: 'div', ...ab(pair(a, b)) }),
  scale: (x: Operand, k: number): LossExpr => ({ kind: 'mul', a: lift(x), b: { kind: 'const', value: k } }),
  neg: (x: Operand): LossExpr => ({ kind: 'neg', x: lift(x) }),
  abs: (x: Operand): LossExpr => ({ kind: 'abs', x: lift(x) }),
  square: (x: Operand): LossExpr => ({ kind: 'square', x: lift(x) }),
  mean: (x: Operand, axes?: number[]): LossExpr => ({ kind: 'mean', x: lift(x), axes }),
  sum: (x: Operand, axes?: number[]): LossExpr => ({ kind: 'sum', x: lift(x), axes }),
  /** Mean over the spatial axes (H, W) of an NCHW tensor: [N, C, H, W] → [N, C]. */
  spatialMean: (x: Operand): LossExpr => ({ kind: 'mean', x: lift(x), axes: [-2, -1] }),
  /** mean |a - b| (b omitted: mean |a|). */
  meanL1: (a: Operand, b?: Operand): LossExpr =>
    ({ kind: 'mean', x: { kind: 'abs', x: b === undefined ? lift(a) : loss.sub(a, b) } }),
  /** mean (a - b)² (b omitted: mean a², the loss of the PyTorch fixtures). */
  mse: (a: Operand, b?: Operand): LossExpr =>
    ({ kind: 'mean', x: { kind: 'square', x: b === undefined ? lift(a) : loss.sub(a, b) } }),
  /** Cosine similarity along `axis` (default 1, the channel axis); the result keeps the other axes. */
  cosineSimilarity: (a: Operand, b: Operand, axis = 1, eps = 1e-12): LossExpr =>
    ({ kind: 'cosine', ...ab(pair(a, b)), axis, eps }),
  /** 1 − cosine similarity, averaged: a loss that is 0 when a and b point the same way. */
  cosineDistance: (a: Operand, b: Operand, axis = 1): LossExpr =>
    ({ kind: 'mean', x: { kind: 'sub', a: { kind: 'const', value: 1 }, b: loss.cosineSimilarity(a, b, axis) } }),
  /** x multiplied by a mask fed at run time (dims default to x's; give [N, 1, H, W] to broadcast over channels). */
  masked: (x: Operand, mask: string | LossExpr, dims?: Dim[]): LossExpr => {
    const m = typeof mask === 'string' ? { kind: 'feed' as const, name: mask, dims } : mask;
    return { kind: 'mul', ...ab(pair(x, m)) };
  },
};

function ab([a, b]: [LossExpr, LossExpr]): { a: LossExpr; b: LossExpr } {
  return { a, b };
}

export interface BuiltLoss {
  /** The scalar loss tensor. */
  name: string;
  /** New graph inputs, in order of first use. */
  feeds: { name: string; dims: Dim[] }[];
  /** Model tensors the loss reads. */
  reads: string[];
}

/** Emits the loss's nodes. dimsOf gives the probed dims of model tensors (undefined for unknown names). */
export function buildLoss(spec: LossSpec, dimsOf: (name: string) => Dim[] | undefined, e: Emitter): BuiltLoss {
  const feeds: { name: string; dims: Dim[] }[] = [];
  const reads: string[] = [];
  const root = lift(spec);
  const visit = (x: LossExpr): string => {
    switch (x.kind) {
      case 'tensor': {
        if (!dimsOf(x.name)) {
          throw new GanvasError(
            'BAD_INPUT',
            `the loss reads tensor "${x.name}", which the model does not compute; name an output or an intermediate ` +
              `tensor, or write loss.feed("${x.name}") for a target or mask given at run time`,
          );
        }
        if (!reads.includes(x.name)) reads.push(x.name);
        return x.name;
      }
      case 'feed': {
        const known = feeds.find((f) => f.name === x.name);
        if (known) return x.name;
        if (dimsOf(x.name)) {
          throw new GanvasError('BAD_INPUT', `loss input "${x.name}" has the name of a model tensor; choose another name`);
        }
        const dims = x.dims ?? (x.like ? dimsOf(x.like) : undefined);
        if (!dims) {
          throw new GanvasError(
            'BAD_INPUT',
            `loss input "${x.name}" needs dims: give them (loss.feed("${x.name}", ["N", 1, 32, 32])) or combine it with a model tensor`,
          );
        }
        feeds.push({ name: x.name, dims: [...dims] });
        return x.name;
      }
      case 'const':
        return e.scalar(x.value);
      case 'add':
        return e.add(visit(x.a), visit(x.b));
      case 'sub':
        return e.sub(visit(x.a), visit(x.b));
      case 'mul':
        return e.mul(visit(x.a), visit(x.b));
      case 'div':
        return e.div(visit(x.a), visit(x.b));
      case 'abs':
        return e.op('Abs', [visit(x.x)]);
      case 'square': {
        const v = visit(x.x);
        return e.mul(v, v);
      }
      case 'sqrt':
        return e.op('Sqrt', [visit(x.x)]);
      case 'neg':
        return e.neg(visit(x.x));
      case 'mean':
        return e.reduceMean(visit(x.x), x.axes, false);
      case 'sum':
        return e.reduceSum(visit(x.x), x.axes, false);
      case 'cosine': {
        const a = visit(x.a);
        const b = visit(x.b);
        const dot = e.reduceSum(e.mul(a, b), [x.axis], false);
        const na = e.reduceSum(e.mul(a, a), [x.axis], false);
        const nb = e.reduceSum(e.mul(b, b), [x.axis], false);
        return e.div(dot, e.op('Sqrt', [e.add(e.mul(na, nb), e.scalar(x.eps))]));
      }
    }
  };
  let name = visit(root);
  // Anything not already reduced over all axes is averaged, so the loss is always a rank-0 scalar.
  const full = (root.kind === 'mean' || root.kind === 'sum') && root.axes === undefined;
  if (!full) name = e.reduceMean(name, undefined, false);
  return { name, feeds, reads };
}

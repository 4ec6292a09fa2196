/**
 * The gradient-rule registry (the tfjs-core pattern): each op's rule lives in its own file under ops/ and
 * registers itself; the engine looks rules up by op type when a node lies on a path from the variables to the loss.
 */
import { GanvasError } from '../errors';
import type { NodeProto } from '../onnx/model';
import type { Dim } from '../onnx/types';
import { onnx } from '../onnx/model';
import type { ConstValue } from './constants';
import type { Emitter } from './emit';

export interface GradContext {
  readonly node: NodeProto;
  /** Input tensor names ('' for an omitted optional input). */
  readonly x: string[];
  /** Output tensor names. */
  readonly y: string[];
  /** Gradient of the loss w.r.t. each output, undefined where no gradient reaches that output. */
  readonly dy: (string | undefined)[];
  /** Where to emit the backward nodes. */
  readonly e: Emitter;
  /** The gradient of output i, or zeros of its shape when none reaches it. */
  dyOrZeros(i: number): string;
  /** True when input i depends on a variable (its gradient is wanted). */
  needs(i: number): boolean;
  /**
   * True when input i is computed from initializers alone (a weight): whatever a rule computes from it alone,
   * onnxruntime folds once when the session is created.
   */
  isConstant(i: number): boolean;
  /** Probed dims of a tensor (batch axis symbolic). */
  dims(name: string): Dim[];
  /** Dims that must all be known numbers here (spatial sizes of a Conv, say). */
  staticDims(name: string, what?: string): number[];
  rank(name: string): number;
  /** The value of constant input i (must be listed in the rule's constInputs). */
  constValue(i: number): ConstValue | undefined;
  attrInt(name: string, dflt: number): number;
  attrInts(name: string, dflt: number[]): number[];
  attrFloat(name: string, dflt: number): number;
  attrString(name: string, dflt: string): string;
  hasAttr(name: string): boolean;
  /** Throws UNSUPPORTED naming this node: for attribute combinations the rule does not handle. */
  fail(what: string): never;
}

export interface GradientRule {
  op: string;
  /** Input positions whose constant values the rule reads; the engine evaluates them before the rules run. */
  constInputs?: number[];
  /**
   * Returns, per input, the name of the gradient tensor (with that input's shape) or undefined. Only inputs for
   * which ctx.needs(i) is true are read by the engine.
   */
  grad(ctx: GradContext): (string | undefined)[];
}

const rules = new Map<string, GradientRule>();

export function registerGradient(rule: GradientRule): void {
  rules.set(rule.op, rule);
}

export function getGradient(op: string): GradientRule | undefined {
  return rules.get(op);
}

export function registeredOps(): string[] {
  return [...rules.keys()].sort();
}

/** Attribute readers over a NodeProto (shared by the engine's GradContext). */
export function readAttr(node: NodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function unsupported(node: NodeProto, what: string): never {
  throw new GanvasError(
    'UNSUPPORTED',
    // Stryker disable next-line StringLiteral: a node differentiated here has an output (the gradient reached it through one), so '?' is never used
    `cannot differentiate ${node.opType} node "${node.name || node.output?.[0] || '?'}": ${what}`,
  );
}

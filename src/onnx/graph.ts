/**
 * A read-only index over an ONNX graph: who produces and who consumes each tensor, which tensors are constants,
 * and dependency closures. Split, truncate and the layer listing are all walks over this index.
 */
import type { OnnxModel, NodeProto } from './model';

export class GraphIndex {
  readonly nodes: NodeProto[];
  /** tensor name → index of the node that produces it */
  readonly producer = new Map<string, number>();
  /** tensor name → indices of the nodes that read it */
  readonly consumers = new Map<string, number[]>();
  readonly initializers: Set<string>;
  readonly inputs: Set<string>;
  readonly outputs: string[];
  private constCache = new Map<string, boolean>();

  constructor(readonly model: OnnxModel) {
    const g = model.graph;
    this.nodes = g.node ?? [];
    this.initializers = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
    this.inputs = new Set(model.inputNames());
    this.outputs = model.outputNames();
    this.nodes.forEach((n, i) => {
      for (const o of n.output ?? []) if (o) this.producer.set(o, i);
      for (const name of nodeReads(n)) {
        const list = this.consumers.get(name);
        if (list) list.push(i);
        else this.consumers.set(name, [i]);
      }
    });
  }

  /**
   * True when a tensor depends on no graph input: an initializer, a Constant's output, or anything computed only
   * from those. Such tensors never cross a cut; their producers are copied to whichever side reads them.
   */
  isConstant(name: string): boolean {
    const known = this.constCache.get(name);
    if (known !== undefined) return known;
    // Iterative post-order walk: deep graphs (hundreds of nodes in a chain) would overflow a recursive one.
    const stack: string[] = [name];
    while (stack.length > 0) {
      const t = stack[stack.length - 1];
      if (this.constCache.has(t)) {
        stack.pop();
        continue;
      }
      if (this.inputs.has(t)) {
        this.constCache.set(t, false);
        stack.pop();
        continue;
      }
      const p = this.producer.get(t);
      if (p === undefined) {
        // An initializer (constant) or a name nothing produces (treated as constant: ORT will complain if it is missing).
        this.constCache.set(t, true);
        stack.pop();
        continue;
      }
      const reads = nodeReads(this.nodes[p]);
      const pending = reads.filter((r) => !this.constCache.has(r));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      this.constCache.set(t, reads.every((r) => this.constCache.get(r) === true));
      stack.pop();
    }
    return this.constCache.get(name) as boolean;
  }

  /**
   * Indices (ascending, i.e. in graph order) of the nodes needed to compute `targets`, walking back from them and not
   * past any tensor for which `stop` returns true (those become inputs of the sub-graph).
   */
  closure(targets: Iterable<string>, stop: (tensor: string) => boolean = () => false): number[] {
    const seen = new Set<number>();
    const visited = new Set<string>();
    const stack = [...targets];
    while (stack.length > 0) {
      const t = stack.pop() as string;
      if (visited.has(t)) continue;
      visited.add(t);
      if (stop(t)) continue;
      const p = this.producer.get(t);
      if (p === undefined || seen.has(p)) continue;
      seen.add(p);
      for (const r of nodeReads(this.nodes[p])) stack.push(r);
    }
    return [...seen].sort((a, b) => a - b);
  }

  /** The tensors that `nodeIdx` nodes write, in graph order. */
  writes(nodeIdx: readonly number[]): Set<string> {
    const made = new Set<string>();
    for (const i of [...nodeIdx].sort((a, b) => a - b)) for (const o of this.nodes[i].output ?? []) if (o) made.add(o);
    return made;
  }

  /** The tensors that `nodeIdx` nodes read but do not produce themselves. */
  freeReads(nodeIdx: number[]): Set<string> {
    const produced = this.writes(nodeIdx);
    const free = new Set<string>();
    for (const i of nodeIdx) for (const r of nodeReads(this.nodes[i])) if (!produced.has(r)) free.add(r);
    return free;
  }
}

/**
 * Every tensor a node reads: its inputs, plus names its subgraphs (If/Loop/Scan bodies) capture from the outer
 * scope. Missing optional inputs are empty strings and are skipped.
 */
export function nodeReads(node: NodeProto): string[] {
  const reads = (node.input ?? []).filter((n) => n !== '');
  for (const a of node.attribute ?? []) {
    const graphs = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
    for (const g of graphs) {
      const local = new Set<string>([
        ...(g.input ?? []).map((v) => v.name ?? ''),
        ...(g.initializer ?? []).map((t) => t.name ?? ''),
      ]);
      for (const n of g.node ?? []) for (const o of n.output ?? []) local.add(o);
      for (const n of g.node ?? []) for (const r of nodeReads(n)) if (!local.has(r)) reads.push(r);
    }
  }
  return reads;
}

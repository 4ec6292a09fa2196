/**
 * A read-only index over an ONNX graph: who produces and who consumes each tensor, which tensors are constants,
 * and dependency closures. Split, truncate and the layer listing are all walks over this index.
 */
import { GanvasError } from '../errors';
import type { GraphProto, OnnxModel, NodeProto } from './model';

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
      // Stryker disable next-line ConditionalExpression: a tensor pushed twice recomputes, from its cached reads, the value it has
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
      // Stryker disable next-line ConditionalExpression: only saves work; a revisited tensor's producer is already in `seen`
      if (visited.has(t)) continue;
      visited.add(t);
      if (stop(t)) continue;
      const p = this.producer.get(t);
      // Stryker disable next-line ConditionalExpression,LogicalOperator: only saves work; the reads pushed again are all visited
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

/**
 * Refuses a graph that is not a DAG of single-assignment tensors: a cycle (a node that needs, directly or through
 * others, its own output) or a tensor written by two nodes. Every walk ganvas does assumes neither; a hostile file
 * with a cycle made the layer analysis loop for 14–41 s to a RangeError at 2 GB before this check. Kahn's algorithm,
 * O(nodes + edges): a few milliseconds for the largest models we open.
 */
export function assertAcyclic(graph: GraphProto, source: string): void {
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) {
      if (!o) continue;
      const before = producer.get(o);
      if (before !== undefined && before !== i) {
        throw new GanvasError(
          'NOT_ONNX',
          `${source} is not a valid ONNX graph: tensor "${o}" is written by two nodes ("${nodes[before].name ?? before}" and "${n.name ?? i}"); ` +
            `every tensor must have one producer. Re-export the model.`,
        );
      }
      producer.set(o, i);
    }
  });
  const deps: number[][] = nodes.map(() => []);
  const users: number[][] = nodes.map(() => []);
  // A node reading a producer twice lists it twice in both deps and users: the counts still meet.
  nodes.forEach((n, i) => {
    for (const r of nodeReads(n)) {
      const p = producer.get(r);
      if (p === undefined) continue;
      deps[i].push(p);
      users[p].push(i);
    }
  });
  const pending = deps.map((d) => d.length);
  const ready: number[] = [];
  pending.forEach((k, i) => k === 0 && ready.push(i));
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop() as number;
    done++;
    for (const u of users[i]) if (--pending[u] === 0) ready.push(u);
  }
  if (done === nodes.length) return;
  // Name one cycle: from a node left over, follow left-over dependencies until a node repeats.
  let at = pending.findIndex((k) => k > 0);
  const order: number[] = [];
  const pos = new Map<number, number>();
  while (!pos.has(at)) {
    pos.set(at, order.length);
    order.push(at);
    at = deps[at].find((d) => pending[d] > 0) as number;
  }
  const cycle = order.slice(pos.get(at)).reverse().map((i) => `"${nodes[i].name || nodes[i].opType || i}"`);
  throw new GanvasError(
    'NOT_ONNX',
    `${source} is not a valid ONNX graph: its nodes form a cycle (${cycle.slice(0, 8).join(' → ')}${cycle.length > 8 ? ' → …' : ''} → ${cycle[0]}); ` +
      `an ONNX graph must be acyclic. Re-export the model.`,
  );
}

/**
 * Minimum s–t cut on a small directed graph (max-flow, Edmonds–Karp). Split uses it to choose which of the nodes
 * that could run on either side of a cut go into the head, so that the fewest bytes are handed from head to tail.
 * Graphs here have at most a few thousand vertices, so the simple BFS augmenting-path method is plenty.
 */

export class FlowNetwork {
  private to: number[] = [];
  private cap: number[] = [];
  private adj: number[][];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 2) throw new RangeError(`a flow network needs an integer number of vertices ≥ 2, got ${size}`);
    this.adj = Array.from({ length: size }, () => []);
  }

  /** A directed edge u → v; `capacity` may be Infinity (an edge that must never be cut). */
  addEdge(u: number, v: number, capacity: number): void {
    this.checkVertex(u);
    this.checkVertex(v);
    if (!(capacity >= 0)) throw new RangeError(`edge capacity must be ≥ 0, got ${capacity}`);
    this.adj[u].push(this.to.length);
    this.to.push(v);
    this.cap.push(capacity);
    // The paired reverse edge (index ^ 1) carries the residual capacity.
    this.adj[v].push(this.to.length);
    this.to.push(u);
    this.cap.push(0);
  }

  /**
   * Pushes the maximum flow from `s` to `t` and returns its value together with the sink side of a minimum cut.
   * Of all minimum cuts it returns the one with the smallest sink side: the vertices that can still reach `t`
   * through edges with capacity left. (Split prefers it: everything it leaves on the source side runs once per
   * head call instead of once per render.) Throws when every s–t cut is infinite.
   */
  minCut(s: number, t: number): { flow: number; sinkSide: Set<number> } {
    this.checkVertex(s);
    this.checkVertex(t);
    if (s === t) throw new RangeError(`source and sink must differ, both are ${s}`);
    let flow = 0;
    // Stryker disable next-line ArrayDeclaration: a JavaScript array grows on write; only entries of vertices reached are read
    const prevEdge = new Array<number>(this.size);
    for (;;) {
      // Stryker disable next-line UnaryOperator: prevEdge is read only along the path just found, where every entry was written
      prevEdge.fill(-1);
      const queue = [s];
      const seen = new Uint8Array(this.size);
      seen[s] = 1;
      for (let q = 0; q < queue.length && !seen[t]; q++) {
        const u = queue[q];
        for (const e of this.adj[u]) {
          const v = this.to[e];
          if (!seen[v] && this.cap[e] > 0) {
            seen[v] = 1;
            prevEdge[v] = e;
            queue.push(v);
          }
        }
      }
      if (!seen[t]) break;
      let push = Infinity;
      for (let v = t; v !== s; v = this.to[prevEdge[v] ^ 1]) push = Math.min(push, this.cap[prevEdge[v]]);
      if (push === Infinity) throw new RangeError('every cut between source and sink is infinite');
      for (let v = t; v !== s; v = this.to[prevEdge[v] ^ 1]) {
        this.cap[prevEdge[v]] -= push;
        this.cap[prevEdge[v] ^ 1] += push;
      }
      flow += push;
    }
    // Vertices that reach t in the residual graph: walk backwards from t along edges with capacity left.
    const sinkSide = new Set<number>([t]);
    const stack = [t];
    while (stack.length > 0) {
      const v = stack.pop() as number;
      for (const e of this.adj[v]) {
        // e is v → u; the residual edge u → v is e ^ 1.
        const u = this.to[e];
        if (!sinkSide.has(u) && this.cap[e ^ 1] > 0) {
          sinkSide.add(u);
          stack.push(u);
        }
      }
    }
    return { flow, sinkSide };
  }

  private checkVertex(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v >= this.size) {
      throw new RangeError(`vertex ${v} is not in this network; vertices are 0..${this.size - 1}`);
    }
  }
}

import { expect } from 'chai';
import { FlowNetwork } from 'ganvas';

describe('FlowNetwork.minCut', () => {
  it('finds the textbook max flow and a cut of the same value (CLRS Fig. 26.1: 23)', () => {
    // s=0, v1..v4 = 1..4, t=5
    const n = new FlowNetwork(6);
    const edges: [number, number, number][] = [
      [0, 1, 16], [0, 2, 13], [2, 1, 4], [1, 3, 12], [3, 2, 9], [2, 4, 14], [4, 3, 7], [3, 5, 20], [4, 5, 4],
    ];
    for (const [u, v, c] of edges) n.addEdge(u, v, c);
    const { flow, sinkSide } = n.minCut(0, 5);
    expect(flow).to.equal(23);
    // The cut's capacity (edges from the source side into the sink side) equals the flow.
    const cut = edges.filter(([u, v]) => !sinkSide.has(u) && sinkSide.has(v)).reduce((a, [, , c]) => a + c, 0);
    expect(cut).to.equal(23);
    expect(sinkSide.has(0)).to.equal(false);
  });

  it('returns the smallest sink side among equal cuts and never cuts an infinite edge', () => {
    // s → a (5) → b (∞) → t (5): cutting s→a or b→t costs the same. b→t is saturated, so nothing reaches t with
    // capacity left and the smallest sink side is {t} alone (the cut at b→t, never the infinite a→b).
    const n = new FlowNetwork(4);
    n.addEdge(0, 1, 5);
    n.addEdge(1, 2, Infinity);
    n.addEdge(2, 3, 5);
    const { flow, sinkSide } = n.minCut(0, 3);
    expect(flow).to.equal(5);
    expect([...sinkSide].sort()).to.deep.equal([3]);
  });

  it('refuses a network where every cut is infinite', () => {
    const n = new FlowNetwork(2);
    n.addEdge(0, 1, Infinity);
    expect(() => n.minCut(0, 1)).to.throw(/infinite/);
  });

  it('names the vertex or the source/sink mistake instead of failing inside', () => {
    const n = new FlowNetwork(3);
    expect(() => n.addEdge(0, 3, 1)).to.throw(/vertex 3 is not in this network; vertices are 0\.\.2/);
    expect(() => n.addEdge(0, 1, -1)).to.throw(/capacity must be ≥ 0/);
    expect(() => n.minCut(1, 1)).to.throw(/source and sink must differ/);
    expect(() => new FlowNetwork(1.5)).to.throw(/integer number of vertices/);
  });
});

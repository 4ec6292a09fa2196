/** Helpers for the stitching tests on tiny models (stitchParts, stitchTrainParts). */
import { expect } from 'chai';
import { FloatTensor, randn } from 'ganvas';

/** n seeded images c×size×size with values in (0, 1) (the tiny classifier's range). */
export function uniformImages(name: string, n: number, c = 1, size = 16): FloatTensor {
  const t = randn(name, [n, c, size, size]);
  return { data: t.data.map((v) => 1 / (1 + Math.exp(-v))), dims: t.dims };
}

export function maxDiff(a: FloatTensor, b: FloatTensor): number {
  expect(a.dims).to.deep.equal(b.dims);
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
  return d;
}

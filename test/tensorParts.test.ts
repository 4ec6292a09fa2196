/**
 * The tensor record, its notebook display and seeded noise by hand-worked cases (issue 19): refusals and what
 * they name, memory sharing, nearest-neighbour indices against PyTorch's F.interpolate(mode='nearest'),
 * quantiles against numpy, and the Gaussian draws inverted back to their uniforms (Box–Muller read backwards).
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as path from 'path';
import seedrandom from 'seedrandom';
import { inspect } from 'util';
import {
  GanvasError,
  concatBatch,
  describeTensor,
  displayable,
  gaussian,
  mapRange,
  maxAbsDiff,
  nchw,
  nearestIndex,
  numel,
  pixelVector,
  randn,
  randnPerSample,
  resizeNearest2d,
  sliceBatch,
  tensor,
  uniform,
  zeros,
} from 'ganvas';

function code(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    return [(e as GanvasError).code, (e as Error).message];
  }
  throw new Error('expected a GanvasError');
}

/** describe.ts's internals that the package does not re-export. */
function describeModule(): { withSummary: <T extends object>(o: T, s: (o: T) => string) => T; quantileSorted: (s: readonly number[], q: number) => number } {
  return require(path.join(path.dirname(require.resolve('ganvas')), 'runtime', 'describe.js'));
}

describe('tensor: the record and its helpers', function () {
  this.timeout(60000); // PyTorch's import takes seconds
  it('numel, tensor(), zeros(): dims checked, data length checked, number arrays converted, dims copied', () => {
    expect(numel([])).to.equal(1);
    expect(numel([2, 3, 4])).to.equal(24);
    expect(numel([2, 0, 4])).to.equal(0);
    const dims = [2, 2];
    const t = tensor([1, 2, 3, 4.5], dims);
    expect(t.data).to.be.instanceOf(Float32Array);
    expect(Array.from(t.data)).to.deep.equal([1, 2, 3, 4.5]);
    dims[0] = 9;
    expect(t.dims).to.deep.equal([2, 2]);
    const f = new Float32Array(2);
    expect(tensor(f, [2]).data).to.equal(f);
    expect(tensor([], [0, 3]).dims).to.deep.equal([0, 3]);
    expect(code(() => tensor([1], [-1]))).to.deep.equal(['BAD_INPUT', 'tensor dims must be non-negative integers, got [-1]']);
    expect(code(() => tensor([1, 2], [2.5]))[1]).to.match(/non-negative integers, got \[2\.5\]/);
    expect(code(() => tensor([1, 2, 3], [2, 2]))[1]).to.equal('tensor data has 3 values but dims [2, 2] need 4');
    const z = zeros([2, 3]);
    expect(Array.from(z.data)).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(z.dims).to.deep.equal([2, 3]);
    expect(inspect(z)).to.match(/^FloatTensor \[2, 3\]/);
  });

  it('sliceBatch shares memory; concatBatch checks every part, keeps one part as is, and joins in order', () => {
    const t = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 2, 2]);
    const s = sliceBatch(t, 1, 3);
    expect(s.dims).to.deep.equal([2, 2, 2]);
    expect(Array.from(s.data)).to.deep.equal([4, 5, 6, 7, 8, 9, 10, 11]);
    s.data[0] = -1;
    expect(t.data[4]).to.equal(-1);
    expect(sliceBatch(t, 2, 2).dims).to.deep.equal([0, 2, 2]);
    const a = tensor([1, 2], [1, 2]);
    const b = tensor([3, 4, 5, 6], [2, 2]);
    expect(concatBatch([a])).to.equal(a);
    const c = concatBatch([a, b, a]);
    expect(c.dims).to.deep.equal([4, 2]);
    expect(Array.from(c.data)).to.deep.equal([1, 2, 3, 4, 5, 6, 1, 2]);
    expect(inspect(c)).to.match(/^FloatTensor \[4, 2\]/);
    expect(code(() => concatBatch([]))[1]).to.equal('concatBatch needs at least one tensor');
    expect(code(() => concatBatch([a, tensor([1, 2, 3], [1, 3])]))[1]).to.equal('cannot concatenate tensors of dims [1, 2] and [1, 3] along axis 0');
    expect(code(() => concatBatch([a, tensor([1, 2], [1, 2, 1])]))[1]).to.match(/dims \[1, 2\] and \[1, 2, 1\]/);
    expect(code(() => concatBatch([tensor([1, 2], [1, 2, 1]), a]))[1]).to.match(/dims \[1, 2, 1\] and \[1, 2\]/);
  });

  it('nchw names a non-4-D tensor; pixelVector picks channel k at (n, y, x) of a hand-laid non-square tensor', () => {
    expect(code(() => nchw(tensor([1], [1]), 'images'))).to.deep.equal(['NOT_4D', 'images must be 4-D (N, C, H, W), got dims [1]']);
    expect(code(() => nchw(tensor([1], [1, 1, 1])))[1]).to.match(/^tensor must be 4-D/);
    // value = 1000 n + 100 k + 10 y + x on a 2×3×2×4 tensor.
    const data: number[] = [];
    for (let n = 0; n < 2; n++) for (let k = 0; k < 3; k++) for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) data.push(1000 * n + 100 * k + 10 * y + x);
    const t = tensor(data, [2, 3, 2, 4]);
    expect(Array.from(pixelVector(t, 1, 1, 3))).to.deep.equal([1013, 1113, 1213]);
    expect(Array.from(pixelVector(t, 0, 0, 2))).to.deep.equal([2, 102, 202]);
    expect(nchw(t)).to.deep.equal({ n: 2, c: 3, h: 2, w: 4 });
  });

  it('maxAbsDiff: the largest |a − b|, Infinity when the sizes differ', () => {
    expect(maxAbsDiff(tensor([1, -2, 3], [3]), tensor([1.5, 2, 3], [3]))).to.equal(4);
    expect(maxAbsDiff(tensor([1, 2], [2]), tensor([1, 2], [2]))).to.equal(0);
    expect(maxAbsDiff(tensor([1, 2], [2]), tensor([1], [1]))).to.equal(Infinity);
  });

  it("nearestIndex and resizeNearest2d pick the pixels PyTorch's nearest interpolation picks (non-square, up and down)", () => {
    const sizes: [number, number, number, number][] = [[5, 3, 12, 7], [12, 7, 5, 3], [4, 4, 9, 2], [1, 6, 3, 6], [7, 1, 7, 4]];
    const py = `
import json, sys, torch
out = []
for h, w, oh, ow in json.loads(sys.argv[1]):
    src = torch.arange(h * w, dtype=torch.float64).reshape(1, 1, h, w)
    out.append(torch.nn.functional.interpolate(src, size=(oh, ow), mode='nearest').reshape(-1).int().tolist())
print(json.dumps(out))`;
    const expected = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, JSON.stringify(sizes)]).toString()) as number[][];
    sizes.forEach(([h, w, oh, ow], i) => {
      const src = Int16Array.from({ length: h * w }, (_, k) => k);
      const out = resizeNearest2d(src, h, w, new Int16Array(oh * ow), oh, ow);
      expect(Array.from(out), `${h}×${w} → ${oh}×${ow}`).to.deep.equal(expected[i]);
    });
    expect(Array.from(nearestIndex(4, 2))).to.deep.equal([0, 0, 1, 1]);
    expect(Array.from(nearestIndex(0, 3))).to.deep.equal([]);
    expect(code(() => nearestIndex(3, 0))[1]).to.equal('cannot resize an axis of size 0: a mask, label map or image needs at least 1×1 pixels');
    expect(code(() => nearestIndex(3, 1.5))[1]).to.match(/axis of size 1\.5/);
  });

  it('mapRange maps linearly (hand-worked), defaults to [0, 1], refuses empty or reversed ranges', () => {
    const t = tensor([-1, 0, 1, 3], [4]);
    expect(Array.from(mapRange(t, [-1, 1]).data)).to.deep.equal([0, 0.5, 1, 2]);
    expect(Array.from(mapRange(t, [-1, 3], [10, 30]).data)).to.deep.equal([10, 15, 20, 30]);
    expect(mapRange(t, [-1, 1]).dims).to.deep.equal([4]);
    expect(inspect(mapRange(t, [-1, 1]))).to.match(/^FloatTensor \[4\]/);
    expect(Array.from(t.data)).to.deep.equal([-1, 0, 1, 3]);
    for (const [from, to] of [[[1, 1], [0, 1]], [[1, 0], [0, 1]], [[0, 1], [2, 2]], [[0, 1], [3, 2]], [[0, NaN], [0, 1]]] as [[number, number], [number, number]][]) {
      expect(code(() => mapRange(t, from, to))[1]).to.match(/^ranges must be \[low, high\] with low < high, got /);
    }
  });
});

describe('describe: the one-line notebook display', () => {
  it('formats stats with 4 decimals, or exponents beyond 1e4 and below 1e-3, counts non-finite values', () => {
    expect(describeTensor(tensor([0, 1e4, -2e-4, 0.001], [4]))).to.equal('FloatTensor [4] float32 (4 values; min -2.000e-4, max 1.000e+4, mean 2500.0002)');
    expect(describeTensor(tensor([9999, 0.001], [2]))).to.equal('FloatTensor [2] float32 (2 values; min 0.0010, max 9999.0000, mean 4999.5005)');
    expect(describeTensor(tensor([-1e4, 0, 1e4, 0], [4]))).to.equal('FloatTensor [4] float32 (4 values; min -1.000e+4, max 1.000e+4, mean 0.0000)');
    expect(describeTensor(tensor([NaN, Infinity], [2]))).to.equal('FloatTensor [2] float32 (2 values; no finite values; 2 not finite)');
    expect(describeTensor(tensor([], [0]))).to.equal('FloatTensor [0] float32 (0 values; no finite values)');
    expect(describeTensor(tensor([-Infinity, 5], [2]))).to.equal('FloatTensor [2] float32 (2 values; min 5.0000, max 5.0000, mean 5.0000; 1 not finite)');
  });

  it('adds the image hint for 4-D tensors of 1 or 3 channels only, singular for one image', () => {
    expect(describeTensor(zeros([1, 1, 2, 3]))).to.match(/\) — 1 image 2×3: show\(t\) displays them$/);
    expect(describeTensor(zeros([2, 3, 4, 5]))).to.match(/\) — 2 images 4×5: show\(t\) displays them$/);
    expect(describeTensor(zeros([2, 2, 4, 5]))).to.match(/\)$/);
    expect(describeTensor(zeros([3, 4, 5]))).to.match(/\)$/);
  });

  it('displayable/withSummary: once, non-enumerable, and never on a frozen object', () => {
    const { withSummary } = describeModule();
    const o = withSummary({ a: 1 }, (x) => `A=${x.a}`);
    expect(inspect(o)).to.equal('A=1');
    expect(Object.keys(o)).to.deep.equal(['a']);
    expect(inspect(withSummary(o, () => 'other'))).to.equal('A=1');
    const frozen = Object.freeze({ a: 2 });
    expect(withSummary(frozen, () => 'x')).to.equal(frozen);
    expect(inspect(frozen)).to.equal('{ a: 2 }');
    const t = { data: new Float32Array([1]), dims: [1] };
    expect(displayable(t)).to.equal(t);
    expect(inspect(t)).to.equal(describeTensor(t));
    const custom = withSummary({ data: new Float32Array([1]), dims: [1] }, () => 'mine');
    expect(inspect(displayable(custom))).to.equal('mine');
    const sealed = Object.preventExtensions({ data: new Float32Array([1]), dims: [1] });
    expect(() => displayable(sealed)).to.not.throw();
    expect(inspect(sealed)).to.match(/^\{ data: Float32Array/);
  });

  it('quantileSorted interpolates linearly as numpy.quantile does', () => {
    const { quantileSorted } = describeModule();
    const sorted = [1, 2, 4, 8, 16, 17];
    const qs = [0, 0.01, 0.25, 0.5, 0.9, 0.99, 1];
    const py = `import json, sys, numpy as np; print(json.dumps([float(np.quantile(${JSON.stringify(sorted)}, q)) for q in ${JSON.stringify(qs)}]))`;
    const expected = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py]).toString()) as number[];
    qs.forEach((q, i) => expect(quantileSorted(sorted, q)).to.be.closeTo(expected[i], 1e-12));
    expect(quantileSorted([3], 0.7)).to.equal(3);
    expect(Number.isNaN(quantileSorted([], 0.5))).to.equal(true);
  });
});

describe('noise: seeded draws', () => {
  it('gaussian: each pair is Box–Muller of two Alea uniforms, recovered by inverting the transform', () => {
    const rng = seedrandom.alea('42');
    const g = gaussian(42, 10);
    for (let i = 0; i < 10; i += 2) {
      const u1 = 1 - rng();
      const u2 = rng();
      const r2 = g[i] * g[i] + g[i + 1] * g[i + 1];
      // r² = −2 ln u1 and the angle is 2π u2 (float32 rounding of the draws).
      expect(Math.exp(-r2 / 2)).to.be.closeTo(u1, 1e-6 * Math.max(1, r2));
      const angle = (Math.atan2(g[i + 1], g[i]) + 2 * Math.PI) % (2 * Math.PI);
      expect(Math.min(Math.abs(angle - 2 * Math.PI * u2), 2 * Math.PI - Math.abs(angle - 2 * Math.PI * u2))).to.be.below(1e-5);
    }
    // An odd count is the even one cut short; seeds are strings ("7" and 7 are the same seed).
    expect(Array.from(gaussian(7, 5))).to.deep.equal(Array.from(gaussian(7, 6).subarray(0, 5)));
    expect(Array.from(gaussian('7', 4))).to.deep.equal(Array.from(gaussian(7, 4)));
    expect(Array.from(gaussian(8, 4))).to.not.deep.equal(Array.from(gaussian(7, 4)));
  });

  it('gaussian: 200k draws have mean 0, variance 1, and normal tail shares', () => {
    const g = gaussian('stats', 200000);
    let m = 0;
    let v = 0;
    let beyond2 = 0;
    for (const x of g) m += x;
    m /= g.length;
    for (const x of g) {
      v += (x - m) ** 2;
      if (Math.abs(x) > 2) beyond2++;
    }
    v /= g.length;
    expect(m).to.be.closeTo(0, 0.01);
    expect(v).to.be.closeTo(1, 0.01);
    expect(beyond2 / g.length).to.be.closeTo(0.0455, 0.002); // P(|Z| > 2)
    expect(g.every((x) => Number.isFinite(x))).to.equal(true);
  });

  it('uniform is the Alea stream; randn and randnPerSample draw per seed, so batching does not change samples', () => {
    const rng = seedrandom.alea('u');
    expect(Array.from(uniform('u', 4))).to.deep.equal([rng(), rng(), rng(), rng()]);
    const r = randn(3, [2, 3]);
    expect(r.dims).to.deep.equal([2, 3]);
    expect(Array.from(r.data)).to.deep.equal(Array.from(gaussian(3, 6)));
    const b = randnPerSample([5, 'x', 5], [2, 2]);
    expect(b.dims).to.deep.equal([3, 2, 2]);
    expect(Array.from(b.data.subarray(0, 4))).to.deep.equal(Array.from(gaussian(5, 4)));
    expect(Array.from(b.data.subarray(4, 8))).to.deep.equal(Array.from(gaussian('x', 4)));
    expect(Array.from(b.data.subarray(8, 12))).to.deep.equal(Array.from(gaussian(5, 4)));
    expect(randnPerSample([], [3]).dims).to.deep.equal([0, 3]);
  });
});

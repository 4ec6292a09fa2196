/**
 * The shared input checks (src/validate.ts) and error helpers (src/errors.ts) by hand-worked cases (issue 19):
 * each check's bounds at and just past their ends, what the message names, and the edit distance against the
 * textbook Levenshtein table.
 */
import { expect } from 'chai';
import { inspect } from 'util';
import {
  GanvasError,
  MAX_BATCH_FLOATS,
  closestNames,
  editDistance,
  finiteNumber,
  finiteVector,
  integerIn,
  pixelPosition,
  positiveInt,
  tcpPort,
  valueRange,
} from 'ganvas';

/** The GanvasError fn throws (fails when it throws something else or nothing). */
function refusal(fn: () => unknown): GanvasError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    return e as GanvasError;
  }
  throw new Error('expected a GanvasError');
}

/** Levenshtein distance by the full dynamic-programming table (an independent, unoptimized form). */
function levenshtein(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
  }
  return d[s.length][t.length];
}

describe('validate: the shared input checks', () => {
  it('integerIn takes both ends and refuses one past them, non-integers and numeric strings, naming the range', () => {
    expect(integerIn(3, 'n', 3, 7)).to.equal(3);
    expect(integerIn(7, 'n', 3, 7)).to.equal(7);
    expect(refusal(() => integerIn(2, 'n', 3, 7)).message).to.equal('n must be an integer from 3 to 7, got 2');
    expect(refusal(() => integerIn(8, 'n', 3, 7)).message).to.equal('n must be an integer from 3 to 7, got 8');
    expect(refusal(() => integerIn(3.5, 'n', 3, 7)).message).to.match(/got 3\.5$/);
    expect(refusal(() => integerIn('4', 'n', 3, 7)).message).to.match(/got "4"$/);
    expect(refusal(() => integerIn(8, 'n', 3, 7, 'BAD_MANIFEST')).code).to.equal('BAD_MANIFEST');
    expect(refusal(() => integerIn(8, 'n', 3, 7)).code).to.equal('BAD_INPUT');
    // Without an upper bound the message says "≥ min".
    expect(refusal(() => positiveInt(0, 'count')).message).to.equal('count must be an integer ≥ 1, got 0');
    expect(positiveInt(1, 'count')).to.equal(1);
    expect(refusal(() => positiveInt(11, 'count', 10)).message).to.equal('count must be an integer from 1 to 10, got 11');
    expect(refusal(() => positiveInt(11, 'count', 10, 'BAD_MANIFEST')).code).to.equal('BAD_MANIFEST');
    expect(tcpPort(0, 'port')).to.equal(0);
    expect(tcpPort(65535, 'port')).to.equal(65535);
    expect(refusal(() => tcpPort(65536, 'port')).message).to.equal('port must be an integer from 0 to 65535, got 65536');
    expect(refusal(() => tcpPort(-1, 'port')).message).to.match(/got -1$/);
  });

  it('show() in messages: -0, bigint, functions, undefined, typed arrays, long JSON cut at 57 characters, cycles', () => {
    const msg = (v: unknown) => refusal(() => finiteNumber(v, 'x')).message.replace('x must be a finite number, got ', '');
    expect(msg(Infinity)).to.equal('Infinity');
    expect(msg(NaN)).to.equal('NaN');
    expect(refusal(() => integerIn(-0.5, 'x', 0, 1)).message).to.match(/got -0\.5$/);
    expect(refusal(() => valueRange([-0, -0], 'r')).message).to.match(/got \[0,0\]$/);
    expect(msg(10n)).to.equal('10n');
    expect(msg(() => 1)).to.equal('a function');
    expect(msg(undefined)).to.equal('undefined');
    expect(msg(null)).to.equal('null');
    expect(msg(new Float32Array(3))).to.equal('a Float32Array of length 3');
    expect(msg(new DataView(new ArrayBuffer(6)))).to.equal('a DataView of length 6');
    expect(msg(Symbol('s'))).to.equal('Symbol(s)');
    const long = 'a'.repeat(70);
    expect(msg(long)).to.equal(`"${'a'.repeat(56)}…`);
    expect(msg('a'.repeat(58))).to.equal(`"${'a'.repeat(58)}"`); // 60 characters: shown whole
    expect(msg('a'.repeat(59))).to.equal(`"${'a'.repeat(56)}…`);
    const cyc: { self?: unknown } = {};
    cyc.self = cyc;
    expect(msg(cyc)).to.equal('[object Object]');
    // -0 itself (JSON and String both print 0).
    expect(refusal(() => integerIn(-0, 'x', 1, 2)).message).to.match(/got -0$/);
  });

  it('finiteNumber, valueRange: finite only, low < high, the code given', () => {
    expect(finiteNumber(-2.5, 'x')).to.equal(-2.5);
    expect(refusal(() => finiteNumber('1', 'x')).message).to.equal('x must be a finite number, got "1"');
    expect(refusal(() => finiteNumber(Infinity, 'x', 'BAD_MANIFEST')).code).to.equal('BAD_MANIFEST');
    expect(valueRange([-1, 1], 'range')).to.deep.equal([-1, 1]);
    for (const bad of [[1, 1], [2, 1], [0, Infinity], [NaN, 1], [0, '1'], [0, 1, 2], [0], '01', null]) {
      expect(refusal(() => valueRange(bad, 'range')).message).to.match(/^range must be \[low, high\] with finite low < high \(e\.g\. \[-1, 1\]\), got /);
    }
    expect(refusal(() => valueRange([1, 0], 'range', 'BAD_MANIFEST')).code).to.equal('BAD_MANIFEST');
  });

  it('finiteVector: Float32Array kept as is, arrays and Float64Array converted, others refused by type, NaN by index', () => {
    const f = new Float32Array([1, 2]);
    expect(finiteVector(f, 'v')).to.equal(f);
    expect(Array.from(finiteVector([1, 2.5], 'v', 2))).to.deep.equal([1, 2.5]);
    const d = finiteVector(new Float64Array([0.1, 3]), 'v');
    expect(d).to.be.instanceOf(Float32Array);
    expect(d[0]).to.equal(Math.fround(0.1));
    expect(refusal(() => finiteVector(['1'], 'v')).message).to.equal('v must be a Float32Array (or an array of numbers), got ["1"]');
    expect(refusal(() => finiteVector({ length: 2 }, 'v')).message).to.match(/must be a Float32Array/);
    expect(refusal(() => finiteVector(new Int8Array(2), 'v')).message).to.match(/got a Int8Array of length 2/);
    expect(refusal(() => finiteVector([1, 2, 3], 'v', 2)).message).to.equal('v has 3 channels, the layer has 2; give one value per channel');
    expect(refusal(() => finiteVector([1, Infinity], 'v')).message).to.equal('v holds Infinity at index 1; every value must be finite');
    expect(refusal(() => finiteVector(new Float32Array([NaN]), 'v')).message).to.equal('v holds NaN at index 0; every value must be finite');
  });

  it('pixelPosition: 0 ≤ y < H, 0 ≤ x < W, integers, each side checked on its own', () => {
    expect(pixelPosition(0, 0, 4, 6, 'p')).to.deep.equal([0, 0]);
    expect(pixelPosition(3, 5, 4, 6, 'p')).to.deep.equal([3, 5]);
    const bad: [unknown, unknown][] = [[4, 0], [0, 6], [-1, 0], [0, -1], [0.5, 0], [0, 0.5], ['1', 0], [0, '1']];
    for (const [y, x] of bad) {
      expect(refusal(() => pixelPosition(y, x, 4, 6, 'p')).message).to.match(/^p \(y, x\) = \(.+, .+\) is not a position of the 4×6 layer; use integers 0 ≤ y < 4, 0 ≤ x < 6$/);
    }
    // A 6×4 layer takes (5, 3), which the 4×6 one refuses: height and width are not mixed up.
    expect(pixelPosition(5, 3, 6, 4, 'p')).to.deep.equal([5, 3]);
  });

  it('MAX_BATCH_FLOATS is 1 GiB of float32 (2^28 values)', () => {
    expect(MAX_BATCH_FLOATS * 4).to.equal(2 ** 30);
  });
});

describe('errors: edit distance, closest names, the notebook display', () => {
  it('editDistance equals the full Levenshtein table, case-insensitive, on textbook pairs and random strings', () => {
    expect(editDistance('kitten', 'sitting')).to.equal(3);
    expect(editDistance('flaw', 'lawn')).to.equal(2);
    expect(editDistance('', 'abc')).to.equal(3);
    expect(editDistance('abc', '')).to.equal(3);
    expect(editDistance('Conv1', 'conv1')).to.equal(0);
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const word = () => Array.from({ length: Math.floor(rnd() * 7) }, () => 'abcAB'[Math.floor(rnd() * 5)]).join('');
    for (let i = 0; i < 300; i++) {
      const a = word();
      const b = word();
      expect(editDistance(a, b), `${a} / ${b}`).to.equal(levenshtein(a, b));
    }
  });

  it('closestNames: names containing the typo (or contained in it) first, then by distance, ties by name, at most count', () => {
    const names = ['b16.conv1', 'b16.conv2', 'b8.conv1', 'head', 'b16', 'x', 'b16.conv1'];
    // Worked by hand: b16.conv1 / b16.conv2 contain it (distance 1 each, tie by name), b16 is contained in it
    // (distance 5); then b8.conv1 (distance 3), head (7); x (8) is the sixth and left out.
    expect(closestNames('b16.conv', names)).to.deep.equal(['b16.conv1', 'b16.conv2', 'b16', 'b8.conv1', 'head']);
    expect(closestNames('B16.CONV', names, 2)).to.deep.equal(['b16.conv1', 'b16.conv2']);
    // "x" is contained in "hexd", so it comes first although head and hend are 1 edit away.
    expect(closestNames('hexd', ['abcdefgh', 'hend', 'head', 'x'])).to.deep.equal(['x', 'head', 'hend', 'abcdefgh']);
    expect(closestNames('zzz', ['b', 'a'], 1)).to.deep.equal(['a']);
    expect(closestNames('q', [])).to.deep.equal([]);
  });

  it('a GanvasError prints its message, cause and three frames, and says how many more there are', () => {
    const e = new GanvasError('RUNTIME', 'outer', { cause: new Error('inner reason') });
    e.stack = ['GanvasError: outer', '    at a (f:1)', '    at b (f:2)', '    at c (f:3)', '    at d (f:4)', '    at e (f:5)'].join('\n');
    expect(inspect(e)).to.equal(
      'GanvasError [RUNTIME]: outer\n  caused by: inner reason\n    at a (f:1)\n    at b (f:2)\n    at c (f:3)\n    … 2 more frames (error.stack has them all)',
    );
    const one = new GanvasError('BAD_INPUT', 'says inner reason already', { cause: 'inner reason' });
    one.stack = 'GanvasError: x\n    at a (f:1)\n    at b (f:2)\n    at c (f:3)\n    at d (f:4)';
    expect(inspect(one)).to.equal('GanvasError [BAD_INPUT]: says inner reason already\n    at a (f:1)\n    at b (f:2)\n    at c (f:3)\n    … 1 more frame (error.stack has them all)');
    const none = new GanvasError('BAD_PATH', 'bare');
    none.stack = 'GanvasError: bare';
    expect(inspect(none)).to.equal('GanvasError [BAD_PATH]: bare');
    expect(none.name).to.equal('GanvasError');
    expect(none.code).to.equal('BAD_PATH');
    const noStack = new GanvasError('BAD_PATH', 'no stack', { cause: 0 });
    noStack.stack = undefined;
    expect(inspect(noStack)).to.equal('GanvasError [BAD_PATH]: no stack\n  caused by: 0');
  });
});

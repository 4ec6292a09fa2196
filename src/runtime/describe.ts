/**
 * A short display for tensors (issue 16, item 4): a notebook cell whose value is a tensor showed thousands of
 * floats. tslab prints a cell's value with console.log, i.e. util.inspect, which calls an object's
 * `[util.inspect.custom]` method: tensors the package returns carry one (non-enumerable, so JSON, spreads and
 * deep equality do not see it) that prints the shape, the value range and the mean, computed only when shown.
 */
import { inspect } from 'util';
import type { FloatTensor } from './tensor';

/** One line: shape, min / max / mean (and how many values are not finite), and how to see it as images. */
export function describeTensor(t: FloatTensor): string {
  const d = t.data;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let bad = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (!Number.isFinite(v)) {
      bad++;
      continue;
    }
    // Stryker disable next-line EqualityOperator: replacing a minimum by an equal value changes nothing
    if (v < min) min = v;
    // Stryker disable next-line EqualityOperator: as above
    if (v > max) max = v;
    sum += v;
  }
  const n = d.length - bad;
  const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));
  const stats = n > 0 ? `min ${fmt(min)}, max ${fmt(max)}, mean ${fmt(sum / n)}` : 'no finite values';
  const dims = t.dims;
  const images =
    dims.length === 4 && (dims[1] === 1 || dims[1] === 3)
      ? ` — ${dims[0]} image${dims[0] === 1 ? '' : 's'} ${dims[2]}×${dims[3]}: show(t) displays them`
      : '';
  return `FloatTensor [${dims.join(', ')}] float32 (${d.length} values; ${stats}${bad > 0 ? `; ${bad} not finite` : ''})${images}`;
}

/** Gives `t` the short notebook display (in place; returns `t`). Costs one property definition. */
export function displayable<T extends FloatTensor>(t: T): T {
  if (Object.isExtensible(t) && !Object.prototype.hasOwnProperty.call(t, inspect.custom)) {
    Object.defineProperty(t, inspect.custom, { value: () => describeTensor(t), enumerable: false, configurable: true });
  }
  return t;
}

/** Gives a result object a short notebook display (`[util.inspect.custom]`, non-enumerable) made by `summary`. */
export function withSummary<T extends object>(o: T, summary: (o: T) => string): T {
  if (Object.isExtensible(o) && !Object.prototype.hasOwnProperty.call(o, inspect.custom)) {
    Object.defineProperty(o, inspect.custom, { value: () => summary(o), enumerable: false, configurable: true });
  }
  return o;
}

/** Value at quantile q (0…1) of sorted numbers, by linear interpolation (numpy's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  // Stryker disable next-line ConditionalExpression: without it an empty list reads sorted[-1], undefined, and returns NaN too
  if (sorted.length === 0) return NaN;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

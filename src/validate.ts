/**
 * Input checks shared by every entry point: counts and sizes, vectors, positions, ranges, ports. Each helper
 * either returns the value (narrowed) or throws a GanvasError that names the argument, says what it got and what
 * would be right. Checks run at function entry, before anything is allocated or written, so that a count of 1e9
 * is refused in microseconds instead of exhausting the V8 heap (measured before: `sampleVectors({count: 1e9})`
 * aborted the process).
 */
import { GanvasError, GanvasErrorCode } from './errors';

/** What a value looks like in an error message: short, and unambiguous about its type ("2" vs 2). */
export function show(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  // Stryker disable next-line ConditionalExpression: JSON.stringify(undefined) is undefined, and String(undefined) is 'undefined' too
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length?: number }).length ?? value.byteLength}`;
  try {
    const s = JSON.stringify(value);
    if (s === undefined) return String(value);
    return s.length > 60 ? `${s.slice(0, 57)}…` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** An integer in [min, max] given as a number (not a numeric string). */
export function integerIn(value: unknown, what: string, min: number, max: number, code: GanvasErrorCode = 'BAD_INPUT'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const bound = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new GanvasError(code, `${what} must be an integer ${bound}, got ${show(value)}`);
  }
  return value;
}

/** A positive integer count or size, at most `max` (a limit that keeps allocations sane). */
export function positiveInt(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER, code: GanvasErrorCode = 'BAD_INPUT'): number {
  return integerIn(value, what, 1, max, code);
}

/** A finite number. */
export function finiteNumber(value: unknown, what: string, code: GanvasErrorCode = 'BAD_INPUT'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new GanvasError(code, `${what} must be a finite number, got ${show(value)}`);
  return value;
}

/** A value range [low, high] of finite numbers with low < high. */
export function valueRange(value: unknown, what: string, code: GanvasErrorCode = 'BAD_INPUT'): [number, number] {
  // Stryker disable next-line ConditionalExpression: typeof x === 'number' → true is equivalent (Number.isFinite refuses non-numbers)
  if (!Array.isArray(value) || value.length !== 2 || !value.every((x) => typeof x === 'number' && Number.isFinite(x)) || !(value[0] < value[1])) {
    throw new GanvasError(code, `${what} must be [low, high] with finite low < high (e.g. [-1, 1]), got ${show(value)}`);
  }
  return value as [number, number];
}

/**
 * An activation vector: a Float32Array (or an array of numbers) of `length` finite values. Strings, `{length: 64}`
 * and other array-likes are refused by type, NaN and ±Infinity by value (they would render as silent garbage).
 */
export function finiteVector(value: unknown, what: string, length?: number): Float32Array {
  let v: Float32Array;
  if (value instanceof Float32Array) v = value;
  else if (value instanceof Float64Array || (Array.isArray(value) && value.every((x) => typeof x === 'number'))) v = Float32Array.from(value as ArrayLike<number>);
  else throw new GanvasError('BAD_INPUT', `${what} must be a Float32Array (or an array of numbers), got ${show(value)}`);
  if (length !== undefined && v.length !== length) {
    throw new GanvasError('BAD_INPUT', `${what} has ${v.length} channels, the layer has ${length}; give one value per channel`);
  }
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new GanvasError('BAD_INPUT', `${what} holds ${v[i]} at index ${i}; every value must be finite`);
  }
  return v;
}

/** A pixel position (y, x) of an H×W layer: integers with 0 ≤ y < H, 0 ≤ x < W. */
export function pixelPosition(y: unknown, x: unknown, height: number, width: number, what: string): [number, number] {
  if (typeof y !== 'number' || typeof x !== 'number' || !Number.isInteger(y) || !Number.isInteger(x) || y < 0 || y >= height || x < 0 || x >= width) {
    throw new GanvasError('BAD_INPUT', `${what} (y, x) = (${show(y)}, ${show(x)}) is not a position of the ${height}×${width} layer; use integers 0 ≤ y < ${height}, 0 ≤ x < ${width}`);
  }
  return [y, x];
}

/** A plain object (not null, not an array). */
export function plainObject(value: unknown, what: string, code: GanvasErrorCode = 'BAD_INPUT'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GanvasError(code, `${what} must be an object, got ${show(value)}`);
  return value as Record<string, unknown>;
}

/** A TCP port: an integer 0 … 65535 (0 = any free port). A string such as "abc" would make Node listen on a Unix socket. */
export function tcpPort(value: unknown, what: string): number {
  return integerIn(value, what, 0, 65535);
}

/** The largest number of float32 values one call may allocate for a batch (1 GiB): beyond it, refuse up front. */
export const MAX_BATCH_FLOATS = 2 ** 28;

/** Refuses `count` samples of `perSample` floats each when they exceed MAX_BATCH_FLOATS, naming the largest count that fits. */
export function fitsMemory(count: number, perSample: number, what: string): void {
  if (count * perSample > MAX_BATCH_FLOATS) {
    const most = Math.max(1, Math.floor(MAX_BATCH_FLOATS / Math.max(1, perSample)));
    throw new GanvasError(
      'BAD_INPUT',
      `${what} = ${count} needs ${count} × ${perSample} floats (${((count * perSample * 4) / 2 ** 30).toFixed(1)} GiB) at once; ` +
        `use at most ${most}, or split the work into several calls`,
    );
  }
}

/** An own property of a record (never one inherited from Object.prototype such as "constructor"). */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

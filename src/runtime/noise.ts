/**
 * Seeded Gaussian noise: the same seed gives the same numbers on every machine.
 *
 * seedrandom's Alea generator is pure 32-bit integer/float64 arithmetic, and V8 computes Math.log/sqrt/cos with its
 * own portable routines, so a seed names one exact latent vector — which is what lets every activation vector keep
 * a provenance (model, layer, seed, y, x) from which it can be regenerated.
 */
import seedrandom from 'seedrandom';
import { FloatTensor, numel } from './tensor';

export type Seed = number | string;

/** `count` standard-normal float32 samples (Box–Muller on Alea uniforms). */
export function gaussian(seed: Seed, count: number): Float32Array {
  const rng = seedrandom.alea(String(seed));
  const out = new Float32Array(count);
  // Stryker disable next-line EqualityOperator: i = count only writes past the typed array's end (dropped)
  for (let i = 0; i < count; i += 2) {
    // 1 - u maps Alea's [0, 1) to (0, 1], so the log never sees 0.
    const u1 = 1 - rng();
    const u2 = rng();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: the guard only stops a write past the typed array's end, which is dropped anyway
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

export function randn(seed: Seed, dims: readonly number[]): FloatTensor {
  return { data: gaussian(seed, numel(dims)), dims: [...dims] };
}

/** `count` uniform numbers in [0, 1) from a seed (positions, colors, masks). */
export function uniform(seed: Seed, count: number): Float64Array {
  const rng = seedrandom.alea(String(seed));
  const out = new Float64Array(count);
  // Stryker disable next-line EqualityOperator: i = count only writes past the typed array's end (dropped)
  for (let i = 0; i < count; i++) out[i] = rng();
  return out;
}

/**
 * A batch where sample i is drawn from seed `seeds[i]` alone, so sample 7 of a batch equals sample 0 of a batch
 * made from seed 7: results do not depend on how work was batched.
 */
export function randnPerSample(seeds: readonly Seed[], perSample: readonly number[]): FloatTensor {
  const per = numel(perSample);
  const data = new Float32Array(seeds.length * per);
  seeds.forEach((s, i) => data.set(gaussian(s, per), i * per));
  return { data, dims: [seeds.length, ...perSample] };
}

/**
 * Caching async work (probe runs, splits, sessions, gradient models) by key. The promise is cached, not the
 * value, so concurrent callers share one run; a rejected promise is dropped, so a failure is not remembered and
 * the next call tries again (and fails with the same clear error if nothing changed).
 */
export function memoPromise<K, T>(cache: Map<K, Promise<T>>, key: K, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    p = make();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** A Map per object, created on first use: caches that belong to a model and die with it. */
export function mapFor<O extends object, K, T>(owners: WeakMap<O, Map<K, T>>, owner: O): Map<K, T> {
  let m = owners.get(owner);
  if (!m) owners.set(owner, (m = new Map()));
  return m;
}

/**
 * Runs fuzz cases in a pool of child processes. Each child runs many cases one after another (starting Node and
 * onnxruntime per case would cost ~1 s each, 500 cases ≈ 8 min on two busy cores), but a case that crashes its
 * child (a native abort, V8 out of memory, process.exit) or hangs past the per-case timeout is still attributed
 * to that case: the child is killed if needed and a fresh one takes the next case.
 */
import { ChildProcess, fork } from 'child_process';
import * as path from 'path';

/** What happened to one case. */
export type Outcome =
  | 'ganvas' // a GanvasError: the clear refusal we want
  | 'ok' // a success the case documents as legitimate (and whose output it checked)
  | 'garbage' // a success where an error was due, or an output that failed the case's own check
  | 'other' // any other error (TypeError, RangeError, a raw library error)
  | 'crash' // the child process died during the case
  | 'hang'; // no answer within the per-case timeout

export interface CaseResult {
  id: string;
  group: string;
  outcome: Outcome;
  detail: string;
  ms: number;
}

export interface PoolOptions {
  workers?: number;
  /** Per-case limit in ms (default 30 000). */
  timeoutMs?: number;
  /** Heap limit of each child in MB (default 1536), so that a runaway allocation dies quickly as a crash. */
  heapMb?: number;
  onResult?: (r: CaseResult, done: number, total: number) => void;
}

interface Reply {
  id: string;
  group: string;
  outcome: Outcome;
  detail: string;
}

export async function runCases(ids: readonly string[], opts: PoolOptions = {}): Promise<CaseResult[]> {
  const workers = Math.max(1, Math.min(opts.workers ?? 2, ids.length));
  const timeoutMs = opts.timeoutMs ?? 30000;
  const script = path.join(__dirname, 'worker.js');
  const results: CaseResult[] = [];
  let next = 0;
  const groupOf = (id: string) => id.split('/')[0];

  const lane = async (): Promise<void> => {
    let child: ChildProcess | undefined;
    const spawn = () =>
      fork(script, [], { execArgv: [`--max-old-space-size=${opts.heapMb ?? 1536}`], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    try {
      while (next < ids.length) {
        const id = ids[next++];
        child ??= spawn();
        const c = child;
        let stderr = '';
        const onErr = (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000));
        c.stderr?.on('data', onErr);
        const t0 = Date.now();
        const r = await new Promise<Reply>((resolve) => {
          const timer = setTimeout(() => {
            cleanup();
            c.kill('SIGKILL');
            resolve({ id, group: groupOf(id), outcome: 'hang', detail: `no answer in ${timeoutMs} ms` });
          }, timeoutMs);
          const onMsg = (m: Reply) => {
            if (m.id !== id) return;
            cleanup();
            resolve(m);
          };
          const onExit = (code: number | null, signal: string | null) => {
            cleanup();
            resolve({ id, group: groupOf(id), outcome: 'crash', detail: `child exited (code ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
          };
          const cleanup = () => {
            clearTimeout(timer);
            c.off('message', onMsg);
            c.off('exit', onExit);
          };
          c.on('message', onMsg);
          c.on('exit', onExit);
          c.send({ id });
        });
        c.stderr?.off('data', onErr);
        if (r.outcome === 'crash' || r.outcome === 'hang') child = undefined;
        const res: CaseResult = { ...r, ms: Date.now() - t0 };
        results.push(res);
        opts.onResult?.(res, results.length, ids.length);
      }
    } finally {
      if (child) {
        child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, lane));
  const order = new Map(ids.map((id, i) => [id, i]));
  return results.sort((a, b) => (order.get(a.id) as number) - (order.get(b.id) as number));
}

/** Counts per outcome and per group, as printed by `npm run fuzz`. */
export function totals(results: readonly CaseResult[]): { byOutcome: Record<Outcome, number>; byGroup: Record<string, Partial<Record<Outcome, number>>> } {
  const byOutcome: Record<Outcome, number> = { ganvas: 0, ok: 0, garbage: 0, other: 0, crash: 0, hang: 0 };
  const byGroup: Record<string, Partial<Record<Outcome, number>>> = {};
  for (const r of results) {
    byOutcome[r.outcome]++;
    const g = (byGroup[r.group] ??= {});
    g[r.outcome] = (g[r.outcome] ?? 0) + 1;
  }
  return { byOutcome, byGroup };
}

/** The results that fail the suite: anything but a GanvasError or a documented legitimate success. */
export function failures(results: readonly CaseResult[]): CaseResult[] {
  return results.filter((r) => r.outcome !== 'ganvas' && r.outcome !== 'ok');
}

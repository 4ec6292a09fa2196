/**
 * Stopping long work: an `AbortSignal` passed as `signal`, and a kernel interrupt.
 *
 * tslab answers a kernel interrupt (Jupyter sends SIGINT to the kernel process) by rejecting the running cell's
 * promise at once (tslab/dist/executor.js races the cell against an "interrupt promise"; main.js installs the
 * SIGINT listener), so the kernel reports idle — but nothing stops the work the cell started: a 30,000-vector scan
 * kept burning CPU for minutes (issue 16). ganvas listens to the same SIGINT and aborts a process-wide
 * controller, the **interrupt signal**; every long operation takes the interrupt signal current when it starts
 * together with its own `signal` option (`operationSignal`), and checks both between batches after yielding to the
 * event loop (`checkpoint`), which is where a SIGINT listener gets to run at all. An interrupt replaces the
 * controller, so work started after it (the next cell) runs with a fresh signal.
 *
 * The SIGINT listener is installed only where the process already handles SIGINT (tslab does, before any cell
 * runs): in a plain Node script a listener would stop Ctrl-C from ending the process. `listenForInterrupts()`
 * opts in explicitly (a script that wants Ctrl-C to stop the work and let it clean up).
 */

let controller = new AbortController();
let listening = false;

/** The error an interrupted operation rejects with: a DOMException named "AbortError", as `AbortController.abort()`. */
export function interruptError(): Error {
  return new DOMException(
    'interrupted: the kernel received an interrupt (SIGINT), so ganvas stopped the work this cell had started',
    'AbortError',
  );
}

/** Installs ganvas's SIGINT listener (once). Called by the package where the process already handles SIGINT. */
export function listenForInterrupts(): void {
  if (listening) return;
  listening = true;
  process.on('SIGINT', () => interrupt());
}

function listenIfHandled(): void {
  if (!listening && process.listenerCount('SIGINT') > 0) listenForInterrupts();
}

/**
 * The current interrupt signal: aborted by the next kernel interrupt (or `interrupt()`), never by an earlier one.
 * Long operations listen to it on their own; pass it on (e.g. to `fetch`) to make other work interruptible too.
 */
export function interruptSignal(): AbortSignal {
  listenIfHandled();
  return controller.signal;
}

/** Aborts the current interrupt signal (what a kernel interrupt does) and starts a fresh one for later work. */
export function interrupt(reason: unknown = interruptError()): void {
  const c = controller;
  controller = new AbortController();
  c.abort(reason);
}

type AnySignal = typeof AbortSignal & { any?: (signals: AbortSignal[]) => AbortSignal };

/**
 * The signal a long operation checks: its caller's `signal` (if any) and the interrupt signal current now,
 * combined. `AbortSignal.any` (Node ≥ 20.3) holds its sources weakly; older Node gets a listener pair.
 */
export function operationSignal(signal?: AbortSignal): AbortSignal {
  const k = interruptSignal();
  if (!signal || signal === k) return k;
  if (signal.aborted) return signal;
  const any = (AbortSignal as AnySignal).any;
  if (any) return any([signal, k]);
  const c = new AbortController();
  const stop = (s: AbortSignal) => () => c.abort(s.reason);
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: an AbortSignal dispatches 'abort' at most once, so `once` changes nothing
  signal.addEventListener('abort', stop(signal), { once: true });
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: as above
  k.addEventListener('abort', stop(k), { once: true });
  return c.signal;
}

/**
 * Between two batches of work: lets the event loop run (so a SIGINT listener can fire while the work is
 * CPU-bound), then throws the signal's reason if it was aborted. One setImmediate costs microseconds.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** True for what an aborted operation rejects with (an AbortError, or the reason the caller aborted with). */
export function isAbort(e: unknown, signal?: AbortSignal): boolean {
  return (e instanceof Error && e.name === 'AbortError') || (signal !== undefined && signal.aborted && e === signal.reason);
}

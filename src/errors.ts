/**
 * Errors that tell the user what was wrong and what would be right.
 *
 * Every error thrown by ganvas is a GanvasError with a stable `code`, so callers (and tests) can branch on the
 * kind of failure without parsing messages, while the message itself stays written for a person.
 */
import { inspect } from 'util';

export type GanvasErrorCode =
  | 'NOT_ONNX'
  | 'NO_SUCH_LAYER'
  | 'NOT_4D'
  | 'BAD_INPUT'
  | 'BAD_MANIFEST'
  | 'BAD_IMAGE'
  | 'BAD_NPY'
  | 'RUNTIME'
  | 'PROVIDER'
  | 'UNSUPPORTED'
  | 'BAD_PATH';

export class GanvasError extends Error {
  readonly code: GanvasErrorCode;
  constructor(code: GanvasErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GanvasError';
    this.code = code;
  }

  /**
   * What a notebook prints for the error (tslab writes a failed cell's error with console.error, i.e.
   * util.inspect): the message first, its cause in one line, then only the first few stack frames — not the
   * dozens of tslab/vm/zeromq frames and the cause's whole stack. `error.stack` still has everything.
   */
  [inspect.custom](): string {
    // Stryker disable next-line StringLiteral: a missing stack and a stack without frames both show no frames
    const frames = (this.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
    const shown = frames.slice(0, SHOWN_FRAMES);
    const more = frames.length - shown.length;
    return (
      `GanvasError [${this.code}]: ${this.message}` +
      (this.cause !== undefined && !this.message.includes(describeError(this.cause)) ? `\n  caused by: ${describeError(this.cause)}` : '') +
      (shown.length > 0 ? `\n${shown.join('\n')}` : '') +
      (more > 0 ? `\n    … ${more} more frame${more === 1 ? '' : 's'} (error.stack has them all)` : '')
    );
  }
}

const SHOWN_FRAMES = 3;

/** Levenshtein distance, case-insensitive: cheap enough for the few thousand tensor names of a model. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  // Stryker disable next-line ArrayDeclaration: JavaScript arrays grow on write; every entry read was written first
  let prev = new Array<number>(t.length + 1);
  // Stryker disable next-line ArrayDeclaration: as above
  let cur = new Array<number>(t.length + 1);
  for (let j = 0; j <= t.length; j++) prev[j] = j;
  for (let i = 1; i <= s.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const sub = prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[t.length];
}

/**
 * The candidates nearest to `name`: names that contain it (or are contained in it) first, then by edit distance.
 * Users mistype aliases (`b16.conv` for `b16.conv1`) far more often than they invent names from nothing, so a
 * containment match is the best hint.
 */
export function closestNames(name: string, candidates: Iterable<string>, count = 5): string[] {
  const lower = name.toLowerCase();
  const scored: { c: string; score: number }[] = [];
  for (const c of new Set(candidates)) {
    const cl = c.toLowerCase();
    const contains = cl.includes(lower) || lower.includes(cl);
    const d = editDistance(name, c);
    scored.push({ c, score: (contains ? 0 : 1000) + d });
  }
  scored.sort((x, y) => x.score - y.score || x.c.localeCompare(y.c));
  return scored.slice(0, count).map((s) => s.c);
}

export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

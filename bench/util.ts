/**
 * Benchmark helpers: repeated timing with warm-up, medians and percentiles, and a plain-text table.
 */
import { Cut, FeatureExtractor, Generator, Runtime, openDemoModel } from 'ganvas';
export async function time(fn: () => Promise<unknown>, opts: { warmup?: number; repeats?: number } = {}): Promise<number[]> {
  for (let i = 0; i < (opts.warmup ?? 3); i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < (opts.repeats ?? 20); i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export const median = (xs: number[]) => percentile(xs, 50);

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

function fmt(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3);
}

export function machine(): string {
  const os = require('os') as typeof import('os');
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
}

/**
 * Times several functions interleaved (a, b, a, b, …) so that a change in machine load hits all of them alike:
 * the ratios stay fair even when absolute times drift.
 */
export async function timeInterleaved(fns: (() => Promise<unknown>)[], opts: { warmup?: number; repeats?: number } = {}): Promise<number[][]> {
  for (let i = 0; i < (opts.warmup ?? 3); i++) for (const f of fns) await f();
  const out = fns.map(() => [] as number[]);
  for (let i = 0; i < (opts.repeats ?? 20); i++) {
    for (let k = 0; k < fns.length; k++) {
      const t0 = process.hrtime.bigint();
      await fns[k]();
      out[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return out;
}

/** The value after `--name` on the command line, or the default. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

/** An integer flag `--name` of at least `min` (a count, a batch size, a thread number), or the default. */
export function intArg(name: string, dflt: number, min = 1): number {
  const text = arg(name, String(dflt));
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return v;
}

/** The two shipped (generator, layer, feature extractor, feature layer) pairs the tileability benches scan. */
export const DEMO_PAIRS: [string, string, string, string][] = [
  ['fmnist-stylegan', 'b8.conv1', 'fmnist-resnet', 'layer1'],
  ['ihc-gan', 'l16', 'ihc-features', 'layer1'],
];

/** Opens one of DEMO_PAIRS on `rt`: the generator, its cut and the feature extractor. */
export async function openDemoPair(rt: Runtime, [g, layer, f, flayer]: [string, string, string, string]): Promise<{ gen: Generator; cut: Cut; fx: FeatureExtractor }> {
  const gen = new Generator(await openDemoModel(g), rt);
  return { gen, cut: await gen.cut(layer), fx: await FeatureExtractor.open(await openDemoModel(f), flayer, rt) };
}

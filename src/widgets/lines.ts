/**
 * A line plot of several named series (kernel side): drawn live with plotly.js, served by the kernel's widget
 * server like the grid-size plot, over a static SVG snapshot that exported notebooks keep. Used for paper 003's
 * end-layer sweep (Fig. 5) and the stitches' validation curves.
 */
import { showHtml } from '../display';
import { GanvasError } from '../errors';
import { Json, WidgetHost, defaultHost } from './server';
import { escapeHtml, svgImage, widgetHtml } from './html';

export interface LineSeries {
  name: string;
  x: number[];
  /** null leaves a gap. */
  y: (number | null)[];
}

export interface LinePlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Only these x values get ticks (default: every x value when there are at most 7, else 5 even steps). */
  xTicks?: number[];
  host?: WidgetHost;
}

/** plotly's default colour cycle, so the snapshot and the live plot agree. */
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function check(series: LineSeries[]): void {
  if (!Array.isArray(series) || series.length === 0) throw new GanvasError('BAD_INPUT', 'a line plot needs at least one series');
  for (const s of series) {
    if (!s || !Array.isArray(s.x) || !Array.isArray(s.y) || s.x.length !== s.y.length) {
      throw new GanvasError('BAD_INPUT', `series "${s?.name}" must have x and y arrays of the same length`);
    }
    // A missing or non-string name was a TypeError in the legend's layout (found by the issue-19 tests).
    if (typeof s.name !== 'string') throw new GanvasError('BAD_INPUT', `a series needs a name (a string), got ${typeof s.name}`);
    for (const v of s.x) if (!Number.isFinite(v)) throw new GanvasError('BAD_INPUT', `series "${s.name}": x holds ${v}, expected finite numbers`);
    for (const v of s.y) if (v !== null && !Number.isFinite(v)) throw new GanvasError('BAD_INPUT', `series "${s.name}": y holds ${v}, expected finite numbers or null (a gap)`);
  }
}

function fmt(v: number): string {
  // Stryker disable next-line EqualityOperator: |v| = 1000 exactly is an integer, rounded either way
  return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : Number(v.toPrecision(3)).toString();
}

/** A plain SVG line chart with a legend: the snapshot. */
export function linePlotSvg(series: LineSeries[], opts: LinePlotOptions = {}): string {
  check(series);
  // The legend sits right of the plot, as wide as the longest name (about 6.2 px a character at 11 px).
  const legend = Math.max(90, 40 + Math.ceil(6.2 * Math.max(...series.map((s) => s.name.length))));
  const W = 350 + legend;
  const H = 300;
  const m = { l: 56, r: legend, t: 30, b: 44 };
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y.filter((v): v is number => v !== null));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.06;
  [y0, y1] = [y0 - pad, y1 + pad];
  const px = (v: number) => m.l + (W - m.l - m.r) * (x1 > x0 ? (v - x0) / (x1 - x0) : 0.5);
  const py = (v: number) => m.t + (H - m.t - m.b) * (1 - (v - y0) / (y1 - y0));
  const p: string[] = [];
  if (opts.title) p.push(`<text x="${(W - m.r + m.l) / 2}" y="18" text-anchor="middle" font-size="13">${escapeHtml(opts.title)}</text>`);
  p.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    p.push(`<text x="${m.l - 4}" y="${py(v) + 4}" text-anchor="end" font-size="10">${fmt(v)}</text>`);
  }
  const unique = [...new Set(xs)].sort((a, b) => a - b);
  const ticks = opts.xTicks ?? (unique.length <= 7 ? unique : Array.from({ length: 5 }, (_, i) => x0 + ((x1 - x0) * i) / 4));
  for (const t of ticks) p.push(`<text x="${px(t)}" y="${H - m.b + 15}" text-anchor="middle" font-size="10">${fmt(t)}</text>`);
  if (opts.xLabel) p.push(`<text x="${(W - m.r + m.l) / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${escapeHtml(opts.xLabel)}</text>`);
  if (opts.yLabel) p.push(`<text transform="translate(13 ${(H - m.b + m.t) / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escapeHtml(opts.yLabel)}</text>`);
  series.forEach((s, k) => {
    const c = COLORS[k % COLORS.length];
    // Gaps (null) split the line into runs.
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) p.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${run.join(' ')}"/>`);
      run = [];
    };
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (y === null) return flush();
      run.push(`${px(x).toFixed(1)},${py(y).toFixed(1)}`);
      p.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`);
    });
    flush();
    const ly = m.t + 8 + k * 16;
    p.push(`<line x1="${W - m.r + 10}" y1="${ly}" x2="${W - m.r + 26}" y2="${ly}" stroke="${c}" stroke-width="2"/><text x="${W - m.r + 30}" y="${ly + 4}" font-size="11">${escapeHtml(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${p.join('')}</svg>`;
}

/** The widget's HTML: the SVG snapshot (an `<img>`, see svgImage), replaced by a plotly chart when the kernel's widget server answers. */
export async function linePlotWidget(series: LineSeries[], opts: LinePlotOptions = {}): Promise<string> {
  const svg = linePlotSvg(series, opts);
  const server = await (opts.host ?? defaultHost).server();
  // Stryker disable next-line ArrowFunction: the reply spreads what the handler returns, and {} and undefined both add nothing
  const id = server.register(async () => ({}));
  return widgetHtml('lines', server, id, svgImage(svg, opts.title || 'line plot'), {
    title: opts.title ?? '',
    xLabel: opts.xLabel ?? '',
    yLabel: opts.yLabel ?? '',
    xTicks: opts.xTicks ?? null,
    series: series.map((s) => ({ name: s.name, x: s.x, y: s.y })) as unknown as Json,
  });
}

export async function showLinePlot(series: LineSeries[], opts: LinePlotOptions = {}): Promise<void> {
  showHtml(await linePlotWidget(series, opts));
}

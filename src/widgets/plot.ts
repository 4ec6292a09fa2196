/**
 * The grid-size sweep plot (kernel side): mean ± std of the tileability score against g, drawn live with
 * plotly.js (served by the kernel's widget server, never from a CDN) over a static SVG snapshot.
 */
import { promises as fs } from 'fs';
import { GanvasError, describeError } from '../errors';
import { showHtml } from '../display';
import { CommManager } from '../comm/kernel';
import { CommWidget } from '../comm/widget';
import { WidgetTransport, chooseTransport } from './transport';
import { SweepPoint } from '../tileability';
import type { GridCurvePoint } from '../gridInversion';
import { Json, WidgetHost, defaultHost } from './server';
import { commFallback, escapeHtml, svgDataUrl, svgImage, widgetHtml } from './html';

/**
 * The points a plot draws: at least one, each with a finite mean and std ≥ 0. Without this check an empty
 * list or one NaN drew an SVG of "NaN" and "Infinity" coordinates (found by the issue-19 tests).
 */
function checkPoints(points: readonly SweepPoint[], what: string): void {
  if (!Array.isArray(points) || points.length === 0) throw new GanvasError('BAD_INPUT', `${what} needs at least one point`);
  for (const p of points) {
    if (!p || !Number.isFinite(p.mean) || !Number.isFinite(p.std) || p.std < 0) {
      throw new GanvasError('BAD_INPUT', `${what}: a point needs a finite mean and std ≥ 0, got g = ${p?.grid}: mean ${p?.mean}, std ${p?.std}`);
    }
  }
}

/** A plain SVG line chart with error bars: the snapshot that exported notebooks keep. */
export function sweepSvg(points: SweepPoint[], title = 'tileability vs grid size'): string {
  checkPoints(points, 'a grid-size sweep plot');
  const W = 420;
  const H = 260;
  const m = { l: 50, r: 15, t: 30, b: 40 };
  const lo = Math.min(...points.map((p) => p.mean - p.std));
  const hi = Math.max(...points.map((p) => p.mean + p.std));
  const span = hi - lo || 1;
  const y = (v: number) => m.t + (H - m.t - m.b) * (1 - (v - lo) / span);
  const x = (i: number) => m.l + ((W - m.l - m.r) * (i + 0.5)) / points.length;
  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${escapeHtml(title)}</text>`);
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>`);
  for (const v of [lo, (lo + hi) / 2, hi]) parts.push(`<text x="${m.l - 4}" y="${y(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(3)}</text>`);
  points.forEach((p, i) => {
    parts.push(`<line x1="${x(i)}" y1="${y(p.mean - p.std)}" x2="${x(i)}" y2="${y(p.mean + p.std)}" stroke="#1f77b4"/>`);
    parts.push(`<circle cx="${x(i)}" cy="${y(p.mean)}" r="3.5" fill="#1f77b4"/>`);
    parts.push(`<text x="${x(i)}" y="${H - m.b + 16}" text-anchor="middle" font-size="11">${p.grid}</text>`);
  });
  parts.push(`<polyline fill="none" stroke="#1f77b4" points="${points.map((p, i) => `${x(i)},${y(p.mean)}`).join(' ')}"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="11">grid size g</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}

export interface PlotWidgetOptions {
  host?: WidgetHost;
  title?: string;
  /** See WidgetTransport (the show… functions only; the …Widget functions' HTML always uses the WebSocket bridge). */
  transport?: WidgetTransport;
}

function sweepConfig(points: SweepPoint[], title: string): Record<string, Json> {
  return { title, x: points.map((p) => String(p.grid)), mean: points.map((p) => p.mean), std: points.map((p) => p.std) };
}

export async function sweepPlotWidget(points: SweepPoint[], opts: PlotWidgetOptions = {}): Promise<string> {
  const title = opts.title ?? 'tileability vs grid size';
  const snapshot = svgImage(sweepSvg(points, title), title); // first: refused points register no widget
  const server = await (opts.host ?? defaultHost).server();
  // Stryker disable next-line ArrowFunction: the reply spreads what the handler returns, and {} and undefined both add nothing
  const id = server.register(async () => ({}));
  return widgetHtml('plot', server, id, snapshot, sweepConfig(points, title));
}

let plotlySource: Promise<Buffer> | undefined;

/**
 * A plot as a Jupyter widget (PlotModel / PlotView of module "ganvas/nbextension/index"): the plot's data and its SVG snapshot in
 * the model state (saved with the notebook; the snapshot is what a page without the kernel shows), plotly.js from
 * the kernel over the comm on request — custom {type: "plotly", id} → {id, ok} + plotly.js as one buffer (3.6 MB,
 * once per page: the page keeps it) — since on a remote server the page reaches no port but Jupyter's.
 */
export function plotCommWidget(config: Record<string, Json>, svg: string): CommWidget {
  const w = new CommWidget(CommManager.get(), 'PlotModel', 'PlotView', { config, snapshot: svgDataUrl(svg) });
  w.onRequest('plotly', async () => {
    try {
      plotlySource ??= fs.readFile(require.resolve('plotly.js-dist'));
      return { buffers: [await plotlySource] };
    } catch (e) {
      plotlySource = undefined;
      throw new Error(`cannot read plotly.js in the kernel: ${describeError(e)}`);
    }
  });
  w.display(commFallback('plot', svgImage(svg, String(config.title ?? 'plot'))));
  return w;
}

export async function showSweepPlot(points: SweepPoint[], opts: PlotWidgetOptions = {}): Promise<void> {
  if ((await chooseTransport(opts.transport)) === 'comm') {
    const title = opts.title ?? 'tileability vs grid size';
    plotCommWidget(sweepConfig(points, title), sweepSvg(points, title));
  } else {
    showHtml(await sweepPlotWidget(points, opts));
  }
}

/** One model pair's Fig. 9 curve. */
export interface GridCurveSeries {
  name: string;
  points: GridCurvePoint[];
}

const SERIES_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

function hoverText(p: GridCurvePoint): string {
  return `g = ${p.grid}: cosine ${p.mean.toFixed(4)} ± ${p.std.toFixed(4)} (std over ${p.runs.length} runs; runs ${p.runs.map((r) => r.toFixed(4)).join(', ')}; ${p.images} images, image std ${p.imageStd.toFixed(3)})`;
}

/**
 * Fig. 9 as a plain SVG: per model pair a line of the mean cosine against g with a shaded mean ± std band (std over
 * runs), the numbers in each point's tooltip — the snapshot exported notebooks keep.
 */
export function gridCurveSvg(series: GridCurveSeries[], title = 'inversion cosine vs grid size (paper 000, Fig. 9)'): string {
  if (!Array.isArray(series) || series.length === 0) throw new GanvasError('BAD_INPUT', 'the Fig. 9 plot needs at least one series');
  for (const s of series) checkPoints(s?.points, `series "${s?.name}"`);
  const W = 460;
  const H = 280;
  const m = { l: 55, r: 15, t: 30, b: 60 };
  const all = series.flatMap((s) => s.points);
  const grids = [...new Set(all.map((p) => p.grid))].sort((a, b) => a - b);
  const lo = Math.min(...all.map((p) => p.mean - p.std));
  const hi = Math.max(...all.map((p) => p.mean + p.std));
  const pad = (hi - lo || 1) * 0.05;
  const y0 = lo - pad;
  const span = hi - lo + 2 * pad || 1;
  const y = (v: number) => m.t + (H - m.t - m.b) * (1 - (v - y0) / span);
  const x = (g: number) => m.l + ((W - m.l - m.r) * (grids.indexOf(g) + 0.5)) / grids.length;
  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${escapeHtml(title)}</text>`);
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>`);
  for (const v of [lo, (lo + hi) / 2, hi]) parts.push(`<text x="${m.l - 4}" y="${y(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(3)}</text>`);
  for (const g of grids) parts.push(`<text x="${x(g)}" y="${H - m.b + 16}" text-anchor="middle" font-size="11">${g}</text>`);
  parts.push(`<text x="${W / 2}" y="${H - m.b + 32}" text-anchor="middle" font-size="11">grid size g (0 = one vector)</text>`);
  series.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    const pts = [...s.points].sort((a, b) => a.grid - b.grid);
    const band = [...pts.map((p) => `${x(p.grid)},${y(p.mean + p.std)}`), ...[...pts].reverse().map((p) => `${x(p.grid)},${y(p.mean - p.std)}`)];
    parts.push(`<polygon points="${band.join(' ')}" fill="${color}" fill-opacity="0.2" stroke="none"/>`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map((p) => `${x(p.grid)},${y(p.mean)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${x(p.grid)}" cy="${y(p.mean)}" r="3.5" fill="${color}"><title>${escapeHtml(`${s.name}: ${hoverText(p)}`)}</title></circle>`);
    const ly = H - 2 + 14 * i; // legend rows below the axis title
    parts.push(`<rect x="${m.l}" y="${ly - 8}" width="12" height="8" fill="${color}"/><text x="${m.l + 16}" y="${ly}" font-size="10">${escapeHtml(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 14 * series.length}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** The Fig. 9 plot as a widget: plotly lines with mean ± std bands (live), over the static SVG. */
function gridCurveConfig(series: GridCurveSeries[], title: string): Record<string, Json> {
  return {
    title,
    x: [],
    mean: [],
    std: [],
    yTitle: 'cos(mean F_Y(G_X(a)), y)',
    series: series.map((s) => {
      const pts = [...s.points].sort((a, b) => a.grid - b.grid);
      return { name: s.name, x: pts.map((p) => String(p.grid)), mean: pts.map((p) => p.mean), std: pts.map((p) => p.std), hover: pts.map(hoverText) };
    }),
  };
}

export async function gridCurvePlotWidget(series: GridCurveSeries[], opts: PlotWidgetOptions = {}): Promise<string> {
  const title = opts.title ?? 'inversion cosine vs grid size (paper 000, Fig. 9)';
  const snapshot = svgImage(gridCurveSvg(series, title), title); // first: refused series register no widget
  const server = await (opts.host ?? defaultHost).server();
  // Stryker disable next-line ArrowFunction: the reply spreads what the handler returns, and {} and undefined both add nothing
  const id = server.register(async () => ({}));
  return widgetHtml('plot', server, id, snapshot, gridCurveConfig(series, title));
}

/**
 * Shows the Fig. 9 plot; with `forward`, the forward tileability score against g (sweepCurve) beside it, each with
 * its own static snapshot.
 */
export async function showGridCurvePlot(
  series: GridCurveSeries[],
  opts: PlotWidgetOptions & { forward?: SweepPoint[]; forwardTitle?: string } = {},
): Promise<void> {
  if ((await chooseTransport(opts.transport)) === 'comm') {
    // Two widgets, one after the other (a widget output is one model's view).
    const title = opts.title ?? 'inversion cosine vs grid size (paper 000, Fig. 9)';
    plotCommWidget(gridCurveConfig(series, title), gridCurveSvg(series, title));
    if (opts.forward) await showSweepPlot(opts.forward, { title: opts.forwardTitle ?? 'forward tileability vs grid size', transport: 'comm' });
    return;
  }
  const inversion = await gridCurvePlotWidget(series, opts);
  if (!opts.forward) return showHtml(inversion);
  const forward = await sweepPlotWidget(opts.forward, { host: opts.host, title: opts.forwardTitle ?? 'forward tileability vs grid size' });
  showHtml(`<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start"><div>${inversion}</div><div>${forward}</div></div>`);
}

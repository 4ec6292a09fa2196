/**
 * The grid-size sweep plot (kernel side): mean ± std of the tileability score against g, drawn live with
 * plotly.js (served by the kernel's widget server, never from a CDN) over a static SVG snapshot.
 */
import { showHtml } from '../display';
import { SweepPoint } from '../tileability';
import { WidgetHost, defaultHost } from './server';
import { escapeHtml, widgetHtml } from './html';

/** A plain SVG line chart with error bars: the snapshot that exported notebooks keep. */
export function sweepSvg(points: SweepPoint[], title = 'tileability vs grid size'): string {
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

export async function sweepPlotWidget(points: SweepPoint[], opts: { host?: WidgetHost; title?: string } = {}): Promise<string> {
  const server = await (opts.host ?? defaultHost).server();
  const id = server.register(async () => ({}));
  const title = opts.title ?? 'tileability vs grid size';
  return widgetHtml('plot', server, id, sweepSvg(points, title), {
    title,
    x: points.map((p) => String(p.grid)),
    mean: points.map((p) => p.mean),
    std: points.map((p) => p.std),
  });
}

export async function showSweepPlot(points: SweepPoint[], opts: { host?: WidgetHost; title?: string } = {}): Promise<void> {
  showHtml(await sweepPlotWidget(points, opts));
}

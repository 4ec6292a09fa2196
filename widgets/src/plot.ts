/**
 * The grid-size sweep plot with plotly.js, loaded from the kernel's widget server (no CDN: nothing outside is
 * reachable on many machines). The static SVG stays if plotly cannot be loaded.
 */
import { WidgetConfig } from './rpc';

/** One line with a mean ± std band (the grid-size inversion curve: one series per model pair). */
interface PlotSeries {
  name: string;
  x: string[];
  mean: number[];
  std: number[];
  /** Hover text per point. */
  hover: string[];
}

export interface PlotConfig extends WidgetConfig {
  title: string;
  x: string[];
  mean: number[];
  std: number[];
  /** When given, drawn instead of x/mean/std: lines with shaded bands. */
  series?: PlotSeries[];
  yTitle?: string;
}

/**
 * The title sits just above the plot area (paper y = 1, anchored at its bottom) under a 64-px top margin, so
 * plotly's mode bar, drawn in the container's top-right corner, no longer covers a long title (issue 16).
 */
export const TITLE = (text: string): Record<string, unknown> => ({ text, font: { size: 14 }, x: 0.5, xanchor: 'center', y: 1, yref: 'paper', yanchor: 'bottom', pad: { b: 10 } });
export const TITLE_MARGIN = { t: 64, l: 60, r: 10, b: 50 };

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

function bandTraces(s: PlotSeries, i: number): unknown[] {
  const color = COLORS[i % COLORS.length];
  const upper = s.mean.map((m, j) => m + s.std[j]);
  const lower = s.mean.map((m, j) => m - s.std[j]);
  return [
    { x: s.x, y: upper, type: 'scatter', mode: 'lines', line: { width: 0 }, hoverinfo: 'skip', showlegend: false, legendgroup: s.name },
    { x: s.x, y: lower, type: 'scatter', mode: 'lines', line: { width: 0 }, fill: 'tonexty', fillcolor: `${color}33`, hoverinfo: 'skip', showlegend: false, legendgroup: s.name },
    { x: s.x, y: s.mean, type: 'scatter', mode: 'lines+markers', name: s.name, legendgroup: s.name, line: { color }, text: s.hover, hovertemplate: '%{text}<extra>%{fullData.name}</extra>' },
  ];
}

export interface PlotlyLike {
  newPlot(el: HTMLElement, data: unknown[], layout: unknown, config?: unknown): Promise<unknown>;
}

declare global {
  interface Window {
    Plotly?: PlotlyLike;
  }
}

let loading: Promise<PlotlyLike> | undefined;

/** plotly.js, loaded once per page: from the kernel's widget server, or from `src` (a Blob URL of the source sent over a comm). */
export function loadPlotly(cfg: WidgetConfig, src?: string): Promise<PlotlyLike> {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  loading ??= new Promise((resolve, reject) => {
    // Classic Jupyter pages carry RequireJS; plotly's UMD wrapper would then register an AMD module instead of
    // setting window.Plotly. Hide `define` while the script runs.
    const w = window as unknown as { define?: unknown };
    const define = w.define;
    w.define = undefined;
    const restore = () => {
      if (define !== undefined) w.define = define;
    };
    const s = document.createElement('script');
    s.src = src ?? `${cfg.http}/static/plotly.js?token=${encodeURIComponent(cfg.token)}`;
    s.onload = () => {
      restore();
      if (window.Plotly) resolve(window.Plotly);
      else reject(new Error('plotly did not load'));
    };
    s.onerror = () => {
      restore();
      loading = undefined;
      reject(new Error(src ? 'plotly.js sent by the kernel did not load' : 'cannot load plotly.js from the kernel widget server'));
    };
    document.head.append(s);
  });
  return loading;
}

export function mountPlot(root: HTMLElement, cfg: PlotConfig, plotly: Promise<PlotlyLike> = loadPlotly(cfg)): void {
  plotly.then(
    (Plotly) => {
      const div = document.createElement('div');
      div.className = 'ganvas-plot';
      div.style.cssText = 'width:480px;height:320px';
      root.replaceChildren(div);
      const data = cfg.series
        ? cfg.series.flatMap((s, i) => bandTraces(s, i))
        : [{ x: cfg.x, y: cfg.mean, error_y: { type: 'data', array: cfg.std, visible: true }, type: 'scatter', mode: 'lines+markers', name: 'mean ± std' }];
      return Plotly.newPlot(
        div,
        data,
        { title: TITLE(cfg.title), xaxis: { title: { text: 'grid size g' }, type: 'category' }, yaxis: { title: { text: cfg.yTitle ?? 'cosine similarity' } }, margin: TITLE_MARGIN },
        { displaylogo: false, responsive: true },
      ).then(() => root.setAttribute('data-ganvas-live', 'true'));
    },
    () => root.setAttribute('data-ganvas-live', 'false'),
  );
}

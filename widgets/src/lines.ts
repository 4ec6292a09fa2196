/**
 * A line plot of several named series with plotly.js (loaded from the kernel's widget server, as the grid-size
 * plot). The static SVG stays if plotly cannot be loaded.
 */
import { TITLE, TITLE_MARGIN, loadPlotly } from './plot';
import { WidgetConfig } from './rpc';

interface LinesConfig extends WidgetConfig {
  title: string;
  xLabel: string;
  yLabel: string;
  xTicks: number[] | null;
  series: { name: string; x: number[]; y: (number | null)[] }[];
}

export function mountLines(root: HTMLElement, cfg: LinesConfig): void {
  loadPlotly(cfg).then(
    (Plotly) => {
      const div = document.createElement('div');
      div.className = 'ganvas-plot';
      div.style.cssText = 'width:520px;height:320px';
      root.replaceChildren(div);
      const xaxis: Record<string, unknown> = { title: { text: cfg.xLabel } };
      if (cfg.xTicks) Object.assign(xaxis, { tickmode: 'array', tickvals: cfg.xTicks });
      return Plotly.newPlot(
        div,
        cfg.series.map((s) => ({ x: s.x, y: s.y, name: s.name, type: 'scatter', mode: 'lines+markers', connectgaps: false })),
        { title: TITLE(cfg.title), xaxis, yaxis: { title: { text: cfg.yLabel } }, margin: TITLE_MARGIN },
        { displaylogo: false, responsive: true },
      ).then(() => root.setAttribute('data-ganvas-live', 'true'));
    },
    () => root.setAttribute('data-ganvas-live', 'false'),
  );
}

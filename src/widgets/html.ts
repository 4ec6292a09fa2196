/**
 * The HTML a widget leaves in a notebook: a static snapshot (PNG or SVG inline, so exported and remote notebooks
 * still show the result) plus the widget bundle and a mount call that upgrades it to a live widget when the
 * kernel's widget server can be reached.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { Json, WidgetServer } from './server';

let bundle: string | undefined;

/** The front-end bundle (dist/widgets.js, built by esbuild from widgets/src). */
export function widgetBundle(): string {
  bundle ??= readFileSync(path.join(__dirname, '..', 'widgets.js'), 'utf8');
  return bundle;
}

export function escapeHtml(s: string): string {
  return s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[ch] as string);
}

export function dataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/**
 * An SVG snapshot as an `<img>` with an SVG data URL, not inline SVG: an untrusted notebook's HTML sanitizer keeps
 * `<img src="data:image/svg+xml;...">` but strips inline SVG's elements (seen in JupyterLab 4 and Notebook 6: the
 * plot became one line of its labels' text). The price: SVG `<title>` tooltips do not show inside an `<img>`; the
 * live plot has them.
 */
export function svgImage(svg: string, alt: string): string {
  const width = /^<svg[^>]*\swidth="(\d+)"/.exec(svg)?.[1];
  return `<img class="ganvas-snapshot" alt="${escapeHtml(alt)}" src="${svgDataUrl(svg)}"${width ? ` width="${width}"` : ''}/>`;
}

/** A comm widget's fallback output: its static snapshot, and what the live widget needs. */
export function commFallback(kind: string, snapshot: string): string {
  return `<div class="ganvas-widget" data-ganvas-kind="${kind}">${snapshot}<div style="font:11px sans-serif;color:#777">Static snapshot: the live ${kind} needs the ganvas-widgets Jupyter extension and the kernel (see README, "Widgets").</div></div>`;
}

export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}

/**
 * A widget's HTML: `snapshot` is shown as is; the script mounts the live widget over it. The bundle is inlined
 * once per output so the notebook needs nothing from the network to show the widget; only live updates talk to
 * the kernel's server.
 */
export function widgetHtml(kind: string, server: WidgetServer, widgetId: string, snapshot: string, config: Record<string, Json>): string {
  const el = `ganvas-${kind}-${widgetId}-${server.port}`;
  const cfg: Record<string, Json> = { ...config, kind, widget: widgetId, ws: server.wsUrl, http: server.url, token: server.token };
  // JSON inside a <script>: escape "<" so no string can close the tag.
  const json = JSON.stringify(cfg).replace(/</g, '\\u003c');
  return `<div id="${el}" class="ganvas-widget" data-ganvas-kind="${kind}">${snapshot}</div>
<script>${widgetBundle()}
;(function(){var el=document.getElementById(${JSON.stringify(el)});if(el&&window.ganvasWidgets){window.ganvasWidgets.mount(el,${json});}})();</script>`;
}

/**
 * ganvas front-end widgets, bundled by esbuild into dist/widgets.js (global `ganvasWidgets`) and inlined into each
 * widget's notebook output by the kernel.
 */
import { mountGallery } from './gallery';
import { mountPaint } from './paint';
import { mountPlot } from './plot';
import { mountLines } from './lines';
import { mountStitch } from './stitch';
import { WidgetConfig } from './rpc';

export function mount(el: HTMLElement, cfg: WidgetConfig): void {
  try {
    // Each kind's mount checks its own config fields; the kernel wrote them together with `kind`.
    if (cfg.kind === 'paint') mountPaint(el, cfg as Parameters<typeof mountPaint>[1]);
    else if (cfg.kind === 'gallery') mountGallery(el, cfg as Parameters<typeof mountGallery>[1]);
    else if (cfg.kind === 'plot') mountPlot(el, cfg as Parameters<typeof mountPlot>[1]);
    else if (cfg.kind === 'lines') mountLines(el, cfg as Parameters<typeof mountLines>[1]);
    else if (cfg.kind === 'stitch') mountStitch(el, cfg as Parameters<typeof mountStitch>[1]);
    else throw new Error(`unknown widget kind ${cfg.kind}`);
  } catch (e) {
    const note = document.createElement('div');
    note.textContent = `ganvas widget error: ${(e as Error).message}`;
    note.style.cssText = 'color:#a00;font:12px sans-serif';
    el.append(note);
  }
}

/** The plots' title layout (tested against plotly's mode bar in test/e2e/plot-title.test.ts). */
export { TITLE as plotTitle, TITLE_MARGIN as plotTitleMargin } from './plot';

/**
 * The tileability gallery widget (kernel side): top-k and bottom-k vectors with their scores, grid(2) above full
 * (Figs. 5 and 6). Clicking one enlarges it with its provenance; the live widget then asks the kernel for its
 * grid-size row (Fig. 7) — over Jupyter comms (a GalleryModel widget, where the front end has the ganvas-widgets
 * extension) or the WebSocket bridge, chosen as for the paint canvas (WidgetTransport).
 */
import { Cut } from '../generator';
import { showHtml } from '../display';
import { contactSheet, toPng } from '../runtime/image';
import { Gallery, ScanEntry } from '../tileability';
import { gridSweep, vectorsFromProvenance } from '../visualize';
import { Json, WidgetHost, defaultHost } from './server';
import { commFallback, dataUrl, escapeHtml, widgetHtml } from './html';
import { WidgetTransport, chooseTransport } from './transport';
import { CommManager } from '../comm/kernel';
import { CommWidget } from '../comm/widget';

export interface GalleryWidgetOptions {
  host?: WidgetHost;
  titles?: string[];
  /** See WidgetTransport (showGallery only; galleryWidget's HTML always uses the WebSocket bridge). */
  transport?: WidgetTransport;
}

/** The grid-size row (g = 1…5 and full) of one gallery item, as a PNG contact sheet. */
async function sweepRow(cut: Cut, all: readonly ScanEntry[], index: unknown): Promise<Buffer> {
  // Stryker disable next-line LogicalOperator,ConditionalExpression: Number.isInteger is false for anything but numbers, and an array has no entry at a non-integer index
  const entry = typeof index === 'number' && Number.isInteger(index) ? all[index] : undefined;
  if (!entry) throw new Error(`no gallery item ${String(index)} (items 0…${all.length - 1})`);
  const [v] = await vectorsFromProvenance(cut, [entry.provenance]);
  const sizes = [1, 2, 3, 4, 5, 'full'] as const;
  const [row] = await gridSweep(cut, [v], [...sizes]);
  return contactSheet([{ images: row, captions: sizes.map((g) => (g === 'full' ? 'full' : `g=${g}`)) }], { range: cut.generator.range, scale: 3 });
}

/** The cards (thumbnails as PNG data URLs, kept in the widget state / config) and the static snapshot. */
async function sections(cut: Cut, galleries: Gallery[], titles: string[] | undefined): Promise<{ sections: Json[]; snapshot: string }> {
  const range = cut.generator.range;
  const out: Json[] = [];
  let index = 0;
  const snapshots: string[] = [];
  for (const [gi, g] of galleries.entries()) {
    const items: Json[] = [];
    for (let i = 0; i < g.entries.length; i++) {
      const e = g.entries[i];
      items.push({
        index: index++,
        score: e.cosine,
        l1: e.l1,
        provenance: { ...e.provenance } as unknown as Json,
        grid: dataUrl(await toPng(g.grid, i, { range })),
        full: dataUrl(await toPng(g.full, i, { range })),
      });
    }
    const title = titles?.[gi] ?? `gallery ${gi + 1}`;
    out.push({ title, items });
    snapshots.push(`<div style="font:bold 12px sans-serif;margin:4px 0">${escapeHtml(title)}</div><img alt="${escapeHtml(title)}" src="${dataUrl(g.png)}"/>`);
  }
  return { sections: out, snapshot: `<div>${snapshots.join('')}</div>` };
}

/** Shows one or more galleries (e.g. top-k and bottom-k) side by side in one widget; returns its HTML (WebSocket bridge). */
export async function galleryWidget(cut: Cut, galleries: Gallery[], opts: GalleryWidgetOptions = {}): Promise<string> {
  const server = await (opts.host ?? defaultHost).server();
  const all = galleries.flatMap((g) => g.entries);
  const id = server.register(async (type, payload) => {
    if (type !== 'sweep') throw new Error(`unknown request "${type}"`);
    return { row: (await sweepRow(cut, all, Number(payload.index))).toString('base64') };
  });
  const s = await sections(cut, galleries, opts.titles);
  return widgetHtml('gallery', server, id, s.snapshot, { sections: s.sections });
}

/**
 * The gallery as a Jupyter widget (GalleryModel / GalleryView of module "ganvas/nbextension/index"): the cards in the model state
 * (saved with the notebook), a grid-size row on request: custom {type: "sweep", id, index} → custom {id, ok} + the
 * row as one PNG buffer. Returns the widget.
 */
export async function galleryCommWidget(cut: Cut, galleries: Gallery[], opts: GalleryWidgetOptions = {}): Promise<CommWidget> {
  const all = galleries.flatMap((g) => g.entries);
  const s = await sections(cut, galleries, opts.titles);
  const w = new CommWidget(CommManager.get(), 'GalleryModel', 'GalleryView', { sections: s.sections });
  w.onRequest('sweep', async (content) => ({ buffers: [await sweepRow(cut, all, content.index)] }));
  w.display(commFallback('gallery', s.snapshot));
  return w;
}

export async function showGallery(cut: Cut, galleries: Gallery[], opts: GalleryWidgetOptions = {}): Promise<void> {
  if ((await chooseTransport(opts.transport)) === 'comm') await galleryCommWidget(cut, galleries, opts);
  else showHtml(await galleryWidget(cut, galleries, opts));
}

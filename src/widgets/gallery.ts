/**
 * The tileability gallery widget (kernel side): top-k and bottom-k vectors with their scores, grid(2) above full
 * (Figs. 5 and 6). Clicking one enlarges it with its provenance; the live widget then asks the kernel for its
 * grid-size row (Fig. 7).
 */
import { Cut } from '../generator';
import { showHtml } from '../display';
import { contactSheet, toPng } from '../runtime/image';
import { Gallery } from '../tileability';
import { gridSweep, vectorsFromProvenance } from '../visualize';
import { Json, WidgetHost, defaultHost } from './server';
import { dataUrl, escapeHtml, widgetHtml } from './html';

export interface GalleryWidgetOptions {
  host?: WidgetHost;
  titles?: string[];
}

/** Shows one or more galleries (e.g. top-k and bottom-k) side by side in one widget; returns its HTML. */
export async function galleryWidget(cut: Cut, galleries: Gallery[], opts: GalleryWidgetOptions = {}): Promise<string> {
  const server = await (opts.host ?? defaultHost).server();
  const all = galleries.flatMap((g) => g.entries);
  const id = server.register(async (type, payload) => {
    if (type !== 'sweep') throw new Error(`unknown request "${type}"`);
    const entry = all[Number(payload.index)];
    if (!entry) throw new Error(`no gallery item ${String(payload.index)}`);
    const [v] = await vectorsFromProvenance(cut, [entry.provenance]);
    const sizes = [1, 2, 3, 4, 5, 'full'] as const;
    const [row] = await gridSweep(cut, [v], [...sizes]);
    const png = await contactSheet([{ images: row, captions: sizes.map((g) => (g === 'full' ? 'full' : `g=${g}`)) }], { range: cut.generator.range, scale: 3 });
    return { row: png.toString('base64') };
  });
  const range = cut.generator.range;
  const sections: Json[] = [];
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
    const title = opts.titles?.[gi] ?? `gallery ${gi + 1}`;
    sections.push({ title, items });
    snapshots.push(`<div style="font:bold 12px sans-serif;margin:4px 0">${escapeHtml(title)}</div><img alt="${escapeHtml(title)}" src="${dataUrl(g.png)}"/>`);
  }
  return widgetHtml('gallery', server, id, `<div>${snapshots.join('')}</div>`, { sections });
}

export async function showGallery(cut: Cut, galleries: Gallery[], opts: GalleryWidgetOptions = {}): Promise<void> {
  showHtml(await galleryWidget(cut, galleries, opts));
}

/**
 * The tileability gallery: cards with grid(2) above full and the score; a click enlarges a card with its
 * provenance and asks the kernel for its grid-size row.
 */
import { Rpc, WidgetConfig, connect, h } from './rpc';

interface Item {
  index: number;
  score: number;
  l1: number;
  provenance: Record<string, unknown>;
  grid: string;
  full: string;
}

export interface GallerySection {
  title: string;
  items: Item[];
}

interface GalleryConfig extends WidgetConfig {
  sections: GallerySection[];
}

/** How the gallery reaches the kernel: the WebSocket bridge (default) or a Jupyter widget model (widgets/src/jupyter.ts). */
export interface GalleryLink {
  label: string;
  connect(): Promise<Rpc>;
}

export function mountGallery(root: HTMLElement, cfg: GalleryConfig, link: GalleryLink = { label: 'WebSocket bridge', connect: () => connect(cfg) }): void {
  let rpc: Rpc | undefined;
  const detail = h('div', { class: 'ganvas-detail', style: 'display:none;border:1px solid #999;padding:6px;margin-top:6px;font:12px sans-serif' });
  const body = h('div');
  const px = 'width:72px;height:72px;image-rendering:pixelated;display:block';
  for (const s of cfg.sections) {
    const row = h('div', { style: 'display:flex;flex-wrap:wrap;gap:6px' });
    // The row names, visible (not only as tooltips): one label cell per image row, then the score line.
    const names = 'height:72px;display:flex;align-items:center;justify-content:flex-end';
    row.append(h('div', { class: 'ganvas-row-names', style: 'font:11px sans-serif;color:#333;text-align:right' }, h('div', { style: names }, 'grid(2)'), h('div', { style: names }, 'full'), 'score'));
    for (const it of s.items) {
      const card = h('div', { class: 'ganvas-card', 'data-index': String(it.index), style: 'cursor:pointer;text-align:center;font:11px sans-serif' },
        h('img', { src: it.grid, style: px, title: 'grid(2)' }), h('img', { src: it.full, style: px, title: 'full' }), it.score.toFixed(3));
      card.onclick = () => void open(it);
      row.append(card);
    }
    body.append(h('div', { style: 'font:bold 12px sans-serif;margin:6px 0 3px' }, s.title), row);
  }
  root.replaceChildren(body, detail);

  const open = async (it: Item) => {
    const big = 'width:192px;height:192px;image-rendering:pixelated';
    const sweep = h('div', { class: 'ganvas-sweep' }, rpc ? 'loading the grid-size row…' : 'grid-size row: needs the live kernel');
    detail.replaceChildren(
      h('div', { style: 'display:flex;gap:8px' }, h('div', {}, 'grid(2)', h('br'), h('img', { src: it.grid, style: big })), h('div', {}, 'full', h('br'), h('img', { src: it.full, style: big }))),
      h('div', {}, `score ${it.score.toFixed(4)} · L1 ${it.l1.toFixed(4)} · provenance ${JSON.stringify(it.provenance)}`),
      sweep,
    );
    detail.style.display = 'block';
    if (!rpc) return;
    try {
      const res = await rpc.call('sweep', { index: it.index });
      sweep.replaceChildren('g = 1…5 and full:', h('br'), h('img', { class: 'ganvas-sweep-row', src: typeof res.imageUrl === 'string' ? res.imageUrl : `data:image/png;base64,${String(res.row)}` }));
    } catch (e) {
      sweep.textContent = `error: ${(e as Error).message}`;
    }
  };
  link.connect().then(
    (r) => {
      rpc = r;
      root.setAttribute('data-ganvas-live', 'true');
      root.setAttribute('data-ganvas-transport', link.label);
    },
    () => root.setAttribute('data-ganvas-live', 'false'),
  );
}

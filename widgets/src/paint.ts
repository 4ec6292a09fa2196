/**
 * The paint canvas: one brush per library vector (its color and name), an eraser that paints the "keep" color,
 * brush size, undo, clear, and the noise seed. Strokes are drawn without anti-aliasing (whole mask pixels), so
 * every pixel of the mask is exactly a palette color. The painted image updates while drawing (one request in
 * flight at a time) and after each stroke.
 */
import { Rpc, WidgetConfig, connect, h, stats } from './rpc';

/**
 * How the canvas reaches the kernel: the WebSocket bridge (default) or a Jupyter widget model (widgets/src/jupyter.ts).
 * `onDead` reports a kernel side that is gone (restart, lost connection, a page reloaded without the kernel).
 */
export interface PaintLink {
  label: string;
  connect(): Promise<Rpc>;
  onDead(cb: (reason: string) => void): void;
  /** The last mask painted (PNG data URL), drawn on the canvas at mount (a restored notebook). */
  initialMask?: string;
}

function websocketLink(cfg: WidgetConfig): PaintLink {
  let dead: ((reason: string) => void) | undefined;
  return {
    label: `WebSocket bridge (${cfg.http.replace(/^https?:\/\//, '')})`,
    connect: () => connect(cfg, 3000, (reason) => dead?.(reason)),
    onDead(cb) {
      dead = cb;
    },
  };
}

interface PaintConfig extends WidgetConfig {
  canvasSize: number;
  displaySize: number;
  keep: string;
  seed: number;
  image: string;
  brushes: { name: string; color: string }[];
}

export function mountPaint(root: HTMLElement, cfg: PaintConfig, link: PaintLink = websocketLink(cfg)): void {
  const size = cfg.canvasSize;
  const canvas = h('canvas', { width: String(size), height: String(size), class: 'ganvas-canvas', style: `width:${cfg.displaySize}px;height:${cfg.displaySize}px;image-rendering:pixelated;cursor:progress;border:1px solid #999;touch-action:none` });
  const image = h('img', { class: 'ganvas-image', src: cfg.image, style: `width:${cfg.displaySize}px;height:${cfg.displaySize}px;image-rendering:pixelated;border:1px solid #999` });
  const status = h('div', { class: 'ganvas-status', style: 'font:11px sans-serif;color:#555;min-height:14px' }, 'connecting to the kernel…');
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = cfg.keep;
  ctx.fillRect(0, 0, size, size);
  if (link.initialMask) {
    const m = new Image();
    m.onload = () => ctx.drawImage(m, 0, 0, size, size);
    m.src = link.initialMask;
  }

  let color = cfg.brushes[0]?.color ?? cfg.keep;
  let brush = Math.max(1, Math.round(size / 16));
  let seed = cfg.seed;
  const undo: ImageData[] = [];
  const toolbar = h('div', { style: 'display:flex;flex-wrap:wrap;gap:4px;align-items:center;font:12px sans-serif;margin-bottom:4px' });
  const buttons: HTMLButtonElement[] = [];
  const choose = (b: HTMLButtonElement, c: string) => {
    color = c;
    for (const x of buttons) x.style.outline = x === b ? '2px solid #000' : 'none';
  };
  for (const b of [...cfg.brushes, { name: 'eraser (keep)', color: cfg.keep }]) {
    const btn = h('button', { type: 'button', class: 'ganvas-brush', 'data-color': b.color, title: b.color, style: 'display:flex;align-items:center;gap:4px' }, h('span', { style: `display:inline-block;width:12px;height:12px;background:${b.color};border:1px solid #555` }), b.name);
    btn.onclick = () => choose(btn, b.color);
    buttons.push(btn);
    toolbar.append(btn);
  }
  choose(buttons[0], color);
  const sizeInput = h('input', { type: 'range', min: '1', max: String(Math.max(2, Math.round(size / 4))), value: String(brush), class: 'ganvas-size', title: 'brush size', style: 'width:120px' });
  sizeInput.oninput = () => (brush = Number(sizeInput.value));
  const undoBtn = h('button', { type: 'button', class: 'ganvas-undo' }, 'undo');
  const clearBtn = h('button', { type: 'button', class: 'ganvas-clear' }, 'clear');
  const seedInput = h('input', { type: 'number', value: String(seed), class: 'ganvas-seed', style: 'width:70px', title: 'noise / sample seed' });
  const newSeed = h('button', { type: 'button', class: 'ganvas-newseed' }, 'new seed');
  toolbar.append(' size ', sizeInput, undoBtn, clearBtn, ' seed ', seedInput, newSeed);
  root.replaceChildren(toolbar, h('div', { style: 'display:flex;gap:8px' }, canvas, image), status);

  let rpc: Rpc | undefined;
  let inFlight = false;
  let dirty = false;
  let waitStart: number | undefined;
  const send = async () => {
    if (!rpc) return;
    if (inFlight) {
      dirty = true;
      return;
    }
    inFlight = true;
    dirty = false;
    try {
      const t0 = performance.now();
      const mask = canvas.toDataURL('image/png').split(',')[1];
      const res = await rpc.call('paint', { mask, seed });
      await new Promise<void>((resolve) => {
        image.onload = () => resolve();
        image.onerror = () => resolve();
        image.src = typeof res.imageUrl === 'string' ? res.imageUrl : `data:image/png;base64,${String(res.image)}`;
      });
      const t = waitStart;
      if (t !== undefined && !dirty) {
        const shown = performance.now();
        const ms = shown - t;
        stats().paint.push(ms);
        const [sent, recv, tIn, tOut] = [res.sentAt, res.receivedAt, res.t_in, res.t_out].map(Number);
        if ([sent, recv, tIn, tOut].every(Number.isFinite)) {
          const o = performance.timeOrigin;
          (stats().paintSteps ??= []).push({ wait: Math.max(0, t0 - t), encode: sent - t0, up: tIn - (o + sent), kernel: tOut - tIn, down: o + recv - tOut, show: shown - recv });
        }
        waitStart = undefined;
        status.textContent = `painted in ${Number(res.ms).toFixed(1)} ms in the kernel, ${ms.toFixed(0)} ms round trip · seed ${seed} · via ${link.label}`;
      }
    } catch (e) {
      status.textContent = `error: ${(e as Error).message}`;
    } finally {
      inFlight = false;
      if (dirty) void send();
    }
  };

  let drawing = false;
  let last: [number, number] | undefined;
  const at = (ev: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * size, ((ev.clientY - r.top) / r.height) * size];
  };
  const dab = (x: number, y: number) => {
    ctx.fillStyle = color;
    ctx.fillRect(Math.round(x - brush / 2), Math.round(y - brush / 2), brush, brush);
  };
  const stroke = (p: [number, number]) => {
    const from = last ?? p;
    const steps = Math.max(1, Math.ceil(Math.hypot(p[0] - from[0], p[1] - from[1]) / Math.max(1, brush / 2)));
    for (let i = 1; i <= steps; i++) dab(from[0] + ((p[0] - from[0]) * i) / steps, from[1] + ((p[1] - from[1]) * i) / steps);
    last = p;
  };
  canvas.addEventListener('pointerdown', (ev) => {
    if (!rpc) return; // not live (yet): nothing drawn that the kernel would never see
    drawing = true;
    canvas.setPointerCapture(ev.pointerId);
    undo.push(ctx.getImageData(0, 0, size, size));
    if (undo.length > 50) undo.shift();
    last = undefined;
    stroke(at(ev));
    void send();
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!drawing) return;
    stroke(at(ev));
    void send();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = undefined;
    waitStart = performance.now();
    void send();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  undoBtn.onclick = () => {
    const prev = undo.pop();
    if (prev) ctx.putImageData(prev, 0, 0);
    waitStart = performance.now();
    void send();
  };
  clearBtn.onclick = () => {
    undo.push(ctx.getImageData(0, 0, size, size));
    ctx.fillStyle = cfg.keep;
    ctx.fillRect(0, 0, size, size);
    waitStart = performance.now();
    void send();
  };
  const reseed = (s: number) => {
    seed = s;
    seedInput.value = String(s);
    waitStart = performance.now();
    void send();
  };
  seedInput.onchange = () => reseed(Number(seedInput.value) || 0);
  newSeed.onclick = () => reseed(seed + 1);

  // A kernel side that is gone: say so plainly and stop taking input (strokes would be dropped silently).
  const setDead = (reason: string) => {
    rpc = undefined;
    root.setAttribute('data-ganvas-live', 'false');
    canvas.style.pointerEvents = 'none';
    canvas.style.opacity = '0.6';
    canvas.style.cursor = 'not-allowed';
    for (const b of Array.from(root.querySelectorAll('button, input'))) (b as HTMLButtonElement | HTMLInputElement).disabled = true;
    status.className = 'ganvas-status ganvas-dead';
    status.style.cssText = 'font:bold 13px sans-serif;color:#fff;background:#b00;padding:4px 6px;margin-top:4px';
    status.textContent = `Not connected to the kernel: ${reason}. This canvas is read-only; it shows the last painting. Re-run the cell to paint again.`;
  };
  link.onDead(setDead);
  link.connect().then(
    (r) => {
      if (root.getAttribute('data-ganvas-live') === 'false') return;
      rpc = r;
      canvas.style.cursor = 'crosshair';
      root.setAttribute('data-ganvas-live', 'true');
      root.setAttribute('data-ganvas-transport', link.label);
      status.textContent = `live via ${link.label}: paint on the left`;
    },
    (e: Error) => {
      // Never connected (an exported report, a reload without the kernel): read-only, and it says it is a snapshot.
      setDead(e.message);
      toolbar.style.opacity = '0.45';
      status.textContent = `Not connected to the kernel (${e.message}). Static snapshot — run the notebook to paint.`;
    },
  );
}

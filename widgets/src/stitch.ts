/**
 * The stitch widget: a canvas at the classifier's input size (shown enlarged), a grey (one-channel classifiers) or
 * colour brush, a row of test images to start from, clear, and the generator seed; next to it one reconstruction
 * per stitched layer. The reconstructions update while drawing (one request in flight at a time) and after each
 * stroke, pick, clear or seed change.
 */
import { Rpc, WidgetConfig, connect, h, stats } from './rpc';

interface StitchConfig extends WidgetConfig {
  width: number;
  height: number;
  channels: number;
  displaySize: number;
  seed: number;
  background: string;
  picks: string[];
  drawn: string;
  layers: string[];
  images: string[];
}

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('cannot load image'));
    img.src = src;
  });
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Draws H × W × C bytes (C = 1 or 3) into a canvas of that size. */
function showPixels(canvas: HTMLCanvasElement, r: { pixels: string; width: number; height: number; channels: number }): void {
  const bin = atob(r.pixels);
  if (canvas.width !== r.width || canvas.height !== r.height) {
    canvas.width = r.width;
    canvas.height = r.height;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(r.width, r.height);
  const n = r.width * r.height;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) img.data[4 * i + k] = bin.charCodeAt(r.channels === 1 ? i : 3 * i + k);
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export function mountStitch(root: HTMLElement, cfg: StitchConfig): void {
  const { width: W, height: H } = cfg;
  const dispW = cfg.displaySize;
  const dispH = Math.round((cfg.displaySize * H) / W);
  const canvas = h('canvas', { width: String(W), height: String(H), class: 'ganvas-canvas', style: `width:${dispW}px;height:${dispH}px;image-rendering:pixelated;cursor:crosshair;border:1px solid #999;touch-action:none` });
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas');
  ctx.imageSmoothingEnabled = false;
  const status = h('div', { class: 'ganvas-status', style: 'font:11px sans-serif;color:#555;min-height:14px' }, 'connecting to the kernel…');

  // Brush: a grey level for one-channel classifiers, any colour otherwise.
  let color = cfg.channels === 1 ? '#ffffff' : '#7a4a2a';
  const ink =
    cfg.channels === 1
      ? h('input', { type: 'range', min: '0', max: '255', value: '255', class: 'ganvas-ink', title: 'grey level', style: 'width:90px' })
      : h('input', { type: 'color', value: color, class: 'ganvas-ink', title: 'brush colour' });
  ink.oninput = () => {
    if (cfg.channels === 1) {
      const v = Number(ink.value).toString(16).padStart(2, '0');
      color = `#${v}${v}${v}`;
    } else color = ink.value;
  };
  let brush = Math.max(1, Math.round(W / 10));
  const sizeInput = h('input', { type: 'range', min: '1', max: String(Math.max(2, Math.round(W / 4))), value: String(brush), class: 'ganvas-size', title: 'brush size (pixels)', style: 'width:90px' });
  sizeInput.oninput = () => (brush = Number(sizeInput.value));
  const clearBtn = h('button', { type: 'button', class: 'ganvas-clear' }, 'clear');
  let seed = cfg.seed;
  const seedInput = h('input', { type: 'number', min: '0', value: String(seed), class: 'ganvas-seed', style: 'width:70px', title: 'generator seed (style and noise after the stitched layer)' });
  const newSeed = h('button', { type: 'button', class: 'ganvas-newseed' }, 'new seed');
  const toolbar = h('div', { style: 'display:flex;flex-wrap:wrap;gap:4px;align-items:center;font:12px sans-serif;margin-bottom:4px' },
    cfg.channels === 1 ? 'grey ' : 'colour ', ink, ' size ', sizeInput, clearBtn, ' seed ', seedInput, newSeed);

  const pickRow = h('div', { style: 'display:flex;flex-wrap:wrap;gap:3px;align-items:center;font:12px sans-serif;margin-bottom:4px' }, cfg.picks.length ? 'start from: ' : '');
  const thumb = Math.max(28, Math.min(56, Math.round(dispW / 5)));
  cfg.picks.forEach((src, i) => {
    const img = h('img', { src, class: 'ganvas-pick', 'data-index': String(i), title: `test image ${i}`, style: `width:${thumb}px;height:${Math.round((thumb * H) / W)}px;image-rendering:pixelated;cursor:pointer;border:1px solid #999` });
    img.onclick = () => void pick(src);
    pickRow.append(img);
  });

  const recSize = Math.round(dispW / 2);
  // Reconstructions are canvases at the generator's size: the kernel answers raw pixels (see the kernel side).
  const recs = cfg.layers.map((label) =>
    h('canvas', { width: String(W), height: String(H), class: 'ganvas-recon', 'data-layer': label, title: label, style: `width:${recSize}px;height:${Math.round((recSize * H) / W)}px;image-rendering:pixelated;border:1px solid #999` }),
  );
  cfg.images.forEach((src, i) => {
    void loadImage(src).then((img) => {
      const c = recs[i];
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      c.getContext('2d')?.drawImage(img, 0, 0);
    }, () => undefined);
  });
  const gallery = h('div', { style: 'display:flex;flex-wrap:wrap;gap:6px;align-items:flex-end' },
    ...recs.map((c, i) => h('figure', { style: 'margin:0;text-align:center;font:11px sans-serif' }, c, h('figcaption', {}, cfg.layers[i]))));
  root.replaceChildren(toolbar, pickRow, h('div', { style: 'display:flex;gap:10px;align-items:flex-start' }, canvas, gallery), status);

  let version = 0;
  const fill = () => {
    version++;
    ctx.fillStyle = cfg.background;
    ctx.fillRect(0, 0, W, H);
  };
  const drawSrc = async (src: string) => {
    const img = await loadImage(src);
    fill();
    ctx.drawImage(img, 0, 0, W, H);
    version++;
  };
  fill();
  if (cfg.drawn) void drawSrc(cfg.drawn).catch(() => undefined);

  // The canvas as H × W × C bytes (C = the classifier's channels; grey by Rec. 601 luma, as the kernel reads a PNG).
  const canvasPixels = (): string => {
    const rgba = ctx.getImageData(0, 0, W, H).data;
    const c = cfg.channels === 1 ? 1 : 3;
    const out = new Uint8Array(W * H * c);
    for (let i = 0; i < W * H; i++) {
      if (c === 1) out[i] = Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
      else for (let k = 0; k < 3; k++) out[3 * i + k] = rgba[4 * i + k];
    }
    return toBase64(out);
  };

  let rpc: Rpc | undefined;
  let inFlight = false;
  let waitStart: number | undefined;
  // Bumped on every change of the canvas or the seed. Mouse up while the request in flight already carries the
  // latest version waits for that answer instead of inverting the same pixels again; a change made while a request
  // is in flight is sent when it returns.
  let sentVersion = -1;
  const send = async () => {
    if (!rpc || inFlight) return;
    inFlight = true;
    const v = version;
    sentVersion = v;
    try {
      const res = await rpc.call('invert', { pixels: canvasPixels(), seed });
      const list = res.images as { label: string; pixels: string; width: number; height: number; channels: number }[];
      list.forEach((r, i) => {
        const c = recs[i];
        if (c) showPixels(c, r);
      });
      // Counted as shown once the browser has painted the frame.
      await new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
      const t = waitStart;
      if (t !== undefined && v === version) {
        const ms = performance.now() - t;
        const s = stats();
        (s.stitch ??= []).push(ms);
        waitStart = undefined;
        status.textContent = `${list.length} reconstructions in ${Number(res.ms).toFixed(1)} ms in the kernel, ${ms.toFixed(0)} ms round trip · seed ${seed}`;
      }
    } catch (e) {
      status.textContent = `error: ${(e as Error).message}`;
      waitStart = undefined;
    } finally {
      inFlight = false;
      if (version !== v || waitStart !== undefined) void send();
    }
  };
  /** A change is complete (mouse up, pick, clear, seed): time until its reconstructions are shown. */
  const settle = () => {
    waitStart = performance.now();
    if (!(inFlight && sentVersion === version)) void send();
  };
  const pick = async (src: string) => {
    await drawSrc(src);
    settle();
  };

  let drawing = false;
  let last: [number, number] | undefined;
  const at = (ev: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * W, ((ev.clientY - r.top) / r.height) * H];
  };
  const dab = (x: number, y: number) => {
    version++;
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x, y, brush / 2, 0, 2 * Math.PI);
    ctx.fill();
  };
  const stroke = (p: [number, number]) => {
    const from = last ?? p;
    const steps = Math.max(1, Math.ceil(Math.hypot(p[0] - from[0], p[1] - from[1]) / Math.max(0.5, brush / 3)));
    for (let i = 1; i <= steps; i++) dab(from[0] + ((p[0] - from[0]) * i) / steps, from[1] + ((p[1] - from[1]) * i) / steps);
    last = p;
  };
  canvas.addEventListener('pointerdown', (ev) => {
    drawing = true;
    canvas.setPointerCapture(ev.pointerId);
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
    settle();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  clearBtn.onclick = () => {
    fill();
    settle();
  };
  const reseed = (s: number) => {
    seed = s;
    version++;
    seedInput.value = String(s);
    settle();
  };
  seedInput.onchange = () => reseed(Math.max(0, Math.floor(Number(seedInput.value))) || 0);
  newSeed.onclick = () => reseed(seed + 1);

  connect(cfg).then(
    (r) => {
      rpc = r;
      root.setAttribute('data-ganvas-live', 'true');
      status.textContent = 'live: draw on the canvas, or click a test image to start from';
    },
    (e: Error) => {
      root.setAttribute('data-ganvas-live', 'false');
      status.textContent = `${e.message}`;
    },
  );
}

/**
 * `show(x)`: one call that puts a result in the notebook (issue 16, item 4) — image tensors as a sheet of all
 * their images at a readable size, PNG bytes as the picture, galleries and paintings by their PNG, a layer
 * table as an HTML table, anything else as its short text. Outside a notebook it prints a line instead.
 */
import { inspect } from 'util';
import { showHtml, showPng, tslab } from './display';
import { ToImageOptions, toPng } from './runtime/image';
import { FloatTensor } from './runtime/tensor';

function isTensor(x: unknown): x is FloatTensor {
  return typeof x === 'object' && x !== null && (x as FloatTensor).data instanceof Float32Array && Array.isArray((x as FloatTensor).dims);
}

/**
 * Shows `x` in the notebook. Image tensors [N, 1 or 3, H, W] need their value range (a generator's is
 * `gen.range`; default [-1, 1]); `scale` overrides the readable default.
 */
export async function show(x: unknown, opts: ToImageOptions = {}): Promise<void> {
  if (x instanceof Uint8Array) return showPng(x);
  if (isTensor(x) && x.dims.length === 4 && (x.dims[1] === 1 || x.dims[1] === 3)) return showPng(await toPng(x, opts));
  if (typeof x === 'object' && x !== null) {
    const o = x as { png?: unknown; image?: unknown; toHtml?: () => string };
    if (o.png instanceof Uint8Array) return showPng(o.png);
    if (typeof o.toHtml === 'function') return showHtml(o.toHtml());
    if (isTensor(o.image)) return show(o.image, opts);
  }
  const text = typeof x === 'string' ? x : inspect(x, { depth: 2, maxArrayLength: 20 });
  const t = tslab();
  if (t) t.display.text(text);
  else process.stdout.write(`${text}\n`);
}

/**
 * Showing things in a notebook: HTML, images and in-place progress through tslab's display, found at run time
 * (so ganvas works the same inside tslab, in plain Node, and when tslab is installed elsewhere than ganvas).
 */
import * as path from 'path';

export interface Display {
  html(s: string): void;
  png(b: Uint8Array): void;
  text(s: string): void;
  svg(s: string): void;
}

interface TslabPublic {
  display: Display;
  newDisplay(): Display;
}

/**
 * tslab's public module of the running kernel, or undefined outside a kernel. Found through the kernel's own
 * loaded `jupyter.js`, not through `require('tslab')`, which could resolve to another copy that has no
 * connection to the kernel.
 */
export function tslab(): TslabPublic | undefined {
  // A global tslab's launcher hands over to a tslab installed next to the notebook, so two copies can be loaded:
  // the live one is the copy whose jupyter.js holds the display writer of the running kernel.
  for (const key of Object.keys(require.cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) continue;
    // Stryker disable next-line OptionalChaining: the keys come from Object.keys(require.cache), so the entry exists
    const jupyter = require.cache[key]?.exports as { lastWriteDisplayData?: unknown } | undefined;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (jupyter?.lastWriteDisplayData) return require(path.join(path.dirname(key), 'public.js')) as TslabPublic;
  }
  return undefined;
}

export function inKernel(): boolean {
  return tslab() !== undefined;
}

/** Shows HTML in the notebook (or prints a note outside one). */
export function showHtml(html: string): void {
  const t = tslab();
  if (t) t.display.html(html);
  else process.stdout.write('[ganvas] HTML output is shown in notebooks only\n');
}

export function showPng(png: Uint8Array): void {
  const t = tslab();
  if (t) t.display.png(png);
  else process.stdout.write(`[ganvas] PNG of ${png.length} bytes (shown in notebooks only)\n`);
}

/**
 * A progress callback: one line updated in place in a notebook (tslab's newDisplay), a carriage-return line on
 * a terminal, nothing when `quiet`.
 */
export function progress(label: string, opts: { quiet?: boolean } = {}): (done: number, total: number) => void {
  if (opts.quiet) return () => undefined;
  const t = tslab();
  const d = t?.newDisplay();
  const start = Date.now();
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 200) return; // at most 5 updates a second
    last = now;
    const secs = (now - start) / 1000;
    const rate = done / Math.max(secs, 1e-3);
    const eta = done > 0 ? (total - done) / rate : 0;
    const width = 30;
    const bar = '#'.repeat(Math.round((width * done) / total)).padEnd(width, '.');
    const line = `${label} [${bar}] ${done}/${total} ${rate.toFixed(1)}/s ${done < total ? `eta ${eta.toFixed(0)}s` : `done in ${secs.toFixed(1)}s`}`;
    if (d) d.text(line);
    else if (process.stderr.isTTY) process.stderr.write(`\r${line}${done >= total ? '\n' : ''}`);
    else if (done >= total) process.stderr.write(`${line}\n`);
  };
}

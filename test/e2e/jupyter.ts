/**
 * Drives a real Jupyter Notebook server (Debian's, with the tslab kernel) through headless Chromium
 * (playwright-core with Debian's /usr/bin/chromium): used by the end-to-end test and by bench/widgets.ts.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { Browser, Page, chromium } from 'playwright-core';

export const root = path.join(__dirname, '..', '..', '..');
export const artifacts = path.join(root, 'test', 'artifacts');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function ping(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    }).on('error', () => resolve(false));
  });
}

/**
 * Stops a Jupyter server started by a test, and everything it started: its kernels are shut down through the REST
 * API, then its process group (spawned detached, so the kernels are in it) gets SIGTERM, and SIGKILL if it has not
 * exited within 5 s; its pipes are closed. A kernel left behind keeps the server's stdout pipe open, and with it the
 * test process: one CI run sat 84 minutes after its summary line when a failing test skipped the kernel shutdown.
 */
export async function stopServer(proc: ChildProcess, base?: string, token?: string): Promise<void> {
  if (base && token && proc.exitCode === null) {
    const signal = AbortSignal.timeout(5000);
    try {
      const kernels = (await (await fetch(`${base}/api/kernels?token=${token}`, { signal })).json()) as { id: string }[];
      await Promise.all(kernels.map((k) => fetch(`${base}/api/kernels/${k.id}?token=${token}`, { method: 'DELETE', signal })));
    } catch {
      /* the server may be gone already; the signals below still apply */
    }
  }
  const group = (sig: NodeJS.Signals): void => {
    try {
      if (proc.pid !== undefined) process.kill(-proc.pid, sig);
    } catch {
      proc.kill(sig);
    }
  };
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<boolean>((resolve) => {
      proc.once('exit', () => resolve(true));
      setTimeout(() => resolve(false), 5000).unref();
    });
    group('SIGTERM');
    if (!(await exited)) group('SIGKILL');
  }
  // Whatever is left of the group (a kernel that outlived the server) goes too.
  try {
    if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL');
  } catch {
    /* no such group: all gone */
  }
  proc.stdout?.destroy();
  proc.stderr?.destroy();
}

export interface Session {
  page: Page;
  browser: Browser;
  server: ChildProcess;
  url: string;
  log: string[];
  close(): Promise<void>;
}

/**
 * Copies the notebooks into test/artifacts/notebooks (inside the checkout, so `import 'ganvas'` resolves, and
 * ignored by git, so autosaved outputs never touch the real notebooks), starts Jupyter on 127.0.0.1 and opens a
 * browser on it.
 */
export async function startJupyter(): Promise<Session> {
  const nbDir = path.join(artifacts, 'notebooks');
  await fs.mkdir(nbDir, { recursive: true });
  for (const f of await fs.readdir(path.join(root, 'notebooks'))) {
    if (f.endsWith('.ipynb')) await fs.copyFile(path.join(root, 'notebooks', f), path.join(nbDir, f));
  }
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const args = ['-m', 'notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--NotebookApp.token=${token}`, `--notebook-dir=${nbDir}`, '--NotebookApp.open_browser=False'];
  if (process.getuid?.() === 0) args.push('--allow-root');
  const log: string[] = [];
  // This checkout's own tslab kernelspec (scripts/kernelspec.js), first on JUPYTER_PATH, as npm start uses it.
  const jupyterPath = execFileSync('node', [path.join(root, 'scripts', 'kernelspec.js')], { encoding: 'utf8' }).trim();
  const env = { ...process.env, JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) };
  const server = spawn('/usr/bin/python3', args, { cwd: nbDir, stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
  server.stdout?.on('data', (d) => log.push(String(d)));
  server.stderr?.on('data', (d) => log.push(String(d)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await ping(`${base}/api?token=${token}`))) {
    if (Date.now() > deadline || server.exitCode !== null) {
      await stopServer(server);
      throw new Error(`Jupyter did not start:\n${log.join('').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  return {
    page, browser, server, log, url: `${base}/notebooks/NAME?token=${token}`,
    async close() {
      await browser.close().catch(() => undefined);
      await stopServer(server, base, token);
    },
  };
}

/** Opens a notebook, waits for its kernel, runs all cells, and waits until every code cell has finished. */
export async function runNotebook(s: Session, name: string, timeoutMs = 600_000): Promise<void> {
  const { page } = s;
  await page.goto(s.url.replace('NAME', name));
  await page.waitForFunction(() => {
    const J = (window as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter;
    return !!J?.notebook?.kernel?.is_connected();
  }, undefined, { timeout: 120_000 });
  await page.evaluate(() => (window as unknown as { Jupyter: { notebook: { execute_all_cells(): void } } }).Jupyter.notebook.execute_all_cells());
  await page.waitForFunction(() => {
    type Cell = { cell_type: string; input_prompt_number?: number | string | null };
    const nb = (window as unknown as { Jupyter: { notebook: { get_cells(): Cell[] } } }).Jupyter.notebook;
    return nb.get_cells().filter((c) => c.cell_type === 'code').every((c) => typeof c.input_prompt_number === 'number');
  }, undefined, { timeout: timeoutMs, polling: 500 });
  const errors = await page.evaluate(() => Array.from(document.querySelectorAll('.output_error, .output_stderr')).map((e) => (e.textContent ?? '').slice(0, 400)));
  if (errors.length) throw new Error(`${name}: cell errors:\n${errors.join('\n')}`);
}

/** Runs code in the notebook's kernel (as a cell would) and returns what it printed and its value's text. */
export async function kernelEval(s: Session, code: string): Promise<string> {
  return s.page.evaluate(
    (src) =>
      new Promise<string>((resolve, reject) => {
        type Msg = { msg_type: string; content: { text?: string; data?: Record<string, string>; ename?: string; evalue?: string } };
        const k = (window as unknown as { Jupyter: { notebook: { kernel: { execute(c: string, cb: object, o: object): void } } } }).Jupyter.notebook.kernel;
        let text = '';
        k.execute(src, {
          iopub: {
            output: (m: Msg) => {
              if (m.msg_type === 'stream') text += m.content.text ?? '';
              else if (m.msg_type === 'execute_result' || m.msg_type === 'display_data') text += m.content.data?.['text/plain'] ?? '';
              else if (m.msg_type === 'error') reject(new Error(`${m.content.ename}: ${m.content.evalue}`));
            },
          },
          shell: { reply: () => setTimeout(() => resolve(text), 50) },
        }, { silent: false, store_history: false });
      }),
    code,
  );
}

export interface StrokeResult {
  latencies: number[];
  changed: boolean;
}

/**
 * Paints `count` strokes on the paint canvas with real mouse events, cycling through the brushes, and collects the
 * widget's own measurements (mouse up → new image shown).
 */
export async function paintStrokes(s: Session, count: number): Promise<StrokeResult> {
  const { page } = s;
  const widget = page.locator('.ganvas-widget[data-ganvas-kind="paint"][data-ganvas-live="true"]').first();
  await widget.waitFor({ timeout: 60_000 });
  await widget.scrollIntoViewIfNeeded();
  const canvas = widget.locator('canvas.ganvas-canvas');
  const image = widget.locator('img.ganvas-image');
  const before = await image.getAttribute('src');
  const brushes = widget.locator('button.ganvas-brush');
  const nBrushes = (await brushes.count()) - 1; // the last one is the eraser
  const box = await canvas.boundingBox();
  if (!box) throw new Error('the paint canvas is not visible');
  for (let i = 0; i < count; i++) {
    await brushes.nth(i % nBrushes).click();
    const done = await page.evaluate(() => (window.__ganvasStats?.paint.length ?? 0));
    const y = box.y + box.height * (0.15 + 0.7 * ((i * 37) % 100) / 100);
    const x0 = box.x + box.width * 0.1;
    await page.mouse.move(x0, y);
    await page.mouse.down();
    for (let k = 1; k <= 8; k++) await page.mouse.move(x0 + (box.width * 0.8 * k) / 8, y + Math.sin(k) * 6);
    await page.mouse.up();
    await page.waitForFunction((n) => (window.__ganvasStats?.paint.length ?? 0) > n, done, { timeout: 30_000 });
  }
  const after = await image.getAttribute('src');
  const latencies = await page.evaluate(() => window.__ganvasStats?.paint ?? []);
  return { latencies, changed: after !== before };
}

declare global {
  interface Window {
    __ganvasStats?: { paint: number[] };
  }
}

/**
 * Registers mocha hooks that start Jupyter + Chromium before the suite's tests and close them after; returns a
 * getter for the session (the suites that drive notebooks in a browser share this setup).
 */
export function useJupyter(): () => Session {
  let s: Session | undefined;
  before(async () => {
    await fs.mkdir(artifacts, { recursive: true });
    s = await startJupyter();
  });
  after(async () => {
    await s?.close();
  });
  return () => {
    if (!s) throw new Error('Jupyter is not started (useJupyter() must be called inside a describe)');
    return s;
  };
}

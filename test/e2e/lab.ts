/**
 * JupyterLab 4 / Notebook 7 (from a Python environment with jupyterlab 4, notebook 7, ipywidgets 8:
 * GANVAS_JUPYTER_VENV, default .jupyter-venv in the checkout, made by scripts/jupyter-venv.sh in `npm test`'s pretest) with the tslab kernel of this checkout, the ganvas-widgets extension
 * installed by its install command, and a small paint notebook; opened in headless Chromium. Used by
 * test/e2e/lab-comm.test.ts and bench/widgets.ts. Make the environment offline with
 *   python3 -m venv V && V/bin/pip install --index-url file:///opt/pypi/simple 'jupyterlab==4.6.*' 'notebook==7.6.*' 'ipywidgets==8.*'
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, promises as fs } from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { Browser, Page, Route, chromium } from 'playwright-core';
import { artifacts, freePort, ping, root, stopServer } from './jupyter';

export const venv = process.env.GANVAS_JUPYTER_VENV ?? path.join(root, '.jupyter-venv');
export const haveVenv = (): boolean => existsSync(path.join(venv, 'bin', 'jupyter'));

/** The paint notebook's first cell: demo models, a cut, a two-vector library (also run by test/comm/paint-comm). */
export const PAINT_SETUP = `import * as g from 'ganvas';
const rt = new g.Runtime();
const gen = await g.Generator.open(g.demoModelDir('fmnist-stylegan'), rt);
const cut = await gen.cut('b8.conv1');
const fx = await g.FeatureExtractor.open(g.demoModelDir('fmnist-resnet'), 'layer1', rt);
const ranked = g.rank(await g.scan(cut, fx, { count: 8, seed: 4 }));
const picks = await g.vectorsFromProvenance(cut, [ranked[0].provenance, ranked[7].provenance]);
const lib = g.VectorLibrary.for(cut);
lib.add('A', '#ff0000', picks[0].vector, picks[0].provenance);
lib.add('B', '#0000ff', picks[1].vector, picks[1].provenance);`;

function code(src: string): object {
  return { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: src };
}

function notebook(transport: string): object {
  return {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' }, language_info: { name: 'typescript' } },
  cells: [
    code(PAINT_SETUP),
    code(`const canvas = (await g.PaintWidget.create(cut, lib, { seed: 3, transport: '${transport}' })).show();`),
    code(`console.log('READBACK ' + JSON.stringify({ p: canvas.paintedPixels(), n: canvas.paints, t: canvas.transport }))`),
    code(`await g.showGallery(cut, [await g.gallery(cut, ranked.slice(0, 2)), await g.gallery(cut, ranked.slice(-1))], { titles: ['top', 'bottom'], transport: '${transport}' });`),
    code(`await g.showSweepPlot([{ grid: 1, mean: 0.5, std: 0.1 }, { grid: 2, mean: 0.7, std: 0.05 }, { grid: 3, mean: 0.6, std: 0.02 }], { title: 'sweep', transport: '${transport}' });`),
  ],
  };
}

/** Server config (Python) that turns Nagle's algorithm off on the server's WebSocket streams (tornado detaches the HTTP stream for them). */
const SERVER_NODELAY = `import tornado.http1connection as _h
_detach = _h.HTTP1Connection.detach
def _detach_nodelay(self):
    stream = _detach(self)
    stream.set_nodelay(True)
    return stream
_h.HTTP1Connection.detach = _detach_nodelay
`;

export interface Lab {
  proc: ChildProcess;
  base: string;
  token: string;
  log: string[];
}

/**
 * Starts the Jupyter server of `ui` on 127.0.0.1 for the notebooks in `dir`, with `work`'s share/jupyter first on
 * the data path: "lab" and "notebook7" run the virtual environment's JupyterLab 4 / Notebook 7; "notebook6" runs
 * Debian's classic Notebook 6.4 with the environment's widgetsnbextension 4 (ipywidgets 8's classic front end,
 * shadowing Debian's ipywidgets 6 one of the same name) and the extensions `ganvas-widgets install --prefix work`
 * enabled under work/etc/jupyter.
 */
export async function startLab(dir: string, work: string, ui = 'lab'): Promise<Lab> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const log: string[] = [];
  const classic = ui === 'notebook6';
  const args = classic
    ? ['-m', 'notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--NotebookApp.token=${token}`, `--notebook-dir=${dir}`]
    : ['lab', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${dir}`];
  if (process.getuid?.() === 0) args.push('--allow-root');
  const env = {
    ...process.env,
    JUPYTER_PATH: [path.join(work, 'share', 'jupyter'), ...(classic ? [path.join(venv, 'share', 'jupyter')] : [])].join(path.delimiter),
    JUPYTER_CONFIG_PATH: [path.join(work, 'etc', 'jupyter'), path.join(venv, 'etc', 'jupyter')].join(path.delimiter),
    JUPYTERLAB_SETTINGS_DIR: path.join(work, 'user-settings'),
    JUPYTERLAB_WORKSPACES_DIR: path.join(work, 'workspaces'),
    JUPYTER_CONFIG_DIR: path.join(work, 'config'),
  };
  const proc = spawn(classic ? '/usr/bin/python3' : path.join(venv, 'bin', 'jupyter'), args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  proc.stdout?.on('data', (d) => log.push(String(d)));
  proc.stderr?.on('data', (d) => log.push(String(d)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (!(await ping(`${base}/api?token=${token}`))) {
    if (Date.now() > deadline || proc.exitCode !== null) {
      await stopServer(proc);
      throw new Error(`Jupyter (${ui}) did not start:\n${log.join('').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { proc, base, token, log };
}

export async function runAll(page: Page, ui = 'lab'): Promise<void> {
  if (ui === 'notebook6') {
    await page.evaluate(() => (window as unknown as { Jupyter: { notebook: { execute_all_cells(): void } } }).Jupyter.notebook.execute_all_cells());
    return;
  }
  await page.locator('.jp-Notebook').first().click();
  await page.getByRole('menuitem', { name: 'Run' }).first().click();
  await page.getByText('Run All Cells', { exact: true }).first().click();
}


export interface PaintPage {
  ui: string;
  page: Page;
  browser: Browser;
  lab: Lab;
  work: string;
  nbDir: string;
  errors: string[];
  widget: ReturnType<Page['locator']>;
  close(): Promise<void>;
}

/**
 * Opens the paint notebook in `ui` ("lab", "notebook7" or "notebook6") and runs it; with `onlyJupyterPort`, every other local
 * port is unreachable from the page (a remote server: the WebSocket bridge cannot be used).
 */
export async function openPaintNotebook(ui: string, transport: 'comm' | 'websocket', onlyJupyterPort: boolean, opts: { serverNodelay?: boolean } = {}): Promise<PaintPage> {
  let browser: Browser | undefined;
    const work = path.join(artifacts, `${transport}-${ui}`);
    await fs.rm(work, { recursive: true, force: true });
    const nbDir = path.join(work, 'notebooks');
    const jp = path.join(work, 'share', 'jupyter');
    await fs.mkdir(path.join(jp, 'kernels', 'tslab'), { recursive: true });
    await fs.mkdir(path.join(work, 'config'), { recursive: true });
    await fs.mkdir(nbDir, { recursive: true });
    await fs.writeFile(path.join(jp, 'kernels', 'tslab', 'kernel.json'), JSON.stringify({ argv: [path.join(root, 'node_modules', '.bin', 'tslab'), 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript', language: 'typescript' }));
    // The one install command users run (here into the test's own Jupyter path).
    execFileSync(process.execPath, [path.join(root, 'scripts', 'ganvas-widgets.js'), 'install', '--prefix', work]);
    // Widget state saved with the notebook (ipywidgets' setting; README says how to set it).
    await fs.mkdir(path.join(work, 'user-settings', '@jupyter-widgets', 'jupyterlab-manager'), { recursive: true });
    await fs.writeFile(path.join(work, 'user-settings', '@jupyter-widgets', 'jupyterlab-manager', 'plugin.jupyterlab-settings'), JSON.stringify({ saveState: true }));
    await fs.writeFile(path.join(nbDir, 'paint.ipynb'), JSON.stringify(notebook(transport)));
    // Diagnostics only (bench/widgets.ts, GANVAS_BENCH_SERVER_NODELAY=1): a Jupyter server whose WebSocket streams
    // set TCP_NODELAY (jupyter_server 2.x leaves Nagle's algorithm on; see the comment in src/comm/kernel.ts).
    if (opts.serverNodelay) await fs.writeFile(path.join(work, 'config', 'jupyter_server_config.py'), SERVER_NODELAY);
    const lab = await startLab(nbDir, work, ui);
  // Whatever fails from here on stops the server (and its kernel) and the browser before it is reported: a server
  // left running keeps the test process alive after its last test.
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const jupyterPort = new URL(lab.base).port;
    if (onlyJupyterPort) {
    // Only the Jupyter server is reachable from the page (a remote server): any other local port is refused.
    await page.route(/^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//, (route) => (new URL(route.request().url()).port === jupyterPort ? route.continue() : route.abort()));
    await page.addInitScript((port) => {
      const Native = window.WebSocket;
      window.WebSocket = function (url: string | URL, protocols?: string | string[]) {
        if (new URL(String(url)).port !== port) throw new Error('unreachable (test: only the Jupyter port is reachable)');
        return new Native(url, protocols);
      } as unknown as typeof WebSocket;
      Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    }, jupyterPort);
    }
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(ui === 'lab' ? `${lab.base}/lab/tree/paint.ipynb?token=${lab.token}` : `${lab.base}/notebooks/paint.ipynb?token=${lab.token}`);
    if (ui === 'notebook6') {
      await page.waitForFunction(() => (window as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter?.notebook?.kernel?.is_connected() === true, undefined, { timeout: 120_000 });
    } else {
      await page.locator('.jp-Notebook').first().waitFor({ timeout: 120_000 });
      await page.waitForFunction(() => document.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]') !== null || document.title.length > 0, undefined, { timeout: 120_000 });
      await new Promise((r) => setTimeout(r, 3000));
    }
    await runAll(page, ui);
    const widget = page.locator('.ganvas-widget[data-ganvas-kind="paint"]');
    try {
      await widget.first().waitFor({ timeout: 300_000 });
      await page.locator('.ganvas-widget[data-ganvas-live="true"]').first().waitFor({ timeout: 60_000 });
      // The last cell (the plot) has run and its view has loaded plotly (or given up): the kernel and the page's
      // connection are idle before any stroke is timed.
      await page.locator('.ganvas-widget[data-ganvas-kind="plot"][data-ganvas-live]').first().waitFor({ timeout: 300_000 });
    } catch (e) {
      await page.screenshot({ path: path.join(work, 'fail.png'), fullPage: true });
      throw new Error(`${(e as Error).message}\nconsole errors: ${errors.join('\n')}\nserver log: ${lab.log.join('').slice(-3000)}`);
    }
    const b = browser;
    return {
      ui, page, browser: b, lab, work, nbDir, errors, widget,
      async close() {
        await b.close().catch(() => undefined);
        await stopServer(lab.proc, lab.base, lab.token);
      },
    };
  } catch (e) {
    await browser?.close().catch(() => undefined);
    await stopServer(lab.proc, lab.base, lab.token);
    throw e;
  }
}

/** What an exported notebook's widgets show, read in the browser. */
export interface ExportedWidgets {
  /** The URLs of the widget modules the page asked the CDN for. */
  moduleUrls: string[];
  /** The paint canvas's mask as a PNG data URL (empty without a paint view). */
  mask: string;
  paintNote: string;
  galleryCards: number;
  plotSnapshot: boolean;
}

/**
 * `jupyter nbconvert --to html` of a saved notebook, opened in `browser` as a user with internet access sees it:
 * the page loads require.js (cdnjs), @jupyter-widgets/html-manager (unpkg) and then each widget module from jsDelivr
 * (https://cdn.jsdelivr.net/npm/<package>@<version>/dist/<file>). Offline here, so those three are answered from
 * this checkout — require.js and html-manager from node_modules, ganvas's module from dist/ (the file the published
 * npm package holds) — and every other external request fails.
 */
export async function openExportedHtml(browser: Browser, notebook: string, outDir: string): Promise<ExportedWidgets & { page: Page }> {
  execFileSync(path.join(venv, 'bin', 'jupyter'), ['nbconvert', '--to', 'html', notebook, '--output-dir', outDir], { stdio: 'pipe' });
  const html = path.join(outDir, `${path.basename(notebook, '.ipynb')}.html`);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const moduleUrls: string[] = [];
  const serve = (file: string) => async (route: Route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: await fs.readFile(file) });
  await page.route(/^https?:\/\//, async (route) => {
    const url = route.request().url();
    if (/^https:\/\/cdnjs\.cloudflare\.com\/ajax\/libs\/require\.js\/[^/]+\/require(\.min)?\.js$/.test(url)) return serve(path.join(root, 'node_modules', 'requirejs', 'require.js'))(route);
    if (/^https:\/\/unpkg\.com\/@jupyter-widgets\/html-manager@[^/]+\/dist\/embed-amd\.js$/.test(url)) return serve(path.join(root, 'node_modules', '@jupyter-widgets', 'html-manager', 'dist', 'embed-amd.js'))(route);
    const m = /^https:\/\/cdn\.jsdelivr\.net\/npm\/ganvas@([^/]+)\/dist\/(.+)$/.exec(url);
    if (m) {
      moduleUrls.push(url);
      return serve(path.join(root, 'dist', m[2].endsWith('.js') ? m[2] : `${m[2]}.js`))(route);
    }
    return route.abort();
  });
  await page.goto(`file://${html}`);
  const paint = page.locator('.ganvas-widget[data-ganvas-kind="paint"][data-ganvas-model]').first();
  await paint.locator('.ganvas-dead').waitFor({ timeout: 60_000 });
  const mask = await paint.locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
  const paintNote = (await paint.locator('.ganvas-dead').textContent()) ?? '';
  const gallery = page.locator('.ganvas-widget[data-ganvas-kind="gallery"][data-ganvas-model]').first();
  await gallery.waitFor({ timeout: 30_000 });
  const galleryCards = await gallery.locator('.ganvas-card').count();
  const plot = page.locator('.ganvas-widget[data-ganvas-kind="plot"][data-ganvas-model]').first();
  await plot.waitFor({ timeout: 30_000 });
  const plotSnapshot = await page.waitForFunction((el) => { const img = (el as HTMLElement).querySelector('img.ganvas-snapshot') as HTMLImageElement | null; return !!img && img.complete && img.naturalWidth > 0; }, await plot.elementHandle(), { timeout: 30_000 }).then(() => true, () => false);
  return { page, moduleUrls, mask, paintNote, galleryCards, plotSnapshot };
}

/**
 * The paint notebook's gallery (cell 4) and sweep plot (cell 5) over comms, each in its own cell's output (`cell`:
 * the front end's code-cell selector): a click on a card asks the kernel for its grid-size row, shown as an image;
 * the plot is live with plotly.js sent by the kernel as a comm buffer.
 */
export async function expectGalleryAndPlotLive(page: Page, cell: string): Promise<void> {
  const gallery = page.locator('.ganvas-widget[data-ganvas-kind="gallery"][data-ganvas-live="true"]').first();
  await gallery.waitFor({ timeout: 120_000 });
  expect(await gallery.getAttribute('data-ganvas-transport')).to.equal('Jupyter comms');
  expect(await gallery.locator('.ganvas-card').count()).to.equal(3);
  // Run All queues the cells; a wrong parent once put these two in the paint cell's output.
  expect(await page.locator(cell).nth(3).locator('.ganvas-widget[data-ganvas-kind="gallery"]').count(), 'the gallery in cell 4').to.equal(1);
  expect(await page.locator(cell).nth(4).locator('.ganvas-widget[data-ganvas-kind="plot"]').count(), 'the plot in cell 5').to.equal(1);
  expect(await page.locator(cell).nth(1).locator('.ganvas-widget').count(), 'only the paint widget in cell 2').to.equal(1);
  await gallery.locator('.ganvas-card').nth(2).click();
  const row = gallery.locator('img.ganvas-sweep-row');
  await row.waitFor({ timeout: 60_000 });
  await page.waitForFunction((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0, await row.elementHandle(), { timeout: 30_000 });
  const [rw, rh] = await row.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
  expect(rw / rh, 'six renders side by side (g = 1…5, full)').to.be.greaterThan(3);
  const plot = page.locator('.ganvas-widget[data-ganvas-kind="plot"]').first();
  expect(await plot.getAttribute('data-ganvas-live')).to.equal('true');
  expect(await plot.getAttribute('data-ganvas-transport')).to.equal('Jupyter comms');
  expect(await plot.locator('.ganvas-plot .main-svg').count()).to.be.greaterThan(0);
}

/**
 * The saved notebook exported with `jupyter nbconvert --to html` shows the painting (`mask`, the canvas as it was
 * saved), the gallery's cards and the plot's snapshot, rendered by @jupyter-widgets/html-manager from the saved
 * widget state, with ganvas's module asked of jsDelivr at the path the npm package has it.
 */
export async function expectExportShows(browser: Browser, notebook: string, work: string, mask: string): Promise<void> {
  const exported = await openExportedHtml(browser, notebook, path.join(work, 'exported'));
  try {
    expect(exported.moduleUrls.length, 'the widget module asked of the CDN').to.be.greaterThan(0);
    expect(exported.moduleUrls[0]).to.match(/^https:\/\/cdn\.jsdelivr\.net\/npm\/ganvas@[^/]+\/dist\/nbextension\/index(\.js)?$/);
    expect(exported.mask, 'the exported page shows the painted mask').to.equal(mask);
    expect(exported.paintNote).to.match(/Not connected to the kernel/);
    expect(exported.galleryCards).to.equal(3);
    expect(exported.plotSnapshot, 'the plot\'s SVG snapshot is shown').to.equal(true);
  } finally {
    await exported.page.screenshot({ path: path.join(work, 'exported.png'), fullPage: true });
    await exported.page.close();
  }
}

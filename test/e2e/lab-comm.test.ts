/**
 * End to end over Jupyter comms, in JupyterLab 4 (and Notebook 7) with headless Chromium: the paint canvas as a
 * real Jupyter widget (extension installed by `ganvas-widgets install`), with every port other than Jupyter's
 * unreachable from the page (as on a remote server: the WebSocket bridge cannot be used). Draw strokes, read the
 * mask back in the next cell, save, reload; stop the kernel and reload: the painting is restored and the widget
 * says plainly that no kernel is behind it.
 *
 * Needs a Python environment with jupyterlab 4, notebook 7 and ipywidgets 8: GANVAS_JUPYTER_VENV (default
 * /tmp/h18venv), made offline with
 *   python3 -m venv V && V/bin/pip install --index-url file:///opt/pypi/simple 'jupyterlab==4.6.*' 'notebook==7.6.*' 'ipywidgets==8.*'
 */
import { expect } from 'chai';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, promises as fs } from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { Browser, Page, chromium } from 'playwright-core';
import { artifacts, paintStrokes, root, Session } from './jupyter';
import { percentile } from '../../bench/util';

const venv = process.env.GANVAS_JUPYTER_VENV ?? '/tmp/h18venv';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function ping(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    }).on('error', () => resolve(false));
  });
}

function code(src: string): object {
  return { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: src };
}

const NOTEBOOK = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' }, language_info: { name: 'typescript' } },
  cells: [
    code(`import * as g from 'ganvas';
const rt = new g.Runtime();
const gen = await g.Generator.open(g.demoModelDir('fmnist-stylegan'), rt);
const cut = await gen.cut('b8.conv1');
const fx = await g.FeatureExtractor.open(g.demoModelDir('fmnist-resnet'), 'layer1', rt);
const ranked = g.rank(await g.scan(cut, fx, { count: 8, seed: 4 }));
const picks = await g.vectorsFromProvenance(cut, [ranked[0].provenance, ranked[7].provenance]);
const lib = g.VectorLibrary.for(cut);
lib.add('A', '#ff0000', picks[0].vector, picks[0].provenance);
lib.add('B', '#0000ff', picks[1].vector, picks[1].provenance);`),
    code(`const canvas = (await g.PaintWidget.create(cut, lib, { seed: 3, transport: 'comm' })).show();`),
    code(`console.log('READBACK ' + JSON.stringify({ p: canvas.paintedPixels(), n: canvas.paints, t: canvas.transport }))`),
  ],
};

interface Lab {
  proc: ChildProcess;
  base: string;
  token: string;
  log: string[];
}

async function startLab(dir: string, jupyterPath: string): Promise<Lab> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const log: string[] = [];
  const args = ['lab', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${dir}`];
  if (process.getuid?.() === 0) args.push('--allow-root');
  const proc = spawn(path.join(venv, 'bin', 'jupyter'), args, { cwd: dir, env: { ...process.env, JUPYTER_PATH: jupyterPath, JUPYTERLAB_SETTINGS_DIR: path.join(dir, '..', 'user-settings'), JUPYTERLAB_WORKSPACES_DIR: path.join(dir, '..', 'workspaces'), JUPYTER_CONFIG_DIR: path.join(dir, '..', 'config') }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d) => log.push(String(d)));
  proc.stderr?.on('data', (d) => log.push(String(d)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (!(await ping(`${base}/api?token=${token}`))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`JupyterLab did not start:\n${log.join('').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return { proc, base, token, log };
}

async function runAll(page: Page): Promise<void> {
  await page.locator('.jp-Notebook').first().click();
  await page.locator('.jp-NotebookPanel-toolbar, .jp-Toolbar').first().waitFor();
  await page.getByRole('menuitem', { name: 'Run' }).first().click();
  await page.getByText('Run All Cells', { exact: true }).first().click();
}

describe('end to end over Jupyter comms: JupyterLab 4 + Chromium, WebSocket bridge unreachable', function () {
  this.timeout(1_500_000);
  let lab: Lab | undefined;
  let browser: Browser | undefined;
  before(function () {
    if (!existsSync(path.join(venv, 'bin', 'jupyter'))) {
      console.log(`      (no Jupyter environment at ${venv}; see the file's header to make one)`);
      this.skip();
    }
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    lab?.proc.kill('SIGTERM');
  });

  it('paints, reads back, saves, reloads; without a kernel the painting is restored and the widget says so', async () => {
    const work = path.join(artifacts, 'lab-comm');
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
    await fs.writeFile(path.join(nbDir, 'paint.ipynb'), JSON.stringify(NOTEBOOK));
    lab = await startLab(nbDir, jp);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const jupyterPort = new URL(lab.base).port;
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
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${lab.base}/lab/tree/paint.ipynb?token=${lab.token}`);
    await page.locator('.jp-Notebook').first().waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => document.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]') !== null || document.title.length > 0, undefined, { timeout: 120_000 });
    await new Promise((r) => setTimeout(r, 3000));
    await runAll(page);
    const widget = page.locator('.ganvas-widget[data-ganvas-kind="paint"]');
    try {
      await widget.first().waitFor({ timeout: 300_000 });
      await page.locator('.ganvas-widget[data-ganvas-live="true"]').first().waitFor({ timeout: 60_000 });
    } catch (e) {
      await page.screenshot({ path: path.join(work, 'fail.png'), fullPage: true });
      throw new Error(`${(e as Error).message}\nconsole errors: ${errors.join('\n')}\nserver log: ${lab.log.join('').slice(-3000)}`);
    }
    expect(await widget.first().getAttribute('data-ganvas-transport')).to.equal('Jupyter comms');
    const { latencies, changed } = await paintStrokes({ page } as Session, 12).catch(async (e: Error) => {
      await page.screenshot({ path: path.join(work, 'fail.png'), fullPage: true });
      const status = `${await page.locator('.ganvas-status').first().textContent()}\ncomm log: ${await page.evaluate(() => ((window as unknown as { __ganvasCommLog?: string[] }).__ganvasCommLog ?? []).slice(-30).join(' | '))}`;
      throw new Error(`${e.message}\nwidget status: ${status}\nconsole errors: ${errors.join('\n')}\nserver log: ${lab!.log.join('').slice(-3000)}`);
    });
    expect(changed).to.equal(true);
    console.log(`      paint round trip over comms (JupyterLab 4), ${latencies.length} strokes: p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms`);
    await fs.writeFile(path.join(work, 'paint-latency-comm.json'), JSON.stringify(latencies));
    // Read back in the next cell.
    const third = page.locator('.jp-CodeCell').nth(2);
    await third.locator('.jp-InputArea-editor').click();
    await page.keyboard.press('Shift+Enter');
    const out = third.locator('.jp-OutputArea-output', { hasText: 'READBACK' });
    await out.waitFor({ timeout: 60_000 });
    const back = JSON.parse(((await out.textContent()) ?? '').replace(/^[^{]*/, '')) as { p: Record<string, number>; n: number; t: string };
    expect(back.t).to.equal('comm');
    expect(back.n).to.be.at.least(12);
    expect(Object.values(back.p).reduce((a, b) => a + b, 0)).to.be.greaterThan(100);
    const maskBefore = await widget.first().locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    // Save (with widget state), stop the kernel, reload.
    await page.keyboard.press('Control+s');
    await page.waitForFunction(() => !document.querySelector('.jp-mod-dirty'), undefined, { timeout: 30_000 }).catch(() => undefined);
    await page.waitForTimeout(1500);
    const saved = JSON.parse(await fs.readFile(path.join(nbDir, 'paint.ipynb'), 'utf8')) as { metadata: { widgets?: Record<string, { state: Record<string, { model_name: string; state: Record<string, unknown> }> }> } };
    const wstate = saved.metadata.widgets?.['application/vnd.jupyter.widget-state+json']?.state ?? {};
    const paintModel = Object.values(wstate).find((m) => m.model_name === 'PaintModel');
    expect(paintModel, 'PaintModel in the notebook\'s widget state').to.not.equal(undefined);
    expect(paintModel!.state.paints).to.be.at.least(12);
    await page.screenshot({ path: path.join(work, 'painted.png'), fullPage: true });
    const kernels = await (await fetch(`${lab.base}/api/kernels?token=${lab.token}`)).json() as { id: string }[];
    for (const k of kernels) await fetch(`${lab.base}/api/kernels/${k.id}?token=${lab.token}`, { method: 'DELETE' });
    await page.reload();
    const restored = page.locator('.ganvas-widget[data-ganvas-kind="paint"]').first();
    await restored.waitFor({ timeout: 120_000 });
    await page.locator('.ganvas-widget[data-ganvas-live="false"]').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000);
    await page.screenshot({ path: path.join(work, 'reloaded-no-kernel.png'), fullPage: true });
    const note = await restored.locator('.ganvas-dead').textContent();
    expect(note).to.match(/Not connected to the kernel/);
    const maskAfter = await restored.locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    expect(maskAfter, 'the painted mask is restored on the canvas').to.equal(maskBefore);
    expect(await restored.locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => getComputedStyle(c).pointerEvents)).to.equal('none');
  });
});

/**
 * End to end over Jupyter comms, in JupyterLab 4 and Notebook 7 with headless Chromium: the paint canvas as a
 * real Jupyter widget (extension installed by `ganvas-widgets install`), with every port other than Jupyter's
 * unreachable from the page (as on a remote server: the WebSocket bridge cannot be used). Draw strokes, read the
 * mask back in the next cell, save (with widget state), restart the kernel (the widget says so), stop it and
 * reload: the painting is restored and the widget says plainly that no kernel is behind it. The gallery in the same
 * notebook: a card's grid-size row over comms, its cards restored from the saved state; the sweep plot live with
 * plotly.js sent by the kernel, its SVG snapshot shown without a kernel.
 * Needs the Python environment described in test/e2e/lab.ts (skipped, saying so, without it).
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as path from 'path';
import { paintStrokes, Session } from './jupyter';
import { PaintPage, expectExportShows, expectGalleryAndPlotLive, haveVenv, openPaintNotebook, venv } from './lab';
import { percentile } from '../../bench/util';

for (const ui of (process.env.GANVAS_E2E_UIS ?? 'lab,notebook7').split(',')) describe(`end to end over Jupyter comms: ${ui === 'lab' ? 'JupyterLab 4' : 'Notebook 7'} + Chromium, WebSocket bridge unreachable`, function () {
  this.timeout(1_500_000);
  let p: PaintPage | undefined;
  before(function () {
    if (!haveVenv()) {
      console.log(`      (no Jupyter environment at ${venv}; see test/e2e/lab.ts to make one)`);
      this.skip();
    }
  });
  after(async () => {
    await p?.close();
  });

  it('paints, reads back, saves, survives a restart plainly; without a kernel the painting is restored, read-only, and says so', async () => {
    p = await openPaintNotebook(ui, 'comm', true);
    const { page, lab, work, nbDir, errors, widget } = p;
    expect(await widget.first().getAttribute('data-ganvas-transport')).to.equal('Jupyter comms');
    const { latencies, changed } = await paintStrokes({ page } as Session, 20).catch(async (e: Error) => {
      await page.screenshot({ path: path.join(work, 'fail.png'), fullPage: true });
      const status = `${await page.locator('.ganvas-status').first().textContent()}\ncomm log: ${await page.evaluate(() => ((window as unknown as { __ganvasCommLog?: string[] }).__ganvasCommLog ?? []).slice(-30).join(' | '))}`;
      throw new Error(`${e.message}\nwidget status: ${status}\nconsole errors: ${errors.join('\n')}\nserver log: ${lab!.log.join('').slice(-3000)}`);
    });
    expect(changed).to.equal(true);
    console.log(`      paint round trip over comms (${ui}), ${latencies.length} strokes: p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms`);
    await fs.writeFile(path.join(work, 'paint-latency-comm.json'), JSON.stringify(latencies));
    // Where the slowest stroke's time went (page and kernel timestamps; bench/widgets.ts prints the same).
    const steps = await page.evaluate(() => (window as unknown as { __ganvasStats?: { paintSteps?: Record<string, number>[] } }).__ganvasStats?.paintSteps ?? []);
    const total = (x: Record<string, number>): number => Object.values(x).reduce((a, b) => a + b, 0);
    const slowest = steps.reduce((a, b, i) => (total(b) > total(steps[a]) ? i : a), 0);
    if (steps.length > 0) console.log(`      slowest stroke (#${slowest + 1}), ms: ${Object.entries(steps[slowest]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
    // Read back in the next cell.
    const third = page.locator('.jp-CodeCell').nth(2);
    await third.locator('.jp-InputArea-editor').click();
    await page.keyboard.press('Shift+Enter');
    const out = third.locator('.jp-OutputArea-output', { hasText: 'READBACK' });
    await out.waitFor({ timeout: 60_000 });
    const back = JSON.parse(((await out.textContent()) ?? '').replace(/^[^{]*/, '')) as { p: Record<string, number>; n: number; t: string };
    expect(back.t).to.equal('comm');
    expect(back.n).to.be.at.least(20);
    expect(Object.values(back.p).reduce((a, b) => a + b, 0)).to.be.greaterThan(100);
    // The gallery and the plot over comms, each in its own cell.
    await expectGalleryAndPlotLive(page, '.jp-CodeCell');
    const maskBefore = await widget.first().locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    // Save (with widget state), stop the kernel, reload.
    // Save until the file on disk is this save (it holds the read-back cell's output): a Ctrl+S that the page did not
    // take left an earlier autosave (strokes not yet painted) on disk — seen in CI as a PaintModel without state.
    type Saved = { cells: unknown[]; metadata: { widgets?: Record<string, { state: Record<string, { model_name: string; state: Record<string, unknown> }> }> } };
    let saved: Saved | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      await page.locator('.jp-Notebook').first().click({ position: { x: 5, y: 5 } }).catch(() => undefined);
      await page.keyboard.press('Control+s');
      await page.waitForFunction(() => !document.querySelector('.jp-mod-dirty'), undefined, { timeout: 30_000 }).catch(() => undefined);
      await page.waitForTimeout(1500);
      saved = JSON.parse(await fs.readFile(path.join(nbDir, 'paint.ipynb'), 'utf8')) as Saved;
      if (JSON.stringify(saved.cells).includes('READBACK {')) break;
    }
    expect(JSON.stringify(saved!.cells), 'the saved notebook holds the read-back output').to.include('READBACK {');
    const wstate = saved!.metadata.widgets?.['application/vnd.jupyter.widget-state+json']?.state ?? {};
    const paintModel = Object.values(wstate).find((m) => m.model_name === 'PaintModel');
    expect(paintModel, 'PaintModel in the notebook\'s widget state').to.not.equal(undefined);
    // The first save after the read-back cell holds every stroke the kernel counted: the state that follows once the
    // strokes pause is sent before that cell runs (PaintWidget's beforeExecute hook; without it, this save
    // held none of the strokes).
    expect(paintModel!.state.paints, 'strokes in the saved widget state = strokes the kernel counted').to.equal(back.n);
    if (ui === 'lab') {
      await expectExportShows(p.browser, path.join(nbDir, 'paint.ipynb'), work, maskBefore);
    }
    await widget.first().screenshot({ path: path.join(work, 'painted.png') });
    // Kernel restart from the Kernel menu, as a user does: the live canvas says so and stops taking strokes.
    await page.getByRole('menuitem', { name: 'Kernel' }).first().click();
    await page.getByText(/^Restart Kernel…$/).first().click();
    const accept = page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept');
    if (await accept.first().waitFor({ timeout: 15_000 }).then(() => true, () => false)) await accept.first().click();
    await widget.first().locator('.ganvas-dead').waitFor({ timeout: 60_000 }).catch(async (e: Error) => {
      await page.screenshot({ path: path.join(work, 'fail-restart.png'), fullPage: true });
      throw e;
    });
    expect(await widget.first().locator('.ganvas-dead').textContent()).to.match(/Not connected to the kernel: the kernel restarted/);
    await widget.first().screenshot({ path: path.join(work, 'after-restart.png') });
    const kernels = await (await fetch(`${lab.base}/api/kernels?token=${lab.token}`)).json() as { id: string }[];
    for (const k of kernels) await fetch(`${lab.base}/api/kernels/${k.id}?token=${lab.token}`, { method: 'DELETE' });
    await page.reload();
    const restored = page.locator('.ganvas-widget[data-ganvas-kind="paint"]').first();
    await restored.waitFor({ timeout: 120_000 });
    await page.locator('.ganvas-widget[data-ganvas-live="false"]').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000);
    await restored.screenshot({ path: path.join(work, 'reloaded-no-kernel.png') });
    const note = await restored.locator('.ganvas-dead').textContent();
    expect(note).to.match(/Not connected to the kernel/);
    const maskAfter = await restored.locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    expect(maskAfter, 'the painted mask is restored on the canvas').to.equal(maskBefore);
    expect(await restored.locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => getComputedStyle(c).pointerEvents)).to.equal('none');
    // The gallery's cards come back from the saved widget state; without a kernel it says a row needs one.
    const galleryBack = page.locator('.ganvas-widget[data-ganvas-kind="gallery"][data-ganvas-live="false"]').first();
    await galleryBack.waitFor({ timeout: 60_000 });
    expect(await galleryBack.locator('.ganvas-card').count()).to.equal(3);
    await galleryBack.locator('.ganvas-card').first().click();
    expect(await galleryBack.locator('.ganvas-sweep').textContent()).to.match(/needs the live kernel/);
    // The plot without a kernel: its SVG snapshot (from the saved state) is shown.
    const plotBack = page.locator('.ganvas-widget[data-ganvas-kind="plot"][data-ganvas-live="false"]').first();
    await plotBack.waitFor({ timeout: 60_000 });
    await page.waitForFunction((el) => { const img = (el as HTMLElement).querySelector('img.ganvas-snapshot') as HTMLImageElement | null; return !!img && img.complete && img.naturalWidth > 0; }, await plotBack.elementHandle(), { timeout: 30_000 });
  });
});

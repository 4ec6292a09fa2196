/**
 * The paint canvas, gallery and sweep plot over Jupyter comms in classic Notebook 6 (Debian's 6.4) with ipywidgets
 * 8's classic front end (widgetsnbextension 4 from the test's Python environment) and the nbextension
 * `ganvas-widgets install` ships, in headless Chromium, with every port but Jupyter's unreachable from the page (a
 * remote server). The notebook is run as soon as the kernel connects, which is what broke it before: ipywidgets'
 * classic manager re-renders widget outputs once it has asked the kernel for its widgets (4 s later, tslab answers
 * nothing before ganvas is imported), and that re-render replaced the live views by their HTML fallback
 * (widgets/src/nbloader.ts keeps them now). Draw strokes, read the mask back in the next cell, open a gallery card's
 * grid-size row, see the plot live, save the widget state with the notebook (classic Notebook saves it from its
 * Widgets menu), restart the kernel (the widget says so), then stop the kernel and reload: the painting, the
 * gallery's cards and the plot's snapshot come back from the saved state, read-only, and say so.
 * Needs the Python environment of test/e2e/lab.ts (skipped, saying so, without it).
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as path from 'path';
import { paintStrokes, Session } from './jupyter';
import { PaintPage, expectExportShows, expectGalleryAndPlotLive, haveVenv, openPaintNotebook, venv } from './lab';

type Classic = { Jupyter: { notebook: { get_cell(i: number): { execute(): void }; save_notebook(): Promise<unknown>; kernel: { restart(): void } } } };

describe('end to end over Jupyter comms: Notebook 6 + ipywidgets 8 + Chromium, WebSocket bridge unreachable', function () {
  this.timeout(900_000);
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

  it('paints, reads back, shows the gallery and plot live, saves the widget state, shows a restart plainly; reloaded without a kernel, all come back read-only', async () => {
    p = await openPaintNotebook('notebook6', 'comm', true);
    const { page, work, nbDir, errors, widget, lab } = p;
    const fail = async (e: Error, name: string): Promise<never> => {
      await page.screenshot({ path: path.join(work, `${name}.png`), fullPage: true });
      throw new Error(`${e.message}\nconsole errors: ${errors.join('\n').slice(-3000)}\nserver log: ${lab.log.join('').slice(-3000)}`);
    };
    expect(await widget.first().getAttribute('data-ganvas-transport')).to.equal('Jupyter comms');
    const { changed } = await paintStrokes({ page } as Session, 20).catch((e: Error) => fail(e, 'fail'));
    expect(changed).to.equal(true);
    expect(errors.filter((e) => /model not found/.test(e)), 'no widget output fell back to its HTML').to.deep.equal([]);
    await page.evaluate(() => (window as unknown as Classic).Jupyter.notebook.get_cell(2).execute());
    const out = page.locator('.output_area', { hasText: 'READBACK' }).first();
    await out.waitFor({ timeout: 60_000 });
    const back = JSON.parse(((await out.textContent()) ?? '').replace(/^[^{]*/, '')) as { p: Record<string, number>; n: number; t: string };
    expect(back.t).to.equal('comm');
    expect(back.n).to.be.at.least(20);
    expect(Object.values(back.p).reduce((a, b) => a + b, 0)).to.be.greaterThan(100);
    // The gallery and the plot over comms, each in its own cell.
    await expectGalleryAndPlotLive(page, '.cell.code_cell').catch((e: Error) => fail(e, 'fail-gallery'));
    const maskBefore = await widget.first().locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    // Widgets → Save Notebook Widget State (which saves the notebook too); wait for the file to hold it.
    await page.locator('#widget-submenu, a:has-text("Widgets")').first().click();
    await page.getByText('Save Notebook Widget State', { exact: true }).first().click();
    type Saved = { metadata: { widgets?: Record<string, { state: Record<string, { model_name: string; state: Record<string, unknown> }> }> } };
    let models: { model_name: string; state: Record<string, unknown> }[] = [];
    for (let i = 0; i < 60 && !models.some((m) => m.model_name === 'PaintModel'); i++) {
      await page.waitForTimeout(250);
      const saved = JSON.parse(await fs.readFile(path.join(nbDir, 'paint.ipynb'), 'utf8')) as Saved;
      models = Object.values(saved.metadata.widgets?.['application/vnd.jupyter.widget-state+json']?.state ?? {});
    }
    const paintModel = models.find((m) => m.model_name === 'PaintModel');
    expect(paintModel, 'PaintModel in the notebook\'s widget state').to.not.equal(undefined);
    expect(paintModel!.state.paints, 'strokes in the saved widget state = strokes the kernel counted').to.equal(back.n);
    expect(models.map((m) => m.model_name)).to.include.members(['GalleryModel', 'PlotModel']);
    await expectExportShows(p.browser, path.join(nbDir, 'paint.ipynb'), work, maskBefore);
    await page.evaluate(() => (window as unknown as Classic).Jupyter.notebook.kernel.restart());
    await widget.first().locator('.ganvas-dead').waitFor({ timeout: 60_000 }).catch((e: Error) => fail(e, 'fail-restart'));
    expect(await widget.first().locator('.ganvas-dead').textContent()).to.match(/Not connected to the kernel: the kernel restarted/);
    expect(await widget.first().locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => getComputedStyle(c).pointerEvents)).to.equal('none');
    await widget.first().screenshot({ path: path.join(work, 'after-restart.png') });
    // Stop the kernel and reload: classic Notebook starts a fresh kernel (which has no ganvas widgets); the saved
    // widget state is restored by the widget manager, and the views say that no kernel is behind them.
    const kernels = await (await fetch(`${lab.base}/api/kernels?token=${lab.token}`)).json() as { id: string }[];
    for (const k of kernels) await fetch(`${lab.base}/api/kernels/${k.id}?token=${lab.token}`, { method: 'DELETE' });
    await page.reload();
    const restored = page.locator('.ganvas-widget[data-ganvas-kind="paint"][data-ganvas-model]').first();
    await restored.locator('.ganvas-dead').waitFor({ timeout: 120_000 }).catch((e: Error) => fail(e, 'fail-reload'));
    expect(await restored.locator('.ganvas-dead').textContent()).to.match(/Not connected to the kernel/);
    const maskAfter = await restored.locator('canvas.ganvas-canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    expect(maskAfter, 'the painted mask is restored on the canvas').to.equal(maskBefore);
    await restored.screenshot({ path: path.join(work, 'reloaded.png') });
    const galleryBack = page.locator('.ganvas-widget[data-ganvas-kind="gallery"][data-ganvas-model][data-ganvas-live="false"]').first();
    await galleryBack.waitFor({ timeout: 60_000 });
    expect(await galleryBack.locator('.ganvas-card').count()).to.equal(3);
    await galleryBack.locator('.ganvas-card').first().click();
    expect(await galleryBack.locator('.ganvas-sweep').textContent()).to.match(/needs the live kernel/);
    const plotBack = page.locator('.ganvas-widget[data-ganvas-kind="plot"][data-ganvas-model][data-ganvas-live="false"]').first();
    await plotBack.waitFor({ timeout: 60_000 });
    await page.waitForFunction((el) => { const img = (el as HTMLElement).querySelector('img.ganvas-snapshot') as HTMLImageElement | null; return !!img && img.complete && img.naturalWidth > 0; }, await plotBack.elementHandle(), { timeout: 30_000 });
  });
});

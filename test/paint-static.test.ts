/**
 * Issue 16, item 8: the paint widget with no kernel behind it (an exported report, a reload without the kernel)
 * must look static and take no strokes. Headless Chromium (Debian's) on the widget's own HTML, its server closed.
 */
import { expect } from 'chai';
import { Browser, chromium } from 'playwright-core';
import { Generator, PaintWidget, Runtime, VectorLibrary, WidgetHost, sampleVectors } from 'ganvas';
import { tinyGenerator } from './models';

describe('paint widget without a kernel (static snapshot)', function () {
  this.timeout(120_000);
  const rt = new Runtime({ threads: 1 });
  let browser: Browser;
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  });
  after(async () => {
    await browser?.close();
    await rt.release();
  });

  it('is greyed out, says "Static snapshot — run the notebook to paint", disables its controls and ignores strokes', async () => {
    const gen = await Generator.open(await tinyGenerator(), rt);
    const cut = await gen.cut('b8.conv1');
    const { vectors } = await sampleVectors(cut, { count: 1, seed: 0 });
    const lib = VectorLibrary.for(cut);
    lib.add('a', '#ff0000', vectors[0].vector, vectors[0].provenance);
    const host = new WidgetHost();
    const widget = await PaintWidget.create(cut, lib, { host });
    const html = widget.html();
    expect(html).to.include('Static snapshot — run the notebook to paint');
    await host.close(); // the kernel side is gone
    const page = await browser.newPage();
    await page.setContent(`<html><body>${html}</body></html>`);
    const root = page.locator('.ganvas-widget[data-ganvas-kind="paint"]');
    await page.waitForSelector('.ganvas-widget[data-ganvas-live="false"]', { timeout: 20_000 });
    expect(await root.locator('.ganvas-status').textContent()).to.include('Static snapshot — run the notebook to paint');
    const canvas = root.locator('canvas.ganvas-canvas');
    expect(await canvas.evaluate((c) => getComputedStyle(c).cursor)).to.equal('not-allowed');
    const enabled = await root.evaluate((r) => Array.from(r.querySelectorAll('button, input')).filter((b) => !(b as HTMLButtonElement).disabled).length);
    expect(enabled, 'enabled controls').to.equal(0);
    const before = await canvas.evaluate((c) => (c as HTMLCanvasElement).toDataURL());
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + 10, box.y + 10);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 10, box.y + box.height - 10, { steps: 8 });
    await page.mouse.up();
    expect(await canvas.evaluate((c) => (c as HTMLCanvasElement).toDataURL()), 'canvas after a stroke').to.equal(before);
    await page.close();
  });
});

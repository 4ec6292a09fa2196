/**
 * Issue 16 item 10: plotly's mode bar covered the plots' titles. The layout the plot widgets use (TITLE,
 * TITLE_MARGIN in widgets/src/plot.ts) is drawn by plotly.js in Chromium with the longest title the package
 * uses, the mode bar shown (hovered), and their boxes must not overlap.
 */
import { expect } from 'chai';
import * as path from 'path';
import { chromium } from 'playwright-core';

const root = path.join(__dirname, '..', '..', '..');

describe('plot widgets (plotly, Chromium)', function () {
  this.timeout(120000);

  it('the mode bar does not cover the title', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.setContent('<div id="p" style="width:480px;height:320px"></div>');
      await page.addScriptTag({ path: path.join(root, 'node_modules', 'plotly.js-dist', 'plotly.js') });
      // The layout constants of the built front-end bundle (what notebooks get).
      await page.addScriptTag({ path: path.join(root, 'dist', 'widgets.js') });
      await page.evaluate((title) => {
        const w = window as unknown as {
          Plotly: { newPlot: (...a: unknown[]) => Promise<unknown> };
          ganvasWidgets: { plotTitle: (t: string) => unknown; plotTitleMargin: unknown };
        };
        const layout = { title: w.ganvasWidgets.plotTitle(title), margin: w.ganvasWidgets.plotTitleMargin };
        return w.Plotly.newPlot('p', [{ x: [1, 2, 3], y: [0.5, 0.7, 0.9] }], layout, { displaylogo: false });
      }, 'inversion cosine vs grid size (paper 000, Fig. 9)');
      await page.hover('#p .nsewdrag');
      await page.waitForSelector('.modebar', { state: 'visible' });
      const bar = await page.locator('.modebar').boundingBox();
      const title = await page.locator('.gtitle').boundingBox();
      expect(bar && title, 'both drawn').to.be.ok;
      if (!bar || !title) return;
      const overlap = !(bar.x + bar.width <= title.x || title.x + title.width <= bar.x || bar.y + bar.height <= title.y || title.y + title.height <= bar.y);
      expect(overlap, `mode bar ${JSON.stringify(bar)}, title ${JSON.stringify(title)}`).to.equal(false);
    } finally {
      await browser.close();
    }
  });
});

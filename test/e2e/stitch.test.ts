/**
 * End to end in a real browser: 05-stitching in Jupyter Notebook + tslab + headless Chromium. Draws strokes on the
 * stitch widget and checks that every layer's reconstruction updates, that the kernel holds the drawn image, that
 * a pick and a seed change reach the kernel, and that the plots render.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as path from 'path';
import { percentile } from '../../bench/util';
import { Session, artifacts, kernelEval, runNotebook, useJupyter } from './jupyter';
import { clickAndWait, stitchStrokes, stitchWidget } from './stitch';

describe('end to end: the stitch widget in Jupyter + Chromium', function () {
  this.timeout(1_200_000);
  const session = useJupyter();
  let s: Session;
  beforeEach(() => {
    s = session();
  });

  it('05-stitching: strokes update every layer, the kernel sees the drawing, picks and seeds reach it', async () => {
    await runNotebook(s, '05-stitching.ipynb');
    const state = async () => JSON.parse(await kernelEval(s, 'console.log(JSON.stringify({ n: widget.inversions, seed: widget.seed, sum: Array.from(widget.image.data).reduce((a, b) => a + b, 0), dims: widget.image.dims, recs: widget.reconstructions.length }))'));
    const start = await state();
    const layers = await (await stitchWidget(s)).locator('canvas.ganvas-recon').count();
    expect(layers, 'one reconstruction per stitch').to.equal(start.recs).and.be.at.least(2);

    const { latencies, changed } = await stitchStrokes(s, 20);
    await s.page.screenshot({ path: path.join(artifacts, '05-stitching.png'), fullPage: true });
    expect(changed, 'every reconstruction changed').to.deep.equal(changed.map(() => true));
    const drawn = await state();
    expect(drawn.n, 'inversions in the kernel').to.be.at.least(start.n + 21);
    expect(drawn.dims).to.deep.equal([1, 1, 32, 32]);
    // Cleared to black, then 20 white strokes: the kernel's image has ink.
    expect(drawn.sum, 'drawn ink in the kernel image').to.be.greaterThan(20);

    const widget = await stitchWidget(s);
    await clickAndWait(s, widget.locator('img.ganvas-pick').nth(3));
    const picked = await state();
    expect(picked.sum).to.not.be.closeTo(drawn.sum, 1e-3);
    const first = () => widget.locator('canvas.ganvas-recon').first().evaluate((c) => (c as HTMLCanvasElement).toDataURL());
    const before = await first();
    await clickAndWait(s, widget.locator('button.ganvas-newseed'));
    expect((await state()).seed).to.equal(picked.seed + 1);
    expect(await first(), 'a new seed, a new reconstruction').to.not.equal(before);

    const plot = s.page.locator('.ganvas-widget[data-ganvas-kind="lines"][data-ganvas-live="true"] .ganvas-plot .main-svg');
    await plot.first().waitFor({ timeout: 60_000 });
    const plots = await plot.count();
    expect(plots, 'plotly line plots').to.be.at.least(1);
    console.log(`      stitch round trip (mouse up → ${layers} reconstructions shown) over ${latencies.length} strokes: p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms`);
    await fs.writeFile(path.join(artifacts, 'stitch-latency.json'), JSON.stringify(latencies));
  });
});

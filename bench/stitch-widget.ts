/**
 * The stitch widget's cost: one stroke = the canvas PNG inverted by every shipped fmnist stitch.
 *
 * 1. Kernel side, no browser: the widget's whole request handler (the canvas's raw pixels in, every stitch at
 *    once, one image's pixels per stitch out, base64 both ways) against the reference measured interleaved in the
 *    same run: the same stitches' bare `invert` calls one after the other. At onnxruntime's default threads (all
 *    cores) and at one thread per session.
 * 2. In a real browser (Jupyter Notebook + tslab + headless Chromium, 05-stitching): from mouse up to every
 *    reconstruction shown, 30 strokes. Target as the paint canvas: p95 ≤ 100 ms.
 *
 *   npm run bench:stitch-widget [-- --strokes 30 --repeats 60 --no-browser]
 */
import * as g from 'ganvas';
import { kernelEval, runNotebook, startJupyter } from '../test/e2e/jupyter';
import { stitchStrokes } from '../test/e2e/stitch';
import { arg, machine, percentile, table, timeInterleaved } from './util';

async function kernelSide(repeats: number): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  const { images } = await g.fashionMnist('test', { count: 1 });
  const pixels = g.toPixels(images, 0, [0, 1]).data.toString('base64');
  for (const threads of [0, 1]) {
    const rt = new g.Runtime(threads ? { threads } : {});
    const { stitches } = await g.loadDemoStitches('fmnist-resnet', 'fmnist-stylegan', { runtime: rt });
    const host = new g.WidgetHost();
    const w = await g.StitchWidget.create(stitches, { host });
    const [widget, bare] = await timeInterleaved(
      [
        () => w.request('invert', { pixels, seed: 0 }),
        async () => {
          for (const s of stitches) await s.invert(images, { seed: 0 });
        },
      ],
      { warmup: 5, repeats },
    );
    await host.close();
    const label = `${stitches.length} stitches, ${threads ? `${threads} thread per session` : 'default threads (all cores)'}`;
    rows.push([label, percentile(widget, 50), percentile(widget, 95), percentile(bare, 50), percentile(widget, 50) / percentile(bare, 50)]);
  }
  return rows;
}

async function main(): Promise<void> {
  const strokes = Number(arg('strokes', '30'));
  const repeats = Number(arg('repeats', '60'));
  console.log(`bench/stitch-widget — fmnist-resnet → fmnist-stylegan demo stitches; ${machine()}`);
  console.log(`\nkernel side: one stroke (raw pixels in → one image per stitch out), interleaved with the bare inversions; load average ${require('os').loadavg()[0].toFixed(1)}`);
  console.log(table(['setting', 'widget p50 ms', 'widget p95 ms', 'bare invert, one after the other, p50 ms', 'ratio widget / bare (p50)'], await kernelSide(repeats)));
  if (process.argv.includes('--no-browser')) return;
  const s = await startJupyter();
  try {
    await runNotebook(s, '05-stitching.ipynb');
    const { latencies } = await stitchStrokes(s, strokes);
    const kernel = await kernelEval(s, 'console.log(`${widget.lastInvertMs.toFixed(2)} ${widget.stitches.length}`)');
    const [ms, n] = kernel.trim().split(' ').map(Number);
    console.log(`\nbrowser: 05-stitching's widget, Jupyter Notebook + tslab + Chromium (headless)`);
    console.log(table(
      ['stitch round trip, mouse up → all reconstructions shown', 'stitches', 'strokes', 'p50 ms', 'p95 ms (target ≤ 100)', 'last kernel-side inversion ms'],
      [['WebSocket to the kernel widget server', n, latencies.length, percentile(latencies, 50), percentile(latencies, 95), ms]],
    ));
  } finally {
    await s.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

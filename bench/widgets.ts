/**
 * The paint widget's round trip in a real browser: Jupyter Notebook + tslab kernel + headless Chromium; 30 mouse
 * strokes on 04-paint's canvas; from mouse up to the new image shown (measured in the page). Target p95 ≤ 100 ms.
 *
 *   npm run bench:widgets
 */
import { kernelEval, paintStrokes, runNotebook, startJupyter } from '../test/e2e/jupyter';
import { machine, percentile, table } from './util';

async function main(): Promise<void> {
  const s = await startJupyter();
  try {
    await runNotebook(s, '04-paint.ipynb');
    const { latencies } = await paintStrokes(s, 30);
    const kernelMs = await kernelEval(s, 'console.log(canvas.lastPaintMs.toFixed(2))');
    console.log(`bench/widgets — 04-paint canvas (fmnist-stylegan b8.conv1), Jupyter Notebook + tslab + Chromium (headless); ${machine()}`);
    console.log(table(
      ['paint round trip, mouse up → image shown', 'strokes', 'p50 ms', 'p95 ms (target ≤ 100)', 'last kernel-side paint ms'],
      [['WebSocket to the kernel widget server', latencies.length, percentile(latencies, 50), percentile(latencies, 95), Number(kernelMs)]],
    ));
  } finally {
    await s.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

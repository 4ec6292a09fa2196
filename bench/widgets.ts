/**
 * The paint widget's round trip in a real browser, both transports side by side: from mouse up to the new image
 * shown (measured in the page), 30 mouse strokes each, tslab kernel + headless Chromium.
 * - WebSocket bridge: Jupyter Notebook 6 (04-paint) and JupyterLab 4;
 * - Jupyter comms: JupyterLab 4 with the ganvas-widgets extension, every port but Jupyter's unreachable.
 * The JupyterLab rows need the Python environment described in test/e2e/lab.ts. Target: comms p95 ≤ 50 ms.
 *
 *   npm run bench:widgets
 */
import { kernelEval, paintStrokes, runNotebook, startJupyter, Session } from '../test/e2e/jupyter';
import { haveVenv, openPaintNotebook, venv } from '../test/e2e/lab';
import { machine, percentile, table } from './util';

const STROKES = Number(process.env.GANVAS_BENCH_STROKES ?? 30);

async function main(): Promise<void> {
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  if (process.env.GANVAS_BENCH_SKIP_NB6 !== '1') {
    const s = await startJupyter();
    try {
      await runNotebook(s, '04-paint.ipynb');
      const { latencies } = await paintStrokes(s, STROKES);
      const kernelMs = await kernelEval(s, 'console.log(canvas.lastPaintMs.toFixed(2))');
      rows.push(['WebSocket bridge, Notebook 6', latencies.length, percentile(latencies, 50), percentile(latencies, 95), Number(kernelMs)]);
    } catch (e) {
      // Reported, not fatal: the JupyterLab rows below are the side-by-side comparison.
      notes.push(`Notebook 6 row failed: ${(e as Error).message.split('\n')[0]} (is the machine's "tslab" kernelspec pointing at an existing tslab? jupyter kernelspec list)`);
    } finally {
      await s.close();
    }
  }
  if (haveVenv()) {
    for (const transport of ['comm', 'websocket'] as const) {
      const label = `${transport === 'comm' ? 'Jupyter comms' : 'WebSocket bridge'}, JupyterLab 4`;
      const p = await openPaintNotebook('lab', transport, transport === 'comm').catch((e: Error) => {
        notes.push(`${label} row failed: ${e.message.split('\n')[0]}`);
        return undefined;
      });
      if (!p) continue;
      try {
        const { latencies } = await paintStrokes({ page: p.page } as Session, STROKES);
        const ms = await p.page.locator('.ganvas-status').first().textContent();
        rows.push([label, latencies.length, percentile(latencies, 50), percentile(latencies, 95), Number(/painted in ([\d.]+) ms/.exec(ms ?? '')?.[1] ?? NaN)]);
      } catch (e) {
        notes.push(`${label} row failed: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        await p.close();
      }
    }
  } else {
    console.log(`(no Jupyter environment at ${venv}: JupyterLab rows skipped; see test/e2e/lab.ts)`);
  }
  console.log(`bench/widgets — paint canvas (fmnist-stylegan b8.conv1), tslab + Chromium (headless); ${machine()}`);
  for (const n of notes) console.log(n);
  console.log(table(['paint round trip, mouse up → image shown', 'strokes', 'p50 ms', 'p95 ms (target comms ≤ 50)', 'last kernel-side paint ms'], rows));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

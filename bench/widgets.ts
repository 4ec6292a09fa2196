/**
 * The paint widget's round trip in a real browser, both transports side by side: from mouse up to the new image
 * shown (measured in the page), 30 mouse strokes each, tslab kernel + headless Chromium.
 * - WebSocket bridge: Jupyter Notebook 6 (04-paint) and JupyterLab 4;
 * - Jupyter comms: JupyterLab 4 with the ganvas-widgets extension, every port but Jupyter's unreachable.
 * The JupyterLab rows need the Python environment described in test/e2e/lab.ts. Target: comms p95 ≤ 50 ms.
 * Then where the round trip goes, from timestamps taken in the page and in the kernel (widgets/src/rpc.ts,
 * Stats.paintSteps): medians and the slowest stroke. GANVAS_BENCH_SERVER_NODELAY=1 adds a comms row on a Jupyter
 * server patched to set TCP_NODELAY on its WebSockets (diagnostics: it isolates the server's Nagle delay).
 *
 * Measured while finding the comm path's extra ~50 ms (2 cores under a load of ~10 from other jobs, 20 strokes):
 *   before  comms p50 100 ms: wait 45 (the request in flight at mouse up), up 5.5, kernel 12, down 33, show 5.5;
 *           comms on a TCP_NODELAY server: down 6 ms, p50 42 ms — the server's Nagle + the page's delayed ACK;
 *   after   (busy/idle of answered comm requests sent once quiet, src/comm/kernel.ts QUIET_MS; data URLs, not Blob
 *           URLs) comms p50 14.9 ms: wait 3.9, encode 0.5, up 1.4, kernel 3.8, down 3.0, show 0.5; bridge p50 20.4.
 *
 *   npm run bench:widgets
 */
import { kernelEval, paintStrokes, runNotebook, startJupyter, Session } from '../test/e2e/jupyter';
import { haveVenv, openPaintNotebook, venv } from '../test/e2e/lab';
import { loadavg } from 'os';
import { machine, percentile, table } from './util';

const STROKES = Number(process.env.GANVAS_BENCH_STROKES ?? 30);
/** The steps of a round trip as the page records them (widgets/src/rpc.ts, Stats.paintSteps). */
const STEP_NAMES = ['wait', 'encode', 'up', 'kernel', 'down', 'show'] as const;
type Steps = Record<(typeof STEP_NAMES)[number], number>;

async function main(): Promise<void> {
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const stepRows: (string | number)[][] = [];
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
    const runs: { transport: 'comm' | 'websocket'; serverNodelay?: boolean }[] = [{ transport: 'comm' }, { transport: 'websocket' }];
    if (process.env.GANVAS_BENCH_SERVER_NODELAY === '1') runs.push({ transport: 'comm', serverNodelay: true });
    for (const { transport, serverNodelay } of runs) {
      const label = `${transport === 'comm' ? 'Jupyter comms' : 'WebSocket bridge'}, JupyterLab 4${serverNodelay ? ', server with TCP_NODELAY' : ''}`;
      const p = await openPaintNotebook('lab', transport, transport === 'comm', { serverNodelay }).catch((e: Error) => {
        notes.push(`${label} row failed: ${e.message.split('\n')[0]}`);
        return undefined;
      });
      if (!p) continue;
      try {
        const { latencies } = await paintStrokes({ page: p.page } as Session, STROKES);
        const ms = await p.page.locator('.ganvas-status').first().textContent();
        rows.push([label, latencies.length, percentile(latencies, 50), percentile(latencies, 95), Number(/painted in ([\d.]+) ms/.exec(ms ?? '')?.[1] ?? NaN)]);
        const steps = await p.page.evaluate(() => (window as unknown as { __ganvasStats?: { paintSteps?: Steps[] } }).__ganvasStats?.paintSteps ?? []);
        if (steps.length > 0) {
          const total = (x: Steps): number => STEP_NAMES.reduce((a, k) => a + x[k], 0);
          stepRows.push([`${label}: medians`, ...STEP_NAMES.map((k) => percentile(steps.map((x) => x[k]), 50)), percentile(steps.map(total), 50)]);
          const slowest = steps.reduce((a, b) => (total(b) > total(a) ? b : a));
          stepRows.push([`${label}: slowest stroke`, ...STEP_NAMES.map((k) => slowest[k]), total(slowest)]);
        }
      } catch (e) {
        notes.push(`${label} row failed: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        await p.close();
      }
    }
  } else {
    console.log(`(no Jupyter environment at ${venv}: JupyterLab rows skipped; see test/e2e/lab.ts)`);
  }
  console.log(`bench/widgets — paint canvas (fmnist-stylegan b8.conv1), tslab + Chromium (headless); ${machine()}; load average ${loadavg()[0].toFixed(1)}`);
  for (const n of notes) console.log(n);
  console.log(table(['paint round trip, mouse up → image shown', 'strokes', 'p50 ms', 'p95 ms (target comms ≤ 50)', 'last kernel-side paint ms'], rows));
  if (stepRows.length > 0) {
    console.log('where the round trip goes (ms): wait = for the request in flight at mouse up; encode = mask PNG + framing in the page; up = page → kernel; kernel = receive → reply sent; down = kernel → page; show = image decoded and shown');
    console.log(table(['transport', ...STEP_NAMES, 'sum'], stepRows));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

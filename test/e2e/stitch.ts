/**
 * Drives the stitch widget (05-stitching) in the browser: strokes with real mouse events, picks, seed changes;
 * collects the widget's own round-trip measurements (mouse up → every reconstruction shown).
 */
import { Locator } from 'playwright-core';
import { Session } from './jupyter';

type StatsWindow = Window & { __ganvasStats?: { stitch?: number[] } };

export interface StitchStrokeResult {
  latencies: number[];
  /** Whether every reconstruction's image changed from the start. */
  changed: boolean[];
}

/** The first live stitch widget on the page. */
export async function stitchWidget(s: Session): Promise<Locator> {
  const widget = s.page.locator('.ganvas-widget[data-ganvas-kind="stitch"][data-ganvas-live="true"]').first();
  await widget.waitFor({ timeout: 60_000 });
  await widget.scrollIntoViewIfNeeded();
  return widget;
}

function done(s: Session): Promise<number> {
  return s.page.evaluate(() => (window as StatsWindow).__ganvasStats?.stitch?.length ?? 0);
}

async function settled(s: Session, n: number): Promise<void> {
  await s.page.waitForFunction((k) => ((window as StatsWindow).__ganvasStats?.stitch?.length ?? 0) > k, n, { timeout: 30_000 });
}

/** Clicks `el` and waits until the widget has shown the reconstructions it asked for. */
export async function clickAndWait(s: Session, el: Locator): Promise<void> {
  const n = await done(s);
  await el.click();
  await settled(s, n);
}

/** `count` strokes across the canvas (after clearing it), each waited for. */
export async function stitchStrokes(s: Session, count: number): Promise<StitchStrokeResult> {
  const { page } = s;
  const widget = await stitchWidget(s);
  const canvas = widget.locator('canvas.ganvas-canvas');
  const recs = widget.locator('canvas.ganvas-recon');
  const before = await recs.evaluateAll((els) => els.map((e) => (e as HTMLCanvasElement).toDataURL()));
  await clickAndWait(s, widget.locator('button.ganvas-clear'));
  const box = await canvas.boundingBox();
  if (!box) throw new Error('the stitch canvas is not visible');
  const start = (await page.evaluate(() => (window as StatsWindow).__ganvasStats?.stitch?.length ?? 0));
  for (let i = 0; i < count; i++) {
    const n = await done(s);
    const y = box.y + box.height * (0.2 + (0.6 * ((i * 37) % 100)) / 100);
    const x0 = box.x + box.width * 0.15;
    await page.mouse.move(x0, y);
    await page.mouse.down();
    for (let k = 1; k <= 8; k++) await page.mouse.move(x0 + (box.width * 0.7 * k) / 8, y + Math.sin(k) * 8);
    await page.mouse.up();
    await settled(s, n);
  }
  const after = await recs.evaluateAll((els) => els.map((e) => (e as HTMLCanvasElement).toDataURL()));
  const all = await page.evaluate(() => (window as StatsWindow).__ganvasStats?.stitch ?? []);
  return { latencies: all.slice(start), changed: after.map((a, i) => a !== before[i]) };
}

/**
 * A fuzz child: receives case ids over IPC, runs each, and answers with its classification. See pool.ts.
 */
import { GanvasError } from 'ganvas';
import * as path from 'path';
import { FUZZ_ROOT, caseById } from './cases';

// Models that passed their sandboxed first run are remembered under GANVAS_CACHE: keep the suite's to itself, so
// that every run starts from nothing.
process.env.GANVAS_CACHE = path.join(FUZZ_ROOT, 'cache');

process.on('message', (msg: { id: string }) => {
  void (async () => {
    const c = caseById(msg.id);
    let reply: { id: string; group: string; outcome: string; detail: string };
    if (!c) {
      reply = { id: msg.id, group: msg.id.split('/')[0], outcome: 'other', detail: 'unknown case id' };
    } else {
      try {
        const result = await c.run();
        if (c.legit) {
          try {
            c.legit(result);
            reply = { id: c.id, group: c.group, outcome: 'ok', detail: 'documented legitimate success' };
          } catch (e) {
            reply = { id: c.id, group: c.group, outcome: 'garbage', detail: `success, but its output failed the check: ${(e as Error).message}` };
          }
        } else {
          reply = { id: c.id, group: c.group, outcome: 'garbage', detail: `accepted silently (returned ${describe(result)})` };
        }
      } catch (e) {
        if (e instanceof GanvasError) reply = { id: c.id, group: c.group, outcome: 'ganvas', detail: `${e.code}: ${e.message.split('\n')[0].slice(0, 300)}` };
        else reply = { id: c.id, group: c.group, outcome: 'other', detail: `${(e as Error)?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 300)}` };
      }
    }
    process.send?.(reply);
  })();
});

// An exception escaping a case's own async callbacks (an event listener) would end the process: report it as
// a crash of the case in flight rather than a silent exit.
process.on('uncaughtException', (e) => {
  process.stderr.write(`uncaught: ${e?.stack ?? e}\n`);
  process.exit(70);
});
process.on('unhandledRejection', (e) => {
  process.stderr.write(`unhandled rejection: ${(e as Error)?.stack ?? e}\n`);
  process.exit(71);
});

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.slice(0, 120);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

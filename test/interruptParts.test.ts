/**
 * src/interrupt.ts by itself (issue 19): when the SIGINT listener is installed, that a real SIGINT aborts the
 * interrupt signal, and operationSignal's fallback for a Node without AbortSignal.any. Each test loads a fresh copy
 * of the module (its listener flag and controller are module state), and puts the process's SIGINT listeners back.
 */
import { expect } from 'chai';
import * as path from 'path';

type InterruptModule = typeof import('ganvas');

/** A fresh instance of dist/interrupt.js (the same compiled file 'ganvas' re-exports). */
function freshInterrupt(): Pick<InterruptModule, 'interruptSignal' | 'listenForInterrupts' | 'interrupt' | 'operationSignal' | 'isAbort'> {
  const file = path.join(path.dirname(require.resolve('ganvas')), 'interrupt.js');
  const saved = require.cache[file];
  delete require.cache[file];
  const mod = require(file) as InterruptModule;
  if (saved) require.cache[file] = saved;
  else delete require.cache[file];
  return mod;
}

/** Runs fn with the process's SIGINT listeners set to `start`, then restores the original ones. */
async function withSigintListeners(start: Array<() => void>, fn: () => Promise<void> | void): Promise<void> {
  const original = process.listeners('SIGINT');
  process.removeAllListeners('SIGINT');
  start.forEach((l) => process.on('SIGINT', l));
  try {
    await fn();
  } finally {
    process.removeAllListeners('SIGINT');
    original.forEach((l) => process.on('SIGINT', l as () => void));
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond(), what).to.equal(true);
}

describe('interrupt: the SIGINT listener and operationSignal', () => {
  it('installs no SIGINT listener in a process that does not handle SIGINT (Ctrl-C still ends a script)', async () => {
    await withSigintListeners([], () => {
      const m = freshInterrupt();
      m.interruptSignal();
      m.operationSignal();
      expect(process.listenerCount('SIGINT')).to.equal(0);
    });
  });

  it('where SIGINT is already handled (tslab), a real SIGINT aborts the current signal only, once per process', async () => {
    let hostSaw = 0;
    await withSigintListeners([() => hostSaw++], async () => {
      const m = freshInterrupt();
      const s = m.interruptSignal();
      expect(process.listenerCount('SIGINT')).to.equal(2);
      m.interruptSignal();
      m.listenForInterrupts();
      expect(process.listenerCount('SIGINT')).to.equal(2);
      process.kill(process.pid, 'SIGINT');
      await until(() => s.aborted, 'the signal aborted by SIGINT');
      expect(hostSaw).to.equal(1);
      expect((s.reason as Error).name).to.equal('AbortError');
      expect((s.reason as Error).message).to.match(/kernel received an interrupt \(SIGINT\)/);
      expect(m.isAbort(s.reason)).to.equal(true);
      expect(m.interruptSignal().aborted).to.equal(false);
    });
  });

  it('listenForInterrupts() opts a plain script in, once', async () => {
    await withSigintListeners([], async () => {
      const m = freshInterrupt();
      m.listenForInterrupts();
      m.listenForInterrupts();
      expect(process.listenerCount('SIGINT')).to.equal(1);
      const s = m.interruptSignal();
      process.kill(process.pid, 'SIGINT');
      await until(() => s.aborted, 'the signal aborted by SIGINT');
    });
  });

  it('operationSignal: the interrupt signal itself when there is no other, and the same combination without AbortSignal.any', async () => {
    const m = freshInterrupt();
    const k = m.interruptSignal();
    expect(m.operationSignal()).to.equal(k);
    expect(m.operationSignal(k)).to.equal(k);
    const pre = new AbortController();
    pre.abort('early');
    expect(m.operationSignal(pre.signal)).to.equal(pre.signal);

    const holder = AbortSignal as unknown as { any?: unknown };
    const any = holder.any;
    holder.any = undefined;
    try {
      const own = new AbortController();
      const a = m.operationSignal(own.signal);
      expect(a).to.not.equal(own.signal);
      expect(a.aborted).to.equal(false);
      own.abort('caller stopped');
      expect(a.aborted).to.equal(true);
      expect(a.reason).to.equal('caller stopped');

      const own2 = new AbortController();
      const b = m.operationSignal(own2.signal);
      m.interrupt();
      expect(b.aborted).to.equal(true);
      expect((b.reason as Error).name).to.equal('AbortError');
      own2.abort('late');
      expect((b.reason as Error).name).to.equal('AbortError');
    } finally {
      holder.any = any;
    }
  });

  it("isAbort: an AbortError, or exactly the reason the caller's aborted signal holds", () => {
    const m = freshInterrupt();
    const ac = new AbortController();
    const reason = { why: 'mine' };
    expect(m.isAbort(reason, ac.signal)).to.equal(false);
    ac.abort(reason);
    expect(m.isAbort(reason, ac.signal)).to.equal(true);
    expect(m.isAbort({ why: 'mine' }, ac.signal)).to.equal(false);
    expect(m.isAbort(new Error('other'), ac.signal)).to.equal(false);
    expect(m.isAbort(new DOMException('x', 'AbortError'))).to.equal(true);
    expect(m.isAbort(reason)).to.equal(false);
  });
});

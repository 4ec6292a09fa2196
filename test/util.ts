/**
 * Shared test helpers.
 */
import { expect } from 'chai';
import { GanvasError } from 'ganvas';

/** Awaits `p`, expects it to reject with a GanvasError (of `code`, when given), and returns the error. */
export async function rejectsGanvas(p: Promise<unknown>, code?: string): Promise<GanvasError> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(GanvasError);
    if (code) expect((e as GanvasError).code).to.equal(code);
    return e as GanvasError;
  }
  throw new Error('expected a GanvasError');
}

/** The same for synchronous code. */
export function throwsGanvas(fn: () => unknown, code?: string): GanvasError {
  try {
    fn();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(GanvasError);
    if (code) expect((e as GanvasError).code).to.equal(code);
    return e as GanvasError;
  }
  throw new Error('expected a GanvasError');
}

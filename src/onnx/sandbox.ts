/**
 * The first run of a model file from outside ganvas happens in a disposable child process.
 *
 * onnxruntime trusts the graph it is given: the fuzz suite found a 9-node graph (a Resize whose `scales` input is a
 * computed [N, 1, 8, 8] tensor) on which onnxruntime-node 1.23 aborts the whole process with "stack smashing
 * detected" — in a notebook, the kernel dies with every result in it. No static check can foresee every such
 * native failure, so the probe run (the first execution of a model, at batch 1 and 2) is repeated in a child
 * first; a crash, abort or hang there becomes a GanvasError here. A model that passed is remembered by its SHA-1
 * (in this process, and as an empty file under ~/.cache/ganvas/verified), so each distinct file pays the cost —
 * one Node start and one probe: measured 1.12 s against 0.34 s unsandboxed for the test suite's tiny generator on
 * our shared, loaded 2-core machine — once. Models shipped with ganvas are trusted, and
 * GANVAS_SANDBOX=0 turns the check off.
 */
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, GanvasErrorCode } from '../errors';
import { cacheDir } from './cache';
import type { OnnxModel } from './model';

/** Protos of models read from files ganvas did not ship, not yet run once in a child. */
const untrusted = new WeakSet<object>();
const verified = new Set<string>();
const SHIPPED = path.resolve(__dirname, '..', '..', 'models') + path.sep;

/** Marks a model decoded from the file `source` as needing a sandboxed first run (unless ganvas shipped it). */
export function markUntrusted(proto: object, source: string): void {
  if (!path.resolve(source).startsWith(SHIPPED)) untrusted.add(proto);
}

/** Runs the probe of `model` once in a child process when the model is untrusted; throws if it crashed or hung there. */
export async function firstRunInSandbox(model: OnnxModel, inputShapes: Record<string, number[]> | undefined): Promise<void> {
  if (!untrusted.has(model.proto) || process.env.GANVAS_SANDBOX === '0') return;
  const key = `${model.digest()}-${Buffer.from(JSON.stringify(inputShapes ?? {})).toString('hex').slice(0, 40)}`;
  const mark = path.join(cacheDir('verified'), key);
  if (verified.has(key) || (await fs.stat(mark).then(() => true, () => false))) {
    untrusted.delete(model.proto);
    return;
  }
  const timeoutS = Number(process.env.GANVAS_SANDBOX_TIMEOUT ?? 300);
  const child = spawn(process.execPath, [path.join(__dirname, 'sandboxChild.js'), model.source, JSON.stringify(inputShapes ?? {})], {
    // Stryker disable next-line ArrayDeclaration: pipes are the default
    stdio: ['pipe', 'pipe', 'pipe'],
    // Stryker disable next-line StringLiteral: a second guard; the child decodes bytes, which are never marked untrusted
    env: { ...process.env, GANVAS_SANDBOX: '0' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  child.stdin.on('error', () => undefined); // a child that dies before reading all bytes
  child.stdin.end(Buffer.from(model.bytes()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutS * 1000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => {
    child.on('error', () => resolve([null, 'spawn failed']));
    child.on('exit', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  if (code === 0 || (code === 3 && isReply(out))) {
    // 3: the probe failed cleanly there (a GanvasError: e.g. an input shape the caller must give). It will fail the
    // same way here, with the caller's options; what mattered is that it did not crash.
    verified.add(key);
    untrusted.delete(model.proto);
    // Stryker disable next-line StringLiteral: the mark is an empty file; only its name is read
    await fs.mkdir(cacheDir('verified'), { recursive: true }).then(() => fs.writeFile(mark, ''), () => undefined).catch(() => undefined);
    return;
  }
  const native = err.split('\n').map((l) => l.trim()).filter((l) => l && !/\[W:onnxruntime/.test(l)).slice(-2).join(' | ');
  throw new GanvasError(
    'RUNTIME',
    timedOut
      ? `${model.source}: its first run did not finish within ${timeoutS} s (GANVAS_SANDBOX_TIMEOUT); the model may loop or be far too large`
      : `onnxruntime crashed running ${model.source} for the first time (${signal ?? `exit code ${code}`}${native ? `: ${native}` : ''}). ` +
          `The model is malformed in a way onnxruntime does not check; ganvas ran it in a separate process so that your session survives. Re-export the model.`,
  );
}

function isReply(out: string): boolean {
  try {
    const r = JSON.parse(out) as { code?: GanvasErrorCode; message?: string };
    return typeof r.message === 'string';
  } catch {
    return false;
  }
}

/**
 * kill -9 trials: a child process saves a vector library over and over, or generates a dataset, and is killed with
 * SIGKILL at a random moment. Afterwards nothing a completed save promised may be lost, and every file must be
 * valid once the work is resumed:
 * - library: the file loads, holding the entries of the last save that returned (or of the one after it, finished
 *   but not yet reported), with the right vectors; the next save leaves no temporaries and one vector file;
 * - dataset: the index names pairs 0…m−1 whose files all decode; resuming completes exactly 0…N−1, the pairs the
 *   index named keep their bytes, every file equals an uninterrupted run's, and no temporary is left.
 */
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Generator, Runtime, VectorLibrary, generateDataset } from 'ganvas';
import { tinyGenerator } from '../models';
import { FUZZ_ROOT } from './cases';

export interface KillResult {
  trials: number;
  losses: number;
  invalid: number;
}

type Log = (msg: string) => void;

/**
 * Spawns `node -e script`, waits until it has printed `afterLines` lines (its start, or some units of work done),
 * then kills it after a random delay up to `maxDelayMs`: a random moment inside the work however loaded the
 * machine is (a fixed delay from the spawn mostly landed before the start or after the end).
 */
async function killSomewhere(script: string, args: string[], maxDelayMs: number, afterLines = 1): Promise<{ lines: string[]; finished: boolean }> {
  const child = spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await Promise.race([
    new Promise<void>((r) =>
      child.stdout.on('data', (d) => {
        out += d;
        if (out.split('\n').length - 1 >= afterLines) r();
      }),
    ),
    exited,
  ]);
  await Promise.race([new Promise((r) => setTimeout(r, Math.floor(Math.random() * maxDelayMs))), exited]);
  child.kill('SIGKILL');
  await exited;
  child.stdout.removeAllListeners('data');
  const lines = out.split('\n').filter((x) => x);
  if (lines.length === 0 && err) throw new Error(`the child failed: ${err.slice(-500)}`);
  return { lines, finished: lines.includes('done') };
}

const ganvasPath = () => JSON.stringify(require.resolve('ganvas'));

export async function libraryKillTrials(n: number, log: Log = () => undefined): Promise<KillResult> {
  const dir = path.join(FUZZ_ROOT, `libkill-${process.pid}`);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'lib.json');
  const script = `
    const g = require(${ganvasPath()});
    (async () => {
      const lib = new g.VectorLibrary('m', 'l', 64);
      for (let k = 1; ; k++) {
        lib.add('v' + k, '#' + (k % 0xffffff).toString(16).padStart(6, '0'), new Float32Array(64).fill(k));
        await lib.save(process.argv[1]);
        process.stdout.write(k + '\\n');
      }
    })();`;
  const r: KillResult = { trials: 0, losses: 0, invalid: 0 };
  for (let attempt = 0; r.trials < n && attempt < 2 * n; attempt++) {
    const { lines } = await killSomewhere(script, [file], 400);
    const done = lines.map(Number);
    if (done.length === 0) continue;
    r.trials++;
    const last = done[done.length - 1];
    try {
      const back = await VectorLibrary.load(file);
      const count = back.entries.length;
      if (count !== last && count !== last + 1) {
        r.losses++;
        log(`library trial ${r.trials}: ${count} entries after ${last} completed saves`);
      }
      if (!back.entries.every((e, i) => e.vector.every((x) => x === i + 1) && e.name === `v${i + 1}`)) {
        r.invalid++;
        log(`library trial ${r.trials}: wrong vectors`);
      }
      await back.save(file);
      const left = await fs.readdir(dir);
      if (left.some((x) => x.endsWith('.tmp')) || left.filter((x) => x.endsWith('.npy')).length !== 1) {
        r.invalid++;
        log(`library trial ${r.trials}: left behind ${left.join(', ')}`);
      }
    } catch (e) {
      r.losses++;
      log(`library trial ${r.trials}: does not load after ${last} completed saves: ${(e as Error).message}`);
    }
  }
  await fs.rm(dir, { recursive: true, force: true });
  return r;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

export async function datasetKillTrials(n: number, log: Log = () => undefined, count = 24): Promise<KillResult> {
  const root = path.join(FUZZ_ROOT, `dskill-${process.pid}`);
  await fs.rm(root, { recursive: true, force: true });
  await fs.mkdir(root, { recursive: true });
  const modelDir = await tinyGenerator();
  const rt = new Runtime({ threads: 1 });
  const gen = await Generator.open(modelDir, rt);
  const cut = await gen.cut('b8.conv1');
  const lib = VectorLibrary.for(cut);
  lib.add('a', '#ff0000', new Float32Array(4).fill(1));
  lib.add('b', '#0000ff', new Float32Array(4).fill(-1));
  const opts = (dir: string, flushEvery: number) => ({ dir, count, seed: 3, kind: 'blobs' as const, flushEvery });
  // The reference: one uninterrupted run.
  const refDir = path.join(root, 'reference');
  const t0 = Date.now();
  await generateDataset(cut, lib, opts(refDir, 4));
  const perPairMs = Math.max(5, (Date.now() - t0) / count);
  const script = `
    const g = require(${ganvasPath()});
    (async () => {
      const rt = new g.Runtime({ threads: 1 });
      const gen = await g.Generator.open(process.argv[1], rt);
      const cut = await gen.cut('b8.conv1');
      const lib = g.VectorLibrary.for(cut);
      lib.add('a', '#ff0000', new Float32Array(4).fill(1));
      lib.add('b', '#0000ff', new Float32Array(4).fill(-1));
      process.stdout.write('start\\n');
      await g.generateDataset(cut, lib, { dir: process.argv[2], count: ${count}, seed: 3, kind: 'blobs', flushEvery: Number(process.argv[3]),
        onProgress: (d) => process.stdout.write(d + '\\n') });
      process.stdout.write('done\\n');
    })();`;
  const r: KillResult = { trials: 0, losses: 0, invalid: 0 };
  for (let attempt = 0; r.trials < n && attempt < 3 * n; attempt++) {
    const dir = path.join(root, `t${attempt}`);
    const flushEvery = 1 + Math.floor(Math.random() * 5);
    // Killed while writing pair t (after "start" and t progress lines), at a random instant within it.
    const t = Math.floor(Math.random() * count);
    const { lines, finished } = await killSomewhere(script, [modelDir, dir, String(flushEvery)], 2 * perPairMs, 1 + t);
    if (finished) {
      await fs.rm(dir, { recursive: true, force: true });
      continue; // the kill came after the work: not a trial
    }
    r.trials++;
    const problems: string[] = [];
    // State at the kill: the index (if any) must be valid and name only complete, decodable pairs.
    const promised = new Map<string, Buffer>();
    const indexText = await fs.readFile(path.join(dir, 'index.json'), 'utf8').catch(() => undefined);
    if (indexText !== undefined) {
      try {
        const index = JSON.parse(indexText) as { entries: { id: number; image: string; label: string; mask: string }[] };
        for (const [i, e] of index.entries.entries()) {
          if (e.id !== i) problems.push(`index entry ${i} has id ${e.id}`);
          for (const f of [e.image, e.label, e.mask]) {
            const bytes = await fs.readFile(path.join(dir, f)).catch(() => undefined);
            if (!bytes) {
              r.losses++;
              problems.push(`${f} named by the index is missing`);
            } else promised.set(f, bytes);
          }
        }
      } catch (e) {
        problems.push(`index.json is not valid: ${(e as Error).message}`);
      }
    }
    // Resume, then compare with the uninterrupted run.
    try {
      const index = await generateDataset(cut, lib, opts(dir, flushEvery));
      if (index.entries.length !== count || !index.entries.every((e, i) => e.id === i)) problems.push(`resumed index has ids ${index.entries.map((e) => e.id).join(',')}`);
      for (const [f, before] of promised) {
        const now = await fs.readFile(path.join(dir, f));
        if (!now.equals(before)) {
          r.losses++;
          problems.push(`${f} changed on resume`);
        }
      }
      const files = (await listFiles(dir)).map((f) => path.relative(dir, f)).sort();
      const refFiles = (await listFiles(refDir)).map((f) => path.relative(refDir, f)).sort();
      if (files.join('|') !== refFiles.join('|')) problems.push(`files differ from the reference: ${files.filter((f) => !refFiles.includes(f)).join(', ')}`);
      for (const f of refFiles) {
        if (f === 'index.json') continue;
        const a = await fs.readFile(path.join(dir, f)).catch(() => Buffer.alloc(0));
        if (!a.equals(await fs.readFile(path.join(refDir, f)))) problems.push(`${f} differs from the uninterrupted run`);
        else if (f.startsWith('labels/') && (await sharp(a).metadata()).channels !== 1) problems.push(`${f} is not 1-channel`);
      }
    } catch (e) {
      problems.push(`resume failed: ${(e as Error).message}`);
    }
    if (problems.length > 0) {
      r.invalid += problems.length;
      log(`dataset trial ${r.trials} (killed after ${lines.length - 1} pairs, flushEvery ${flushEvery}): ${problems.slice(0, 5).join('; ')}`);
    }
    await fs.rm(dir, { recursive: true, force: true });
  }
  await rt.release();
  await fs.rm(root, { recursive: true, force: true });
  return r;
}

/**
 * PyTorch reference results kept on disk, keyed by everything the Python reads (issue 19).
 *
 * A reference test starts /usr/bin/python3 (torch import ≈ 2–4 s, then the computation). Under mutation testing every
 * mutant that a reference test covers repeats that: the gridInversion run spent most of its 20 minutes in Python.
 * Here a result is stored under the SHA-256 of the command's arguments, the contents of every file and folder it is
 * told the script reads (the script, the Python it imports, weights, manifests, the inputs the test wrote), and the
 * interpreter's path. A mutant that changes the inputs the test writes changes the key, so the reference is computed
 * again; a mutant of the TypeScript that only changes what is compared to the reference reuses it. A fresh machine
 * (CI) computes everything.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const PYTHON = '/usr/bin/python3';
const CACHE = path.join(os.tmpdir(), 'ganvas-reference-cache');

/** Adds a file's or a folder's (recursively, sorted) names and contents to the hash. */
function hashEntry(h: ReturnType<typeof createHash>, p: string): void {
  const st = fs.statSync(p);
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(p).sort()) {
      h.update(`\0dir-entry:${name}\0`);
      hashEntry(h, path.join(p, name));
    }
  } else {
    h.update(`\0file:${st.size}\0`);
    h.update(fs.readFileSync(p));
  }
}

/**
 * Runs `python3 args…` (stdout as text), or returns the stored stdout of the same run. `reads`: every file or folder
 * the script reads (an argument equal to one of them is keyed by its contents, not by its path, so a fresh temporary
 * folder with the same inputs hits the cache). `input`: text for stdin, part of the key.
 */
export function cachedPython(args: readonly string[], reads: readonly string[], input?: string): string {
  const h = createHash('sha256');
  h.update(`python:${PYTHON}\0`);
  const keyed = args.map((a) => {
    const i = reads.indexOf(a);
    return i >= 0 ? `<read ${i}>` : a;
  });
  h.update(JSON.stringify(keyed));
  h.update(`\0input:${input ?? ''}\0`);
  reads.forEach((r, i) => {
    h.update(`\0read ${i}\0`);
    hashEntry(h, r);
  });
  const file = path.join(CACHE, `${h.digest('hex')}.txt`);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  const out = execFileSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...(input !== undefined ? { input } : {}) });
  fs.mkdirSync(CACHE, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, out);
  fs.renameSync(tmp, file);
  return out;
}

/** The Python a script under bench/ or models/recipes/ may import: every .py file of those two folders. */
export function pythonSources(root: string): string[] {
  return ['bench', path.join('models', 'recipes')].flatMap((d) =>
    fs
      .readdirSync(path.join(root, d))
      .filter((f) => f.endsWith('.py'))
      .sort()
      .map((f) => path.join(root, d, f)),
  );
}

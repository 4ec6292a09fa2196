/**
 * Every notebook runs headless through the real Jupyter stack (Debian's nbconvert + the tslab kernel); any cell
 * error fails the run. Outputs go to a temporary folder: the stored notebooks stay without outputs.
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import { execFileSync } from 'child_process';
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const dir = path.join(root, 'notebooks');
// This checkout's own tslab kernelspec (scripts/kernelspec.js writes it into .jupyter), first on JUPYTER_PATH, as
// npm start and npm run report use it: the test never depends on a machine-wide "tslab" kernel.
const jupyterPath = execFileSync('node', [path.join(root, 'scripts', 'kernelspec.js')], { encoding: 'utf8' }).trim();
const env = { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1', JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) };
/** The project's notebooks (those scripts/notebooks.py writes); notebooks of a user's own in notebooks/ are not ours to run. */
export function projectNotebooks(): string[] {
  return [...readFileSync(path.join(root, 'scripts', 'notebooks.py'), 'utf8').matchAll(/nb\("([^"]+\.ipynb)"/g)].map((m) => m[1]).sort();
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024, env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}` });
    });
  });
}

describe('notebooks (headless, tslab kernel)', function () {
  this.timeout(900_000);
  const books = projectNotebooks();

  it('uses this checkout\'s own tslab kernelspec', () => {
    const list = execFileSync('/usr/bin/python3', ['-m', 'jupyter', 'kernelspec', 'list', '--json'], { encoding: 'utf8', env });
    const spec = (JSON.parse(list) as { kernelspecs: Record<string, { resource_dir: string; spec: { argv: string[] } }> }).kernelspecs.tslab;
    expect(spec.resource_dir).to.equal(path.join(jupyterPath, 'kernels', 'tslab'));
    expect(spec.spec.argv[0]).to.equal(path.join(root, 'node_modules', '.bin', 'tslab'));
  });

  it('are stored without outputs', async () => {
    for (const b of books) {
      const nb = JSON.parse(await fs.readFile(path.join(dir, b), 'utf8')) as { cells: { outputs?: unknown[] }[]; metadata: { kernelspec: { name: string } } };
      expect(nb.metadata.kernelspec.name, b).to.equal('tslab');
      for (const c of nb.cells) expect(c.outputs ?? [], b).to.have.length(0);
    }
  });

  for (const b of books) {
    it(`smoke: ${b} runs without a cell error`, async () => {
      const out = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-nb-'));
      const r = await run('/usr/bin/python3', ['-m', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=600', '--output-dir', out, b], dir);
      const tail = r.out.split('\n').filter((l) => !/Debugger warning|frozen modules|Debugging will proceed|PYDEVD/.test(l)).slice(-30).join('\n');
      expect(r.code, `${b} failed:\n${tail}`).to.equal(0);
      const done = JSON.parse(await fs.readFile(path.join(out, b), 'utf8')) as { cells: { cell_type: string; outputs?: { output_type: string; name?: string; text?: string | string[] }[] }[] };
      // tslab reports TypeScript errors on stderr without failing the cell: treat those as failures too.
      for (const c of done.cells) {
        for (const o of c.outputs ?? []) {
          if (o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr' && /error|cannot find/i.test(String(o.text)))) {
            throw new Error(`${b}: ${JSON.stringify(o).slice(0, 500)}`);
          }
        }
      }
      await fs.rm(out, { recursive: true, force: true });
    });
  }
});

/**
 * Loaded with `node --require` into every process a test starts while StrykerJS runs the suite (issue 19; see
 * test/mutationBridge.ts). The mutated build records which mutants a process reached in its own
 * `__stryker__.mutantCoverage`; at exit, and whenever the test process asks with SIGUSR2, this writes that record
 * where the test process collects it, so that the mutants reached only in a `ganvas` command, its workers or a
 * kernel count as covered by the test that ran them.
 *
 * A watchdog shell kills this process if the test process goes away first: StrykerJS ends a test process that ran
 * past its time limit with SIGKILL, and a mutated command stuck in a loop would otherwise run on, an orphan, taking
 * a core from the rest of the run.
 */
import { spawnSync } from 'child_process';
import { renameSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';

interface Coverage {
  static: Record<string, number>;
  perTest: Record<string, Record<string, number>>;
}

const dir = process.env.GANVAS_MUTATION_COVERAGE;
if (dir !== undefined && dir !== '') {
  const parent = process.ppid;
  // Started in the background of a shell that exits at once (spawnSync waits for it), so that the watchdog is not
  // this process's child: tests count a command's children (its workers).
  const loop = `while kill -0 ${process.pid} 2>/dev/null; do kill -0 ${parent} 2>/dev/null || { kill -9 ${process.pid}; exit; }; sleep 1; done`;
  spawnSync('sh', ['-c', `(${loop}) </dev/null >/dev/null 2>&1 &`], { stdio: 'ignore' });
  let seq = 0;
  const live = path.join(dir, `${process.pid}.live`);
  // The counts since the last record, written whole (renamed into place) and then cleared in place: the mutated
  // code holds on to these very objects.
  const record = (): void => {
    const cov = (globalThis as { __stryker__?: { mutantCoverage?: Coverage } }).__stryker__?.mutantCoverage;
    if (cov === undefined) return;
    try {
      const file = path.join(dir, `${process.pid}-${seq++}.json`);
      writeFileSync(`${file}.part`, JSON.stringify(cov));
      renameSync(`${file}.part`, file);
    } catch {
      return; // the test process removed the folder: nobody is collecting
    }
    for (const k of Object.keys(cov.static)) delete cov.static[k];
    for (const k of Object.keys(cov.perTest)) delete cov.perTest[k];
  };
  try {
    writeFileSync(live, '');
  } catch {
    /* not collected */
  }
  // A long-lived child (a Jupyter kernel) is asked for its record at the end of every test.
  process.on('SIGUSR2', record);
  process.on('exit', () => {
    record();
    rmSync(live, { force: true });
  });
}

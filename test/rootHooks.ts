/**
 * Root hooks for the whole suite (loaded by .mocharc.json's "require"). After the last test, any process a test
 * started and left running — a Jupyter server, a kernel, a browser, a worker — is named on stderr and killed: a
 * leftover child keeps a pipe to this process open, and one CI run sat 84 minutes after its summary line that way
 * (a failing browser test skipped its kernel shutdown). .mocharc.json's "exit" then ends the process even if a
 * leak of another kind (a timer, a socket) remains; this hook is what makes such leaks visible.
 */
import { execFileSync } from 'child_process';
import { collectChildCoverage } from './mutationBridge';

function descendants(pid: number): { pid: number; cmd: string }[] {
  let table: string;
  try {
    table = execFileSync('ps', ['-eo', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const rows = table.split('\n').map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/)).filter((m): m is RegExpMatchArray => m !== null)
    .filter((m) => !m[3].startsWith('Z')) // exited, not yet reaped: nothing running
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), cmd: m[4] }));
  const out: { pid: number; cmd: string }[] = [];
  const walk = (p: number): void => {
    for (const r of rows) {
      if (r.ppid === p) {
        out.push({ pid: r.pid, cmd: r.cmd });
        walk(r.pid);
      }
    }
  };
  walk(pid);
  return out;
}

export const mochaHooks = {
  // Under StrykerJS only: what the test's child processes covered counts as the test's (test/mutationBridge.ts).
  async afterEach(): Promise<void> {
    await collectChildCoverage();
  },
  afterAll(): void {
    const left = descendants(process.pid).filter((p) => !/^ps\b/.test(p.cmd));
    if (left.length === 0) return;
    process.stderr.write(`\n${left.length} process(es) left running by the tests (killed now; a test's cleanup is missing):\n`);
    for (const p of left) {
      process.stderr.write(`  ${p.pid} ${p.cmd.slice(0, 200)}\n`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  },
};

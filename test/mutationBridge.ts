/**
 * Mutation testing across process boundaries (issue 19). The CLI tests run `ganvas` as a child process (and it forks
 * workers), so StrykerJS, which activates a mutant and records coverage inside the test process only, would see
 * none of the CLI code covered and run no test against its mutants. When the suite runs under StrykerJS (its
 * `__stryker__` global exists), `childEnv()` passes the active mutant on through `__STRYKER_ACTIVE_MUTANT__`
 * (which the mutated build reads when it loads) and loads test/mutationChild.ts into the child, which writes the
 * child's coverage to a folder at exit; `collectChildCoverage()` (a root afterEach hook) adds what it finds to the
 * current test's coverage. Outside StrykerJS both do nothing.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

interface Coverage {
  static: Record<string, number>;
  perTest: Record<string, Record<string, number>>;
}
interface Stryker {
  activeMutant?: string;
  currentTestId?: string;
  mutantCoverage?: Coverage;
}

const stryker = (): Stryker | undefined => (globalThis as { __stryker__?: Stryker }).__stryker__;
let folder: string | undefined;

/** Variables to add to a child's environment: none outside StrykerJS. */
export function childEnv(): NodeJS.ProcessEnv {
  const ns = stryker();
  if (ns === undefined) return {};
  if (folder === undefined) {
    const made = mkdtempSync(path.join(os.tmpdir(), 'ganvas-mutation-'));
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
    folder = made;
  }
  const hook = path.join(__dirname, 'mutationChild.js');
  const env: NodeJS.ProcessEnv = {
    GANVAS_MUTATION_COVERAGE: folder,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(hook)}`.trim(),
  };
  if (ns.activeMutant !== undefined) env.__STRYKER_ACTIVE_MUTANT__ = String(ns.activeMutant);
  return env;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Adds the coverage children recorded since the last call to the current test's (between tests: to the static
 * coverage). Children still running (marked by a `<pid>.live` file) are asked for a record first, with SIGUSR2,
 * and waited for up to two seconds.
 */
export async function collectChildCoverage(): Promise<void> {
  const ns = stryker();
  if (ns === undefined || folder === undefined) return;
  const dir = folder;
  const records = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.json'));
  const asked = new Set<string>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.live'))) {
    const pid = Number(name.slice(0, -'.live'.length));
    if (!alive(pid)) continue;
    process.kill(pid, 'SIGUSR2');
    asked.add(`${pid}-`);
  }
  const deadline = Date.now() + 2000;
  while (asked.size > 0 && Date.now() < deadline) {
    const have = records();
    for (const p of [...asked]) if (have.some((n) => n.startsWith(p))) asked.delete(p);
    if (asked.size > 0) await new Promise((r) => setTimeout(r, 10));
  }
  const cov = (ns.mutantCoverage ??= { static: {}, perTest: {} });
  const into = ns.currentTestId === undefined ? cov.static : (cov.perTest[ns.currentTestId] ??= {});
  for (const name of records()) {
    const file = path.join(dir, name);
    const child = JSON.parse(readFileSync(file, 'utf8')) as Coverage;
    rmSync(file, { force: true });
    for (const part of [child.static, ...Object.values(child.perTest)]) {
      for (const [id, n] of Object.entries(part)) into[id] = (into[id] ?? 0) + n;
    }
  }
}

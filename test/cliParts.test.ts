/**
 * The parts of the `ganvas` command that need no model (issue 19, mutation testing of src/cli): option parsers,
 * shard resolution from --shard and scheduler variables, chunk and shard arithmetic (worked by hand), file names,
 * progress lines (with a controlled clock), the output layout, job specs and the resumable chunked job with a
 * counting task, and the top-level program's exit statuses. All in this process (test/cliHarness.ts).
 */
import { expect } from 'chai';
import { InvalidArgumentError } from 'commander';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GanvasError } from 'ganvas';
import { cli, ganvasHere } from './cliHarness';
import { rejectsGanvas, stderrOf, throwsGanvas } from './util';

function rejectsArg(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(InvalidArgumentError);
    expect((e as Error).message).to.equal(message);
    return;
  }
  throw new Error(`expected InvalidArgumentError "${message}"`);
}

describe('ganvas command line parts (in process)', function () {
  this.timeout(120000);

  describe('option parsers', () => {
    it('intOption: whole numbers at least min, with the option named in the refusal', () => {
      const { intOption } = cli.common();
      const workers = intOption(1, '--workers');
      expect(workers('3')).to.equal(3);
      expect(workers(' 12 ')).to.equal(12);
      expect(workers('1')).to.equal(1);
      rejectsArg(() => workers('0'), '--workers must be at least 1, got 0');
      rejectsArg(() => workers('1.5'), '--workers must be a whole number, got "1.5"');
      rejectsArg(() => workers('2x'), '--workers must be a whole number, got "2x"');
      rejectsArg(() => workers('x2'), '--workers must be a whole number, got "x2"');
      rejectsArg(() => workers(''), '--workers must be a whole number, got ""');
      const seed = intOption(-5, '--seed');
      expect(seed('-5')).to.equal(-5);
      expect(seed('0')).to.equal(0);
      rejectsArg(() => seed('-6'), '--seed must be at least -5, got -6');
    });

    it('numberOption: finite numbers in [lo, hi], bounds included', () => {
      const { numberOption } = cli.common();
      const share = numberOption('--keep-share', 0, 1);
      expect(share('0')).to.equal(0);
      expect(share('1')).to.equal(1);
      expect(share('0.25')).to.equal(0.25);
      for (const bad of ['', ' ', '-0.01', '1.01', 'NaN', 'Infinity', 'abc']) {
        rejectsArg(() => share(bad), `--keep-share must be a number in [0, 1], got "${bad}"`);
      }
    });

    it('defaultThreads: the cores divided among the workers, at least 1', () => {
      const { defaultThreads } = cli.common();
      const cores = os.cpus().length;
      expect(defaultThreads(1)).to.equal(cores);
      expect(defaultThreads(cores * 2)).to.equal(1);
      expect(defaultThreads(cores + 1)).to.equal(1);
    });
  });

  describe('shards', () => {
    const env = (e: Record<string, string>): NodeJS.ProcessEnv => e;

    it('--shard i/n: parsed with spaces allowed, checked against n, or refused', () => {
      const { resolveShard } = cli.shard();
      expect(resolveShard('3/8', undefined, env({}))).to.deep.equal({ index: 3, count: 8, source: '--shard' });
      expect(resolveShard(' 0 / 1 ', undefined, env({}))).to.deep.equal({ index: 0, count: 1, source: '--shard' });
      // --shard wins over the scheduler's variables.
      expect(resolveShard('1/2', undefined, env({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '4' }))).to.deep.equal({ index: 1, count: 2, source: '--shard' });
      for (const bad of ['1of4', '1/', '/4', '-1/4', '1/4/2', 'a/b', '1.0/4', 'x1/4', '1/4x']) {
        expect(throwsGanvas(() => resolveShard(bad, undefined, env({})), 'BAD_INPUT').message).to.equal(`--shard must be "i/n" (0-based shard i of n, e.g. 0/4), got "${bad}"`);
      }
      expect(throwsGanvas(() => resolveShard('4/4', undefined, env({}))).message).to.equal('--shard: shard index 4 is out of range; with 4 shard(s) it must be 0…3');
      expect(throwsGanvas(() => resolveShard('0/0', undefined, env({}))).message).to.equal('--shard: the shard count must be at least 1, got 0');
      expect(resolveShard(undefined, undefined, env({}))).to.equal(undefined);
      expect(resolveShard(undefined, undefined, env({ SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '' }))).to.equal(undefined);
    });

    it('Slurm arrays: index = (id − min) / step, count from SLURM_ARRAY_TASK_COUNT; irregular arrays refused', () => {
      const { resolveShard } = cli.shard();
      const slurm = (id: string, count: string, more: Record<string, string> = {}) => resolveShard(undefined, undefined, env({ SLURM_ARRAY_TASK_ID: id, SLURM_ARRAY_TASK_COUNT: count, ...more }));
      expect(slurm('2', '4')).to.deep.equal({ index: 2, count: 4, source: 'SLURM_ARRAY_TASK_ID' });
      expect(slurm('0', '1')).to.deep.equal({ index: 0, count: 1, source: 'SLURM_ARRAY_TASK_ID' });
      // --array=4-6: min 4, max 6.
      expect(slurm('5', '3', { SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_MAX: '6' })).to.deep.equal({ index: 1, count: 3, source: 'SLURM_ARRAY_TASK_ID' });
      // --array=10-16:3 → ids 10, 13, 16: id 16 is index 2.
      expect(slurm('16', '3', { SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_MAX: '16', SLURM_ARRAY_TASK_STEP: '3' })).to.deep.equal({ index: 2, count: 3, source: 'SLURM_ARRAY_TASK_ID' });
      // Without MAX it is min + (count − 1)·step.
      expect(slurm('13', '3', { SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_STEP: '3' })).to.deep.equal({ index: 1, count: 3, source: 'SLURM_ARRAY_TASK_ID' });
      expect(throwsGanvas(() => resolveShard(undefined, undefined, env({ SLURM_ARRAY_TASK_ID: '1' }))).message).to.equal('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard i/n explicitly');
      expect(throwsGanvas(() => slurm('3', '3', { SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '7' })).message).to.equal(
        'the Slurm array (ids 0…7, step 1, 3 tasks) is not a regular range; submit it as --array=0-2 or pass --shard i/n explicitly',
      );
      // id 11 is not on the step-3 grid from 10.
      expect(throwsGanvas(() => slurm('11', '3', { SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_STEP: '3' })).message).to.match(/^the Slurm array \(ids 10…16, step 3, 3 tasks\) is not a regular range/);
      expect(throwsGanvas(() => slurm('0', '2', { SLURM_ARRAY_TASK_STEP: '0', SLURM_ARRAY_TASK_MAX: '0' })).message).to.match(/step 0, 2 tasks\) is not a regular range/);
      // An id beyond the array: index 3 of 3.
      expect(throwsGanvas(() => slurm('3', '3', { SLURM_ARRAY_TASK_MAX: '3' })).message).to.match(/not a regular range/);
      expect(throwsGanvas(() => slurm('3', '3', { SLURM_ARRAY_TASK_MAX: '2' })).message).to.equal('SLURM_ARRAY_TASK_ID: shard index 3 is out of range; with 3 shard(s) it must be 0…2');
      expect(throwsGanvas(() => slurm('3', '3')).message).to.equal('SLURM_ARRAY_TASK_ID: shard index 3 is out of range; with 3 shard(s) it must be 0…2');
      for (const [k, v] of [['SLURM_ARRAY_TASK_MIN', 'x'], ['SLURM_ARRAY_TASK_STEP', '-1'], ['SLURM_ARRAY_TASK_MAX', '1.5'], ['SLURM_ARRAY_TASK_COUNT', 'four']]) {
        expect(throwsGanvas(() => slurm('0', '4', { [k]: v })).message, k).to.equal(`${k} must be a whole number, got "${v}"`);
      }
      expect(throwsGanvas(() => slurm('a1', '4')).message).to.equal('SLURM_ARRAY_TASK_ID must be a whole number, got "a1"');
      expect(slurm(' 1 ', ' 4 ')).to.deep.equal({ index: 1, count: 4, source: 'SLURM_ARRAY_TASK_ID' });
    });

    it('Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX with --shard-count; --shard-count alone refused', () => {
      const { resolveShard } = cli.shard();
      expect(resolveShard(undefined, 3, env({ JOB_COMPLETION_INDEX: '2' }))).to.deep.equal({ index: 2, count: 3, source: 'JOB_COMPLETION_INDEX' });
      expect(throwsGanvas(() => resolveShard(undefined, undefined, env({ JOB_COMPLETION_INDEX: '1' }))).message).to.equal(
        "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): pass --shard-count with the Job's completions",
      );
      expect(throwsGanvas(() => resolveShard(undefined, 3, env({ JOB_COMPLETION_INDEX: '3' }))).message).to.equal('JOB_COMPLETION_INDEX: shard index 3 is out of range; with 3 shard(s) it must be 0…2');
      expect(throwsGanvas(() => resolveShard(undefined, 3, env({ JOB_COMPLETION_INDEX: '-1' }))).message).to.equal('JOB_COMPLETION_INDEX must be a whole number, got "-1"');
      expect(throwsGanvas(() => resolveShard(undefined, 2, env({}))).message).to.equal(
        '--shard-count is given but no shard index: pass --shard i/n, or run inside a Slurm array or a Kubernetes Indexed Job',
      );
      // Slurm comes before Kubernetes.
      expect(resolveShard(undefined, 5, env({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2', JOB_COMPLETION_INDEX: '4' }))?.source).to.equal('SLURM_ARRAY_TASK_ID');
    });

    it('chunks at multiples of the size; shard i of n takes chunks ⌊iK/n⌋ … ⌊(i+1)K/n⌋ − 1 (worked by hand)', () => {
      const { chunkRanges, shardChunks } = cli.shard();
      expect(chunkRanges(10, 4)).to.deep.equal([[0, 4], [4, 8], [8, 10]]);
      expect(chunkRanges(8, 4)).to.deep.equal([[0, 4], [4, 8]]);
      expect(chunkRanges(1, 4)).to.deep.equal([[0, 1]]);
      expect(chunkRanges(0, 4)).to.deep.equal([]);
      const seven = chunkRanges(7, 1);
      const s = (index: number, count: number) => shardChunks(seven, { index, count, source: 't' }).map((r) => r[0]);
      // K = 7, n = 3: ⌊0⌋=0, ⌊7/3⌋=2, ⌊14/3⌋=4, 7.
      expect([s(0, 3), s(1, 3), s(2, 3)]).to.deep.equal([[0, 1], [2, 3], [4, 5, 6]]);
      // K = 3, n = 5: 0, 0, 1, 1, 2, 3.
      const three = chunkRanges(3, 1);
      expect([0, 1, 2, 3, 4].map((i) => shardChunks(three, { index: i, count: 5, source: 't' }).length)).to.deep.equal([0, 1, 0, 1, 1]);
      const all = shardChunks(seven, undefined);
      expect(all).to.deep.equal(seven);
      expect(all).not.to.equal(seven);
    });

    it('shard file names: ".shard-iiii-of-nnnn" before the extension, wider for 10000+ shards', () => {
      const { shardTag, shardFile } = cli.shard();
      const sh = (index: number, count: number) => ({ index, count, source: 't' });
      expect(shardTag(sh(3, 8))).to.equal('shard-0003-of-0008');
      expect(shardTag(sh(3, 12345))).to.equal('shard-00003-of-12345');
      expect(shardTag(sh(9999, 10000))).to.equal('shard-09999-of-10000');
      expect(shardFile(path.join('out', 'scan.json'), sh(3, 8))).to.equal(path.join('out', 'scan.shard-0003-of-0008.json'));
      expect(shardFile('scan', sh(0, 2))).to.equal('scan.shard-0000-of-0002');
      expect(shardFile(path.join('a.b', 'c.tar.gz'), sh(1, 2))).to.equal(path.join('a.b', 'c.tar.shard-0001-of-0002.gz'));
      expect(shardFile(path.join('out', 'scan.json'), undefined)).to.equal(path.join('out', 'scan.json'));
    });
  });

  describe('progress', () => {
    it('formatDuration: s, m + ss, h + mm; "?" when unknown', () => {
      const { formatDuration } = cli.progress();
      const cases: [number, string][] = [[NaN, '?'], [Infinity, '?'], [-Infinity, '?'], [-5, '0s'], [0, '0s'], [0.4, '0s'], [59.4, '59s'], [59.5, '1m00s'], [61, '1m01s'], [600, '10m00s'], [3599, '59m59s'], [3600, '1h00m'], [3661, '1h01m'], [7322, '2h02m'], [36000, '10h00m']];
      for (const [s, text] of cases) expect(formatDuration(s), String(s)).to.equal(text);
    });

    /** Runs fn with Date.now() returning `clock.t` (ms). */
    function withClock<T>(fn: (clock: { t: number }) => T): T {
      const real = Date.now;
      const clock = { t: 1_700_000_000_000 };
      Date.now = () => clock.t;
      try {
        return fn(clock);
      } finally {
        Date.now = real;
      }
    }
    const sink = (isTTY: boolean) => {
      const lines: string[] = [];
      return { lines, stream: { isTTY, write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WriteStream };
    };

    it('not a terminal: a line every `interval` seconds with rate and ETA, the resumed items not in the rate', () => {
      const { Progress } = cli.progress();
      withClock((clock) => {
        const t0 = clock.t;
        const { lines, stream } = sink(false);
        const p = new Progress('scan', 20, 4, { stream, interval: 5 });
        expect(lines).to.deep.equal(['scan: resuming, 4/20 already done\n']);
        p.update(6); // at t0: the first line, no rate yet
        expect(lines[1]).to.equal(`${new Date(t0).toISOString()} scan: 6/20 (30.0%) ?/s ETA ?\n`);
        clock.t = t0 + 4999;
        p.update(8);
        expect(lines).to.have.length(2);
        clock.t = t0 + 5000;
        p.update(9); // (9 − 4) items in 5 s: 1/s; 11 left: 11 s
        expect(lines[2]).to.equal(`${new Date(t0 + 5000).toISOString()} scan: 9/20 (45.0%) 1.0/s ETA 11s\n`);
        clock.t = t0 + 9999;
        p.update(10);
        expect(lines).to.have.length(3);
        clock.t = t0 + 10000;
        p.update(24); // clamped to the total
        expect(lines[3]).to.equal(`${new Date(t0 + 10000).toISOString()} scan: 20/20 (100.0%) 1.6/s ETA 0s\n`);
        clock.t = t0 + 125000;
        p.finish(); // 16 items in 125 s = 0.128/s
        expect(lines[4]).to.equal('scan: 20/20 (100.0%) 0.1/s ETA 0s, 2m05s in all\n');
        expect(lines).to.have.length(5);
      });
    });

    it('the default interval is 10 s; no rate in the first half second', () => {
      const { Progress } = cli.progress();
      withClock((clock) => {
        const t0 = clock.t;
        const { lines, stream } = sink(false);
        const p = new Progress('x', 10, 0, { stream });
        expect(lines).to.deep.equal([]);
        p.update(1);
        clock.t = t0 + 9999;
        p.update(2);
        expect(lines).to.have.length(1);
        clock.t = t0 + 10000;
        p.update(5); // 5 in 10 s: 0.5/s, 5 left: 10 s
        expect(lines[1]).to.equal(`${new Date(t0 + 10000).toISOString()} x: 5/10 (50.0%) 0.5/s ETA 10s\n`);
        clock.t = t0 + 499;
        const q = new Progress('y', 10, 0, { stream });
        clock.t = t0 + 499 + 499;
        q.update(3);
        expect(lines[2]).to.match(/ y: 3\/10 \(30\.0%\) \?\/s ETA \?\n$/);
        clock.t = t0 + 499 + 500;
        q.finish(); // 3 in 0.5 s: 6/s, 7 left: 1.17 s → 1s
        expect(lines[3]).to.equal('y: 3/10 (30.0%) 6.0/s ETA 1s, 1s in all\n');
      });
    });

    it('a terminal: a redrawn 30-column bar at most every 100 ms, always at the end; nothing when quiet', () => {
      const { Progress } = cli.progress();
      withClock((clock) => {
        const t0 = clock.t;
        const { lines, stream } = sink(true);
        const p = new Progress('ds', 4, 0, { stream });
        p.update(1);
        expect(lines).to.deep.equal([`\rds [${'#'.repeat(8)}${'.'.repeat(22)}] 1/4 (25.0%) ?/s ETA ?\x1b[K`]);
        clock.t = t0 + 99;
        p.update(2);
        expect(lines).to.have.length(1);
        clock.t = t0 + 100;
        p.update(3); // round(30·3/4) = 23 (22.5 rounds up)
        expect(lines[1]).to.equal(`\rds [${'#'.repeat(23)}${'.'.repeat(7)}] 3/4 (75.0%) ?/s ETA ?\x1b[K`);
        clock.t = t0 + 150;
        p.update(4); // done: drawn although within 100 ms
        expect(lines[2]).to.equal(`\rds [${'#'.repeat(30)}] 4/4 (100.0%) ?/s ETA ?\x1b[K`);
        clock.t = t0 + 2000;
        p.finish();
        expect(lines[3]).to.equal('\rds: 4/4 (100.0%) 2.0/s ETA 0s, 2s in all\x1b[K\n');
        const empty = new Progress('none', 0, 0, { stream });
        empty.update(0);
        expect(lines[4]).to.equal(`\rnone [${'#'.repeat(30)}] 0/0 (100.0%) ?/s ETA ?\x1b[K`);
        const quiet = sink(true);
        const q = new Progress('q', 4, 2, { stream: quiet.stream, quiet: true });
        q.update(3);
        q.finish();
        expect(quiet.lines).to.deep.equal([]);
      });
    });
  });

  describe('tasks, output layout, job specs', () => {
    it('taskFor: the command\'s own chunk task, loaded on demand; unknown names refused', () => {
      const { taskFor } = cli.tasks();
      expect(taskFor('scan')).to.equal(cli.scan().scanTask);
      expect(taskFor('invert')).to.equal(cli.invert().invertTask);
      expect(taskFor('dataset')).to.have.keys(['open', 'run', 'close']);
      expect(taskFor('dataset')).not.to.equal(taskFor('scan'));
      for (const bad of ['merge', 'toString', '']) expect(throwsGanvas(() => taskFor(bad), 'BAD_INPUT').message).to.equal(`no chunked task "${bad}"`);
    });

    it('assemble keeps the header\'s key order, then entries, job and (in a shard) shard; serialize: datasets indented', () => {
      const { assemble, serialize } = cli.output();
      const job = { command: 'scan', args: { count: 2 }, models: {} };
      const whole = assemble({ format: 'ganvas-scan/1', z: 1, a: 2 }, [7, 8], job);
      expect(Object.keys(whole)).to.deep.equal(['format', 'z', 'a', 'entries', 'job']);
      const shard = { index: 1, count: 2, from: 1, to: 2 };
      const part = assemble({ format: 'ganvas-scan/1' }, [8], job, shard);
      expect(Object.keys(part)).to.deep.equal(['format', 'entries', 'job', 'shard']);
      expect(part.shard).to.equal(shard);
      expect(serialize(whole)).to.equal('{"format":"ganvas-scan/1","z":1,"a":2,"entries":[7,8],"job":{"command":"scan","args":{"count":2},"models":{}}}');
      expect(serialize({ format: 'ganvas-dataset/1', entries: [1] })).to.equal('{\n "format": "ganvas-dataset/1",\n "entries": [\n  1\n ]\n}');
    });

    it('canonical sorts object keys at every depth, keeps arrays; specDifferences names what differs', () => {
      const { canonical, specDifferences } = cli.job();
      expect(canonical({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: null } })).to.equal('{"a":{"c":null,"d":[3,{"x":2,"y":1}]},"b":1}');
      expect(canonical({ B: 1, a: 2, A: 3 })).to.equal('{"A":3,"B":1,"a":2}');
      expect(canonical([2, 1])).to.equal('[2,1]');
      const hexA = 'a'.repeat(64);
      const hexB = 'b'.repeat(64);
      const a = { command: 'scan', args: { count: 10, seed: 0, name: 'x'.repeat(70), list: [1, 2] }, models: { 'g/model.onnx': hexA, 'g/ganvas.json': hexA } };
      const b = { command: 'scan', args: { count: 20, seed: 0, name: 'x'.repeat(70), list: [1, 2], extra: true }, models: { 'g/model.onnx': hexB, 'g/ganvas.json': hexA } };
      expect(specDifferences(a, b)).to.deep.equal({ models: [`g/model.onnx: ${'a'.repeat(12)}… → ${'b'.repeat(12)}…`], args: ['--count: 10 → 20', '--extra: (none) → true'] });
      const c = { ...a, command: 'dataset', args: { ...a.args, name: 'y'.repeat(70) } };
      expect(specDifferences(a, c)).to.deep.equal({ models: [], args: [`--name: "${'x'.repeat(56)}… → "${'y'.repeat(56)}…`, 'command: scan → dataset'] });
      expect(specDifferences(a, a)).to.deep.equal({ models: [], args: [] });
      // A 64-character string that is not hex is shown as JSON (and cut at 60).
      const d = { ...a, args: { ...a.args, name: 'G'.repeat(64) } };
      expect(specDifferences(d, a).args[0]).to.equal(`--name: "${'G'.repeat(56)}… → "${'x'.repeat(56)}…`);
      const e = { ...a, args: { ...a.args, name: 'x'.repeat(58) } };
      expect(specDifferences(e, a).args[0]).to.equal(`--name: "${'x'.repeat(58)}" → "${'x'.repeat(56)}…`);
      // Only a whole digest is shortened to 12 characters: hex with anything before or after it is a plain value.
      const f = { ...a, args: { ...a.args, name: `v${hexA}` } };
      const g = { ...a, args: { ...a.args, name: `${hexA}!` } };
      expect(specDifferences(f, g).args[0]).to.equal(`--name: "v${'a'.repeat(55)}… → "${'a'.repeat(56)}…`);
    });

    it('fileDigest is the SHA-256 of the file; a missing file is a clear error', async () => {
      const { fileDigest } = cli.job();
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cliparts-'));
      try {
        const f = path.join(dir, 'a.bin');
        const bytes = Buffer.from('hello ganvas');
        await fs.writeFile(f, bytes);
        expect(await fileDigest(f)).to.equal(createHash('sha256').update(bytes).digest('hex'));
        const err = await rejectsGanvas(fileDigest(path.join(dir, 'none')), 'BAD_INPUT');
        expect(err.message).to.match(new RegExp(`^cannot read ${path.join(dir, 'none').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} to take its digest: .*ENOENT`));
        expect((err as Error & { cause?: { code?: string } }).cause?.code).to.equal('ENOENT');
        expect(cli.job().chunkFile(dir, [16, 32])).to.equal(path.join(dir, 'chunk-000000016-000000032.json'));
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });

    it('prepareDir creates and proves a directory writable; removeWorkDir removes .ganvas-work with its last job', async () => {
      const { prepareDir, removeWorkDir } = cli.job();
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cliparts-'));
      try {
        const deep = path.join(dir, 'a', 'b');
        await prepareDir(deep, 'the test directory');
        expect(await fs.readdir(deep)).to.deep.equal([]);
        await fs.writeFile(path.join(dir, 'file'), 'x');
        const err = await rejectsGanvas(prepareDir(path.join(dir, 'file', 'sub'), 'the output directory'), 'BAD_INPUT');
        expect(err.message).to.match(/^cannot write the output directory .*file\/sub: .*\. Choose a writable location for --out\.$/);
        const work = path.join(dir, 'ds', '.ganvas-work');
        for (const w of ['shard-0000-of-0002', 'shard-0001-of-0002']) await fs.mkdir(path.join(work, w, 'part'), { recursive: true });
        await removeWorkDir(path.join(work, 'shard-0000-of-0002'));
        expect(await fs.readdir(work)).to.deep.equal(['shard-0001-of-0002']);
        await removeWorkDir(path.join(work, 'shard-0001-of-0002'));
        expect(await fs.readdir(path.join(dir, 'ds'))).to.deep.equal([]);
        // Another parent's name: left alone.
        await fs.mkdir(path.join(dir, 'keep', 'job'), { recursive: true });
        await removeWorkDir(path.join(dir, 'keep', 'job'));
        expect(await fs.readdir(dir)).to.include('keep');
        await removeWorkDir(path.join(dir, 'never-made'));
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('runJob: chunks, resume, refusals (a counting task, no model)', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cliparts-job-'));
    });
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    /** Each chunk's result: its items squared; counts opens, runs and closes. */
    function squares() {
      const log: string[] = [];
      const task = {
        open: async (o: { base: number }, threads: number) => (log.push(`open ${o.base} ${threads}`), { base: o.base }),
        run: async (ctx: { base: number }, r: [number, number], c: { workDir: string; onProgress: (d: number) => void }) => {
          log.push(`run ${r[0]}-${r[1]} ${path.basename(c.workDir)}`);
          c.onProgress(1);
          return Array.from({ length: r[1] - r[0] }, (_, i) => ctx.base + (r[0] + i) ** 2);
        },
        close: async () => void log.push('close'),
      };
      return { log, task };
    }
    const plan = (over: Record<string, unknown> = {}) => ({
      spec: { command: 'test', args: { count: 10 }, models: { 'm/model.onnx': 'f'.repeat(64) } },
      total: 10, chunkSize: 4, workDir: path.join(dir, 'work'), workers: 1, threads: 2, open: { base: 100 },
      progress: { label: 'test', quiet: true }, ...over,
    });

    it('runs every chunk in order in this process, writes each chunk file and job.json; a rerun computes nothing', async () => {
      const { runJob, chunkFile } = cli.job();
      const { log, task } = squares();
      const results = await runJob(plan(), task);
      expect(results).to.deep.equal([[100, 101, 104, 109], [116, 125, 136, 149], [164, 181]]);
      expect(log).to.deep.equal(['open 100 2', 'run 0-4 work', 'run 4-8 work', 'run 8-10 work', 'close']);
      const work = path.join(dir, 'work');
      expect((await fs.readdir(work)).sort()).to.deep.equal(['chunk-000000000-000000004.json', 'chunk-000000004-000000008.json', 'chunk-000000008-000000010.json', 'job.json']);
      expect(JSON.parse(await fs.readFile(chunkFile(work, [8, 10]), 'utf8'))).to.deep.equal([164, 181]);
      expect(JSON.parse(await fs.readFile(path.join(work, 'job.json'), 'utf8'))).to.deep.equal({ format: 'ganvas-job/1', spec: plan().spec, total: 10, chunkSize: 4, shard: null });
      log.length = 0;
      expect(await runJob(plan(), task)).to.deep.equal(results);
      expect(log, 'no chunk left: no open').to.deep.equal([]);
    });

    it('resumes: only the chunks without a file are computed; the others are read back as they are', async () => {
      const { runJob, chunkFile } = cli.job();
      const { log, task } = squares();
      await runJob(plan(), task);
      const work = path.join(dir, 'work');
      await fs.rm(chunkFile(work, [4, 8]));
      await fs.writeFile(chunkFile(work, [0, 4]), '["kept"]');
      log.length = 0;
      let err = '';
      const saved = process.stderr.write;
      process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
      try {
        expect(await runJob(plan({ progress: { label: 'again', interval: 3600 } }), task)).to.deep.equal([['kept'], [116, 125, 136, 149], [164, 181]]);
      } finally {
        process.stderr.write = saved;
      }
      expect(log).to.deep.equal(['open 100 2', 'run 4-8 work', 'close']);
      expect(err.split('\n')[0]).to.equal('again: resuming, 6/10 already done');
      expect(err).to.match(/\nagain: 10\/10 \(100\.0%\) .* in all\n$/);
    });

    it('progress counts the items of finished chunks plus those reported inside the running one', async () => {
      const { runJob } = cli.job();
      const { task } = squares();
      const seen = await stderrOf(() => runJob(plan({ progress: { label: 'p', interval: 0 } }), task));
      // Each chunk reports 1 item done, then its whole size when it is written: 1, 4 | 5, 8 | 9, 10.
      const counts = [...seen.matchAll(/ p: (\d+)\/10 /g)].map((m) => Number(m[1]));
      expect(counts).to.deep.equal([1, 4, 5, 8, 9, 10]);
    });

    it('a work directory that cannot be made is named as such, by runJob and claimJob, with the cause kept', async () => {
      const { runJob, claimJob } = cli.job();
      const file = path.join(dir, 'a-file');
      await fs.writeFile(file, 'x');
      const work = path.join(file, 'work');
      for (const p of [runJob(plan({ workDir: work }), squares().task), claimJob(work, plan().spec)]) {
        const e = await rejectsGanvas(p, 'BAD_INPUT');
        expect(e.message).to.match(new RegExp(`^cannot write the work directory ${work}: .*ENOTDIR.*\\. Choose a writable location for --out\\.$`));
        expect((e as Error & { cause?: { code?: string } }).cause?.code).to.equal('ENOTDIR');
      }
    });

    it('a shard computes its own chunks only and records the shard in job.json', async () => {
      const { runJob } = cli.job();
      const { log, task } = squares();
      const results = await runJob(plan({ shard: { index: 1, count: 2, source: 't' } }), task);
      // K = 3 chunks, shard 1 of 2: chunks ⌊3/2⌋ = 1 … 2.
      expect(results).to.deep.equal([[116, 125, 136, 149], [164, 181]]);
      expect(log).to.deep.equal(['open 100 2', 'run 4-8 work', 'run 8-10 work', 'close']);
      expect(JSON.parse(await fs.readFile(path.join(dir, 'work', 'job.json'), 'utf8')).shard).to.deep.equal({ index: 1, count: 2 });
    });

    it('refuses to resume with other models, other arguments, another shard or other chunks; a torn job.json is replaced', async () => {
      const { runJob } = cli.job();
      const { log, task } = squares();
      await runJob(plan(), task);
      const work = path.join(dir, 'work');
      const other = await rejectsGanvas(runJob(plan({ spec: { ...plan().spec, models: { 'm/model.onnx': 'e'.repeat(64) } } }), task), 'BAD_INPUT');
      expect(other.message).to.equal(
        `the model files changed since the interrupted run in ${work} started (m/model.onnx: ${'f'.repeat(12)}… → ${'e'.repeat(12)}…); ` +
          `its finished chunks were computed with the old model and cannot be mixed with new ones. Restore the old model, or delete ${work} to start over with the new one.`,
      );
      const args = await rejectsGanvas(runJob(plan({ spec: { ...plan().spec, args: { count: 12 } } }), task), 'BAD_INPUT');
      expect(args.message).to.equal(`${work} holds an interrupted run with other arguments (--count: 10 → 12); rerun with the same arguments to resume it, or delete ${work} to start over.`);
      const shard = await rejectsGanvas(runJob(plan({ shard: { index: 0, count: 2, source: 't' } }), task), 'BAD_INPUT');
      expect(shard.message).to.equal(`${work} holds an interrupted run with other arguments (shard: null → {"index":0,"count":2}); rerun with the same arguments to resume it, or delete ${work} to start over.`);
      const chunks = await rejectsGanvas(runJob(plan({ chunkSize: 5 }), task), 'BAD_INPUT');
      expect(chunks.message).to.equal(`${work} holds an interrupted run with other arguments (chunking differs); rerun with the same arguments to resume it, or delete ${work} to start over.`);
      // Both: the models are named first.
      const both = await rejectsGanvas(runJob(plan({ spec: { command: 'test', args: { count: 12 }, models: {} } }), task));
      expect(both.message).to.match(/^the model files changed/);
      // job.json that is not JSON, or not a job file: written anew, and the run goes on.
      for (const text of ['{"format": "ganvas-jo', '{"format":"other"}']) {
        await fs.writeFile(path.join(work, 'job.json'), text);
        log.length = 0;
        expect(await runJob(plan({ spec: { ...plan().spec, args: { count: 12 } } }), task)).to.have.length(3);
        expect(JSON.parse(await fs.readFile(path.join(work, 'job.json'), 'utf8')).spec.args).to.deep.equal({ count: 12 });
      }
      // claimJob: the same check for one-piece commands, with total = chunkSize = 1.
      const { claimJob } = cli.job();
      const one = path.join(dir, 'one');
      await claimJob(one, plan().spec);
      expect(JSON.parse(await fs.readFile(path.join(one, 'job.json'), 'utf8'))).to.deep.equal({ format: 'ganvas-job/1', spec: plan().spec, total: 1, chunkSize: 1, shard: null });
      await claimJob(one, plan().spec);
      expect((await rejectsGanvas(claimJob(one, { ...plan().spec, args: { count: 3 } }))).message).to.match(/holds an interrupted run with other arguments \(--count: 10 → 3\)/);
    });

    it('a task that fails: closed, the finished chunks kept, the error passed on', async () => {
      const { runJob } = cli.job();
      const log: string[] = [];
      const task = {
        open: async () => ({}),
        run: async (_c: unknown, r: [number, number]) => {
          if (r[0] === 4) throw new GanvasError('RUNTIME', 'chunk 4 broke');
          return [r[0]];
        },
        close: async () => void log.push('close'),
      };
      const err = await rejectsGanvas(runJob(plan(), task), 'RUNTIME');
      expect(err.message).to.equal('chunk 4 broke');
      expect(log).to.deep.equal(['close']);
      expect((await fs.readdir(path.join(dir, 'work'))).filter((f) => f.startsWith('chunk-'))).to.deep.equal(['chunk-000000000-000000004.json']);
    });

    it('progress: the items of a chunk in progress count before the chunk is done', async () => {
      const { runJob } = cli.job();
      const real = Date.now;
      let t = 1_700_000_000_000;
      Date.now = () => t;
      const seen: string[] = [];
      const saved = process.stderr.write;
      process.stderr.write = ((s: string) => (seen.push(s), true)) as typeof process.stderr.write;
      try {
        const task = {
          open: async () => ({}),
          run: async (_c: unknown, r: [number, number], c: { onProgress: (d: number) => void }) => {
            t += 1000;
            c.onProgress(2);
            return [];
          },
          close: async () => undefined,
        };
        await runJob(plan({ progress: { label: 'p', interval: 1 } }), task);
      } finally {
        process.stderr.write = saved;
        Date.now = real;
      }
      // A line a second: at 1 s (2 items of chunk 0), at 2 s (4 done + 2 of chunk 1), at 3 s (8 + 2), then the last.
      const counts = seen.map((l) => /p: (\d+)\/10/.exec(l)?.[1]);
      expect(counts).to.deep.equal(['2', '6', '10', '10']);
    });
  });

  describe('the program', () => {
    it('loads only the named command\'s module; all of them for --help or an unknown name', () => {
      const { program } = cli.main();
      const names = (argv?: string[]) => program(argv).commands.map((c) => c.name());
      expect(names(['node', 'ganvas', 'merge', 'x'])).to.deep.equal(['merge']);
      expect(names(['node', 'ganvas', 'grid-inversion'])).to.deep.equal(['grid-inversion']);
      expect(names(['node', 'ganvas', 'stitch-train'])).to.deep.equal(['stitch-train']);
      const all = ['scan', 'dataset', 'invert', 'merge', 'stitch-train', 'grid-inversion'];
      expect(names(['node', 'ganvas', '--help'])).to.deep.equal(all);
      expect(names(['node', 'ganvas', 'constructor'])).to.deep.equal(all);
      expect(names(undefined)).to.deep.equal(all);
      expect(program().name()).to.equal('ganvas');
    });

    it('every command\'s --help: a description, and text for each option', async () => {
      const intro: Record<string, RegExp> = {
        scan: /^tileability scan \(paper 000 §4\.2\)/, dataset: /^painted segmentation dataset \(paper 000 §4\.3\)/, invert: /^gradient-descent inversion baselines \(paper 003 §3\.3/,
        merge: /^combine shard outputs/, 'stitch-train': /^train a stitch \(paper 003/, 'grid-inversion': /^grid-size inversion \(paper 000, appendix Algorithm 1\)/,
      };
      for (const [c, first] of Object.entries(intro)) {
        const r = await ganvasHere([c, '--help']);
        expect(r.code, c).to.equal(0);
        const text = r.stdout.split('\n\n');
        expect(text[0]).to.match(new RegExp(`^Usage: ganvas ${c} `));
        expect(text[1], c).to.match(first);
        const lines = r.stdout.slice(r.stdout.indexOf('\nOptions:\n')).split('\n').slice(2);
        // Each option (a line starting "  -") has its text after two spaces or more, or on the next, indented line.
        lines.forEach((l, i) => {
          if (/^\s+-/.test(l)) expect(/\S\s{2,}\S/.test(l.trim()) || /^\s{10,}\S/.test(lines[i + 1] ?? ''), `${c}: ${l}`).to.equal(true);
        });
        const options = lines.filter((l) => /^\s+-/.test(l)).length;
        expect(options, c).to.be.at.least(3);
      }
      // Every option of every command explains itself (not only those whose help line shows a default).
      for (const c of cli.main().program().commands) {
        for (const o of c.options) expect(o.description.trim().length, `${c.name()} ${o.flags}`).to.be.greaterThan(5);
        expect(c.description().length, c.name()).to.be.greaterThan(30);
      }
      const scan = (await ganvasHere(['scan', '--help'])).stdout.replace(/\s+/g, ' ');
      for (const o of ['--workers', '--threads', '--shard <i/n>', '--shard-count', '--quiet', '--progress-interval']) expect(scan).to.include(o);
      expect(scan).to.match(/--workers <n> worker processes on this machine.* \(default: 1\)/);
      expect(scan).to.match(/--progress-interval <s> seconds between progress lines .* \(default: 10\)/);
      expect(scan).to.match(/--shard <i\/n> run only shard i of n \(0-based\)/);
      expect(scan).to.match(/--shard-count <n> number of shards when the index comes from JOB_COMPLETION_INDEX/);
      expect(scan).to.match(/--threads <n> onnxruntime threads per worker/);
      expect(scan).to.match(/-q, --quiet no progress output/);
      // The defaults each command's help states (those the tests do not run: a run with them takes minutes).
      const help = async (c: string) => (await ganvasHere([c, '--help'])).stdout.replace(/\s+/g, ' ');
      expect(scan).to.match(/--feature-layer <name> layer of the feature extractor .*\(default: "layer2"\)/);
      expect(await help('invert')).to.match(/-l, --layer <name> the classifier layer inverted \(LayerX\) \(default: "layer2"\)/);
      const gi = await help('grid-inversion');
      expect(gi).to.match(/--feature-layer <name> feature layer .*\(default: "layer2"\)/);
      expect(gi).to.match(/--sizes <list> grid sizes, .*\(default: "0,1,2,3,4,5"\)/);
      const st = await help('stitch-train');
      expect(st).to.match(/--validation <set> validation images: .*\(default: "fmnist-test:500"\)/);
      expect(st).to.match(/--init <how> initial weights: .*\(choices: "lstsq", "default", default: "lstsq"\)/);
      expect(st).to.match(/--train <set> training images: .*\(default: "fmnist-train"\)/);
    });

    it('exit statuses: 0 for --version and --help (on stdout), 2 for usage errors with a suggestion, 1 for bad input', async () => {
      const version = JSON.parse(await fs.readFile(require.resolve('ganvas/package.json'), 'utf8')).version as string;
      const v = await ganvasHere(['--version']);
      expect(v).to.deep.equal({ code: 0, stdout: `${version}\n`, stderr: '' });
      const h = await ganvasHere(['--help']);
      expect(h.code).to.equal(0);
      expect(h.stdout).to.match(/^Usage: ganvas \[options\] \[command\]/);
      for (const c of ['scan', 'dataset', 'invert', 'merge', 'stitch-train', 'grid-inversion']) expect(h.stdout).to.match(new RegExp(`\\n  ${c} `));
      expect(h.stdout).to.match(/\nganvas batch jobs: tileability scans, painted datasets and more/);
      // No command: the help, on stderr, status 0; "help" and "help <command>" on stdout.
      const none = await ganvasHere([]);
      expect(none.code).to.equal(0);
      expect(none.stdout).to.equal('');
      expect(none.stderr).to.equal(h.stdout);
      const help = await ganvasHere(['help']);
      expect(help).to.deep.equal({ code: 0, stdout: h.stdout, stderr: '' });
      const mh = await ganvasHere(['merge', '--help']);
      expect(mh.code).to.equal(0);
      expect(mh.stdout).to.match(/^Usage: ganvas merge \[options\] <shards\.\.\.>/);
      const u = await ganvasHere(['scna']);
      expect(u.code).to.equal(2);
      expect(u.stderr).to.equal("error: unknown command 'scna'\n(Did you mean scan?)\n(run with --help for the options)\n");
      const o = await ganvasHere(['merge', 'a.json', '-o', 'b.json', '--quite']);
      expect(o.code).to.equal(2);
      expect(o.stderr).to.equal("error: unknown option '--quite'\n(Did you mean --quiet?)\n(run with --help for the options)\n");
      const m = await ganvasHere(['merge', '-o', 'b.json']);
      expect(m.code).to.equal(2);
      expect(m.stderr).to.match(/^error: missing required argument 'shards'\n/);
      const w = await ganvasHere(['scan', '-g', 'x', '-l', 'y', '-f', 'z', '-o', 'o.json', '--workers', '0']);
      expect(w.code).to.equal(2);
      expect(w.stderr).to.match(/^error: option '-w, --workers <n>' argument '0' is invalid\. --workers must be at least 1, got 0\n/);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cliparts-'));
      try {
        const g = await ganvasHere(['merge', path.join(dir, 'none.json'), '-o', path.join(dir, 'm.json')]);
        expect(g.code).to.equal(1);
        expect(g.stderr).to.match(/^ganvas: error: cannot read shard .*none\.json: .*ENOENT.*\n$/);
        expect(g.stdout).to.equal('');
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });
});

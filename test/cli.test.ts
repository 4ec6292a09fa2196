/**
 * The `ganvas` command (issue 17), run as users run it: a child process per invocation. Checks that every split
 * of a job — worker processes, shards merged, Slurm/Kubernetes shard variables, runs killed with SIGKILL and
 * resumed — writes the same bytes as one uninterrupted single-process run, that the scan's entries are the
 * library's own scan() (computed in this process, independently of the command), and that bad input gets a clear
 * message, a non-zero exit and no output file.
 */
import { expect } from 'chai';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { CLI, Ran, cleanEnv, ganvas } from './cli-helpers';
import { createHash } from 'crypto';
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FeatureExtractor, Generator, Runtime, VectorLibrary, demoModelDir, loadScan, pixelVector, scan } from 'ganvas';

const SCAN = ['scan', '-g', 'fmnist-stylegan', '-l', 'b8.conv1', '-f', 'fmnist-resnet', '--feature-layer', 'layer1', '-n', '96', '--batch', '16', '-q'];

async function exists(f: string): Promise<boolean> {
  return fs.stat(f).then(() => true, () => false);
}

/** Every file under dir (relative path → SHA-256), the job's work directory excluded. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.ganvas-work') await walk(p);
      } else out[path.relative(dir, p)] = createHash('sha256').update(await fs.readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}

function ok(r: Ran): void {
  expect(r.code, `ganvas failed:\n${r.stderr}`).to.equal(0);
}

function fails(r: Ran, message: RegExp, code = 1): void {
  expect(r.code, `expected exit ${code}; stderr:\n${r.stderr}`).to.equal(code);
  expect(r.stderr).to.match(message);
  expect(r.stderr, 'a clear message, not a stack trace').not.to.match(/\n\s+at /);
}

describe('ganvas command line', function () {
  this.timeout(600000);
  let tmp: string;
  let whole: string;
  let wholeBytes: Buffer;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cli-'));
    whole = path.join(tmp, 'whole.json');
    ok(await ganvas([...SCAN, '-o', whole, '--workers', '1']));
    wholeBytes = await fs.readFile(whole);
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('scan: the entries are the library scan() of the same settings, computed in this process', async () => {
    const rt = new Runtime({ threads: 1 });
    try {
      const cut = await (await Generator.open(demoModelDir('fmnist-stylegan'), rt)).cut('b8.conv1');
      const fx = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer1', rt);
      const lib = await scan(cut, fx, { count: 96, batchSize: 16 });
      const out = await loadScan(whole);
      expect(out.entries).to.have.length(96);
      expect(JSON.stringify(out.entries)).to.equal(JSON.stringify(lib.entries));
      const { entries: _a, ...header } = lib;
      const { entries: _b, job, ...outHeader } = out as typeof out & { job: { models: Record<string, string> } };
      expect(outHeader).to.deep.equal(header);
      expect(Object.keys(job.models)).to.include.members(['generator/model.onnx', 'generator/ganvas.json', 'features/model.onnx']);
    } finally {
      await rt.release();
    }
  });

  it('scan --workers 2 and --workers 3 write the bytes of --workers 1', async () => {
    for (const w of ['2', '3']) {
      const f = path.join(tmp, `w${w}.json`);
      ok(await ganvas([...SCAN, '-o', f, '--workers', w, '--threads', '1']));
      expect((await fs.readFile(f)).equals(wholeBytes), `--workers ${w}`).to.equal(true);
    }
  });

  it('scan --shard i/n for n = 4, merged, writes the bytes of one run; refuses missing, duplicated and mismatched shards', async () => {
    const out = path.join(tmp, 'sh.json');
    for (let i = 0; i < 4; i++) ok(await ganvas([...SCAN, '-o', out, '--shard', `${i}/4`]));
    const shards = [0, 1, 2, 3].map((i) => path.join(tmp, `sh.shard-000${i}-of-0004.json`));
    for (const s of shards) expect(await exists(s), s).to.equal(true);
    expect(await exists(out), 'a shard does not write the whole file').to.equal(false);
    const merged = path.join(tmp, 'merged.json');
    ok(await ganvas(['merge', ...shards, '-o', merged]));
    expect((await fs.readFile(merged)).equals(wholeBytes)).to.equal(true);

    const bad = path.join(tmp, 'bad.json');
    fails(await ganvas(['merge', shards[0], shards[1], shards[3], '-o', bad]), /shard 2\/4 is missing/);
    fails(await ganvas(['merge', shards[0], shards[1], shards[1], shards[2], shards[3], '-o', bad]), /shard 1\/4 is given twice/);
    fails(await ganvas(['merge', whole, '-o', bad]), /not a shard/);
    // A shard of another command line (another seed).
    const other = path.join(tmp, 'other.json');
    ok(await ganvas([...SCAN, '--seed', '7', '-o', other, '--shard', '2/4']));
    fails(await ganvas(['merge', shards[0], shards[1], path.join(tmp, 'other.shard-0002-of-0004.json'), shards[3], '-o', bad]), /other arguments.*--seed: 0 → 7/);
    // A shard made with another version of the generator (same weights, edited manifest: another digest).
    const gen2 = path.join(tmp, 'gen2');
    await fs.cp(demoModelDir('fmnist-stylegan'), gen2, { recursive: true });
    await fs.appendFile(path.join(gen2, 'ganvas.json'), '\n');
    const scan2 = SCAN.map((a) => (a === 'fmnist-stylegan' ? gen2 : a));
    ok(await ganvas([...scan2, '-o', other, '--shard', '3/4']));
    fails(await ganvas(['merge', shards[0], shards[1], shards[2], path.join(tmp, 'other.shard-0003-of-0004.json'), '-o', bad]), /other model files.*generator\/ganvas\.json/);
    expect(await exists(bad), 'no output after a refused merge').to.equal(false);
  });

  it('more shards than chunks: empty shards merge too (5 shards of 3 chunks)', async () => {
    const small = SCAN.map((a, i) => (SCAN[i - 1] === '-n' ? '40' : a));
    const one = path.join(tmp, 'few.json');
    ok(await ganvas([...small, '-o', one]));
    const out = path.join(tmp, 'fews.json');
    for (let i = 0; i < 5; i++) ok(await ganvas([...small, '-o', out, '--shard', `${i}/5`]));
    const shards = [0, 1, 2, 3, 4].map((i) => path.join(tmp, `fews.shard-000${i}-of-0005.json`));
    expect(shards.map((f) => JSON.parse(readFileSync(f, 'utf8')).entries.length)).to.deep.equal([0, 16, 0, 16, 8]);
    const merged = path.join(tmp, 'few-merged.json');
    ok(await ganvas(['merge', ...shards, '-o', merged]));
    expect((await fs.readFile(merged)).equals(await fs.readFile(one))).to.equal(true);
  });

  it('shards from SLURM_ARRAY_TASK_ID (array 4-6: SLURM_ARRAY_TASK_MIN = 4) and from JOB_COMPLETION_INDEX merge to the same bytes', async () => {
    const out = path.join(tmp, 'slurm.json');
    for (const id of [4, 5, 6]) {
      ok(await ganvas([...SCAN, '-o', out], { env: { SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_MAX: '6', SLURM_ARRAY_TASK_COUNT: '3' } }));
    }
    const merged = path.join(tmp, 'slurm-merged.json');
    ok(await ganvas(['merge', ...[0, 1, 2].map((i) => path.join(tmp, `slurm.shard-000${i}-of-0003.json`)), '-o', merged]));
    expect((await fs.readFile(merged)).equals(wholeBytes)).to.equal(true);

    const k8s = path.join(tmp, 'k8s.json');
    for (const i of [0, 1]) ok(await ganvas([...SCAN, '-o', k8s, '--shard-count', '2'], { env: { JOB_COMPLETION_INDEX: String(i) } }));
    ok(await ganvas(['merge', path.join(tmp, 'k8s.shard-0000-of-0002.json'), path.join(tmp, 'k8s.shard-0001-of-0002.json'), '-o', merged]));
    expect((await fs.readFile(merged)).equals(wholeBytes)).to.equal(true);
  });

  it('a scan killed with SIGKILL at several moments and rerun each time ends with the bytes of an uninterrupted run', async () => {
    const out = path.join(tmp, 'killed.json');
    const work = path.join(tmp, '.killed.json.all.ganvas-work');
    const run = (): ChildProcess => spawn(process.execPath, [CLI, ...SCAN, '-o', out, '--workers', '2', '--threads', '1'], { env: cleanEnv(), stdio: 'ignore' });
    // A finished run has removed its work directory: it counts as all 6 chunks done.
    const chunksDone = async (): Promise<number> => ((await exists(out)) && !(await exists(work)) ? 6 : (await fs.readdir(work).catch(() => [] as string[])).filter((f) => f.startsWith('chunk-')).length);
    // Kill once as soon as the work directory appears (before any chunk), then after the 1st, 3rd and 5th chunk file
    // appears (of 6). Not after a fixed delay: with the probe cache a whole run can end within 0.8 s.
    const killed: number[] = [];
    for (const after of [0, 1, 3, 5]) {
      const child = run();
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      const t0 = Date.now();
      const ready = async (): Promise<boolean> => (after === 0 ? exists(work) : (await chunksDone()) >= after);
      while (!(await ready()) && child.exitCode === null && Date.now() - t0 < 120000) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGKILL');
      await exited;
      const n = await chunksDone();
      killed.push(n);
      if (n < 6) expect(await exists(out), `no output file after a kill with ${n} of 6 chunks done`).to.equal(false);
    }
    expect(killed.some((n) => n > 0 && n < 6), `kills left ${killed.join(', ')} chunks: at least one mid-run`).to.equal(true);
    // Orphaned workers go away when their parent is killed (their IPC channel closes).
    await new Promise((r) => setTimeout(r, 3000));
    ok(await ganvas([...SCAN, '-o', out, '--workers', '2', '--threads', '1']));
    expect((await fs.readFile(out)).equals(wholeBytes)).to.equal(true);
    expect(await exists(work), 'the work directory is removed after success').to.equal(false);
  });

  it('a worker killed mid-run fails the command clearly (no output); the rerun completes with the same bytes', async () => {
    const out = path.join(tmp, 'workerkill.json');
    const work = path.join(tmp, '.workerkill.json.all.ganvas-work');
    const child = spawn(process.execPath, [CLI, ...SCAN, '-o', out, '--workers', '2', '--threads', '1'], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    while (!(await fs.readdir(work).catch(() => [] as string[])).some((f) => f.startsWith('chunk-')) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    const kids = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n').filter((x) => x !== '');
    expect(kids.length, 'two worker processes').to.equal(2);
    process.kill(Number(kids[0]), 'SIGKILL');
    const code = await exited;
    expect(code, stderr).to.equal(1);
    expect(stderr).to.match(/ganvas: error: worker \d exited with SIGKILL/);
    expect(await exists(out)).to.equal(false);
    ok(await ganvas([...SCAN, '-o', out, '--workers', '2', '--threads', '1']));
    expect((await fs.readFile(out)).equals(wholeBytes)).to.equal(true);
  });

  it('refuses to resume when the model file changed, or with other arguments', async () => {
    const gen = path.join(tmp, 'gen-changing');
    await fs.cp(demoModelDir('fmnist-stylegan'), gen, { recursive: true });
    const args = SCAN.map((a) => (a === 'fmnist-stylegan' ? gen : a));
    const out = path.join(tmp, 'changing.json');
    const work = path.join(tmp, '.changing.json.all.ganvas-work');
    const child = spawn(process.execPath, [CLI, ...args, '-o', out], { env: cleanEnv(), stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    while (!(await fs.readdir(work).catch(() => [] as string[])).some((f) => f.startsWith('chunk-')) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    const onnx = path.join(gen, 'model.onnx');
    const bytes = await fs.readFile(onnx);
    // A new version that still loads: protobuf merges appended fields, here ModelProto.doc_string (field 6) = "x".
    await fs.writeFile(onnx, Buffer.concat([bytes, Buffer.from([0x32, 0x01, 0x78])]));
    fails(await ganvas([...args, '-o', out]), /model files changed since the interrupted run.*generator\/model\.onnx.*delete .*to start over/s);
    expect(await exists(out)).to.equal(false);
    await fs.writeFile(onnx, bytes);
    fails(await ganvas([...args, '--seed', '3', '-o', out]), /interrupted run with other arguments \(--seed: 0 → 3\)/);
    ok(await ganvas([...args, '-o', out]));
    expect(await exists(out)).to.equal(true);
  });

  it('bad input: a clear message, a non-zero exit, no output', async () => {
    fails(await ganvas(['scna']), /unknown command 'scna'.*Did you mean scan\?/s, 2);
    fails(await ganvas([...SCAN, '-o', path.join(tmp, 'x.json'), '--wrokers', '2']), /unknown option '--wrokers'.*--workers/s, 2);
    fails(await ganvas([...SCAN, '-o', path.join(tmp, 'x.json'), '--workers', '0']), /--workers must be at least 1, got 0/, 2);
    fails(await ganvas([...SCAN, '-o', path.join(tmp, 'x.json'), '--shard', '4/4']), /--shard: shard index 4 is out of range; with 4 shard\(s\) it must be 0…3/);
    fails(await ganvas([...SCAN, '-o', path.join(tmp, 'x.json'), '--shard', '1of4']), /--shard must be "i\/n"/);
    fails(await ganvas([...SCAN, '-o', path.join(tmp, 'x.json')], { env: { JOB_COMPLETION_INDEX: '1' } }), /pass --shard-count/);
    fails(await ganvas([...SCAN, '-o', path.join(tmp, 'x.json')], { env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '7', SLURM_ARRAY_TASK_COUNT: '3' } }), /not a regular range/);
    fails(await ganvas([...SCAN, '-o', path.join(whole, 'sub', 'x.json')]), /cannot write the output directory .*whole\.json\/sub.*writable location/);
    fails(await ganvas(['scan', '-g', 'fmnist-stylegun', '-l', 'b8.conv1', '-f', 'fmnist-resnet', '-o', path.join(tmp, 'x.json')]), /neither a model directory .* nor a shipped demo model/);
    fails(await ganvas([...SCAN.map((a) => (a === 'b8.conv1' ? 'b8.conv9' : a)), '-o', path.join(tmp, 'x.json')]), /b8\.conv9/);
    expect(await exists(path.join(tmp, 'x.json'))).to.equal(false);
    for (const sub of ['scan', 'dataset', 'merge']) {
      const h = await ganvas([sub, '--help']);
      ok(h);
      for (const line of h.stdout.split('\n').filter((l) => /^\s+-/.test(l))) expect(line.trim(), `${sub} --help explains each option`).to.match(/^\S.*\s{2,}\S/);
    }
  });

  it('dataset: --workers 2 and shards merged into another directory write the files of --workers 1', async () => {
    const rt = new Runtime({ threads: 1 });
    const libFile = path.join(tmp, 'lib', 'classes.json');
    try {
      const cut = await (await Generator.open(demoModelDir('fmnist-stylegan'), rt)).cut('b8.conv1');
      const head = await cut.sample([11, 12, 13]);
      const lib = VectorLibrary.for(cut);
      ['#ff0000', '#0000ff', '#ffff00'].forEach((c, i) => lib.add(`v${i}`, c, pixelVector(head.activations, i, 2, 3)));
      await lib.save(libFile);
    } finally {
      await rt.release();
    }
    const DS = ['dataset', '-g', 'fmnist-stylegan', '-l', 'b8.conv1', '--library', libFile, '-n', '10', '--chunk', '3', '--seed', '5', '-q'];
    const one = path.join(tmp, 'ds1');
    ok(await ganvas([...DS, '-o', one]));
    const reference = await tree(one);
    expect(Object.keys(reference).filter((f) => f.startsWith('images/'))).to.have.length(10);
    const index = JSON.parse(await fs.readFile(path.join(one, 'index.json'), 'utf8'));
    expect(index.entries.map((e: { id: number }) => e.id)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const two = path.join(tmp, 'ds2');
    ok(await ganvas([...DS, '-o', two, '--workers', '2', '--threads', '1']));
    expect(await tree(two)).to.deep.equal(reference);
    const sharded = path.join(tmp, 'ds-shards');
    for (const i of [0, 1, 2]) ok(await ganvas([...DS, '-o', sharded, '--shard', `${i}/3`]));
    const merged = path.join(tmp, 'ds-merged');
    ok(await ganvas(['merge', ...[0, 1, 2].map((i) => path.join(sharded, `index.shard-000${i}-of-0003.json`)), '-o', path.join(merged, 'index.json')]));
    expect(await tree(merged)).to.deep.equal(reference);
  });
});

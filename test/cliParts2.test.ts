/**
 * The `ganvas` job commands run in this process on tiny models (issue 19, mutation testing of src/cli): each
 * output is compared with the library's own result computed here apart (scan, generateDataset, invert,
 * gridInversion), shards and their merge with the bytes of one run, every refusal with its message and exit status,
 * and a resume that really reads the chunks a broken run left.
 */
import { expect } from 'chai';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  FeatureExtractor, Generator, Runtime, VectorLibrary, demoModelDir, fashionMnist, generateDataset, gridInversion, inversionMethods, invert, openModel, scan, tensor,
  tensorSource, tissueCrops, toPng, trainStitch, writeNpy,
} from 'ganvas';
import { Ran, cli, ganvasHere } from './cliHarness';
import { tinyClassifier, tinyGenerator } from './models';

function ok(r: Ran): void {
  expect(r.code, `ganvas failed:\n${r.stderr}`).to.equal(0);
}

/** Exit status 1 and exactly "ganvas: error: <message>". */
function refused(r: Ran, message: string | RegExp): void {
  expect(r.code, r.stderr).to.equal(1);
  if (typeof message === 'string') expect(r.stderr).to.equal(`ganvas: error: ${message}\n`);
  else expect(r.stderr).to.match(message);
}

async function exists(f: string): Promise<boolean> {
  return fs.stat(f).then(() => true, () => false);
}

const sha = async (f: string): Promise<string> => createHash('sha256').update(await fs.readFile(f)).digest('hex');

/** Every file under dir (relative path → SHA-256). */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[path.relative(dir, p)] = await sha(p);
    }
  };
  await walk(dir);
  return out;
}

describe('ganvas commands on tiny models (in process)', function () {
  this.timeout(600000);
  let tmp: string;
  let gen: string;
  let cls: string;
  let rt: Runtime;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cliparts2-'));
    gen = await tinyGenerator();
    cls = await tinyClassifier();
    rt = new Runtime({ threads: 1 });
  });
  after(async () => {
    await rt.release();
    for (const d of [tmp, gen, cls]) await fs.rm(d, { recursive: true, force: true });
  });

  describe('scan', () => {
    const SCAN = () => ['scan', '-g', gen, '-l', 'b8.conv1', '-f', cls, '--feature-layer', 'layer1', '-n', '10', '--batch', '4', '--threads', '1'];
    let whole: string;

    before(async () => {
      whole = path.join(tmp, 'scan', 'whole.json');
      const r = await ganvasHere([...SCAN(), '-o', whole]);
      ok(r);
      expect(r.stderr.split('\n').slice(-2)).to.deep.equal([`wrote ${whole}`, '']);
      expect(r.stderr).to.match(/^\S+ scan: \d+\/10 /);
      expect(r.stderr).to.match(/\nscan: 10\/10 \(100\.0%\) .* in all\n/);
    });

    it('writes the library scan() of the same settings, the job spec and the models\' SHA-256; no work directory left', async () => {
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const fx = await FeatureExtractor.open(cls, 'layer1', rt);
      const lib = await scan(cut, fx, { count: 10, batchSize: 4 });
      const text = await fs.readFile(whole, 'utf8');
      const { entries, job, ...header } = JSON.parse(text);
      const { entries: libEntries, ...libHeader } = lib;
      expect(JSON.stringify(entries)).to.equal(JSON.stringify(libEntries));
      expect(header).to.deep.equal(libHeader);
      expect(Object.keys(JSON.parse(text))).to.deep.equal([...Object.keys(libHeader), 'entries', 'job']);
      expect(job).to.deep.equal({
        command: 'scan',
        args: { generator: 'tiny-gen', layer: 'b8.conv1', features: 'tiny-cls', featureLayer: 'layer1', count: 10, seed: 0, grid: 2, erosion: null, batch: 4 },
        models: {
          'generator/ganvas.json': await sha(path.join(gen, 'ganvas.json')), 'generator/model.onnx': await sha(path.join(gen, 'model.onnx')),
          'features/ganvas.json': await sha(path.join(cls, 'ganvas.json')), 'features/model.onnx': await sha(path.join(cls, 'model.onnx')),
        },
      });
      expect(text.includes('\n'), 'compact JSON, as saveScan writes').to.equal(false);
      expect(await fs.readdir(path.dirname(whole))).to.deep.equal(['whole.json']);
    });

    it('--seed, --grid and --erosion reach the library; -q prints nothing', async () => {
      const out = path.join(tmp, 'scan', 'seeded.json');
      const r = await ganvasHere([...SCAN(), '--seed', '3', '--grid', '1', '--erosion', '1', '-q', '-o', out]);
      ok(r);
      expect(r.stderr).to.equal('');
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const fx = await FeatureExtractor.open(cls, 'layer1', rt);
      const lib = await scan(cut, fx, { count: 10, batchSize: 4, seed: 3, grid: 1, erosion: 1 });
      const got = JSON.parse(await fs.readFile(out, 'utf8'));
      expect(JSON.stringify(got.entries)).to.equal(JSON.stringify(lib.entries));
      expect([got.seed, got.grid, got.erosion]).to.deep.equal([3, 1, 1]);
      expect(got.job.args).to.include({ seed: 3, grid: 1, erosion: 1 });
    });

    it('--shard i/3 writes shard files with their item ranges; merged, the bytes of one run', async () => {
      const out = path.join(tmp, 'scan', 'sh.json');
      for (const i of [0, 1, 2]) {
        const r = await ganvasHere([...SCAN(), '-o', out, '--shard', `${i}/3`]);
        ok(r);
        expect(r.stderr).to.match(new RegExp(`(^|\\n)scan ${i}/3: `));
      }
      expect(await exists(out)).to.equal(false);
      const shards = [0, 1, 2].map((i) => path.join(tmp, 'scan', `sh.shard-000${i}-of-0003.json`));
      // 10 items in chunks of 4: [0,4) [4,8) [8,10); shard i of 3 takes chunk i.
      const info = await Promise.all(shards.map(async (f) => JSON.parse(await fs.readFile(f, 'utf8'))));
      expect(info.map((s) => s.shard)).to.deep.equal([{ index: 0, count: 3, from: 0, to: 4 }, { index: 1, count: 3, from: 4, to: 8 }, { index: 2, count: 3, from: 8, to: 10 }]);
      expect(info.map((s) => Object.keys(s).slice(-3))).to.deep.equal([['entries', 'job', 'shard'], ['entries', 'job', 'shard'], ['entries', 'job', 'shard']]);
      const merged = path.join(tmp, 'scan', 'merged', 'm.json');
      const m = await ganvasHere(['merge', shards[2], shards[0], shards[1], '-o', merged]);
      ok(m);
      expect(m.stderr).to.equal(`merged 3 shard(s), 10 entries → ${merged}\n`);
      expect((await fs.readFile(merged)).equals(await fs.readFile(whole))).to.equal(true);
      expect((await ganvasHere(['merge', ...shards, '-o', merged, '-q'])).stderr).to.equal('');
    });

    it('more shards than chunks: empty shards (their range at the next chunk boundary) merge too', async () => {
      const out = path.join(tmp, 'scan', 'five.json');
      for (const i of [0, 1, 2, 3, 4]) ok(await ganvasHere([...SCAN(), '-q', '-o', out, '--shard', `${i}/5`]));
      const shards = [0, 1, 2, 3, 4].map((i) => path.join(tmp, 'scan', `five.shard-000${i}-of-0005.json`));
      const parsed = await Promise.all(shards.map(async (f) => JSON.parse(await fs.readFile(f, 'utf8'))));
      // K = 3 chunks, n = 5: shard i takes chunks ⌊3i/5⌋ … ⌊3(i+1)/5⌋ − 1: none, 0, none, 1, 2.
      expect(parsed.map((s) => [s.shard.from, s.shard.to, s.entries.length])).to.deep.equal([[0, 0, 0], [0, 4, 4], [4, 4, 0], [4, 8, 4], [8, 10, 2]]);
      const { entries: _a, job: _b, shard: _c, ...emptyHeader } = parsed[0];
      const { entries: _d, job: _e, ...wholeHeader } = JSON.parse(await fs.readFile(whole, 'utf8'));
      expect(emptyHeader).to.deep.equal(wholeHeader);
      const merged = path.join(tmp, 'scan', 'five-merged.json');
      ok(await ganvasHere(['merge', ...shards, '-o', merged]));
      expect((await fs.readFile(merged)).equals(await fs.readFile(whole))).to.equal(true);
    });

    it('shards from SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX', async () => {
      const out = path.join(tmp, 'scan', 'slurm.json');
      for (const id of [7, 9]) {
        ok(await ganvasHere([...SCAN(), '-q', '-o', out], { SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '7', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '2' }));
      }
      const slurm = [0, 1].map((i) => path.join(tmp, 'scan', `slurm.shard-000${i}-of-0002.json`));
      const merged = path.join(tmp, 'scan', 'slurm-merged.json');
      ok(await ganvasHere(['merge', ...slurm, '-o', merged]));
      expect((await fs.readFile(merged)).equals(await fs.readFile(whole))).to.equal(true);
      const k8s = path.join(tmp, 'scan', 'k8s.json');
      ok(await ganvasHere([...SCAN(), '-q', '-o', k8s, '--shard-count', '4'], { JOB_COMPLETION_INDEX: '3' }));
      expect(JSON.parse(await fs.readFile(path.join(tmp, 'scan', 'k8s.shard-0003-of-0004.json'), 'utf8')).shard).to.deep.equal({ index: 3, count: 4, from: 8, to: 10 });
    });

    it('refusals: a clear message, exit 1, no output file', async () => {
      const out = path.join(tmp, 'scan', 'x.json');
      refused(await ganvasHere([...SCAN(), '-o', out, '--shard', '3/3']), '--shard: shard index 3 is out of range; with 3 shard(s) it must be 0…2');
      refused(await ganvasHere([...SCAN(), '-o', out, '--shard', '1of3']), '--shard must be "i/n" (0-based shard i of n, e.g. 0/4), got "1of3"');
      refused(await ganvasHere([...SCAN(), '-o', out], { JOB_COMPLETION_INDEX: '0' }), "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): pass --shard-count with the Job's completions");
      refused(await ganvasHere([...SCAN(), '-o', out, '--shard-count', '2']), '--shard-count is given but no shard index: pass --shard i/n, or run inside a Slurm array or a Kubernetes Indexed Job');
      const missing = path.join(tmp, 'no-such-model');
      const m = await ganvasHere([...SCAN().map((a) => (a === gen ? missing : a)), '-o', out]);
      refused(m, new RegExp(`^ganvas: error: --generator "${missing}" is neither a model directory \\(ganvas\\.json \\+ model\\.onnx\\) nor a shipped demo model \\(fmnist-resnet, .*\\)\\n$`));
      const f = await ganvasHere([...SCAN().map((a) => (a === cls ? missing : a)), '-o', out]);
      refused(f, new RegExp(`^ganvas: error: --features "${missing}" is neither`));
      refused(await ganvasHere([...SCAN().map((a) => (a === 'b8.conv1' ? 'b8.conv9' : a)), '-o', out]), /^ganvas: error: .*b8\.conv9/);
      const file = path.join(tmp, 'scan', 'afile');
      await fs.writeFile(file, 'x');
      refused(await ganvasHere([...SCAN(), '-o', path.join(file, 'x.json')]), new RegExp(`^ganvas: error: cannot write the output directory ${file}: .*Choose a writable location for --out\\.\\n$`));
      expect(await exists(out)).to.equal(false);
      expect((await fs.readdir(path.join(tmp, 'scan'))).filter((n) => n.includes('ganvas-work'))).to.deep.equal([]);
    });

    it('a run whose output cannot be written keeps its chunks; the rerun resumes from them (and does not recompute them)', async () => {
      const out = path.join(tmp, 'resume', 'r.json');
      await fs.mkdir(out, { recursive: true }); // a directory where the output goes: the final write fails
      const broken = await ganvasHere([...SCAN(), '-q', '-o', out]);
      refused(broken, /^ganvas: error: cannot write .*r\.json: it is a directory/);
      const work = path.join(tmp, 'resume', '.r.json.all.ganvas-work');
      const chunks = (await fs.readdir(work)).filter((n) => n.startsWith('chunk-')).sort();
      expect(chunks).to.deep.equal(['chunk-000000000-000000004.json', 'chunk-000000004-000000008.json', 'chunk-000000008-000000010.json']);
      await fs.rmdir(out);
      // Mark chunk 0: a resumed run takes it as it is.
      const c0 = path.join(work, chunks[0]);
      const first = JSON.parse(await fs.readFile(c0, 'utf8'));
      first.entries[0].cosine = 42;
      await fs.writeFile(c0, JSON.stringify(first));
      const r = await ganvasHere([...SCAN(), '-o', out]);
      ok(r);
      expect(r.stderr.split('\n')[0]).to.equal('scan: resuming, 10/10 already done');
      const got = JSON.parse(await fs.readFile(out, 'utf8'));
      const want = JSON.parse(await fs.readFile(whole, 'utf8'));
      expect(got.entries[0].cosine).to.equal(42);
      expect(got.entries.slice(1)).to.deep.equal(want.entries.slice(1));
      expect(await exists(work)).to.equal(false);
      // Another seed over a work directory of seed 0: refused.
      await fs.rm(out);
      await fs.mkdir(out);
      refused(await ganvasHere([...SCAN(), '-q', '-o', out]), /it is a directory/);
      await fs.rmdir(out);
      refused(await ganvasHere([...SCAN(), '-q', '--seed', '5', '-o', out]), `${work} holds an interrupted run with other arguments (--seed: 0 → 5); rerun with the same arguments to resume it, or delete ${work} to start over.`);
    });

    it('--workers 2 (forked workers) writes the bytes of one process; with every chunk already done, the workers are stopped at once', async () => {
      const out = path.join(tmp, 'scan', 'w2.json');
      ok(await ganvasHere([...SCAN(), '-q', '--workers', '2', '-o', out], {}, true));
      expect((await fs.readFile(out)).equals(await fs.readFile(whole))).to.equal(true);
      // (The library may add a SIGINT listener of its own on first use: counted from here.)
      const sigint = process.listenerCount('SIGINT');
      const broken = path.join(tmp, 'scan-w2', 'r.json');
      await fs.mkdir(broken, { recursive: true });
      refused(await ganvasHere([...SCAN(), '-q', '--workers', '2', '-o', broken], {}, true), /it is a directory/);
      await fs.rmdir(broken);
      const r = await ganvasHere([...SCAN(), '--workers', '2', '-o', broken], {}, true);
      ok(r);
      expect(r.stderr.split('\n')[0]).to.equal('scan: resuming, 10/10 already done');
      expect((await fs.readFile(broken)).equals(await fs.readFile(whole))).to.equal(true);
      expect(process.listenerCount('SIGINT'), 'the pool was stopped').to.equal(sigint);
      // A bad layer with workers started: refused, the workers stopped.
      refused(await ganvasHere([...SCAN().map((a) => (a === 'b8.conv1' ? 'b8.conv9' : a)), '-q', '--workers', '2', '-o', path.join(tmp, 'scan-w2', 'x.json')], {}, true), /b8\.conv9/);
      expect(process.listenerCount('SIGINT')).to.equal(sigint);
    });

    it('an error that is not a GanvasError: "unexpected error", its stack, exit 1', async () => {
      const real = Date.now;
      Date.now = () => {
        throw new TypeError('the clock broke');
      };
      let r: Ran;
      try {
        r = await ganvasHere([...SCAN(), '-q', '-o', path.join(tmp, 'scan', 'clock.json')]);
      } finally {
        Date.now = real;
      }
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^ganvas: unexpected error: .*the clock broke\nTypeError: the clock broke\n\s+at /);
    });
  });

  describe('merge refusals', () => {
    let shards: string[];
    let dir: string;
    const SCAN = () => ['scan', '-g', gen, '-l', 'b8.conv1', '-f', cls, '--feature-layer', 'layer1', '-n', '6', '--batch', '2', '--threads', '1', '-q'];

    before(async () => {
      dir = path.join(tmp, 'merge');
      for (const i of [0, 1, 2]) ok(await ganvasHere([...SCAN(), '-o', path.join(dir, 's.json'), '--shard', `${i}/3`]));
      shards = [0, 1, 2].map((i) => path.join(dir, `s.shard-000${i}-of-0003.json`));
    });

    it('missing, duplicated, whole runs, other arguments, other models, other splits, edited shards', async () => {
      const bad = path.join(dir, 'bad.json');
      const m = (...files: string[]) => ganvasHere(['merge', ...files, '-o', bad]);
      refused(await m(shards[0], shards[2]), `shard 1/3 is missing (have 2 of 3); run it first (same arguments, --shard i/3)`);
      refused(await m(shards[1]), `shards 0/3, 2/3 are missing (have 1 of 3); run them first (same arguments, --shard i/3)`);
      refused(await m(shards[0], shards[1], shards[1], shards[2]), `shard 1/3 is given twice (${shards[1]} and ${shards[1]}); give each shard once`);
      const whole = path.join(dir, 'whole.json');
      ok(await ganvasHere([...SCAN(), '-o', whole]));
      refused(await m(whole), `${whole} is the output of a whole (unsharded) run, not a shard; there is nothing to merge it with`);
      const junk = path.join(dir, 'junk.json');
      for (const text of ['{"entries":[],"job":{}}', '{"format":"x","job":{}}', '{"format":"x","entries":[]}', '{"format":"x","entries":[],"job":1}', '{"format":1,"entries":[],"job":{}}', '[]']) {
        await fs.writeFile(junk, text);
        refused(await m(junk), `${junk} is not an output of a ganvas command (no "format", "entries" and "job")`);
      }
      await fs.writeFile(junk, '{"format":"x","entries":[],"job":{},"shard":7}');
      refused(await m(junk), /is the output of a whole \(unsharded\) run/);
      await fs.writeFile(junk, '{"format":');
      refused(await m(junk), new RegExp(`^ganvas: error: cannot read shard ${junk}: .*JSON`));
      // Other arguments: another seed.
      ok(await ganvasHere([...SCAN(), '--seed', '4', '-o', path.join(dir, 'o.json'), '--shard', '1/3']));
      const o1 = path.join(dir, 'o.shard-0001-of-0003.json');
      refused(await m(shards[0], o1, shards[2]), `${o1} comes from a job with other arguments than ${shards[0]} (--seed: 0 → 4); all shards must come from the same command line`);
      // Other models: an edited manifest (same graph, another digest).
      const gen2 = path.join(tmp, 'gen2');
      await fs.cp(gen, gen2, { recursive: true });
      await fs.appendFile(path.join(gen2, 'ganvas.json'), '\n');
      ok(await ganvasHere([...SCAN().map((a) => (a === gen ? gen2 : a)), '-o', path.join(dir, 'g.json'), '--shard', '2/3']));
      const g2 = path.join(dir, 'g.shard-0002-of-0003.json');
      refused(await m(shards[0], shards[1], g2), new RegExp(`^ganvas: error: ${g2} was made with other model files than ${shards[0]} \\(generator/ganvas\\.json: [0-9a-f]{12}… → [0-9a-f]{12}…\\); all shards must come from the same models\\n$`));
      // Another split of the same job.
      ok(await ganvasHere([...SCAN(), '-o', path.join(dir, 't.json'), '--shard', '1/2']));
      const t1 = path.join(dir, 't.shard-0001-of-0002.json');
      refused(await m(shards[0], t1), `${t1} is one of 2 shards, ${shards[0]} one of 3; merge the shards of one split`);
      // Edited shards: a header changed, an entry dropped, a range moved, the job's count changed.
      const edit = async (from: string, fn: (j: Record<string, any>) => void): Promise<string> => {
        const j = JSON.parse(await fs.readFile(from, 'utf8'));
        fn(j);
        const f = path.join(dir, `edited-${path.basename(from)}`);
        await fs.writeFile(f, JSON.stringify(j));
        return f;
      };
      const h = await edit(shards[1], (j) => (j.grid = 3));
      refused(await m(shards[0], h, shards[2]), `${h} comes from a job with other arguments than ${shards[0]} (the headers differ); all shards must come from the same command line`);
      const jb = await edit(shards[1], (j) => (j.job.extra = 1));
      refused(await m(shards[0], jb, shards[2]), /comes from a job with other arguments than .* \(the headers differ\)/);
      const dropped = await edit(shards[1], (j) => j.entries.pop());
      refused(await m(shards[0], dropped, shards[2]), `${dropped} covers items 2…3 with 1 entries; expected a shard starting at 2 with one entry per item (a truncated or edited shard file?)`);
      const moved = await edit(shards[1], (j) => ((j.shard.from = 3), (j.shard.to = 5), j.entries.pop()));
      refused(await m(shards[0], moved, shards[2]), `${moved} covers items 3…4 with 1 entries; expected a shard starting at 2 with one entry per item (a truncated or edited shard file?)`);
      const counted = await Promise.all(shards.map((s) => edit(s, (j) => (j.job.args.count = 8))));
      refused(await m(...counted), 'the shards cover items 0…5 of 8');
      expect(await exists(bad)).to.equal(false);
    });
  });

  describe('dataset', () => {
    let libFile: string;
    const DS = () => ['dataset', '-g', gen, '-l', 'b8.conv1', '--library', libFile, '-n', '5', '--chunk', '2', '--seed', '3', '--threads', '1', '-q'];

    before(async () => {
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const lib = VectorLibrary.for(cut);
      const head = await cut.sample([1, 2, 3]);
      const px = (i: number) => {
        const [, c, h, w] = head.activations.dims;
        return Float32Array.from({ length: c }, (_, k) => head.activations.data[((i * c + k) * h + 2) * w + 3]);
      };
      ['#ff0000', '#ffff00', '#0000ff'].forEach((col, i) => lib.add(`v${i}`, col, px(i)));
      libFile = path.join(tmp, 'lib', 'classes.json');
      await lib.save(libFile);
    });

    it('writes the files and index of the library generateDataset(); shards merged elsewhere give the same tree', async () => {
      const one = path.join(tmp, 'ds1');
      ok(await ganvasHere([...DS(), '--kind', 'blobs', '--classes', 'v0, v2,', '--keep-share', '0.5', '-o', one]));
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const lib = await VectorLibrary.load(libFile, cut);
      const ref = path.join(tmp, 'ds-ref');
      const idx = await generateDataset(cut, lib, { dir: ref, count: 5, seed: 3, kind: 'blobs', classes: ['v0', 'v2'], keepShare: 0.5 });
      const mine = await tree(one);
      const theirs = await tree(ref);
      const pngs = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([k]) => k.endsWith('.png')));
      expect(Object.keys(pngs(mine))).to.have.length(15);
      expect(pngs(mine)).to.deep.equal(pngs(theirs));
      expect(Object.keys(mine).filter((k) => !k.endsWith('.png'))).to.deep.equal(['index.json']);
      const index = JSON.parse(await fs.readFile(path.join(one, 'index.json'), 'utf8'));
      const { entries, job, ...header } = index;
      const { entries: libEntries, ...libHeader } = idx;
      expect(entries).to.deep.equal(libEntries);
      expect(header).to.deep.equal(JSON.parse(JSON.stringify(libHeader)));
      expect(job.args).to.deep.equal({ generator: 'tiny-gen', layer: 'b8.conv1', count: 5, seed: 3, kind: 'blobs', classes: ['v0', 'v2'], keepShare: 0.5, chunk: 2 });
      const vectors = JSON.parse(await fs.readFile(libFile, 'utf8')).vectors as string;
      expect(job.models).to.deep.equal({
        'generator/ganvas.json': await sha(path.join(gen, 'ganvas.json')), 'generator/model.onnx': await sha(path.join(gen, 'model.onnx')),
        'library/classes.json': await sha(libFile), [`library/${vectors}`]: await sha(path.join(tmp, 'lib', vectors)),
      });
      expect(await fs.readFile(path.join(one, 'index.json'), 'utf8')).to.match(/^\{\n "format": "ganvas-dataset\/1",/);

      const sharded = path.join(tmp, 'ds-shards');
      for (const i of [0, 1]) ok(await ganvasHere([...DS(), '--kind', 'blobs', '--classes', 'v0,v2', '--keep-share', '0.5', '-o', sharded, '--shard', `${i}/2`]));
      expect(await exists(path.join(sharded, '.ganvas-work')), 'the shared work folder goes with its last job').to.equal(false);
      const merged = path.join(tmp, 'ds-merged');
      ok(await ganvasHere(['merge', ...[0, 1].map((i) => path.join(sharded, `index.shard-000${i}-of-0002.json`)), '-o', path.join(merged, 'index.json')]));
      expect(await tree(merged)).to.deep.equal(mine);
      // Merged in place, next to the shards: the same index.
      ok(await ganvasHere(['merge', ...[0, 1].map((i) => path.join(sharded, `index.shard-000${i}-of-0002.json`)), '-o', path.join(sharded, 'index.json')]));
      expect(await fs.readFile(path.join(sharded, 'index.json'), 'utf8')).to.equal(await fs.readFile(path.join(one, 'index.json'), 'utf8'));
      // A shard with an entry edited away: refused with a message (it was a TypeError with a stack trace).
      const shard0 = path.join(sharded, 'index.shard-0000-of-0002.json');
      const edited = JSON.parse(await fs.readFile(shard0, 'utf8'));
      for (const [i, e] of [[0, 1], [1, { image: 'images/x.png', label: 'labels/x.png' }], [0, null], [1, { image: '', label: 'a', mask: 'b' }]] as const) {
        const copy = JSON.parse(JSON.stringify(edited));
        copy.entries[i] = e;
        const f = path.join(sharded, 'index.edited.json');
        await fs.writeFile(f, JSON.stringify(copy));
        refused(
          await ganvasHere(['merge', f, path.join(sharded, 'index.shard-0001-of-0002.json'), '-o', path.join(tmp, 'ds-merged3', 'index.json')]),
          `${f} has an entry without its image, label and mask file names (${JSON.stringify(e)}); the shard file was edited or truncated (rerun that shard)`,
        );
      }
      // A shard whose PNG is gone: refused.
      const first = JSON.parse(await fs.readFile(path.join(sharded, 'index.shard-0001-of-0002.json'), 'utf8')).entries[0];
      await fs.rm(path.join(sharded, first.mask));
      const shard1 = path.join(sharded, 'index.shard-0001-of-0002.json');
      refused(
        await ganvasHere(['merge', path.join(sharded, 'index.shard-0000-of-0002.json'), shard1, '-o', path.join(tmp, 'ds-merged2', 'index.json')]),
        `${shard1} lists ${first.mask}, but ${path.join(sharded, first.mask)} does not exist; the shard's files are incomplete (rerun that shard)`,
      );
    });

    it('resumes a chunk whose files were partly moved into the output directory (a kill between two moves)', async () => {
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const lib = await VectorLibrary.load(libFile, cut);
      const fresh = path.join(tmp, 'dsr-fresh');
      ok(await ganvasHere([...DS(), '-o', fresh]));
      // What a run killed after moving chunk 0's first image leaves: the chunk's part, generated, one file moved.
      const out = path.join(tmp, 'dsr');
      const part = path.join(out, '.ganvas-work', 'all', 'part-0-2');
      const idx = await generateDataset(cut, lib, { dir: part, count: 5, seed: 3, from: 0, to: 2 });
      await fs.mkdir(path.join(out, 'images'), { recursive: true });
      await fs.rename(path.join(part, idx.entries[0].image), path.join(out, idx.entries[0].image));
      ok(await ganvasHere([...DS(), '-o', out]));
      expect(await tree(out)).to.deep.equal(await tree(fresh));
      // A file gone from both places: refused, naming it.
      const out2 = path.join(tmp, 'dsr2');
      const part2 = path.join(out2, '.ganvas-work', 'all', 'part-0-2');
      const idx2 = await generateDataset(cut, lib, { dir: part2, count: 5, seed: 3, from: 0, to: 2 });
      await fs.rm(path.join(part2, idx2.entries[1].label));
      refused(await ganvasHere([...DS(), '-o', out2]), new RegExp(`^ganvas: error: cannot move ${path.join(part2, idx2.entries[1].label)} to ${path.join(out2, idx2.entries[1].label)}: .*ENOENT`));
      // A move that fails otherwise (a folder in the way) is refused though something is there: only a missing
      // source with its file already in place counts as moved.
      const out3 = path.join(tmp, 'dsr3');
      const part3 = path.join(out3, '.ganvas-work', 'all', 'part-0-2');
      const idx3 = await generateDataset(cut, lib, { dir: part3, count: 5, seed: 3, from: 0, to: 2 });
      await fs.mkdir(path.join(out3, idx3.entries[0].mask, 'x'), { recursive: true });
      refused(await ganvasHere([...DS(), '-o', out3]), new RegExp(`^ganvas: error: cannot move ${path.join(part3, idx3.entries[0].mask)} to ${path.join(out3, idx3.entries[0].mask)}: .*(EISDIR|ENOTEMPTY|EEXIST)`));
    });

    it('--keep-share and --classes reach the painting; says where it wrote (unless -q); names the option or folder at fault', async () => {
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const lib = await VectorLibrary.load(libFile, cut);
      const pngs = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([k]) => k.endsWith('.png')));
      const out = path.join(tmp, 'ds-ks');
      const r = await ganvasHere([...DS().filter((a) => a !== '-q'), '-n', '2', '--keep-share', '1', '--classes', 'v0', '-o', out]);
      ok(r);
      expect(r.stderr.endsWith(`wrote ${path.join(out, 'index.json')}\n`), r.stderr).to.equal(true);
      const ref = path.join(tmp, 'ds-ks-ref');
      await generateDataset(cut, lib, { dir: ref, count: 2, seed: 3, keepShare: 1, classes: ['v0'] });
      expect(pngs(await tree(out))).to.deep.equal(pngs(await tree(ref)));
      // Not the defaults' pictures.
      const dflt = path.join(tmp, 'ds-ks-default');
      await generateDataset(cut, lib, { dir: dflt, count: 2, seed: 3 });
      expect(pngs(await tree(out))).to.not.deep.equal(pngs(await tree(dflt)));
      expect(JSON.parse(await fs.readFile(path.join(out, 'index.json'), 'utf8')).job.command).to.equal('dataset');
      const quiet = await ganvasHere([...DS(), '-n', '2', '-o', path.join(tmp, 'ds-ks-q')]);
      ok(quiet);
      expect(quiet.stderr).to.equal('');
      refused(await ganvasHere([...DS().map((a) => (a === gen ? path.join(tmp, 'no-such-model') : a)), '-o', path.join(tmp, 'ds-ks2')]), /^ganvas: error: .*--generator/);
      const file = path.join(tmp, 'ds-ks-file');
      await fs.writeFile(file, 'x');
      refused(await ganvasHere([...DS(), '-o', path.join(file, 'sub')]), /^ganvas: error: cannot write the output directory /);
    });

    it('defaults (voronoi, every class) and refusals: a bad --kind, --keep-share, library, class', async () => {
      const out = path.join(tmp, 'ds2');
      ok(await ganvasHere([...DS(), '-n', '2', '-o', out]));
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const lib = await VectorLibrary.load(libFile, cut);
      const ref = path.join(tmp, 'ds2-ref');
      await generateDataset(cut, lib, { dir: ref, count: 2, seed: 3 });
      const pngs = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([k]) => k.endsWith('.png')));
      expect(pngs(await tree(out))).to.deep.equal(pngs(await tree(ref)));
      const job = JSON.parse(await fs.readFile(path.join(out, 'index.json'), 'utf8')).job;
      expect(job.args).to.include({ kind: 'voronoi', classes: null, keepShare: null, chunk: 2 });

      const k = await ganvasHere([...DS(), '--kind', 'squares', '-o', out]);
      expect(k.code).to.equal(2);
      expect(k.stderr).to.match(/^error: option '--kind <kind>' argument 'squares' is invalid\. Allowed choices are voronoi, blobs, strokes\.\n/);
      const s = await ganvasHere([...DS(), '--keep-share', '2', '-o', out]);
      expect(s.code).to.equal(2);
      expect(s.stderr).to.match(/--keep-share must be a number in \[0, 1\], got "2"/);
      const none = path.join(tmp, 'lib', 'none.json');
      refused(await ganvasHere([...DS().map((a) => (a === libFile ? none : a)), '-o', path.join(tmp, 'ds3')]), /^ganvas: error: .*none\.json/);
      refused(await ganvasHere([...DS(), '--classes', 'v0,v9', '-o', path.join(tmp, 'ds3')]), /^ganvas: error: .*v9/);
      // A library whose vectors file is gone.
      const lonely = path.join(tmp, 'lib2', 'l.json');
      await fs.mkdir(path.dirname(lonely), { recursive: true });
      await fs.copyFile(libFile, lonely);
      refused(await ganvasHere([...DS().map((a) => (a === libFile ? lonely : a)), '-o', path.join(tmp, 'ds4')]), /^ganvas: error: library .*l\.json is missing its vectors .*classes\.[0-9a-f]+\.npy/);
    });
  });

  describe('invert', () => {
    let npy: string;
    const INV = () => ['invert', '-c', cls, '-l', 'layer1', '-m', 'plain', '--images', npy, '--steps', '3', '--batch', '2', '--threads', '1', '-q'];

    before(async () => {
      npy = path.join(tmp, 'img', 'five.npy');
      await fs.mkdir(path.dirname(npy), { recursive: true });
      const data = Float32Array.from({ length: 5 * 16 * 16 }, (_, i) => ((i * 37) % 101) / 100);
      await writeNpy(npy, tensor(data, [5, 1, 16, 16]));
    });

    it('the losses of the library invert() on the same images; shards merge; --png-dir writes one PNG per image', async () => {
      const out = path.join(tmp, 'inv', 'one.json');
      const pngs = path.join(tmp, 'inv', 'pngs');
      ok(await ganvasHere([...INV(), '--lr', '0.1', '--seed', '2', '--png-dir', pngs, '-o', out]));
      const fx = await FeatureExtractor.open(cls, 'layer1', rt);
      const { readNpy } = await import('ganvas');
      const images = await readNpy(npy);
      const lib = await invert(fx, images, { ...inversionMethods.plain(), steps: 3, lr: 0.1, seed: 2, batchSize: 2, range: [0, 1] });
      const got = JSON.parse(await fs.readFile(out, 'utf8'));
      expect(got.entries).to.deep.equal(Array.from(lib.loss, (loss, index) => ({ index, loss })));
      const { entries: _e, job, ...header } = got;
      expect(header).to.deep.equal({ format: 'ganvas-inversions/1', classifier: 'tiny-cls', layer: 'layer1', method: 'plain', images: 'five.npy', count: 5, steps: 3, lr: 0.1, seed: 2, batch: 2, range: [0, 1] });
      expect(job.args).to.deep.equal({ classifier: 'tiny-cls', layer: 'layer1', method: 'plain', images: 'five.npy', count: 5, steps: 3, lr: 0.1, seed: 2, batch: 2, range: [0, 1], pngs: true });
      expect(job.models['images/five.npy']).to.equal(await sha(npy));
      expect((await fs.readdir(pngs)).sort()).to.deep.equal(['000000.png', '000001.png', '000002.png', '000003.png', '000004.png']);
      for (const i of [0, 3]) expect((await fs.readFile(path.join(pngs, `00000${i}.png`))).equals(await toPng(lib.images, i, { range: [0, 1] })), `png ${i}`).to.equal(true);

      const sh = path.join(tmp, 'inv', 'sh.json');
      for (const i of [0, 1]) ok(await ganvasHere([...INV(), '--lr', '0.1', '--seed', '2', '--png-dir', pngs, '-o', sh, '--shard', `${i}/2`]));
      const merged = path.join(tmp, 'inv', 'merged.json');
      ok(await ganvasHere(['merge', path.join(tmp, 'inv', 'sh.shard-0000-of-0002.json'), path.join(tmp, 'inv', 'sh.shard-0001-of-0002.json'), '-o', merged]));
      expect((await fs.readFile(merged)).equals(await fs.readFile(out))).to.equal(true);
    });

    it('the named image sets: 500 Fashion-MNIST test images, 300 tissue crops, or --count of them', async () => {
      const { loadImages } = cli.invert();
      expect((await loadImages('fmnist-test', undefined)).dims).to.deep.equal([500, 1, 32, 32]);
      const two = await loadImages('fmnist-test', 2);
      expect(Array.from(two.data)).to.deep.equal(Array.from((await fashionMnist('test', { count: 2 })).images.data));
      expect((await loadImages('tissue-validation', undefined)).dims).to.deep.equal([300, 3, 64, 64]);
      const t = await loadImages('tissue-validation', 2);
      expect(Array.from(t.data)).to.deep.equal(Array.from((await tissueCrops({ count: 2, seed: 0, split: 'validation' })).data));
      expect((await loadImages(npy, undefined)).dims).to.deep.equal([5, 1, 16, 16]);
      expect((await loadImages(npy, 5)).dims).to.deep.equal([5, 1, 16, 16]);
    });

    it('--count takes the first images; defaults (fft-dec, lr 0.05, range 0,1); refusals', async () => {
      const out = path.join(tmp, 'inv', 'three.json');
      ok(await ganvasHere(['invert', '-c', cls, '-l', 'layer1', '--images', npy, '-n', '3', '--steps', '2', '--batch', '2', '--threads', '1', '-q', '-o', out]));
      const fx = await FeatureExtractor.open(cls, 'layer1', rt);
      const { readNpy, sliceBatch } = await import('ganvas');
      const images = sliceBatch(await readNpy(npy), 0, 3);
      const lib = await invert(fx, images, { ...inversionMethods.fftDec(), steps: 2, batchSize: 2, seed: 0, range: [0, 1] });
      const got = JSON.parse(await fs.readFile(out, 'utf8'));
      expect(got.entries.map((e: { loss: number }) => e.loss)).to.deep.equal(Array.from(lib.loss));
      expect(got).to.include({ method: 'fft-dec', lr: 0.05, count: 3 });
      expect(got.job.args.pngs).to.equal(false);

      const bad = path.join(tmp, 'inv', 'bad.json');
      for (const r of ['1,1', '1', '0,x', '2,1', '0,1,2']) {
        refused(await ganvasHere([...INV(), '--range', r, '-o', bad]), `--range must be "lo,hi" with lo < hi, e.g. 0,1 or -1,1; got "${r}"`);
      }
      refused(await ganvasHere([...INV(), '-n', '6', '-o', bad]), `--count 6 is more than the 5 images in ${npy}`);
      refused(await ganvasHere([...INV().map((a) => (a === npy ? 'cifar' : a)), '-o', bad]), '--images must be fmnist-test, tissue-validation or a .npy file of N×C×H×W images, got "cifar"');
      const flat = path.join(tmp, 'img', 'flat.npy');
      await writeNpy(flat, tensor(new Float32Array(6), [2, 3]));
      refused(await ganvasHere([...INV().map((a) => (a === npy ? flat : a)), '-o', bad]), `${flat} must hold N×C×H×W images, got shape (2, 3)`);
      const gone = path.join(tmp, 'img', 'gone.npy');
      refused(await ganvasHere([...INV().map((a) => (a === npy ? gone : a)), '-o', bad]), new RegExp(`^ganvas: error: cannot read images ${gone}: .*ENOENT`));
      const m = await ganvasHere([...INV(), '-m', 'fft', '-o', bad]);
      expect(m.code).to.equal(2);
      expect(m.stderr).to.match(/Allowed choices are plain, fft-dec, fft-dec-no-jitter\./);
      const lr = await ganvasHere([...INV(), '--lr', '0', '-o', bad]);
      expect(lr.code).to.equal(2);
      expect(lr.stderr).to.match(/--lr must be a number in \[1e-9, 100\], got "0"/);
      const afile = path.join(tmp, 'img', 'afile');
      await fs.writeFile(afile, 'x');
      refused(await ganvasHere([...INV(), '--png-dir', path.join(afile, 'pngs'), '-o', bad]), new RegExp(`^ganvas: error: cannot write the PNG directory ${afile}/pngs: `));
      expect(await exists(bad)).to.equal(false);
    });

    it('a named image set: its name in the header, no image digest', async () => {
      const out = path.join(tmp, 'inv', 'named.json');
      ok(await ganvasHere(['invert', '-c', 'fmnist-resnet', '-l', 'layer1', '-m', 'plain', '--images', 'fmnist-test', '-n', '2', '--steps', '1', '--batch', '2', '--threads', '1', '-q', '-o', out]));
      const got = JSON.parse(await fs.readFile(out, 'utf8'));
      expect(got).to.include({ images: 'fmnist-test', classifier: 'fmnist-resnet', layer: 'layer1', count: 2 });
      expect(got.job.args.images).to.equal('fmnist-test');
      expect(Object.keys(got.job.models).sort()).to.deep.equal(['classifier/ganvas.json', 'classifier/model.onnx']);
    });
  });

  describe('grid-inversion and stitch-train', () => {
    it('grid-inversion: the library gridInversion(); a changed argument over a kept work directory is refused', async () => {
      const out = path.join(tmp, 'gi', 'gi.json');
      const GI = ['grid-inversion', '-g', gen, '-l', 'b8.conv1', '-f', cls, '--feature-layer', 'layer1', '-n', '3', '--runs', '2', '--sizes', '0, 2', '--steps', '2', '--batch', '3', '--threads', '1'];
      const r = await ganvasHere([...GI, '--init', 'zeros', '--schedule', 'constant', '--lr', '0.1', '--seed', '1', '--keep-vectors', '-o', out]);
      ok(r);
      expect(r.stderr).to.match(/grid-inversion \(image·steps\): .* in all\n/);
      expect(r.stderr.endsWith(`wrote ${out}\n`)).to.equal(true);
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const fx = await FeatureExtractor.open(cls, 'layer1', rt);
      const seen: [number, number][] = [];
      const lib = await gridInversion(cut, fx, { count: 3, runs: 2, sizes: [0, 2], steps: 2, batchSize: 3, init: 'zeros', schedule: 'constant', lr: 0.1, seed: 1, keepVectors: true, onProgress: (d, t) => seen.push([d, t]) });
      // The first progress line: the library's first report (every line after it within 10 s is skipped).
      expect(r.stderr.split('\n')[0]).to.match(new RegExp(`^\\S+ grid-inversion \\(image·steps\\): ${seen[0][0]}/${seen[0][1]} \\(`));
      const got = JSON.parse(await fs.readFile(out, 'utf8'));
      const strip = (cells: { seconds: number }[]) => cells.map(({ seconds: _s, ...c }) => c);
      expect(strip(got.cells)).to.deep.equal(JSON.parse(JSON.stringify(strip(lib.cells))));
      expect(got.settings).to.deep.equal(JSON.parse(JSON.stringify(lib.settings)));
      expect(await fs.readdir(path.dirname(out))).to.deep.equal(['gi.json']);
      // Defaults: mean init, cosine schedule, lr 0.05, seed 0, quiet.
      const q = await ganvasHere([...GI, '-q', '-o', out]);
      ok(q);
      expect(q.stderr).to.equal('');
      const dflt = await gridInversion(cut, fx, { count: 3, runs: 2, sizes: [0, 2], steps: 2, batchSize: 3 });
      expect(strip(JSON.parse(await fs.readFile(out, 'utf8')).cells)).to.deep.equal(JSON.parse(JSON.stringify(strip(dflt.cells))));
      // '0,,2' and '' were read as 0,0,2 and 0 (Number('') is 0) before the empty items were refused.
      for (const s of ['a', '1,-1', '1.5', '0,,2', '', ' ', '2,']) {
        refused(await ganvasHere([...GI.map((a) => (a === '0, 2' ? s : a)), '-o', out]), `--sizes must list grid sizes ≥ 0 separated by commas, e.g. 0,1,2,3,4,5; got "${s}"`);
      }
      // A work directory of another run (kept, as a kill would keep it): other arguments refused.
      const work = path.join(tmp, 'gi', '.gi.json.ganvas-work');
      const models = {
        'generator/ganvas.json': await sha(path.join(gen, 'ganvas.json')), 'generator/model.onnx': await sha(path.join(gen, 'model.onnx')),
        'features/ganvas.json': await sha(path.join(cls, 'ganvas.json')), 'features/model.onnx': await sha(path.join(cls, 'model.onnx')),
      };
      await cli.job().claimJob(work, { command: 'grid-inversion', args: { seed: 9 }, models });
      refused(await ganvasHere([...GI, '-q', '-o', out]), /^ganvas: error: .*\.gi\.json\.ganvas-work holds an interrupted run with other arguments \(--seed: 9 → 0; --generator: \(none\) → "tiny-gen"; --layer: \(none\) → "b8\.conv1"; --features: \(none\) → "tiny-cls"; --featureLayer: \(none\) → "layer1"; --count: \(none\) → 3; --runs: \(none\) → 2; --sizes: \(none\) → \[0,2\]; --steps: \(none\) → 2; --lr: \(none\) → 0\.05; --init: \(none\) → "mean"; --schedule: \(none\) → "cosine"; --batch: \(none\) → 3; --keepVectors: \(none\) → false\)/);
      await fs.rm(work, { recursive: true });
      await cli.job().claimJob(work, { command: 'grid-inversion', args: {}, models: { ...models, 'generator/model.onnx': 'f'.repeat(64) } });
      refused(await ganvasHere([...GI, '-q', '-o', out]), /^ganvas: error: the model files changed since the interrupted run in .*\.gi\.json\.ganvas-work started \(generator\/model\.onnx: f{12}… → [0-9a-f]{12}…\)/);
    });

    it('stitch-train: the library trainStitch() of the same settings, a line per epoch, the work directory removed', async () => {
      const out = path.join(tmp, 'st-ok', 'stitch.json');
      const r = await ganvasHere([
        'stitch-train', '-c', 'fmnist-resnet', '--layer-x', 'layer1', '-g', 'fmnist-stylegan', '--test-network', 'fmnist-testnet', '--validation', 'fmnist-test:8',
        '--epochs', '2', '--per-epoch', '8', '--batch', '4', '--lr', '0.02', '--seed', '1', '--init', 'default', '--threads', '1', '-o', out,
      ]);
      ok(r);
      const saved = JSON.parse(await fs.readFile(out, 'utf8'));
      const classifier = await openModel(demoModelDir('fmnist-resnet'));
      const generator = await openModel(demoModelDir('fmnist-stylegan'));
      const testNetwork = await openModel(demoModelDir('fmnist-testnet'));
      const lib = await trainStitch({
        classifier, layerX: 'layer1', generator, runtime: rt, init: 'default', seed: 1, train: tensorSource((await fashionMnist('train')).images),
        validation: (await fashionMnist('test', { count: 8 })).images, testNetwork, epochs: 2, samplesPerEpoch: 8, batchSize: 4, lr: 0.02,
      });
      const libFile = path.join(tmp, 'st-ok', 'lib.json');
      await lib.save(libFile);
      const want = JSON.parse(await fs.readFile(libFile, 'utf8'));
      expect([saved.weight, saved.bias, saved.layerY]).to.deep.equal([want.weight, want.bias, want.layerY]);
      const noTime = (h: { seconds: number }[]) => h.map(({ seconds: _s, ...e }) => e);
      expect(noTime(saved.record.history)).to.deep.equal(noTime(want.record.history));
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('epoch '));
      expect(lines).to.deep.equal(saved.record.history.map((e: { epoch: number; valCosine: number; valCosineStd: number; valGram: number; valL1: number }) =>
        `epoch ${e.epoch}: val cosine ${e.valCosine.toFixed(4)} ± ${e.valCosineStd.toFixed(3)}, gram ${e.valGram.toFixed(4)}, L1 ${e.valL1.toFixed(4)}`));
      expect(r.stderr).to.match(/\nstitch-train \(steps\): 4\/4 \(100\.0%\) .* in all\n/);
      // 2 epochs of 8 samples in batches of 4: 2 steps each; the first line is at step 1 of epoch 1.
      expect(r.stderr.split('\n').find((l) => l.includes('stitch-train (steps)'))).to.match(/^\S+ stitch-train \(steps\): 1\/4 \(25\.0%\) /);
      expect(r.stderr.endsWith(`wrote ${out}\n`)).to.equal(true);
      expect(await fs.readdir(path.dirname(out))).to.deep.equal(['lib.json', 'stitch.json']);
    });

    it('stitch-train: the named training sets and their sizes (seen in the refusal of a too large --per-epoch)', async () => {
      const ST = ['stitch-train', '-c', 'fmnist-resnet', '--layer-x', 'layer1', '-g', 'fmnist-stylegan', '--test-network', 'fmnist-testnet', '--epochs', '1', '--threads', '1', '-q'];
      let k = 0;
      const perEpoch = async (train: string, validation: string, n: number) => ganvasHere([...ST, '--train', train, '--validation', validation, '--per-epoch', String(n), '-o', path.join(tmp, 'st-sets', `${k++}.json`)]);
      refused(await perEpoch('tissue-train', 'fmnist-test:4', 999999), 'samplesPerEpoch must be an integer in 1..156680, got 999999');
      refused(await perEpoch('tissue-train:7', 'fmnist-train:3', 8), 'samplesPerEpoch must be an integer in 1..7, got 8');
      refused(await perEpoch('fmnist-train:9', 'tissue-validation:2', 10), 'samplesPerEpoch must be an integer in 1..9, got 10');
      refused(await perEpoch('fmnist-train', 'fmnist-test:2', 60001), 'samplesPerEpoch must be an integer in 1..60000, got 60001');
    });

    it('stitch-train: unknown image sets refused before any training', async () => {
      const out = path.join(tmp, 'st', 'stitch.json');
      const ST = ['stitch-train', '-c', cls, '--layer-x', 'layer1', '-g', gen, '--test-network', cls, '--epochs', '1', '--threads', '1', '-q', '-o', out];
      refused(await ganvasHere([...ST, '--train', 'imagenet']), 'the train set must be fmnist-train, fmnist-test[:count], tissue-train or tissue-validation[:count], got "imagenet"');
      refused(await ganvasHere([...ST, '--train', 'tissue-train:5', '--validation', 'fmnist-test:x']), 'the validation set must be fmnist-train, fmnist-test[:count], tissue-train or tissue-validation[:count], got "fmnist-test:x"');
      const missing = path.join(tmp, 'none');
      refused(await ganvasHere([...ST.map((a) => (a === gen ? missing : a))]), new RegExp(`^ganvas: error: --generator "${missing}" is neither`));
      refused(await ganvasHere([...ST.map((a, i) => (ST[i - 1] === '--test-network' ? missing : a))]), new RegExp(`^ganvas: error: --test-network "${missing}" is neither`));
      refused(await ganvasHere([...ST.map((a, i) => (ST[i - 1] === '-c' ? missing : a))]), new RegExp(`^ganvas: error: --classifier "${missing}" is neither`));
      expect(await exists(out)).to.equal(false);
    });
  });
});

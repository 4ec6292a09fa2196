/**
 * The `ganvas` subcommands beyond scan and dataset (issue 17): `invert` split over workers and shards gives the
 * bytes of one run, and its losses are the library invert()'s on the same images; `grid-inversion` and
 * `stitch-train` give the library's own results (timings aside), resume after SIGKILL, and refuse a changed model.
 */
import { expect } from 'chai';
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FeatureExtractor, Generator, Runtime, demoModelDir, fashionMnist, gridInversion, inversionMethods, invert, loadGridInversion } from 'ganvas';
import { CLI, cleanEnv, ganvas } from './cli-helpers';

describe('ganvas invert, grid-inversion, stitch-train', function () {
  this.timeout(600000);
  let tmp: string;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cli-jobs-'));
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('invert: --workers 2 and 3 shards merged = one run = the library invert() of the whole set', async () => {
    const INV = ['invert', '-c', 'fmnist-resnet', '-l', 'layer1', '-m', 'plain', '--images', 'fmnist-test', '-n', '20', '--steps', '4', '--batch', '8', '-q'];
    const one = path.join(tmp, 'inv1.json');
    const r1 = await ganvas([...INV, '-o', one]);
    expect(r1.code, r1.stderr).to.equal(0);
    const two = path.join(tmp, 'inv2.json');
    expect((await ganvas([...INV, '-o', two, '--workers', '2', '--threads', '1'])).code).to.equal(0);
    expect((await fs.readFile(two)).equals(await fs.readFile(one))).to.equal(true);
    const sh = path.join(tmp, 'invs.json');
    for (const i of [0, 1, 2]) expect((await ganvas([...INV, '-o', sh, '--shard', `${i}/3`])).code).to.equal(0);
    const merged = path.join(tmp, 'invm.json');
    const m = await ganvas(['merge', ...[0, 1, 2].map((i) => path.join(tmp, `invs.shard-000${i}-of-0003.json`)), '-o', merged]);
    expect(m.code, m.stderr).to.equal(0);
    expect((await fs.readFile(merged)).equals(await fs.readFile(one))).to.equal(true);

    const rt = new Runtime({ threads: 1 });
    try {
      const fx = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer1', rt);
      const images = (await fashionMnist('test', { count: 20 })).images;
      const lib = await invert(fx, images, { ...inversionMethods.plain(), steps: 4, batchSize: 8, seed: 0 });
      const out = JSON.parse(await fs.readFile(one, 'utf8')) as { entries: { index: number; loss: number }[] };
      expect(out.entries.map((e) => e.index)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
      expect(out.entries.map((e) => e.loss)).to.deep.equal(Array.from(lib.loss));
    } finally {
      await rt.release();
    }
  });

  it('grid-inversion: the library gridInversion() result; resumes after SIGKILL; refuses a changed model', async () => {
    const gen = path.join(tmp, 'gen');
    await fs.cp(demoModelDir('fmnist-stylegan'), gen, { recursive: true });
    const GI = ['grid-inversion', '-g', gen, '-l', 'b8.conv1', '-f', 'fmnist-resnet', '--feature-layer', 'layer1', '-n', '6', '--runs', '2', '--sizes', '0,2,3', '--steps', '3', '--batch', '6', '--threads', '1', '-q'];
    const out = path.join(tmp, 'gi.json');
    const work = path.join(tmp, '.gi.json.ganvas-work');
    // Kill once a cell is checkpointed, then resume.
    const child = spawn(process.execPath, [CLI, ...GI, '-o', out], { env: cleanEnv(), stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    while (!(await fs.stat(path.join(work, 'partial.json')).then(() => true, () => false)) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    const killedEarly = !(await fs.stat(out).then(() => true, () => false));
    const onnx = path.join(gen, 'model.onnx');
    const bytes = await fs.readFile(onnx);
    if (killedEarly) {
      await fs.writeFile(onnx, Buffer.concat([bytes, Buffer.from([0x32, 0x01, 0x78])]));
      const refused = await ganvas([...GI, '-o', out]);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/model files changed since the interrupted run/);
      await fs.writeFile(onnx, bytes);
    }
    const r = await ganvas([...GI, '-o', out]);
    expect(r.code, r.stderr).to.equal(0);
    const cli = await loadGridInversion(out);
    const rt = new Runtime({ threads: 1 });
    try {
      const cut = await (await Generator.open(gen, rt)).cut('b8.conv1');
      const fx = await FeatureExtractor.open(demoModelDir('fmnist-resnet'), 'layer1', rt);
      const lib = await gridInversion(cut, fx, { count: 6, runs: 2, sizes: [0, 2, 3], steps: 3, batchSize: 6 });
      const strip = (cells: typeof lib.cells) => cells.map(({ seconds: _s, ...c }) => c);
      expect(strip(cli.cells)).to.deep.equal(strip(lib.cells));
      expect(cli.settings).to.deep.equal(lib.settings);
    } finally {
      await rt.release();
    }
  });

  it('stitch-train: trains, checkpoints in its work directory, writes a stitch; bad sets get a clear message', async () => {
    const out = path.join(tmp, 'st', 'stitch.json');
    const ST = ['stitch-train', '-c', 'fmnist-resnet', '--layer-x', 'layer1', '-g', 'fmnist-stylegan', '--test-network', 'fmnist-testnet', '--validation', 'fmnist-test:16', '--epochs', '2', '--per-epoch', '16', '--init', 'default', '--threads', '1', '-q'];
    const r = await ganvas([...ST, '-o', out]);
    expect(r.code, r.stderr).to.equal(0);
    const saved = JSON.parse(await fs.readFile(out, 'utf8')) as { format: string; history?: unknown[]; record?: { history?: unknown[] } };
    expect(saved.format).to.equal('ganvas-stitch/1');
    expect(await fs.stat(path.join(tmp, 'st', '.stitch.json.ganvas-work')).then(() => true, () => false)).to.equal(false);
    const bad = await ganvas([...ST.map((a) => (a === 'fmnist-test:16' ? 'imagenet' : a)), '-o', path.join(tmp, 'st2.json')]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/validation set must be fmnist-train, fmnist-test\[:count\]/);
  });
});

/**
 * The package works installed elsewhere: pack it, install the tarball into a fresh folder, and load and run a
 * shipped model from there — as a user who runs `npm install ganvas` would.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

describe('npm pack', function () {
  this.timeout(600_000);

  it('smoke: installs from the tarball into another folder and runs a shipped generator there', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-pack-'));
    // dist/ is already built by `npm test`; skip "prepare" so packing does not rebuild it.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = info[0].files.map((f) => f.path);
    expect(files).to.include('dist/index.js');
    expect(files).to.include('dist/widgets.js');
    // The prebuilt Jupyter front-end extensions and their install command (#18).
    for (const f of ['dist/labextension/package.json', 'dist/labextension/static/remoteEntry.js', 'dist/nbextension/index.js', 'dist/nbextension/extension.js', 'scripts/ganvas-widgets.js']) expect(files).to.include(f);
    expect(files).to.include('models/fmnist-stylegan/model.onnx');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/') || f.includes('weights.pt'))).to.equal(false);
    const app = path.join(tmp, 'app');
    await fs.mkdir(app);
    await fs.writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'ganvas-user', version: '1.0.0', private: true }));
    await fs.writeFile(path.join(app, '.npmrc'), 'onnxruntime-node-install=skip\n');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, info[0].filename)], { cwd: app, stdio: 'pipe' });
    const script = `
      const g = require('ganvas');
      (async () => {
        const gen = await g.Generator.open(g.demoModelDir('fmnist-stylegan'));
        const img = await gen.generate([0, 1]);
        const cut = await gen.cut('b16.conv1');
        console.log(JSON.stringify({ from: require.resolve('ganvas'), dims: img.dims, layer: cut.layer.dims }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const result = JSON.parse(execFileSync('node', ['-e', script], { cwd: app, encoding: 'utf8' }));
    expect(result.from.startsWith(path.join(app, 'node_modules', 'ganvas'))).to.equal(true);
    expect(result.dims).to.deep.equal([2, 1, 32, 32]);
    expect(result.layer).to.deep.equal(['N', 64, 16, 16]);
    // The `ganvas` command (issue 17): the package's bin, linked by npm, runs a tiny scan of a shipped model.
    const bin = path.join(app, 'node_modules', '.bin', 'ganvas');
    expect(execFileSync(bin, ['--help'], { cwd: app, encoding: 'utf8' })).to.match(/scan[\s\S]*dataset[\s\S]*merge/);
    execFileSync(bin, ['scan', '-g', 'fmnist-stylegan', '-l', 'b8.conv1', '-f', 'fmnist-resnet', '--feature-layer', 'layer1', '-n', '4', '--batch', '4', '-q', '-o', 'scan.json'], { cwd: app, stdio: 'pipe' });
    expect(JSON.parse(await fs.readFile(path.join(app, 'scan.json'), 'utf8')).entries).to.have.length(4);
    await fs.rm(tmp, { recursive: true, force: true });
  });
});

#!/usr/bin/env node
// Builds the front-end extensions shipped in the npm package (no Python, no webpack): esbuild bundles
//   dist/labextension/      JupyterLab 4 / Notebook 7 federated extension (static/remoteEntry.js + package.json)
//   dist/nbextension/       classic Notebook 6 nbextension (index.js = RequireJS module, extension.js = loader)
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const define = { GANVAS_VERSION: JSON.stringify(pkg.version) };
const common = { bundle: true, minify: true, target: 'es2020', logLevel: 'warning', define, external: ['@jupyter-widgets/base'] };
const lab = path.join(root, 'dist', 'labextension');
fs.rmSync(lab, { recursive: true, force: true });
esbuild.buildSync({ ...common, entryPoints: [path.join(root, 'widgets/src/labextension.ts')], format: 'iife', outfile: path.join(lab, 'static', 'remoteEntry.js') });
fs.writeFileSync(path.join(lab, 'package.json'), JSON.stringify({
  name: 'ganvas-widgets',
  version: pkg.version,
  description: 'ganvas paint canvas, gallery and plots as Jupyter widgets',
  license: pkg.license,
  jupyterlab: { _build: { load: 'static/remoteEntry.js', extension: './extension' } },
}, null, 2) + '\n');
const nb = path.join(root, 'dist', 'nbextension');
fs.rmSync(nb, { recursive: true, force: true });
esbuild.buildSync({ ...common, entryPoints: [path.join(root, 'widgets/src/nbextension.ts')], format: 'iife', outfile: path.join(nb, 'index.js') });
// Loaded by the classic notebook (nbconfig load_extensions): maps the widget module name to index.js and keeps live
// views through the widget manager's start-up re-render (widgets/src/nbloader.ts says why).
esbuild.buildSync({ ...common, entryPoints: [path.join(root, 'widgets/src/nbloader.ts')], format: 'iife', outfile: path.join(nb, 'extension.js') });

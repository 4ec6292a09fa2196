#!/usr/bin/env node
// `npx ganvas-widgets install [--prefix DIR] [--dry-run]`: copies the prebuilt front-end extensions shipped in
// the npm package into the user's Jupyter (no Python build step):
//   <data>/labextensions/ganvas-widgets/     JupyterLab 4 and Notebook 7 (federated extension)
//   <data>/nbextensions/ganvas-widgets/      classic Notebook 6, enabled by
//   <config>/nbconfig/notebook.d/ganvas-widgets.json
// <data> and <config> are the first (user) entries of `jupyter --paths --json`, or <prefix>/share/jupyter and
// <prefix>/etc/jupyter with --prefix (e.g. a virtual environment: --prefix "$VIRTUAL_ENV").
// `uninstall` removes the same files. Reload the browser page (JupyterLab: restart the server) afterwards.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const dist = path.join(__dirname, '..', 'dist');
const args = process.argv.slice(2);
const cmd = args[0];
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
if (cmd !== 'install' && cmd !== 'uninstall') {
  console.error('usage: ganvas-widgets install|uninstall [--prefix DIR] [--dry-run]');
  process.exit(2);
}
let dataDir;
let configDir;
const prefix = opt('--prefix');
if (prefix) {
  dataDir = path.join(prefix, 'share', 'jupyter');
  configDir = path.join(prefix, 'etc', 'jupyter');
} else {
  let paths;
  try {
    paths = JSON.parse(execFileSync(process.env.JUPYTER || 'jupyter', ['--paths', '--json'], { encoding: 'utf8' }));
  } catch (e) {
    console.error(`ganvas-widgets: cannot run "jupyter --paths --json" (${e.message.split('\n')[0]}). Activate the environment that runs Jupyter, set JUPYTER=/path/to/jupyter, or pass --prefix DIR.`);
    process.exit(1);
  }
  dataDir = paths.data[0];
  configDir = paths.config[0];
}
const lab = path.join(dataDir, 'labextensions', 'ganvas-widgets');
const nb = path.join(dataDir, 'nbextensions', 'ganvas-widgets');
const nbconfig = path.join(configDir, 'nbconfig', 'notebook.d', 'ganvas-widgets.json');
const dry = args.includes('--dry-run');
for (const src of ['labextension/package.json', 'labextension/static/remoteEntry.js', 'nbextension/index.js', 'nbextension/extension.js']) {
  if (!fs.existsSync(path.join(dist, src))) {
    console.error(`ganvas-widgets: ${path.join(dist, src)} is missing; run "npm run build" in the ganvas package first.`);
    process.exit(1);
  }
}
function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    if (e.isDirectory()) copyDir(path.join(from, e.name), path.join(to, e.name));
    else fs.copyFileSync(path.join(from, e.name), path.join(to, e.name));
  }
}
if (cmd === 'install') {
  if (!dry) {
    fs.rmSync(lab, { recursive: true, force: true });
    copyDir(path.join(dist, 'labextension'), lab);
    fs.rmSync(nb, { recursive: true, force: true });
    copyDir(path.join(dist, 'nbextension'), nb);
    fs.mkdirSync(path.dirname(nbconfig), { recursive: true });
    fs.writeFileSync(nbconfig, JSON.stringify({ load_extensions: { 'ganvas-widgets/extension': true } }, null, 2) + '\n');
  }
  console.log(`ganvas-widgets ${dry ? 'would install' : 'installed'}:\n  ${lab}\n  ${nb}\n  ${nbconfig}\nReload the notebook page (JupyterLab/Notebook 7 read extensions when the server starts: restart it).`);
} else {
  if (!dry) for (const p of [lab, nb, nbconfig]) fs.rmSync(p, { recursive: true, force: true });
  console.log(`ganvas-widgets ${dry ? 'would remove' : 'removed'}: ${lab}, ${nb}, ${nbconfig}`);
}

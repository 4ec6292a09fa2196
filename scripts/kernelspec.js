#!/usr/bin/env node
// The tslab Jupyter kernelspec of THIS checkout, kept inside it: <root>/.jupyter/kernels/tslab/kernel.json, pointing
// at <root>/node_modules/.bin/tslab. Nothing machine-wide is written: Jupyter finds it only when JUPYTER_PATH
// includes <root>/.jupyter, which scripts/start.sh, scripts/report.sh and the notebook tests set (JUPYTER_PATH
// comes first in Jupyter's search, so this checkout's kernel wins over any machine-wide "tslab"). A second clone
// gets its own; deleting the checkout deletes its kernelspec with it.
// Prints the directory to put on JUPYTER_PATH. Also usable as require('./kernelspec.js').install().
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

function install() {
  const bin = path.join(root, 'node_modules', '.bin', 'tslab');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing; run npm ci first`);
  const dataDir = path.join(root, '.jupyter');
  const dir = path.join(dataDir, 'kernels', 'tslab');
  fs.mkdirSync(dir, { recursive: true });
  const spec = { argv: [bin, 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript', language: 'typescript', metadata: { ganvas: root } };
  const text = `${JSON.stringify(spec, null, 1)}\n`;
  const file = path.join(dir, 'kernel.json');
  let current = null;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    current = null;
  }
  if (current !== text) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file); // atomic: a Jupyter reading it never sees half a file
  }
  return dataDir;
}

module.exports = { install, root };
if (require.main === module) {
  try {
    process.stdout.write(`${install()}\n`);
  } catch (e) {
    process.stderr.write(`ganvas: ${e.message}\n`);
    process.exit(1);
  }
}

#!/usr/bin/env node
// Makes `require('ganvas')` work inside this checkout for tools that ignore package.json "exports" self-references
// (tslab compiles notebooks with Node10 module resolution): node_modules/ganvas -> .. (a relative link, so the
// checkout can move). Runs from "prepare", i.e. on `npm install`/`npm ci` in this checkout only, never when ganvas
// is installed as a dependency.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const link = path.join(root, 'node_modules', 'ganvas');
fs.mkdirSync(path.dirname(link), { recursive: true });
let current = null;
try {
  current = fs.readlinkSync(link);
} catch {
  current = null;
}
if (current !== '..') {
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync('..', link, 'dir');
}

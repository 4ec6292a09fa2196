#!/usr/bin/env node
// Stryker's build step (stryker.config.mjs), run in its sandbox: compile the instrumented src/ to dist/, then make
// require('ganvas') from build/test/*.js load the sandbox's (mutated) dist/ instead of the original checkout's, by
// a link build/node_modules/ganvas -> ../.. (Node looks there before the sandbox's node_modules, which is a link to
// the original checkout's, whose ganvas link points back at the original).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = process.cwd();
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });
const link = path.join(root, 'build', 'node_modules', 'ganvas');
fs.mkdirSync(path.dirname(link), { recursive: true });
fs.rmSync(link, { recursive: true, force: true });
fs.symlinkSync(path.join('..', '..'), link, 'dir');

// Mutation testing (issue 19): StrykerJS mutates the TypeScript in src/, compiles the instrumented copy with tsc
// in its sandbox (buildCommand), and runs the already compiled mocha tests (build/test) against it. Run it through
// `npm run mutation` (scripts/mutation.mjs), which builds first and picks the test files for the modules mutated;
// `npm run mutation -- --mutate src/gridMask.ts` runs one module.
//
// The tests import 'ganvas', which node_modules/ganvas (-> ..) resolves to the *original* checkout; in the sandbox
// node_modules is a link to the original one, so the build step adds build/node_modules/ganvas -> the sandbox root,
// found first by Node's lookup from build/test/*.js.
const specs = process.env.GANVAS_MUTATION_SPECS ? JSON.parse(process.env.GANVAS_MUTATION_SPECS) : ['build/test/visualize.test.js'];
const mutate = process.env.GANVAS_MUTATION_MUTATE ? JSON.parse(process.env.GANVAS_MUTATION_MUTATE) : undefined;
// One report folder and sandbox folder per set of modules, so runs on different modules can go side by side.
const tag = (mutate ?? ['all']).filter((m) => !m.startsWith('!')).join('+').replace(/[^A-Za-z0-9_.+-]+/g, '_') || 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  // rootHooks: the leftover-process check, and the coverage of child processes (test/mutationBridge.ts).
  mochaOptions: { spec: specs, 'no-config': true, require: ['build/test/rootHooks.js'] },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  buildCommand: 'node scripts/stryker-build.js',
  coverageAnalysis: 'perTest',
  ...(mutate ? { mutate } : {}),
  // .stryker-tmp: the sandboxes of runs going on beside this one (only this run's own folder is ignored by default).
  ignorePatterns: ['docs', 'notebooks', 'reports', 'test/artifacts', 'models/**/checkpoints', '/.stryker-tmp', '/.jupyter-venv'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${tag}.html` },
  jsonReporter: { fileName: `reports/mutation/${tag}.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0, reportScoreTable: true, reportMutants: true },
  thresholds: { high: 90, low: 85, break: null },
  timeoutMS: 20000,
  timeoutFactor: 2.5,
  tempDirName: `.stryker-tmp/${tag}`,
  cleanTempDir: 'always',
};

#!/usr/bin/env node
// `npm run mutation [-- --mutate <file or glob>[,<more>]] [other stryker options]`: mutation testing (issue 19).
// Builds src/ and the tests once, then runs StrykerJS (stryker.config.mjs) with the mocha test files that exercise
// the modules mutated (the table below; a module's own tests plus those that go through it). With perTest
// coverage each mutant then runs only the tests that reach it. Without --mutate: all of src/ but the barrel files.
// The clear-text report at the end has the mutation score per module (file); reports/mutation/ the html and json.
import { spawnSync } from 'child_process';

// [module prefix, compiled test files (under build/test, without .test.js)]. The slow end-to-end suites (Jupyter,
// Chromium, notebooks, recipes, npm pack) stay out: they exercise these modules too, but a dry run with them takes
// tens of minutes.
const TESTS = [
  ['src/gridMask.ts', ['visualize', 'tileability', 'gridInversion']],
  ['src/tileability.ts', ['tileability', 'texture', 'textureParts', 'reliability']],
  // The library file's validation (issue 15) is tested in reliability.test.ts and libraryParts.test.ts (session 12: the paint tests alone left it unexamined).
  ['src/library.ts', ['paint', 'reliability', 'libraryParts']],
  ['src/paint.ts', ['paint', 'faithfulness']],
  ['src/masks.ts', ['paint', 'masks', 'masksParts', 'masksParts2']],
  ['src/dataset.ts', ['datasetParts', 'paint']],
  ['src/stain.ts', ['stain', 'paint', 'stainParts']],
  ['src/faithfulness.ts', ['faithfulnessParts', 'faithfulnessParts2', 'faithfulness']],
  ['src/visualize.ts', ['visualize', 'tileability', 'reliability']],
  ['src/features.ts', ['tileability', 'visualize', 'features']],
  ['src/generator.ts', ['generatorParts', 'visualize', 'runtime', 'paint']],
  ['src/gridInversion.ts', ['gridInversion', 'gridInversionParts']],
  ['src/manifest.ts', ['manifest', 'demo-models', 'manifestParts']],
  ['src/errors.ts', ['validateParts', 'utilEdges', 'manifest', 'runtime']],
  ['src/validate.ts', ['validateParts', 'utilEdges', 'runtime']],
  ['src/io.ts', ['ioParts', 'utilEdges', 'runtime', 'tileability']],
  ['src/memo.ts', ['runtime', 'visualize']],
  ['src/onnx/mincut.ts', ['mincut', 'mincutParts', 'split']],
  ['src/interrupt.ts', ['interrupt', 'interruptParts']],
  ['src/onnx/', ['split', 'mincut', 'runtime', 'manifest']],
  ['src/onnx/layers.ts', ['layersParts', 'layerBrowser', 'manifest']],
  ['src/onnx/tensorProto.ts', ['layersParts', 'stitching/stitch']],
  ['src/runtime/', ['runtime', 'visualize', 'paint']],
  ['src/runtime/tensor.ts', ['tensorParts', 'utilEdges', 'runtime', 'display']],
  ['src/runtime/npy.ts', ['npyParts', 'utilEdges', 'runtime']],
  ['src/runtime/describe.ts', ['tensorParts', 'utilEdges', 'display']],
  ['src/runtime/noise.ts', ['tensorParts', 'runtime']],
  ['src/runtime/session.ts', ['sessionParts', 'runtime', 'display', 'visualize', 'paint']],
  ['src/runtime/image.ts', ['imageParts', 'runtime', 'display', 'visualize', 'paint']],
  // The op rules: finite differences per op (rules), refused attribute combinations, the documented choice among
  // equal-valued convolution gradient forms (forms), the engine, and the PyTorch autograd fixtures (arch, fixtures). The optimizer tests never reach an op rule.
  ['src/autodiff/ops/', ['autodiff/rules', 'autodiff/refusals', 'autodiff/forms', 'autodiff/engine', 'autodiff/arch', 'autodiff/fixtures']],
  ['src/autodiff/', ['autodiff/rules', 'autodiff/engine', 'autodiff/optim', 'autodiff/fixtures', 'autodiff/arch', 'autodiff/refusals', 'autodiff/optimParts', 'autodiff/lossParts', 'autodiff/constantsParts', 'autodiff/emitParts', 'autodiff/registryParts', 'autodiff/gradientParts', 'autodiff/gradientParts2', 'autodiff/constantsParts2']],
  ['src/inversion/', ['inversionParts2', 'inversion', 'inversionParts']],
  ['src/stitching/', ['stitching/stitchParts', 'stitching/stitchTrainParts', 'stitching/stitchDataParts', 'stitching/stitch', 'stitching/figures']],
  ['src/widgets/', ['widgets-server', 'stitch-widget']],
  // The §3.4 metrics are checked against PyTorch and by hand in reference.test.ts (issue 19).
  ['src/stitching/targetLayer.ts', ['stitching/targetLayerParts', 'stitching/stitch']],
  ['src/stitching/metrics.ts', ['stitching/stitchMathParts', 'stitching/stitchFigureParts']],
  // The CLI runs in child processes: test/mutationBridge.ts carries the mutant into them and their coverage back.
  // cliParts, cliParts2, cliParts3: the same commands in this process on tiny models, seconds per mutant instead of minutes (first: a
  // mutant killed by them never reaches the child-process suites).
  ['src/cli/', ['cliParts', 'cliParts2', 'cliParts3', 'cliParts4', 'cli-startup', 'cli-jobs', 'cli']],
  ['src/manifestDraft.ts', ['manifestDraft', 'manifestDraftParts']],
  ['src/layerBrowser.ts', ['layerBrowser', 'layerBrowserParts']],
  // The widgets' kernel sides and the notebook display in this process (session 11): loopback server, tiny models, a
  // tslab kernel faked in-process (test/fakeTslab.ts) for display.ts, show.ts and the comm transport.
  ['src/widgets/stitch.ts', ['widgetsParts2', 'stitch-widget']],
  ['src/widgets/server.ts', ['widgetsParts', 'widgets-server']],
  ['src/widgets/paint.ts', ['widgetsParts2', 'widgetsCommParts', 'paint-static']],
  ['src/widgets/plot.ts', ['widgetsParts', 'widgetsCommParts', 'widgets-server']],
  ['src/widgets/lines.ts', ['widgetsParts', 'stitch-widget']],
  ['src/widgets/gallery.ts', ['widgetsParts2', 'widgetsCommParts']],
  ['src/display.ts', ['displayParts', 'display']],
  ['src/show.ts', ['displayParts', 'display']],
  // Paper 003's stitching modules on tiny models in this process (session 11): seconds per mutant; the slow
  // stitch, figures and reference suites (demo models, PyTorch) stay out. metrics.ts's line above: the same idea.
  ['src/stitching/stitch.ts', ['stitching/stitchParts', 'stitching/stitchTrainParts', 'stitching/stitchDataParts']],
  ['src/stitching/compose.ts', ['stitching/stitchComposeParts', 'stitching/stitchParts', 'stitching/stitchTrainParts', 'stitching/stitchDataParts']],
  ['src/stitching/data.ts', ['stitching/stitchDataParts']],
  ['src/stitching/demo.ts', ['stitching/stitchDataParts', 'stitching/stitchParts', 'stitching/stitchTrainParts']],
  ['src/stitching/init.ts', ['stitching/stitchMathParts', 'stitching/stitchFigureParts']],
  ['src/stitching/figures.ts', ['stitching/stitchMathParts', 'stitching/stitchFigureParts']],
  // The comm layer and the widget protocol against an in-process fake tslab kernel (test/comm/fakeKernel.ts), messages
  // signed and checked by the spec's rule in the tests; comm.test.ts (a real kernel over ZeroMQ) is the slow counterpart.
  ['src/comm/', ['comm/wireParts', 'comm/commParts']],
  ['src/widgets/transport.ts', ['comm/commParts']],
  ['src/widgets/html.ts', ['comm/wireParts']],
  // The ONNX plumbing in this process on hand-built graphs (onnxParts*: seconds per mutant; the sandbox's children are
  // stand-in scripts or one real child per test).
  ['src/onnx/cache.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
  ['src/onnx/compose.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
  ['src/onnx/graph.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
  ['src/onnx/model.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
  ['src/onnx/pieces.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
  ['src/onnx/probe.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
  ['src/onnx/sandbox.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
  ['src/onnx/sandboxChild.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
  ['src/onnx/types.ts', ['onnxParts', 'onnxParts2', 'onnxParts3']],
];
const DEFAULT_MUTATE = ['src/**/*.ts', '!src/index.ts', '!src/**/index.ts'];

const args = process.argv.slice(2);
const rest = [];
let mutate = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--mutate' || args[i] === '-m') mutate.push(...args[++i].split(','));
  else if (args[i].startsWith('--mutate=')) mutate.push(...args[i].slice('--mutate='.length).split(','));
  else rest.push(args[i]);
}
if (mutate.length === 0) mutate = DEFAULT_MUTATE;

// A glob such as src/autodiff/ops/*.ts matches a prefix by its part before the first wildcard. A module takes the
// tests of the longest prefix it lies under (src/autodiff/ops/abs.ts: the ops line, not the autodiff one), plus
// those of every listed module under it (src/onnx/ also takes mincut's). `--tests a,b` (names as in TESTS)
// replaces the table's choice.
const specs = new Set();
const testsArg = rest.indexOf('--tests');
if (testsArg >= 0) {
  rest[testsArg + 1].split(',').forEach((t) => specs.add(`build/test/${t}.test.js`));
  rest.splice(testsArg, 2);
}
for (const m of testsArg >= 0 ? [] : mutate.filter((p) => !p.startsWith('!'))) {
  const stem = m.replace(/[*{[].*$/, '');
  let found = false;
  const above = TESTS.filter(([prefix]) => stem.startsWith(prefix)).sort((a, b) => b[0].length - a[0].length);
  const chosen = [...above.slice(0, 1), ...TESTS.filter(([prefix]) => prefix.startsWith(stem) && prefix !== stem)];
  for (const [, tests] of chosen) {
    tests.forEach((t) => specs.add(`build/test/${t}.test.js`));
    found = true;
  }
  if (!found) {
    console.error(`mutation: no test files listed for ${m} in scripts/mutation.mjs; add a line to TESTS`);
    process.exit(2);
  }
}

function run(cmd, argv, env) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
run('npx', ['tsc', '-p', 'tsconfig.json']);
run('npx', ['tsc', '-p', 'tsconfig.test.json']);
console.log(`mutation: mutating ${mutate.join(' ')}\nmutation: tests ${[...specs].join(' ')}`);
run('npx', ['stryker', 'run', 'stryker.config.mjs', ...rest], {
  GANVAS_MUTATION_SPECS: JSON.stringify([...specs]),
  GANVAS_MUTATION_MUTATE: JSON.stringify(mutate),
});

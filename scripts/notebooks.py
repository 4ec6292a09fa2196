#!/usr/bin/env python3
"""Writes the ganvas notebooks (stored without outputs). Edit the cells here and re-run:
    /usr/bin/python3 scripts/notebooks.py
Keeping them as code makes review and diffs readable; all logic lives in the ganvas package."""
import nbformat, os

KS = {"display_name": "TypeScript", "language": "typescript", "name": "tslab"}
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks")

def nb(name, cells):
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = KS
    book.metadata["language_info"] = {"name": "typescript"}
    for kind, src in cells:
        src = src.strip("\n")
        book.cells.append(nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src))
    nbformat.validate(book)
    with open(os.path.join(HERE, name), "w") as f:
        nbformat.write(book, f)

SETUP = """import * as g from 'ganvas';
const rt = new g.Runtime();
const gen = await g.Generator.open(g.demoModelDir('fmnist-stylegan'), rt);
const cut = await gen.cut('b8.conv1');
console.log(`${gen.name}: cut at ${cut.layerName}, activations ${cut.layer.dims.join('×')}`);"""

nb("01-visualize.ipynb", [
    ("md", """# Visualize activation vectors

*Visualize and Paint GAN Activations* (paper 000, §3.1): an **activation vector** is one pixel of a hidden layer of a
generator — a vector with one value per channel. We cannot look at it directly, but the rest of the generator can
render it: write it into the hidden layer and run the layers after it. That takes one forward pass, so it is
interactive.

ganvas cuts the generator at the layer into a **head** (inputs → activations) and a **tail** (activations → image).
The shipped demo generator `fmnist-stylegan` is a small StyleGAN2 trained on Fashion-MNIST."""),
    ("code", SETUP),
    ("md", """The cut is real ONNX surgery: everything the tail still needs from before the cut (the style vector *w*, the
skip RGB branches) becomes a tail input, and the noise inputs read after the cut stay tail inputs."""),
    ("code", """cut.split.tailInputs.map((t) => `${t.role}: ${t.name}`)"""),
    ("md", """Generate a few samples and take activation vectors at random positions. Every vector remembers where it came
from (model, layer, sample seed, y, x), so it can be regenerated anywhere. Many random positions are black
background, whose `full` render is flat; `spatialStd` measures how much a render varies (0 = one flat colour), so
we keep the 6 most textured of 24."""),
    ("code", """const { vectors: pool } = await g.sampleVectors(cut, { count: 24, seed: 1 });
const texture = g.spatialStd(await g.visualize(cut, pool, { grid: 'full' }), gen.range, 0, undefined, g.TEXTURE_MARGIN);
const vectors = texture.map((t, i) => [t, i]).sort((a, b) => b[0] - a[0]).slice(0, 6).map((p) => pool[p[1]]);
console.log(`${texture.filter((t) => t < 0.01).length} of 24 full renders are flat (texture < 0.01)`);
vectors.map((v) => v.provenance)"""),
    ("md", """Two ways to look at a vector (Fig. 2): **full** writes it into every position; **grid(g)** writes it into g×g
blocks separated by one-position gaps and keeps the sample's own activations in between."""),
    ("code", """const masks = await g.contactSheet([{ label: 'masks', images: g.concatBatch([1, 2, 'full'].map((s) => g.maskImage(g.gridMask(8, 8, s as g.GridSize)))), captions: ['grid(1)', 'grid(2)', 'full'] }], { scale: 8 });
g.showPng(masks);"""),
    ("code", """const samples = await gen.generate(vectors.map((v) => v.provenance!.seed));
const full = await g.visualize(cut, vectors, { grid: 'full' });
const grid2 = await g.visualize(cut, vectors, { grid: 2 });
g.showPng(await g.contactSheet([
  { label: 'sample', images: samples },
  { label: 'grid(2)', images: grid2 },
  { label: 'full', images: full },
], { range: gen.range, scale: 3, labelWidth: 70 }));"""),
    ("md", """Vectors whose `full` render looks like their `grid(2)` render are **tileable** (textures that repeat);
the others **stretch**. Notebook 02 measures that.

## The tissue model: ihc-gan

`ihc-gan` makes 64×64 crops of a stained tissue slide. Nothing after its hidden layers varies over space (no noise
input), so a vector written everywhere (`full`) renders as one flat colour inside a frame; `grid(2)` shows the
structure a vector draws — nuclei, stroma, glass."""),
    ("code", """const ihc = await g.Generator.open(g.demoModelDir('ihc-gan'), rt);
const ihcCut = await ihc.cut('l16');
const { vectors: tissue } = await g.sampleVectors(ihcCut, { count: 6, seed: 1 });
g.showPng(await g.contactSheet([
  { label: 'sample', images: await ihc.generate(tissue.map((v) => v.provenance!.seed)) },
  { label: 'grid(2)', images: await g.visualize(ihcCut, tissue, { grid: 2 }) },
  { label: 'full', images: await g.visualize(ihcCut, tissue, { grid: 'full' }) },
], { range: ihc.range, scale: 2, labelWidth: 70 }));"""),
])

nb("02-tileability.ipynb", [
    ("md", """# Tileability: which vectors tile, which stretch

Paper 000 §4.2: render each vector with `full` and with `grid(2)`, pass both through a feature extractor to a
hidden layer, and compare the full render's mean feature with the grid render's features averaged under the
(resized, eroded) grid mask. The cosine similarity is the **tileability score**.

Here the feature extractor is the shipped classifier `fmnist-resnet`. Our images are 32×32, so its `layer2` is only
8×8; we cut the generator at `b8.conv1` (8×8) and compare at `layer1` (16×16), which keeps the paper's ratio of a
feature map finer than the hidden layer, so the 3×3 erosion leaves the inside of each block."""),
    ("code", SETUP + """
const fx = await g.FeatureExtractor.open(g.demoModelDir('fmnist-resnet'), 'layer1', rt);"""),
    ("md", """Score 512 vectors (the paper uses 2048; `npm run bench:tileability` runs that). The progress line updates in place."""),
    ("code", """const scan = await g.scan(cut, fx, { count: 512, seed: 0, onProgress: g.progress('tileability scan') });
const ranked = g.rank(scan);
const scores = ranked.map((e) => e.cosine);
console.log(`scores: max ${scores[0].toFixed(3)}, median ${scores[scores.length >> 1].toFixed(3)}, min ${scores[scores.length - 1].toFixed(3)}`);"""),
    ("md", """Scans are saved as JSON (scores and provenance) and reload bit for bit."""),
    ("code", """await g.saveScan('/tmp/ganvas-scan.json', scan);
const again = await g.loadScan('/tmp/ganvas-scan.json');
JSON.stringify(again) === JSON.stringify(scan)"""),
    ("md", """Flat background renders the same with `full` and `grid(2)`, so it tops the plain ranking. Every score
also carries `texture`, the spatial std of the `full` render; `textureThreshold` finds the gap between flat and
textured renders, and `rank(scan, { minTexture })` leaves the flat ones out (README, *What we found*)."""),
    ("code", """const minTexture = g.textureThreshold(scan);
const textured = g.rank(scan, { minTexture: minTexture });
console.log(`texture threshold ${minTexture.toFixed(3)}: ${scan.entries.length - textured.length} of ${scan.entries.length} full renders are flat; ${ranked.slice(0, 8).filter((e) => e.texture! < minTexture).length} of the plain top 8`);"""),
    ("md", """The most and least tileable vectors, grid(2) above full (Figs. 5 and 6). Click one to enlarge it, see its
provenance and its grid-size row (live in a local Jupyter; a static image elsewhere)."""),
    ("code", """const top = await g.gallery(cut, textured.slice(0, 8));
const plainTop = await g.gallery(cut, ranked.slice(0, 8));
const bottom = await g.gallery(cut, textured.slice(-8).reverse());
await g.showGallery(cut, [top, plainTop, bottom], { titles: ['most tileable textures (top 8, minTexture)', 'most tileable of all (top 8: mostly flat background)', 'least tileable (bottom 8)'] });"""),
])

nb("03-grid-size.ipynb", [
    ("md", """# Grid size

Paper 000, Fig. 7: a non-tileable vector drawn with grid sizes 1…5 and full. Too large a grid stretches the
structure; too small a grid barely shows it. The paper recommends g = 2 or 3. Below, a row per vector, and the mean
tileability score (± std) against g over many vectors."""),
    ("code", SETUP + """
const fx = await g.FeatureExtractor.open(g.demoModelDir('fmnist-resnet'), 'layer1', rt);"""),
    ("code", """const scan = await g.scan(cut, fx, { count: 128, seed: 2 });
const low = g.rank(scan).slice(-4).reverse();
const vectors = await g.vectorsFromProvenance(cut, low.map((e) => e.provenance));
const rows = await g.gridSweep(cut, vectors, [1, 2, 3, 4, 5, 'full']);
g.showPng(await g.contactSheet(rows.map((images, i) => ({ label: `score ${low[i].cosine.toFixed(3)}`, images })), { range: gen.range, scale: 3, labelWidth: 90, columns: ['g = 1', 'g = 2', 'g = 3', 'g = 4', 'g = 5', 'full'] }));"""),
    ("code", """const curve = await g.sweepCurve(cut, fx, { count: 96, seed: 3, sizes: [1, 2, 3, 4, 5], onProgress: g.progress('grid sizes') });
await g.showSweepPlot(curve, { title: `${gen.name} ${cut.layerName}: tileability vs grid size` });
curve"""),
])

nb("04-paint.ipynb", [
    ("md", """# Paint with activation vectors

Paper 000 §3.2 and §4.3: pick vectors, give each a color, draw a mask; ganvas writes each vector into the hidden
layer where its color is, keeps the original activations where the mask is green (`#00ff00`), and renders.
Painting with tileable vectors fills the region with their texture; non-tileable ones stretch."""),
    ("code", SETUP),
    ("md", """Build a small vector library from the most and least tileable vectors of a quick scan (saved as JSON + `.npy`)."""),
    ("code", """const fx = await g.FeatureExtractor.open(g.demoModelDir('fmnist-resnet'), 'layer1', rt);
const scan = await g.scan(cut, fx, { count: 128, seed: 4 });
const ranked = g.rank(scan, { minTexture: g.textureThreshold(scan) }); // textures only: no flat black brushes
const picks = await g.vectorsFromProvenance(cut, [ranked[0].provenance, ranked[1].provenance, ranked[ranked.length - 1].provenance]);
const lib = g.VectorLibrary.for(cut);
lib.add('tileable A', '#ff0000', picks[0].vector, picks[0].provenance);
lib.add('tileable B', '#0000ff', picks[1].vector, picks[1].provenance);
lib.add('non-tileable', '#ffff00', picks[2].vector, picks[2].provenance);
await lib.save('/tmp/ganvas-library.json');
lib.entries.map((e) => `${e.name} ${e.color}`)"""),
    ("md", """The candidates: the most and least tileable vectors of that scan (click one for its provenance and grid-size row)."""),
    ("code", """await g.showGallery(cut, [await g.gallery(cut, ranked.slice(0, 6)), await g.gallery(cut, ranked.slice(-6).reverse())], { titles: ['most tileable', 'least tileable'] });"""),
    ("md", """Paint a mask made in code: left half tileable A, a square of B, the rest kept."""),
    ("code", """const size = 64;
const mask = { data: new Uint8Array(size * size * 3), width: size, height: size };
for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
  const c = x < size / 2 ? [255, 0, 0] : (y > 40 && x > 40 ? [0, 0, 255] : [0, 255, 0]);
  mask.data.set(c, 3 * (y * size + x));
}
const painting = await g.paint(cut, mask, lib, { seed: 3 });
// The mask as an image at the output size (nearest), in the generator's range, to show beside the painting.
const [lo, hi] = gen.range;
const side = painting.image.dims[3];
const maskImage = { data: new Float32Array(3 * side * side), dims: [1, 3, side, side] };
for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) for (let k = 0; k < 3; k++) {
  maskImage.data[(k * side + y) * side + x] = lo + (mask.data[3 * (Math.floor((y * size) / side) * size + Math.floor((x * size) / side)) + k] / 255) * (hi - lo);
}
g.showPng(await g.contactSheet([{ label: 'mask', images: maskImage }, { label: 'unpainted', images: await gen.generate([3]) }, { label: 'painted', images: painting.image }], { range: gen.range, scale: 4, labelWidth: 80 }));"""),
    ("md", """The same mask on the tissue model `ihc-gan` (cut at `l16`), with two vectors of a tissue sample. Nothing after
its hidden layers varies over space (no noise input), so a region filled with one vector paints one flat stain
colour, with structure only at its borders; the green region keeps the sample's own tissue (README, *What we
found*: on ihc-gan every `full` render is flat)."""),
    ("code", """const ihc = await g.Generator.open(g.demoModelDir('ihc-gan'), rt);
const ihcCut = await ihc.cut('l16');
const { vectors: tv } = await g.sampleVectors(ihcCut, { count: 2, seed: 5 });
const tissueLib = g.VectorLibrary.for(ihcCut);
tissueLib.add('tissue A', '#ff0000', tv[0].vector, tv[0].provenance);
tissueLib.add('tissue B', '#0000ff', tv[1].vector, tv[1].provenance);
const tissue = await g.paint(ihcCut, mask, tissueLib, { seed: 3 });
g.showPng(await g.contactSheet([{ label: 'ihc-gan', images: g.concatBatch([await ihc.generate([3]), tissue.image]), captions: ['unpainted', 'painted'] }], { range: ihc.range, scale: 2, labelWidth: 60 }));"""),
    ("md", """Variations (Fig. 8): the same mask with other vectors, and with other noise seeds."""),
    ("code", """const painter = new g.Painter(cut, lib);
const byVector = await painter.vectorVariations(mask, '#ff0000', lib.entries.map((e) => e.vector), { seed: 3 });
const byNoise = await painter.noiseVariations(mask, [10, 11, 12], { seed: 3 });
g.showPng(await g.contactSheet([{ label: 'vectors', images: byVector }, { label: 'noise', images: byNoise }], { range: gen.range, scale: 4, labelWidth: 70 }));"""),
    ("md", """## The paint canvas

Pick a brush (one per library vector), draw on the left, and the image on the right updates as you paint. The
eraser paints "keep". The widget talks to this kernel through a local server (see the README, *Widgets*); the last
mask and image stay on `canvas`, so the next cell can use them."""),
    ("code", """const canvas = (await g.PaintWidget.create(cut, lib, { seed: 3 })).show();"""),
    ("code", """// After painting: the mask (RGB at canvas resolution) and the image are here.
({ paints: canvas.paints, painted: canvas.paintedPixels(), image: canvas.image?.dims })"""),
    ("md", """## An annotated dataset

Random masks painted with the library give (image, label map) pairs for training a segmentation model. The run is
resumable: stop it and start it again, and it continues without duplicating or losing pairs."""),
    ("code", """import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
// A new directory per run: a directory with pairs of other settings (or of an older ganvas) is refused, not mixed.
const datasetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ganvas-dataset-'));
const index = await g.generateDataset(cut, lib, { dir: datasetDir, count: 32, kind: 'voronoi', onProgress: g.progress('dataset') });
`${index.entries.length} pairs in ${datasetDir}: ${index.classes.map((c) => `${c.label}=${c.name}`).join(', ')}`"""),
])
nb("05-stitching.ipynb", [
    ("md", """# Model stitching: invert a classifier through a generator

Paper 003: a 1×1 convolution maps a classifier's hidden layer (**LayerX**) into a generator's (**LayerY**). Once it
is trained, one forward pass inverts the classifier: the image's LayerX activations go through the 1×1 conv into
the generator, which renders them with a seed's style and noise after LayerY. The shipped demo stitches map
`fmnist-resnet` into `fmnist-stylegan` and `ihc-features` into `ihc-gan`, one per classifier layer, into the
generator layer the paper's rule picks (as many up-samplings from the output as LayerX is down-samplings from the
input). Stitches not trained yet are listed and skipped."""),
    ("code", """import * as g from 'ganvas';
const rt = new g.Runtime({ threads: 1 }); // the widget runs every stitch at once: one thread each (see bench:stitch-widget)
const fm = await g.loadDemoStitches('fmnist-resnet', 'fmnist-stylegan', { runtime: rt });
fm.notes.forEach((n) => console.log(n));
fm.stitches.map((s) => `${s.name}: best validation cosine ${g.bestEpoch(g.validationHistory(s.record)).valCosine.toFixed(3)}`)"""),
    ("md", """## Reconstructions from every layer (Fig. 4)

Test images on top, then one row per stitched layer. Column i uses generator seed i in every row."""),
    ("code", """const { images: test } = await g.fashionMnist('test', { count: 8 });
if (fm.stitches.length > 0) g.showPng(await g.reconstructionSheet(fm.stitches, test));"""),
    ("md", """## Seed variations (Figs. 10–11)

One image reconstructed from `layer3` (as in the paper; the deepest stitched layer while layer3 has no stitch)
with 15 seeds: what the layer keeps stays, the rest comes from the seed."""),
    ("code", """const l3 = fm.stitches.find((s) => s.layerX === 'layer3') ?? fm.stitches[fm.stitches.length - 1];
if (l3) g.showPng(await g.variationSheet(l3, g.sliceBatch(test, 1, 2), Array.from({ length: 15 }, (_, i) => i)));"""),
    ("md", """## Training and the end-layer sweep (Fig. 5)

Each stitch keeps its validation curve (pixel cosine of the test network `fmnist-testnet`, §3.4, on 500 test
images). The sweep stitches the same classifier layer into generator layers −2…+2 up-samplings from the rule's
choice and plots the best validation cosine and L1 relative to distance 0."""),
    ("code", """if (fm.stitches.length > 0) await g.showLinePlot(g.validationSeries(fm.stitches), { title: 'validation cosine while training', xLabel: 'training samples', yLabel: 'validation cosine' });"""),
    ("code", """const sweep = await g.endLayerSweep('fmnist-resnet', 'fmnist-stylegan');
if (sweep.some((l) => l.points.length > 1)) {
  await g.showLinePlot(g.endLayerSeries(sweep, 'cosine'), { title: 'end-layer sweep: cosine', xLabel: 'samplings distance', yLabel: 'cosine / cosine at 0', xTicks: [-2, -1, 0, 1, 2] });
  await g.showLinePlot(g.endLayerSeries(sweep, 'l1'), { title: 'end-layer sweep: L1', xLabel: 'samplings distance', yLabel: 'L1 / L1 at 0', xTicks: [-2, -1, 0, 1, 2] });
} else console.log('no end-layer sweep stitches yet (only distance 0): ' + sweep.map((l) => l.layerX).join(', '));"""),
    ("md", """## The hardest images (Fig. 9)

The 8 of the 500 validation images whose reconstructions from `layer3` have the lowest test-network cosine, with
it under each."""),
    ("code", """const { images: validation } = await g.fashionMnist('test', { count: 500 });
const worst = l3 ? await g.cosineExtremes(l3, await g.testNetworkOf(l3), validation, { count: 8 }) : undefined;
if (worst) g.showPng(worst.png);
worst ? `${l3.name}: mean cosine ${worst.meanCosine.toFixed(3)} over 500; the 8 lowest ${worst.cosine.map((c) => c.toFixed(3)).join(', ')}` : 'no stitch'"""),
    ("md", """## Draw and see every layer's reconstruction

Draw on the canvas (grey level and brush size above it), or click a test image to start from; each stroke is
inverted by every stitch, shown right of the canvas. The seed changes the generator's style and noise. The widget
talks to this kernel through a local server (see the README, *Widgets*); the last drawn image and its
reconstructions stay on `widget`."""),
    ("code", """const widget = fm.stitches.length > 0 ? await g.showStitchWidget(fm.stitches, { picks: test, seed: 0 }) : undefined;"""),
    ("code", """// After drawing: the last image (classifier range) and one reconstruction per layer (generator range).
({ inversions: widget?.inversions, seed: widget?.seed, image: widget?.image?.dims, reconstructions: widget?.reconstructions.map((r) => r.dims) })"""),
    ("md", """## Tissue: ihc-features → ihc-gan

The same for the tissue pair (64×64 RGB crops of `ihc.png` from columns no demo model was trained on; test network
`ihc-testnet`)."""),
    ("code", """const ihc = await g.loadDemoStitches('ihc-features', 'ihc-gan', { runtime: rt });
ihc.notes.forEach((n) => console.log(n));
const crops = await g.tissueCrops({ count: 8, seed: 0, split: 'validation' });
if (ihc.stitches.length > 0) g.showPng(await g.reconstructionSheet(ihc.stitches, crops));
ihc.stitches.map((s) => `${s.name}: best validation cosine ${g.bestEpoch(g.validationHistory(s.record)).valCosine.toFixed(3)}`)"""),
    ("code", """const tissueDeepest = ihc.stitches[ihc.stitches.length - 1];
if (tissueDeepest) {
  g.showPng(await g.variationSheet(tissueDeepest, g.sliceBatch(crops, 0, 1), Array.from({ length: 15 }, (_, i) => i)));
  const tissueSweep = await g.endLayerSweep('ihc-features', 'ihc-gan');
  if (tissueSweep.some((l) => l.points.length > 1)) await g.showLinePlot(g.endLayerSeries(tissueSweep, 'cosine'), { title: 'tissue end-layer sweep: cosine', xLabel: 'samplings distance', yLabel: 'cosine / cosine at 0', xTicks: [-2, -1, 0, 1, 2] });
  else await g.showLinePlot(g.validationSeries(ihc.stitches), { title: 'tissue: validation cosine while training', xLabel: 'training samples', yLabel: 'validation cosine' });
  const tissueWorst = await g.cosineExtremes(tissueDeepest, await g.testNetworkOf(tissueDeepest), await g.tissueCrops({ count: 300, seed: 0, split: 'validation' }), { count: 8 });
  g.showPng(tissueWorst.png);
}"""),
    ("code", """const tissueWidget = ihc.stitches.length > 0 ? await g.showStitchWidget(ihc.stitches, { picks: crops, seed: 0 }) : undefined;"""),
])

nb("06-inversion.ipynb", [
    ("md", """# Inversion: from a classifier's hidden layer back to an image

Paper 003 (§3.2–3.4) asks what a classifier's hidden layer LayerX still knows about the image, by turning its
activations back into an image and judging the result in a second, *test* network at the same depth (so that an
adversarial image that fools only the first network does not score). Its baselines are gradient descent on an image
(Algorithm 1): **PLAIN** optimizes pixels through a sigmoid; **FFT-DEC** optimizes a colour-decorrelated Fourier
spectrum and jitters the image by up to one pixel at every step. Both minimize the L1 distance between LayerX
activations of the image being optimized and of the original.

ganvas builds these from Lucent-style parts — a parameterization, a list of transforms, an objective — that become
one ONNX graph per step (image, preprocessing, classifier, loss and gradient), so it works on your own classifier too."""),
    ("code", """import * as g from 'ganvas';
const rt = new g.Runtime();
const { images } = await g.fashionMnist('test', { count: 1, offset: 0 });
// The paper runs 512 steps (npm run bench:inversion does); fewer keep this notebook quick.
// (Written `steps: steps` below: tslab does not see cross-cell variables in shorthand properties.)
const steps = 256;
const layers = ['layer1', 'layer2', 'layer3', 'layer4'];"""),
    ("md", """Invert `fmnist-resnet` from each layer with the three methods of the paper's Table 1 — **GAN** (the stitched
generator, `g.Stitch`: one forward pass, where a demo stitch for that layer exists), FFT-DEC and PLAIN — and
judge each reconstruction in `fmnist-testnet` at the same layer with the paper's three metrics (§3.4: per-pixel
cosine, cosine of Gram matrices, L1; higher, higher, lower is better). Under each image: cosine / Gram cosine / L1."""),
    ("code", """const testNets: Record<string, g.FeatureExtractor> = {};
for (const layer of layers) testNets[layer] = await g.FeatureExtractor.open(g.demoModelDir('fmnist-testnet'), layer, rt);
const rows: g.SheetRow[] = [];
const results: { method: string; layer: string; cosine: number; gram: number; l1: number; seconds: number }[] = [];
const add = async (method: string, layer: string, rec: g.FloatTensor, seconds: number, recs: g.FloatTensor[], captions: string[]) => {
  const m = await g.evaluateInversion(testNets[layer], images, rec, [0, 1]);
  recs.push(rec);
  captions.push(`${m.cosine[0].toFixed(2)}/${m.gram[0].toFixed(2)}/${m.l1[0].toFixed(2)}`);
  results.push({ method, layer, cosine: m.cosine[0], gram: m.gram[0], l1: m.l1[0], seconds });
};
// GAN: the demo stitches (models/stitches), into the generator layer the paper's rule picks.
const classifier = await g.openDemoModel('fmnist-resnet');
const generator = await g.openDemoModel('fmnist-stylegan');
const ganRecs: g.FloatTensor[] = [];
const ganCaptions: string[] = [];
for (const layer of layers) {
  const target = await g.targetLayer(classifier, layer, generator);
  let stitch: g.Stitch | undefined;
  try {
    stitch = await g.Stitch.load(g.demoStitchPath('fmnist-resnet', layer, 'fmnist-stylegan', target.layer), { runtime: rt });
  } catch {
    ganRecs.push(g.zeros([1, 1, 32, 32]));
    ganCaptions.push('(no stitch)');
    continue;
  }
  const t0 = performance.now();
  const rec = await stitch.invert(images, { seed: 0 });
  const [lo, hi] = stitch.generator.range;
  const rec01 = { data: rec.data.map((v) => (v - lo) / (hi - lo)), dims: rec.dims };
  await add('GAN', layer, rec01, (performance.now() - t0) / 1000, ganRecs, ganCaptions);
}
rows.push({ label: 'GAN', images: g.concatBatch(ganRecs), captions: ganCaptions });
const methods: Record<string, () => g.InversionMethod> = { 'FFT-DEC': g.inversionMethods.fftDec, PLAIN: g.inversionMethods.plain };
for (const [name, method] of Object.entries(methods)) {
  const recs: g.FloatTensor[] = [];
  const captions: string[] = [];
  for (const layer of layers) {
    const fx = await g.FeatureExtractor.open(g.demoModelDir('fmnist-resnet'), layer, rt);
    const r = await g.invert(fx, images, { ...method(), steps: steps, seed: 0, onProgress: g.progress(`${name} ${layer}`) });
    await add(name, layer, r.images, r.seconds, recs, captions);
  }
  rows.push({ label: name, images: g.concatBatch(recs), captions });
}
g.showPng(await g.contactSheet([{ label: 'original', images: g.concatBatch(layers.map(() => images)), captions: layers }, ...rows], { range: [0, 1], scale: 4, labelWidth: 70 }));
console.table(results);"""),
    ("md", """The parts compose: any parameterization with any list of transforms (and your own, written as ONNX nodes).
Here FFT-DEC's spectrum without the jitter — the paper's ablation, which it found better than PLAIN in early layers —
and a wider jitter."""),
    ("code", """const fx2 = await g.FeatureExtractor.open(g.demoModelDir('fmnist-resnet'), 'layer2', rt);
const variants = {
  'no jitter': { parameterization: g.fftImage(), transforms: [] },
  'jitter ±2': { parameterization: g.fftImage(), transforms: [g.jitter({ pad: 2, shift: 2 })] },
};
const out: g.FloatTensor[] = [];
for (const [name, v] of Object.entries(variants)) out.push((await g.invert(fx2, images, { ...v, steps: steps, seed: 0 })).images);
g.showPng(await g.contactSheet([{ label: 'layer2', images: g.concatBatch(out), captions: Object.keys(variants) }], { range: [0, 1], scale: 4, labelWidth: 70 }));"""),
])

nb("07-grid-size-inversion.ipynb", [
    ("md", """# Which grid size is best? Inverting through the generator

Paper 000, appendix §7 (Algorithm 1, Fig. 9). Take an image the generator made, run it through a feature extractor
F_Y to LayerY and read y, the activation vector at a random pixel. Then search the generator's hidden layer X for an
activation map `a` that reproduces y — but `a` may hold only **two vectors**: v1 on the blue pixels of the grid
mask of size g and v2 on the white ones (g = 0: one vector everywhere). Adam minimizes
|mean_{h,w} F_Y(G_X(a)) − y|; at the end, cos(mean_{h,w} F_Y(G_X(a)), y) says how well a grid of that size can
express y. The paper finds g = 2 best on its GANs; `npm run bench:grid-inversion` runs the full experiment on the
shipped models (README, *What we found: grid size*)."""),
    ("code", """import * as g from 'ganvas';
const rt = new g.Runtime();
const pairs = [
  { gen: 'fmnist-stylegan', layer: 'b8.conv1', fx: 'fmnist-resnet', fl: 'layer1' },
  { gen: 'ihc-gan', layer: 'l16', fx: 'ihc-features', fl: 'layer1' },
];
const opened = [];
for (const p of pairs) {
  const gen = await g.Generator.open(g.demoModelDir(p.gen), rt);
  opened.push({ name: `${p.gen} ${p.layer} × ${p.fx} ${p.fl}`, cut: await gen.cut(p.layer), fx: await g.FeatureExtractor.open(g.demoModelDir(p.fx), p.fl, rt) });
}
opened.map((o) => o.name)"""),
    ("md", """Run the experiment on a few images so this notebook stays quick: the paper uses 512 images × 3 runs, and so
does the bench (its results are loaded below). Each image has its own v1, v2; many images go through onnxruntime in
one call. `file` makes the run resumable and `signal` (an AbortSignal) can stop it."""),
    ("code", """// 8 images × 2 runs × 20 steps here; the paper (and the bench) use 512 images × 3 runs.
const small = [];
for (const o of opened) {
  const result = await g.gridInversion(o.cut, o.fx, { count: 8, runs: 2, steps: 20, keepVectors: true, onProgress: g.progress(o.name) });
  small.push({ ...o, result });
}
await g.showGridCurvePlot(small.map((s) => ({ name: s.name, points: g.gridInversionCurve(s.result) })), { title: 'Fig. 9, 8 images × 2 runs (quick)' });"""),
    ("md", """The full-size curves from `npm run bench:grid-inversion` (512 images × 3 runs per pair, 30 steps), when their
results files are there, beside the forward tileability score against g (notebook 03) for the first pair."""),
    ("code", """import * as fs from 'fs';
const full = [];
for (const p of pairs) {
  const file = `../docs/grid-inversion-${p.gen}.json`;
  if (fs.existsSync(file)) full.push({ name: `${p.gen} ${p.layer}`, points: g.gridInversionCurve(await g.loadGridInversion(file)) });
}
const forward = await g.sweepCurve(opened[0].cut, opened[0].fx, { count: 64, seed: 3, sizes: [1, 2, 3, 4, 5] });
if (full.length > 0) await g.showGridCurvePlot(full, { title: 'Fig. 9 on the shipped models (bench results)', forward, forwardTitle: `${pairs[0].gen}: forward tileability vs g` });
full.map((f) => ({ name: f.name, curve: f.points.map((q) => `g=${q.grid}: ${q.mean.toFixed(4)} ± ${q.std.toFixed(4)}`) }))"""),
    ("md", """The best and the worst inversions at g = 2: the generated image y was read from (top) and the image the two
optimized vectors render on the same sample (bottom), with the final cosine."""),
    ("code", """for (const s of small) {
  const cell = s.result.cells.find((c) => c.run === 0 && c.grid === 2)!;
  const order = cell.cosines.map((c, i) => [c, i]).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  const picks = [...order.slice(0, 3), ...order.slice(-3)];
  const { original, inverted } = await g.renderInversions(s.cut, s.result, 0, 2, picks);
  g.showPng(await g.contactSheet([
    { label: 'image', images: original, captions: picks.map((i, k) => (k < 3 ? 'best' : 'worst')) },
    { label: 'g = 2', images: inverted, captions: picks.map((i) => cell.cosines[i].toFixed(3)) },
  ], { range: s.cut.generator.range, scale: s.cut.generator.name === 'ihc-gan' ? 2 : 3, labelWidth: 60 }));
}"""),
])
print("notebooks written to", os.path.normpath(HERE))

/**
 * draftManifest / writeManifest (issue 16, "Bringing your own model"): a first manifest from an ONNX file, on
 * architectures ganvas never saw, built with random weights by test/fixtures/odd_generators.py (a UNet with skips,
 * ConvTranspose and PixelShuffle; the recipes' StyleGAN2 with styles and per-layer noise) and by the torchvision
 * export recipe (ResNet18), whose own manifest is the independent check of the classifier draft.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FeatureExtractor, GanvasError, Generator, Runtime, draftManifest, layers, loadModel, openModel, writeManifest } from 'ganvas';

const root = path.join(__dirname, '..', '..');

describe('draftManifest / writeManifest', function () {
  this.timeout(300_000);
  const rt = new Runtime({ threads: 1 });
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-draft-'));
    execFileSync('/usr/bin/python3', [path.join(root, 'test', 'fixtures', 'odd_generators.py'), dir], { stdio: 'pipe' });
    execFileSync('/usr/bin/python3', [path.join(root, 'models', 'recipes', 'export_torchvision.py'), '--arch', 'resnet18', '--random-weights', '--seed', '0', '--size', '64', '--no-fixture', '--out', path.join(dir, 'resnet18')], { stdio: 'pipe' });
  });
  after(async () => {
    await rt.release();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('UNet (skips, ConvTranspose, PixelShuffle): inputs and shapes from the graph; the written model opens, cuts and renders', async () => {
    const onnx = path.join(dir, 'unet', 'model.onnx');
    const d = await draftManifest(onnx, { kind: 'generator', range: [0, 1] });
    expect(d.manifest.inputs).to.deep.equal([{ name: 'noise_image', kind: 'noise', shape: ['N', 3, 16, 16], distribution: 'normal' }]);
    expect(d.manifest.outputs).to.deep.equal([{ name: 'rgb', kind: 'image', range: [0, 1] }]);
    expect(d.assumptions.join('\n')).to.include('no layer aliases');
    // A layer to cut at: the 8×8 skip source, found with layers(model) as the assumption says.
    const spatial = (await layers(await loadModel(onnx))).filter((l) => l.height === 8 && l.channels === 8 && l.op === 'Relu');
    expect(spatial.length).to.be.greaterThan(0);
    const w = await writeManifest(onnx, { kind: 'generator', range: [0, 1], layers: { skip8: spatial[0].name } });
    expect(w.file).to.equal(path.join(dir, 'unet', 'ganvas.json'));
    const gen = await Generator.open(path.join(dir, 'unet'), rt);
    const images = await gen.generate([0, 1]);
    expect(images.dims).to.deep.equal([2, 3, 16, 16]);
    const cut = await gen.cut('skip8');
    expect(cut.layer.dims).to.deep.equal(['N', 8, 8, 8]);
    // Writing again without overwrite is refused; with it, replaced.
    try {
      await writeManifest(onnx, { kind: 'generator' });
      throw new Error('expected an error');
    } catch (e) {
      expect(e).to.be.instanceOf(GanvasError);
      expect((e as Error).message).to.include('exists; pass overwrite: true');
    }
    const again = await writeManifest(onnx, { kind: 'generator', overwrite: true });
    expect(again.assumptions.join('\n')).to.include('pixel range [-1, 1] guessed');
  });

  it('StyleGAN2 (z + per-layer noise): latent and noise inputs told apart, every noise shape from the graph', async () => {
    const onnx = path.join(dir, 'stylegan', 'model.onnx');
    const w = await writeManifest(onnx, { kind: 'generator', range: [-1, 1] });
    const kinds = w.manifest.inputs.map((i) => `${i.name}:${i.kind}:${i.shape.join('x')}`);
    expect(kinds).to.deep.equal([
      'z:latent:Nx16',
      'noise_b4_conv1:noise:Nx1x4x4',
      'noise_b8_conv0:noise:Nx1x8x8',
      'noise_b8_conv1:noise:Nx1x8x8',
      'noise_b16_conv0:noise:Nx1x16x16',
      'noise_b16_conv1:noise:Nx1x16x16',
    ]);
    const gen = await Generator.open(path.join(dir, 'stylegan'), rt);
    const a = await gen.generate([3]);
    const b = await gen.generate([3]);
    expect(a.dims).to.deep.equal([1, 1, 16, 16]);
    expect(Array.from(a.data)).to.deep.equal(Array.from(b.data)); // seeded through the drafted distributions
  });

  it('classifier draft agrees with the export recipe\'s own manifest (ResNet18, 64 px)', async () => {
    const recipeDir = path.join(dir, 'resnet18');
    const recipe = (await openModel(recipeDir)).manifest;
    const onnx = path.join(recipeDir, recipe.model);
    const d = await draftManifest(onnx, { kind: 'classifier', preprocess: { range: recipe.preprocess!.range, mean: recipe.preprocess!.mean, std: recipe.preprocess!.std }, layers: recipe.layers });
    expect(d.manifest.inputs.map((i) => ({ name: i.name, kind: i.kind, shape: i.shape }))).to.deep.equal(recipe.inputs.map((i) => ({ name: i.name, kind: i.kind, shape: i.shape })));
    expect(d.manifest.preprocess).to.deep.equal(recipe.preprocess);
    expect(d.manifest.outputs.map((o) => o.name)).to.deep.equal(recipe.outputs.map((o) => o.name));
    // Written next to a copy of the graph, it opens as a feature extractor.
    const mine = path.join(dir, 'resnet18-draft');
    await fs.mkdir(mine);
    await fs.copyFile(onnx, path.join(mine, 'model.onnx'));
    await writeManifest(path.join(mine, 'model.onnx'), { kind: 'classifier', preprocess: recipe.preprocess, layers: recipe.layers });
    const fx = await FeatureExtractor.open(mine, 'layer2', rt);
    const feats = await fx.features({ data: new Float32Array(3 * 64 * 64).fill(0.5), dims: [1, 3, 64, 64] }, [0, 1]);
    expect(feats.dims).to.deep.equal([1, 128, 8, 8]);
  });

  it('says what is wrong: a dynamic spatial axis, a missing file, an unknown kind', async () => {
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => draftManifest(path.join(dir, 'dynamic', 'model.onnx'), { kind: 'generator' }), /dynamic axis 2.*dynamic_axes only on axis 0/],
      [() => draftManifest(path.join(dir, 'nope.onnx'), { kind: 'generator' }), /cannot read ONNX model/],
      [() => draftManifest(path.join(dir, 'unet', 'model.onnx'), { kind: 'painter' as 'generator' }), /kind must be/],
      [() => draftManifest(path.join(dir, 'unet', 'model.onnx'), { kind: 'generator', imageOutput: 'logits' }), /no 4-D image output/],
    ];
    for (const [f, re] of cases) {
      try {
        await f();
        throw new Error(`expected an error matching ${re}`);
      } catch (e) {
        expect(e, String(re)).to.be.instanceOf(GanvasError);
        expect((e as Error).message).to.match(re);
      }
    }
  });
});

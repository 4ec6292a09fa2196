import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as path from 'path';
import { Manifest, demoModelDir, openModel, resolveLayer, validateManifest } from 'ganvas';
import { styled } from './graphs';
import { modelFolder, styledManifest } from './models';
import { rejectsGanvas } from './util';

function manifest(over: Partial<Manifest> = {}): Manifest {
  return styledManifest({ layers: { 'b4.conv0': 'h' }, ...over }) as unknown as Manifest;
}

function modelDir(m: object): Promise<string> {
  return modelFolder(styled(), m, 'ganvas-manifest-');
}

describe('manifests', () => {
  it('opens a model directory and resolves its aliases', async () => {
    const b = await openModel(await modelDir(manifest()));
    expect(b.manifest.name).to.equal('styled');
    expect((await resolveLayer(b.model, 'b4.conv0')).name).to.equal('h');
  });

  it('lists every problem of a bad manifest at once, naming the field', () => {
    try {
      validateManifest({ format: 'x', role: 'painter', inputs: [] }, 'bad.json');
      throw new Error('expected an error');
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).to.include('"format" must be "ganvas-manifest/1"');
      expect(msg).to.include('"role" must be one of generator, classifier, features');
      expect(msg).to.include('"inputs" must list the graph inputs');
      expect(msg).to.include('"outputs"');
    }
  });

  it('refuses a generator without an output range and a classifier without preprocessing', () => {
    expect(() => validateManifest(manifest({ outputs: [{ name: 'img', kind: 'image' }] }), 'm.json')).to.throw(/needs an image output with a "range"/);
    expect(() => validateManifest(manifest({ role: 'classifier' }), 'm.json')).to.throw(/needs "preprocess"/);
  });

  it('refuses manifests that do not match the model, suggesting the right name', async () => {
    const wrong = manifest({
      inputs: [
        { name: 'zz', kind: 'latent', shape: ['N', 8] },
        { name: 'noise', kind: 'noise', shape: ['N', 1, 4, 4] },
      ],
    });
    const e = await rejectsGanvas(openModel(await modelDir(wrong)), 'BAD_MANIFEST');
    expect(e.message).to.include('did you mean "z"');
    const e2 = await rejectsGanvas(openModel(await modelDir(manifest({ outputs: [{ name: 'image', kind: 'image', range: [-1, 1] }] }))));
    expect(e2.message).to.include('has outputs img');
  });

  it('reports unreadable JSON and missing directories by path', async () => {
    const dir = await modelDir(manifest());
    await fs.writeFile(path.join(dir, 'ganvas.json'), '{ not json');
    expect((await rejectsGanvas(openModel(dir), 'BAD_MANIFEST')).message).to.include('is not valid JSON');
    expect((await rejectsGanvas(openModel('/nonexistent/model-dir'), 'BAD_MANIFEST')).message).to.include('/nonexistent/model-dir');
  });

  it('says a manifest is needed when given a bare .onnx file, and lists the demo models for a misspelled one', async () => {
    const e = await rejectsGanvas(openModel(path.join(demoModelDir('fmnist-stylegan'), 'model.onnx')), 'BAD_MANIFEST');
    expect(e.message).to.match(/is an ONNX file; ganvas opens a model directory holding model\.onnx and its ganvas\.json/);
    const m = await rejectsGanvas(openModel(demoModelDir('fmnist-stylegn')), 'BAD_MANIFEST');
    expect(m.message).to.match(/no demo model "fmnist-stylegn"; shipped: .*fmnist-stylegan/);
    expect((await rejectsGanvas(openModel('' as string), 'BAD_MANIFEST')).message).to.match(/must be a directory/);
  });
});

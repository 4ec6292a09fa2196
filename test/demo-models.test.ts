/**
 * The shipped demo models: every manifest opens, every alias is a 4-D layer, and for generators head ∘ tail equals
 * the full model at every aliased layer (max abs ≤ 1e-5) on seeded random inputs.
 */
import { expect } from 'chai';
import { FloatTensor, Generator, ModelBundle, OnnxModel, Runtime, demoModels, fromImage, gradName, gradientModel, layers, loss, maxAbsDiff, openDemoModel, resolveLayer } from 'ganvas';

/** Names of the Conv nodes with a stride other than 1. */
function stridedConvs(model: OnnxModel): string[] {
  return (model.graph.node ?? [])
    .filter((n) => n.opType === 'Conv' && (n.attribute ?? []).some((a) => a.name === 'strides' && (a.ints ?? []).some((v) => Number(v) !== 1)))
    .map((n) => n.name ?? '');
}

/** Power spectrum |DFT₂|² of an N×C×H×W tensor, averaged over images and channels (separable DFT), H×W. */
function powerSpectrum(t: FloatTensor): Float64Array {
  const [n, c, h, w] = t.dims;
  const cos = (k: number, m: number, len: number): number => Math.cos((-2 * Math.PI * k * m) / len);
  const sin = (k: number, m: number, len: number): number => Math.sin((-2 * Math.PI * k * m) / len);
  const out = new Float64Array(h * w);
  const rowRe = new Float64Array(h * w);
  const rowIm = new Float64Array(h * w);
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * h * w;
    for (let y = 0; y < h; y++) {
      for (let v = 0; v < w; v++) {
        let re = 0;
        let im = 0;
        for (let x = 0; x < w; x++) {
          const g = t.data[base + y * w + x];
          re += g * cos(v, x, w);
          im += g * sin(v, x, w);
        }
        rowRe[y * w + v] = re;
        rowIm[y * w + v] = im;
      }
    }
    for (let u = 0; u < h; u++) {
      for (let v = 0; v < w; v++) {
        let re = 0;
        let im = 0;
        for (let y = 0; y < h; y++) {
          const cr = cos(u, y, h);
          const ci = sin(u, y, h);
          re += rowRe[y * w + v] * cr - rowIm[y * w + v] * ci;
          im += rowRe[y * w + v] * ci + rowIm[y * w + v] * cr;
        }
        out[u * w + v] += (re * re + im * im) / (n * c);
      }
    }
  }
  return out;
}

/**
 * The grid pattern of paper 003 Fig. 6: in the power spectrum of an H×W tensor batch, the mean power at the
 * frequencies of a grid of period `period` ((0, 0) excluded) over the mean power of their 8 neighbours. About 1
 * when no pixel grid is favoured; strided convs raise it.
 */
function gridPeakRatio(t: FloatTensor, period: number): number {
  const [, , h, w] = t.dims;
  const p = powerSpectrum(t);
  let peaks = 0;
  let around = 0;
  let np = 0;
  let na = 0;
  for (let i = 0; i < period; i++) {
    for (let j = 0; j < period; j++) {
      if (i === 0 && j === 0) continue;
      const u = (i * h) / period;
      const v = (j * w) / period;
      peaks += p[u * w + v];
      np++;
      for (let du = -1; du <= 1; du++) {
        for (let dv = -1; dv <= 1; dv++) {
          if (du === 0 && dv === 0) continue;
          around += p[((u + du + h) % h) * w + ((v + dv + w) % w)];
          na++;
        }
      }
    }
  }
  return peaks / np / (around / na);
}

/** 16 crops 64×64 of the never-trained-on right 128 columns of skimage's ihc.png, in [0, 1]. */
async function heldOutIhcCrops(): Promise<FloatTensor> {
  const slide = await fromImage('/usr/lib/python3/dist-packages/skimage/data/ihc.png');
  const [, , H, W] = slide.dims;
  const data = new Float32Array(16 * 3 * 64 * 64);
  let i = 0;
  for (let y0 = 0; y0 + 64 <= H; y0 += 64) {
    for (const x0 of [W - 128, W - 64]) {
      for (let ch = 0; ch < 3; ch++) {
        for (let y = 0; y < 64; y++) {
          for (let x = 0; x < 64; x++) data[((i * 3 + ch) * 64 + y) * 64 + x] = slide.data[(ch * H + y0 + y) * W + x0 + x];
        }
      }
      i++;
    }
  }
  return { data, dims: [16, 3, 64, 64] };
}

describe('shipped demo models', function () {
  this.timeout(300_000);
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());

  it('the zoo holds the generators and extractors the notebooks use', async () => {
    const names = await demoModels();
    for (const n of ['fmnist-stylegan', 'fmnist-resnet']) expect(names).to.include(n);
  });

  it('every manifest opens and every alias is a 4-D layer', async () => {
    for (const name of await demoModels()) {
      const b = await openDemoModel(name);
      expect(b.manifest.name).to.equal(name);
      const all = await layers(b.model);
      for (const alias of Object.keys(b.manifest.layers)) {
        const l = await resolveLayer(b.model, alias);
        expect(all.map((x) => x.name), `${name} ${alias}`).to.include(l.name);
      }
    }
  });

  it('head then tail equals the full generator at every aliased layer (max abs ≤ 1e-5)', async () => {
    for (const name of await demoModels()) {
      const b = await openDemoModel(name);
      if (b.manifest.role !== 'generator') continue;
      const gen = new Generator(b, rt);
      const seeds = [11, 12, 13];
      const full = await gen.generate(seeds);
      for (const alias of Object.keys(b.manifest.layers)) {
        const cut = await gen.cut(alias);
        const h = await cut.sample(seeds);
        const composed = await cut.render(h.activations, h.carry);
        expect(maxAbsDiff(full, composed), `${name} at ${alias}`).to.be.at.most(1e-5);
      }
    }
  });

  it('ihc-testnet is a test network for ihc-features (paper 003 §4.3.1): same layer sizes, no strided conv, no max-pool', async () => {
    expect(await demoModels()).to.include.members(['ihc-testnet', 'ihc-features']);
    const t = await openDemoModel('ihc-testnet');
    const f = await openDemoModel('ihc-features');
    expect(t.manifest.preprocess?.size).to.deep.equal(f.manifest.preprocess?.size);
    for (const alias of ['layer1', 'layer2', 'layer3']) {
      const lt = await resolveLayer(t.model, alias);
      const lf = await resolveLayer(f.model, alias);
      expect([lt.height, lt.width], alias).to.deep.equal([lf.height, lf.width]);
    }
    const nodes = t.model.graph.node ?? [];
    expect(nodes.filter((n) => n.opType === 'MaxPool' || n.opType === 'AveragePool').map((n) => n.name)).to.deep.equal([]);
    expect(stridedConvs(t.model)).to.deep.equal([]);
    expect(nodes.filter((n) => n.opType === 'Resize').length, 'one bilinear down-sampling per stage').to.equal(3);
    // The check can fail: ihc-features down-samples with stride-2 convs.
    expect(stridedConvs(f.model)).to.have.length(3);
  });

  it('paper 003 Fig. 6: ganvas\'s input gradients of ihc-testnet show no grid pattern, those of ihc-features do', async () => {
    // Gradient of mean(layer²) with respect to the image, by ganvas's autodiff on the shipped ONNX graphs, for 16
    // held-out ihc crops normalized as each manifest says; grid period = the layer's total down-sampling.
    const crops = await heldOutIhcCrops();
    const ratios = async (b: ModelBundle): Promise<number[]> => {
      const { mean = [0, 0, 0], std = [1, 1, 1] } = b.manifest.preprocess ?? {};
      const image = { data: crops.data.map((v, i) => (v - mean[Math.floor(i / 4096) % 3]) / std[Math.floor(i / 4096) % 3]), dims: crops.dims };
      const out: number[] = [];
      for (const [k, layer] of ['layer1', 'layer2', 'layer3'].entries()) {
        const s = await rt.session(await gradientModel(b.model, { wrt: ['image'], loss: loss.mse(layer) }));
        out.push(gridPeakRatio((await s.run({ image }))[gradName('image')], 2 ** (k + 1)));
      }
      return out;
    };
    const t = await ratios(await openDemoModel('ihc-testnet'));
    const f = await ratios(await openDemoModel('ihc-features'));
    if (process.env.GANVAS_VERBOSE) console.log(`      grid peak ratio layer1..3: ihc-testnet ${t.map((r) => r.toFixed(2))}, ihc-features ${f.map((r) => r.toFixed(2))}`);
    for (const [k, r] of t.entries()) expect(r, `ihc-testnet layer${k + 1} (ihc-features: ${f[k].toFixed(2)})`).to.be.below(1.5);
    for (const [k, r] of f.entries()) expect(r, `ihc-features layer${k + 1}`).to.be.above(2);
  });
});

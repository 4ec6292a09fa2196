/**
 * Faithfulness measures (src/faithfulness.ts) on generators whose tail is known exactly, so every figure can be
 * worked out apart from the module: img = h (paint IoU: the painted pixels are the vector's colour, the rest the
 * unpainted sample) and img = h + noise (after-cut influence: |Δimg| is |Δnoise| inside and outside the painted
 * region). Also the defaults (seeds 0…7, the central square of half the side on an odd, non-square layer, the
 * 256-sample thresholds, the base seed 0 and others 1…8) and the region refusal.
 */
import { expect } from 'chai';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ActivationVector, Cut, FloatTensor, GanvasError, Generator, KEEP_COLOR, Manifest, Painter, Runtime, StainThresholds,
  afterCutInfluence, paintIoU, rgbToHed, stainLabels, stainThresholds,
} from 'ganvas';
import { GraphBuilder } from './builder';

async function writeModel(name: string, g: GraphBuilder, manifest: Omit<Manifest, 'format' | 'name' | 'model'>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ganvas-${name}-`));
  await fs.writeFile(path.join(dir, 'model.onnx'), g.bytes());
  await fs.writeFile(path.join(dir, 'ganvas.json'), JSON.stringify({ format: 'ganvas-manifest/1', name, model: 'model.onnx', ...manifest }));
  return dir;
}

/** img = h = tanh(z) laid out 3×5×6: an identity tail on an odd, non-square layer. */
function identity5x6(): Promise<string> {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 90]);
  g.node('Tanh', [g.node('Reshape', [z, g.initInt64('shape', [-1, 3, 5, 6])], 'x')], 'h');
  g.node('Identity', ['h'], 'img');
  g.output('img', ['N', 3, 5, 6]);
  return writeModel('identity-5x6', g, {
    role: 'generator',
    inputs: [{ name: 'z', kind: 'latent', shape: ['N', 90], distribution: 'normal' }],
    outputs: [{ name: 'img', kind: 'image', range: [-1, 1] }],
    layers: { h: 'h' },
  });
}

/** img = h + noise on a 1×4×4 layer: what enters after the cut is the noise, added as it is. */
function noisyIdentity(): Promise<string> {
  const g = new GraphBuilder();
  const z = g.input('z', ['N', 16]);
  const noise = g.input('noise', ['N', 1, 4, 4]);
  g.node('Tanh', [g.node('Reshape', [z, g.initInt64('shape', [-1, 1, 4, 4])], 'x')], 'h');
  g.node('Add', ['h', noise], 'img');
  g.output('img', ['N', 1, 4, 4]);
  return writeModel('noisy-identity', g, {
    role: 'generator',
    inputs: [
      { name: 'z', kind: 'latent', shape: ['N', 16], distribution: 'normal' },
      { name: 'noise', kind: 'noise', shape: ['N', 1, 4, 4], distribution: 'normal' },
    ],
    outputs: [{ name: 'img', kind: 'image', range: [-2, 2] }],
    layers: { h: 'h' },
  });
}

const vec = (v: number[]): ActivationVector => ({ vector: Float32Array.from(v), provenance: { model: 'm', layer: 'h', seed: 0, y: 0, x: 0 } });

/** IoU and coverage of one seed, worked out apart: the painted image is the sample with `region` set to v. */
async function expectedIoU(cut: Cut, v: Float32Array, seed: number, region: Uint8Array, t: StainThresholds): Promise<{ iou: number; coverage: number; cls: number }> {
  const img = await cut.generator.generate([seed]);
  const hw = region.length;
  for (let p = 0; p < hw; p++) if (region[p]) for (let k = 0; k < 3; k++) img.data[k * hw + p] = v[k];
  const oracle = stainLabels(rgbToHed(img, 0), t);
  const flat: FloatTensor = { data: Float32Array.from({ length: 3 * hw }, (_, i) => v[Math.floor(i / hw)]), dims: [1, 3, 1, hw] };
  const cls = stainLabels(rgbToHed(flat, 0), t)[0];
  let inter = 0;
  let union = 0;
  let area = 0;
  for (let p = 0; p < hw; p++) {
    const a = region[p] === 1;
    const b = oracle[p] === cls;
    inter += a && b ? 1 : 0;
    union += a || b ? 1 : 0;
    area += a ? 1 : 0;
  }
  return { iou: union ? inter / union : 0, coverage: area ? inter / area : 0, cls };
}

describe('faithfulness measures, worked out apart', function () {
  this.timeout(120_000);
  const rt = new Runtime({ threads: 1 });
  after(() => rt.release());
  const t: StainThresholds = { hematoxylin: 0.05, dab: 0.05 };
  // Brown (DAB) and blue (hematoxylin) in [-1, 1].
  const brown = Float32Array.from([0.1, -0.3, -0.7]);
  const blue = Float32Array.from([-0.5, -0.3, 0.4]);

  it('paint IoU per seed and vector: IoU of the painted region with the vector\'s own stain class, their mean, and coverage', async () => {
    const cut = await (await Generator.open(await identity5x6(), rt)).cut('h');
    // A region off the centre: rows 0–1, columns 3–5.
    const region = new Uint8Array(30);
    for (let y = 0; y < 2; y++) for (let x = 3; x < 6; x++) region[y * 6 + x] = 1;
    const seeds = [3, 11];
    const vectors = [vec(Array.from(brown)), vec(Array.from(blue))];
    const res = await paintIoU(cut, vectors, { seeds, thresholds: t, region });
    expect(res.map((r) => r.stainClass)).to.deep.equal(['dab', 'hematoxylin']);
    for (const [i, v] of [brown, blue].entries()) {
      const exp = await Promise.all(seeds.map((s) => expectedIoU(cut, v, s, region, t)));
      expect(res[i].ious.length).to.equal(2);
      res[i].ious.forEach((x, j) => expect(x, `vector ${i} seed ${seeds[j]}`).to.be.closeTo(exp[j].iou, 1e-12));
      expect(res[i].iou).to.be.closeTo((exp[0].iou + exp[1].iou) / 2, 1e-12);
      expect(res[i].coverage).to.be.closeTo((exp[0].coverage + exp[1].coverage) / 2, 1e-12);
      expect(res[i].vector).to.equal(vectors[i]);
    }
    // The region's pixels are the vector's colour, so the painted pixels are all of its class.
    expect(res[0].coverage).to.equal(1);
  });

  it('defaults: seeds 0…7, the central square of half the side (odd, non-square layer: rows 1–3, columns 1–4), thresholds from 256 samples', async () => {
    const cut = await (await Generator.open(await identity5x6(), rt)).cut('h');
    const square = new Uint8Array(30);
    for (let y = 1; y <= 3; y++) for (let x = 1; x <= 4; x++) square[y * 6 + x] = 1;
    const [byDefault] = await paintIoU(cut, [vec(Array.from(brown))], { thresholds: t });
    const [explicit] = await paintIoU(cut, [vec(Array.from(brown))], { thresholds: t, seeds: [0, 1, 2, 3, 4, 5, 6, 7], region: square });
    expect(byDefault.ious).to.deep.equal(explicit.ious);
    expect(byDefault.ious.length).to.equal(8);
    for (let s = 0; s < 8; s++) expect(byDefault.ious[s], `seed ${s}`).to.be.closeTo((await expectedIoU(cut, brown, s, square, t)).iou, 1e-12);
    // The default thresholds: each stain's mean + 1 sd over 256 unpainted samples ("oracle:0" … "oracle:255").
    const samples = await cut.generator.generate(Array.from({ length: 256 }, (_, i) => `oracle:${i}`));
    const own = stainThresholds(samples, [-1, 1]);
    const [auto] = await paintIoU(cut, [vec(Array.from(blue))], { seeds: [4] });
    expect(auto.ious[0]).to.be.closeTo((await expectedIoU(cut, blue, 4, square, own)).iou, 1e-12);
  });

  it('a vector whose class no pixel has and an empty region: IoU 0 and coverage 0, not NaN', async () => {
    const cut = await (await Generator.open(await identity5x6(), rt)).cut('h');
    // DAB threshold between the brown vector's DAB and the largest DAB of the unpainted sample.
    const dabOf = (img: FloatTensor) => Math.max(...rgbToHed(img, 0)[2]);
    // A dark brown, and seed 0, whose sample's largest DAB amount (0.29) is below the colour's (0.56).
    const dark = Float32Array.from([0, -0.6, -0.99]);
    const sample = await cut.generator.generate([0]);
    const vDab = dabOf({ data: dark, dims: [1, 3, 1, 1] });
    const sDab = dabOf(sample);
    expect(vDab).to.be.greaterThan(sDab);
    const th = { hematoxylin: 0.05, dab: (vDab + sDab) / 2 };
    const [r] = await paintIoU(cut, [vec(Array.from(dark))], { seeds: [0], thresholds: th, region: new Uint8Array(30) });
    expect(r.stainClass).to.equal('dab');
    expect(r.ious).to.deep.equal([0]);
    expect(r.coverage).to.equal(0);
  });

  it('refuses a region of another size than the layer, naming it', async () => {
    const cut = await (await Generator.open(await identity5x6(), rt)).cut('h');
    for (const n of [29, 31]) {
      let err: unknown;
      await paintIoU(cut, [vec(Array.from(brown))], { seeds: [0], thresholds: t, region: new Uint8Array(n) }).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(GanvasError);
      expect((err as Error).message).to.equal('the region must be 5×6 (the layer\'s size)');
    }
  });

  /** A 4×4 mask: '#ff0000' on rows 1–2, columns 0–2; kept elsewhere. */
  function mask() {
    const data = new Uint8Array(48);
    const k = parseInt(KEEP_COLOR.slice(1), 16);
    for (let p = 0; p < 16; p++) {
      const inside = Math.floor(p / 4) >= 1 && Math.floor(p / 4) <= 2 && p % 4 <= 2;
      const c = inside ? 0xff0000 : k;
      data.set([c >> 16, (c >> 8) & 255, c & 255], 3 * p);
    }
    return { data, width: 4, height: 4, inside: (p: number) => Math.floor(p / 4) >= 1 && Math.floor(p / 4) <= 2 && p % 4 <= 2 };
  }

  it('after-cut influence of img = h + noise: mean |Δnoise| / range width inside and outside the painted region', async () => {
    const cut = await (await Generator.open(await noisyIdentity(), rt)).cut('h');
    const painter = new Painter(cut, { '#ff0000': Float32Array.from([0.3]) });
    const m = mask();
    const noiseOf = async (s: number) => (await cut.sample([s])).carry.noise.data;
    const expected = async (seed: number, others: number[]) => {
      const base = await noiseOf(seed);
      let [inS, inN, outS, outN] = [0, 0, 0, 0];
      for (const o of others) {
        const n = await noiseOf(o);
        for (let p = 0; p < 16; p++) {
          const d = Math.abs(n[p] - base[p]) / 4; // range [-2, 2]
          if (m.inside(p)) [inS, inN] = [inS + d, inN + 1];
          else [outS, outN] = [outS + d, outN + 1];
        }
      }
      return { inside: inS / inN, outside: outS / outN };
    };
    const inf = await afterCutInfluence(painter, m, { seed: 5, others: [6, 9] });
    const exp = await expected(5, [6, 9]);
    expect(inf.inside).to.be.closeTo(exp.inside, 1e-6);
    expect(inf.outside).to.be.closeTo(exp.outside, 1e-6);
    expect(inf.enteringAfterCut).to.deep.equal(['noise']);
    expect(inf.varied).to.deep.equal(['noise']);
    // Defaults: seed 0, others 1…8.
    const dflt = await afterCutInfluence(painter, m);
    const expD = await expected(0, [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(dflt.inside).to.be.closeTo(expD.inside, 1e-6);
    expect(dflt.outside).to.be.closeTo(expD.outside, 1e-6);
    // vary chooses what is taken from the other seeds: nothing → no change.
    const none = await afterCutInfluence(painter, m, { others: [1], vary: () => false });
    expect([none.inside, none.outside, none.varied.length]).to.deep.equal([0, 0, 0]);
  });

  it('a mask painted everywhere has no outside (0, not NaN); one painted nowhere has no inside', async () => {
    const cut = await (await Generator.open(await noisyIdentity(), rt)).cut('h');
    const painter = new Painter(cut, { '#ff0000': Float32Array.from([0.3]) });
    const all = { data: new Uint8Array(48).map((_, i) => (i % 3 === 0 ? 255 : 0)), width: 4, height: 4 };
    const everywhere = await afterCutInfluence(painter, all, { others: [1] });
    expect(everywhere.outside).to.equal(0);
    expect(everywhere.inside).to.be.greaterThan(0);
    const k = parseInt(KEEP_COLOR.slice(1), 16);
    const keep = { data: new Uint8Array(48).map((_, i) => [k >> 16, (k >> 8) & 255, k & 255][i % 3]), width: 4, height: 4 };
    const nowhere = await afterCutInfluence(painter, keep, { others: [1] });
    expect(nowhere.inside).to.equal(0);
    expect(nowhere.outside).to.be.greaterThan(0);
  });
});

/**
 * Paper 003 Fig. 6, measured: invert a randomly initialized ResNet with strided-convolution downsampling and the
 * same architecture with bilinear downsampling from layer2 by gradient descent (PLAIN, and FFT-DEC for comparison),
 * and measure the checkerboard noise in the reconstructions against the originals.
 *
 * §4.3.2: "1x1 stride 2 convolutions only utilize one-quarter of the input pixels in a grid pattern ... Those
 * three-quarters will receive zero gradients, leading to a checkerboard noise pattern in the gradient." A pattern
 * on the 2-pixel grid lives at the Nyquist frequencies, so per image (mean removed per channel, power spectrum by
 * DFT, summed over channels) we report, as fractions of the non-DC energy:
 *   - period-2: the three pure 2-pixel-grid frequencies (H/2, 0), (0, W/2), (H/2, W/2);
 *   - Nyquist lines: the whole row ky = H/2 and column kx = W/2;
 *   - high band: max(|fy|, |fx|) ≥ 1/4 cycles per pixel.
 *
 * The models come from bench/fig6_models.py (zoo.py's ResNet, 'conv' vs 'bilinear' mode, same seed, untrained),
 * exported to a temporary directory by Debian's python3 with torch. Images: held-out 64×64 tissue crops.
 *
 *   npm run bench:checkerboard [-- --count 8 --steps 512 --threads 2 --png docs/inversion-fig6.png]
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FeatureExtractor, FloatTensor, Runtime, contactSheet, inversionMethods, invert, meanStd, nchw, tissueCrops, writeFileAtomic } from 'ganvas';
import { arg, intArg, machine, table } from './util';

interface Bands {
  period2: number;
  nyquist: number;
  high: number;
}

/** The energy fractions of one image (C×H×W at index `i` of a batch), from its DFT power spectrum. */
export function bands(t: FloatTensor, i: number): Bands {
  const { c, h, w } = nchw(t);
  const power = new Float64Array(h * w);
  const re = new Float64Array(h * w);
  const im = new Float64Array(h * w);
  for (let k = 0; k < c; k++) {
    const base = (i * c + k) * h * w;
    let mean = 0;
    for (let p = 0; p < h * w; p++) mean += t.data[base + p];
    mean /= h * w;
    // Rows then columns: a direct separable DFT (64×64 is small).
    const rowRe = new Float64Array(h * w);
    const rowIm = new Float64Array(h * w);
    for (let y = 0; y < h; y++) {
      for (let kx = 0; kx < w; kx++) {
        let sr = 0;
        let si = 0;
        for (let x = 0; x < w; x++) {
          const v = t.data[base + y * w + x] - mean;
          const a = (-2 * Math.PI * ((kx * x) % w)) / w;
          sr += v * Math.cos(a);
          si += v * Math.sin(a);
        }
        rowRe[y * w + kx] = sr;
        rowIm[y * w + kx] = si;
      }
    }
    for (let ky = 0; ky < h; ky++) {
      for (let kx = 0; kx < w; kx++) {
        let sr = 0;
        let si = 0;
        for (let y = 0; y < h; y++) {
          const a = (-2 * Math.PI * ((ky * y) % h)) / h;
          const cr = Math.cos(a);
          const ci = Math.sin(a);
          sr += rowRe[y * w + kx] * cr - rowIm[y * w + kx] * ci;
          si += rowRe[y * w + kx] * ci + rowIm[y * w + kx] * cr;
        }
        re[ky * w + kx] = sr;
        im[ky * w + kx] = si;
      }
    }
    for (let p = 0; p < h * w; p++) power[p] += re[p] * re[p] + im[p] * im[p];
  }
  let total = 0;
  let period2 = 0;
  let nyquist = 0;
  let high = 0;
  const freq = (k: number, n: number) => Math.abs((k <= n / 2 ? k : k - n) / n);
  for (let ky = 0; ky < h; ky++) {
    for (let kx = 0; kx < w; kx++) {
      const e = power[ky * w + kx];
      total += e;
      const ny = ky === h / 2;
      const nx = kx === w / 2;
      if ((ny && (kx === 0 || nx)) || (nx && ky === 0)) period2 += e;
      if (ny || nx) nyquist += e;
      if (Math.max(freq(ky, h), freq(kx, w)) >= 0.25) high += e;
    }
  }
  return { period2: period2 / total, nyquist: nyquist / total, high: high / total };
}

function summarize(t: FloatTensor): Record<keyof Bands, string> {
  const n = t.dims[0];
  const all = Array.from({ length: n }, (_, i) => bands(t, i));
  const f = (k: keyof Bands) => {
    const { mean, std } = meanStd(Float64Array.from(all.map((b) => b[k])));
    return `${(100 * mean).toFixed(2)} % ± ${(100 * std).toFixed(2)}`;
  };
  return { period2: f('period2'), nyquist: f('nyquist'), high: f('high') };
}

/** The measure on images whose answer is known: a 2-pixel checkerboard is all period-2, a constant-free ramp none. */
function selfCheck(): void {
  const n = 16;
  const board = new Float32Array(n * n).map((_, p) => ((p % n) + Math.floor(p / n)) % 2);
  const ramp = new Float32Array(n * n).map((_, p) => Math.cos((2 * Math.PI * (p % n)) / n));
  const b = bands({ data: board, dims: [1, 1, n, n] }, 0);
  const r = bands({ data: ramp, dims: [1, 1, n, n] }, 0);
  if (Math.abs(b.period2 - 1) > 1e-9 || r.period2 > 1e-9 || r.high > 1e-9) throw new Error(`band measure self-check failed: ${JSON.stringify({ b, r })}`);
}

async function main(): Promise<void> {
  selfCheck();
  const count = intArg('count', 8);
  const steps = intArg('steps', 512);
  const threads = intArg('threads', 2);
  const layer = arg('layer', 'layer2');
  const png = arg('png', '');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ganvas-fig6-'));
  try {
    execFileSync('/usr/bin/python3', [path.join(__dirname, '..', '..', 'bench', 'fig6_models.py'), dir, '--size', '64'], { stdio: ['ignore', 'ignore', 'ignore'] });
    const rt = new Runtime({ threads });
    const images = await tissueCrops({ count, seed: 0, split: 'validation' });
    console.log(`bench/checkerboard — paper 003 Fig. 6; ${machine()}; ${count} held-out tissue crops 64×64, inverted from ${layer}, ${steps} steps, Adam lr 0.05`);
    console.log('energy fractions of the mean-removed image (sum over RGB), mean ± std over the images');
    const rows: (string | number)[][] = [];
    const o = summarize(images);
    rows.push(['originals', '', o.period2, o.nyquist, o.high]);
    const sheet: { label: string; images: FloatTensor }[] = [{ label: 'original', images }];
    for (const mode of ['conv', 'bilinear']) {
      const fx = await FeatureExtractor.open(path.join(dir, `resnet-${mode}`), layer, rt);
      for (const [name, method] of [
        ['PLAIN', inversionMethods.plain],
        ['FFT-DEC', inversionMethods.fftDec],
      ] as const) {
        const r = await invert(fx, images, { ...method(), steps, seed: 0 });
        const s = summarize(r.images);
        rows.push([`ResNet, ${mode === 'conv' ? 'strided conv' : 'bilinear'} downsampling`, name, s.period2, s.nyquist, s.high]);
        sheet.push({ label: `${mode} ${name}`, images: r.images });
      }
    }
    console.log(table(['network (random init)', 'inversion', 'period-2 (2-pixel grid)', 'Nyquist lines', 'high band (≥ ¼ cycle/px)'], rows));
    if (png) {
      const out = await contactSheet(sheet, { range: [0, 1], scale: 2, labelWidth: 110 });
      await writeFileAtomic(png, out);
      console.log(`wrote ${png}`);
    }
    await rt.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

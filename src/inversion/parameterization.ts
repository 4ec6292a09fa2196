/**
 * Image parameterizations for gradient-descent inversion (paper 003 §3.3, Algorithm 1: the image is σ(h(z′)) and
 * the optimizer updates z′). Each one writes ONNX nodes θ → image in [0, 1], so the parameterization, the
 * transforms, the classifier's preprocessing and the classifier itself run as one onnxruntime call per step, and
 * the gradient engine (src/autodiff) differentiates all of it together — no hand-written backward pass.
 *
 * - `pixelImage()` is PLAIN: h is the identity, the image is sigmoid(θ) with θ ~ N(0, 0.01²) per pixel.
 * - `fftImage()` is FFT-DEC's h: θ is a colour-decorrelated spectrum, as Lucid/Lucent's `fft_image` with
 *   `decorrelate=True` (spectrum initialised N(0, 0.01²) for real and imaginary parts, scaled by
 *   1 / max(√(fx² + fy²), 1/max(H, W)) (decay power 1), orthonormal inverse real FFT, divided by 4, colours
 *   correlated by Lucid's `color_correlation_svd_sqrt` normalized by its largest column norm, then a sigmoid).
 *   For an image with other than three channels (a one-channel classifier) the colour step is the identity.
 *
 * Speed: the inverse FFT is written as matrix products with constant DFT matrices (separable: one product along
 * x, one along y), which onnxruntime runs as GEMMs inside the same graph as the classifier, so a step stays one
 * call. Measured (CPU time per image-step, batch 32, one thread): no visible cost beside PLAIN's sigmoid for
 * fmnist-resnet (32×32 gray: 0.37 vs 0.39 ms at layer1, within noise); 0.19 ms (13 %) for ihc-features layer3
 * (64×64 RGB, 1.62 vs 1.43 ms). A JavaScript FFT would need two more hand-overs per step (image out, gradient
 * in) and run outside onnxruntime's threads; an O(HW·log HW) FFT would save little at these sizes.
 */
import { GanvasError } from '../errors';
import type { Emitter } from '../autodiff/emit';
import { gaussian } from '../runtime/noise';

/** θ → image in [0, 1] for N images of C×H×W, written as ONNX nodes. */
export interface ImageParameterization {
  readonly name: string;
  /** The dims of one image's θ (without the batch axis). */
  thetaDims(c: number, h: number, w: number): number[];
  /** The initial θ of one image, drawn from `seed` alone (so it does not depend on how images were batched). */
  init(seed: string, c: number, h: number, w: number): Float32Array;
  /** Writes the nodes from θ ([N, ...thetaDims]) to the image ([N, C, H, W] in [0, 1]); returns the image's name. */
  emit(e: Emitter, theta: string, c: number, h: number, w: number): string;
}

export interface PixelImageOptions {
  /** Standard deviation of the initial θ (default 0.01, as Lucent's pixel_image): the image starts ≈ 0.5 grey. */
  sd?: number;
}

function positiveSd(sd: number | undefined, who: string): number {
  const v = sd ?? 0.01;
  if (!(Number.isFinite(v) && v >= 0)) throw new GanvasError('BAD_INPUT', `${who}: sd must be a finite number ≥ 0, got ${sd}`);
  return v;
}

function scaled(seed: string, n: number, sd: number): Float32Array {
  const out = gaussian(seed, n);
  // Stryker disable next-line EqualityOperator: i <= n writes past the end (dropped)
  for (let i = 0; i < n; i++) out[i] *= sd;
  return out;
}

/** PLAIN (paper 003 §3.3): the image is sigmoid(θ), one parameter per pixel and channel. */
export function pixelImage(opts: PixelImageOptions = {}): ImageParameterization {
  const sd = positiveSd(opts.sd, 'pixelImage');
  return {
    name: `pixel(sd=${sd})`,
    thetaDims: (c, h, w) => [c, h, w],
    init: (seed, c, h, w) => scaled(seed, c * h * w, sd),
    emit: (e, theta) => e.op('Sigmoid', [theta]),
  };
}

export interface FftImageOptions {
  /** Standard deviation of the initial spectrum, real and imaginary parts (default 0.01). */
  sd?: number;
  /** Exponent of the 1/frequency spectrum scale (default 1). */
  decayPower?: number;
  /** Correlate colours with Lucid's color_correlation_svd_sqrt (default true; three-channel images only). */
  decorrelate?: boolean;
}

/** Lucid's `color_correlation_svd_sqrt` (the square root of ImageNet's colour covariance, by SVD). */
export const COLOR_CORRELATION_SVD_SQRT: readonly (readonly number[])[] = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

/** The colour matrix divided by its largest column norm (0.4619524), as Lucid/Lucent use it. */
export function colorCorrelationNormalized(): number[][] {
  const m = COLOR_CORRELATION_SVD_SQRT;
  let maxNorm = 0;
  for (let j = 0; j < 3; j++) maxNorm = Math.max(maxNorm, Math.hypot(m[0][j], m[1][j], m[2][j]));
  return m.map((row) => row.map((v) => v / maxNorm));
}

/** numpy's fftfreq(n)[k]: k/n for k < ceil(n/2), (k − n)/n above. */
function fftfreq(k: number, n: number): number {
  return (k < Math.ceil(n / 2) ? k : k - n) / n;
}

/** Number of stored frequency columns of a real image of width w (the inverse real FFT reads w//2 + 1). */
export function rfftColumns(w: number): number {
  return Math.floor(w / 2) + 1;
}

/**
 * The scale of each stored frequency, 1 / max(√(fx² + fy²), 1/max(H, W))^decayPower, [H][K] row-major (Lucid's
 * rfft2d_freqs; numpy's fftfreq(w)[:w//2+1] for x, whose last entry is −½ for even w — the same after squaring).
 */
export function spectrumScale(h: number, w: number, decayPower = 1): Float64Array {
  const K = rfftColumns(w);
  const out = new Float64Array(h * K);
  const floor = 1 / Math.max(h, w);
  // Stryker disable next-line EqualityOperator: ky <= h writes past the end (dropped)
  for (let ky = 0; ky < h; ky++) {
    const fy = fftfreq(ky, h);
    // Stryker disable next-line EqualityOperator: kx <= K writes the next row's first entry, which that row then overwrites (or past the end)
    for (let kx = 0; kx < K; kx++) {
      const fx = fftfreq(kx, w);
      out[ky * K + kx] = 1 / Math.max(Math.sqrt(fx * fx + fy * fy), floor) ** decayPower;
    }
  }
  return out;
}

/**
 * FFT-DEC's h (paper 003 §3.3): θ of one image is [C, H, 2K] with K = W//2 + 1 — the real parts of the spectrum in
 * columns 0..K−1, the imaginary parts in K..2K−1.
 *
 * The orthonormal inverse real FFT (numpy's irfft2(·, norm="ortho"), which reads the imaginary parts of the
 * zero-frequency and, for even W, the Nyquist column only through the y transform) is
 *   image[y, x] = 1/√(HW) Σ_ky Σ_kx c_kx Re(X[ky, kx] e^{2πi(ky·y/H + kx·x/W)}),  c = 1 at kx = 0 and W/2, else 2,
 * which separates into U + iV = X·E_x along x (one real matrix product each for U and V, the ½-spectrum and c_kx
 * folded into the matrices) and image = C_y·U − S_y·V along y. The spectrum scale and the division by 4 are one
 * constant multiply before that.
 */
export function fftImage(opts: FftImageOptions = {}): ImageParameterization {
  const sd = positiveSd(opts.sd, 'fftImage');
  const decay = opts.decayPower ?? 1;
  if (!Number.isFinite(decay)) throw new GanvasError('BAD_INPUT', `fftImage: decayPower must be finite, got ${opts.decayPower}`);
  const decorrelate = opts.decorrelate ?? true;
  return {
    name: `fft(sd=${sd}, decay=${decay}, decorrelate=${decorrelate})`,
    thetaDims: (c, h, w) => [c, h, 2 * rfftColumns(w)],
    init: (seed, c, h, w) => scaled(seed, c * h * 2 * rfftColumns(w), sd),
    emit: (e, theta, c, h, w) => {
      const K = rfftColumns(w);
      const scale = spectrumScale(h, w, decay);
      // Spectrum scale and Lucid's "magic" 1/4, for the real and the imaginary half alike: [H, 2K].
      const s = new Float32Array(h * 2 * K);
      // Stryker disable next-line EqualityOperator: y <= h writes past the end (dropped)
      for (let y = 0; y < h; y++) {
        for (let k = 0; k < K; k++) {
          s[y * 2 * K + k] = scale[y * K + k] / 4;
          s[y * 2 * K + K + k] = scale[y * K + k] / 4;
        }
      }
      const norm = 1 / Math.sqrt(h * w);
      // Stryker disable next-line ConditionalExpression: for odd W no integer k equals w / 2 either, so `true ?` changes nothing
      const evenNyquist = w % 2 === 0 ? w / 2 : -1;
      // Along x: U = Re·A_re + Im·A_im, V = Re·B_re + Im·B_im, each [2K, W] (real rows, then imaginary rows).
      const a = new Float32Array(2 * K * w);
      const b = new Float32Array(2 * K * w);
      for (let k = 0; k < K; k++) {
        const c0 = (k === 0 || k === evenNyquist ? 1 : 2) * norm;
        for (let x = 0; x < w; x++) {
          const ang = (2 * Math.PI * ((k * x) % w)) / w;
          a[k * w + x] = c0 * Math.cos(ang);
          a[(K + k) * w + x] = -c0 * Math.sin(ang);
          b[k * w + x] = c0 * Math.sin(ang);
          b[(K + k) * w + x] = c0 * Math.cos(ang);
        }
      }
      // Along y: image = C_y·U + (−S_y)·V, [H, H] each.
      const cy = new Float32Array(h * h);
      const nsy = new Float32Array(h * h);
      // Stryker disable next-line EqualityOperator: y <= h writes past the end (dropped)
      for (let y = 0; y < h; y++) {
        // Stryker disable next-line EqualityOperator: k <= h writes the next row's first entry, which that row then overwrites (or past the end)
        for (let k = 0; k < h; k++) {
          const ang = (2 * Math.PI * ((k * y) % h)) / h;
          cy[y * h + k] = Math.cos(ang);
          nsy[y * h + k] = -Math.sin(ang);
        }
      }
      // Stryker disable StringLiteral: initializer names are hints; the Emitter numbers them unique
      const z = e.mul(theta, e.f32(s, [h, 2 * K], 'fft_scale'));
      const u = e.op('MatMul', [z, e.f32(a, [2 * K, w], 'idft_x_re')]);
      const v = e.op('MatMul', [z, e.f32(b, [2 * K, w], 'idft_x_im')]);
      let img = e.add(e.op('MatMul', [e.f32(cy, [h, h], 'idft_y_cos'), u]), e.op('MatMul', [e.f32(nsy, [h, h], 'idft_y_negsin'), v]));
      if (decorrelate && c === 3) {
        const m = colorCorrelationNormalized();
        // Stryker disable next-line ObjectLiteral: Conv takes its kernel shape from the 3×3×1×1 weights when the attribute is missing
        img = e.op('Conv', [img, e.f32(m.flat(), [3, 3, 1, 1], 'color_correlation')], { kernel_shape: { ints: [1, 1] } });
        // Stryker restore StringLiteral
      }
      return e.op('Sigmoid', [img]);
    },
  };
}

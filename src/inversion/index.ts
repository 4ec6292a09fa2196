/**
 * Gradient-descent feature inversion (paper 003 §3.2–3.4): Lucent-style parts — parameterizations, transforms, an
 * objective — and the render loop that optimizes them together. See render.ts for the loop and its measured speed.
 */
export {
  ImageParameterization,
  PixelImageOptions,
  FftImageOptions,
  pixelImage,
  fftImage,
  COLOR_CORRELATION_SVD_SQRT,
  colorCorrelationNormalized,
  rfftColumns,
  spectrumScale,
} from './parameterization';
export { Transform, TransformFeed, JitterOptions, jitter } from './transforms';
export { Objective, activationL1 } from './objective';
export { InversionMethod, InversionOptions, Inversion, InversionGraph, inversionMethods, invert, inversionGraph, imageModel } from './render';

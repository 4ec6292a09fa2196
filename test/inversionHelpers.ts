/**
 * Helpers shared by inversion.test.ts and inversionParts.test.ts (paper 003's gradient-descent inversion).
 */
import { FloatTensor, ImageParameterization, gaussian } from 'ganvas';

/** θ is the image itself: lets the transforms be tested alone. */
export const identityParam: ImageParameterization = {
  name: 'identity',
  thetaDims: (c, h, w) => [c, h, w],
  init: (seed, c, h, w) => gaussian(seed, c * h * w),
  emit: (e, theta) => e.op('Identity', [theta]),
};

export function randomTensor(seed: string, dims: number[], scale = 1): FloatTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = gaussian(seed, n);
  for (let i = 0; i < n; i++) data[i] *= scale;
  return { data, dims };
}

import { expect } from 'chai';
import { execFileSync } from 'child_process';
import { HED_FROM_RGB, RGB_FROM_HED, gaussian, rgbToHed, stainLabels } from 'ganvas';

describe('colour deconvolution', () => {
  it('HED_FROM_RGB is the inverse of the stain matrix', () => {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const v = [0, 1, 2].reduce((s, k) => s + RGB_FROM_HED[i][k] * HED_FROM_RGB[k][j], 0);
        expect(v).to.be.closeTo(i === j ? 1 : 0, 1e-12);
      }
    }
  });

  it('matches scikit-image rgb2hed on random colours', () => {
    const n = 64;
    const rgb01 = Array.from(gaussian('hed', 3 * n), (v) => Math.min(1, Math.max(0, 0.5 + 0.3 * v)));
    // NCHW tensor [1, 3, 1, n] in [-1, 1].
    const data = new Float32Array(3 * n);
    for (let p = 0; p < n; p++) for (let k = 0; k < 3; k++) data[k * n + p] = Math.fround(rgb01[3 * p + k]) * 2 - 1;
    const ours = rgbToHed({ data, dims: [1, 3, 1, n] }, 0);
    const pixels = Array.from({ length: n }, (_, p) => [0, 1, 2].map((k) => (data[k * n + p] + 1) / 2));
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', `
import json, sys, numpy as np
from skimage.color import rgb2hed
px = np.array(json.loads(sys.stdin.read()), dtype=np.float64).reshape(1, -1, 3)
print(json.dumps(rgb2hed(px).reshape(-1, 3).tolist()))
`], { input: JSON.stringify(pixels), encoding: 'utf8' })) as number[][];
    for (let p = 0; p < n; p++) for (let s = 0; s < 3; s++) expect(ours[s][p]).to.be.closeTo(Math.max(0, ref[p][s]), 1e-5);
  });

  it('labels DAB before hematoxylin before background', () => {
    const hed = [Float32Array.from([0.5, 0.5, 0.0]), new Float32Array(3), Float32Array.from([0.5, 0.0, 0.0])];
    expect(Array.from(stainLabels(hed, { hematoxylin: 0.1, dab: 0.1 }))).to.deep.equal([1, 0, 2]);
  });
});

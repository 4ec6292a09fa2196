/**
 * The objective of gradient-descent inversion (paper 003 Algorithm 1): the L1 loss between the classifier's LayerX
 * activations of the parameterized image, F_X(g(σ(h(z′)))), and those of the original image, y = F_X(x).
 */
import { LossExpr, loss } from '../autodiff/loss';

export interface Objective {
  readonly name: string;
  /**
   * The loss over a batch, from the layer tensor and the name of the run-time feed holding the original images'
   * activations. It must be a sum over images of a per-image term, so that an image's gradient does not depend on
   * which other images share its batch.
   */
  loss(layer: string, target: string, rank: number): LossExpr;
  /** The same per-image term, computed in JavaScript on finished activations (for reporting). */
  perImage(activations: Float32Array, target: Float32Array, perImageSize: number): Float64Array;
}

/**
 * L1: Σ_images mean_{c,y,x} |F_X(image) − F_X(original)|. The mean per image (not over the batch) keeps each
 * image's gradient independent of the batch size; Adam is invariant to that scale anyway.
 */
export function activationL1(): Objective {
  return {
    name: 'L1(LayerX)',
    loss: (layer, target, rank) => {
      const perImage = Array.from({ length: Math.max(1, rank - 1) }, (_, i) => i + 1);
      return loss.sum(loss.mean(loss.abs(loss.sub(layer, loss.feed(target))), perImage));
    },
    perImage: (a, t, per) => {
      const n = a.length / per;
      const out = new Float64Array(n);
      // Stryker disable next-line EqualityOperator: i <= n only computes a value for out[n], a write past the end (dropped)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = i * per; j < (i + 1) * per; j++) s += Math.abs(a[j] - t[j]);
        out[i] = s / per;
      }
      return out;
    },
  };
}

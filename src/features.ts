/**
 * A feature extractor: a classifier truncated at a hidden layer, fed generator images the way it was trained
 * (resized by nearest neighbour, value range mapped, normalized as its manifest says).
 */
import { GanvasError } from './errors';
import * as path from 'path';
import { LayerTable, LayerTableOptions, layerTable } from './layerBrowser';
import { ModelBundle, demoModelDir, openModel } from './manifest';
import { truncate } from './onnx/split';
import { LayerInfo, resolveLayer } from './onnx/layers';
import { OnnxModel } from './onnx/model';
import { ModelSession, Runtime } from './runtime/session';
import { FloatTensor, nchw, nearestIndex } from './runtime/tensor';
import { RunOptions } from './generator';

/** The layer FeatureExtractor.open uses when none is given (see there), or a GanvasError saying to name one. */
export function defaultFeatureLayer(bundle: ModelBundle): string {
  const aliases = Object.keys(bundle.manifest.layers ?? {});
  if (aliases.length === 1) return aliases[0];
  // Stryker disable next-line StringLiteral: demoModelDir('') is the same folder (path.join drops the empty part)
  const demoRoot = path.resolve(demoModelDir('.'));
  const rel = path.relative(demoRoot, path.resolve(bundle.dir));
  // A folder directly inside models/: one path part, not the folder itself, not its parent (before: any name
  // starting with ".." was refused, also a demo folder named "..x"; every longer upward path has a separator).
  const isDemo = rel !== '' && rel !== '..' && !path.isAbsolute(rel) && !rel.includes(path.sep);
  if (isDemo && aliases.includes('layer2')) return 'layer2';
  throw new GanvasError(
    'BAD_INPUT',
    `FeatureExtractor.open(${JSON.stringify(bundle.manifest.name)}) needs a layer: name the hidden layer the features come from, ` +
      `e.g. FeatureExtractor.open(dir, ${JSON.stringify(aliases[0] ?? 'layerName')}, runtime). ` +
      (aliases.length ? `Its manifest's layer aliases: ${aliases.join(', ')}.` : 'Its manifest has no layer aliases;') +
      ` Any ONNX tensor name works too (list them with layers(bundle.model), bundle = await openModel(dir)).`,
  );
}

export class FeatureExtractor {
  private constructor(
    readonly bundle: ModelBundle,
    readonly layer: LayerInfo,
    readonly model: OnnxModel,
    readonly runtime: Runtime,
  ) {}

  /**
   * Opens a classifier/features model and cuts it at `layer` (a manifest alias or an ONNX tensor name). Without
   * one: the manifest's only layer alias when it has exactly one; "layer2" (paper 000 §4.2) for the shipped demo
   * classifiers; otherwise a GanvasError that lists the aliases — "layer2" means nothing in a model of your own.
   */
  static async open(location: string | ModelBundle, layer?: string, runtime?: Runtime): Promise<FeatureExtractor> {
    if (typeof location !== 'string' && (typeof location !== 'object' || location === null || !('manifest' in location))) {
      throw new GanvasError('BAD_MANIFEST', `FeatureExtractor.open needs a model directory, a ganvas.json path or an opened model, got ${location === null ? 'null' : typeof location}`);
    }
    const bundle = typeof location === 'string' ? await openModel(location) : location;
    if (bundle.manifest.role === 'generator') {
      throw new GanvasError('BAD_MANIFEST', `${bundle.manifest.name} is a generator; a feature extractor must be a classifier or features model`);
    }
    if (!bundle.manifest.preprocess) {
      throw new GanvasError('BAD_MANIFEST', `${bundle.manifest.name} has no "preprocess" in its manifest`);
    }
    layer ??= defaultFeatureLayer(bundle);
    const info = await resolveLayer(bundle.model, layer);
    const model = await truncate(bundle.model, layer);
    return new FeatureExtractor(bundle, info, model, runtime ?? new Runtime());
  }

  /** The layer browser of the whole classifier (not only up to this extractor's layer): see Generator.layers. */
  layers(opts: LayerTableOptions = {}): Promise<LayerTable> {
    return layerTable(this.bundle.model, this.name, opts);
  }

  get name(): string {
    return this.bundle.manifest.name;
  }

  get inputName(): string {
    return this.model.inputNames()[0];
  }

  /** Images in `range` → the model's input: nearest resize, channel conversion, range mapping, normalization. */
  preprocess(images: FloatTensor, range: [number, number]): FloatTensor {
    const p = this.bundle.manifest.preprocess;
    if (!p) throw new GanvasError('BAD_MANIFEST', `${this.name} has no preprocess`);
    const { n, c, h, w } = nchw(images, 'images');
    const [H, W] = p.size;
    const C = p.channels;
    if (c !== 1 && c !== 3) throw new GanvasError('BAD_INPUT', `images must have 1 or 3 channels, got ${c}`);
    const [lo, hi] = range;
    const [plo, phi] = p.range;
    const scale = (phi - plo) / (hi - lo);
    const out = new Float32Array(n * C * H * W);
    const sy = nearestIndex(H, h);
    const sx = nearestIndex(W, w);
    // Gray → RGB repeats the channel; RGB → gray takes luma (ITU-R 601), as PIL's convert('L') does.
    const luma = c === 3 && C !== 3;
    // The loops' `<=` bounds only write a pixel past the end (dropped) or one the next pass writes again (the next
    // sample's, channel's or row's first), so they are equivalent.
    // Stryker disable next-line EqualityOperator: see above
    for (let b = 0; b < n; b++) {
      // Stryker disable next-line EqualityOperator: see above
      for (let k = 0; k < C; k++) {
        const mean = p.mean?.[k] ?? p.mean?.[0] ?? 0;
        const std = p.std?.[k] ?? p.std?.[0] ?? 1;
        // The source plane for output channel k (the first of three for luma).
        const plane = (b * c + (c === C ? k : 0)) * h * w;
        // Stryker disable next-line EqualityOperator: see above
        for (let y = 0; y < H; y++) {
          const row = plane + sy[y] * w;
          // Stryker disable next-line EqualityOperator: see above
          for (let x = 0; x < W; x++) {
            const at = row + sx[x];
            const v = luma
              ? 0.299 * images.data[at] + 0.587 * images.data[at + h * w] + 0.114 * images.data[at + 2 * h * w]
              : images.data[at];
            out[((b * C + k) * H + y) * W + x] = ((v - lo) * scale + plo - mean) / std;
          }
        }
      }
    }
    return { data: out, dims: [n, C, H, W] };
  }

  async session(): Promise<ModelSession> {
    return this.runtime.session(this.model);
  }

  /** Features at the chosen layer for images in `range`. */
  async features(images: FloatTensor, range: [number, number], opts: RunOptions = {}): Promise<FloatTensor> {
    const s = await this.session();
    const out = await s.runBatched({ [this.inputName]: this.preprocess(images, range) }, opts);
    return out[this.layer.name];
  }
}

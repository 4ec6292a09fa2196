/**
 * A vector library: named activation vectors with display colors, tied to one model and layer. Saved as JSON
 * (names, colors, provenance) plus a .npy matrix [K, C] of the vectors, so numpy users can share vectors too.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, closestNames, describeError } from './errors';
import { Cut } from './generator';
import { writeFileAtomic } from './io';
import { readNpy, writeNpy } from './runtime/npy';
import { Provenance } from './visualize';

export interface LibraryEntry {
  name: string;
  /** Display / mask color, "#rrggbb" lower case. */
  color: string;
  vector: Float32Array;
  provenance?: Provenance;
}

/** The color that means "keep the original activations" unless a paint call says otherwise. */
export const KEEP_COLOR = '#00ff00';

export function normalizeColor(color: string): string {
  const m = /^#?([0-9a-fA-F]{6})$/.exec(color.trim());
  if (!m) throw new GanvasError('BAD_INPUT', `"${color}" is not a color; write it as "#rrggbb" (e.g. "#ff0000")`);
  return `#${m[1].toLowerCase()}`;
}

/** A "#rrggbb" color as the packed integer 0xRRGGBB. */
export function colorValue(color: string): number {
  return parseInt(normalizeColor(color).slice(1), 16);
}

export class VectorLibrary {
  readonly entries: LibraryEntry[] = [];

  constructor(
    readonly model: string,
    readonly layer: string,
    readonly channels: number,
  ) {}

  /** An empty library for a cut's model and layer. */
  static for(cut: Cut): VectorLibrary {
    return new VectorLibrary(cut.generator.name, cut.layerName, cut.layer.channels);
  }

  add(name: string, color: string, vector: Float32Array, provenance?: Provenance): LibraryEntry {
    if (!name) throw new GanvasError('BAD_INPUT', 'a library vector needs a name');
    const c = normalizeColor(color);
    if (c === KEEP_COLOR) throw new GanvasError('BAD_INPUT', `${KEEP_COLOR} is reserved for "keep the original activations"; choose another color for "${name}"`);
    if (vector.length !== this.channels) {
      throw new GanvasError('BAD_INPUT', `vector "${name}" has ${vector.length} channels; ${this.model} at ${this.layer} has ${this.channels}`);
    }
    if (this.entries.some((e) => e.name === name)) throw new GanvasError('BAD_INPUT', `the library already has a vector named "${name}"`);
    const same = this.entries.find((e) => e.color === c);
    if (same) throw new GanvasError('BAD_INPUT', `color ${c} is already used by "${same.name}"; each vector needs its own color`);
    const entry = { name, color: c, vector: Float32Array.from(vector), provenance };
    this.entries.push(entry);
    return entry;
  }

  get(name: string): LibraryEntry {
    const e = this.entries.find((x) => x.name === name);
    if (!e) {
      throw new GanvasError('BAD_INPUT', `no vector "${name}" in the library; it has ${this.entries.map((x) => `"${x.name}"`).join(', ') || 'none'} (closest: ${closestNames(name, this.entries.map((x) => x.name), 3).join(', ')})`);
    }
    return e;
  }

  /** Refuses a library made for another model or layer than the cut's. */
  checkFits(cut: Cut): void {
    const layerOk = this.layer === cut.layerName || this.layer === cut.layer.name || cut.layer.aliases.includes(this.layer);
    if (this.model !== cut.generator.name || !layerOk || this.channels !== cut.layer.channels) {
      throw new GanvasError(
        'BAD_INPUT',
        `this library holds vectors of ${this.model} at ${this.layer} (${this.channels} channels); ` +
          `it cannot paint ${cut.generator.name} at ${cut.layerName} (${cut.layer.channels} channels). Open the matching model and layer, or build a library for this one.`,
      );
    }
  }

  /** Writes `<file>` (JSON) and `<file without .json>.npy` atomically. */
  async save(file: string): Promise<void> {
    if (!file.endsWith('.json')) throw new GanvasError('BAD_INPUT', `a library file must end in .json, got ${file}`);
    const npy = file.replace(/\.json$/, '.npy');
    const matrix = new Float32Array(this.entries.length * this.channels);
    this.entries.forEach((e, i) => matrix.set(e.vector, i * this.channels));
    // Vectors first: a JSON that exists always has its matrix beside it.
    await writeFileAtomic(npy, writeNpy({ data: matrix, dims: [this.entries.length, this.channels] }));
    const json = {
      format: 'ganvas-library/1',
      model: this.model,
      layer: this.layer,
      channels: this.channels,
      vectors: path.basename(npy),
      entries: this.entries.map((e) => ({ name: e.name, color: e.color, provenance: e.provenance })),
    };
    await writeFileAtomic(file, JSON.stringify(json, null, 2));
  }

  static async load(file: string, expect?: Cut): Promise<VectorLibrary> {
    let json: { format?: string; model: string; layer: string; channels: number; entries: { name: string; color: string; provenance?: Provenance }[] };
    try {
      json = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (e) {
      throw new GanvasError('BAD_INPUT', `cannot read library ${file}: ${describeError(e)}`, { cause: e });
    }
    if (json?.format !== 'ganvas-library/1') throw new GanvasError('BAD_INPUT', `${file} is not a ganvas vector library ("format": "ganvas-library/1")`);
    const npyFile = file.replace(/\.json$/, '.npy');
    let m: ReturnType<typeof readNpy>;
    try {
      m = readNpy(await fs.readFile(npyFile));
    } catch (e) {
      throw new GanvasError('BAD_INPUT', `library ${file} is missing its vectors ${npyFile}: ${describeError(e)}`, { cause: e });
    }
    if (m.dims.length !== 2 || m.dims[0] !== json.entries.length || m.dims[1] !== json.channels) {
      throw new GanvasError('BAD_INPUT', `${npyFile} has shape (${m.dims.join(', ')}), expected (${json.entries.length}, ${json.channels})`);
    }
    const lib = new VectorLibrary(json.model, json.layer, json.channels);
    json.entries.forEach((e, i) => lib.add(e.name, e.color, m.data.subarray(i * json.channels, (i + 1) * json.channels), e.provenance));
    if (expect) lib.checkFits(expect);
    return lib;
  }
}

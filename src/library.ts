/**
 * A vector library: named activation vectors with display colors, tied to one model and layer. Saved as JSON
 * (names, colors, provenance) plus a .npy matrix [K, C] of the vectors, so numpy users can share vectors too.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, closestNames, describeError } from './errors';
import { Cut } from './generator';
import { createHash } from 'crypto';
import { processAlive, writeFileAtomic } from './io';
import { readNpy, writeNpy } from './runtime/npy';
import { finiteVector, plainObject, positiveInt, show } from './validate';
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
  if (typeof color !== 'string') throw new GanvasError('BAD_INPUT', `a color must be a string "#rrggbb" (e.g. "#ff0000"), got ${show(color)}`);
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
  ) {
    if (typeof model !== 'string' || model === '') throw new GanvasError('BAD_INPUT', `a library's model must be a non-empty string, got ${show(model)}`);
    if (typeof layer !== 'string' || layer === '') throw new GanvasError('BAD_INPUT', `a library's layer must be a non-empty string, got ${show(layer)}`);
    positiveInt(channels, "a library's channel count", 1 << 20);
  }

  /** An empty library for a cut's model and layer. */
  static for(cut: Cut): VectorLibrary {
    return new VectorLibrary(cut.generator.name, cut.layerName, cut.layer.channels);
  }

  add(name: string, color: string, vector: Float32Array, provenance?: Provenance): LibraryEntry {
    if (typeof name !== 'string' || name === '') throw new GanvasError('BAD_INPUT', `a library vector needs a name (a non-empty string), got ${show(name)}`);
    const c = normalizeColor(color);
    if (c === KEEP_COLOR) throw new GanvasError('BAD_INPUT', `${KEEP_COLOR} is reserved for "keep the original activations"; choose another color for "${name}"`);
    if (vector === null || vector === undefined || typeof vector !== 'object') {
      throw new GanvasError('BAD_INPUT', `vector "${name}" must be a Float32Array of ${this.channels} values, got ${show(vector)}`);
    }
    if ((vector as { length?: unknown }).length !== this.channels) {
      throw new GanvasError('BAD_INPUT', `vector "${name}" has ${show((vector as { length?: unknown }).length)} channels; ${this.model} at ${this.layer} has ${this.channels}`);
    }
    finiteVector(vector, `vector "${name}"`, this.channels);
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
    // Stryker disable next-line ConditionalExpression: equivalent for the first term — layerName is aliases[0] ?? name, which the other two terms accept
    const layerOk = this.layer === cut.layerName || this.layer === cut.layer.name || cut.layer.aliases.includes(this.layer);
    if (this.model !== cut.generator.name || !layerOk || this.channels !== cut.layer.channels) {
      throw new GanvasError(
        'BAD_INPUT',
        `this library holds vectors of ${this.model} at ${this.layer} (${this.channels} channels); ` +
          `it cannot paint ${cut.generator.name} at ${cut.layerName} (${cut.layer.channels} channels). Open the matching model and layer, or build a library for this one.`,
      );
    }
  }

  /**
   * Writes `<file>` (JSON) and the vectors beside it as `<file without .json>.<hash>.npy`, with one commit point:
   * the vectors go to a new file named by their content first, then the JSON that names them replaces the old
   * JSON atomically. A kill at any instant leaves the previous library or the new one, never a JSON whose matrix
   * has another shape (measured before: 42 of 60 kills during save left an unloadable library). Older vector
   * files of this library and temporaries left by killed saves are removed after the commit.
   */
  async save(file: string): Promise<void> {
    if (typeof file !== 'string' || !file.endsWith('.json')) throw new GanvasError('BAD_INPUT', `a library file must end in .json, got ${show(file)}`);
    const matrix = new Float32Array(this.entries.length * this.channels);
    this.entries.forEach((e, i) => matrix.set(e.vector, i * this.channels));
    const bytes = writeNpy({ data: matrix, dims: [this.entries.length, this.channels] });
    const base = path.basename(file).replace(/\.json$/, '');
    const npyName = `${base}.${createHash('sha1').update(bytes).digest('hex').slice(0, 12)}.npy`;
    const npy = path.join(path.dirname(file), npyName);
    await writeFileAtomic(npy, bytes);
    const json = {
      format: 'ganvas-library/1',
      model: this.model,
      layer: this.layer,
      channels: this.channels,
      vectors: npyName,
      entries: this.entries.map((e) => ({ name: e.name, color: e.color, provenance: e.provenance })),
    };
    await writeFileAtomic(file, JSON.stringify(json, null, 2));
    await removeStale(path.dirname(file), base, npyName);
  }

  static async load(file: string, expect?: Cut): Promise<VectorLibrary> {
    let json: { format?: string; model: string; layer: string; channels: number; entries: { name: string; color: string; provenance?: Provenance }[] };
    try {
      json = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (e) {
      throw new GanvasError('BAD_INPUT', `cannot read library ${file}: ${describeError(e)}`, { cause: e });
    }
    if (json?.format !== 'ganvas-library/1') throw new GanvasError('BAD_INPUT', `${file} is not a ganvas vector library ("format": "ganvas-library/1")`);
    const problems: string[] = [];
    if (typeof json.model !== 'string' || json.model === '') problems.push(`"model" must be a non-empty string, got ${show(json.model)}`);
    if (typeof json.layer !== 'string' || json.layer === '') problems.push(`"layer" must be a non-empty string, got ${show(json.layer)}`);
    if (typeof json.channels !== 'number' || !Number.isInteger(json.channels) || json.channels < 1 || json.channels > 1 << 20) {
      problems.push(`"channels" must be a positive integer, got ${show(json.channels)}`);
    }
    if (!Array.isArray(json.entries)) problems.push(`"entries" must be a list of {name, color}, got ${show(json.entries)}`);
    else {
      json.entries.forEach((e, i) => {
        if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || typeof e.color !== 'string') {
          problems.push(`entries[${i}] must be {"name": string, "color": "#rrggbb"}, got ${show(e)}`);
        } else if (e.provenance !== undefined) {
          try {
            plainObject(e.provenance, `entries[${i}].provenance`);
          } catch (err) {
            problems.push(describeError(err));
          }
        }
      });
    }
    if (problems.length > 0) throw new GanvasError('BAD_INPUT', `${file} is not a valid vector library:\n  - ${problems.join('\n  - ')}`);
    // The JSON names its vector file (a content-named one since saves became single-commit; `<base>.npy` before).
    const named = (json as { vectors?: unknown }).vectors;
    if (named !== undefined && (typeof named !== 'string' || named.includes('/') || named.includes('\\') || !named.endsWith('.npy'))) {
      throw new GanvasError('BAD_INPUT', `${file}: "vectors" must name a .npy file beside it, got ${JSON.stringify(named)}`);
    }
    const npyFile = typeof named === 'string' ? path.join(path.dirname(file), named) : file.replace(/\.json$/, '.npy');
    let m: ReturnType<typeof readNpy>;
    try {
      m = readNpy(await fs.readFile(npyFile));
    } catch (e) {
      throw new GanvasError('BAD_INPUT', `library ${file} is missing its vectors ${npyFile}: ${describeError(e)}`, { cause: e });
    }
    if (m.dims.length !== 2 || m.dims[0] !== json.entries.length || m.dims[1] !== json.channels) {
      throw new GanvasError('BAD_INPUT', `${npyFile} has shape (${m.dims.join(', ')}), but ${file} lists ${json.entries.length} entries of ${json.channels} channels: expected (${json.entries.length}, ${json.channels})`);
    }
    const lib = new VectorLibrary(json.model, json.layer, json.channels);
    json.entries.forEach((e, i) => {
      try {
        lib.add(e.name, e.color, m.data.subarray(i * json.channels, (i + 1) * json.channels), e.provenance);
      } catch (err) {
        throw new GanvasError('BAD_INPUT', `library ${file}, entry ${i} ("${e.name}"): ${describeError(err)}`, { cause: err });
      }
    });
    if (expect) lib.checkFits(expect);
    return lib;
  }
}

/**
 * After a committed save: earlier vector files of the library `base` and temporaries of its files left by a killed
 * process (writeFileAtomic names them `.<name>.<pid>.<random>.tmp`; a live process's are kept).
 */
async function removeStale(dir: string, base: string, keep: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  const esc = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const versioned = new RegExp(`^${esc}(\\.[0-9a-f]{12})?\\.npy$`);
  const temp = new RegExp(`^\\.${esc}(\\.[0-9a-f]{12})?\\.(npy|json)\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
  for (const n of names) {
    let stale = versioned.test(n) && n !== keep;
    const t = temp.exec(n);
    if (t) stale = !processAlive(Number(t[3]));
    if (stale) await fs.rm(path.join(dir, n), { force: true }).catch(() => undefined);
  }
}

/**
 * `ganvas merge`: the shards' output files → the file one unsharded run writes, byte for byte. Refuses shards of
 * different jobs (arguments or model digests), missing or duplicated shard indices, files that are not shards,
 * and (for datasets) shard files whose PNGs are missing.
 */
import { Command } from 'commander';
import { promises as fs } from 'fs';
import * as path from 'path';
import { GanvasError, describeError } from '../errors';
import { writeFileAtomic } from '../io';
import { JobSpec, canonical, prepareDir, specDifferences } from './job';
import { ShardInfo, assemble, serialize } from './output';

interface ShardFile {
  file: string;
  header: Record<string, unknown>;
  entries: unknown[];
  job: JobSpec;
  shard: ShardInfo;
}

async function readShard(file: string): Promise<ShardFile> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new GanvasError('BAD_INPUT', `cannot read shard ${file}: ${describeError(e)}`, { cause: e });
  }
  const { entries, job, shard, ...header } = json;
  if (typeof header.format !== 'string' || !Array.isArray(entries) || !job || typeof job !== 'object') {
    throw new GanvasError('BAD_INPUT', `${file} is not an output of a ganvas command (no "format", "entries" and "job")`);
  }
  if (!shard || typeof shard !== 'object') {
    throw new GanvasError('BAD_INPUT', `${file} is the output of a whole (unsharded) run, not a shard; there is nothing to merge it with`);
  }
  return { file, header, entries, job: job as JobSpec, shard: shard as ShardInfo };
}

export async function mergeShards(files: readonly string[], out: string): Promise<{ shards: number; entries: number }> {
  if (files.length === 0) throw new GanvasError('BAD_INPUT', 'give the shard files to merge');
  const shards = await Promise.all(files.map(readShard));
  const first = shards[0];
  for (const s of shards.slice(1)) {
    const d = specDifferences(first.job, s.job);
    if (d.models.length > 0) {
      throw new GanvasError('BAD_INPUT', `${s.file} was made with other model files than ${first.file} (${d.models.join('; ')}); all shards must come from the same models`);
    }
    if (d.args.length > 0 || canonical(first.header) !== canonical(s.header) || canonical(first.job) !== canonical(s.job)) {
      throw new GanvasError('BAD_INPUT', `${s.file} comes from a job with other arguments than ${first.file} (${d.args.join('; ') || 'the headers differ'}); all shards must come from the same command line`);
    }
    if (s.shard.count !== first.shard.count) {
      throw new GanvasError('BAD_INPUT', `${s.file} is one of ${s.shard.count} shards, ${first.file} one of ${first.shard.count}; merge the shards of one split`);
    }
  }
  const n = first.shard.count;
  const byIndex = new Map<number, ShardFile>();
  for (const s of shards) {
    const other = byIndex.get(s.shard.index);
    if (other) throw new GanvasError('BAD_INPUT', `shard ${s.shard.index}/${n} is given twice (${other.file} and ${s.file}); give each shard once`);
    byIndex.set(s.shard.index, s);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new GanvasError('BAD_INPUT', `shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing (have ${shards.length} of ${n}); run ${missing.length > 1 ? 'them' : 'it'} first (same arguments, --shard i/${n})`);
  }
  const ordered = Array.from({ length: n }, (_, i) => byIndex.get(i) as ShardFile);
  const total = Number(first.job.args.count);
  let at = 0;
  for (const s of ordered) {
    if (s.shard.from !== at || s.shard.to - s.shard.from !== s.entries.length) {
      throw new GanvasError('BAD_INPUT', `${s.file} covers items ${s.shard.from}…${s.shard.to - 1} with ${s.entries.length} entries; expected a shard starting at ${at} with one entry per item (a truncated or edited shard file?)`);
    }
    at = s.shard.to;
  }
  if (at !== total) throw new GanvasError('BAD_INPUT', `the shards cover items 0…${at - 1} of ${total}`);
  const entries = ordered.flatMap((s) => s.entries);
  if (first.header.format === 'ganvas-dataset/1') await gatherDatasetFiles(ordered, path.dirname(path.resolve(out)));
  await prepareDir(path.dirname(path.resolve(out)), 'the output directory');
  await writeFileAtomic(out, serialize(assemble(first.header, entries, first.job)));
  return { shards: n, entries: entries.length };
}

/** A dataset's PNGs: checked in each shard's directory, copied when the merged index lives elsewhere. */
async function gatherDatasetFiles(shards: ShardFile[], outDir: string): Promise<void> {
  for (const s of shards) {
    const dir = path.dirname(path.resolve(s.file));
    for (const e of s.entries as { image?: unknown; label?: unknown; mask?: unknown }[]) {
      // An edited entry without its file names was a TypeError from path.join, printed with a stack trace.
      const files = e !== null && typeof e === 'object' ? [e.image, e.label, e.mask] : [];
      if (files.length === 0 || !files.every((f): f is string => typeof f === 'string' && f !== '')) {
        throw new GanvasError('BAD_INPUT', `${s.file} has an entry without its image, label and mask file names (${JSON.stringify(e)}); the shard file was edited or truncated (rerun that shard)`);
      }
      for (const rel of files) {
        const src = path.join(dir, rel);
        if (!(await fs.stat(src).then((st) => st.isFile(), () => false))) {
          throw new GanvasError('BAD_INPUT', `${s.file} lists ${rel}, but ${src} does not exist; the shard's files are incomplete (rerun that shard)`);
        }
        if (dir !== outDir) {
          await fs.mkdir(path.dirname(path.join(outDir, rel)), { recursive: true });
          await fs.copyFile(src, path.join(outDir, rel));
        }
      }
    }
  }
}

export function mergeCommand(): Command {
  return new Command('merge')
    .description('combine shard outputs (of scan or dataset) into the file one unsharded run writes; refuses missing, duplicated or mismatched shards')
    .argument('<shards...>', 'the shard files, e.g. out/scan.shard-*-of-0008.json or data/index.shard-*.json')
    .requiredOption('-o, --out <file>', 'merged output file (for a dataset: index.json in the dataset directory; PNGs are copied there when the shards live elsewhere)')
    .option('-q, --quiet', 'no summary line')
    .action(async (files: string[], flags: { out: string; quiet?: boolean }) => {
      const r = await mergeShards(files, flags.out);
      if (!flags.quiet) process.stderr.write(`merged ${r.shards} shard(s), ${r.entries} entries → ${flags.out}\n`);
    });
}

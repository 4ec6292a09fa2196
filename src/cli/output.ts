/**
 * The output file of a job command, shared by a single run (common.ts) and `ganvas merge` (merge.ts) so that their
 * bytes agree. Its own module so that `ganvas merge` does not load the model code common.ts needs (manifest, ONNX
 * protobufs): measured, `ganvas merge` of 4 scan shards required 44 ms of modules, 20 of them for the manifest and
 * onnx-proto it never uses.
 */
import type { JobSpec } from './job';

/** The shard field of a shard file: which shard, and which items it covers. */
export interface ShardInfo {
  index: number;
  count: number;
  from: number;
  to: number;
}

/**
 * The output object: the library's result header (key order kept), its entries, the job spec, and, in a shard
 * file, the shard. A single run and a merge of shards both build it here, so their bytes agree.
 */
export function assemble(header: Record<string, unknown>, entries: unknown[], job: JobSpec, shard?: ShardInfo): Record<string, unknown> {
  return { ...header, entries, job, ...(shard ? { shard } : {}) };
}

/** How each output format is written (as the library writes it: saveScan compact, dataset index with indent 1). */
export function serialize(out: Record<string, unknown>): string {
  return out.format === 'ganvas-dataset/1' ? JSON.stringify(out, null, 1) : JSON.stringify(out);
}

/** The chunked computations by command name (looked up by worker processes). */
import { GanvasError } from '../errors';
import { ChunkTask } from './job';
import { scanTask } from './scan';
import { datasetTask } from './dataset';
import { invertTask } from './invert';

export function taskFor(command: string): ChunkTask<unknown, unknown> {
  // Each task is only ever given the open arguments its own command made, hence the widening casts.
  const tasks: Record<string, ChunkTask<unknown, unknown>> = {
    scan: scanTask as unknown as ChunkTask<unknown, unknown>,
    dataset: datasetTask as unknown as ChunkTask<unknown, unknown>,
    invert: invertTask as unknown as ChunkTask<unknown, unknown>,
  };
  const t = tasks[command];
  if (!t) throw new GanvasError('BAD_INPUT', `no chunked task "${command}"`);
  return t;
}

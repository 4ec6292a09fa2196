/**
 * ganvas's per-user cache: small facts about model files, keyed by the model's SHA-1, that a new process would
 * otherwise compute again (which files passed their sandboxed first run, each model's probed tensor shapes).
 * GANVAS_CACHE moves it (a job on a cluster node may point it at local disk); default ~/.cache/ganvas.
 */
import * as os from 'os';
import * as path from 'path';

export function cacheDir(sub: string): string {
  return path.join(process.env.GANVAS_CACHE || path.join(os.homedir(), '.cache', 'ganvas'), sub);
}

#!/usr/bin/env node
/**
 * The `ganvas` command: batch jobs of the library for a workstation's cores or a cluster's scheduler.
 *
 *   ganvas scan --generator fmnist-stylegan --layer b8.conv1 --features fmnist-resnet --count 100000 --out scan.json --workers 8
 *   ganvas scan ... --shard 3/16            (or inside `sbatch --array=0-15`, without --shard)
 *   ganvas merge scan.shard-*-of-0016.json --out scan.json
 *
 * Errors are GanvasErrors printed as one message with a non-zero exit status (1; 2 for usage errors).
 */
import { Command, CommanderError } from 'commander';
import { GanvasError, describeError } from '../errors';

/**
 * Each subcommand's module, loaded only when it is needed: a run of one command loads that command's part of the
 * library, not every command's (`ganvas merge` none of the models' code). Measured: requiring every command took
 * 114 ms CPU, a scan's alone 78 ms, merge's 29 ms (`ganvas merge --help`: 0.13 → 0.08 s CPU); `ganvas --help` and
 * unknown commands load them all. With the probe cache (onnx/probe.ts) and sharp loaded on first use
 * (runtime/image.ts), a one-chunk `ganvas scan` (64 vectors, 0.22 s of work) went from 0.71 to 0.54 s CPU and a
 * two-chunk `--workers 2` scan (3 processes) from 1.72 to 1.27 s (minima of 4–5 runs on the shared machine).
 */
const extra = (): Command[] => (require('./extra') as typeof import('./extra')).extraCommands();
const COMMANDS: Record<string, () => Command[]> = {
  scan: () => [(require('./scan') as typeof import('./scan')).scanCommand()],
  dataset: () => [(require('./dataset') as typeof import('./dataset')).datasetCommand()],
  invert: () => [(require('./invert') as typeof import('./invert')).invertCommand()],
  merge: () => [(require('./merge') as typeof import('./merge')).mergeCommand()],
  'stitch-train': extra,
  'grid-inversion': extra,
};

/** The commands for `argv` (node, script, command, …): the named one's module only, or all of them. */
function commandsFor(argv: string[] | undefined): Command[] {
  const name = argv?.[2];
  if (name !== undefined && Object.hasOwn(COMMANDS, name)) return COMMANDS[name]().filter((c) => c.name() === name);
  return [...new Set(Object.values(COMMANDS))].flatMap((load) => load());
}

export function program(argv?: string[]): Command {
  const p = new Command('ganvas')
    .description('ganvas batch jobs: tileability scans, painted datasets and more, on every core (--workers) and across a cluster (--shard, Slurm arrays, Kubernetes Indexed Jobs); resumable after any kill')
    .version(require('../../package.json').version as string)
    .showHelpAfterError('(run with --help for the options)')
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const c of commandsFor(argv)) {
    c.showHelpAfterError('(run with --help for the options)').exitOverride();
    p.addCommand(c);
  }
  return p;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program(argv).parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander printed its message (and help) already; help and version are not errors.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof GanvasError) {
      process.stderr.write(`ganvas: error: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`ganvas: unexpected error: ${describeError(e)}\n${e instanceof Error ? e.stack ?? '' : ''}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => process.exit(code));
}

/** Further subcommands (stitching training, inversion baselines, grid-size inversion). */
import { Command } from 'commander';

export function extraCommands(): Command[] {
  return [];
}

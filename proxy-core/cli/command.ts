import { parseArgs, type ParseArgsConfig } from 'node:util';
import { defaultDataDir } from '../util/data-dir.ts';

/** What every command receives: its own arguments and where to write. */
export interface CommandContext {
  argv: string[];
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface Command {
  /** One line for `tollgate help`. */
  summary: string;
  /** Full usage text, printed for `--help` and after a usage error. */
  usage: string;
  /** Resolves to the process exit code. */
  run(context: CommandContext): Promise<number>;
}

/** A mistake in how a command was called; printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
export const COMMON_OPTIONS = {
  'data-dir': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsConfig;

/** parseArgs with the common options added and its errors turned into usage errors. */
export function parseCommandArgs<T extends OptionsConfig>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function resolveDataDir(value: string | boolean | undefined): string {
  return typeof value === 'string' ? value : defaultDataDir();
}

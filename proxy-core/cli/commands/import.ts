import { readFile, writeFile } from 'node:fs/promises';
import { importKong } from '../../exports/import-kong.ts';
import { importOpenApi } from '../../exports/import-openapi.ts';
import { importedYaml } from '../../exports/import-result.ts';
import { parseCommandArgs, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate import --format kong|openapi FILE [-o OUT]

Turns another gateway's configuration into a Tollgate policy, so it can be simulated:
  kong     a decK file: services, routes, key-auth / jwt, acl groups as tiers, rate-limiting
           (and Enterprise consumer groups with rate-limiting-advanced) as limits
  openapi  an OpenAPI 3 document: one API with a route per operation

The policy goes to stdout (or OUT); what had no Tollgate counterpart is listed on stderr.`;

const IMPORTERS = { kong: importKong, openapi: importOpenApi } as const;

export const importCommand: Command = {
  summary: 'Make a policy from a Kong decK file or an OpenAPI document',
  usage: USAGE,

  async run({ argv, stdout, stderr }) {
    const { values, positionals } = parseCommandArgs(argv, {
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
    });
    const [file, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    if (!file) throw new UsageError('FILE is required');
    const format = values.format;
    if (format !== 'kong' && format !== 'openapi') {
      throw new UsageError(
        format ? `unknown format '${format}' (kong or openapi)` : '--format is required',
      );
    }

    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new Error(
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
        {
          cause: error,
        },
      );
    }
    const result = IMPORTERS[format](text, file);
    for (const warning of result.warnings) {
      stderr(`warning: ${warning.path}: ${warning.message}\n`);
    }

    const yaml = importedYaml(result);
    if (values.output) await writeFile(values.output, yaml);
    else stdout(yaml);
    return 0;
  },
};

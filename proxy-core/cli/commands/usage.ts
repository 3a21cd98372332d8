import { connectToControlApi } from '../../control/connect.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate usage [--consumer NAME] [--json] [--data-dir DIR]

Shows what each consumer has used of each limit, and when each limit resets.

Options:
  --consumer NAME  only this consumer
  --json           print the control API's answer as JSON
  --data-dir DIR   the data dir of the Tollgate to ask (default: the per-user app data folder)`;

interface UsageRow {
  consumer?: string | null;
  subject?: string;
  tier?: string;
  name?: string;
  used?: number;
  limit?: number;
  remaining?: number;
  resetAt?: number;
}

export const usageCommand: Command = {
  summary: 'Show usage of every limit per consumer, with reset times',
  usage: USAGE,

  async run({ argv, stdout }) {
    const { values, positionals } = parseCommandArgs(argv, {
      consumer: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);

    const client = await connectToControlApi(resolveDataDir(values['data-dir']));
    const rows = ((await client.usage.get()).usage as UsageRow[]).filter(
      (row) => values.consumer === undefined || row.consumer === values.consumer,
    );

    if (values.json) stdout(JSON.stringify(rows, null, 2) + '\n');
    else stdout(rows.length === 0 ? 'No usage counted yet.\n' : table(rows));
    return 0;
  },
};

function table(rows: UsageRow[]): string {
  const header = ['SUBJECT', 'TIER', 'LIMIT', 'USED', 'REMAINING', 'RESETS'];
  const body = rows.map((row) => [
    row.subject ?? row.consumer ?? '-',
    row.tier ?? '-',
    row.name ?? '-',
    `${row.used ?? '?'}/${row.limit ?? '?'}`,
    String(row.remaining ?? '?'),
    row.resetAt ? new Date(row.resetAt).toISOString().replace('.000Z', 'Z') : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  return (
    [header, ...body]
      .map((cells) =>
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

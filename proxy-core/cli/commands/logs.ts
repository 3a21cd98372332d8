import { writeFile } from 'node:fs/promises';
import { connectToControlApi } from '../../control/connect.ts';
import type { LogQuery, RequestLogEntry } from '../../contract/control-api.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate logs [options]

Prints the newest requests of the running Tollgate, oldest first; with --follow keeps printing
new ones as they happen until Ctrl+C (like kubectl logs -f).

Options:
  -f, --follow        keep printing new requests
  --status CODE       only this status (429) or class (4xx)
  --consumer NAME     only this consumer
  --tier NAME         only this tier
  --route NAME        only this route (name or api.route)
  --decision D        allowed, refused or passthrough
  --host HOST         only this host
  --method METHOD     only this method
  --grep TEXT         only entries whose URL, consumer, reason or error contain TEXT
  --tail N            how many existing entries to print first (default 20; 0 for none)
  --har FILE          write the matching entries as HAR 1.2 to FILE instead of printing
  --json              one JSON entry per line
  --data-dir DIR      the data dir of the Tollgate to ask (default: the per-user app data folder)`;

export const logsCommand: Command = {
  summary: 'Print (or --follow) the request log, with filters; --har to export',
  usage: USAGE,

  async run({ argv, stdout, stderr }) {
    const { values, positionals } = parseCommandArgs(argv, {
      follow: { type: 'boolean', short: 'f' },
      status: { type: 'string' },
      consumer: { type: 'string' },
      tier: { type: 'string' },
      route: { type: 'string' },
      decision: { type: 'string' },
      host: { type: 'string' },
      method: { type: 'string' },
      grep: { type: 'string' },
      tail: { type: 'string' },
      har: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.har && values.follow) throw new UsageError('--har and --follow do not go together');

    const filters = filtersFrom(values);
    const tail = countOption(values.tail, 20);
    const print = (entry: RequestLogEntry) =>
      stdout((values.json ? JSON.stringify(entry) : formatEntry(entry)) + '\n');
    const client = await connectToControlApi(resolveDataDir(values['data-dir']));

    if (values.har) {
      const har = await client.log.har(filters);
      await writeFile(values.har, JSON.stringify(har, null, 2) + '\n');
      const count = (har as { log?: { entries?: unknown[] } }).log?.entries?.length ?? 0;
      stdout(`Wrote ${count} entries to ${values.har}\n`);
      return 0;
    }

    const recent = await client.log.query({ ...filters, limit: Math.max(tail, 1) });
    if (tail > 0) recent.entries.slice(0, tail).reverse().forEach(print);
    if (!values.follow) return 0;

    // Resume after what was printed, so nothing between the query and the stream is lost.
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await client.stream(
        (event) => {
          if (event.type === 'entry') print(event.data);
        },
        { ...filters, since: recent.lastSeq },
        abort.signal,
      );
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    if (!abort.signal.aborted) stderr('tollgate logs: the Tollgate stopped\n');
    return 0;
  },
};

type Values = Partial<Record<string, string | boolean>>;

function filtersFrom(values: Values): LogQuery {
  const text = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
  const decision = text('decision');
  if (decision && !['allowed', 'refused', 'passthrough'].includes(decision)) {
    throw new UsageError(`--decision must be allowed, refused or passthrough, not '${decision}'`);
  }
  const status = text('status');
  if (status && !/^([1-5]xx|[1-5]\d\d|0)$/i.test(status)) {
    throw new UsageError(`--status takes a status such as 429 or a class such as 4xx`);
  }

  const query: LogQuery = {
    status,
    consumer: text('consumer'),
    tier: text('tier'),
    route: text('route'),
    decision: decision as LogQuery['decision'],
    host: text('host'),
    method: text('method'),
    text: text('grep'),
  };
  for (const key of Object.keys(query) as (keyof LogQuery)[]) {
    if (query[key] === undefined) delete query[key];
  }
  return query;
}

function countOption(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10_000) {
    throw new UsageError(`--tail takes a whole number from 0 to 10000, not '${value}'`);
  }
  return n;
}

/** `13:45:01.123 GET https://api.test/v1/x 429 12ms alice/free refused RATE_LIMITED` */
export function formatEntry(entry: RequestLogEntry): string {
  const time = new Date(entry.startedAt).toISOString().slice(11, 23);
  const who = entry.consumer ? `${entry.consumer}/${entry.tier ?? '-'}` : '-';
  const why = [entry.reason, entry.limit && `(${entry.limit})`, entry.error].filter(Boolean);
  return [
    time,
    entry.method.padEnd(6),
    entry.url,
    entry.status || 'ERR',
    `${Math.round(entry.timings.total)}ms`,
    who,
    entry.decision,
    ...why,
  ].join(' ');
}

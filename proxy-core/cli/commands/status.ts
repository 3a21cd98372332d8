import { connectToControlApi } from '../../control/connect.ts';
import type { StatusResponse } from '../../contract/control-api.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate status [--json] [--data-dir DIR]

Shows the running Tollgate: ports, uptime, version, policy revision, store health, CA.

Options:
  --json         print the control API's answer as JSON
  --data-dir DIR the data dir of the Tollgate to ask (default: the per-user app data folder)`;

export const statusCommand: Command = {
  summary: 'Show the running Tollgate: ports, uptime, policy, store health, CA',
  usage: USAGE,

  async run({ argv, stdout }) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);

    const client = await connectToControlApi(resolveDataDir(values['data-dir']));
    const status = await client.status();
    stdout(values.json ? JSON.stringify(status, null, 2) + '\n' : describe(status));
    return status.store && !status.store.ok ? 1 : 0;
  },
};

function describe(status: StatusResponse): string {
  const { ports, store, ca, policy, log } = status;
  const lines = [
    `Tollgate ${status.version} (pid ${status.pid}), up ${duration(status.uptimeSeconds)}`,
    `  Proxy port:    ${ports.proxy ?? '-'}${ports.reverse ? `  (reverse: ${ports.reverse})` : ''}`,
    `  Control port:  ${ports.control}`,
    `  Policy:        ${policy.loaded ? `revision ${policy.revision ?? '?'}` : 'none loaded'}`,
    `  Store:         ${storeLine(store)}`,
    `  CA SHA-256:    ${ca?.fingerprint256 ?? '-'}`,
    `  Request log:   ${log.size} of ${log.capacity} entries`,
  ];
  if (status.dataDir) lines.push(`  Data dir:      ${status.dataDir}`);
  return lines.join('\n') + '\n';
}

function storeLine(store: StatusResponse['store']): string {
  if (!store) return '-';
  if (store.ok) return 'ok';
  const extra = [
    store.movedAside && `damaged file moved to ${store.movedAside}`,
    store.restoredFrom && `restored from ${store.restoredFrom}`,
  ].filter(Boolean);
  return `PROBLEM: ${store.problem ?? 'unknown'}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

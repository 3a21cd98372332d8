/**
 * Turns the measured figures into the one table, with the targets beside them:
 * HTTP ≥ 90% of the reference and ≥ 10x mitmdump; HTTPS ≥ 80% and ≥ 8x; a new host adds
 * < 25 ms; proxy RSS < 150 MB under load.
 */

import os from 'node:os';
import type { BenchContext } from './context.ts';
import type { NewHostOutcome } from './new-host-section.ts';
import { BenchTable, fixed, verdict } from './table.ts';
import type { Protocol, ThroughputRow } from './throughput.ts';
import { TARGETS } from './throughput.ts';

/** A part of the bench that prints its own rows (enforcement, logging, big bodies, …). */
export interface SectionOutcome {
  title: string;
  rows: { label: string; cells: Record<string, string>; target?: string }[];
  notes: string[];
}

export interface BenchResults {
  throughput: ThroughputRow[];
  newHost: NewHostOutcome;
  later: SectionOutcome[];
}

const GOALS: Record<Protocol, { reference: number; mitmdump: number }> = {
  http: { reference: 0.9, mitmdump: 10 },
  https: { reference: 0.8, mitmdump: 8 },
};
export const RSS_GOAL_MB = 150;
export const NEW_HOST_GOAL_MS = 25;

export function buildReport(context: BenchContext, results: BenchResults, seconds: number): string {
  const table = new BenchTable();

  table.section(
    `HTTP forward · wrk -c${context.connections} -t2 -d${context.seconds}s, absolute-URI requests`,
  );
  addThroughput(table, results.throughput, 'http');
  table.section(
    `HTTPS MITM · bench/load.ts for every row (wrk cannot CONNECT): ${context.connections} ` +
      `keep-alive connections, CONNECT + TLS each, ${context.seconds}s`,
  );
  addThroughput(table, results.throughput, 'https');

  table.section('First request to a new HTTPS host (tollgate, host mapping, fresh connections)');
  const newHost = results.newHost;
  if ('skipped' in newHost) table.note(`skipped: ${newHost.skipped}`);
  else {
    table.row(`added, median`, { 'p50 ms': fixed(newHost.addedMedianMs) });
    table.row(
      `added, p95`,
      { 'p99 ms': '' },
      verdict(newHost.addedP95Ms, '<', NEW_HOST_GOAL_MS, ' ms') + ` (p95 of ${newHost.samples})`,
    );
    table.note(`seen-host request on a fresh connection: median ${fixed(newHost.seenMedianMs)} ms`);
  }

  for (const section of results.later) {
    table.section(section.title);
    for (const row of section.rows) table.row(row.label, row.cells, row.target);
    for (const note of section.notes) table.note(note);
  }

  return [header(context, seconds), '', table.render(), '', legend()].join('\n');
}

function addThroughput(table: BenchTable, rows: ThroughputRow[], protocol: Protocol): void {
  const of = (target: string) => rows.find((r) => r.protocol === protocol && r.target === target);
  const rps = (target: string) => of(target)?.result?.rps;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;

  for (const target of TARGETS) {
    const row = of(target);
    if (!row?.result) {
      table.row(target, {}, `skipped: ${row?.skipped ?? 'not run'}`);
      continue;
    }

    const { result } = row;
    const toReference = ratio(result.rps, rps('reference'));
    const toMitmdump = ratio(result.rps, rps('mitmdump'));
    const targets =
      target === 'tollgate' || target === 'tollgate-bare'
        ? [
            '×ref ' + verdict(toReference, '>=', GOALS[protocol].reference),
            '×mitm ' + verdict(toMitmdump, '>=', GOALS[protocol].mitmdump),
            'RSS ' + verdict(row.rssMb, '<', RSS_GOAL_MB, ' MB'),
          ].join(' · ')
        : '';
    table.row(
      target,
      {
        'req/s': fixed(result.rps),
        'p50 ms': fixed(result.p50Ms),
        'p99 ms': fixed(result.p99Ms),
        '×direct': fixed(ratio(result.rps, rps('direct'))),
        '×ref': target === 'reference' ? '' : fixed(toReference),
        '×mitm': target === 'mitmdump' ? '' : fixed(toMitmdump),
        'CPU µs/req': fixed(row.cpuUsPerRequest),
        'RSS MB': fixed(row.rssMb),
        errors: String(result.errors),
      },
      targets,
    );
    if (result.errors > 0 && result.firstError)
      table.note(`${target}: first error: ${result.firstError}`);
  }
}

function header(context: BenchContext, seconds: number): string {
  const [load1] = os.loadavg();
  return [
    `Tollgate bench${context.quick ? ' (--quick: short smoke run, figures are rough)' : ''}`,
    `${new Date().toISOString()} · node ${process.version} · ${os.cpus().length} CPUs · ` +
      `load average ${load1!.toFixed(2)} at the end · ` +
      `${Math.round(seconds)} s in all · loopback only`,
  ].join('\n');
}

function legend(): string {
  return [
    'direct: the load generator straight to the upstream. tollgate: as `tollgate serve` runs it',
    '(store, policy engine with no policy, request log, metrics, control API). tollgate-bare: the',
    "proxy alone (startTollgate's bare-proxy mode). reference: bench/reference-proxy.ts, a minimal",
    'hand-written Node forward proxy + in-process MITM. mitmdump: Debian mitmproxy.',
    '×direct/×ref/×mitm: req/s divided by that row. RSS: peak VmRSS of the proxy during its run.',
    "CPU µs/req: the proxy process's user+system CPU over the measured run, per request; it",
    'moves far less than req/s when other work shares the cores.',
    'Figures, not assertions: a MISS does not fail the command. Other load on the machine skews',
    'every row; compare rows of one run, not runs.',
  ].join('\n');
}

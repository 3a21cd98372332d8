/**
 * Live traffic (issue 4): throughput with the request log and metrics on vs off, and the
 * control API's status and 100-entry log query latency while the proxy is under load.
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, nodeArgs, runToEnd } from './children.ts';
import type { BenchContext } from './context.ts';
import type { SectionOutcome } from './report.ts';
import { fixed, verdict } from './table.ts';
import { sideBySide, sliceLengths, spreadNote, verdictNote } from './side-by-side.ts';
import { startProxy, withTollgate, type ProxyTarget } from './targets.ts';
import { runWrk } from './wrk.ts';

export interface ProbeResult {
  statusP50Ms?: number;
  statusP99Ms?: number;
  logP50Ms?: number;
  logP99Ms?: number;
  samples: number;
  errors: number;
  logEntries?: number;
  logSize?: number;
  logCapacity?: number;
  firstError?: string;
  unavailable?: string;
}

export async function trafficSection(context: BenchContext): Promise<SectionOutcome> {
  const outcome: SectionOutcome = {
    title: 'Request log + metrics on vs off · tollgate, HTTP forward (wrk)',
    rows: [],
    notes: [],
  };
  const wrkFor = (proxy: ProxyTarget) => ({
    connectPort: proxy.port,
    authority: `127.0.0.1:${context.upstream.http}`,
    viaProxy: true,
    connections: context.connections,
  });

  const load = (proxy: ProxyTarget, seconds: number, cpus: string | undefined) =>
    runWrk({ ...wrkFor(proxy), seconds, cpus });
  const lengths = sliceLengths(context);
  const compared = await sideBySide(
    lengths,
    { start: () => startProxy('tollgate', context, { noTraffic: true }), load },
    { start: () => startProxy('tollgate', context, {}), load },
    context.upstream.pid,
  );
  if ('skipped' in compared) {
    outcome.notes.push(`skipped: ${compared.skipped}`);
    return outcome;
  }

  // The control API is timed in a run of its own, so its cost (building and serialising 100
  // entries per query) does not count against the log's throughput above.
  const probe = await withTollgate(context, {}, async (proxy) => {
    await runWrk({ ...wrkFor(proxy), seconds: context.warmupSeconds });
    const probing = runProbe(proxy, context.seconds);
    await runWrk({ ...wrkFor(proxy), seconds: context.seconds });
    return probing;
  });

  outcome.notes.push(
    "off: startTollgate's bare-proxy mode (no store, engine, log or control API); " +
      'on: as serve runs',
  );
  outcome.notes.push(spreadNote(compared, lengths));
  await inProcessFigures(outcome, context.quick);
  const { off, on } = compared;
  // Capacity on one CPU, from CPU per request: req/s also depends on how the scheduler shares
  // the CPU between the two proxies.
  const kept = 100 / compared.cpuRatio;
  // A higher CPU ratio keeps less: the interval's ends swap.
  const interval = compared.cpuInterval?.map((ratio) => `${fixed(100 / ratio)}%`).reverse();
  const byRps = `${fixed(compared.rpsRatio * 100)}%`;
  outcome.notes.push(verdictNote('kept (req/s capacity on one CPU)', interval, byRps));
  outcome.rows.push(off.row('log+metrics off'));
  outcome.rows.push(on.row('log+metrics on', `kept ${verdict(kept, '>=', 85, '%')}`));
  addProbeRows(outcome, probe);
  return outcome;
}

function addProbeRows(outcome: SectionOutcome, probe: ProbeResult | { skipped: string }): void {
  if ('skipped' in probe) return void outcome.notes.push(`control API: skipped: ${probe.skipped}`);
  if (probe.unavailable)
    return void outcome.notes.push(`control API: skipped: ${probe.unavailable}`);

  outcome.rows.push({
    label: 'control: status',
    cells: { 'p50 ms': fixed(probe.statusP50Ms), 'p99 ms': fixed(probe.statusP99Ms) },
    target: 'p99 ' + verdict(probe.statusP99Ms, '<', 20, ' ms') + ' under load',
  });
  outcome.rows.push({
    label: 'control: log ×100',
    cells: {
      'p50 ms': fixed(probe.logP50Ms),
      'p99 ms': fixed(probe.logP99Ms),
      errors: String(probe.errors),
    },
    target: 'p99 ' + verdict(probe.logP99Ms, '<', 20, ' ms') + ' under load',
  });
  outcome.notes.push(
    `control probe: ${probe.samples} calls on one keep-alive connection; last log query returned ` +
      `${probe.logEntries ?? '?'} entries ` +
      `(log holds ${probe.logSize ?? '?'}/${probe.logCapacity ?? '?'})`,
  );
  if (probe.firstError) outcome.notes.push(`control probe: first error: ${probe.firstError}`);
}

/** The control helper's in-process figures (bench/control-api.ts), when it is there. */
async function inProcessFigures(outcome: SectionOutcome, quick: boolean): Promise<void> {
  if (!existsSync(path.join(BENCH_DIR, 'control-api.ts'))) return;
  const args = ['--exchanges', quick ? '5000' : '20000', '--samples', quick ? '200' : '1000'];
  try {
    const stdout = await runToEnd(nodeArgs('control-api.ts', args), 120_000);
    const figures = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
    outcome.notes.push(
      `in-process (bench/control-api.ts, no proxy): recording an exchange (log + metrics + ` +
        `alerts) costs ${fixed((figures.nsPerCompleted ?? NaN) / 1000)} µs; with a full ` +
        `log and no load, status p99 ${fixed(figures.statusP99Ms)} ms, log ×100 p99 ` +
        `${fixed(figures.logP99Ms)} ms`,
    );
  } catch (error) {
    outcome.notes.push(`bench/control-api.ts failed: ${(error as Error).message.split('\n')[0]}`);
  }
}

export async function runProbe(proxy: ProxyTarget, seconds: number): Promise<ProbeResult> {
  if (!proxy.dataDir) return { samples: 0, errors: 0, unavailable: 'no data dir' };
  const stdout = await runToEnd(
    nodeArgs('control-probe.ts', ['--data-dir', proxy.dataDir, '--seconds', String(seconds)]),
    (seconds + 30) * 1000,
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
}

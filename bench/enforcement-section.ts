/**
 * Enforcement on vs off (issue 3): two Tollgates loaded at once (bench/side-by-side.ts), with
 * the same governed hostname, upstream and requests, one with host mapping only and one with a
 * policy that identifies the API key, matches the route, counts two limits and writes
 * rate-limit headers. The client sends its
 * key on both sides, as a real client does whether or not the gateway checks it (so both sides
 * parse it and mask it in the log). The limits are huge so nothing is refused: the difference is
 * the cost of the checks, not of 429s.
 */

import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BENCH_DIR, nodeArgs, runToEnd } from './children.ts';
import type { BenchContext } from './context.ts';
import type { SectionOutcome } from './report.ts';
import { fixed, verdict } from './table.ts';
import { sideBySide, sliceLengths, spreadNote, verdictNote } from './side-by-side.ts';
import { startProxy, type ProxyTarget } from './targets.ts';
import { runWrk } from './wrk.ts';

export const GOVERNED_HOST = 'api.bench.test';
export const BENCH_KEY = 'bench-key-0000000001';

/** One API on GOVERNED_HOST: API key, one route, two limits too large to ever refuse. */
export function benchPolicy(upstreamPort: number): string {
  return `version: 1
apis:
  - name: bench
    hosts: [${GOVERNED_HOST}]
    upstream: http://127.0.0.1:${upstreamPort}
    auth:
      - { type: apiKey, header: x-api-key }
    routes:
      - { name: read, methods: [GET], path: /v1/forecast/* }
tiers:
  - name: bench
    routes: [read]
    limits:
      - { requests: 1000000000, per: minute }
      - { requests: 1000000000, per: day }
consumers:
  - { name: bench-client, tier: bench, keys: [${BENCH_KEY}] }
`;
}

export async function enforcementSection(context: BenchContext): Promise<SectionOutcome> {
  const outcome: SectionOutcome = {
    title:
      'Enforcement on vs off · tollgate, HTTP forward, ' +
      'API key + route + 2 limits that never refuse',
    rows: [],
    notes: [],
  };
  const policyFile = path.join(context.tmp, 'bench-policy.yaml');
  await writeFile(policyFile, benchPolicy(context.upstream.http));

  const wrk = (proxy: ProxyTarget, seconds: number, cpus: string | undefined) =>
    runWrk({
      connectPort: proxy.port,
      authority: GOVERNED_HOST,
      viaProxy: true,
      connections: context.connections,
      seconds,
      path: '/v1/forecast/lisbon',
      header: ['x-api-key', BENCH_KEY],
      cpus,
    });
  const map = [`${GOVERNED_HOST}=http://127.0.0.1:${context.upstream.http}`];

  const lengths = sliceLengths(context);
  const compared = await sideBySide(
    lengths,
    { start: () => startProxy('tollgate', context, { map }), load: wrk },
    { start: () => startProxy('tollgate', context, { policyFile }), load: wrk },
    context.upstream.pid,
  );
  if ('skipped' in compared) {
    outcome.notes.push(`skipped: ${compared.skipped}`);
  } else {
    const { off, on } = compared;
    // Judged by CPU per request: with both proxies on one CPU, req/s also depends on how the
    // scheduler shares that CPU between them, which is not what enforcement costs.
    const added = (compared.cpuRatio - 1) * 100;
    outcome.rows.push(off.row('enforcement off'));
    outcome.rows.push(
      on.row('enforcement on', `added per-request cost ${verdict(added, '<=', 10, '%')}`),
    );
    const rpsAdded = (1 / compared.rpsRatio - 1) * 100;
    const interval = compared.cpuInterval?.map((ratio) => `${fixed((ratio - 1) * 100)}%`);
    outcome.notes.push(verdictNote('added per-request cost', interval, `${fixed(rpsAdded)}%`));
    outcome.notes.push(spreadNote(compared, lengths));
    for (const [name, r] of [
      ['off', off],
      ['on', on],
    ] as const) {
      if (r.result.firstError) outcome.notes.push(`${name}: first error: ${r.result.firstError}`);
    }
  }

  await limitCheckRow(outcome);
  return outcome;
}

/** ns per limit check, from the policy helper's micro-benchmark when it exists. */
async function limitCheckRow(outcome: SectionOutcome): Promise<void> {
  if (!existsSync(path.join(BENCH_DIR, 'policy-check.ts'))) {
    outcome.notes.push('one limit check: skipped, bench/policy-check.ts has not landed yet');
    return;
  }
  try {
    const stdout = await runToEnd(nodeArgs('policy-check.ts'), 60_000);
    const line = stdout
      .trim()
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('{'));
    const figures = JSON.parse(line ?? '{}') as { nsPerCheck?: number; nsPerDecide?: number };
    outcome.rows.push({
      label: 'one limit check',
      cells: {},
      target: `slowest algorithm ${verdict(figures.nsPerCheck, '<', 1000, ' ns')}`,
    });
    outcome.notes.push(
      `whole decide on the example policy (key, route, 2 limits, headers): ` +
        `${fixed(figures.nsPerDecide)} ns (bench/policy-check.ts)`,
    );
  } catch (error) {
    outcome.notes.push(`one limit check: failed: ${(error as Error).message}`);
  }
}

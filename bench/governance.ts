/**
 * The governance sections alone (enforcement on vs off, request log + metrics on vs off), for
 * measuring policy and logging work without the full bench's other rows.
 *
 * Usage: node --import tsx bench/governance.ts [--pairs 24] [--slice 1] [--warmup 2]
 *          [--seconds 10] [--only enforcement|traffic]
 * (`--seconds` is the control API probe's run.)
 * Run it under `flock /tmp/bench.lock` like every bench on the shared machine.
 */

import { parseArgs } from 'node:util';
import { enforcementSection } from './enforcement-section.ts';
import type { SectionOutcome } from './report.ts';
import { runBenchSession } from './session.ts';
import { BenchTable } from './table.ts';
import { trafficSection } from './traffic-section.ts';
import { runWrk } from './wrk.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    pairs: { type: 'string', default: '24' },
    slice: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
  strict: true,
});

const seconds = Number(values.seconds);
const lengths = {
  ...{ quick: true, seconds, warmupSeconds: Number(values.warmup) },
  ...{ pairs: Number(values.pairs), pairSeconds: Number(values.slice) },
};

await runBenchSession('governance', lengths, async (context) => {
  // In a full run these sections come after the throughput rows, which have already loaded
  // the upstream; a short direct load brings a fresh one closer to that state.
  const upstream = `127.0.0.1:${context.upstream.http}`;
  const direct = { connectPort: context.upstream.http, authority: upstream, viaProxy: false };
  await runWrk({ ...direct, connections: context.connections, seconds: 5 });

  const outcomes: SectionOutcome[] = [];
  if (values.only !== 'traffic') outcomes.push(await enforcementSection(context));
  if (values.only !== 'enforcement') outcomes.push(await trafficSection(context));

  const table = new BenchTable();
  for (const outcome of outcomes) {
    table.section(outcome.title);
    for (const row of outcome.rows) table.row(row.label, row.cells, row.target);
    for (const note of outcome.notes) table.note(note);
  }
  process.stdout.write(table.render() + '\n');
});

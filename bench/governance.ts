/**
 * The governance sections alone (enforcement on vs off, request log + metrics on vs off), for
 * measuring policy and logging work without the full bench's other rows.
 *
 * Usage: node --import tsx bench/governance.ts [--seconds 4] [--only enforcement|traffic]
 * Run it under `flock /tmp/bench.lock` like every bench on the shared machine.
 */

import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeBenchPki } from './bench-pki.ts';
import {
  installCleanupHandlers,
  killAll,
  nodeArgs,
  startWithReadyLine,
  stopAll,
} from './children.ts';
import type { BenchContext } from './context.ts';
import { enforcementSection } from './enforcement-section.ts';
import type { SectionOutcome } from './report.ts';
import { BenchTable } from './table.ts';
import { trafficSection } from './traffic-section.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    only: { type: 'string' },
  },
  strict: true,
});

const tmp = await mkdtemp(path.join(os.tmpdir(), 'tollgate-governance-'));
installCleanupHandlers(() => rmSync(tmp, { recursive: true, force: true }));
let exitCode = 0;
try {
  const pki = await writeBenchPki(tmp);
  const upstream = await startWithReadyLine<{ http: number; https: number }>(
    nodeArgs('upstream.ts', ['--key', pki.leafKeyPath, '--cert', pki.leafChainPath]),
  );
  const context: BenchContext = {
    quick: true,
    seconds: Number(values.seconds),
    warmupSeconds: 1,
    connections: 50,
    tmp,
    pki,
    upstream: { pid: upstream.pid, ...upstream.ready },
  };

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
} catch (error) {
  process.stderr.write(`bench: could not run: ${(error as Error).stack ?? error}\n`);
  exitCode = 1;
} finally {
  await stopAll();
  killAll();
  await rm(tmp, { recursive: true, force: true });
}
process.exit(exitCode);

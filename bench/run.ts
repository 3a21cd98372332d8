/**
 * `npm run bench [-- --quick]`: measures Tollgate against direct, the hand-written reference
 * and mitmdump on loopback, and prints one table with each target beside its figure.
 *
 * Every process it starts is its own (upstream, proxies, load generators) and is stopped at the
 * end, on error and on Ctrl-C. The command exits 0 even when a target is missed: these are
 * figures for people, not assertions. It exits 1 only when the bench itself could not run.
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
import { runLengths, type BenchContext } from './context.ts';
import { buildReport, type BenchResults } from './report.ts';
import { runLaterSections } from './later-sections.ts';
import { measureNewHostSection } from './new-host-section.ts';
import { measureThroughput } from './throughput.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false } },
  strict: true,
});

const lengths = runLengths(values.quick!);
const started = Date.now();
const tmp = await mkdtemp(path.join(os.tmpdir(), 'tollgate-bench-'));
installCleanupHandlers(() => rmSync(tmp, { recursive: true, force: true }));
let exitCode = 0;

try {
  const pki = await writeBenchPki(tmp);
  const upstream = await startWithReadyLine<{ http: number; https: number }>(
    nodeArgs('upstream.ts', ['--key', pki.leafKeyPath, '--cert', pki.leafChainPath]),
  );
  const context: BenchContext = {
    quick: values.quick!,
    seconds: lengths.seconds,
    warmupSeconds: lengths.warmupSeconds,
    connections: 50,
    tmp,
    pki,
    upstream: { pid: upstream.pid, ...upstream.ready },
  };

  progress(`upstream on :${context.upstream.http} (http) :${context.upstream.https} (https)`);
  const results: BenchResults = {
    throughput: await measureThroughput(context),
    newHost: await measureNewHostSection(context, lengths.newHosts),
    later: await runLaterSections(context, lengths),
  };

  process.stdout.write(buildReport(context, results, (Date.now() - started) / 1000) + '\n');
} catch (error) {
  process.stderr.write(`bench: could not run: ${(error as Error).stack ?? error}\n`);
  exitCode = 1;
} finally {
  await stopAll();
  killAll();
  await rm(tmp, { recursive: true, force: true });
}
process.exit(exitCode);

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

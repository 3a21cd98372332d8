/**
 * `npm run bench [-- --quick]`: measures Tollgate against direct, the hand-written reference
 * and mitmdump on loopback, and prints one table with each target beside its figure.
 *
 * Every process it starts is its own (upstream, proxies, load generators) and is stopped at the
 * end, on error and on Ctrl-C. The command exits 0 even when a target is missed: these are
 * figures for people, not assertions. It exits 1 only when the bench itself could not run.
 */

import { parseArgs } from 'node:util';
import { runLengths } from './context.ts';
import { buildReport, type BenchResults } from './report.ts';
import { runLaterSections } from './later-sections.ts';
import { measureNewHostSection } from './new-host-section.ts';
import { runBenchSession } from './session.ts';
import { measureThroughput } from './throughput.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false } },
  strict: true,
});

const lengths = runLengths(values.quick!);
const started = Date.now();

const { seconds, warmupSeconds, pairs, pairSeconds } = lengths;
await runBenchSession(
  'bench',
  { quick: values.quick!, seconds, warmupSeconds, pairs, pairSeconds },
  async (context) => {
    progress(`upstream on :${context.upstream.http} (http) :${context.upstream.https} (https)`);
    const results: BenchResults = {
      throughput: await measureThroughput(context),
      newHost: await measureNewHostSection(context, lengths.newHosts),
      later: await runLaterSections(context, lengths),
    };

    process.stdout.write(buildReport(context, results, (Date.now() - started) / 1000) + '\n');
  },
);

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

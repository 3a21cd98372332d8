/**
 * Enforcement on vs off by instructions executed per request, under valgrind's callgrind.
 *
 * Why a second measure: the on/off sections time two live proxies, and on this shared machine
 * the whole machine slowing down moves one run's figure by several points (docs/benchmarks.md).
 * An instruction count does not depend on what the neighbours do, but it is not steady either:
 * a major GC or a compile lands in one side's counted window and not the other's, and how
 * many requests share a turn of the event loop moves the per-turn work per request. Runs of one
 * tree have read one side 10 to 15 % apart (docs/benchmarks.md, item 4), so one run says
 * little about a 10 % target. With `--keep`, callgrind_annotate shows where the governed side
 * spends its added instructions, apart from the GC and the compiler, which is what this
 * script is best at. It sees no time in the kernel (both sides make the same system calls per
 * request) and, with `--cache-sim`, only simulated caches, so it complements the timed figure,
 * never replaces it.
 *
 * Each side is the proxy as the enforcement section starts it, run under callgrind with
 * instrumentation off. It is warmed up uninstrumented (valgrind still runs it several times
 * slower), instrumentation goes on for exactly `--measure` requests and off again, and the
 * count covers every thread of the process (the GC's helpers included). Both sides run at once:
 * timing does not change what is counted, except that timers fire more often per request in a
 * process slowed down this much (the store's sync, which only the governed side has work for).
 *
 * Usage: node --import tsx bench/instructions.ts [--warmup 30000] [--measure 10000]
 *          [--connections 8] [--keep DIR] [--cache-sim]
 * `--connections 1` sends one request at a time: each turn of the event loop then serves one
 * request, so the per-turn work is not shared by a varying number of them. `--keep` copies
 * callgrind's dumps to DIR, for callgrind_annotate. `--cache-sim` also counts misses of
 * callgrind's simulated caches (about twice as slow).
 * Needs Debian's valgrind (apt-get install valgrind); prints a skip note without it.
 */

import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { builtNodeArgs, nodeArgs, runToEnd, startWithReadyLine } from './children.ts';
import type { BenchContext } from './context.ts';
import { BENCH_KEY, GOVERNED_HOST, benchPolicy } from './enforcement-section.ts';
import type { LoadResult } from './load-result.ts';
import { runBenchSession } from './session.ts';
import { fixed, verdict } from './table.ts';

const VALGRIND = '/usr/bin/valgrind';
const CALLGRIND_CONTROL = '/usr/bin/callgrind_control';
/** What `--cache-sim` adds: misses of the simulated first-level and last-level caches. */
const CACHE_EVENTS = [
  ['I1mr', 'first-level instruction cache misses'],
  ['D1mr', 'first-level data cache read misses'],
  ['ILmr', 'last-level instruction misses'],
  ['DLmr', 'last-level data read misses'],
] as const;

const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '30000' },
    measure: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '8' },
    'cache-sim': { type: 'boolean', default: false },
    keep: { type: 'string' },
  },
  strict: true,
});
const warmup = Number(values.warmup);
const measure = Number(values.measure);
const connections = Number(values.connections);

interface Side {
  name: 'off' | 'on';
  args: string[];
}

if (!existsSync(VALGRIND) || !existsSync(CALLGRIND_CONTROL)) {
  console.log(`instructions: skipped, ${VALGRIND} is not installed (apt-get install valgrind)`);
  process.exit(0);
}

const lengths = { quick: true, seconds: 0, warmupSeconds: 0, pairs: 0, pairSeconds: 0 };
await runBenchSession('instructions', lengths, async (context) => {
  const policyFile = path.join(context.tmp, 'bench-policy.yaml');
  await writeFile(policyFile, benchPolicy(context.upstream.http));
  const map = `${GOVERNED_HOST}=http://127.0.0.1:${context.upstream.http}`;

  const sides: Side[] = [
    { name: 'off', args: ['--map', map] },
    { name: 'on', args: ['--policy', policyFile] },
  ];
  const [off, on] = (await Promise.all(sides.map((side) => countSide(context, side)))) as [
    Record<string, number>,
    Record<string, number>,
  ];

  const added = (on.Ir! / off.Ir! - 1) * 100;
  console.log(`instructions per request, enforcement off: ${fixed(off.Ir)}`);
  console.log(`instructions per request, enforcement on:  ${fixed(on.Ir)}`);
  for (const [event, what] of CACHE_EVENTS) {
    if (off[event] === undefined || on[event] === undefined) continue;
    const change = (on[event] / off[event] - 1) * 100;
    const sign = change >= 0 ? '+' : '';
    console.log(
      `${what} per request: ${fixed(off[event])} off, ${fixed(on[event])} on ` +
        `(${sign}${fixed(change)}%)`,
    );
  }
  console.log(
    `added per-request cost by instructions ${verdict(added, '<=', 10, '%')} ` +
      `(${fixed(warmup)} requests of warm-up, ${fixed(measure)} counted, per side)`,
  );
});

/** Callgrind's events per request of one side (Ir: instructions), over `measure` requests. */
async function countSide(context: BenchContext, side: Side): Promise<Record<string, number>> {
  const outPrefix = path.join(context.tmp, `callgrind-${side.name}`);
  const dataDir = path.join(context.tmp, `tollgate-${side.name}`);
  const [node, proxyArgs] = await builtNodeArgs('run-tollgate.ts', [
    ...['--data-dir', dataDir],
    ...side.args,
  ]);
  const callgrind = [
    '--tool=callgrind',
    '--instr-atstart=no',
    ...(values['cache-sim'] ? ['--cache-sim=yes'] : []),
    `--callgrind-out-file=${outPrefix}.%p`,
  ];
  const proxy = await startWithReadyLine<{ port: number }>(
    [VALGRIND, [...callgrind, node, ...proxyArgs]],
    // Valgrind translates Node and V8 before the first line runs: slow to start.
    { env: { NODE_EXTRA_CA_CERTS: context.pki.caCertPath }, timeoutMs: 180_000 },
  );

  try {
    await sendRequests(proxy.ready.port, warmup);
    await control(proxy.pid, '--instr=on');
    await sendRequests(proxy.ready.port, measure);
    await control(proxy.pid, '--instr=off');
    await control(proxy.pid, '--dump');
  } finally {
    await proxy.stop();
  }
  const dumps = await dumpFiles(context.tmp, `callgrind-${side.name}.`);
  if (values.keep) await keepDumps(dumps, values.keep);
  const totals = await countedEvents(dumps);
  return Object.fromEntries(Object.entries(totals).map(([event, n]) => [event, n / measure]));
}

/** The files callgrind wrote for one side: one per process, one more per dump request. */
async function dumpFiles(dir: string, prefix: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => name.startsWith(prefix));
  if (names.length === 0) throw new Error(`callgrind wrote nothing to ${dir}/${prefix}*`);
  return names.map((name) => path.join(dir, name));
}

async function keepDumps(files: string[], dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const file of files) await copyFile(file, path.join(dir, path.basename(file)));
}

function control(pid: number, command: string): Promise<string> {
  return runToEnd([CALLGRIND_CONTROL, [command, String(pid)]], 60_000);
}

/** Each event's sum over the `totals:` lines of one side's dumps, named by their `events:` line. */
async function countedEvents(files: string[]): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const names = /^events: (.+)$/m.exec(text)?.[1]?.split(' ') ?? ['Ir'];
    for (const match of text.matchAll(/^totals: (.+)$/gm)) {
      const counts = match[1]!.split(' ').map(Number);
      names.forEach((name, i) => (totals[name] = (totals[name] ?? 0) + (counts[i] ?? 0)));
    }
  }
  if (!totals.Ir) throw new Error(`callgrind counted nothing in ${files.join(', ')}`);
  return totals;
}

/**
 * Exactly `count` governed GETs through the proxy, with the API key (both sides get the same
 * request), sent by bench/load.ts. Rejects when any failed or was refused: a refused request
 * would measure the wrong path.
 */
async function sendRequests(port: number, count: number): Promise<void> {
  const stdout = await runToEnd(
    nodeArgs('load.ts', [
      ...['--url', `http://127.0.0.1:${port}`],
      ...['--path', `http://${GOVERNED_HOST}/v1/forecast/lisbon`],
      ...['--header', `host: ${GOVERNED_HOST}`, '--header', `x-api-key: ${BENCH_KEY}`],
      ...['--connections', String(connections), '--requests', String(count)],
    ]),
    1_800_000,
  );
  const result = JSON.parse(stdout.trim()) as LoadResult;
  if (result.errors > 0) {
    throw new Error(`${result.errors} of ${count} requests failed: ${result.firstError ?? ''}`);
  }
}

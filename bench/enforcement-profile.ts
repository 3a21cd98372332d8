/**
 * Where enforcement's cost goes, measured inside one Tollgate process so that heap, JIT state
 * and the machine's moment are shared by both sides: a governed host (API key, route, two
 * limits, rate-limit headers) and a host-mapped one that no API governs, sent the same request
 * with the same key, take turns in short wrk slices, in ABBA order (a slice's position in its
 * pair moves its cost, see `couples`). Each slice's CPU per request comes from /proc; with
 * --profile, V8's samples are split by the slice they fall in and the functions whose self time
 * per request grew most are listed.
 *
 * Usage: node --import tsx bench/enforcement-profile.ts [--pairs 20] [--slice 1] [--profile]
 */

import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_KEY, GOVERNED_HOST, benchPolicy } from './enforcement-section.ts';
import { cpuSeconds } from './rss.ts';
import { runBenchSession } from './session.ts';
import { fixed } from './table.ts';
import { startProxy } from './targets.ts';
import { runWrk, type WrkOptions } from './wrk.ts';

const MAPPED_HOST = 'mapped.bench.test';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '20' },
    slice: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
  },
});

type Side = 'off' | 'on';

interface Slice {
  side: Side;
  /** CLOCK_MONOTONIC µs, the clock V8's profile timestamps use. */
  startUs: number;
  endUs: number;
  requests: number;
  cpuMicrosPerRequest: number;
}

const lengths = { quick: false, seconds: 0, warmupSeconds: 2, pairs: 0, pairSeconds: 0 };
await runBenchSession('enforcement', lengths, async (context) => {
  const upstreamUrl = `http://127.0.0.1:${context.upstream.http}`;
  const policyFile = path.join(context.tmp, 'policy.yaml');
  await writeFile(policyFile, benchPolicy(context.upstream.http));

  const profileDir = path.join(context.tmp, 'profile');
  const proxy = await startProxy('tollgate', context, {
    policyFile,
    map: [`${MAPPED_HOST}=${upstreamUrl}`],
    nodeFlags: values.profile
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=250']
      : [],
  });
  if ('skipped' in proxy) throw new Error(proxy.skipped);

  const load = (side: Side, seconds: number): WrkOptions => ({
    connectPort: proxy.port,
    authority: side === 'on' ? GOVERNED_HOST : MAPPED_HOST,
    viaProxy: true,
    connections: context.connections,
    seconds,
    path: '/v1/forecast/lisbon',
    // The same request on both sides: a client sends its key whether or not it is checked.
    header: ['x-api-key', BENCH_KEY] as [string, string],
  });
  await runWrk(load('on', 2));
  await runWrk(load('off', 2));

  const sliceSeconds = Number(values.slice);
  const slices: Slice[] = [];
  const measure = async (side: Side) => {
    const cpuBefore = await cpuSeconds(proxy.pid);
    const startUs = monotonicUs();
    const result = await runWrk(load(side, sliceSeconds));
    const endUs = monotonicUs();
    const cpu = (await cpuSeconds(proxy.pid))! - cpuBefore!;
    slices.push({
      side,
      startUs,
      endUs,
      requests: result.requests,
      cpuMicrosPerRequest: (cpu / result.requests) * 1e6,
    });
  };
  const ratios: number[] = [];
  for (let i = 0; i < Number(values.pairs); i++) {
    const order: Side[] = i % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const side of order) await measure(side);
    const [off, on] = [pairSide(slices, 'off'), pairSide(slices, 'on')];
    ratios.push(on.cpuMicrosPerRequest / off.cpuMicrosPerRequest);
  }
  await proxy.stop();

  const median = (list: number[]) => [...list].sort((a, b) => a - b)[list.length >> 1]!;
  const perSide = (side: Side) =>
    median(slices.filter((s) => s.side === side).map((s) => s.cpuMicrosPerRequest));
  const coupled = (median(couples(ratios)) - 1) * 100;
  process.stdout.write(
    `${ratios.length} ABBA pairs of ${sliceSeconds} s slices in one process\n` +
      `CPU µs per request, median: off ${fixed(perSide('off'))}, on ${fixed(perSide('on'))}\n` +
      `added CPU per request, median of pair ratios: ${fixed((median(ratios) - 1) * 100)}%\n` +
      `added CPU per request, median of AB+BA couples: ${fixed(coupled)}%\n` +
      `pair ratios (%): ${ratios.map((r) => fixed(r * 100)).join(' ')}\n`,
  );

  if (values.profile) {
    const [file] = await readdir(profileDir);
    if (!file) throw new Error('no profile was written');
    const profile = JSON.parse(await readFile(path.join(profileDir, file), 'utf8')) as Profile;
    process.stdout.write('\n' + selfTimeGrowth(profile, slices) + '\n');
  }
});

/**
 * Each AB pair with the BA pair after it, as the geometric mean of their ratios. Within a pair
 * the second slice measured cheaper than the first, whichever side it was (up to ±20 % here),
 * so single pair ratios alternate high and low; a couple has each side once in each position
 * and cancels that.
 */
function couples(ratios: readonly number[]): number[] {
  const result: number[] = [];
  for (let i = 0; i + 1 < ratios.length; i += 2) {
    result.push(Math.sqrt(ratios[i]! * ratios[i + 1]!));
  }
  return result;
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The newest slice of one side: the pair just measured. */
function pairSide(slices: Slice[], side: Side): Slice {
  return slices.findLast((s) => s.side === side)!;
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * µs of self time per request on each side, by function, sorted by growth. Samples between
 * slices (wrk starting) are dropped.
 */
function selfTimeGrowth(profile: Profile, slices: Slice[], count = 40): string {
  const names = new Map(profile.nodes.map((n) => [n.id, frameName(n.callFrame)]));
  const time = { off: new Map<string, number>(), on: new Map<string, number>() };
  const requests = { off: 0, on: 0 };
  for (const slice of slices) requests[slice.side] += slice.requests;

  const ordered = [...slices].sort((a, b) => a.startUs - b.startUs);
  let at = profile.startTime;
  let next = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i]!;
    at += delta;
    while (next < ordered.length && ordered[next]!.endUs < at) next++;
    const slice = ordered[next];
    if (!slice || at < slice.startUs) continue;
    const name = names.get(profile.samples[i]!)!;
    const side = time[slice.side];
    side.set(name, (side.get(name) ?? 0) + delta);
  }

  const perRequest = (side: Side, name: string) => (time[side].get(name) ?? 0) / requests[side];
  const all = new Set([...time.off.keys(), ...time.on.keys()]);
  all.delete('(idle)');
  const rows = [...all]
    .map((name) => ({ name, off: perRequest('off', name), on: perRequest('on', name) }))
    .sort((a, b) => b.on - b.off - (a.on - a.off));
  const total = (side: Side) => [...all].reduce((sum, name) => sum + perRequest(side, name), 0);

  const lines = rows
    .slice(0, count)
    .map((r) => `${fixed(r.on - r.off).padStart(7)} ${fixed(r.off).padStart(7)}  ${r.name}`);
  return [
    `profiled self time, µs per request (sampled wall time, so it includes preemption):`,
    `  off ${fixed(total('off'))}, on ${fixed(total('on'))}`,
    `  growth     off  function`,
    ...lines.map((line) => '  ' + line),
  ].join('\n');
}

function frameName(frame: Profile['nodes'][number]['callFrame']): string {
  const file = frame.url.split('/').pop() ?? '';
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

/**
 * Where the on/off comparisons run: every proxy under comparison on the last CPU, the load
 * generator and the upstream on the others (taskset, from util-linux).
 *
 * Why: the two proxies of a comparison run for its whole length, and unpinned, the scheduler
 * may keep each on a CPU of its own for tens of seconds. On a shared VM one CPU can be slower
 * than the other for that long (a busy neighbour on its host core), and the comparison then
 * measures the CPUs as much as the proxies (two unpinned runs of one tree, a minute apart:
 * +14.3 % and −1.9 %). On one CPU both sides meet that CPU's slow moments alike, and req/s
 * follows the proxy's own cost per request. Slowness of the whole machine still shows: see
 * docs/benchmarks.md for what spread remains.
 */

import { existsSync } from 'node:fs';
import os from 'node:os';
import { runToEnd } from './children.ts';

const TASKSET = '/usr/bin/taskset';

export interface CpuSplit {
  proxyCpus: string;
  loadCpus: string;
  allCpus: string;
}

export function cpuSplit(): CpuSplit | { unavailable: string } {
  const count = os.availableParallelism();
  if (count < 2) return { unavailable: `${count} CPU: nothing to split` };
  if (!existsSync(TASKSET)) return { unavailable: `${TASKSET} is not installed` };

  const last = count - 1;
  return {
    proxyCpus: String(last),
    loadCpus: last === 1 ? '0' : `0-${last - 1}`,
    allCpus: `0-${last}`,
  };
}

/** Moves every thread of `pid` onto `cpus` (a taskset list such as `1` or `0-2`). */
export async function pin(pid: number, cpus: string): Promise<void> {
  await runToEnd([TASKSET, ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)]], 10_000);
}

/** `command` started on `cpus`, for runToEnd and friends. */
export function onCpus(cpus: string, [file, args]: [string, string[]]): [string, string[]] {
  return [TASKSET, ['--cpu-list', cpus, file, ...args]];
}

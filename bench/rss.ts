import { readFile } from 'node:fs/promises';

/**
 * Samples a process's resident memory (VmRSS in /proc/<pid>/status) every `everyMs` until
 * stopped; `stop()` resolves with the peak in megabytes, or null if the process was gone.
 */
export function sampleRss(pid: number, everyMs = 200): { stop(): Promise<number | null> } {
  let peakKb = 0;
  let running = true;

  const loop = (async () => {
    while (running) {
      peakKb = Math.max(peakKb, (await rssKb(pid)) ?? 0);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    peakKb = Math.max(peakKb, (await rssKb(pid)) ?? 0);
  })();

  return {
    async stop() {
      running = false;
      await loop;
      return peakKb > 0 ? peakKb / 1024 : null;
    },
  };
}

/** The current VmRSS in kB, or null when the process no longer exists. */
export async function rssKb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Linux's USER_HZ: /proc times are in ticks of 1/100 s on every mainstream kernel build. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat, or null when
 * it is gone. Taken before and after a run, it gives CPU per request: a figure far less
 * sensitive than req/s to whatever else the machine is doing.
 */
export async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

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

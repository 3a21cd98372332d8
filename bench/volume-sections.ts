/**
 * Volume, not speed: a 1 GB upload and download through Tollgate's HTTPS interception with its
 * peak RSS (bodies must stream), and 50,000 requests with the request log on with RSS before
 * and after (the log is a bounded ring, so memory must level off).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { nodeArgs, runToEnd } from './children.ts';
import type { BenchContext } from './context.ts';
import type { LoadResult } from './load-result.ts';
import type { SectionOutcome } from './report.ts';
import { RSS_GOAL_MB } from './report.ts';
import { rssKb, sampleRss } from './rss.ts';
import { fixed, verdict } from './table.ts';
import { withTollgate } from './targets.ts';
import { runProbe } from './traffic-section.ts';

interface TransferResult {
  bytes: number;
  uploadSeconds: number;
  uploadReceived: number;
  downloadSeconds: number;
  downloadReceived: number;
}

export async function bigBodySection(
  context: BenchContext,
  bytes: number,
): Promise<SectionOutcome> {
  const mb = bytes / 2 ** 20;
  const outcome: SectionOutcome = {
    title: `${fixed(mb)} MiB upload + download · tollgate, HTTPS MITM, one connection each`,
    rows: [],
    notes: [],
  };

  const measured = await withTollgate(context, {}, async (proxy) => {
    const rss = sampleRss(proxy.pid, 100);
    const args = [
      '--proxy-port',
      String(proxy.port),
      '--ca',
      proxy.caPath,
      '--authority',
      `127.0.0.1:${context.upstream.https}`,
      '--bytes',
      String(bytes),
    ];
    // The sampler stops whether the transfer succeeds or not.
    const settled = await runToEnd(nodeArgs('transfer.ts', args), 240_000).then(
      (stdout) => ({ stdout }),
      (error: Error) => ({ error }),
    );
    const rssMb = await rss.stop();
    if ('error' in settled) throw settled.error;
    return { transfer: JSON.parse(settled.stdout.trim()) as TransferResult, rssMb };
  }).catch((error: Error) => ({ skipped: `failed: ${error.message}` }));

  if ('skipped' in measured) return { ...outcome, notes: [`skipped: ${measured.skipped}`] };

  const { transfer, rssMb } = measured;
  const intact = transfer.uploadReceived === bytes && transfer.downloadReceived === bytes;
  outcome.rows.push({
    label: 'upload',
    cells: { 'req/s': `${fixed(mb / transfer.uploadSeconds)} MiB/s` },
  });
  outcome.rows.push({
    label: 'download',
    cells: {
      'req/s': `${fixed(mb / transfer.downloadSeconds)} MiB/s`,
      'RSS MB': fixed(rssMb ?? 0),
    },
    target: `peak RSS ${verdict(rssMb ?? undefined, '<', RSS_GOAL_MB, ' MB')}`,
  });
  if (!intact) {
    outcome.notes.push(
      `bytes did not arrive whole: upstream got ${transfer.uploadReceived}, client got ` +
        `${transfer.downloadReceived} of ${bytes}`,
    );
  }
  return outcome;
}

export async function requestLogSection(
  context: BenchContext,
  count: number,
): Promise<SectionOutcome> {
  const outcome: SectionOutcome = {
    title:
      `${count.toLocaleString('en-US')} requests with the request log on · ` +
      'tollgate, HTTP forward',
    rows: [],
    notes: [],
  };

  const measured = await withTollgate(context, {}, async (proxy) => {
    const upstream = `127.0.0.1:${context.upstream.http}`;
    const load = (requests: number) =>
      runToEnd(
        nodeArgs('load.ts', [
          '--url',
          `http://127.0.0.1:${proxy.port}`,
          '--path',
          `http://${upstream}/`,
          '--header',
          `host: ${upstream}`,
          '--connections',
          String(context.connections),
          '--requests',
          String(requests),
        ]),
        300_000,
      ).then((stdout) => JSON.parse(stdout.trim()) as LoadResult);

    await load(200);
    const beforeMb = ((await rssKb(proxy.pid)) ?? 0) / 1024;
    const rss = sampleRss(proxy.pid);
    const result = await load(count);
    const peakMb = await rss.stop();
    const afterMb = ((await rssKb(proxy.pid)) ?? 0) / 1024;
    await sleep(2000);
    const settledMb = ((await rssKb(proxy.pid)) ?? 0) / 1024;
    const probe = await runProbe(proxy, 0);
    return { result, beforeMb, peakMb, afterMb, settledMb, probe };
  }).catch((error: Error) => ({ skipped: `failed: ${error.message}` }));

  if ('skipped' in measured) return { ...outcome, notes: [`skipped: ${measured.skipped}`] };

  const { result, beforeMb, peakMb, afterMb, settledMb, probe } = measured;
  outcome.rows.push({
    label: `${fixed(count)} requests`,
    cells: {
      'req/s': fixed(result.rps),
      'p50 ms': fixed(result.p50Ms),
      'p99 ms': fixed(result.p99Ms),
      'RSS MB': fixed(peakMb ?? undefined),
      errors: String(result.errors),
    },
    target: `peak RSS ${verdict(peakMb ?? undefined, '<', RSS_GOAL_MB, ' MB')}`,
  });
  outcome.notes.push(
    `RSS before ${fixed(beforeMb)} MB, right after ${fixed(afterMb)} MB, 2 s later ` +
      `${fixed(settledMb)} MB`,
  );
  if (probe.unavailable) outcome.notes.push(`log size: unknown (${probe.unavailable})`);
  else
    outcome.notes.push(
      `request log holds ${probe.logSize ?? '?'} of capacity ${probe.logCapacity ?? '?'}`,
    );
  if (result.firstError) outcome.notes.push(`first error: ${result.firstError}`);
  return outcome;
}

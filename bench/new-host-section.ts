import type { BenchContext } from './context.ts';
import { measureNewHosts, newHostNames, SEEN_HOST, type NewHostResult } from './new-host.ts';
import { startProxy } from './targets.ts';

export type NewHostOutcome = NewHostResult | { skipped: string };

/** Starts a Tollgate that maps every bench hostname to the HTTPS upstream, and times them. */
export async function measureNewHostSection(
  context: BenchContext,
  count: number,
): Promise<NewHostOutcome> {
  const hosts = newHostNames(count);
  const upstream = `https://127.0.0.1:${context.upstream.https}`;
  const map = [SEEN_HOST, ...hosts].map((host) => `${host}=${upstream}`);

  const proxy = await startProxy('tollgate', context, { map });
  if ('skipped' in proxy) return proxy;

  try {
    return await measureNewHosts(proxy.port, proxy.caPath, hosts);
  } catch (error) {
    return { skipped: `failed: ${(error as Error).message}` };
  } finally {
    await proxy.stop();
  }
}

/**
 * Tollgate as a bench target, in its own process, started through `startTollgate` exactly as
 * `tollgate serve` starts it (quiet logger, default options unless told otherwise).
 *
 * Usage: node --import tsx bench/run-tollgate.ts --data-dir DIR [--policy FILE] [--no-traffic]
 *          [--map host=url ...]
 * Prints `{"ready":{"port":P,"caPath":FILE,"controlPort":C}}` when serving, or
 * `{"unavailable":"why"}` when an option needs a module that has not landed yet.
 */

import net from 'node:net';
import { parseArgs } from 'node:util';
import { startTollgate } from '../proxy-core/app.ts';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    policy: { type: 'string' },
    'no-traffic': { type: 'boolean', default: false },
    map: { type: 'string', multiple: true, default: [] },
  },
});
if (!values['data-dir']) throw new Error('run-tollgate: --data-dir is required');

function unavailable(why: string): never {
  process.stdout.write(JSON.stringify({ unavailable: why }) + '\n');
  process.exit(0);
}

// Until the policy engine and the request log are wired into startTollgate, runs that need
// them are reported as not measurable rather than measured without them.
if (values.policy) unavailable('the policy engine is not wired into startTollgate yet');
if (values['no-traffic']) unavailable('the request log and metrics are not wired in yet');

const hostMap = Object.fromEntries(
  values.map!.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

const tollgate = await startTollgate({
  dataDir: values['data-dir'],
  proxyPort: 0,
  controlPort: await freePort(),
  hostMap,
});

const shutdown = () => void tollgate.close().finally(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

const ready = { port: tollgate.proxy.port, caPath: tollgate.ca.certPath };
process.stdout.write(JSON.stringify({ ready }) + '\n');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

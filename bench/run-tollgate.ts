/**
 * Tollgate as a bench target, in its own process, started through `startTollgate` exactly as
 * `tollgate serve` starts it: store, policy engine, request log, metrics and control API, with
 * a quiet logger. --no-traffic starts the bare proxy instead (no governance, no log), for the
 * on-vs-off rows.
 *
 * Usage: node --import tsx bench/run-tollgate.ts --data-dir DIR [--policy FILE] [--no-traffic]
 *          [--map host=url ...]
 * Prints `{"ready":{"port":P,"caPath":FILE}}` when serving.
 */

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
const dataDir = values['data-dir'];
if (!dataDir) throw new Error('run-tollgate: --data-dir is required');
if (values.policy && values['no-traffic']) {
  throw new Error('run-tollgate: --policy needs governance on; drop --no-traffic');
}

const hostMap = Object.fromEntries(
  values.map!.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

const tollgate = await startTollgate({
  dataDir,
  proxyPort: 0,
  controlPort: 0,
  hostMap,
  ...(values.policy ? { policyFile: values.policy } : {}),
  // Empty hooks make startTollgate a bare proxy: no store, engine, log or control API.
  ...(values['no-traffic'] ? { hooks: {} } : {}),
});

const shutdown = () => void tollgate.close().finally(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

const ready = { port: tollgate.proxy.port, caPath: tollgate.ca.certPath };
process.stdout.write(JSON.stringify({ ready }) + '\n');

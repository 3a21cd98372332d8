/**
 * Tollgate as a bench target, in its own process, started through `startTollgate` as
 * `tollgate serve` starts it (quiet logger), plus what a running Tollgate has on top of the
 * proxy: the request log, metrics and control API (unless --no-traffic), and the policy engine
 * when --policy is given.
 *
 * Usage: node --import tsx bench/run-tollgate.ts --data-dir DIR [--policy FILE] [--no-traffic]
 *          [--map host=url ...]
 * Prints `{"ready":{"port":P,"caPath":FILE}}` when serving, or `{"unavailable":"why"}`.
 */

import net from 'node:net';
import { parseArgs } from 'node:util';
import { startTollgate } from '../proxy-core/app.ts';
import { startControlApi, type ControlApi } from '../proxy-core/control/server.ts';
import { PolicyEngine } from '../proxy-core/policies/engine.ts';
import { loadPolicyFile } from '../proxy-core/policies/load.ts';
import { combineHooks, type ExchangeHooks } from '../proxy-core/server/exchange.ts';

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

// startTollgate does not wire the engine and the traffic modules yet, so this wires them the
// way serve will: the engine decides, the request log (feeding metrics and alerts) listens.
// When app.ts does it itself, this should defer to it so the bench measures what users run.
let engine: PolicyEngine | undefined;
if (values.policy) {
  const parsed = await loadPolicyFile(values.policy);
  if (!parsed.ok) throw new Error(`run-tollgate: ${JSON.stringify(parsed.errors)}`);
  engine = new PolicyEngine({ policy: parsed.policy });
}

let control: ControlApi | undefined;
if (!values['no-traffic']) {
  control = await startControlApi({
    port: await freePort(),
    dataDir,
    ...(engine ? { engine } : {}),
  });
}

const hookSets: ExchangeHooks[] = [];
if (engine) hookSets.push(engine);
if (control) hookSets.push(control.requestLog);

const hostMap = Object.fromEntries(
  values.map!.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

const tollgate = await startTollgate({
  dataDir,
  proxyPort: 0,
  controlPort: control?.port ?? (await freePort()),
  hostMap,
  ...(hookSets.length > 0 ? { hooks: combineHooks(...hookSets) } : {}),
});

const shutdown = () =>
  void Promise.allSettled([tollgate.close(), control?.close(), engine?.close()]).finally(() =>
    process.exit(0),
  );
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

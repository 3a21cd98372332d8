/**
 * Tollgate as a bench target, in its own process.
 *
 * Usage: node --import tsx bench/run-tollgate.ts --data-dir DIR [--policy FILE] [--no-traffic]
 *          [--map host=url ...]
 * Prints `{"ready":{"port":P,"caPath":FILE,"controlPort":C?}}` when serving, or
 * `{"unavailable":"why"}` when the module it needs has not landed yet.
 */

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    policy: { type: 'string' },
    'no-traffic': { type: 'boolean', default: false },
    map: { type: 'string', multiple: true, default: [] },
  },
});

const app = new URL('../proxy-core/app.ts', import.meta.url);
if (!existsSync(app)) {
  process.stdout.write(
    JSON.stringify({ unavailable: 'proxy-core/app.ts (startTollgate) has not landed yet' }) + '\n',
  );
  process.exit(0);
}

process.stdout.write(
  JSON.stringify({ unavailable: `not wired yet: ${JSON.stringify(values)}` }) + '\n',
);

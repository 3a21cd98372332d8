import type { StatusResponse } from '../../contract/control-api.ts';
import { defineRoute } from '../route.ts';

export const statusRoutes = [
  defineRoute('GET /api/status', {
    summary: 'Ports, uptime, version, store health, CA fingerprint',
    handle(_input, ctx): StatusResponse {
      const runtime = ctx.runtime();
      const state = ctx.policy.current();
      return {
        name: 'tollgate',
        version: ctx.version,
        pid: process.pid,
        startedAt: ctx.startedAt.toISOString(),
        uptimeSeconds: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
        ports: {
          control: ctx.port,
          proxy: runtime.proxyPort ?? null,
          reverse: runtime.reversePort ?? null,
        },
        dataDir: ctx.dataDir,
        store: ctx.store ? ctx.store.health : null,
        ca: ctx.ca ? { fingerprint256: ctx.ca.fingerprint256, certPath: ctx.ca.certPath } : null,
        policy: { loaded: state.policy !== null, revision: state.revision },
        log: { size: ctx.requestLog.size, capacity: ctx.requestLog.capacity },
      };
    },
  }),

  defineRoute('GET /api/openapi.json', {
    summary: 'This OpenAPI 3.1 description',
    handle: (_input, ctx) => ctx.openapi(),
  }),
];

import { z } from 'zod';
import { EXPORT_FORMATS, exportPolicy, type ExportFormat } from '../../exports/index.ts';
import type { ClockState, ExportQuery } from '../../contract/control-api.ts';
import type { ControlContext } from '../context.ts';
import { ControlError, need, notFound } from '../control-error.ts';
import { defineRoute } from '../route.ts';

const exportQuerySchema: z.ZodType<ExportQuery> = z.strictObject({
  includeKeys: z.enum(['true', 'false']).optional(),
  kongEdition: z.enum(['oss', 'enterprise']).optional(),
});

/** Ten years: further than any quota period, short of overflowing date arithmetic. */
const MAX_ADVANCE_MS = 10 * 365 * 24 * 3600 * 1000;

function clockState(ctx: ControlContext): ClockState {
  const offsetMs = need(ctx.engine, 'the policy engine').clock.offsetMs;
  const now = Date.now() + offsetMs;
  return { offsetMs, now, nowIso: new Date(now).toISOString() };
}

export const runtimeRoutes = [
  defineRoute('GET /api/clock', {
    summary: 'The virtual clock the limits count with',
    handle: (_input, ctx) => clockState(ctx),
  }),

  defineRoute('POST /api/clock/advance', {
    summary: 'Move the virtual clock forward (test window resets and quotas)',
    body: z.strictObject({ ms: z.number().int().positive().max(MAX_ADVANCE_MS) }),
    handle({ body }, ctx) {
      need(ctx.engine, 'the policy engine').clock.advance(body.ms);
      return clockState(ctx);
    },
  }),

  defineRoute('POST /api/clock/reset', {
    summary: 'Back to real time',
    handle(_input, ctx) {
      need(ctx.engine, 'the policy engine').clock.reset();
      return clockState(ctx);
    },
  }),

  defineRoute('GET /api/ca', {
    summary: 'The local CA certificate (PEM) and its SHA-256 fingerprint',
    handle(_input, ctx) {
      const ca = need(ctx.ca, 'the certificate authority');
      return { fingerprint256: ca.fingerprint256, certPath: ca.certPath, pem: ca.certPem };
    },
  }),

  defineRoute('GET /api/exports', {
    summary: 'Formats the policy can be exported to',
    handle: () => ({ formats: [...EXPORT_FORMATS] }),
  }),

  defineRoute('GET /api/exports/:format', {
    summary: 'The policy compiled for another gateway, with warnings for what it cannot express',
    query: exportQuerySchema,
    handle({ params, query }, ctx) {
      if (!(EXPORT_FORMATS as readonly string[]).includes(params.format)) {
        throw notFound(`no export format '${params.format}' (try ${EXPORT_FORMATS.join(', ')})`);
      }
      const policy = ctx.policy.parsed();
      if (!policy) {
        throw new ControlError({
          code: 'NO_POLICY',
          status: 409,
          title: 'No policy to export',
          detail: 'load or PUT a policy first',
        });
      }
      return exportPolicy(policy, params.format as ExportFormat, {
        includeKeys: query.includeKeys === 'true',
        ...(query.kongEdition ? { kongEdition: query.kongEdition } : {}),
      });
    },
  }),
];

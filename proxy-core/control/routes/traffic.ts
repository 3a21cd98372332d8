import { z } from 'zod';
import type { LogQuery } from '../../contract/control-api.ts';
import { toHar } from '../../traffic/har.ts';
import { MAX_QUERY_LIMIT } from '../../traffic/log-filter.ts';
import { need, notFound } from '../control-error.ts';
import { defineRoute } from '../route.ts';

/** Filters as they arrive in a query string; the live stream takes the same. */
export const logQuerySchema: z.ZodType<LogQuery> = z.strictObject({
  status: z
    .string()
    .regex(/^([1-5]xx|[1-5]\d\d|0)$/i, 'expected a status such as 429 or a class such as 4xx')
    .optional(),
  consumer: z.string().optional(),
  tier: z.string().optional(),
  route: z.string().optional(),
  api: z.string().optional(),
  decision: z.enum(['allowed', 'refused', 'passthrough']).optional(),
  host: z.string().optional(),
  method: z.string().optional(),
  text: z.string().optional(),
  since: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_QUERY_LIMIT).optional(),
});

const positive = z.number().positive();

/** Where `PUT /api/alerts/thresholds` keeps its values in `StoreData.settings`. */
export const ALERT_SETTINGS_KEY = 'alertThresholds';

export const alertThresholdsSchema = z.strictObject({
  windowMs: z.number().int().min(1000).optional(),
  maxAddressesPerConsumer: positive.optional(),
  maxAgentsPerConsumer: positive.optional(),
  authFailureBurst: positive.optional(),
  rateSpikeFactor: z.number().min(1).optional(),
  rateSpikeMinimum: positive.optional(),
  quotaRemainingShare: z.number().min(0).max(1).optional(),
});

export const trafficRoutes = [
  defineRoute('GET /api/log', {
    summary: 'Query the request log (newest first)',
    query: logQuerySchema,
    handle: ({ query }, ctx) => ctx.requestLog.query(query),
  }),

  defineRoute('GET /api/log/har', {
    summary: 'The log, or the part matching the filters, as HAR 1.2',
    query: logQuerySchema,
    handle({ query }, ctx) {
      const limit = query.limit ?? MAX_QUERY_LIMIT;
      const { entries } = ctx.requestLog.query({ ...query, limit });
      return toHar(entries, ctx.version) as unknown as Record<string, unknown>;
    },
  }),

  defineRoute('GET /api/log/:id', {
    summary: 'One log entry',
    handle({ params }, ctx) {
      const entry = ctx.requestLog.get(params.id);
      if (!entry) throw notFound(`no log entry '${params.id}' (the log keeps the newest ones)`);
      return entry;
    },
  }),

  defineRoute('DELETE /api/log', {
    summary: 'Empty the request log',
    handle: (_input, ctx) => ({ cleared: ctx.requestLog.clear() }),
  }),

  defineRoute('GET /api/metrics', {
    summary: 'Counts, status classes and latency per consumer, tier, route; 15-minute series',
    handle(_input, ctx) {
      ctx.requestLog.flush();
      return need(ctx.metrics, 'metrics').snapshot();
    },
  }),

  defineRoute('GET /api/alerts', {
    summary: 'Abuse alerts with the requests that raised them',
    handle(_input, ctx) {
      const alerts = need(ctx.alerts, 'alerts');
      ctx.requestLog.flush();
      return { alerts: alerts.list(), thresholds: alerts.thresholds };
    },
  }),

  defineRoute('PUT /api/alerts/thresholds', {
    summary: 'Change alert thresholds',
    body: alertThresholdsSchema,
    handle({ body }, ctx) {
      const thresholds = need(ctx.alerts, 'alerts').setThresholds(body);
      // Kept in the store's settings, so they survive a restart.
      ctx.store?.update((data) => {
        data.settings[ALERT_SETTINGS_KEY] = thresholds;
      });
      return thresholds;
    },
  }),
];

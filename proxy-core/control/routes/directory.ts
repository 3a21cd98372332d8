import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { StoredKey } from '../../store/types.ts';
import type { Policy } from '../../policies/schema.ts';
import type { CreatedKey, KeySummary } from '../../contract/control-api.ts';
import type { ControlContext } from '../context.ts';
import { ControlError, need, notFound } from '../control-error.ts';
import { defineRoute } from '../route.ts';

const name = z.string().min(1).max(200);

function policyOrEmpty(ctx: ControlContext): Policy | null {
  return ctx.policy.parsed();
}

/** The current document as an object, to change one part and put back through validation. */
function currentDocument(ctx: ControlContext): Record<string, unknown> {
  const document = ctx.policy.current().policy;
  if (typeof document !== 'object' || document === null) {
    throw new ControlError({
      code: 'NO_POLICY',
      status: 409,
      title: 'No policy loaded',
      detail: 'load or PUT a policy before changing consumers',
    });
  }
  return structuredClone(document) as Record<string, unknown>;
}

function consumerList(document: Record<string, unknown>): Record<string, unknown>[] {
  if (!Array.isArray(document.consumers)) document.consumers = [];
  return document.consumers as Record<string, unknown>[];
}

function summariseKey({ id, consumer, prefix, createdAt, revokedAt }: StoredKey): KeySummary {
  return revokedAt
    ? { id, consumer, prefix, createdAt, revokedAt }
    : { id, consumer, prefix, createdAt };
}

export const directoryRoutes = [
  defineRoute('GET /api/apis', {
    summary: 'APIs and their routes from the policy',
    handle: (_input, ctx) => ({
      apis: (policyOrEmpty(ctx)?.apis ?? []).map((api) => ({
        name: api.name,
        hosts: api.hosts,
        ...(api.upstream ? { upstream: api.upstream } : {}),
        auth: api.auth.map((a) => a.type),
        routes: api.routes.map((r) => ({
          name: r.name,
          methods: r.methods,
          path: r.path,
          cost: r.cost,
        })),
      })),
    }),
  }),

  defineRoute('GET /api/tiers', {
    summary: 'Tiers with their routes and limits',
    handle: (_input, ctx) => ({
      tiers: (policyOrEmpty(ctx)?.tiers ?? []).map((tier) => ({
        name: tier.name,
        routes: tier.routes,
        limits: tier.limits.map((l) => ({
          ...(l.name ? { name: l.name } : {}),
          requests: l.requests,
          per: l.per,
          algorithm: l.algorithm,
          scope: l.scope,
        })),
      })),
    }),
  }),

  defineRoute('GET /api/consumers', {
    summary: 'Consumers with their tier and how many keys they have',
    handle(_input, ctx) {
      const stored = ctx.store?.data.keys ?? [];
      return {
        consumers: (policyOrEmpty(ctx)?.consumers ?? []).map((c) => ({
          name: c.name,
          tier: c.tier,
          policyKeys: c.keys.length,
          storedKeys: stored.filter((k) => k.consumer === c.name && !k.revokedAt).length,
        })),
      };
    },
  }),

  defineRoute('POST /api/consumers', {
    summary: 'Add a consumer to the policy (a new policy revision)',
    status: 201,
    body: z.strictObject({ name, tier: name }),
    handle({ body }, ctx) {
      const document = currentDocument(ctx);
      const consumers = consumerList(document);
      if (consumers.some((c) => c.name === body.name)) {
        throw new ControlError({
          code: 'CONSUMER_EXISTS',
          status: 409,
          title: 'Consumer exists',
          detail: `a consumer named '${body.name}' is already in the policy`,
        });
      }
      consumers.push({ name: body.name, tier: body.tier });
      return ctx.policy.replace({ policy: document }, 'api', `added consumer ${body.name}`);
    },
  }),

  defineRoute('PUT /api/consumers/:name/tier', {
    summary: "Switch a consumer's tier (a new policy revision)",
    body: z.strictObject({ tier: name }),
    handle({ params, body }, ctx) {
      const document = currentDocument(ctx);
      const consumer = consumerList(document).find((c) => c.name === params.name);
      if (!consumer) throw notFound(`no consumer '${params.name}' in the policy`);
      const from = String(consumer.tier);
      consumer.tier = body.tier;
      const summary = `consumer ${params.name}: tier ${from} → ${body.tier}`;
      return ctx.policy.replace({ policy: document }, 'api', summary);
    },
  }),

  defineRoute('POST /api/consumers/:name/reset-usage', {
    summary: "Reset a consumer's counters (rate limits and quotas)",
    handle({ params }, ctx) {
      need(ctx.engine, 'the policy engine').resetUsage(params.name);
      return { reset: params.name };
    },
  }),

  defineRoute('GET /api/keys', {
    summary: 'Keys made through the API (never the keys themselves)',
    handle: (_input, ctx) => ({
      keys: need(ctx.store, 'the store').data.keys.map(summariseKey),
    }),
  }),

  defineRoute('POST /api/keys', {
    summary: 'Make a key for a consumer: shown once, stored as its SHA-256',
    status: 201,
    body: z.strictObject({ consumer: name }),
    handle({ body }, ctx): CreatedKey {
      const store = need(ctx.store, 'the store');
      const policy = ctx.policy.parsed();
      if (policy && !policy.consumers.some((c) => c.name === body.consumer)) {
        throw notFound(`no consumer '${body.consumer}' in the policy`);
      }

      const key = `tg_${randomBytes(24).toString('base64url')}`;
      const stored: StoredKey = {
        id: `key_${randomBytes(6).toString('hex')}`,
        consumer: body.consumer,
        sha256: createHash('sha256').update(key).digest('hex'),
        prefix: key.slice(0, 8),
        createdAt: new Date().toISOString(),
      };
      store.update((data) => void data.keys.push(stored));
      return { ...summariseKey(stored), key };
    },
  }),

  defineRoute('DELETE /api/keys/:id', {
    summary: 'Revoke a key (it stays listed, marked revoked)',
    handle({ params }, ctx) {
      const store = need(ctx.store, 'the store');
      const key = store.data.keys.find((k) => k.id === params.id);
      if (!key) throw notFound(`no key '${params.id}'`);
      if (!key.revokedAt) {
        store.update(() => {
          key.revokedAt = new Date().toISOString();
        });
      }
      return summariseKey(key);
    },
  }),

  defineRoute('GET /api/usage', {
    summary: 'Usage of every limit per consumer, with reset times',
    handle: (_input, ctx) => ({
      usage: need(ctx.engine, 'the policy engine').usage(),
    }),
  }),

  defineRoute('POST /api/usage/reset', {
    summary: "Reset every consumer's counters",
    handle(_input, ctx) {
      need(ctx.engine, 'the policy engine').resetUsage();
      return { reset: '*' };
    },
  }),
];

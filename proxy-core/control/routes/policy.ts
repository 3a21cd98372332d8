import { z } from 'zod';
import type { PolicyValidation } from '../../contract/control-api.ts';
import { invalid } from '../control-error.ts';
import { defineRoute } from '../route.ts';

export const POLICY_SOURCES = ['file', 'api', 'cli', 'ui', 'restore', 'start'] as const;

const policyBody = z.strictObject({
  policy: z.unknown().optional(),
  text: z.string().optional(),
});

const replaceBody = policyBody.extend({ source: z.enum(POLICY_SOURCES).optional() });

const revisionId = (id: string): number => {
  const n = Number(id);
  if (!Number.isInteger(n) || n < 1) {
    throw invalid('revision ids are whole numbers from 1', [{ path: 'id', message: id }]);
  }
  return n;
};

export const policyRoutes = [
  defineRoute('GET /api/policy', {
    summary: 'The policy document in force and its revision',
    handle: (_input, ctx) => ctx.policy.current(),
  }),

  defineRoute('PUT /api/policy', {
    summary: 'Replace the policy; invalid documents get 400 and change nothing',
    body: replaceBody,
    handle: ({ body }, ctx) => ctx.policy.replace(body, body.source ?? 'api'),
  }),

  defineRoute('PATCH /api/policy', {
    summary: 'Change the policy with a JSON Merge Patch (RFC 7396)',
    body: z.record(z.string(), z.unknown()),
    handle: ({ body }, ctx) => ctx.policy.patch(body, 'api'),
  }),

  defineRoute('POST /api/policy/validate', {
    summary: 'Check a policy document without applying it',
    body: policyBody,
    handle({ body }, ctx): PolicyValidation {
      const checked = ctx.policy.check(body);
      return checked.ok ? { ok: true } : { ok: false, errors: checked.errors };
    },
  }),

  defineRoute('GET /api/policy/history', {
    summary: 'Every policy change, newest first',
    handle: (_input, ctx) => ({ revisions: ctx.policy.history() }),
  }),

  defineRoute('GET /api/policy/history/:id', {
    summary: 'One revision with its whole document',
    handle: ({ params }, ctx) => ctx.policy.revision(revisionId(params.id)),
  }),

  defineRoute('POST /api/policy/history/:id/restore', {
    summary: 'Put an earlier revision back in force (recorded as a new revision)',
    handle: ({ params }, ctx) => ctx.policy.restore(revisionId(params.id)),
  }),
];

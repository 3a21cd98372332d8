/** The OpenAPI 3.1 description of the control API, built from the route table itself. */

import { z } from 'zod';
import { STREAM_PATH } from '../contract/control-api.ts';
import type { ControlRoute } from './route.ts';

type Json = Record<string, unknown>;

const PROBLEM_SCHEMA: Json = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

export function buildOpenApi(routes: readonly ControlRoute[], version: string): Json {
  const paths: Record<string, Json> = {};

  for (const route of routes) {
    const path =
      '/' + route.segments.map((s) => (s.startsWith(':') ? `{${s.slice(1)}}` : s)).join('/');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }

  paths[STREAM_PATH] = {
    get: {
      operationId: 'stream',
      summary:
        'Server-Sent Events: `entry` (new log entries), `metrics` (each second), `alert`, ' +
        '`cleared`. EventSource may pass the token as ?token=; filters as for /api/log.',
      parameters: [{ name: 'token', in: 'query', required: false, schema: { type: 'string' } }],
      responses: {
        '200': { description: 'An event stream', content: { 'text/event-stream': {} } },
        default: problemResponse(),
      },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Tollgate control API',
      version,
      description:
        'Local control of a running Tollgate. Every route needs the per-launch bearer token ' +
        'from <data-dir>/control-token; Host must be 127.0.0.1, localhost or [::1] with the port.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Problem: PROBLEM_SCHEMA },
    },
    paths,
  };
}

function operation(route: ControlRoute): Json {
  const parameters: Json[] = route.segments
    .filter((s) => s.startsWith(':'))
    .map((s) => ({ name: s.slice(1), in: 'path', required: true, schema: { type: 'string' } }));

  if (route.query) {
    const schema = jsonSchema(route.query);
    const properties = (schema.properties ?? {}) as Record<string, Json>;
    for (const [name, property] of Object.entries(properties)) {
      parameters.push({ name, in: 'query', required: false, schema: property });
    }
  }

  const op: Json = {
    operationId: route.key.replace(/[^A-Za-z0-9]+/g, '_').replace(/_$/, ''),
    summary: route.summary,
    responses: {
      [String(route.status ?? 200)]: {
        description: 'Success',
        content: { 'application/json': { schema: {} } },
      },
      default: problemResponse(),
    },
  };
  if (parameters.length > 0) op.parameters = parameters;
  if (route.body) {
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: jsonSchema(route.body) } },
    };
  }
  return op;
}

function jsonSchema(schema: z.ZodType): Json {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  delete json.$schema;
  return json;
}

function problemResponse(): Json {
  return {
    description: 'A problem (RFC 9457)',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

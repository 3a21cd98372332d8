/**
 * One control request from arrival to answer: guard, CORS, stream or route, validation,
 * handler, JSON or problem. Upgrades are refused here too (the stream is SSE).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { problemBody, type ProblemDetails } from '../util/problem.ts';
import { STREAM_PATH } from '../contract/control-api.ts';
import type { ControlContext } from './context.ts';
import type { ControlGuard } from './guard.ts';
import type { EventStreamHub } from './event-stream.ts';
import {
  problemOf,
  queryObject,
  readJsonBody,
  sendJson,
  sendProblem,
  validate,
} from './http-io.ts';
import { matchRoute, type ControlRoute } from './route.ts';
import { CONTROL_ROUTES } from './routes/index.ts';
import { logQuerySchema } from './routes/traffic.ts';

export interface Services {
  guard: ControlGuard;
  hub: EventStreamHub;
  context: ControlContext;
}

export async function handle(req: IncomingMessage, res: ServerResponse, services: Services) {
  const { guard, hub, context } = services;

  const refused = guard.checkCaller(req);
  if (refused) return sendProblem(res, refused);

  const cors = guard.corsHeaders(req);
  if (req.method === 'OPTIONS') {
    res.writeHead(204, guard.preflightHeaders(req));
    return res.end();
  }

  const url = new URL(req.url ?? '/', 'http://control.invalid');
  const isStream = url.pathname === STREAM_PATH && req.method === 'GET';
  const unauthorised = guard.checkToken(req, url, isStream);
  if (unauthorised) return sendProblem(res, unauthorised, cors);

  if (isStream) {
    const query = validate(logQuerySchema, queryObject(url.searchParams), 'query');
    return hub.open(req, res, query, cors);
  }

  const match = matchRoute(CONTROL_ROUTES, req.method ?? 'GET', url.pathname);
  if (!match.route) {
    const problem: ProblemDetails =
      match.allowed.length > 0
        ? {
            code: 'METHOD_NOT_ALLOWED',
            status: 405,
            title: 'Method not allowed',
            allowed: match.allowed,
          }
        : { code: 'NOT_FOUND', status: 404, title: 'No such route', detail: url.pathname };
    return sendProblem(res, problem, cors);
  }

  try {
    const answer = await run(match.route, match.params, req, url, context);
    sendJson(res, match.route.status ?? 200, answer, cors);
  } catch (error) {
    const problem = problemOf(error);
    if (problem.status >= 500 && problem.code === 'INTERNAL_ERROR') {
      context.log.error('control route failed', { route: match.route.key, error });
    }
    sendProblem(res, problem, cors);
  }
}

async function run(
  route: ControlRoute,
  params: Record<string, string>,
  req: IncomingMessage,
  url: URL,
  context: ControlContext,
): Promise<unknown> {
  const rawBody = await readJsonBody(req);
  const body = route.body ? validate(route.body, rawBody ?? {}, 'body') : undefined;
  const query = route.query
    ? validate(route.query, queryObject(url.searchParams), 'query')
    : undefined;
  return route.handle({ params, query, body } as never, context);
}

/** We speak SSE, not WebSocket: refuse every upgrade, foreign ones as 403 before any 101. */
export function refuseUpgrade(req: IncomingMessage, socket: Duplex, guard: ControlGuard): void {
  const problem: ProblemDetails = guard.checkCaller(req) ?? {
    code: 'UPGRADE_NOT_SUPPORTED',
    status: 426,
    title: 'No WebSocket here',
    detail: `subscribe with Server-Sent Events at ${STREAM_PATH}`,
  };
  const body = problemBody(problem);
  const reason = problem.status === 403 ? 'Forbidden' : 'Upgrade Required';
  socket.end(
    `HTTP/1.1 ${problem.status} ${reason}\r\n` +
      'content-type: application/problem+json\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}

/** Reading bodies and writing answers for the control API: JSON in, JSON or problem+json out. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { problemResponse, type ProblemDetails } from '../util/problem.ts';
import { ControlError, invalid } from './control-error.ts';

/** Policy documents are the largest bodies; the policy loader caps them at 4 MiB too. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new ControlError({
        code: 'BODY_TOO_LARGE',
        status: 413,
        title: 'Body too large',
        detail: `bodies are limited to ${MAX_BODY_BYTES} bytes`,
      });
    }
    chunks.push(chunk);
  }

  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;

  const type = req.headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
    throw new ControlError({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      status: 415,
      title: 'Expected JSON',
      detail: `send 'content-type: application/json' (got '${type || 'none'}')`,
    });
  }

  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid('the body is not valid JSON', [
      { path: '(body)', message: (error as Error).message },
    ]);
  }
}

/** `schema.parse` with zod's issues turned into a 400 that says what and where. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;

  throw invalid(
    `the request ${where} is not valid`,
    result.error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}

/** A query string as a plain object; a repeated name keeps its last value. */
export function queryObject(params: URLSearchParams): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name !== 'token') result[name] = value;
  }
  return result;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value ?? null);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

export function sendProblem(
  res: ServerResponse,
  problem: ProblemDetails,
  headers: Record<string, string> = {},
): void {
  const answer = problemResponse(problem);
  const extra: Record<string, string> = { ...headers };
  if (problem.status === 401) extra['www-authenticate'] = 'Bearer realm="tollgate-control"';
  res.writeHead(answer.status, { ...extra, ...answer.headers });
  res.end(answer.body);
}

/** Any thrown value as a problem; only `ControlError`s say more than "internal error". */
export function problemOf(error: unknown): ProblemDetails {
  if (error instanceof ControlError) return error.problem;
  return {
    code: 'INTERNAL_ERROR',
    status: 500,
    title: 'Internal error',
    detail: 'the control API failed; the log has details',
  };
}

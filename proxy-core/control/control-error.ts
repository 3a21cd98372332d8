import type { ProblemDetails } from '../util/problem.ts';

/**
 * An expected failure of a control route, answered as problem+json with its status. Anything
 * else a handler throws is a bug and is answered as a plain 500 without details.
 */
export class ControlError extends Error {
  readonly problem: ProblemDetails;

  constructor(problem: ProblemDetails) {
    super(problem.detail ?? problem.title);
    this.problem = problem;
  }
}

export function notFound(what: string): ControlError {
  return new ControlError({ code: 'NOT_FOUND', status: 404, title: 'Not found', detail: what });
}

/** A collaborator the lead has not wired in (yet): the route exists but cannot answer. */
export function unavailable(what: string): ControlError {
  return new ControlError({
    code: 'UNAVAILABLE',
    status: 503,
    title: 'Not available in this instance',
    detail: `${what} is not running in this instance`,
  });
}

export function invalid(detail: string, errors: { path: string; message: string }[]) {
  return new ControlError({
    code: 'VALIDATION_FAILED',
    status: 400,
    title: 'Invalid request',
    detail,
    errors,
  });
}

/** Returns `value`, or answers 503 naming what is missing. */
export function need<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw unavailable(what);
  return value;
}

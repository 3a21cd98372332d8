/**
 * RFC 9457 problem details: the one shape every error answer of Tollgate takes, from the proxy,
 * the policy engine and the control API alike. Bodies never carry stack traces or file paths.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  /** A stable, machine-readable code such as `UPSTREAM_TIMEOUT` or `RATE_LIMITED`. */
  code: string;
  status: number;
  title: string;
  detail?: string;
  /** Extension members (consumer, tier, limit, errors…); must be JSON-serialisable. */
  [extension: string]: unknown;
}

export function problemBody(problem: ProblemDetails): string {
  const { code, status, title, detail, ...extensions } = problem;
  return JSON.stringify({
    type: `https://tollgate.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title,
    status,
    ...(detail === undefined ? {} : { detail }),
    code,
    ...extensions,
  });
}

/** Headers and body for a problem answer, ready for `res.writeHead(status, headers)`. */
export function problemResponse(problem: ProblemDetails): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const body = problemBody(problem);
  return {
    status: problem.status,
    headers: {
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
    },
    body,
  };
}

/**
 * A typed client of the control API on `fetch`, for Node (the CLI, scripts, tests) and the
 * browser (the renderer). It imports nothing from Node, only the contract's types.
 */

import type {
  ControlRoutes,
  ExportQuery,
  LogQuery,
  PolicySource,
  RouteKey,
  StreamEvent,
} from '../contract/control-api.ts';

export interface ControlClientOptions {
  /** `http://127.0.0.1:8878` */
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
}

export interface RequestInput<K extends RouteKey> {
  params?: ControlRoutes[K]['params'];
  query?: ControlRoutes[K]['query'];
  body?: ControlRoutes[K]['body'];
}

type Answer<K extends RouteKey> = Promise<ControlRoutes[K]['response']>;

/** A non-2xx answer; `problem` is the problem+json body (code, detail, errors…). */
export class ControlApiError extends Error {
  readonly status: number;
  readonly problem: { code?: string; title?: string; detail?: string; [key: string]: unknown };

  constructor(status: number, problem: ControlApiError['problem']) {
    super(`${status} ${problem.title ?? 'error'}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.status = status;
    this.problem = problem;
  }
}

export function createControlClient(options: ControlClientOptions) {
  const base = options.baseUrl.replace(/\/$/, '');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const auth = { authorization: `Bearer ${options.token}` };

  async function request<K extends RouteKey>(key: K, input: RequestInput<K> = {}): Answer<K> {
    const [method, template] = key.split(' ') as [string, string];
    const params = (input.params ?? {}) as Record<string, string>;
    const path = template.replace(/:(\w+)/g, (_m, name: string) =>
      encodeURIComponent(params[name] ?? ''),
    );

    const headers: Record<string, string> = { ...auth, accept: 'application/json' };
    if (input.body !== undefined) headers['content-type'] = 'application/json';
    const res = await doFetch(`${base}${path}${queryString(input.query)}`, {
      method,
      headers,
      body: input.body === undefined ? undefined : JSON.stringify(input.body),
    });

    const text = await res.text();
    const value: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new ControlApiError(res.status, (value ?? {}) as ControlApiError['problem']);
    return value as ControlRoutes[K]['response'];
  }

  /**
   * Follows the event stream until `signal` aborts or the server goes away; resolves then.
   * `query` filters entries as for the log; `since` replays entries after that seq first.
   */
  async function stream(
    onEvent: (event: StreamEvent) => void,
    query: LogQuery = {},
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await doFetch(`${base}/api/stream${queryString(query)}`, {
      headers: { ...auth, accept: 'text/event-stream' },
      signal,
    });
    if (!res.ok || !res.body) {
      const problem = (await res.json().catch(() => ({}))) as ControlApiError['problem'];
      throw new ControlApiError(res.status, problem);
    }

    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event) onEvent(event);
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
  }

  return {
    request,
    stream,
    status: () => request('GET /api/status'),
    openapi: () => request('GET /api/openapi.json'),
    policy: {
      get: () => request('GET /api/policy'),
      replace: (body: { policy?: unknown; text?: string; source?: PolicySource }) =>
        request('PUT /api/policy', { body }),
      patch: (patch: Record<string, unknown>) => request('PATCH /api/policy', { body: patch }),
      validate: (body: { policy?: unknown; text?: string }) =>
        request('POST /api/policy/validate', { body }),
      history: () => request('GET /api/policy/history'),
      revision: (id: number) =>
        request('GET /api/policy/history/:id', { params: { id: String(id) } }),
      restore: (id: number) =>
        request('POST /api/policy/history/:id/restore', { params: { id: String(id) } }),
    },
    apis: () => request('GET /api/apis'),
    tiers: () => request('GET /api/tiers'),
    consumers: {
      list: () => request('GET /api/consumers'),
      create: (name: string, tier: string) =>
        request('POST /api/consumers', { body: { name, tier } }),
      setTier: (name: string, tier: string) =>
        request('PUT /api/consumers/:name/tier', { params: { name }, body: { tier } }),
      resetUsage: (name: string) =>
        request('POST /api/consumers/:name/reset-usage', { params: { name } }),
    },
    keys: {
      list: () => request('GET /api/keys'),
      create: (consumer: string) => request('POST /api/keys', { body: { consumer } }),
      revoke: (id: string) => request('DELETE /api/keys/:id', { params: { id } }),
    },
    usage: {
      get: () => request('GET /api/usage'),
      reset: () => request('POST /api/usage/reset'),
    },
    log: {
      query: (query: LogQuery = {}) => request('GET /api/log', { query }),
      get: (id: string) => request('GET /api/log/:id', { params: { id } }),
      clear: () => request('DELETE /api/log'),
      har: (query: LogQuery = {}) => request('GET /api/log/har', { query }),
    },
    metrics: () => request('GET /api/metrics'),
    alerts: {
      list: () => request('GET /api/alerts'),
      setThresholds: (body: ControlRoutes['PUT /api/alerts/thresholds']['body']) =>
        request('PUT /api/alerts/thresholds', { body }),
    },
    clock: {
      get: () => request('GET /api/clock'),
      advance: (ms: number) => request('POST /api/clock/advance', { body: { ms } }),
      reset: () => request('POST /api/clock/reset'),
    },
    ca: () => request('GET /api/ca'),
    exports: {
      formats: () => request('GET /api/exports'),
      get: (format: string, query: ExportQuery = {}) =>
        request('GET /api/exports/:format', { params: { format }, query }),
    },
  };
}

export type ControlClient = ReturnType<typeof createControlClient>;

function queryString(query: object | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function parseEvent(frame: string): StreamEvent | null {
  let type = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return null;
  return { type, data: JSON.parse(data.join('\n')) } as StreamEvent;
}

/**
 * How a control route is declared: its contract key, how its input is validated (zod), and a
 * handler typed by the contract, so the server cannot drift from what clients expect.
 */

import type { z } from 'zod';
import type { ControlRoutes, RouteKey } from '../contract/control-api.ts';
import type { ControlContext } from './context.ts';

export interface RouteInput<K extends RouteKey> {
  params: ControlRoutes[K]['params'];
  query: ControlRoutes[K]['query'];
  body: ControlRoutes[K]['body'];
}

export interface ControlRoute<K extends RouteKey = RouteKey> {
  key: K;
  method: string;
  /** Path split on `/`; `:name` segments capture. */
  segments: string[];
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Status of a successful answer. @default 200 */
  status?: number;
  handle(input: RouteInput<K>, context: ControlContext): Promise<ControlRoutes[K]['response']>;
}

export function defineRoute<K extends RouteKey>(
  key: K,
  spec: {
    summary: string;
    body?: z.ZodType<ControlRoutes[K]['body']>;
    query?: z.ZodType<ControlRoutes[K]['query']>;
    status?: number;
    handle(
      input: RouteInput<K>,
      context: ControlContext,
    ): ControlRoutes[K]['response'] | Promise<ControlRoutes[K]['response']>;
  },
): ControlRoute {
  const [method, path] = key.split(' ') as [string, string];
  const route: ControlRoute<K> = {
    key,
    method,
    segments: path.split('/').filter(Boolean),
    summary: spec.summary,
    body: spec.body,
    query: spec.query,
    status: spec.status,
    handle: async (input, context) => spec.handle(input, context),
  };
  return route as unknown as ControlRoute;
}

export type MatchResult =
  { route: ControlRoute; params: Record<string, string> } | { route: null; allowed: string[] };

/** The first route whose path matches; `allowed` lists methods when only the method is wrong. */
export function matchRoute(routes: readonly ControlRoute[], method: string, path: string) {
  const parts = path.split('/').filter(Boolean);
  const allowed: string[] = [];

  for (const route of routes) {
    const params = matchSegments(route.segments, parts);
    if (!params) continue;
    if (route.method === method) return { route, params } as MatchResult;
    allowed.push(route.method);
  }
  return { route: null, allowed } as MatchResult;
}

function matchSegments(segments: string[], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};

  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if (segment.startsWith(':')) {
      try {
        params[segment.slice(1)] = decodeURIComponent(part);
      } catch {
        return null;
      }
    } else if (segment !== part) {
      return null;
    }
  }
  return params;
}

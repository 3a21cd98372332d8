/**
 * Header hygiene at the proxy boundary (RFC 9110 §7.6.1): hop-by-hop headers describe one
 * connection and must not be forwarded, in either direction. That is Connection and every header
 * it names, Keep-Alive, TE, Trailer, Transfer-Encoding (Node frames bodies itself), Upgrade
 * (except on a WebSocket handshake, which re-adds it) and every Proxy-* header, so credentials
 * meant for the proxy never reach the upstream.
 */

import type { HeaderList } from './header-list.ts';

const ALWAYS_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/**
 * A verdict's header edits, names in lower case (policy header names are lowered when a policy
 * is parsed), so each header is checked without building a set of edited names per message.
 * `set` is a `[name, value, …]` list: each of its headers replaces any of that name and is
 * appended as given. A list rather than an object, because the caller writes a list and the
 * per-name object lookups cost more than the few comparisons a list needs.
 */
export interface HeaderEdits {
  remove?: readonly string[] | undefined;
  set?: HeaderList | undefined;
}

/**
 * The same rule on raw headers (`[name, value, …]` as received, names in their own case), plus
 * a verdict's edits: `remove` drops headers, `set` replaces any header of that name. The result
 * goes to `http.request` or `writeHead` as is, which write such a list without building and
 * re-validating a header object per message.
 */
export function endToEndRawHeaders(raw: readonly string[], edits?: HeaderEdits): string[] {
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      connection = connection === undefined ? raw[i + 1]! : `${connection},${raw[i + 1]!}`;
    }
  }
  const named = namedByConnection(connection);
  const remove = edits?.remove;
  const set = edits?.set;

  const result: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (ALWAYS_HOP_BY_HOP.has(name) || name.startsWith('proxy-')) continue;
    if (named !== undefined && named.has(name)) continue;
    if (remove !== undefined && remove.includes(name)) continue;
    if (set !== undefined && setsHeader(set, name)) continue;
    result.push(raw[i]!, raw[i + 1]!);
  }
  if (set !== undefined) {
    for (let i = 0; i < set.length; i++) result.push(set[i]!);
  }
  return result;
}

/** Whether a verdict's `set` list (lower-case names) names `lowerName`. */
export function setsHeader(set: HeaderList | undefined, lowerName: string): boolean {
  if (set === undefined) return false;
  for (let i = 0; i < set.length; i += 2) if (set[i] === lowerName) return true;
  return false;
}

function namedByConnection(value: string | undefined): Set<string> | undefined {
  // The usual values name nothing beyond the always-dropped headers: skip the Set.
  if (!value || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') {
    return undefined;
  }
  const names = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

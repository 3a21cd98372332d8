/**
 * HAR 1.2 export of request-log entries (http://www.softwareishard.com/blog/har-12-spec/).
 *
 * Entries are already masked, so a HAR file carries no more secrets than the log does. Tollgate's
 * own view of each exchange (consumer, tier, decision, limits) rides along in `_tollgate`, the
 * spec's way of adding custom fields.
 */

import type { LoggedHeaders, RequestLogEntry } from '../contract/control-api.ts';

export interface HarNameValue {
  name: string;
  value: string;
}

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: HarNameValue[];
    headers: HarNameValue[];
    queryString: HarNameValue[];
    postData?: { mimeType: string; text: string; params: HarNameValue[] };
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: HarNameValue[];
    headers: HarNameValue[];
    content: { size: number; mimeType: string; text?: string; encoding?: string; comment?: string };
    redirectURL: string;
    headersSize: number;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: {
    blocked: number;
    dns: number;
    connect: number;
    ssl: number;
    send: number;
    wait: number;
    receive: number;
  };
  serverIPAddress?: string;
  _tollgate: Record<string, unknown>;
}

export interface Har {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    entries: HarEntry[];
  };
}

/** A HAR document of `entries`, oldest first whatever order they come in. */
export function toHar(entries: readonly RequestLogEntry[], creatorVersion = '0.0.0'): Har {
  const ordered = [...entries].sort((a, b) => a.seq - b.seq);
  return {
    log: {
      version: '1.2',
      creator: { name: 'Tollgate', version: creatorVersion },
      entries: ordered.map(harEntry),
    },
  };
}

function harEntry(entry: RequestLogEntry): HarEntry {
  const total = round(entry.timings.total);
  const wait = round(Math.min(entry.timings.upstream ?? total, total));
  const requestType = firstHeader(entry.requestHeaders, 'content-type');
  const responseType = firstHeader(entry.responseHeaders, 'content-type');
  const location = firstHeader(entry.responseHeaders, 'location');

  const har: HarEntry = {
    startedDateTime: new Date(entry.startedAt).toISOString(),
    time: total,
    request: {
      method: entry.method,
      url: entry.url,
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: nameValues(entry.requestHeaders),
      queryString: queryPairs(entry.query),
      headersSize: -1,
      bodySize: entry.requestBytes,
    },
    response: {
      status: entry.status,
      statusText: '',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: nameValues(entry.responseHeaders),
      content: { size: entry.responseBody?.size ?? 0, mimeType: responseType || 'x-unknown' },
      redirectURL: location,
      headersSize: -1,
      bodySize: entry.responseBytes,
    },
    cache: {},
    timings: {
      blocked: -1,
      dns: timing(entry.timings.dns),
      connect: timing(entry.timings.connect),
      ssl: timing(entry.timings.tls),
      send: 0,
      wait,
      receive: round(Math.max(total - wait, 0)),
    },
    _tollgate: tollgateFields(entry),
  };

  if (entry.requestBody) {
    har.request.postData = {
      mimeType: requestType || 'application/octet-stream',
      text: entry.requestBody.text,
      params: [],
    };
  }
  if (entry.responseBody) {
    har.response.content.text = entry.responseBody.text;
    if (entry.responseBody.encoding === 'base64') har.response.content.encoding = 'base64';
    if (entry.responseBody.truncated) har.response.content.comment = 'truncated by Tollgate';
  }
  return har;
}

function tollgateFields(entry: RequestLogEntry): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    id: entry.id,
    clientAddress: entry.clientAddress,
    decision: entry.decision,
  };
  for (const key of ['reason', 'limit', 'limits', 'api', 'route', 'consumer', 'tier'] as const) {
    if (entry[key] !== undefined) fields[key] = entry[key];
  }
  if (entry.error) fields.error = entry.error;
  return fields;
}

function nameValues(headers: LoggedHeaders): HarNameValue[] {
  const pairs: HarNameValue[] = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) pairs.push({ name, value: v });
  }
  return pairs;
}

function queryPairs(query: string): HarNameValue[] {
  if (!query) return [];
  return query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0
      ? { name: pair, value: '' }
      : { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

function firstHeader(headers: LoggedHeaders, name: string): string {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

function timing(ms: number | undefined): number {
  return ms === undefined ? -1 : round(ms);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * One request log entry, built in two steps so the proxy's hot path pays only for the first.
 *
 * `recordEntry` runs in the `completed` hook: it masks the request and response headers, the
 * query and the path (finding the exchange's credential values on the way), tags the credential
 * and copies the annotations; metrics and alerts read only these fields. The URL and the
 * captured bodies (decoding, field masking, scrubbing) wait for `finishEntry`, which runs the
 * first time anything reads the entry: a query, the stream, HAR, `GET /api/log/:id`.
 *
 * Guarantees: nothing leaves the process unmasked (every reader goes through `finishEntry`), and
 * the raw credential values are not kept: when a captured body contains one, that body is
 * finished at once. What waits unmasked in memory until read (or overwritten) is a captured
 * body's configured fields (`password`, `token`, …), as the proxy captured them.
 */

import { createHmac, randomBytes } from 'node:crypto';
import type { LoggedBody, RequestLogEntry } from '../contract/control-api.ts';
import type { CapturedBody, ExchangeRecord } from '../server/exchange.ts';
import { SecretSet, type Masker } from './masking.ts';

/**
 * What `finishEntry` still needs: the raw captured bodies and how to mask them. A full log holds
 * 10,000 of these in the old space, so each body waits as a latin1 string (one heap object, the
 * exact bytes) rather than a Buffer and its wrapper: less for the GC to copy and mark.
 */
export interface PendingParts {
  masker: Masker;
  bodyCap: number;
  requestBody: string | undefined;
  requestTruncated: boolean;
  requestType: string;
  responseBody: string | undefined;
  responseTruncated: boolean;
  responseType: string;
}

export function recordEntry(
  record: ExchangeRecord,
  seq: number,
  masker: Masker,
  bodyCap: number,
): { entry: RequestLogEntry; pending: PendingParts | null } {
  const { request, annotations } = record;
  const secrets = new SecretSet();

  // Request side first: that is where credentials are found, to be scrubbed everywhere after.
  const requestHeaders = masker.headers(request.headers, secrets);
  const queryAt = request.path.indexOf('?');
  const query = queryAt < 0 ? '' : masker.query(request.path.slice(queryAt + 1), secrets);
  const path = secrets.scrub(queryAt < 0 ? request.path : request.path.slice(0, queryAt));
  const credential = secrets.credential;
  const responseHeaders = masker.headers(record.responseHeaders, secrets);
  scrubHeaderValues(responseHeaders, secrets);

  const userAgent = requestHeaders['user-agent'];
  const entry: RequestLogEntry = {
    id: request.id,
    seq,
    startedAt: request.startedAt,
    clientAddress: request.clientAddress,
    method: request.method,
    scheme: request.scheme,
    host: request.host,
    port: request.port,
    path,
    query,
    // Filled in by finishEntry; nothing reads an entry before that but metrics and alerts.
    url: '',
    requestHeaders,
    responseHeaders,
    status: record.status,
    requestBytes: record.requestBytes,
    responseBytes: record.responseBytes,
    timings: record.timings,
    decision: annotations?.decision ?? 'passthrough',
  };

  if (typeof userAgent === 'string') entry.userAgent = userAgent;
  if (credential !== undefined) entry.credentialTag = credentialTag(credential);
  if (annotations) {
    if (annotations.reason) entry.reason = annotations.reason;
    if (annotations.limit) entry.limit = annotations.limit;
    if (annotations.limits) entry.limits = annotations.limits;
    if (annotations.api) entry.api = annotations.api;
    if (annotations.route) entry.route = annotations.route;
    if (annotations.consumer) entry.consumer = annotations.consumer;
    if (annotations.tier) entry.tier = annotations.tier;
  }
  if (record.error) entry.error = record.error;

  const requestBody = record.requestBody?.bytes.length ? record.requestBody : undefined;
  const responseBody = record.responseBody?.bytes.length ? record.responseBody : undefined;
  if (!requestBody && !responseBody) return { entry, pending: null };
  const pending: PendingParts = {
    masker,
    bodyCap,
    requestBody: requestBody?.bytes.toString('latin1'),
    requestTruncated: requestBody?.truncated ?? false,
    requestType: headerText(request.headers['content-type']),
    responseBody: responseBody?.bytes.toString('latin1'),
    responseTruncated: responseBody?.truncated ?? false,
    responseType: headerText(record.responseHeaders['content-type']),
  };
  if (containsAny(requestBody, secrets) || containsAny(responseBody, secrets)) {
    finishEntry(entry, pending, secrets);
    return { entry, pending: null };
  }
  return { entry, pending };
}

/** Whether `finishEntry` has run: every entry gets a URL there, and only there. */
export function isFinished(entry: RequestLogEntry): boolean {
  return entry.url !== '';
}

/**
 * Builds the URL and the masked bodies (`pending` is null for an entry without bodies);
 * `secrets` only when called from `recordEntry`.
 */
export function finishEntry(
  entry: RequestLogEntry,
  pending: PendingParts | null,
  secrets = new SecretSet(),
): void {
  entry.url = buildUrl(entry.scheme, entry.host, entry.port, entry.path, entry.query);
  if (!pending) return;
  const { masker, bodyCap } = pending;
  if (pending.requestBody !== undefined) {
    const body = capturedBody(pending.requestBody, pending.requestTruncated);
    entry.requestBody = logBody(body, pending.requestType, bodyCap, masker, secrets);
  }
  if (pending.responseBody !== undefined) {
    const body = capturedBody(pending.responseBody, pending.responseTruncated);
    entry.responseBody = logBody(body, pending.responseType, bodyCap, masker, secrets);
  }
}

/** Back from the latin1 string PendingParts keeps: byte for byte what the proxy captured. */
function capturedBody(latin1: string, truncated: boolean): CapturedBody {
  return { bytes: Buffer.from(latin1, 'latin1'), truncated };
}

function containsAny(body: CapturedBody | undefined, secrets: SecretSet): boolean {
  if (!body || secrets.values.length === 0) return false;
  return secrets.values.some((value) => body.bytes.includes(value));
}

/**
 * Keys the credential tags of this process. A plain hash of a guessable development key could be
 * reversed by trying candidates; an HMAC under a key that never leaves memory cannot.
 */
const CREDENTIAL_TAG_KEY = randomBytes(32);

/**
 * Tags by credential, so a client's key costs one HMAC rather than one per request. It holds
 * credentials as they were presented, in memory only, as the JWT cache and the key-digest cache
 * of the policy engine do; bounded, and cleared when full.
 */
const tags = new Map<string, string>();
const MAX_TAGS = 1024;

function credentialTag(credential: string): string {
  let tag = tags.get(credential);
  if (tag === undefined) {
    const mac = createHmac('sha256', CREDENTIAL_TAG_KEY).update(credential);
    tag = mac.digest('base64url').slice(0, 12);
    if (tags.size >= MAX_TAGS) tags.clear();
    tags.set(credential, tag);
  }
  return tag;
}

function buildUrl(scheme: string, host: string, port: number, path: string, query: string) {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const defaultPort = (scheme === 'https' && port === 443) || (scheme === 'http' && port === 80);
  const portPart = defaultPort ? '' : `:${port}`;
  return `${scheme}://${hostPart}${portPart}${path}${query ? `?${query}` : ''}`;
}

function scrubHeaderValues(headers: Record<string, string | string[]>, secrets: SecretSet) {
  if (secrets.values.length === 0) return;
  for (const name in headers) {
    const value = headers[name]!;
    headers[name] = Array.isArray(value)
      ? value.map((v) => secrets.scrub(v))
      : secrets.scrub(value);
  }
}

const TEXT_TYPE =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded))/i;

function logBody(
  body: CapturedBody,
  contentType: string,
  cap: number,
  masker: Masker,
  secrets: SecretSet,
): LoggedBody {
  const bytes = body.bytes.length > cap ? body.bytes.subarray(0, cap) : body.bytes;
  const truncated = body.truncated || body.bytes.length > cap;

  if (TEXT_TYPE.test(contentType) || (contentType === '' && isUtf8Text(bytes))) {
    const text = masker.body(bytes.toString('utf8'), secrets);
    return { encoding: 'utf8', text, size: bytes.length, truncated };
  }
  return { encoding: 'base64', text: bytes.toString('base64'), size: bytes.length, truncated };
}

function isUtf8Text(bytes: Buffer): boolean {
  return !bytes.includes(0) && Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

function headerText(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/**
 * One exchange as the request log describes it, and the entry it becomes when read.
 *
 * The `completed` hook makes a `LogRecord` from each exchange: secrets are masked here, before
 * anything is stored (headers, query, path), and each side's headers become one string of lines.
 * Metrics, alerts and the stream read the record at once; the request log then copies it into
 * its record store (record-store.ts) and drops it. A record read back from the store is a
 * `LogRecord` again. `toEntry` builds the `RequestLogEntry` of the contract: URL, header maps,
 * decoded and masked bodies.
 *
 * Guarantees: everything a record holds is masked: credential headers and query parameters,
 * configured fields of text bodies, and any credential value of the request wherever else it
 * appears in the exchange. Binary bodies are kept as captured (base64 when read).
 */

import { createHmac, randomBytes } from 'node:crypto';
import type { LoggedBody, LoggedHeaders, RequestLogEntry } from '../contract/control-api.ts';
import type { Decision, LimitState, RefusalReason } from '../contract/traffic.ts';
import type { CapturedBody, ExchangeRecord, ExchangeTimings } from '../server/exchange.ts';
import { listValue } from '../server/header-list.ts';
import { HEADER_LINE_BREAK, SecretSet, type Masker } from './masking.ts';

/** What metrics, alerts and log filters read of an exchange. */
export type ExchangeSummary = Pick<
  RequestLogEntry,
  | 'id'
  | 'seq'
  | 'clientAddress'
  | 'method'
  | 'host'
  | 'url'
  | 'status'
  | 'timings'
  | 'decision'
  | 'reason'
  | 'limit'
  | 'limits'
  | 'api'
  | 'route'
  | 'consumer'
  | 'tier'
  | 'userAgent'
  | 'credentialTag'
  | 'error'
>;

/** A captured body as the log keeps it: text masked at once, binary as captured. */
export type KeptBody =
  (LoggedBody & { encoding: 'utf8' }) | { encoding: 'bytes'; bytes: Buffer; truncated: boolean };

/** Every field of a record: what the record store saves and gives back. */
export type LogRecordFields = Omit<LogRecord, 'url' | 'toEntry'>;

export class LogRecord implements ExchangeSummary {
  readonly id!: string;
  readonly seq!: number;
  readonly startedAt!: number;
  readonly clientAddress!: string;
  readonly method!: string;
  readonly scheme!: 'http' | 'https';
  readonly host!: string;
  readonly port!: number;
  /** Path and query, credentials masked. */
  readonly target!: string;
  /** Masked headers as `name\nvalue\n…`, names in the case they were sent in. */
  readonly requestHeaderLines!: string;
  readonly responseHeaderLines!: string;
  readonly status!: number;
  readonly requestBytes!: number;
  readonly responseBytes!: number;
  readonly timings!: ExchangeTimings;
  readonly decision!: Decision;
  readonly reason!: RefusalReason | undefined;
  readonly limit!: string | undefined;
  readonly limits!: LimitState[] | undefined;
  readonly api!: string | undefined;
  readonly route!: string | undefined;
  readonly consumer!: string | undefined;
  readonly tier!: string | undefined;
  readonly userAgent!: string | undefined;
  readonly credentialTag!: string | undefined;
  readonly error!: string | undefined;
  readonly requestBody!: KeptBody | undefined;
  readonly responseBody!: KeptBody | undefined;

  constructor(fields: LogRecordFields) {
    Object.assign(this, fields);
  }

  /** The exchange as the log describes it, masked. */
  static fromExchange(
    exchange: ExchangeRecord,
    seq: number,
    masker: Masker,
    bodyCap: number,
  ): LogRecord {
    const { request, annotations } = exchange;
    const secrets = new SecretSet();

    // Request side first: that is where credentials are found, to be scrubbed everywhere after.
    const requestHeaderLines = masker.headerLines(request.rawHeaders, secrets);
    const target = maskTarget(request.path, masker, secrets);
    const responseHeaderLines = masker.headerLines(
      exchange.responseHeaders,
      secrets,
      true,
      exchange.addedResponseHeaders,
    );
    const credential = secrets.credential;
    const userAgent = request.headers['user-agent'];
    const masking = { masker, bodyCap, secrets };

    return new LogRecord({
      id: request.id,
      seq,
      startedAt: request.startedAt,
      clientAddress: request.clientAddress,
      method: request.method,
      scheme: request.scheme,
      host: request.host,
      port: request.port,
      target,
      requestHeaderLines,
      responseHeaderLines,
      status: exchange.status,
      requestBytes: exchange.requestBytes,
      responseBytes: exchange.responseBytes,
      timings: exchange.timings,
      decision: annotations?.decision ?? 'passthrough',
      reason: annotations?.reason,
      limit: annotations?.limit,
      limits: annotations?.limits,
      api: annotations?.api,
      route: annotations?.route,
      consumer: annotations?.consumer,
      tier: annotations?.tier,
      userAgent: typeof userAgent === 'string' ? userAgent : undefined,
      credentialTag: credential === undefined ? undefined : credentialTag(credential),
      error: exchange.error,
      requestBody: keepBody(exchange.requestBody, request.headers['content-type'], masking),
      responseBody: keepBody(
        exchange.responseBody,
        listValue(exchange.responseHeaders, 'content-type'),
        masking,
      ),
    });
  }

  /** The full URL, credentials masked; built on each call, for filters. */
  get url(): string {
    return buildUrl(this.scheme, this.host, this.port, this.target);
  }

  /** The entry as the contract describes it; binary bodies become base64 here. */
  toEntry(): RequestLogEntry {
    const queryAt = this.target.indexOf('?');
    const requestHeaders = headerMap(this.requestHeaderLines);
    const responseHeaders = headerMap(this.responseHeaderLines);
    const entry: RequestLogEntry = {
      id: this.id,
      seq: this.seq,
      startedAt: this.startedAt,
      clientAddress: this.clientAddress,
      method: this.method,
      scheme: this.scheme,
      host: this.host,
      port: this.port,
      path: queryAt < 0 ? this.target : this.target.slice(0, queryAt),
      query: queryAt < 0 ? '' : this.target.slice(queryAt + 1),
      url: this.url,
      requestHeaders,
      responseHeaders,
      status: this.status,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
      timings: this.timings,
      decision: this.decision,
    };
    for (const field of OPTIONAL_FIELDS) {
      const value = this[field];
      if (value !== undefined) (entry as unknown as Record<string, unknown>)[field] = value;
    }

    if (this.requestBody) entry.requestBody = loggedBody(this.requestBody);
    if (this.responseBody) entry.responseBody = loggedBody(this.responseBody);
    return entry;
  }
}

const OPTIONAL_FIELDS = [
  'userAgent',
  'credentialTag',
  'reason',
  'limit',
  'limits',
  'api',
  'route',
  'consumer',
  'tier',
  'error',
] as const;

interface Masking {
  masker: Masker;
  bodyCap: number;
  secrets: SecretSet;
}

/** Cut to the cap; a text body is masked now, before anything keeps it. */
function keepBody(
  captured: CapturedBody | undefined,
  contentType: string | string[] | undefined,
  { masker, bodyCap, secrets }: Masking,
): KeptBody | undefined {
  if (!captured || captured.bytes.length === 0) return undefined;
  const cut = captured.bytes.length > bodyCap;
  const bytes = cut ? captured.bytes.subarray(0, bodyCap) : captured.bytes;
  const truncated = captured.truncated || cut;

  const type = headerText(contentType);
  if (TEXT_TYPE.test(type) || (type === '' && isUtf8Text(bytes))) {
    const text = masker.body(bytes.toString('utf8'), secrets);
    return { encoding: 'utf8', text, size: bytes.length, truncated };
  }
  return { encoding: 'bytes', bytes, truncated };
}

function loggedBody(kept: KeptBody): LoggedBody {
  if (kept.encoding === 'utf8') return kept;
  const { bytes, truncated } = kept;
  return { encoding: 'base64', text: bytes.toString('base64'), size: bytes.length, truncated };
}

export function buildUrl(scheme: string, host: string, port: number, target: string): string {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const defaultPort = (scheme === 'https' && port === 443) || (scheme === 'http' && port === 80);
  return `${scheme}://${hostPart}${defaultPort ? '' : `:${port}`}${target}`;
}

/** The path scrubbed of credentials seen so far, the query with credential parameters masked. */
function maskTarget(target: string, masker: Masker, secrets: SecretSet): string {
  const queryAt = target.indexOf('?');
  if (queryAt < 0) return secrets.scrub(target);

  const query = target.slice(queryAt + 1);
  const maskedQuery = masker.query(query, secrets);
  const path = target.slice(0, queryAt);
  const maskedPath = secrets.scrub(path);
  if (maskedQuery === query && maskedPath === path) return target;
  return `${maskedPath}?${maskedQuery}`;
}

/** Lines back into a map with lower-case names; a repeated header becomes an array. */
function headerMap(lines: string): LoggedHeaders {
  const map: LoggedHeaders = {};
  if (lines === '') return map;

  const parts = lines.split(HEADER_LINE_BREAK);
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const name = parts[i]!.toLowerCase();
    const value = parts[i + 1]!;
    const earlier = map[name];
    if (earlier === undefined) map[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(earlier)) earlier.push(value);
    else map[name] = [earlier, value];
  }
  return map;
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

const TEXT_TYPE =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded))/i;

function isUtf8Text(bytes: Buffer): boolean {
  return !bytes.includes(0) && Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

function headerText(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** The first value of `lowerName` in header lines, matched in any case. */
export function firstHeaderValue(lines: string, lowerName: string): string | undefined {
  return listValue(lines.split(HEADER_LINE_BREAK), lowerName);
}

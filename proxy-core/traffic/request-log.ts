/**
 * The live request log: a bounded ring of the newest exchanges, masked before they are stored.
 *
 * `completed` runs once per request on the proxy's hot path, so it builds each entry once (no
 * deep copies beyond the masked header maps) and overwrites the oldest slot in place: memory
 * stays flat however long the proxy runs. Metrics and alerts subscribe to the finished entries
 * rather than to raw exchanges, so they only ever see masked data.
 */

import { createHmac, randomBytes } from 'node:crypto';
import type { ExchangeHooks, ExchangeRecord, CapturedBody } from '../server/exchange.ts';
import type {
  LogQuery,
  LogQueryResult,
  LoggedBody,
  RequestLogEntry,
} from '../contract/control-api.ts';
import { Masker, SecretSet } from './masking.ts';
import { matchesQuery, normaliseQuery } from './log-filter.ts';

export const DEFAULT_LOG_CAPACITY = 10_000;

/**
 * Keys the credential tags of this process. A plain hash of a guessable development key could be
 * reversed by trying candidates; an HMAC under a key that never leaves memory cannot.
 */
const CREDENTIAL_TAG_KEY = randomBytes(32);
export const DEFAULT_BODY_CAP = 64 * 1024;

export interface RequestLogOptions {
  /** Entries kept; the oldest is dropped for each new one beyond this. @default 10000 */
  capacity?: number;
  /** Bytes of each body kept; longer bodies are marked truncated. @default 65536 */
  bodyCapBytes?: number;
  masker?: Masker;
}

export type EntryListener = (entry: RequestLogEntry) => void;

export class RequestLog implements ExchangeHooks {
  readonly capacity: number;
  readonly bodyCapBytes: number;
  #masker: Masker;
  #ring: (RequestLogEntry | undefined)[];
  /** Slot the next entry goes into. */
  #next = 0;
  #size = 0;
  #seq = 0;
  #byId = new Map<string, RequestLogEntry>();
  #listeners = new Set<EntryListener>();
  #clearListeners = new Set<() => void>();

  constructor(options: RequestLogOptions = {}) {
    this.capacity = Math.max(1, Math.floor(options.capacity ?? DEFAULT_LOG_CAPACITY));
    this.bodyCapBytes = Math.max(0, Math.floor(options.bodyCapBytes ?? DEFAULT_BODY_CAP));
    this.#masker = options.masker ?? new Masker();
    this.#ring = new Array<RequestLogEntry | undefined>(this.capacity);
  }

  get size(): number {
    return this.#size;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /** Masking rules change with the policy (its API-key header and parameter names). */
  setMasker(masker: Masker): void {
    this.#masker = masker;
  }

  /** The exchange hook; an arrow so it can be handed over on its own. */
  readonly completed = (record: ExchangeRecord): void => {
    let entry: RequestLogEntry;
    try {
      entry = buildEntry(record, this.#seq + 1, this.#masker, this.bodyCapBytes);
    } catch {
      // An exchange the log cannot describe must not fail the proxy that reported it.
      this.unloggable++;
      return;
    }
    this.#seq++;
    this.add(entry);
  };

  /** Exchanges that could not be turned into an entry (a bug if ever above zero). */
  unloggable = 0;

  add(entry: RequestLogEntry): void {
    const evicted = this.#ring[this.#next];
    if (evicted) this.#byId.delete(evicted.id);

    this.#ring[this.#next] = entry;
    this.#byId.set(entry.id, entry);
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;

    for (const listener of this.#listeners) {
      try {
        listener(entry);
      } catch {
        // A failing subscriber (a closed stream) must not break logging for the others.
      }
    }
  }

  get(id: string): RequestLogEntry | null {
    return this.#byId.get(id) ?? null;
  }

  /** Newest first. */
  query(query: LogQuery = {}): LogQueryResult {
    const filter = normaliseQuery(query);
    const entries: RequestLogEntry[] = [];
    let matched = 0;

    for (const entry of this.#newestFirst()) {
      if (filter.since !== undefined && entry.seq <= filter.since) break;
      if (!matchesQuery(entry, filter)) continue;
      matched++;
      if (entries.length < filter.limit) entries.push(entry);
    }

    return { entries, matched, size: this.#size, capacity: this.capacity, lastSeq: this.#seq };
  }

  clear(): number {
    const cleared = this.#size;
    this.#ring = new Array<RequestLogEntry | undefined>(this.capacity);
    this.#byId.clear();
    this.#next = 0;
    this.#size = 0;
    for (const listener of this.#clearListeners) listener();
    return cleared;
  }

  subscribe(listener: EntryListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onClear(listener: () => void): () => void {
    this.#clearListeners.add(listener);
    return () => this.#clearListeners.delete(listener);
  }

  *#newestFirst(): Generator<RequestLogEntry> {
    for (let i = 1; i <= this.#size; i++) {
      const entry = this.#ring[(this.#next - i + this.capacity) % this.capacity];
      if (entry) yield entry;
    }
  }
}

function buildEntry(
  record: ExchangeRecord,
  seq: number,
  masker: Masker,
  bodyCap: number,
): RequestLogEntry {
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
    url: buildUrl(request.scheme, request.host, request.port, path, query),
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

  const requestType = headerText(request.headers['content-type']);
  const responseType = headerText(record.responseHeaders['content-type']);
  if (record.requestBody?.bytes.length) {
    entry.requestBody = logBody(record.requestBody, requestType, bodyCap, masker, secrets);
  }
  if (record.responseBody?.bytes.length) {
    entry.responseBody = logBody(record.responseBody, responseType, bodyCap, masker, secrets);
  }
  return entry;
}

function credentialTag(credential: string): string {
  return createHmac('sha256', CREDENTIAL_TAG_KEY)
    .update(credential)
    .digest('base64url')
    .slice(0, 12);
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

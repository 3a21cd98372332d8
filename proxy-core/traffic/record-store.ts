/**
 * Where the request log keeps its records: a ring of slots whose fields live in typed arrays,
 * two byte arenas (text, bodies) and arrays of shared strings.
 *
 * Why not keep the `LogRecord` objects: a full log holds 10,000 of them, and at thousands of
 * requests a second every one of them, with its strings, is copied by the young-generation GC
 * and promoted before it is overwritten. Measured through the proxy, that retention cost more
 * than everything else the log does per request. Here a stored record is numbers, bytes outside
 * the heap, and references to strings that live on anyway (method, policy names, problem
 * codes, the client address of a kept-alive connection, credential tags): the GC has nothing
 * new to copy. Reading a slot builds a `LogRecord` again.
 */

import type { LimitState, RefusalReason } from '../contract/traffic.ts';
import type { ExchangeTimings } from '../server/exchange.ts';
import { ByteRing } from './byte-ring.ts';
import { firstHeaderValue, LogRecord, type KeptBody } from './log-record.ts';
import { SlotView } from './slot-view.ts';
import {
  API,
  BODY_AT,
  BODY_BYTES,
  BODY_FLOOR,
  BODY_TEXT,
  BODY_TRUNCATED,
  CLIENT_ADDRESS,
  CONNECT,
  CONSUMER,
  CREDENTIAL_TAG,
  DECISIONS,
  DNS,
  ERROR,
  INLINE_LIMITS,
  LIMIT,
  LIMIT_COUNT,
  LIMIT_NAMES,
  LIMIT_STATES,
  METHOD,
  NUMBER_FIELDS,
  PORT,
  REASON,
  REQUEST_BYTES,
  RESPONSE_BYTES,
  ROUTE,
  SEQ,
  SHARED_FIELDS,
  STARTED_AT,
  STATUS,
  TEXT_AT,
  TEXT_BYTES,
  TEXT_FIELDS,
  TIER,
  TLS,
  TOTAL,
  UPSTREAM,
} from './record-layout.ts';

/** Text bytes a record may use on average before old records give way. */
const TEXT_BYTES_PER_RECORD = 4096;
const INITIAL_ARENA_BYTES = 64 * 1024;

export interface RecordStoreOptions {
  capacity: number;
  /** The most bytes captured bodies may take; the oldest bodies give way. @default 64 MiB */
  bodyArenaBytes?: number;
}

export class RecordStore {
  readonly capacity: number;
  readonly #numbers: Float64Array;
  readonly #flags: Uint8Array;
  readonly #shared: unknown[];
  readonly #textLengths: Uint32Array;
  readonly #text: ByteRing;
  readonly #bodies: ByteRing;

  constructor(options: RecordStoreOptions) {
    this.capacity = options.capacity;
    this.#numbers = new Float64Array(this.capacity * NUMBER_FIELDS);
    this.#flags = new Uint8Array(this.capacity);
    this.#shared = new Array<unknown>(this.capacity * SHARED_FIELDS).fill(undefined);
    this.#textLengths = new Uint32Array(this.capacity * TEXT_FIELDS);
    this.#text = new ByteRing(INITIAL_ARENA_BYTES, this.capacity * TEXT_BYTES_PER_RECORD);
    this.#bodies = new ByteRing(INITIAL_ARENA_BYTES, options.bodyArenaBytes ?? 64 * 1024 * 1024);
  }

  /**
   * Saves `record` in `slot`. `keepSlot` is the oldest slot that must survive this write (the
   * arenas grow rather than overwrite it), or -1 when none must.
   */
  put(slot: number, record: LogRecord, keepSlot: number): void {
    const n = slot * NUMBER_FIELDS;
    const numbers = this.#numbers;
    numbers[SEQ + n] = record.seq;
    numbers[STARTED_AT + n] = record.startedAt;
    numbers[PORT + n] = record.port;
    numbers[STATUS + n] = record.status;
    numbers[REQUEST_BYTES + n] = record.requestBytes;
    numbers[RESPONSE_BYTES + n] = record.responseBytes;
    const { timings } = record;
    numbers[DNS + n] = timings.dns ?? NaN;
    numbers[CONNECT + n] = timings.connect ?? NaN;
    numbers[TLS + n] = timings.tls ?? NaN;
    numbers[UPSTREAM + n] = timings.upstream ?? NaN;
    numbers[TOTAL + n] = timings.total;
    this.#flags[slot] =
      DECISIONS.indexOf(record.decision) * 2 + (record.scheme === 'https' ? 1 : 0);

    const s = slot * SHARED_FIELDS;
    const shared = this.#shared;
    shared[METHOD + s] = record.method;
    shared[CLIENT_ADDRESS + s] = record.clientAddress;
    shared[REASON + s] = record.reason;
    shared[LIMIT + s] = record.limit;
    shared[API + s] = record.api;
    shared[ROUTE + s] = record.route;
    shared[CONSUMER + s] = record.consumer;
    shared[TIER + s] = record.tier;
    shared[CREDENTIAL_TAG + s] = record.credentialTag;
    shared[ERROR + s] = record.error;

    const inline = this.#putLimits(slot, record.limits);
    this.#putText(slot, record, inline ? '' : JSON.stringify(record.limits), keepSlot);
    numbers[BODY_FLOOR + n] = this.#bodies.head;
    const keepBodiesFrom =
      keepSlot < 0 ? Infinity : numbers[BODY_FLOOR + keepSlot * NUMBER_FIELDS]!;
    this.#putBody(slot, 0, record.requestBody, keepBodiesFrom);
    this.#putBody(slot, 1, record.responseBody, keepBodiesFrom);
  }

  /** Whether the arenas still hold the text of the record in `slot`. */
  holds(slot: number): boolean {
    return this.#text.holds(this.#numbers[TEXT_AT + slot * NUMBER_FIELDS]!);
  }

  seq(slot: number): number {
    return this.#numbers[SEQ + slot * NUMBER_FIELDS]!;
  }

  /** A view for filters: fields are read from the slot only when asked for. */
  view(): SlotView {
    return new SlotView(this);
  }

  record(slot: number): LogRecord {
    const n = slot * NUMBER_FIELDS;
    const numbers = this.#numbers;
    const [id, host, target, requestHeaderLines, responseHeaderLines, limits] = this.textOf(slot);

    return new LogRecord({
      id: id!,
      seq: numbers[SEQ + n]!,
      startedAt: numbers[STARTED_AT + n]!,
      clientAddress: this.shared(slot, CLIENT_ADDRESS) as string,
      method: this.shared(slot, METHOD) as string,
      scheme: this.scheme(slot),
      host: host!,
      port: numbers[PORT + n]!,
      target: target!,
      requestHeaderLines: requestHeaderLines!,
      responseHeaderLines: responseHeaderLines!,
      status: numbers[STATUS + n]!,
      requestBytes: numbers[REQUEST_BYTES + n]!,
      responseBytes: numbers[RESPONSE_BYTES + n]!,
      timings: this.#timings(slot),
      decision: this.decision(slot),
      reason: this.shared(slot, REASON) as RefusalReason | undefined,
      limit: this.shared(slot, LIMIT) as string | undefined,
      limits: this.#limitsOf(slot, limits!),
      api: this.shared(slot, API) as string | undefined,
      route: this.shared(slot, ROUTE) as string | undefined,
      consumer: this.shared(slot, CONSUMER) as string | undefined,
      tier: this.shared(slot, TIER) as string | undefined,
      userAgent: firstHeaderValue(requestHeaderLines!, 'user-agent'),
      credentialTag: this.shared(slot, CREDENTIAL_TAG) as string | undefined,
      error: this.shared(slot, ERROR) as string | undefined,
      requestBody: this.#bodyOf(slot, 0),
      responseBody: this.#bodyOf(slot, 1),
    });
  }

  /** For SlotView: one field of a slot's shared strings. */
  shared(slot: number, field: number): unknown {
    return this.#shared[field + slot * SHARED_FIELDS];
  }

  /** For SlotView: one field of a slot's numbers. */
  number(slot: number, field: number): number {
    return this.#numbers[field + slot * NUMBER_FIELDS]!;
  }

  scheme(slot: number): 'http' | 'https' {
    return this.#flags[slot]! & 1 ? 'https' : 'http';
  }

  decision(slot: number): (typeof DECISIONS)[number] {
    return DECISIONS[this.#flags[slot]! >> 1]!;
  }

  #timings(slot: number): ExchangeTimings {
    const n = slot * NUMBER_FIELDS;
    const timings: ExchangeTimings = { total: this.#numbers[TOTAL + n]! };
    for (const [name, field] of OPTIONAL_TIMINGS) {
      const value = this.#numbers[field + n]!;
      if (!Number.isNaN(value)) timings[name] = value;
    }
    return timings;
  }

  /** The record's text fields: id, host, target, both header lines, limits as JSON. */
  textOf(slot: number): string[] {
    const n = slot * NUMBER_FIELDS;
    const text = this.#text.text(this.#numbers[TEXT_AT + n]!, this.#numbers[TEXT_BYTES + n]!);

    const fields: string[] = [];
    const t = slot * TEXT_FIELDS;
    let at = 0;
    for (let i = 0; i < TEXT_FIELDS; i++) {
      const length = this.#textLengths[t + i]!;
      fields.push(text.slice(at, at + length));
      at += length;
    }
    return fields;
  }

  /** False when there are too many states to keep inline. */
  #putLimits(slot: number, limits: readonly LimitState[] | undefined): boolean {
    const n = slot * NUMBER_FIELDS;
    const count = limits?.length ?? -1;
    this.#numbers[LIMIT_COUNT + n] = count;
    if (count > INLINE_LIMITS) return false;

    for (let i = 0; i < count; i++) {
      const state = limits![i]!;
      const at = LIMIT_STATES + i * 4 + n;
      this.#numbers[at] = state.limit;
      this.#numbers[at + 1] = state.remaining;
      this.#numbers[at + 2] = state.resetSeconds;
      this.#numbers[at + 3] = state.resetAt ?? NaN;
      const names = LIMIT_NAMES + i * 2 + slot * SHARED_FIELDS;
      this.#shared[names] = state.name;
      this.#shared[names + 1] = state.algorithm;
    }
    return true;
  }

  /** Undefined when the exchange reached no limit (or no policy). */
  #limitsOf(slot: number, json: string): LimitState[] | undefined {
    const n = slot * NUMBER_FIELDS;
    const count = this.#numbers[LIMIT_COUNT + n]!;
    if (count < 0) return undefined;
    if (count > INLINE_LIMITS) return JSON.parse(json) as LimitState[];

    const states: LimitState[] = [];
    for (let i = 0; i < count; i++) {
      const at = LIMIT_STATES + i * 4 + n;
      const names = LIMIT_NAMES + i * 2 + slot * SHARED_FIELDS;
      const state: LimitState = {
        name: this.#shared[names] as string,
        limit: this.#numbers[at]!,
        remaining: this.#numbers[at + 1]!,
        resetSeconds: this.#numbers[at + 2]!,
        algorithm: this.#shared[names + 1] as string,
      };
      const resetAt = this.#numbers[at + 3]!;
      if (!Number.isNaN(resetAt)) state.resetAt = resetAt;
      states.push(state);
    }
    return states;
  }

  #putText(slot: number, record: LogRecord, limitsJson: string, keepSlot: number): void {
    const fields = [
      record.id,
      record.host,
      record.target,
      record.requestHeaderLines,
      record.responseHeaderLines,
      limitsJson,
    ];
    const t = slot * TEXT_FIELDS;
    for (let i = 0; i < TEXT_FIELDS; i++) this.#textLengths[t + i] = fields[i]!.length;

    const keepFrom = keepSlot < 0 ? Infinity : this.#numbers[TEXT_AT + keepSlot * NUMBER_FIELDS]!;
    const written = this.#text.writeText(fields.join(''), keepFrom);
    const n = slot * NUMBER_FIELDS;
    this.#numbers[TEXT_AT + n] = written.position;
    this.#numbers[TEXT_BYTES + n] = written.bytes;
  }

  /** Text as UTF-8 (already masked), binary as its bytes. */
  #putBody(slot: number, side: 0 | 1, body: KeptBody | undefined, keepFrom: number): void {
    const at = BODY_AT + side * 4 + slot * NUMBER_FIELDS;
    const numbers = this.#numbers;
    if (body === undefined) {
      numbers[at + 2] = 0;
      return;
    }

    const truncated = body.truncated ? BODY_TRUNCATED : 0;
    if (body.encoding === 'utf8') {
      const written = this.#bodies.writeText(body.text, keepFrom);
      numbers[at] = written.position;
      numbers[at + 1] = written.bytes;
      numbers[at + 2] = BODY_TEXT | truncated;
      numbers[at + 3] = body.size;
      return;
    }
    numbers[at] = this.#bodies.writeBytes(body.bytes, keepFrom);
    numbers[at + 1] = body.bytes.length;
    numbers[at + 2] = BODY_BYTES | truncated;
    numbers[at + 3] = body.bytes.length;
  }

  /** Undefined when there was no body, or when newer bodies have taken its place. */
  #bodyOf(slot: number, side: 0 | 1): KeptBody | undefined {
    const at = BODY_AT + side * 4 + slot * NUMBER_FIELDS;
    const numbers = this.#numbers;
    const flags = numbers[at + 2]!;
    const position = numbers[at]!;
    if (!flags || !this.#bodies.holds(position)) return undefined;

    const length = numbers[at + 1]!;
    const truncated = (flags & BODY_TRUNCATED) !== 0;
    if (flags & BODY_TEXT) {
      const text = this.#bodies.text(position, length);
      return { encoding: 'utf8', text, size: numbers[at + 3]!, truncated };
    }
    return { encoding: 'bytes', bytes: this.#bodies.bytes(position, length), truncated };
  }
}

const OPTIONAL_TIMINGS = [
  ['dns', DNS],
  ['connect', CONNECT],
  ['tls', TLS],
  ['upstream', UPSTREAM],
] as const;

/**
 * The live stream: Server-Sent Events of new log entries, alerts and a metrics tick each second.
 *
 * The guard has already checked Host, Origin and token before a client gets here. A client
 * that stops reading is dropped once a few MB are queued for it, so a stuck UI cannot make the
 * proxy's memory grow; EventSource reconnects and resumes with `Last-Event-ID`.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogQuery, StreamEvent } from '../contract/control-api.ts';
import type { RequestLog } from '../traffic/request-log.ts';
import type { LogRecord } from '../traffic/log-record.ts';
import type { Metrics } from '../traffic/metrics.ts';
import type { AlertWatcher } from '../traffic/alerts.ts';
import { matchesQuery, normaliseQuery, type NormalisedQuery } from '../traffic/log-filter.ts';

const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const MAX_REPLAY = 10_000;

interface Client {
  res: ServerResponse;
  filter: NormalisedQuery;
}

export interface EventStreamOptions {
  requestLog: RequestLog;
  metrics?: Metrics;
  alerts?: AlertWatcher;
  /** @default 1000 */
  tickMs?: number;
}

export class EventStreamHub {
  readonly #clients = new Set<Client>();
  readonly #options: EventStreamOptions;
  readonly #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(options: EventStreamOptions) {
    this.#options = options;
    this.#unsubscribe.push(options.requestLog.subscribe((entry) => this.#onEntry(entry)));
    this.#unsubscribe.push(
      options.requestLog.onClear(() =>
        this.#broadcast({ type: 'cleared', data: { at: Date.now() } }),
      ),
    );
    if (options.alerts) {
      this.#unsubscribe.push(
        options.alerts.subscribe((alert) => this.#broadcast({ type: 'alert', data: alert })),
      );
    }
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Starts a stream on `res`; `since` (or Last-Event-ID) replays entries after that seq. */
  open(
    req: IncomingMessage,
    res: ServerResponse,
    query: LogQuery,
    headers: Record<string, string>,
  ) {
    const { since, ...filters } = query;
    const client: Client = { res, filter: normaliseQuery(filters) };

    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    res.write('retry: 2000\n\n');

    const lastEventId = Number(req.headers['last-event-id']);
    const resumeAfter = Number.isInteger(lastEventId) ? lastEventId : since;
    if (resumeAfter !== undefined) {
      const missed = this.#options.requestLog.query({
        ...filters,
        since: resumeAfter,
        limit: MAX_REPLAY,
      });
      for (const entry of missed.entries.reverse()) send(client, { type: 'entry', data: entry });
    }

    this.#clients.add(client);
    this.#startTicking();
    res.on('close', () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stopTicking();
    });
  }

  close(): void {
    this.#stopTicking();
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const client of this.#clients) client.res.end();
    this.#clients.clear();
  }

  #onEntry(record: LogRecord): void {
    // Entries are built on first read; only build one when someone is listening.
    if (this.#clients.size === 0) return;
    const entry = record.toEntry();
    for (const client of this.#clients) {
      if (matchesQuery(entry, client.filter)) send(client, { type: 'entry', data: entry });
    }
  }

  #broadcast(event: StreamEvent): void {
    for (const client of this.#clients) send(client, event);
  }

  #startTicking(): void {
    const { metrics, tickMs = 1000 } = this.#options;
    if (this.#timer || !metrics) return;
    this.#timer = setInterval(
      () => this.#broadcast({ type: 'metrics', data: metrics.tick() }),
      tickMs,
    );
    this.#timer.unref();
  }

  #stopTicking(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

function send(client: Client, event: StreamEvent): void {
  const { res } = client;
  if (res.destroyed || res.writableEnded) return;
  if (res.writableLength > MAX_QUEUED_BYTES) {
    // The client stopped reading; let it reconnect and resume rather than queue without bound.
    res.destroy();
    return;
  }

  const id = event.type === 'entry' ? `id: ${event.data.seq}\n` : '';
  res.write(`${id}event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
}

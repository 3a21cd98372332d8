/**
 * Alerts for traffic that looks like licence abuse, raised from the (masked) request log.
 *
 * Four patterns: one consumer's credential used from many client addresses or user agents in a
 * short time (a shared key), a burst of 401s against one API (someone guessing keys), a
 * consumer suddenly far above its usual per-minute rate, and a quota about to run out. Each
 * alert names the requests that raised it; the same alert is not raised again for one window.
 */

import type { Alert, AlertThresholds } from '../contract/control-api.ts';
import type { ExchangeSummary } from './log-record.ts';

export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = {
  windowMs: 60_000,
  maxAddressesPerConsumer: 5,
  maxAgentsPerConsumer: 5,
  authFailureBurst: 20,
  rateSpikeFactor: 5,
  rateSpikeMinimum: 60,
  quotaRemainingShare: 0.1,
};

const MAX_ALERTS = 500;
const MAX_REQUEST_IDS = 50;
/** Weight of the newest minute in a consumer's usual rate. */
const USUAL_RATE_WEIGHT = 0.2;

export interface AlertWatcherOptions {
  thresholds?: Partial<AlertThresholds>;
  /** Epoch ms. @default Date.now */
  now?: () => number;
}

interface Sighting {
  at: number;
  id: string;
}

/** The distinct values (client addresses, user agents) one credential was seen with. */
class Sightings {
  readonly values = new Map<string, Sighting>();
  sweptAt = 0;
}

/** Everything watched per credential, found with one lookup per request. */
interface HolderSightings {
  addresses: Sightings;
  agents: Sightings;
}

interface RateState {
  minute: number;
  count: number;
  ids: string[];
  usual: number;
  minutesSeen: number;
}

export class AlertWatcher {
  #thresholds: AlertThresholds;
  #now: () => number;
  #alerts: Alert[] = [];
  #nextId = 1;
  #lastRaised = new Map<string, number>();
  #holders = new Map<string, HolderSightings>();
  #authFailures = new Map<string, Sighting[]>();
  #rates = new Map<string, RateState>();
  #listeners = new Set<(alert: Alert) => void>();

  constructor(options: AlertWatcherOptions = {}) {
    this.#thresholds = { ...DEFAULT_ALERT_THRESHOLDS, ...options.thresholds };
    this.#now = options.now ?? Date.now;
  }

  get thresholds(): AlertThresholds {
    return { ...this.#thresholds };
  }

  setThresholds(changes: Partial<AlertThresholds>): AlertThresholds {
    this.#thresholds = { ...this.#thresholds, ...changes };
    return this.thresholds;
  }

  /** Newest last. */
  list(): Alert[] {
    return [...this.#alerts];
  }

  clear(): void {
    this.#alerts = [];
    this.#lastRaised.clear();
  }

  subscribe(listener: (alert: Alert) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  readonly observe = (entry: ExchangeSummary): void => {
    const now = this.#now();
    const t = this.#thresholds;

    if (entry.status === 401) this.#watchAuthFailures(entry, now);
    if (!entry.consumer) return;

    // One key (by its tag) when the request carried one; the consumer otherwise (mTLS).
    const holder = entry.credentialTag ?? `consumer:${entry.consumer}`;
    // Messages are worded only when an alert is raised: this runs for every request.

    let sightings = this.#holders.get(holder);
    if (!sightings) {
      sightings = { addresses: new Sightings(), agents: new Sightings() };
      this.#holders.set(holder, sightings);
    }

    const addresses = this.#distinct(
      sightings.addresses,
      entry.clientAddress,
      entry,
      now,
      t.maxAddressesPerConsumer,
    );
    if (addresses.size > t.maxAddressesPerConsumer) {
      const count = `${addresses.size} client addresses`;
      const message = `${holderName(entry)} was used from ${count} ${within(t)}`;
      this.#raise('key-many-addresses', entry.consumer, ids(addresses), now, message);
    }

    const agent = entry.userAgent ?? '(none)';
    const agents = this.#distinct(sightings.agents, agent, entry, now, t.maxAgentsPerConsumer);
    if (agents.size > t.maxAgentsPerConsumer) {
      const message = `${holderName(entry)} was used by ${agents.size} user agents ${within(t)}`;
      this.#raise('key-many-agents', entry.consumer, ids(agents), now, message);
    }

    this.#watchRate(entry, now);
    this.#watchQuotas(entry, now);
  };

  #watchAuthFailures(entry: ExchangeSummary, now: number): void {
    const subject = entry.api ?? entry.host;
    const recent = (this.#authFailures.get(subject) ?? []).filter(
      (s) => now - s.at <= this.#thresholds.windowMs,
    );
    recent.push({ at: now, id: entry.id });
    this.#authFailures.set(subject, recent.slice(-MAX_REQUEST_IDS * 4));

    if (recent.length >= this.#thresholds.authFailureBurst) {
      this.#raise(
        'auth-failure-burst',
        subject,
        recent.map((s) => s.id),
        now,
        () =>
          `${recent.length} requests to ${subject} failed authentication (401) within ` +
          `${seconds(this.#thresholds.windowMs)} s: someone may be guessing keys`,
      );
    }
  }

  #watchRate(entry: ExchangeSummary, now: number): void {
    const consumer = entry.consumer!;
    const minute = Math.floor(now / 60_000);
    let state = this.#rates.get(consumer);
    if (!state) {
      state = { minute, count: 0, ids: [], usual: 0, minutesSeen: 0 };
      this.#rates.set(consumer, state);
    }

    // Close the minutes that passed; quiet minutes count as zero in the usual rate.
    for (let m = state.minute; m < minute && m < state.minute + 60; m++) {
      const count = m === state.minute ? state.count : 0;
      state.usual = state.minutesSeen === 0 ? count : blend(state.usual, count);
      state.minutesSeen++;
    }
    if (minute !== state.minute) Object.assign(state, { minute, count: 0, ids: [] });

    state.count++;
    if (state.ids.length < MAX_REQUEST_IDS) state.ids.push(entry.id);

    const t = this.#thresholds;
    const usual = Math.max(state.usual, 1);
    if (state.minutesSeen >= 2 && state.count >= t.rateSpikeMinimum) {
      if (state.count > usual * t.rateSpikeFactor) {
        this.#raise(
          'rate-spike',
          consumer,
          state.ids,
          now,
          () =>
            `${consumer} made ${state.count} requests this minute, usually about ` +
            `${Math.round(state.usual)} per minute`,
        );
      }
    }
  }

  #watchQuotas(entry: ExchangeSummary, now: number): void {
    for (const limit of entry.limits ?? []) {
      // Only calendar quotas (day, week, month) run out for long; every limit reports a
      // resetAt, so a per-minute rate near its end is not a quota about to run out.
      if (limit.algorithm !== 'calendar' || limit.limit <= 0) continue;
      if (limit.remaining / limit.limit > this.#thresholds.quotaRemainingShare) continue;

      const subject = `${entry.consumer}:${limit.name}`;
      this.#raise(
        'quota-nearly-exhausted',
        subject,
        [entry.id],
        now,
        () =>
          `${entry.consumer} has ${limit.remaining} of ${limit.limit} left on quota ${limit.name}`,
      );
    }
  }

  /**
   * The distinct values one credential was seen with in the window, with the newest request of
   * each.
   * Runs for every request of a known consumer, so it updates sightings in place and sweeps
   * out old values only when the count would raise an alert or once a second.
   */
  #distinct(
    sightings: Sightings,
    value: string,
    entry: ExchangeSummary,
    now: number,
    max: number,
  ): Map<string, Sighting> {
    const seen = sightings.values;
    const sighting = seen.get(value);
    if (sighting) {
      sighting.at = now;
      sighting.id = entry.id;
    } else {
      seen.set(value, { at: now, id: entry.id });
    }
    if (seen.size > max || now - sightings.sweptAt >= 1000) {
      for (const [v, s] of seen) {
        if (now - s.at > this.#thresholds.windowMs) seen.delete(v);
      }
      sightings.sweptAt = now;
    }
    return seen;
  }

  #raise(
    kind: Alert['kind'],
    subject: string,
    requestIds: string[],
    now: number,
    message: string | (() => string),
  ): void {
    const key = `${kind}\u0000${subject}`;
    const last = this.#lastRaised.get(key);
    if (last !== undefined && now - last < this.#thresholds.windowMs) return;
    this.#lastRaised.set(key, now);

    const alert: Alert = {
      id: String(this.#nextId++),
      kind,
      at: now,
      subject,
      message: typeof message === 'function' ? message() : message,
      requestIds: requestIds.slice(-MAX_REQUEST_IDS),
    };
    this.#alerts.push(alert);
    if (this.#alerts.length > MAX_ALERTS) this.#alerts.shift();
    for (const listener of this.#listeners) listener(alert);
  }
}

function within(t: AlertThresholds): string {
  return `within ${seconds(t.windowMs)} s`;
}

function holderName(entry: ExchangeSummary): string {
  return entry.credentialTag ? `one key of ${entry.consumer}` : entry.consumer!;
}

function ids(seen: Map<string, Sighting>): string[] {
  return [...seen.values()].sort((a, b) => a.at - b.at).map((s) => s.id);
}

function blend(usual: number, count: number): number {
  return usual * (1 - USUAL_RATE_WEIGHT) + count * USUAL_RATE_WEIGHT;
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}

/**
 * The policy engine: the proxy's `decide` hook for governed hosts.
 *
 * For a request to a host an API governs it matches a route, identifies the caller, checks the
 * tier's entitlements and rules, counts the request against the tier's limits, maybe injects a
 * fault, and forwards with rate-limit headers, or answers 401/403/404/429 itself. Hosts no API
 * governs pass through untouched. `decide` is synchronous except for a JWT not yet verified.
 *
 * Guarantees: a policy swap is one reference assignment, so each request sees one whole policy;
 * counters of limits whose identity is unchanged survive it. Credentials are removed before
 * forwarding unless the API keeps them, and never appear in answers or logs.
 */

import type { ExchangeAnnotations } from '../contract/traffic.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import type {
  ExchangeHooks,
  ExchangeRecord,
  ExchangeRequest,
  ForwardVerdict,
  Verdict,
} from '../server/exchange.ts';
import { headerRecord, type HeaderList } from '../server/header-list.ts';
import { AdaptiveLimits } from './adaptive.ts';
import { forbidden, injectedFault, limitExceeded, routeNotFound } from './answers.ts';
import { applyLimits, retryAfterSeconds, type LimitClock } from './apply-limits.ts';
import { authorize, matchRoute } from './authorize.ts';
import { clearFutureCounters } from './clock-rewind.ts';
import { systemTime, VirtualClock, type TimeSource } from './clock.ts';
import {
  apiForHost,
  compilePolicy,
  type CompiledApi,
  type CompiledPolicy,
  type CompiledRoute,
} from './compile.ts';
import { UsageSync, type UsageStore } from './counters.ts';
import { planFaults } from './faults.ts';
import { forwardedIdentity, withoutParams } from './forward.ts';
import { pathOnly } from './path-pattern.ts';
import { identify, type Caller, type Identity, type IdentifyContext } from './identify.ts';
import { idleEntries } from './idle-counters.ts';
import { rateLimitHeaders } from './rate-headers.ts';
import { usageReport, type UsageReport } from './usage-report.ts';
import type { Policy } from './schema.ts';

export type { UsageReport } from './usage-report.ts';

export interface PolicyEngineOptions {
  policy: Policy;
  /** Where counters, the clock offset and created keys live; in memory only without it. */
  store?: UsageStore;
  log?: Logger;
  /** Injected time for tests; the machine's clocks by default. */
  time?: TimeSource;
  /** Dice for fault injection; `Math.random` by default. */
  random?: () => number;
  /** @default 250 */
  syncIntervalMs?: number;
}

/** How often idle client-address counters are dropped: often enough to bound the table. */
const PRUNE_EVERY_MS = 60_000;

const PASSTHROUGH: ForwardVerdict = Object.freeze({
  kind: 'forward',
  annotations: Object.freeze({ decision: 'passthrough' }),
}) as ForwardVerdict;

export class PolicyEngine implements ExchangeHooks {
  readonly clock: VirtualClock;
  readonly #log: Logger;
  readonly #store: UsageStore | undefined;
  readonly #sync: UsageSync;
  readonly #adaptive: AdaptiveLimits;
  readonly #random: () => number;
  readonly #tierOverrides = new Map<string, string>();
  /** One function for every request rather than a closure each. */
  readonly #storedKeys = () => this.#store?.data.keys ?? [];
  readonly #pruneTimer: NodeJS.Timeout;
  /** The policy in force, with what `identify` reads: made once per policy, not per request. */
  #identifyContext: IdentifyContext;
  /** Whether readings may be shared (see #now): only the machine's clocks move on their own. */
  readonly #sharesReadings: boolean;
  #reading: LimitClock | undefined;
  readonly #forgetReading = () => {
    this.#reading = undefined;
  };

  constructor(options: PolicyEngineOptions) {
    this.#log = (options.log ?? silentLogger).child('policy');
    this.#store = options.store;
    this.#random = options.random ?? Math.random;
    this.#sync = new UsageSync(options.store, this.#log, options.syncIntervalMs);
    this.#adaptive = new AdaptiveLimits(this.#log);

    this.clock = new VirtualClock(
      options.time ?? systemTime,
      options.store?.data.clock.offsetMs ?? 0,
    );
    this.#sharesReadings = options.time === undefined;
    let previousOffset = this.clock.offsetMs;
    this.clock.onChange((offsetMs) => {
      this.#reading = undefined;
      if (offsetMs < previousOffset) this.#rewind();
      previousOffset = offsetMs;
      this.#sync.saveClockOffset(offsetMs);
    });

    this.#identifyContext = this.#contextFor(this.#compile(options.policy, undefined));
    this.#pruneTimer = setInterval(() => this.pruneIdleCounters(), PRUNE_EVERY_MS);
    this.#pruneTimer.unref();
  }

  get #compiled(): CompiledPolicy {
    return this.#identifyContext.compiled;
  }

  get policy(): Policy {
    return this.#compiled.policy;
  }

  decide(request: ExchangeRequest): Verdict | Promise<Verdict> {
    const context = this.#identifyContext;
    const { compiled } = context;
    const api = apiForHost(compiled, request.host);
    if (!api) return PASSTHROUGH;

    const route = matchRoute(api, request.method, request.path);
    if (!route) return routeNotFound(api.def.name, request.method, pathOnly(request.path));

    // Each clock is read once per request: the token check and the limits share the reading.
    const clock = this.#now();
    const identity = identify(api, request, context, clock.wall);
    if (identity instanceof Promise) {
      // A token verified later is counted at the time it is admitted.
      return identity.then((id) => this.#admit(compiled, api, route, id, request, this.#now()));
    }
    return this.#admit(compiled, api, route, identity, request, clock);
  }

  completed(record: ExchangeRecord): void {
    const annotations = record.annotations;
    if (annotations?.decision !== 'allowed' || !annotations.api) return;
    const compiled = this.#compiled;
    if (!compiled.adapts) return;

    const latency = record.timings.upstream ?? record.timings.total;
    this.#adaptive.record(
      annotations.api,
      latency,
      record.status,
      this.clock.monotonic(),
      compiled.limits,
    );
  }

  /** Whether the proxy should ask clients of this host for a certificate (mtls APIs). */
  wantsClientCertificate(host: string): boolean {
    return apiForHost(this.#compiled, host.toLowerCase())?.wantsCertificate ?? false;
  }

  /** Atomic swap; counters and adaptation of limits with an unchanged identity carry over. */
  replacePolicy(policy: Policy): void {
    const compiled = this.#compile(policy, this.#compiled);
    this.#adaptive.retain(compiled.limits);
    for (const [consumer, tier] of this.#tierOverrides) {
      if (!compiled.tiers.has(tier)) this.#tierOverrides.delete(consumer);
    }
    this.#identifyContext = this.#contextFor(compiled);
    this.#log.info('policy applied', { apis: policy.apis.length, tiers: policy.tiers.length });
  }

  /** Moves a consumer to another tier from the next request on (in memory, until restart). */
  setConsumerTier(consumer: string, tier: string): void {
    if (!this.#compiled.tiers.has(tier)) {
      throw new Error(
        `unknown tier "${tier}" (tiers: ${[...this.#compiled.tiers.keys()].join(', ')})`,
      );
    }
    this.#tierOverrides.set(consumer, tier);
  }

  /** Forgets counted usage of one consumer, or of everyone. */
  resetUsage(consumer?: string): void {
    const forgotten = [];
    for (const limit of this.#compiled.limits) {
      for (const [subject, entry] of limit.counters.entries) {
        if (consumer !== undefined && entry.consumer !== consumer) continue;
        limit.counters.entries.delete(subject);
        forgotten.push(entry);
      }
    }
    this.#sync.forget(forgotten);
  }

  usage(): UsageReport[] {
    return usageReport(this.#compiled.limits, this.clock.monotonic(), this.clock.wall());
  }

  /**
   * Drops the counters of client-address limits that hold nothing, from memory and the store
   * (see idle-counters.ts). Other scopes are kept: their subjects are the policy's consumers,
   * and usage reports list them even when idle. Returns how many were dropped.
   */
  pruneIdleCounters(): number {
    const limits = this.#compiled.limits.filter((limit) => limit.def.scope === 'client-address');
    const idle = idleEntries(limits, this.clock.monotonic(), this.clock.wall());
    for (const { limit, entry } of idle) limit.counters.entries.delete(entry.subject);
    this.#sync.forget(idle.map(({ entry }) => entry));
    return idle.length;
  }

  /** Writes pending counters to the store and stops the timers. */
  close(): void {
    clearInterval(this.#pruneTimer);
    this.#sync.close();
  }

  #rewind(): void {
    const limits = this.#compiled.limits;
    this.#sync.forget(clearFutureCounters(limits, this.clock.monotonic(), this.clock.wall()));
  }

  #contextFor(compiled: CompiledPolicy): IdentifyContext {
    return { compiled, storedKeys: this.#storedKeys, tierOverrides: this.#tierOverrides };
  }

  /**
   * Both clocks, read once for all the decisions of one synchronous run (the proxy decides a
   * turn's requests together), as NGINX caches its time once per event-loop iteration: such a
   * run takes microseconds, and the two reads cost more than the rest of a limit check. An
   * injected time source is read every time: tests move it between decisions.
   */
  #now(): LimitClock {
    let reading = this.#reading;
    if (reading === undefined) {
      reading = { monotonic: this.clock.monotonic(), wall: this.clock.wall() };
      if (this.#sharesReadings) {
        this.#reading = reading;
        queueMicrotask(this.#forgetReading);
      }
    }
    return reading;
  }

  #compile(policy: Policy, previous: CompiledPolicy | undefined): CompiledPolicy {
    const kept = new Map(previous?.limits.map((limit) => [limit.id, limit.counters]));
    return compilePolicy(policy, (id, scope) => kept.get(id) ?? this.#sync.table(id, scope));
  }

  #admit(
    compiled: CompiledPolicy,
    api: CompiledApi,
    route: CompiledRoute,
    identity: Identity,
    request: ExchangeRequest,
    clock: LimitClock,
  ): Verdict {
    if (!identity.ok) {
      this.#log.debug('credentials refused', {
        ...identity.verdict.annotations,
        path: request.path,
      });
      return identity.verdict;
    }
    const { caller } = identity;
    const tier = compiled.tiers.get(caller.tier)!;
    const authorization = authorize(compiled, route, caller, request);
    // A refused request is not counted, yet the consumer is known: show where they stand.
    const charge = authorization.ok;
    const limits = applyLimits(
      tier,
      route,
      caller.consumer,
      request.clientAddress,
      clock,
      this.#sync,
      charge,
    );
    const rateHeaders = rateLimitHeaders(api.headerStyle, limits.applied, limits.states);
    if (!authorization.ok) {
      const context = answerContext(api, route, caller);
      const headers = headerRecord(rateHeaders);
      return forbidden(authorization.reason, authorization.detail, context, headers);
    }

    if (!limits.allowed) {
      const context = answerContext(api, route, caller);
      const limit = limits.refusedBy!;
      const reason = limit.def.algorithm === 'calendar' ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED';
      const annotations: ExchangeAnnotations = {
        decision: 'refused',
        reason,
        limit: limit.name,
        limits: limits.states,
        ...context,
      };
      this.#log.debug('limit reached', { ...context, limit: limit.name });
      return limitExceeded(
        reason,
        context,
        {
          name: limit.name,
          requests: limit.params.limit,
          per: limit.def.per,
          resetAt: clock.wall + limits.retryAfterMs,
          retryAfterSeconds: retryAfterSeconds(limits.retryAfterMs),
        },
        annotations,
        headerRecord(rateHeaders),
      );
    }

    const faults = planFaults(compiled, caller.tier, route.key, this.#random);
    if (faults.status !== undefined) {
      const context = answerContext(api, route, caller);
      const verdict = injectedFault(faults.status, context, faults.fault!);
      verdict.delayMs = faults.delayMs;
      return verdict;
    }

    // The annotations are written out rather than spread from a context object: this is
    // the path almost every request takes, and it then allocates one object instead of two.
    const annotations: ExchangeAnnotations = {
      decision: 'allowed',
      api: api.def.name,
      route: route.name,
      consumer: caller.consumer,
      tier: caller.tier,
      limits: limits.states,
    };
    return this.#forward(compiled, api, request, caller, annotations, rateHeaders, faults.delayMs);
  }

  #forward(
    compiled: CompiledPolicy,
    api: CompiledApi,
    request: ExchangeRequest,
    caller: Caller,
    annotations: ExchangeAnnotations,
    rateHeaders: HeaderList,
    delayMs: number,
  ): ForwardVerdict {
    const verdict: ForwardVerdict = {
      kind: 'forward',
      setRequestHeaders: forwardedIdentity(compiled, caller),
      setResponseHeaders: rateHeaders,
      annotations,
    };
    if (api.def.upstream) verdict.upstream = api.def.upstream;
    if (!api.def.keepCredentials) {
      if (api.credentialHeaders.length > 0) verdict.removeRequestHeaders = api.credentialHeaders;
      const path = withoutParams(request.path, api.credentialQuery);
      if (path !== request.path) verdict.path = path;
    }
    if (delayMs > 0) verdict.delayMs = delayMs;
    return verdict;
  }
}

/** Who was answered, for the problem body of a request Tollgate refuses itself. */
function answerContext(api: CompiledApi, route: CompiledRoute, caller: Caller) {
  return { api: api.def.name, route: route.name, consumer: caller.consumer, tier: caller.tier };
}

/**
 * Adaptive limits: a limit with `adaptive` tightens while its upstream is unhealthy (p95 latency
 * or 5xx share above a threshold) and recovers gradually, like a gateway shedding load.
 *
 * Health is judged per API over the last `windowSeconds` of forwarded exchanges. At most once per
 * window an unhealthy verdict multiplies the effective limit by `factor` (down to `floor`);
 * while healthy it climbs back linearly over `recoverySeconds`. The effective limit is written
 * into the limit's params, so headers and checks use it at once.
 */

import type { Logger } from '../log/logger.ts';
import type { CompiledLimit } from './compile.ts';

interface Sample {
  at: number;
  latencyMs: number;
  failed: boolean;
}

/** Ring buffer length per API; enough for p95 over busy windows without unbounded memory. */
const MAX_SAMPLES = 2048;

interface LimitAdaptation {
  multiplier: number;
  lastTightened: number;
  lastEvaluated: number;
  /** When health was first seen again after tightening; recovery counts from here. */
  healthySince: number | null;
}

export class AdaptiveLimits {
  readonly #samples = new Map<string, Sample[]>();
  readonly #state = new Map<string, LimitAdaptation>();

  constructor(private readonly log: Logger) {}

  /** Records one forwarded exchange and re-evaluates the adaptive limits of its API. */
  record(
    api: string,
    latencyMs: number,
    status: number,
    now: number,
    limits: readonly CompiledLimit[],
  ) {
    let samples = this.#samples.get(api);
    if (!samples) this.#samples.set(api, (samples = []));
    samples.push({ at: now, latencyMs, failed: status >= 500 });
    if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);

    for (const limit of limits) {
      if (limit.adaptive && limit.apis.has(api)) this.#evaluate(limit, now);
    }
  }

  /** Carries adaptation across a policy change for limits whose id is unchanged. */
  retain(limits: readonly CompiledLimit[]): void {
    const ids = new Set(limits.map((l) => l.id));
    for (const id of this.#state.keys()) if (!ids.has(id)) this.#state.delete(id);
    for (const limit of limits) {
      const state = this.#state.get(limit.id);
      if (state && limit.adaptive) limit.params.limit = effective(limit, state.multiplier);
    }
  }

  #evaluate(limit: CompiledLimit, now: number): void {
    const config = limit.adaptive!;
    let state = this.#state.get(limit.id);
    if (!state) {
      state = { multiplier: 1, lastTightened: -Infinity, lastEvaluated: now, healthySince: null };
      this.#state.set(limit.id, state);
    }

    const windowMs = config.windowSeconds * 1000;
    const recent = [...limit.apis].flatMap((api) =>
      (this.#samples.get(api) ?? []).filter((s) => now - s.at <= windowMs),
    );
    const before = state.multiplier;

    if (recent.length >= config.minSamples && unhealthy(recent, config)) {
      state.healthySince = null;
      if (now - state.lastTightened >= windowMs) {
        state.multiplier = Math.max(config.floor, state.multiplier * config.factor);
        state.lastTightened = now;
      }
    } else if (state.multiplier < 1 && state.healthySince === null) {
      state.healthySince = now;
    } else if (state.multiplier < 1) {
      const elapsed = Math.max(0, now - state.lastEvaluated);
      state.multiplier = Math.min(1, state.multiplier + elapsed / (config.recoverySeconds * 1000));
    }
    state.lastEvaluated = now;

    const next = effective(limit, state.multiplier);
    if (next !== limit.params.limit) {
      this.log.info('adaptive limit changed', {
        limit: limit.name,
        tier: limit.tier,
        effective: next,
        configured: limit.def.requests,
        multiplier: Number(state.multiplier.toFixed(3)),
        direction: state.multiplier < before ? 'tighten' : 'recover',
      });
      limit.params.limit = next;
    }
  }
}

function effective(limit: CompiledLimit, multiplier: number): number {
  return Math.max(1, Math.round(limit.def.requests * multiplier));
}

function unhealthy(samples: Sample[], config: NonNullable<CompiledLimit['adaptive']>): boolean {
  if (config.errorShareAbove !== undefined) {
    const failed = samples.filter((s) => s.failed).length;
    if (failed / samples.length > config.errorShareAbove) return true;
  }
  if (config.p95AboveMs !== undefined) {
    const sorted = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
    const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
    if (p95 > config.p95AboveMs) return true;
  }
  return false;
}

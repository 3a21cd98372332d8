/**
 * Time as the engine sees it: a monotonic clock for rates (immune to the wall clock being set
 * back) and the wall clock for calendar quotas, both shifted by the virtual clock's offset so a
 * developer can jump a day ahead and watch a quota reset.
 */

export interface TimeSource {
  /** Monotonic milliseconds; anchored near the wall clock so persisted rate state stays usable. */
  monotonic(): number;
  /** Wall-clock epoch milliseconds. */
  wall(): number;
}

/** The machine's clocks. The monotonic one starts at the wall time the process started. */
export const systemTime: TimeSource = (() => {
  const anchor = Date.now() - performance.now();
  return {
    monotonic: () => anchor + performance.now(),
    wall: () => Date.now(),
  };
})();

/** A hand-driven time source for tests and benches: nothing moves unless told. */
export class ManualTime implements TimeSource {
  constructor(
    private monotonicMs = 1_000_000,
    private wallMs = Date.UTC(2026, 0, 1),
  ) {}

  monotonic(): number {
    return this.monotonicMs;
  }

  wall(): number {
    return this.wallMs;
  }

  /** Moves both clocks forward together, as real time does. */
  tick(ms: number): void {
    this.monotonicMs += ms;
    this.wallMs += ms;
  }

  setWall(epochMs: number): void {
    this.wallMs = epochMs;
  }
}

/** The engine's clock: a time source plus the virtual offset. */
export class VirtualClock {
  #offsetMs: number;
  #onChange: ((offsetMs: number) => void) | undefined;

  constructor(
    readonly source: TimeSource = systemTime,
    offsetMs = 0,
  ) {
    this.#offsetMs = offsetMs;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  monotonic(): number {
    return this.source.monotonic() + this.#offsetMs;
  }

  wall(): number {
    return this.source.wall() + this.#offsetMs;
  }

  /** Moves Tollgate's time forward; the clock never runs backwards, so `ms` must be >= 0. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock: can only advance by a finite, non-negative duration (${ms})`);
    }
    this.#offsetMs += ms;
    this.#onChange?.(this.#offsetMs);
  }

  /** Back to real time. Counters keep what they counted; rate windows simply look old. */
  reset(): void {
    this.#offsetMs = 0;
    this.#onChange?.(0);
  }

  /** One listener (the engine) that persists the offset. */
  onChange(listener: (offsetMs: number) => void): void {
    this.#onChange = listener;
  }
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `1d`, `2h`, `30m`, `90s`, `1w`, or combinations (`1d12h`); null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(trimmed)) return null;

  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) {
    total += Number(amount) * UNIT_MS[unit!]!;
  }
  return total;
}

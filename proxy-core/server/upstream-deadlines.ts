import type { ClientRequest } from 'node:http';

/**
 * The time an upstream has to send its response headers, for every request in flight, kept by
 * one sweeping timer instead of a socket timer per request (measurably cheaper per request).
 * All requests share one duration, so insertion order is deadline order and a sweep stops at
 * the first request still in time.
 *
 * A body that stalls after the headers is not cut here; the client's own timeout ends it
 * (an idle timer per body would bring back the per-request cost this class avoids).
 */
export class UpstreamDeadlines {
  readonly #ms: number;
  readonly #waiting = new Map<ClientRequest, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Starts the clock for `request`; it is destroyed with `UPSTREAM_TIMEOUT` when it runs out. */
  watch(request: ClientRequest): void {
    this.#waiting.set(request, Date.now() + this.#ms);
    if (this.#timer === undefined) {
      const every = Math.max(20, Math.min(1000, Math.floor(this.#ms / 10)));
      this.#timer = setInterval(() => this.#sweep(), every);
      this.#timer.unref();
    }
  }

  /** The upstream answered (or failed): its clock stops. */
  settle(request: ClientRequest): void {
    this.#waiting.delete(request);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#waiting.clear();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [request, deadline] of this.#waiting) {
      if (deadline > now) return;
      this.#waiting.delete(request);
      request.destroy(Object.assign(new Error('upstream timeout'), { code: 'UPSTREAM_TIMEOUT' }));
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Sliding-window rate limiters driven by an injected clock (the bridge's `now`), so tests can
 * shrink DingTalk's 20/minute window instead of waiting for it.
 *
 * A send occupies a slot from the moment it starts; its timestamp is the moment its answer
 * came back. The provider saw the request before that instant, so spacing by answer times
 * keeps the provider's own count (by arrival) within the limit, whatever the network delay.
 */

export interface WindowLimit {
  readonly limit: number;
  readonly windowMs: number;
}

export class SlidingWindowLimiter {
  private readonly done: number[] = [];
  private inFlight = 0;
  private readonly limits: readonly WindowLimit[];

  constructor(limits: readonly WindowLimit[]) {
    this.limits = limits;
  }

  private prune(now: number): void {
    const longest = Math.max(...this.limits.map((l) => l.windowMs));
    while (this.done.length > 0 && this.done[0]! <= now - longest) this.done.shift();
  }

  /** Earliest time a new send may start: `now` if a slot is free, Infinity while only in-flight sends block. */
  nextFree(now: number): number {
    this.prune(now);
    let at = now;
    for (const { limit, windowMs } of this.limits) {
      const recent = this.done.filter((t) => t > now - windowMs);
      const used = recent.length + this.inFlight;
      if (used < limit) continue;
      // The (used - limit + 1)-th oldest completed send must leave the window; in-flight ones have no time yet.
      const needLeave = used - limit + 1;
      const t = needLeave <= recent.length ? recent[needLeave - 1]! + windowMs : Infinity;
      at = Math.max(at, t);
    }
    return at;
  }

  begin(): void {
    this.inFlight++;
  }

  /** The send did not count at the provider (it was refused before sending). */
  cancel(): void {
    this.inFlight--;
  }

  /** Send times from before a restart (the send journal), so the window survives it. */
  restore(times: readonly number[]): void {
    this.done.push(...times);
    this.done.sort((a, b) => a - b);
  }

  end(at: number): void {
    this.inFlight--;
    this.done.push(at);
    this.done.sort((a, b) => a - b);
  }
}

/**
 * An optional request rate limit for the QorePay sandbox, so load tests see the gateway's 429 answers: a token
 * bucket refilled at `requestsPerSecond`, holding at most `burst` requests. Only gateway API paths count.
 */
export interface SandboxRateLimit {
  requestsPerSecond: number;
  /** Requests allowed at once after a quiet spell. Default: one second's worth. */
  burst?: number;
  /** Called once per request answered with 429 (the benchmark counts them). */
  onLimited?: () => void;
}

/** Returns `take()`: true when the request may pass, false when it should be answered with 429. */
export function tokenBucket(limit: SandboxRateLimit, now: () => number = Date.now): { take(): boolean } {
  const capacity = Math.max(1, limit.burst ?? limit.requestsPerSecond);
  let tokens = capacity;
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(capacity, tokens + ((t - last) / 1000) * limit.requestsPerSecond);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

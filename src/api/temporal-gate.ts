/**
 * A quick answer when Temporal is down: before a route that needs Temporal runs, the API asks a cached health check
 * (one probe at a time, its answer kept for a moment) instead of letting the request wait out the SDK's own retries
 * (about 20 s). Healthy: requests pass at the cost of one probe per `okForMs`. Down: requests are refused at once
 * with the probe's error, and the next probe runs after `failedForMs`.
 */
export interface TemporalGateOptions {
  /** Resolves when Temporal answers (bounded by its own deadline, e.g. 1.5 s). */
  check: () => Promise<void>;
  /** How long a success is trusted. Default 2000 ms. */
  okForMs?: number;
  /** How long a failure is repeated without a new probe. Default 1000 ms. */
  failedForMs?: number;
  now?: () => number;
}

export function createTemporalGate(opts: TemporalGateOptions): () => Promise<void> {
  const okForMs = opts.okForMs ?? 2000;
  const failedForMs = opts.failedForMs ?? 1000;
  const now = opts.now ?? Date.now;
  let last: { at: number; error?: Error } | undefined;
  let probing: Promise<void> | undefined;
  return async () => {
    if (last && now() - last.at < (last.error === undefined ? okForMs : failedForMs)) {
      if (last.error !== undefined) throw last.error;
      return;
    }
    probing ??= opts
      .check()
      .then(
        () => void (last = { at: now() }),
        (error: unknown) => {
          last = {
            at: now(),
            error: error instanceof Error ? error : new Error(`Temporal health check failed: ${String(error)}`),
          };
        },
      )
      .finally(() => (probing = undefined));
    await probing;
    if (last?.error !== undefined) throw last.error;
  };
}

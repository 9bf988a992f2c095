/**
 * Start-up against a Temporal that may not be up yet (a compose stack starting, a server restart overlapping a worker
 * restart): keep trying with capped exponential backoff and log every failed try, instead of exiting.
 */
import type { Logger } from './logger';

export interface RetryConnectOptions {
  logger: Logger;
  /** What is being connected, for the log lines (e.g. `Temporal at temporal:7233`). */
  target: string;
  /** First wait after a failure; doubles up to maxDelayMs. Default 500 ms. */
  initialDelayMs?: number;
  /** Default 30 s. */
  maxDelayMs?: number;
  /** Stops retrying (the promise rejects with the signal's reason), e.g. on SIGTERM during start-up. */
  signal?: AbortSignal;
  /** Injected in tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class ConnectAbortedError extends Error {
  constructor(target: string) {
    super(`gave up connecting to ${target}: stopped`);
    this.name = 'ConnectAbortedError';
  }
}

/** The delay before try `attempt + 1` (attempt counts from 1): initial * 2^(attempt-1), capped. */
export function backoffDelayMs(attempt: number, initialDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 30));
}

const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Calls `connect` until it resolves; each failure is logged with the attempt number and the next wait. */
export async function retryConnect<T>(connect: () => Promise<T>, opts: RetryConnectOptions): Promise<T> {
  const initial = opts.initialDelayMs ?? 500;
  const max = opts.maxDelayMs ?? 30_000;
  const sleep = opts.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw new ConnectAbortedError(opts.target);
    try {
      const result = await connect();
      if (attempt > 1) opts.logger.info({ attempt }, `connected to ${opts.target}`);
      return result;
    } catch (err) {
      const retryInMs = backoffDelayMs(attempt, initial, max);
      opts.logger.warn(
        { attempt, retryInMs, err: err instanceof Error ? err.message : String(err) },
        `${opts.target} unreachable; retrying`,
      );
      await sleep(retryInMs, opts.signal);
    }
  }
}

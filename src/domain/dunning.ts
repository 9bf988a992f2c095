/**
 * Dunning: when to try a declined charge again, and when to stop. Pure and deterministic (runs inside workflows).
 * Defaults follow reference/billing-policy.md; every number is a per-subscription override.
 */
import type { DeclineClass } from './declines';

const HOUR = 60 * 60 * 1000;

export interface DunningPolicy {
  /** Offsets from the FIRST attempt of the cycle, in hours, for each soft-decline retry (8 attempts within 14 days). */
  softRetryOffsetsHours: number[];
  /** Card-network style cap: attempts with one token in any rolling 30 days, counting every source. */
  maxAttemptsPerToken30Days: number;
  /** `do_not_honour` is soft but capped lower: total declined attempts with this code before giving up. */
  doNotHonourMaxAttempts: number;
  /** Codes we do not know are soft with a low cap. */
  unknownCodeMaxAttempts: number;
  /** Never attempt sooner than this after the previous attempt, whatever asks for it (retryNow, a new token). */
  minHoursBetweenAttempts: number;
  /** Re-read a pending Purchase after these intervals; the last one repeats. */
  pendingPollIntervalsHours: number[];
  /** Alert operations (and the merchant) when a charge stays pending this long; polling goes on. */
  pendingAlertAfterHours: number;
  /** After a hard decline, wait this long for a new payment method before the cycle fails. */
  hardDeclineGraceHours: number;
  /** A merchant-configuration decline is retried after this delay, without counting against the customer. */
  merchantConfigRetryHours: number;
  /** ... but not forever: after this many such retries the cycle fails with an alert. */
  merchantConfigMaxRetries: number;
}

export const DEFAULT_DUNNING_POLICY: Readonly<DunningPolicy> = Object.freeze({
  softRetryOffsetsHours: [24, 48, 72, 120, 168, 240, 336],
  maxAttemptsPerToken30Days: 10,
  doNotHonourMaxAttempts: 4,
  unknownCodeMaxAttempts: 3,
  minHoursBetweenAttempts: 4,
  pendingPollIntervalsHours: [1, 24],
  pendingAlertAfterHours: 72,
  hardDeclineGraceHours: 168,
  merchantConfigRetryHours: 6,
  merchantConfigMaxRetries: 28,
});

/** Problems with a policy, each naming the field; empty when valid. */
export function validateDunningPolicy(p: DunningPolicy): string[] {
  const problems: string[] = [];
  const positiveInt = (field: keyof DunningPolicy, v: unknown, min = 1): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      problems.push(`${field}: must be an integer >= ${min}`);
  };
  const positiveNumber = (field: keyof DunningPolicy, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) problems.push(`${field}: must be a number > 0`);
  };
  if (!Array.isArray(p.softRetryOffsetsHours) || p.softRetryOffsetsHours.length > 30) {
    problems.push('softRetryOffsetsHours: must be a list of at most 30 offsets');
  } else {
    p.softRetryOffsetsHours.forEach((h, i) => {
      if (typeof h !== 'number' || !Number.isFinite(h) || h <= 0)
        problems.push(`softRetryOffsetsHours.${i}: must be > 0`);
      const prev = p.softRetryOffsetsHours[i - 1];
      if (prev !== undefined && h <= prev)
        problems.push(`softRetryOffsetsHours.${i}: must be greater than the previous offset`);
    });
  }
  positiveInt('maxAttemptsPerToken30Days', p.maxAttemptsPerToken30Days);
  positiveInt('doNotHonourMaxAttempts', p.doNotHonourMaxAttempts);
  positiveInt('unknownCodeMaxAttempts', p.unknownCodeMaxAttempts);
  if (typeof p.minHoursBetweenAttempts !== 'number' || !(p.minHoursBetweenAttempts >= 0)) {
    problems.push('minHoursBetweenAttempts: must be a number >= 0');
  }
  if (!Array.isArray(p.pendingPollIntervalsHours) || p.pendingPollIntervalsHours.length === 0) {
    problems.push('pendingPollIntervalsHours: must list at least one interval');
  } else {
    p.pendingPollIntervalsHours.forEach((h, i) => {
      if (typeof h !== 'number' || !Number.isFinite(h) || h <= 0)
        problems.push(`pendingPollIntervalsHours.${i}: must be > 0`);
    });
  }
  positiveNumber('pendingAlertAfterHours', p.pendingAlertAfterHours);
  positiveNumber('hardDeclineGraceHours', p.hardDeclineGraceHours);
  positiveNumber('merchantConfigRetryHours', p.merchantConfigRetryHours);
  positiveInt('merchantConfigMaxRetries', p.merchantConfigMaxRetries, 0);
  return problems;
}

/** One charge attempt as the cycle remembers it. */
export interface AttemptRecord {
  /** Epoch ms (workflow time) when the attempt was made. */
  at: number;
  token: string;
  outcome: 'paid' | 'pending' | 'declined';
  code?: string;
  declineClass?: DeclineClass;
}

export type DunningDecision =
  | { action: 'retry'; at: number; reason: string }
  | { action: 'await_payment_method'; until: number; reason: string }
  | { action: 'fail'; reason: string };

/**
 * What to do after a declined attempt. `attempts` holds every attempt of this cycle, newest last, the declined one
 * included; `priorTokenAttempts` are epoch-ms times of attempts made with the same token elsewhere (other cycles).
 */
export function decideAfterDecline(input: {
  policy: DunningPolicy;
  attempts: readonly AttemptRecord[];
  priorTokenAttempts?: readonly number[];
  now: number;
  merchantConfigRetries: number;
}): DunningDecision {
  const { policy, attempts, now } = input;
  const last = attempts[attempts.length - 1];
  if (!last || last.outcome !== 'declined') throw new Error('decideAfterDecline needs a declined attempt last');
  const cls = last.declineClass ?? 'unknown';

  if (cls === 'hard') {
    return {
      action: 'await_payment_method',
      until: now + policy.hardDeclineGraceHours * HOUR,
      reason: phrase('hard decline', last.code),
    };
  }
  if (cls === 'merchant_configuration') {
    if (input.merchantConfigRetries >= policy.merchantConfigMaxRetries) {
      return { action: 'fail', reason: phrase('merchant configuration decline', last.code, 'persisted') };
    }
    return { action: 'retry', at: now + policy.merchantConfigRetryHours * HOUR, reason: 'merchant configuration' };
  }

  // Soft and unknown declines count against the customer; merchant-configuration ones do not.
  const customerAttempts = attempts.filter((a) => a.declineClass !== 'merchant_configuration');
  const n = customerAttempts.length;
  if (last.code === 'do_not_honour' && countCode(attempts, 'do_not_honour') >= policy.doNotHonourMaxAttempts) {
    return { action: 'fail', reason: `do_not_honour declined ${policy.doNotHonourMaxAttempts} times` };
  }
  if (cls === 'unknown' && countClass(attempts, 'unknown') >= policy.unknownCodeMaxAttempts) {
    return {
      action: 'fail',
      reason: phrase('unknown decline', last.code, `repeated ${policy.unknownCodeMaxAttempts} times`),
    };
  }
  const offset = policy.softRetryOffsetsHours[n - 1];
  if (offset === undefined) return { action: 'fail', reason: `soft declines exhausted after ${n} attempts` };
  const first = customerAttempts[0]!;
  let at = Math.max(first.at + offset * HOUR, last.at + policy.minHoursBetweenAttempts * HOUR, now);
  at = respectTokenCap(policy, attempts, input.priorTokenAttempts ?? [], last.token, at);
  return { action: 'retry', at, reason: phrase('soft decline', last.code) };
}

/** Earliest time >= `at` at which one more attempt with `token` stays within the rolling 30-day cap. */
export function respectTokenCap(
  policy: DunningPolicy,
  attempts: readonly AttemptRecord[],
  priorTokenAttempts: readonly number[],
  token: string,
  at: number,
): number {
  const window = 30 * 24 * HOUR;
  const times = [...priorTokenAttempts, ...attempts.filter((a) => a.token === token).map((a) => a.at)].sort(
    (a, b) => a - b,
  );
  // With k = cap attempts allowed per window, the next attempt must come after the (len - cap + 1)-th newest leaves it.
  const excess = times.length - policy.maxAttemptsPerToken30Days + 1;
  if (excess <= 0) return at;
  const blocking = times[excess - 1]!;
  return Math.max(at, blocking + window + 1);
}

/** Delay before the next re-read of a pending Purchase, given how many polls were made already. */
export function pendingPollDelayMs(policy: DunningPolicy, pollsSoFar: number): number {
  const list = policy.pendingPollIntervalsHours;
  const hours = list[Math.min(pollsSoFar, list.length - 1)] ?? 24;
  return hours * HOUR;
}

function countCode(attempts: readonly AttemptRecord[], code: string): number {
  return attempts.filter((a) => a.outcome === 'declined' && a.code === code).length;
}
/** An attempt recorded without a class is an unknown decline, as `decideAfterDecline` treats the last one. */
function countClass(attempts: readonly AttemptRecord[], cls: DeclineClass): number {
  return attempts.filter((a) => a.outcome === 'declined' && (a.declineClass ?? 'unknown') === cls).length;
}

/** A reason's words around the decline code, without a gap where a missing (or empty) code would be. */
function phrase(...words: Array<string | undefined>): string {
  return words.filter((w) => w !== undefined && w.trim() !== '').join(' ');
}

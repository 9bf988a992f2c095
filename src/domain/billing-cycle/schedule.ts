/**
 * When the next charge may be made. Never sooner than `minHoursBetweenAttempts` after the previous attempt, nor past
 * the token's 30-day cap; the dunning schedule, `retryNow` and a new token each ask for it within those bounds.
 */
import { respectTokenCap, type DunningPolicy } from '../dunning';
import type { CycleContext } from './events';
import { HOUR } from './limits';
import { isTerminalCycleStatus, type CycleMachineState } from './state';

/** The earliest time a charge may be made after the last attempt (minHoursBetweenAttempts). */
export function earliestNextAttempt(s: CycleMachineState, policy: DunningPolicy): number {
  const last = s.attempts[s.attempts.length - 1];
  return last ? last.at + policy.minHoursBetweenAttempts * HOUR : 0;
}

/** Why `retryNow` is refused right now, or undefined when it is accepted. */
export function retryNowRefusal(s: CycleMachineState, ctx: CycleContext): string | undefined {
  if (s.status !== 'retry_scheduled') return `the cycle is ${s.status}, not retry_scheduled`;
  if (s.cancel) return 'a cancel was requested';
  if (s.paused) return 'the subscription is paused';
  const minAt = earliestNextAttempt(s, ctx.policy);
  if (minAt > ctx.now)
    return `the last attempt was less than ${ctx.policy.minHoursBetweenAttempts}h ago; next allowed at ${new Date(minAt).toISOString()}`;
  const capAt = respectTokenCap(ctx.policy, s.attempts, s.priorTokenAttempts, s.token, ctx.now);
  if (capAt > ctx.now)
    return `the token reached ${ctx.policy.maxAttemptsPerToken30Days} attempts in 30 days; next allowed at ${new Date(capAt).toISOString()}`;
  return undefined;
}

export function onRetryNowRequested(s: CycleMachineState, ctx: CycleContext): void {
  if (retryNowRefusal(s, ctx) === undefined) s.retryNow = true;
}

/** A new token that has not been tried yet is charged next (a terminal cycle takes none). */
export function onTokenUpdated(s: CycleMachineState, token: string): void {
  if (isTerminalCycleStatus(s.status) || !token || token === s.token) return;
  s.token = token;
  s.tokenChanged = true;
}

/** When the next charge is due: at once for a first attempt, a new token or `retryNow`, else on the schedule. */
export function chargeDueAt(s: CycleMachineState, ctx: CycleContext): number {
  const now = ctx.now;
  let dueAt: number;
  if (s.attempts.length === 0 && s.status !== 'retry_scheduled') dueAt = now;
  else if (s.tokenChanged || s.retryNow) dueAt = now;
  else dueAt = s.nextAttemptAt ?? now;
  dueAt = Math.max(dueAt, earliestNextAttempt(s, ctx.policy));
  return respectTokenCap(ctx.policy, s.attempts, s.priorTokenAttempts, s.token, dueAt);
}

/** Nothing is scheduled any more: the cycle took its money or ended. */
export function clearSchedule(s: CycleMachineState): void {
  delete s.nextAttemptAt;
  delete s.nextPollAt;
  delete s.wakeAt;
  delete s.actionRequiredUntil;
  s.retryNow = false;
  s.confirm = false;
}

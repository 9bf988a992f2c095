/**
 * A subscription's start: the first period it bills (never one that ended before it existed, whatever the anchor),
 * the refusal of one that would bill nothing, and its initial state.
 */
import { periodIndexAt, periodStart, trialEnd, type BillingSchedule } from '../calendar';
import { recordChange } from '../change-trail';
import type { ChangeActor } from '../actor';
import type { PlanTerms, SubscriptionMachineState } from './state';

/**
 * The first period a subscription created at `now` bills: the one containing `now` (0 before the first due date).
 * Periods that ended before it existed are never charged, whatever the anchor.
 */
export function firstBilledPeriod(schedule: BillingSchedule, now: number): number {
  return now >= periodStart(schedule, 0) ? Math.max(0, periodIndexAt(schedule, now)) : 0;
}

/**
 * Why a subscription created at `now` would bill nothing, or undefined: a past anchor whose `maxPeriods` all ended
 * before `now`. Such a subscription would answer "active", complete at once and never bill; it is refused instead.
 */
export function nothingToBillAtCreation(
  schedule: BillingSchedule,
  maxPeriods: number | undefined,
  now: number,
): string | undefined {
  if (maxPeriods === undefined) return undefined;
  const first = firstBilledPeriod(schedule, now);
  if (first < maxPeriods) return undefined;
  return (
    `all ${maxPeriods} period(s) from anchor ${schedule.anchor} (${schedule.timeZone}) ended before now, and periods ` +
    `before a subscription exists are never billed: nothing would be billed (give a later anchor or more maxPeriods)`
  );
}

export function initialSubscriptionState(input: {
  recurringToken: string;
  plan: PlanTerms;
  schedule: BillingSchedule;
  now: number;
  /** Who created it: starts the change trail with a `create` entry. */
  createdBy?: ChangeActor | undefined;
}): SubscriptionMachineState {
  const trialEndsAt = trialEnd(input.schedule);
  // Never charge for periods that ended before the subscription existed: start with the one containing now.
  const current = firstBilledPeriod(input.schedule, input.now);
  return {
    status: trialEndsAt !== null && input.now < trialEndsAt ? 'trialing' : 'active',
    recurringToken: input.recurringToken,
    plan: input.plan,
    nextPeriodIndex: Math.max(0, current),
    cancelAtPeriodEnd: false,
    cycles: [],
    failingCycles: [],
    recentCycles: [],
    paidCycles: [],
    paymentEvents: [],
    seenPaymentIds: [],
    settlementReversals: [],
    tokenAttempts: [],
    requests: [],
    work: [],
    ...(input.createdBy ? { changes: recordChange(undefined, 'create', { actor: input.createdBy }, input.now) } : {}),
    finished: false,
  };
}

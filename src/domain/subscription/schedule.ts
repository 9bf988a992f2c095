/**
 * The billing schedule: when the next period's cycle starts (due dates come from the anchor, src/domain/calendar/),
 * cancel at period end, the end of billing, and when the subscription wakes.
 *
 * - Every due period gets a cycle, one at a time, while billing is not stopped (paused, unpaid, canceled); a plan
 *   change takes effect with the next cycle started.
 * - Billing ends when the subscription is canceled or its `maxPeriods` are billed; the workflow then stays open
 *   until the last paid cycle's reversal window closes, and finishes.
 * - With cycles in flight, a liveness check every day pings them (a cycle gone without a report is found).
 * - Paid cycles are kept for the reversal window, longer while a refund is pending or settlement work is queued.
 */
import { describePeriod, periodIndexAt, periodStart } from '../calendar';
import { DAY, LIVENESS_ALIGN_WINDOW_MS, SUBSCRIPTION_LIMITS } from './limits';
import { ask, type Out, type Step, type SubscriptionContext } from './events';
import { cancelNow } from './lifecycle';
import { billingStopped, planAmountMinor, setStatus, type CycleInFlight, type SubscriptionMachineState } from './state';

/** Plan step: the schedule. Starts the cycle of a period that is due, or sets when to wake. */
export function scheduleStep(s: SubscriptionMachineState, ctx: SubscriptionContext, out: Out): Step {
  const now = ctx.now;
  if (s.status !== 'canceled' && s.cancelAtPeriodEnd && s.cancelAt !== undefined && now >= s.cancelAt) {
    cancelNow(s, now, s.cancelReason ?? 'canceled at period end', out);
    return 'again';
  }
  const allBilled = ctx.maxPeriods !== undefined && s.nextPeriodIndex >= ctx.maxPeriods;
  if (s.status === 'canceled' || allBilled) return billingEnded(s, ctx, out);

  const firstDue = periodStart(ctx.schedule, 0);
  if (s.status === 'trialing' && now >= firstDue) setStatus(s, 'active');
  const due = periodStart(ctx.schedule, s.nextPeriodIndex);
  if (!billingStopped(s) && now >= due) {
    if (s.cancelAtPeriodEnd) {
      cancelNow(s, now, s.cancelReason ?? 'canceled at period end', out);
      return 'again';
    }
    return startCycle(s, ctx, out);
  }
  const wakes: number[] = [];
  if (!billingStopped(s)) wakes.push(due);
  if (s.cancelAtPeriodEnd && s.cancelAt !== undefined) wakes.push(s.cancelAt);
  if (s.cycles.length > 0) {
    scheduleLiveness(s, ctx, now);
    if (s.wakeAt !== undefined) wakes.push(s.wakeAt);
  }
  s.wakeAt = wakes.length ? Math.min(...wakes) : undefined;
  return 'done';
}

/** Nothing more is billed: wait for the cycles in flight, then for the reversal window, then finish. */
function billingEnded(s: SubscriptionMachineState, ctx: SubscriptionContext, out: Out): Step {
  const now = ctx.now;
  if (s.cycles.length > 0) {
    scheduleLiveness(s, ctx, now);
    return 'done';
  }
  s.endedAt ??= now;
  const closeAt = lastReversalDeadline(s);
  if (now >= closeAt) {
    s.finished = true;
    out.push({ type: 'finish' });
    return 'done';
  }
  s.wakeAt = closeAt;
  return 'done';
}

/** The next period is due: its cycle starts on the plan in effect (a pending plan change takes effect now). */
function startCycle(s: SubscriptionMachineState, ctx: SubscriptionContext, out: Out): Step {
  if (s.pendingPlan) {
    s.plan = s.pendingPlan;
    delete s.pendingPlan;
  }
  const period = describePeriod(ctx.schedule, s.nextPeriodIndex);
  const cycleId = `cycle:${ctx.subscriptionId}:${s.nextPeriodIndex}`;
  const c: CycleInFlight = {
    cycleId,
    periodIndex: s.nextPeriodIndex,
    periodStart: period.start,
    amountMinor: planAmountMinor(s.plan),
    token: s.recurringToken,
    paused: false,
    canceled: false,
  };
  s.cycles.push(c);
  s.nextPeriodIndex++;
  return ask(s, out, {
    type: 'start_cycle',
    cycleId,
    periodIndex: c.periodIndex,
    periodStart: period.start,
    periodEnd: period.end,
    token: s.recurringToken,
    plan: s.plan,
    paused: false,
    priorTokenAttempts: [...s.tokenAttempts],
  });
}

/** Every day with cycles in flight, ping them: a cycle that is gone without a report is found and alerted. */
function scheduleLiveness(s: SubscriptionMachineState, ctx: SubscriptionContext, now: number): void {
  s.nextLivenessCheckAt ??= livenessCheckAfter(s, ctx, now);
  s.wakeAt = s.nextLivenessCheckAt;
}

/** When the liveness check is due, every cycle in flight gets a ping (sent by the sync step right after). */
export function markLivenessPings(s: SubscriptionMachineState, ctx: SubscriptionContext, now: number): void {
  if (s.cycles.length === 0 || s.nextLivenessCheckAt === undefined || now < s.nextLivenessCheckAt) return;
  for (const c of s.cycles) c.ping = true;
  s.nextLivenessCheckAt = livenessCheckAfter(s, ctx, now);
}

/**
 * The next liveness check: a day after `now`, or, with `ctx.livenessOnDueTimes`, the due time of a period still to
 * be billed when the day ends within LIVENESS_ALIGN_WINDOW_MS after it (each check then keeps to the due times: a
 * check made a few ms after a due time would otherwise drift off it again). The first check is counted from the first
 * step that sees a cycle in flight, a fraction of a second after the period started, so without this a daily
 * subscription with a cycle in dunning woke at each due time and again a few hundred milliseconds later: a timer and a
 * workflow task more, and a sub-second timer that the time-skipping test server cannot take when a signal arrives as
 * it fires (temporalio/sdk-java#3088).
 */
function livenessCheckAfter(s: SubscriptionMachineState, ctx: SubscriptionContext, now: number): number {
  const at = now + SUBSCRIPTION_LIMITS.livenessCheckDays * DAY;
  if (!ctx.livenessOnDueTimes || billingStopped(s)) return at;
  // The period whose due time is the last one at or before `at` (a period still to be billed, if any).
  const k = periodIndexAt(ctx.schedule, at);
  if (k < s.nextPeriodIndex || (ctx.maxPeriods !== undefined && k >= ctx.maxPeriods)) return at;
  const due = periodStart(ctx.schedule, k);
  return at - due <= LIVENESS_ALIGN_WINDOW_MS ? due : at;
}

function lastReversalDeadline(s: SubscriptionMachineState): number {
  const window = SUBSCRIPTION_LIMITS.reversalWindowDays * DAY;
  const paid = s.paidCycles.map((c) => c.paidAt + window);
  return Math.max(s.endedAt ?? 0, ...paid);
}

export function prunePaidCycles(s: SubscriptionMachineState, now: number): void {
  const window = SUBSCRIPTION_LIMITS.reversalWindowDays * DAY;
  s.paidCycles = s.paidCycles.filter(
    (c) => now < c.paidAt + window || c.pendingRefunds.length > 0 || s.work.some((w) => w.cycleId === c.cycleId),
  );
}

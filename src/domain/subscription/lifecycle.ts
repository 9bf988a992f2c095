/**
 * The subscription's status under merchant requests and failed cycles: cancel (now or at period end), pause and
 * resume, a plan change or a new card (recorded here, taken to the cycles by plan.ts), and the escalation of a cycle
 * that failed against the customer.
 *
 * - Cancel at period end is fixed when asked: the end of the current period (while paused, nextPeriodIndex lags).
 * - Periods that fell due while paused or unpaid are not billed: resume moves past them.
 * - A plan change takes effect at the start of the next billed period (schedule.ts).
 * - Escalation follows the merchant's policy; keep_past_due never ends a pause (that would restart billing).
 */
import { periodIndexAt, periodStart, trialEnd } from '../calendar';
import type { EventOf, Out, SubscriptionContext } from './events';
import { setStatus, type SubscriptionMachineState } from './state';

export function cancelNow(s: SubscriptionMachineState, now: number, reason: string, out: Out): void {
  if (s.status === 'canceled') return;
  s.canceledAt = now;
  s.cancelReason = reason;
  s.cancelAtPeriodEnd = false;
  delete s.cancelAt;
  delete s.statusBeforePause;
  setStatus(s, 'canceled');
  s.endedAt = now;
  out.push({ type: 'notify', event: 'subscription.canceled', key: 'canceled', data: { reason, status: 'canceled' } });
}

export function onCancelRequested(
  s: SubscriptionMachineState,
  e: EventOf<'cancel_requested'>,
  ctx: SubscriptionContext,
  out: Out,
): void {
  const now = ctx.now;
  if (s.status === 'canceled') return;
  if (e.mode === 'period_end') {
    s.cancelAtPeriodEnd = true;
    s.cancelReason = e.reason ?? 'canceled at period end';
    // The end of the current period, fixed now: while paused, nextPeriodIndex lags behind the calendar.
    s.cancelAt = periodStart(ctx.schedule, Math.max(s.nextPeriodIndex, periodIndexAt(ctx.schedule, now) + 1));
  } else {
    cancelNow(s, now, e.reason ?? 'canceled by request', out);
  }
}

export function onPauseRequested(s: SubscriptionMachineState): void {
  if (s.status === 'paused' || s.status === 'canceled') return;
  s.statusBeforePause = s.status;
  setStatus(s, 'paused');
}

export function onResumeRequested(s: SubscriptionMachineState, ctx: SubscriptionContext): void {
  const now = ctx.now;
  if (s.status !== 'paused' && s.status !== 'unpaid') return;
  // Periods that fell due while paused are not billed: the next one is the first that starts from now on.
  const current = periodIndexAt(ctx.schedule, now);
  s.nextPeriodIndex = Math.max(s.nextPeriodIndex, current + 1);
  const before = s.statusBeforePause;
  delete s.statusBeforePause;
  const trialEndsAt = trialEnd(ctx.schedule);
  setStatus(
    s,
    before === 'past_due' && s.failingCycles.length > 0
      ? 'past_due'
      : trialEndsAt !== null && now < trialEndsAt
        ? 'trialing'
        : 'active',
  );
}

export function onPlanChanged(s: SubscriptionMachineState, e: EventOf<'plan_changed'>): void {
  if (s.status !== 'canceled') s.pendingPlan = e.plan;
}

export function onTokenUpdated(s: SubscriptionMachineState, e: EventOf<'token_updated'>): void {
  if (s.status === 'canceled' || !e.token) return;
  if (e.token !== s.recurringToken) s.tokenAttempts = [];
  s.recurringToken = e.token;
}

/** A cycle failed against the customer: the merchant's escalation policy decides what the subscription becomes. */
export function escalate(
  s: SubscriptionMachineState,
  cycleId: string,
  now: number,
  ctx: SubscriptionContext,
  out: Out,
): void {
  if (s.status === 'canceled') return;
  if (ctx.escalation === 'cancel') {
    cancelNow(s, now, `cycle ${cycleId} failed`, out);
  } else if (ctx.escalation === 'mark_unpaid') {
    delete s.statusBeforePause;
    setStatus(s, 'unpaid');
    out.push({
      type: 'notify',
      event: 'subscription.unpaid',
      key: `unpaid:${cycleId}`,
      data: { cycleId, status: 'unpaid' },
    });
  } else if (s.status === 'paused') {
    s.statusBeforePause = 'past_due'; // keep_past_due must not end a pause (that would restart billing)
  } else {
    setStatus(s, 'past_due');
  }
}

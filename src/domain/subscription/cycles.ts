/**
 * The cycles in flight and what they report. A start the cycle's workflow id policy refuses means the period was
 * billed already (never twice); a cycle that cannot be signalled closed without reporting (lost: alerted, nobody bills
 * it). A report that is not final (dunning) makes the subscription past_due; a final one moves the cycle to the recent
 * cycles, keeps a paid one for refunds and chargebacks for the reversal window, and escalates a customer failure
 * (once per cycle) while an operations failure only alerts.
 */
import { describePeriod } from '../calendar';
import { DAY, SUBSCRIPTION_LIMITS, pushBounded } from './limits';
import type { CycleReport, EventOf, Out, SubscriptionContext } from './events';
import { escalate } from './lifecycle';
import { releaseHeldPaymentEvents } from './payment-events';
import { queueOwedReversals } from './settlement';
import { findPaidCycle, setStatus, type CycleSummary, type SubscriptionMachineState } from './state';

export function onCycleStarted(e: EventOf<'cycle_started'>, out: Out): void {
  if (!e.ok) {
    // REJECT_DUPLICATE: the period was billed already (e.g. a start replayed after continue-as-new). Never twice.
    // It exists: it stays in flight so its report is awaited and it is kept in step.
    out.push({
      type: 'alert',
      code: 'cycle_exists',
      message: `cycle ${e.cycleId} was not started: ${e.error ?? 'it exists already'}`,
      severity: 'warning',
    });
  }
}

export function onCycleStopAcked(s: SubscriptionMachineState, e: EventOf<'cycle_stop_acked'>): void {
  const c = s.cycles.find((x) => x.cycleId === e.cycleId);
  if (c) delete c.stopAckDue;
}

export function onCycleSignaled(
  s: SubscriptionMachineState,
  e: EventOf<'cycle_signaled'>,
  ctx: SubscriptionContext,
  out: Out,
): void {
  if (e.ok) return;
  const c = s.cycles.find((x) => x.cycleId === e.cycleId);
  if (!c) return; // it reported meanwhile
  // The cycle is closed but never reported (terminated by an operator, or lost): nobody bills that period.
  s.cycles = s.cycles.filter((x) => x.cycleId !== e.cycleId);
  s.failingCycles = s.failingCycles.filter((x) => x !== e.cycleId);
  pushBounded(
    s.recentCycles,
    {
      cycleId: c.cycleId,
      periodIndex: c.periodIndex,
      periodStart: c.periodStart,
      status: 'lost',
      amountMinor: c.amountMinor,
    },
    SUBSCRIPTION_LIMITS.recentCyclesKept,
  );
  out.push({
    type: 'alert',
    code: 'cycle_lost',
    message: `cycle ${c.cycleId} closed without reporting its outcome (${e.error ?? 'unreachable'}); check the gateway and bill or refund by hand`,
    severity: 'critical',
    details: { cycleId: c.cycleId },
  });
  releaseHeldPaymentEvents(s, c.cycleId, ctx, out);
}

export function onCycleReported(
  s: SubscriptionMachineState,
  e: EventOf<'cycle_reported'>,
  ctx: SubscriptionContext,
  out: Out,
): void {
  onCycleReport(s, e.report, ctx, out);
  if (e.report.final) releaseHeldPaymentEvents(s, e.report.cycleId, ctx, out);
}

function onCycleReport(s: SubscriptionMachineState, u: CycleReport, ctx: SubscriptionContext, out: Out): void {
  const now = ctx.now;
  if (u.token === s.recurringToken) {
    const cutoff = now - 30 * DAY;
    s.tokenAttempts = [...new Set([...s.tokenAttempts, ...u.attemptTimes])]
      .filter((t) => t >= cutoff)
      .sort((a, b) => a - b);
  }
  if (!u.final) {
    onDunningReport(s, u, out);
    return;
  }
  const previous = s.recentCycles.find((c) => c.cycleId === u.cycleId);
  closeCycle(s, u, previous, ctx);
  const paid = u.status === 'paid' || u.status === 'marked_paid';
  if (paid && u.purchaseId) {
    keepPaidCycle(s, u, u.purchaseId, previous, ctx, out);
    if (s.status === 'past_due' && s.failingCycles.length === 0) setStatus(s, 'active');
    return;
  }
  if (u.status === 'failed' && !previous) {
    if (u.failureKind === 'operations') {
      out.push({
        type: 'alert',
        code: 'cycle_failed_operations',
        message: `cycle ${u.cycleId} failed for an operations reason (${u.failureReason ?? ''}); the customer is not escalated`,
        severity: 'critical',
        details: { cycleId: u.cycleId },
      });
      if (s.status === 'past_due' && s.failingCycles.length === 0) setStatus(s, 'active');
      return;
    }
    escalate(s, u.cycleId, now, ctx, out);
  }
}

/** A cycle in dunning: the subscription is past due (told to the merchant once per cycle). */
function onDunningReport(s: SubscriptionMachineState, u: CycleReport, out: Out): void {
  if (!s.failingCycles.includes(u.cycleId)) s.failingCycles.push(u.cycleId);
  if (s.status === 'active' || s.status === 'trialing') {
    setStatus(s, 'past_due');
    out.push({
      type: 'notify',
      event: 'subscription.past_due',
      key: `past_due:${u.cycleId}`,
      data: { cycleId: u.cycleId, cycleStatus: u.status, status: 'past_due' },
    });
  }
}

/** A final report: the cycle is no longer in flight, and its summary joins (or replaces) the recent cycles. */
function closeCycle(
  s: SubscriptionMachineState,
  u: CycleReport,
  previous: CycleSummary | undefined,
  ctx: SubscriptionContext,
): void {
  const inFlight = s.cycles.find((c) => c.cycleId === u.cycleId);
  s.cycles = s.cycles.filter((c) => c.cycleId !== u.cycleId);
  s.failingCycles = s.failingCycles.filter((c) => c !== u.cycleId);
  const summary: CycleSummary = {
    cycleId: u.cycleId,
    periodIndex: u.periodIndex,
    periodStart: inFlight?.periodStart ?? previous?.periodStart ?? describePeriod(ctx.schedule, u.periodIndex).start,
    status: u.status,
    amountMinor: u.amountMinor,
    ...(u.purchaseId ? { purchaseId: u.purchaseId } : {}),
    ...(u.failureReason ? { failureReason: u.failureReason } : {}),
    ...(u.currency ? { currency: u.currency } : {}),
    ...(u.settlement ? { settlement: u.settlement } : {}),
  };
  s.recentCycles = [...s.recentCycles.filter((c) => c.cycleId !== u.cycleId), summary].slice(
    -SUBSCRIPTION_LIMITS.recentCyclesKept,
  );
}

/** A paid cycle is kept for refunds and chargebacks; a later report of it brings the settlement written since. */
function keepPaidCycle(
  s: SubscriptionMachineState,
  u: CycleReport,
  purchaseId: string,
  previous: CycleSummary | undefined,
  ctx: SubscriptionContext,
  out: Out,
): void {
  const existing = findPaidCycle(s, u.cycleId);
  const stale =
    !existing && ctx.reversalsOwedOnLaterRecord && (previous?.status === 'paid' || previous?.status === 'marked_paid');
  if (stale) {
    // A paid cycle whose record was kept for the reversal window and pruned: a late or repeated report must not
    // open it again to refunds as if nothing had been refunded.
    return;
  }
  if (existing) {
    // A later report (after an operator's or the sweep's settlement retry) brings the records written since.
    if (u.settlement) {
      const before = existing.settlement;
      existing.settlement = u.settlement;
      if (ctx.reversalsOwedOnLaterRecord) queueOwedReversals(s, existing, before, ctx.now, out);
    }
    return;
  }
  s.paidCycles.push({
    cycleId: u.cycleId,
    purchaseId,
    amountMinor: u.amountMinor,
    currency: u.currency ?? s.plan.currency,
    paidAt: ctx.now,
    settlement: u.settlement ?? [],
    refundedMinor: 0,
    refundPaymentIds: [],
    pendingRefunds: [],
    chargedBack: false,
    chargebackRound: 0,
    reversedMinor: [],
  });
}

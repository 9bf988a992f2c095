/**
 * Payment webhooks (refund, chargeback, chargeback reversed): matched on cycle AND Purchase, deduplicated by Payment
 * id, applied through reversals.ts. One that matches no paid cycle raises an alert; nothing is dropped silently.
 * One for a cycle still in flight (the webhook beat the cycle's final report) is held until that report comes, then
 * applied, or alerted for good when too many are held or the cycle does not report within the hold.
 */
import { DAY, SUBSCRIPTION_LIMITS, pushBounded } from './limits';
import type { Out, PaymentEvent, SubscriptionContext } from './events';
import { seenKey } from './keys';
import { onChargeback, onChargebackReversed, onRefundPayment } from './reversals';
import {
  findPaidCycle,
  refundableMinor,
  type HeldPaymentEvent,
  type PaidCycleRecord,
  type SubscriptionMachineState,
} from './state';

export function onPaymentEvent(s: SubscriptionMachineState, e: PaymentEvent, ctx: SubscriptionContext, out: Out): void {
  const now = ctx.now;
  if (s.seenPaymentIds.includes(seenKey(e.kind, e.paymentId))) return; // duplicate delivery
  const c = findPaidCycle(s, e.cycleId);
  if (!c && ctx.holdEarlyPaymentEvents && s.cycles.some((x) => x.cycleId === e.cycleId)) {
    // The cycle has not reported yet (its report can wait behind its notifications and settlement): keep it.
    holdPaymentEvent(s, e, now, out);
    return;
  }
  pushBounded(s.seenPaymentIds, seenKey(e.kind, e.paymentId), SUBSCRIPTION_LIMITS.seenPaymentIdsKept);
  if (!c || c.purchaseId !== e.purchaseId) {
    out.push({
      type: 'alert',
      code: 'payment_event_unmatched',
      message: `${e.kind} ${e.paymentId} for ${e.cycleId} (purchase ${e.purchaseId}) matches no paid cycle within the reversal window; reverse settlement by hand`,
      severity: 'critical',
      details: { cycleId: e.cycleId, purchaseId: e.purchaseId, paymentId: e.paymentId },
    });
    return;
  }
  if (e.kind === 'refund') {
    // A pending refund of ours completing, or a refund made elsewhere (dashboard).
    const amount = Math.min(e.amountMinor ?? c.amountMinor - c.refundedMinor, c.amountMinor - c.refundedMinor);
    // Only a Payment of the same amount completes one of ours: a smaller refund made elsewhere must not release
    // the reservation of a pending one (a mismatch keeps it reserved, which can only refund less).
    const i = c.pendingRefunds.findIndex((p) => p.amountMinor === amount);
    if (i >= 0) c.pendingRefunds.splice(i, 1);
    else if (ctx.holdEarlyPaymentEvents) completesRefundInFlight(s, c, e.paymentId, amount);
    onRefundPayment(s, c, e.paymentId, amount, now, out, undefined);
  } else if (e.kind === 'chargeback') {
    if (c.chargedBack) {
      // Registered through the API already: the webhook is the same chargeback; it brings the Payment id.
      const rec = [...s.paymentEvents].reverse().find((p) => p.kind === 'chargeback' && p.cycleId === c.cycleId);
      if (rec && !rec.paymentId) rec.paymentId = e.paymentId;
      return;
    }
    onChargeback(s, c, e.paymentId, now, out, undefined);
  } else {
    onChargebackReversed(s, c, e.paymentId, now, out);
  }
}

/**
 * A refund Payment that reserved nothing: when it is what our refund request in flight for this cycle asked for, it is
 * that request's refund completing before the request's `pending_refund` answer came back (the answer then reserves
 * nothing). Same rule as for reservations: the amount must be the request's.
 */
function completesRefundInFlight(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  paymentId: string,
  amountMinor: number,
): void {
  if (s.inFlight !== 'refund') return;
  const req = s.requests.find((q) => q.kind === 'refund' && q.status === 'queued' && q.cycleId === c.cycleId);
  if (!req || req.completedBy) return;
  if (req.amountMinor !== undefined ? req.amountMinor !== amountMinor : refundableMinor(c) !== amountMinor) return;
  req.completedBy = { paymentId, amountMinor };
}

/** Keeps a payment event for a cycle still in flight (a redelivery is the same event); the oldest beyond the bound are alerted. */
function holdPaymentEvent(s: SubscriptionMachineState, e: PaymentEvent, now: number, out: Out): void {
  const held = (s.heldPaymentEvents ??= []);
  if (held.some((h) => h.kind === e.kind && h.paymentId === e.paymentId)) return;
  held.push({
    kind: e.kind,
    cycleId: e.cycleId,
    purchaseId: e.purchaseId,
    paymentId: e.paymentId,
    ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
    heldAt: now,
  });
  while (held.length > SUBSCRIPTION_LIMITS.heldPaymentEventsKept)
    giveUpHeld(s, held.shift()!, 'too many are held', out);
}

/** The events held for `cycleId`, applied now that its report came (matched, or alerted for good as unmatched). */
export function releaseHeldPaymentEvents(
  s: SubscriptionMachineState,
  cycleId: string,
  ctx: SubscriptionContext,
  out: Out,
): void {
  const held = s.heldPaymentEvents?.filter((h) => h.cycleId === cycleId) ?? [];
  if (held.length === 0) return;
  s.heldPaymentEvents = s.heldPaymentEvents!.filter((h) => h.cycleId !== cycleId);
  for (const { heldAt: _heldAt, ...h } of held) onPaymentEvent(s, { type: 'payment_event', ...h }, ctx, out);
}

/** Held events whose cycle never reported within the hold: alerted for good. */
export function expireHeldPaymentEvents(s: SubscriptionMachineState, now: number, out: Out): void {
  if (!s.heldPaymentEvents?.length) return;
  const limit = SUBSCRIPTION_LIMITS.paymentEventHoldDays * DAY;
  const expired = s.heldPaymentEvents.filter((h) => now - h.heldAt >= limit);
  if (expired.length === 0) return;
  s.heldPaymentEvents = s.heldPaymentEvents.filter((h) => now - h.heldAt < limit);
  for (const h of expired)
    giveUpHeld(s, h, `its cycle did not report within ${SUBSCRIPTION_LIMITS.paymentEventHoldDays} days`, out);
}

function giveUpHeld(s: SubscriptionMachineState, h: HeldPaymentEvent, why: string, out: Out): void {
  pushBounded(s.seenPaymentIds, seenKey(h.kind, h.paymentId), SUBSCRIPTION_LIMITS.seenPaymentIdsKept);
  out.push({
    type: 'alert',
    code: 'payment_event_unmatched',
    message: `${h.kind} ${h.paymentId} for ${h.cycleId} (purchase ${h.purchaseId}) was held for the cycle's report and is dropped (${why}); reverse settlement by hand`,
    severity: 'critical',
    details: { cycleId: h.cycleId, purchaseId: h.purchaseId, paymentId: h.paymentId },
  });
}

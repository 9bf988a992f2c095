/**
 * Money given back on a paid cycle, and the settlement work it queues: a refund Payment, a chargeback, a chargeback
 * reversed. Each is recorded once (refunds by Payment id, chargebacks by round), told to the merchant, and queues one
 * reversal (or restore) per settlement target that recorded the cycle, never more than is left to reverse there.
 * The work itself runs in settlement.ts.
 */
import { SUBSCRIPTION_LIMITS, pushBounded } from './limits';
import type { Out } from './events';
import { seenKey, workKey } from './keys';
import type { PaidCycleRecord, PaymentEventRecord, SubscriptionMachineState } from './state';

/** Reversals queued and not yet written for a cycle in one target (restores excluded), minor units. */
export function queuedFor(s: SubscriptionMachineState, cycleId: string, targetIndex: number): number {
  return s.work
    .filter((w) => w.cycleId === cycleId && w.targetIndex === targetIndex && w.kind !== 'restore')
    .reduce((sum, w) => sum + w.amountMinor, 0);
}

/** What a chargeback of round `round` reversed in a target (what a chargeback reversal restores). */
function chargebackAmount(s: SubscriptionMachineState, c: PaidCycleRecord, targetIndex: number, round: number): number {
  const key = workKey({ kind: 'chargeback', cycleId: c.cycleId, round });
  const done = s.settlementReversals.find(
    (r) => r.key === key && r.targetIndex === targetIndex && r.status === 'reversed',
  );
  const queued = s.work.find((w) => w.key === key && w.targetIndex === targetIndex);
  return done?.amountMinor ?? queued?.amountMinor ?? 0;
}

export function onRefundPayment(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  paymentId: string,
  amountMinor: number,
  now: number,
  out: Out,
  reason: string | undefined,
): void {
  if (!s.seenPaymentIds.includes(seenKey('refund', paymentId)))
    pushBounded(s.seenPaymentIds, seenKey('refund', paymentId), SUBSCRIPTION_LIMITS.seenPaymentIdsKept);
  if (c.refundPaymentIds.includes(paymentId)) return; // the API's answer and the webhook: one refund
  c.refundPaymentIds.push(paymentId);
  const amount = Math.max(0, Math.min(amountMinor, c.amountMinor - c.refundedMinor));
  c.refundedMinor += amount;
  (c.refunds ??= []).push({ paymentId, amountMinor: amount });
  const record: PaymentEventRecord = {
    kind: 'refund',
    cycleId: c.cycleId,
    purchaseId: c.purchaseId,
    paymentId,
    amountMinor: amount,
    at: new Date(now).toISOString(),
  };
  pushBounded(s.paymentEvents, record, SUBSCRIPTION_LIMITS.paymentEventsKept);
  c.settlement.forEach((rec, targetIndex) => {
    if (rec.status === 'failed' || !rec.destination) return;
    const left = c.amountMinor - (c.reversedMinor[targetIndex] ?? 0) - queuedFor(s, c.cycleId, targetIndex);
    const reverse = Math.min(amount, left);
    if (reverse > 0)
      s.work.push({
        key: workKey({ kind: 'refund', cycleId: c.cycleId, paymentId }),
        kind: 'refund',
        cycleId: c.cycleId,
        targetIndex,
        amountMinor: reverse,
        paymentId,
      });
  });
  out.push({
    type: 'notify',
    event: 'cycle.refunded',
    key: `refund:${paymentId}`,
    data: { ...record, ...(reason ? { reason } : {}) },
  });
}

export function onChargeback(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  paymentId: string | undefined,
  now: number,
  out: Out,
  reasonId: string | undefined,
): void {
  c.chargedBack = true;
  const round = c.chargebackRound;
  const record: PaymentEventRecord = {
    kind: 'chargeback',
    cycleId: c.cycleId,
    purchaseId: c.purchaseId,
    amountMinor: c.amountMinor - c.refundedMinor,
    at: new Date(now).toISOString(),
    ...(paymentId ? { paymentId } : {}),
  };
  pushBounded(s.paymentEvents, record, SUBSCRIPTION_LIMITS.paymentEventsKept);
  c.settlement.forEach((rec, targetIndex) => {
    if (rec.status === 'failed' || !rec.destination) return;
    const left = c.amountMinor - (c.reversedMinor[targetIndex] ?? 0) - queuedFor(s, c.cycleId, targetIndex);
    if (left > 0)
      s.work.push({
        key: workKey({ kind: 'chargeback', cycleId: c.cycleId, round }),
        kind: 'chargeback',
        cycleId: c.cycleId,
        targetIndex,
        amountMinor: left,
      });
  });
  out.push({
    type: 'notify',
    event: 'subscription.chargeback',
    key: `chargeback:${c.cycleId}:${round}`,
    data: { ...record, ...(reasonId ? { reasonId } : {}) },
  });
}

/** The chargeback was won: each target gets back what that round's chargeback reversed there; the next is a new round. */
export function onChargebackReversed(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  paymentId: string,
  now: number,
  out: Out,
): void {
  if (!c.chargedBack) return;
  c.chargedBack = false;
  const round = c.chargebackRound;
  c.chargebackRound++;
  pushBounded(
    s.paymentEvents,
    {
      kind: 'chargeback_reversed',
      cycleId: c.cycleId,
      purchaseId: c.purchaseId,
      paymentId,
      at: new Date(now).toISOString(),
    },
    SUBSCRIPTION_LIMITS.paymentEventsKept,
  );
  c.settlement.forEach((rec, targetIndex) => {
    if (rec.status === 'failed' || !rec.destination) return;
    const restored = chargebackAmount(s, c, targetIndex, round);
    if (restored > 0)
      s.work.push({
        key: workKey({ kind: 'restore', cycleId: c.cycleId, round }),
        kind: 'restore',
        cycleId: c.cycleId,
        targetIndex,
        amountMinor: restored,
      });
  });
  out.push({
    type: 'notify',
    event: 'cycle.chargeback_reversed',
    key: `chargeback_reversed:${paymentId}`,
    data: { cycleId: c.cycleId, purchaseId: c.purchaseId, paymentId },
  });
}

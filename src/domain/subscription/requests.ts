/**
 * Refund and chargeback requests from the merchant. Refunds are requests with ids (the caller's idempotency key): the
 * same id is answered once, across continue-as-new. A refund never exceeds what was paid less what was refunded or
 * is being refunded; a refund the gateway answers `pending_refund` stays reserved until its Payment is reported
 * (payment-events.ts). A chargeback is registered once per round. Requests run one at a time, in order (plan.ts).
 */
import { SUBSCRIPTION_LIMITS, pushBounded } from './limits';
import { ask, type EventOf, type Out, type Step, type SubscriptionContext } from './events';
import { onChargeback, onRefundPayment } from './reversals';
import { findPaidCycle, refundableMinor, type SubscriptionMachineState } from './state';

/** Why a refund request is refused, or undefined. A request id seen before is never refused (it answers again). */
export function refundRefusal(
  s: SubscriptionMachineState,
  r: { requestId: string; cycleId: string; amountMinor?: number },
): string | undefined {
  if (s.requests.some((q) => q.requestId === r.requestId)) return undefined;
  const c = findPaidCycle(s, r.cycleId);
  if (!c) {
    const known = s.recentCycles.find((x) => x.cycleId === r.cycleId);
    if (known && (known.status === 'paid' || known.status === 'marked_paid'))
      return `cycle ${r.cycleId} was paid more than ${SUBSCRIPTION_LIMITS.reversalWindowDays} days ago (outside the reversal window); refund it at the gateway and reverse settlement by hand`;
    return known
      ? `cycle ${r.cycleId} is ${known.status}, not paid`
      : `cycle ${r.cycleId} is not a paid cycle of this subscription (or is older than the reversal window)`;
  }
  const left = refundableMinor(c);
  if (left <= 0) return `cycle ${r.cycleId} has nothing left to refund`;
  if (
    r.amountMinor !== undefined &&
    (!Number.isSafeInteger(r.amountMinor) || r.amountMinor <= 0 || r.amountMinor > left)
  )
    return `amountMinor must be an integer in 1..${left}`;
  return undefined;
}

export function chargebackRefusal(
  s: SubscriptionMachineState,
  r: { requestId: string; cycleId: string },
): string | undefined {
  if (s.requests.some((q) => q.requestId === r.requestId)) return undefined;
  const c = findPaidCycle(s, r.cycleId);
  if (!c) return `cycle ${r.cycleId} is not a paid cycle of this subscription`;
  if (c.chargedBack) return `cycle ${r.cycleId} is already charged back`;
  return undefined;
}

export function onRefundRequested(s: SubscriptionMachineState, e: EventOf<'refund_requested'>): void {
  if (s.requests.some((q) => q.requestId === e.requestId)) return; // the same request, again: answered once
  if (refundRefusal(s, e)) return;
  pushBounded(
    s.requests,
    {
      requestId: e.requestId,
      kind: 'refund',
      cycleId: e.cycleId,
      status: 'queued',
      ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
    },
    SUBSCRIPTION_LIMITS.requestsKept,
  );
}

export function onChargebackRequested(s: SubscriptionMachineState, e: EventOf<'chargeback_requested'>): void {
  if (s.requests.some((q) => q.requestId === e.requestId)) return;
  if (chargebackRefusal(s, e)) return;
  pushBounded(
    s.requests,
    {
      requestId: e.requestId,
      kind: 'chargeback',
      cycleId: e.cycleId,
      status: 'queued',
      chargeback: { reasonId: e.reasonId, arn: e.arn, date: e.date, reference: e.reference },
    },
    SUBSCRIPTION_LIMITS.requestsKept,
  );
}

export function onRefundAnswered(
  s: SubscriptionMachineState,
  e: EventOf<'refund_answered'>,
  ctx: SubscriptionContext,
  out: Out,
): void {
  const now = ctx.now;
  const req = s.requests.find((q) => q.requestId === e.requestId);
  if (!req) return;
  const c = findPaidCycle(s, req.cycleId);
  if (!e.ok || !c) {
    req.status = 'failed';
    req.error = e.error ?? 'the cycle is no longer refundable';
    return;
  }
  const amount = e.amountMinor ?? req.amountMinor ?? refundableMinor(c);
  req.status = 'done';
  req.result = {
    kind: 'refund',
    cycleId: c.cycleId,
    purchaseId: c.purchaseId,
    at: new Date(now).toISOString(),
    amountMinor: amount,
    ...(e.paymentId ? { paymentId: e.paymentId } : {}),
    ...(e.status ? { status: e.status } : {}),
  };
  if (e.paymentId) {
    onRefundPayment(s, c, e.paymentId, amount, now, out, req.reason);
  } else if (req.completedBy && req.completedBy.amountMinor === amount) {
    // Its refund Payment was reported (and reversed) while the request was in flight: nothing left to reserve.
    req.result.paymentId = req.completedBy.paymentId;
  } else {
    // Pending at the gateway: settlement is reversed when the refund Payment is reported.
    c.pendingRefunds.push({ requestId: req.requestId, amountMinor: amount });
  }
}

export function onChargebackAnswered(
  s: SubscriptionMachineState,
  e: EventOf<'chargeback_answered'>,
  ctx: SubscriptionContext,
  out: Out,
): void {
  const now = ctx.now;
  const req = s.requests.find((q) => q.requestId === e.requestId);
  if (!req) return;
  const c = findPaidCycle(s, req.cycleId);
  if (!e.ok || !c) {
    req.status = 'failed';
    req.error = e.error ?? 'the cycle is no longer a paid cycle';
    return;
  }
  req.status = 'done';
  if (!c.chargedBack) onChargeback(s, c, undefined, now, out, req.chargeback?.reasonId); // else: the webhook came first
  // The answer states what was recorded (and reversed): what was left after refunds, not the cycle's amount.
  const recorded = [...s.paymentEvents].reverse().find((p) => p.kind === 'chargeback' && p.cycleId === c.cycleId);
  req.result = {
    kind: 'chargeback',
    cycleId: c.cycleId,
    purchaseId: c.purchaseId,
    amountMinor: recorded?.amountMinor ?? c.amountMinor - c.refundedMinor,
    at: new Date(now).toISOString(),
    ...(recorded?.paymentId ? { paymentId: recorded.paymentId } : {}),
  };
}

/** Plan step: the oldest queued request (one that can no longer be made fails, and planning starts over). */
export function nextRequest(s: SubscriptionMachineState, out: Out): Step {
  const req = s.requests.find((q) => q.status === 'queued');
  if (!req) return undefined;
  const c = findPaidCycle(s, req.cycleId);
  if (!c) {
    req.status = 'failed';
    req.error = `cycle ${req.cycleId} is not a paid cycle of this subscription`;
    return 'again';
  }
  if (req.kind === 'refund') {
    const refundable = refundableMinor(c);
    if (refundable <= 0 || (req.amountMinor !== undefined && req.amountMinor > refundable)) {
      req.status = 'failed';
      req.error = `refund exceeds what is left to refund (${refundable})`;
      return 'again';
    }
    return ask(s, out, {
      type: 'refund',
      requestId: req.requestId,
      purchaseId: c.purchaseId,
      refundableMinor: refundable,
      knownPaymentIds: [...c.refundPaymentIds],
      ...(req.amountMinor !== undefined ? { amountMinor: req.amountMinor } : {}),
    });
  }
  return ask(s, out, {
    type: 'register_chargeback',
    requestId: req.requestId,
    purchaseId: c.purchaseId,
    ...req.chargeback!,
  });
}

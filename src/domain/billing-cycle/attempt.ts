/**
 * Charge attempts and their answers. Every attempt is recorded with the token it charged (a pending one is updated by
 * its outcome). A decline is classified: soft ones are retried on the dunning schedule within the token's cap, hard
 * ones wait for a new card up to the grace period, merchant-configuration ones alert operations and are not counted
 * against the customer. A charge whose outcome is unknown is retried quickly, then on the slow schedule, behind the
 * charge fence.
 */
import { decideAfterDecline, type AttemptRecord } from '../dunning';
import { close } from './closing';
import type { CycleCommand, CycleContext, CycleEvent } from './events';
import { CHARGE_FENCE_MS, CYCLE_LIMITS, HOUR } from './limits';
import { becomePaid } from './paid';
import { startPending } from './pending';
import {
  isChargePendingStatus,
  isPaidPurchaseStatus,
  isTerminalCycleStatus,
  see,
  type CycleMachineState,
  type DeclineDetails,
  type PurchaseFacts,
} from './state';

export function recordAttempt(
  s: CycleMachineState,
  at: number,
  outcome: AttemptRecord['outcome'],
  d?: DeclineDetails,
): void {
  const last = s.attempts[s.attempts.length - 1];
  if (outcome !== 'pending' && last?.outcome === 'pending') {
    // The outcome of a pending attempt updates that attempt rather than adding one.
    last.outcome = outcome;
    if (d) {
      last.code = d.code;
      last.declineClass = d.declineClass;
    }
    return;
  }
  s.attempts.push({
    at,
    token: s.chargeToken ?? s.token,
    outcome,
    ...(d ? { code: d.code, declineClass: d.declineClass } : {}),
  });
}

export function onCharged(
  s: CycleMachineState,
  e: Extract<CycleEvent, { type: 'charged' }>,
  ctx: CycleContext,
  out: CycleCommand[],
): void {
  s.transportFailures = 0;
  see(s, e.purchase);
  if (e.outcome === 'paid') {
    recordAttempt(s, ctx.now, 'paid');
    becomePaid(s, ctx.now, e.purchase.purchaseId, out);
  } else {
    recordAttempt(s, ctx.now, 'pending');
    startPending(s, ctx.now, ctx.policy);
  }
}

export function onChargeDeclined(
  s: CycleMachineState,
  d: DeclineDetails,
  ctx: CycleContext,
  out: CycleCommand[],
): void {
  s.transportFailures = 0;
  recordAttempt(s, ctx.now, 'declined', d);
  onDecline(s, d, ctx, out);
}

/** The gateway refused to charge the Purchase: it is paid, pending, blocked, or closed. */
export function onChargeRefused(s: CycleMachineState, p: PurchaseFacts, ctx: CycleContext, out: CycleCommand[]): void {
  const now = ctx.now;
  see(s, p);
  if (isPaidPurchaseStatus(p.status)) {
    becomePaid(s, now, p.purchaseId, out);
  } else if (isChargePendingStatus(p.status)) {
    startPending(s, now, ctx.policy);
  } else if (p.status === 'blocked') {
    // Blocked by fraud checks: the Purchase refuses charges; a new card gets a fresh Purchase.
    s.needsNewPurchase = true;
    const last = s.attempts[s.attempts.length - 1];
    if (last && last.token !== s.token) {
      // The block was another card's: this one is charged on the fresh Purchase.
      s.tokenChanged = true;
      s.status = 'retry_scheduled';
    } else {
      // This card's own charge was blocked (its answer was lost): a hard decline.
      const decline: DeclineDetails = {
        code: p.declineCode ?? 'blocked',
        message: p.declineMessage ?? '',
        declineClass: 'hard',
      };
      recordAttempt(s, now, 'declined', decline);
      onDecline(s, decline, ctx, out);
    }
  } else {
    // Closed at the gateway (expired, cancelled elsewhere): a fresh Purchase for the same period.
    s.needsNewPurchase = true;
    out.push({
      type: 'alert',
      code: 'purchase_closed',
      message: `purchase ${p.purchaseId} is ${p.status}; a fresh purchase is created for the cycle`,
      severity: 'warning',
    });
  }
}

/**
 * The charge call failed without a business answer: the outcome is unknown. The next charge reads the Purchase
 * first, so nothing is charged twice; cancel and pause are honoured before it.
 */
export function onChargeFailed(
  s: CycleMachineState,
  e: Extract<CycleEvent, { type: 'charge_failed' }>,
  ctx: CycleContext,
  out: CycleCommand[],
): void {
  const now = ctx.now;
  if (isTerminalCycleStatus(s.status)) return;
  if (!e.notSent && !ctx.legacyRules) s.chargeSettlesAt = now + CHARGE_FENCE_MS;
  s.transportFailures++;
  if (s.transportFailures <= CYCLE_LIMITS.quickTransportRetries) {
    s.nextAttemptAt =
      now +
      Math.min(
        CYCLE_LIMITS.quickTransportRetryBaseMs * 2 ** (s.transportFailures - 1),
        CYCLE_LIMITS.quickTransportRetryMaxMs,
      );
  } else {
    s.merchantConfigRetries++;
    s.transportFailures = 0;
    out.push({ type: 'alert', code: 'gateway_unavailable', message: e.reason, severity: 'critical' });
    if (s.merchantConfigRetries > ctx.policy.merchantConfigMaxRetries) {
      close(s, 'failed', `gateway unavailable: ${e.reason}`, 'operations');
      return;
    }
    s.nextAttemptAt = now + ctx.policy.merchantConfigRetryHours * HOUR;
  }
  s.status = 'retry_scheduled';
}

/** A recorded decline: what the dunning policy makes of it (retry, wait for a new card, or fail). */
export function onDecline(s: CycleMachineState, d: DeclineDetails, ctx: CycleContext, out: CycleCommand[]): void {
  if (isTerminalCycleStatus(s.status)) return; // paid meanwhile (a webhook beat the answer)
  const now = ctx.now;
  s.lastDecline = d;
  delete s.pendingSince;
  delete s.nextPollAt;
  // A new card given while this charge was in flight or pending is not the card that was declined: it is kept, and
  // charged next (legacy rules forgot it, and the cycle waited for a card it already had).
  const declinedToken = s.attempts[s.attempts.length - 1]?.token;
  s.tokenChanged = !ctx.legacyRules && declinedToken !== undefined && declinedToken !== s.token;
  s.retryNow = false;
  if (d.declineClass === 'already_paid') return; // the next read confirms the payment
  if (s.cancel) {
    // Canceled while the charge was pending: no dunning, no decline notices; plan() closes the cycle.
    s.status = 'retry_scheduled';
    delete s.nextAttemptAt;
    return;
  }
  const decision = decideAfterDecline({
    policy: ctx.policy,
    attempts: s.attempts,
    priorTokenAttempts: s.priorTokenAttempts,
    now,
    merchantConfigRetries: s.merchantConfigRetries,
  });
  announceDecline(s, d, out);
  if (decision.action === 'fail') {
    close(s, 'failed', decision.reason, d.declineClass === 'merchant_configuration' ? 'operations' : 'customer');
    return;
  }
  if (decision.action === 'retry') {
    s.status = 'retry_scheduled';
    s.nextAttemptAt = decision.at;
  } else if (s.tokenChanged) {
    // A hard decline of the previous card: the new one is already here, so nothing is required of the customer.
    s.status = 'retry_scheduled';
    s.nextAttemptAt = now;
  } else {
    s.status = 'action_required';
    s.actionRequiredUntil = decision.until;
    delete s.nextAttemptAt;
    out.push({
      type: 'notify',
      event: 'cycle.action_required',
      key: `action_required:${s.attempts.length}`,
      data: { code: d.code, until: new Date(decision.until).toISOString() },
    });
  }
  if (!s.reportedDecline) {
    s.reportedDecline = true;
    out.push({ type: 'report', final: false });
  }
}

/** A merchant-configuration decline alerts operations (and counts as theirs); any other is the merchant's notice. */
function announceDecline(s: CycleMachineState, d: DeclineDetails, out: CycleCommand[]): void {
  if (d.declineClass === 'merchant_configuration') {
    s.merchantConfigRetries++;
    out.push({
      type: 'alert',
      code: 'merchant_configuration',
      message: `decline ${d.code}: fix the merchant account; not counted against the customer`,
      severity: 'warning',
    });
  } else {
    out.push({
      type: 'notify',
      event: 'cycle.payment_failed',
      key: `payment_failed:${s.attempts.length}`,
      data: { code: d.code, declineClass: d.declineClass },
    });
  }
}

/**
 * The cycle's Purchases: created once per period (a fresh one when the current one can take no charge any more, up to
 * `maxPurchases`), cancelled before a fresh one and, when the cycle ends unpaid, at its close. Creating one is an
 * operations matter: failures alert and retry on the merchant-configuration schedule and never fail the cycle against
 * the customer; under the Purchase rules the cycle gives up after `merchantConfigMaxRetries` of them.
 */
import { close, finish } from './closing';
import type { CycleCommand, CycleContext } from './events';
import { HOUR } from './limits';
import { answerMarkPaid } from './mark-paid';
import { becomePaid } from './paid';
import { startPending } from './pending';
import {
  isChargePendingStatus,
  isPaidPurchaseStatus,
  isTerminalCycleStatus,
  see,
  type CycleMachineState,
  type PurchaseFacts,
} from './state';

export function onPurchaseCreated(s: CycleMachineState, p: PurchaseFacts): void {
  s.purchaseIds.push(p.purchaseId);
  s.needsNewPurchase = false;
  s.createFailures = 0;
  see(s, p);
}

export function onPurchaseCreateFailed(
  s: CycleMachineState,
  reason: string,
  ctx: CycleContext,
  out: CycleCommand[],
): void {
  if (isTerminalCycleStatus(s.status)) return;
  if (ctx.purchaseLife && s.markPaid) {
    // The fresh Purchase of a markPaid: the request gets the reason, and the cycle stays where it was.
    answerMarkPaid(s, `could not create a purchase: ${reason}`);
    out.push({
      type: 'alert',
      code: 'purchase_create_failed',
      message: `could not create the purchase for markPaid: ${reason}`,
      severity: 'warning',
    });
    return;
  }
  s.createFailures++;
  const at = ctx.now + ctx.policy.merchantConfigRetryHours * HOUR;
  out.push({
    type: 'alert',
    code: 'purchase_create_failed',
    message: `could not create the purchase (failure ${s.createFailures}): ${reason}; retrying at ${new Date(at).toISOString()}`,
    severity: 'critical',
  });
  s.nextAttemptAt = at;
  if (!isTerminalCycleStatus(s.status)) s.status = s.purchaseIds.length ? 'retry_scheduled' : 'creating';
  if (ctx.purchaseLife) onCreateFailedForGood(s, reason, ctx, out);
}

/**
 * The cycle's Purchase could not be created (purchaseLife rules): after `merchantConfigMaxRetries` failures the cycle
 * gives up and fails as an operations matter (the customer is not escalated), instead of retrying every few hours for
 * ever.
 */
function onCreateFailedForGood(s: CycleMachineState, reason: string, ctx: CycleContext, out: CycleCommand[]): void {
  if (s.createFailures <= ctx.policy.merchantConfigMaxRetries || s.closing) return;
  out.push({
    type: 'alert',
    code: 'purchase_create_exhausted',
    message: `could not create the purchase after ${s.createFailures} tries (${reason}); the cycle fails, fix the merchant account and bill the period again`,
    severity: 'critical',
  });
  close(s, 'failed', `could not create the purchase after ${s.createFailures} tries: ${reason}`, 'operations');
}

/** The cancel's answer shows the Purchase as it was: money or a pending charge decides before any close. */
export function onPurchaseCanceled(
  s: CycleMachineState,
  p: PurchaseFacts,
  ctx: CycleContext,
  out: CycleCommand[],
): void {
  see(s, p);
  if (isPaidPurchaseStatus(p.status)) {
    becomePaid(s, ctx.now, p.purchaseId, out);
    return;
  }
  if (isChargePendingStatus(p.status)) {
    startPending(s, ctx.now, ctx.policy);
    return;
  }
  if (s.needsNewPurchase && !s.closing && !s.cancel) return; // plan() creates the fresh one
  if (s.closing) finish(s, s.closing, out);
}

export function onPurchaseCancelFailed(
  s: CycleMachineState,
  reason: string,
  ctx: CycleContext,
  out: CycleCommand[],
): void {
  out.push({
    type: 'alert',
    code: 'purchase_cancel_failed',
    message: `the purchase could not be cancelled: ${reason}`,
    severity: 'warning',
  });
  if (s.needsNewPurchase && !s.closing && !s.cancel) {
    // Never open a second chargeable Purchase while the first might still take money: retry later.
    s.nextAttemptAt = ctx.now + ctx.policy.merchantConfigRetryHours * HOUR;
    s.status = 'retry_scheduled';
    return;
  }
  if (s.closing) {
    // Close only on a read that shows no money: plan() re-reads before the terminal status.
    s.closing = { ...s.closing, cancelRefused: true };
    s.purchaseStatus = 'cancel_failed';
  }
}

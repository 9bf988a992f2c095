/**
 * Planning the next step, only when no call is in flight. One call at a time: a charge is only asked for when the
 * cycle is not paused, no cancel was requested, no pending charge is at the gateway and the time has come (dunning
 * schedule, `retryNow`, a new token, each at least `minHoursBetweenAttempts` after the previous attempt). Otherwise
 * the plan is a wake-up time (`wakeAt`), or nothing until an event.
 */
import { close, planClosing } from './closing';
import { ask, type CycleCommand, type CycleContext } from './events';
import { CYCLE_LIMITS } from './limits';
import { answerMarkPaid, planMarkPaid } from './mark-paid';
import { planPending } from './pending';
import { chargeDueAt } from './schedule';
import { planSettlement } from './settlement';
import {
  currentPurchaseId,
  currentPurchaseIsClosed,
  isChargePendingStatus,
  isTerminalCycleStatus,
  type CycleMachineState,
} from './state';

export function plan(s: CycleMachineState, ctx: CycleContext, out: CycleCommand[]): void {
  const purchaseId = currentPurchaseId(s);
  delete s.wakeAt;

  if (isTerminalCycleStatus(s.status)) {
    // Paid (or closed) before a markPaid request ran: the update handler still gets its answer.
    answerMarkPaid(s, `the cycle is already ${s.status}`);
    planSettlement(s, ctx.now, out);
    return;
  }
  if (waitsForChargeFence(s, ctx.now)) return;
  if (planMarkPaid(s, ctx, out, purchaseId)) return;

  // A pending charge that the gateway declined and that ends the cycle: under the Purchase rules it closes like any
  // other end (the Purchase is cancelled), not by the next poll.
  const declinedToAnEnd =
    ctx.purchaseLife && s.closing !== undefined && !isChargePendingStatus(s.purchaseStatus ?? 'pending_charge');
  if (s.status === 'pending' && !declinedToAnEnd) {
    planPending(s, ctx, out, purchaseId!);
    return;
  }

  if (s.cancel && !s.closing) close(s, 'canceled', s.cancel.reason, 'customer');
  if (s.closing) {
    planClosing(s, s.closing, ctx, out, purchaseId);
    return;
  }

  // A webhook hinted at a failure or closure: confirm it with a fresh read before anything else.
  if (s.confirm && purchaseId) {
    ask(s, out, { type: 'read_purchase', purchaseId, purpose: 'confirm' });
    return;
  }
  if (!purchaseId) {
    planCreate(s, ctx.now, out);
    return;
  }
  if (s.status === 'action_required' && !s.tokenChanged) {
    planActionRequired(s, ctx, out);
    return;
  }

  if (s.paused) return; // pause holds dunning until resume; the subscription wakes the cycle
  planCharge(s, ctx, out, purchaseId);
}

/** A charge whose outcome is unknown may still be on its way to the gateway: nothing is sent before it settles. */
function waitsForChargeFence(s: CycleMachineState, now: number): boolean {
  if (s.chargeSettlesAt === undefined) return false;
  if (s.chargeSettlesAt > now) {
    s.wakeAt = s.chargeSettlesAt;
    return true;
  }
  delete s.chargeSettlesAt;
  return false;
}

/** The cycle has no Purchase yet: create it, when its (retry) time has come. */
function planCreate(s: CycleMachineState, now: number, out: CycleCommand[]): void {
  if (s.nextAttemptAt !== undefined && s.nextAttemptAt > now && !s.retryNow) {
    s.wakeAt = s.nextAttemptAt;
    return;
  }
  s.retryNow = false;
  delete s.nextAttemptAt;
  s.status = 'creating';
  ask(s, out, { type: 'create_purchase' });
}

/** A hard decline waits for a new card until the grace ends (held while paused), then the cycle fails. */
function planActionRequired(s: CycleMachineState, ctx: CycleContext, out: CycleCommand[]): void {
  if (s.paused && !ctx.legacyRules) return; // pause holds the grace; resume restarts its clock
  if (s.actionRequiredUntil !== undefined && ctx.now >= s.actionRequiredUntil) {
    close(
      s,
      'failed',
      `no new payment method within ${ctx.policy.hardDeclineGraceHours}h after ${s.lastDecline?.code ?? 'a hard decline'}`,
      'customer',
    );
    plan(s, ctx, out);
    return;
  }
  s.wakeAt = s.actionRequiredUntil;
}

/** The next charge: when it is due, on a chargeable Purchase (a fresh one if the current one cannot take it). */
function planCharge(s: CycleMachineState, ctx: CycleContext, out: CycleCommand[], purchaseId: string): void {
  const dueAt = chargeDueAt(s, ctx);
  if (dueAt > ctx.now) {
    s.wakeAt = dueAt;
    if (s.status !== 'action_required') {
      s.status = 'retry_scheduled';
      s.nextAttemptAt = dueAt;
    }
    return;
  }
  if (s.needsNewPurchase) {
    planFreshPurchase(s, ctx, out, purchaseId);
    return;
  }
  s.retryNow = false;
  s.tokenChanged = false;
  delete s.nextAttemptAt;
  delete s.actionRequiredUntil;
  s.status = 'charging';
  if (!ctx.legacyRules) s.chargeToken = s.token;
  ask(s, out, { type: 'charge', purchaseId, token: s.token, attempt: s.attempts.length + 1 });
}

/** The current Purchase cannot be charged any more: cancel it if it could still take money, then create a fresh one. */
function planFreshPurchase(s: CycleMachineState, ctx: CycleContext, out: CycleCommand[], purchaseId: string): void {
  if (s.purchaseIds.length >= CYCLE_LIMITS.maxPurchases) {
    close(s, 'failed', `no chargeable purchase after ${s.purchaseIds.length} purchases`, 'operations');
    out.push({
      type: 'alert',
      code: 'purchase_limit',
      message: `the cycle created ${s.purchaseIds.length} purchases without a charge; it fails`,
      severity: 'critical',
    });
    plan(s, ctx, out);
    return;
  }
  // A blocked Purchase can neither be charged nor cancelled: it cannot take money, so it needs no cancel.
  if (!currentPurchaseIsClosed(s) && s.purchaseStatus !== 'blocked') {
    ask(s, out, { type: 'cancel_purchase', purchaseId });
    return;
  }
  ask(s, out, { type: 'create_purchase' });
}

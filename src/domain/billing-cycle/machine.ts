/**
 * The billing cycle's reducer: applies an event, then plans the next step.
 */
import { classifyDecline } from '../declines';
import {
  decideAfterDecline,
  pendingPollDelayMs,
  respectTokenCap,
  type AttemptRecord,
  type DunningPolicy,
} from '../dunning';
import { recordChange } from '../change-trail';
import type { ChangeKind } from '../actor';
import { isOpenStatus } from '../purchase-status';
import { CHARGE_FENCE_MS, CYCLE_LIMITS, HOUR } from './limits';
import {
  currentPurchaseId,
  cloneCycleState,
  isChargePendingStatus,
  isClosedPurchaseStatus,
  isDeclinedPurchaseStatus,
  isPaidCycleStatus,
  isPaidPurchaseStatus,
  isTerminalCycleStatus,
  type CycleMachineState,
  type DeclineDetails,
  type PurchaseFacts,
} from './state';
import type { CycleCommand, CycleContext, CycleDecision, CycleEvent } from './events';

/** The earliest time a charge may be made after the last attempt (minHoursBetweenAttempts). */
export function earliestNextAttempt(s: CycleMachineState, policy: DunningPolicy): number {
  const last = s.attempts[s.attempts.length - 1];
  return last ? last.at + policy.minHoursBetweenAttempts * HOUR : 0;
}

/** Why `retryNow` is refused right now, or undefined when it is accepted. */
export function retryNowRefusal(s: CycleMachineState, ctx: CycleContext): string | undefined {
  if (s.status !== 'retry_scheduled') return `the cycle is ${s.status}, not retry_scheduled`;
  if (s.cancel) return 'a cancel was requested';
  if (s.paused) return 'the subscription is paused';
  const minAt = earliestNextAttempt(s, ctx.policy);
  if (minAt > ctx.now)
    return `the last attempt was less than ${ctx.policy.minHoursBetweenAttempts}h ago; next allowed at ${new Date(minAt).toISOString()}`;
  const capAt = respectTokenCap(ctx.policy, s.attempts, s.priorTokenAttempts, s.token, ctx.now);
  if (capAt > ctx.now)
    return `the token reached ${ctx.policy.maxAttemptsPerToken30Days} attempts in 30 days; next allowed at ${new Date(capAt).toISOString()}`;
  return undefined;
}

/** Why `markPaid` is refused right now, or undefined. */
export function markPaidRefusal(s: CycleMachineState): string | undefined {
  if (isTerminalCycleStatus(s.status) || s.closing) return `the cycle is already ${s.closing?.status ?? s.status}`;
  if (s.status === 'pending') return 'a charge is pending at the gateway; its outcome decides';
  if (s.markPaid) return 'a markPaid request is already being processed';
  return undefined;
}

/** The merchant change a request event is, for the change trail (src/domain/change-trail.ts). */
const CYCLE_CHANGE_KIND_OF: Partial<Record<CycleEvent['type'], ChangeKind>> = {
  mark_paid_requested: 'mark_paid',
  retry_now_requested: 'retry_now',
  settlement_retry_requested: 'retry_settlement',
};

/** Applies one event and plans the next step. Pure: the input state is not modified. */
export function decideCycle(prev: CycleMachineState, event: CycleEvent, ctx: CycleContext): CycleDecision {
  const s = cloneCycleState(prev);
  const out: CycleCommand[] = [];
  evolve(s, event, ctx, out);
  const kind = CYCLE_CHANGE_KIND_OF[event.type];
  if (kind !== undefined && 'by' in event && event.by !== undefined) {
    s.changes = recordChange(s.changes, kind, event.by, ctx.now);
  }
  if (!s.inFlight && !s.finished) plan(s, ctx, out);
  if (s.stopAckDue && s.inFlight !== 'charge') {
    if (s.chargeSettlesAt !== undefined && s.chargeSettlesAt > ctx.now && !isTerminalCycleStatus(s.status)) {
      // A charge request of an attempt whose outcome is unknown may still leave or be on its way: not yet.
      if (s.wakeAt === undefined || s.wakeAt > s.chargeSettlesAt) s.wakeAt = s.chargeSettlesAt;
    } else {
      delete s.stopAckDue;
      out.push({ type: 'ack_stop' });
    }
  }
  return { state: s, commands: out };
}

// ---------------------------------------------------------------------------------------------------------------
// Recording what happened
// ---------------------------------------------------------------------------------------------------------------

function evolve(s: CycleMachineState, e: CycleEvent, ctx: CycleContext, out: CycleCommand[]): void {
  const now = ctx.now;
  switch (e.type) {
    case 'started':
    case 'timer':
      return;

    case 'purchase_created':
      s.inFlight = undefined;
      s.purchaseIds.push(e.purchase.purchaseId);
      s.needsNewPurchase = false;
      s.createFailures = 0;
      see(s, e.purchase);
      return;

    case 'purchase_create_failed': {
      s.inFlight = undefined;
      if (isTerminalCycleStatus(s.status)) return;
      if (ctx.purchaseLife && s.markPaid) {
        // The fresh Purchase of a markPaid: the request gets the reason, and the cycle stays where it was.
        s.markPaidAnswers.push({
          requestId: s.markPaid.requestId,
          ok: false,
          error: `could not create a purchase: ${e.reason}`,
        });
        delete s.markPaid;
        out.push({
          type: 'alert',
          code: 'purchase_create_failed',
          message: `could not create the purchase for markPaid: ${e.reason}`,
          severity: 'warning',
        });
        return;
      }
      s.createFailures++;
      const at = now + ctx.policy.merchantConfigRetryHours * HOUR;
      out.push({
        type: 'alert',
        code: 'purchase_create_failed',
        message: `could not create the purchase (failure ${s.createFailures}): ${e.reason}; retrying at ${new Date(at).toISOString()}`,
        severity: 'critical',
      });
      s.nextAttemptAt = at;
      if (!isTerminalCycleStatus(s.status)) s.status = s.purchaseIds.length ? 'retry_scheduled' : 'creating';
      if (ctx.purchaseLife) onCreateFailedForGood(s, e.reason, ctx, out);
      return;
    }

    case 'charged': {
      s.inFlight = undefined;
      s.transportFailures = 0;
      see(s, e.purchase);
      if (e.outcome === 'paid') {
        recordAttempt(s, now, 'paid');
        becomePaid(s, now, e.purchase.purchaseId, out);
      } else {
        recordAttempt(s, now, 'pending');
        startPending(s, now, ctx.policy);
      }
      return;
    }

    case 'charge_declined': {
      s.inFlight = undefined;
      s.transportFailures = 0;
      recordAttempt(s, now, 'declined', e.decline);
      onDecline(s, e.decline, ctx, out);
      return;
    }

    case 'charge_refused': {
      s.inFlight = undefined;
      see(s, e.purchase);
      if (isPaidPurchaseStatus(e.purchase.status)) {
        becomePaid(s, now, e.purchase.purchaseId, out);
      } else if (isChargePendingStatus(e.purchase.status)) {
        startPending(s, now, ctx.policy);
      } else if (e.purchase.status === 'blocked') {
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
            code: e.purchase.declineCode ?? 'blocked',
            message: e.purchase.declineMessage ?? '',
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
          message: `purchase ${e.purchase.purchaseId} is ${e.purchase.status}; a fresh purchase is created for the cycle`,
          severity: 'warning',
        });
      }
      return;
    }

    case 'charge_failed': {
      // The charge call failed without a business answer: the outcome is unknown. The next charge reads the
      // Purchase first, so nothing is charged twice; cancel and pause are honoured before it.
      s.inFlight = undefined;
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
      return;
    }

    case 'purchase_read':
    case 'gateway_event': {
      if (e.type === 'purchase_read') {
        s.inFlight = undefined;
        s.readFailures = 0;
        if (s.markPaid) s.markPaid.checked = true;
      }
      onPurchaseFacts(s, e.purchase, e.type === 'purchase_read', ctx, out);
      return;
    }

    case 'purchase_read_failed': {
      s.inFlight = undefined;
      s.readFailures++;
      if (s.readFailures === CYCLE_LIMITS.readFailuresBeforeAlert) {
        out.push({
          type: 'alert',
          code: 'purchase_read_failed',
          message: `could not read the purchase: ${e.reason}; polling goes on`,
          severity: 'warning',
        });
      }
      if (s.markPaid && !s.markPaid.checked) {
        const req = s.markPaid;
        delete s.markPaid;
        s.markPaidAnswers.push({
          requestId: req.requestId,
          ok: false,
          error: `could not read the purchase: ${e.reason}`,
        });
      }
      if (s.closing) {
        // The last re-read failed: the cycle must not close blind. Try again later.
        s.wakeAt = now + pendingPollDelayMs(ctx.policy, 0);
        s.nextAttemptAt = s.wakeAt;
      } else if (s.status === 'pending') {
        s.nextPollAt = now + pendingPollDelayMs(ctx.policy, s.polls);
      } else {
        s.confirm = false;
      }
      return;
    }

    case 'purchase_canceled': {
      s.inFlight = undefined;
      see(s, e.purchase);
      if (isPaidPurchaseStatus(e.purchase.status)) {
        becomePaid(s, now, e.purchase.purchaseId, out);
        return;
      }
      if (isChargePendingStatus(e.purchase.status)) {
        startPending(s, now, ctx.policy);
        return;
      }
      if (s.needsNewPurchase && !s.closing && !s.cancel) return; // plan() creates the fresh one
      if (s.closing) finish(s, s.closing.status, s.closing.reason, s.closing.kind, out, ctx);
      return;
    }

    case 'purchase_cancel_failed': {
      s.inFlight = undefined;
      out.push({
        type: 'alert',
        code: 'purchase_cancel_failed',
        message: `the purchase could not be cancelled: ${e.reason}`,
        severity: 'warning',
      });
      if (s.needsNewPurchase && !s.closing && !s.cancel) {
        // Never open a second chargeable Purchase while the first might still take money: retry later.
        s.nextAttemptAt = now + ctx.policy.merchantConfigRetryHours * HOUR;
        s.status = 'retry_scheduled';
        return;
      }
      if (s.closing) {
        // Close only on a read that shows no money: plan() re-reads before the terminal status.
        s.closing = { ...s.closing, cancelRefused: true };
        s.purchaseStatus = 'cancel_failed';
      }
      return;
    }

    case 'marked_paid': {
      s.inFlight = undefined;
      see(s, e.purchase);
      const req = s.markPaid;
      delete s.markPaid;
      if (req) s.markPaidAnswers.push({ requestId: req.requestId, ok: true });
      if (!isTerminalCycleStatus(s.status)) {
        s.paidAt = now;
        s.paidPurchaseId = e.purchase.purchaseId;
        s.status = 'marked_paid';
        clearSchedule(s);
        out.push({ type: 'notify', event: 'cycle.paid', key: 'paid', data: { markedPaid: true } });
      }
      return;
    }

    case 'mark_paid_failed': {
      s.inFlight = undefined;
      const req = s.markPaid;
      delete s.markPaid;
      if (req) s.markPaidAnswers.push({ requestId: req.requestId, ok: false, error: e.reason });
      return;
    }

    case 'cancel_requested':
      if (!isTerminalCycleStatus(s.status) && !s.cancel) s.cancel = { reason: e.reason };
      s.stopAckDue = true;
      return;

    case 'hold':
      s.paused = e.paused;
      if (e.paused) s.stopAckDue = true;
      if (!ctx.legacyRules && s.status === 'action_required' && s.actionRequiredUntil !== undefined) {
        // Pause holds the hard-decline grace: the clock stops while paused and runs on from resume.
        if (e.paused && s.graceLeftMs === undefined) s.graceLeftMs = Math.max(0, s.actionRequiredUntil - now);
        else if (!e.paused && s.graceLeftMs !== undefined) {
          s.actionRequiredUntil = now + s.graceLeftMs;
          delete s.graceLeftMs;
        }
      }
      return;

    case 'retry_now_requested':
      if (retryNowRefusal(s, ctx) === undefined) s.retryNow = true;
      return;

    case 'token_updated':
      if (isTerminalCycleStatus(s.status) || !e.token || e.token === s.token) return;
      s.token = e.token;
      s.tokenChanged = true;
      return;

    case 'mark_paid_requested': {
      const refusal = markPaidRefusal(s);
      if (refusal) s.markPaidAnswers.push({ requestId: e.requestId, ok: false, error: refusal });
      else
        s.markPaid = {
          requestId: e.requestId,
          ...(e.paidOn !== undefined ? { paidOn: e.paidOn } : {}),
          ...(e.note !== undefined ? { note: e.note } : {}),
        };
      return;
    }

    case 'settlement_recorded': {
      s.inFlight = undefined;
      const target = s.settlementTargets[e.index];
      if (target)
        s.settlement[e.index] = {
          target: target.kind,
          status: 'recorded',
          externalId: e.externalId,
          destination: target,
          run: s.settlementRuns + 1,
        };
      return;
    }

    case 'settlement_failed': {
      s.inFlight = undefined;
      const target = s.settlementTargets[e.index];
      if (target)
        s.settlement[e.index] = {
          target: target.kind,
          status: 'failed',
          error: e.error,
          destination: target,
          run: s.settlementRuns + 1,
        };
      return;
    }

    case 'settlement_retry_requested':
      if (s.settlementFailed && !s.settlementWindowClosed) s.settlementRetry = true;
      return;
  }
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

function see(s: CycleMachineState, p: PurchaseFacts): void {
  if (p.purchaseId === currentPurchaseId(s)) s.purchaseStatus = p.status;
  s.lastGatewayUpdate = Math.max(s.lastGatewayUpdate, p.updatedOn);
}

function recordAttempt(s: CycleMachineState, at: number, outcome: AttemptRecord['outcome'], d?: DeclineDetails): void {
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

function clearSchedule(s: CycleMachineState): void {
  delete s.nextAttemptAt;
  delete s.nextPollAt;
  delete s.wakeAt;
  delete s.actionRequiredUntil;
  s.retryNow = false;
  s.confirm = false;
}

function startPending(s: CycleMachineState, now: number, policy: DunningPolicy): void {
  if (isTerminalCycleStatus(s.status)) return;
  if (s.status !== 'pending') {
    s.status = 'pending';
    s.pendingSince = now;
    s.polls = 0;
    s.pendingAlerted = false;
  }
  s.nextPollAt = now + pendingPollDelayMs(policy, s.polls);
  delete s.nextAttemptAt;
}

function becomePaid(
  s: CycleMachineState,
  now: number,
  purchaseId: string,
  out: CycleCommand[],
  markedAsPaid = false,
): void {
  if (isTerminalCycleStatus(s.status)) {
    if (!isPaidCycleStatus(s.status) && !s.lateMoneyAlerted) {
      s.lateMoneyAlerted = true;
      out.push({
        type: 'alert',
        code: 'paid_after_close',
        message: `purchase ${purchaseId} is paid but the cycle closed ${s.status}: refund or mark the cycle paid`,
        severity: 'critical',
      });
    }
    return;
  }
  // The operator's own mark-as-paid can reach the cycle first as a webhook or a read (before the call's answer):
  // it is still a cycle marked paid, and the request waiting on it gets its answer here.
  const marked = markedAsPaid || s.inFlight === 'mark_paid';
  if (marked && s.markPaid) {
    s.markPaidAnswers.push({ requestId: s.markPaid.requestId, ok: true });
    delete s.markPaid;
  }
  const last = s.attempts[s.attempts.length - 1];
  if (last?.outcome === 'pending') last.outcome = 'paid';
  delete s.closing;
  s.status = marked ? 'marked_paid' : 'paid';
  s.paidAt = now;
  s.paidPurchaseId = purchaseId;
  clearSchedule(s);
  out.push({
    type: 'notify',
    event: 'cycle.paid',
    key: 'paid',
    data: marked ? { markedPaid: true } : { paidAt: new Date(now).toISOString() },
  });
}

function onDecline(s: CycleMachineState, d: DeclineDetails, ctx: CycleContext, out: CycleCommand[]): void {
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

function onPurchaseFacts(
  s: CycleMachineState,
  p: PurchaseFacts,
  fromRead: boolean,
  ctx: CycleContext,
  out: CycleCommand[],
): void {
  const ours = s.purchaseIds.includes(p.purchaseId);
  if (!ours) return; // another Purchase's event never touches this cycle
  const current = p.purchaseId === currentPurchaseId(s);
  if (isPaidPurchaseStatus(p.status)) {
    see(s, p);
    if (isPaidCycleStatus(s.status) && s.paidPurchaseId && s.paidPurchaseId !== p.purchaseId) {
      out.push({
        type: 'alert',
        code: 'second_purchase_paid',
        message: `purchase ${p.purchaseId} is paid although the cycle was paid by ${s.paidPurchaseId}: refund one`,
        severity: 'critical',
      });
      return;
    }
    becomePaid(s, ctx.now, p.purchaseId, out, p.markedAsPaid === true);
    return;
  }
  if (!current || isTerminalCycleStatus(s.status)) return;
  if (!fromRead) {
    // A webhook is a hint: stale and reordered deliveries are common. Failures are confirmed by a fresh read.
    if (p.updatedOn < s.lastGatewayUpdate) return;
    if (isDeclinedPurchaseStatus(p.status) || isClosedPurchaseStatus(p.status)) s.confirm = true;
    return;
  }
  see(s, p);
  s.confirm = false;
  if (isChargePendingStatus(p.status)) {
    // A charge is at the gateway (perhaps one whose answer was lost): its outcome decides, even before a close.
    if (s.status !== 'pending') startPending(s, ctx.now, ctx.policy);
    else {
      s.polls++;
      s.nextPollAt = ctx.now + pendingPollDelayMs(ctx.policy, s.polls);
    }
    return;
  }
  if (s.closing) {
    // Under the Purchase rules a payable Purchase is cancelled first (plan), and that answer ends the cycle.
    if (ctx.purchaseLife && !s.closing.cancelRefused && !isClosed(s)) return;
    finish(s, s.closing.status, s.closing.reason, s.closing.kind, out, ctx);
    return;
  }
  if (s.status !== 'pending') return; // a read only concludes a charge the gateway is processing
  concludePending(s, p, ctx, out);
  if (s.status === 'pending') {
    // Whatever the read showed, the next one waits its turn: no wait without a timer.
    s.polls++;
    s.nextPollAt = ctx.now + pendingPollDelayMs(ctx.policy, s.polls);
  }
}

/** A read while a charge was pending showed it is no longer in flight: what became of it. */
function concludePending(s: CycleMachineState, p: PurchaseFacts, ctx: CycleContext, out: CycleCommand[]): void {
  if (isDeclinedPurchaseStatus(p.status)) {
    const code = p.declineCode ?? (p.status === 'blocked' ? 'blocked' : 'unknown_error');
    const d: DeclineDetails = {
      code,
      message: p.declineMessage ?? '',
      declineClass: p.status === 'blocked' ? 'hard' : classifyDecline(code),
    };
    if (p.status === 'blocked') s.needsNewPurchase = true;
    recordAttempt(s, ctx.now, 'declined', d);
    onDecline(s, d, ctx, out);
    return;
  }
  if (isClosedPurchaseStatus(p.status)) {
    const last = s.attempts[s.attempts.length - 1];
    if (last?.outcome === 'pending') last.outcome = 'declined';
    s.needsNewPurchase = true;
    s.status = 'retry_scheduled';
    s.nextAttemptAt = ctx.now;
    out.push({
      type: 'alert',
      code: 'purchase_closed',
      message: `purchase ${p.purchaseId} closed (${p.status}) while its charge was pending`,
      severity: 'warning',
    });
    return;
  }
  if (isOpenStatus(p.status)) {
    // Open again with no decline: the acquirer dropped the pending charge. No money; the attempt failed.
    const d: DeclineDetails = {
      code: 'pending_charge_reverted',
      message: `the pending charge ended with the purchase ${p.status}`,
      declineClass: classifyDecline('pending_charge_reverted'),
    };
    recordAttempt(s, ctx.now, 'declined', d);
    onDecline(s, d, ctx, out);
  }
}

/** Starts closing the cycle as failed or canceled: the Purchase is re-read (or cancelled) first. */
function close(s: CycleMachineState, status: 'failed' | 'canceled', reason: string, kind: 'customer' | 'operations') {
  s.closing = { status, reason, kind };
  delete s.nextAttemptAt;
  delete s.actionRequiredUntil;
}

function finish(
  s: CycleMachineState,
  status: 'failed' | 'canceled',
  reason: string,
  kind: 'customer' | 'operations',
  out: CycleCommand[],
  _ctx: CycleContext,
): void {
  delete s.closing;
  s.status = status;
  s.failureReason = reason;
  s.failureKind = kind;
  clearSchedule(s);
  if (status === 'failed') {
    out.push({ type: 'notify', event: 'cycle.failed', key: 'failed', data: { reason, lastDecline: s.lastDecline } });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Planning the next step (only when no call is in flight)
// ---------------------------------------------------------------------------------------------------------------

function plan(s: CycleMachineState, ctx: CycleContext, out: CycleCommand[]): void {
  const now = ctx.now;
  const purchaseId = currentPurchaseId(s);
  delete s.wakeAt;

  if (isTerminalCycleStatus(s.status)) {
    if (s.markPaid) {
      // Paid (or closed) before the request ran: the update handler still gets its answer.
      s.markPaidAnswers.push({ requestId: s.markPaid.requestId, ok: false, error: `the cycle is already ${s.status}` });
      delete s.markPaid;
    }
    planSettlement(s, now, out);
    return;
  }

  if (s.chargeSettlesAt !== undefined) {
    // A charge whose outcome is unknown may still be on its way to the gateway: nothing is sent before it settles.
    if (s.chargeSettlesAt > now) {
      s.wakeAt = s.chargeSettlesAt;
      return;
    }
    delete s.chargeSettlesAt;
  }

  // An operator's mark-as-paid runs between calls, never while a charge is pending: a lost charge answer may have
  // left one at the gateway, so the Purchase is read first.
  if (s.markPaid) {
    if (purchaseId && s.status !== 'pending' && !s.markPaid.checked) {
      s.inFlight = 'read_purchase';
      out.push({ type: 'read_purchase', purchaseId, purpose: 'confirm' });
      return;
    }
    if (purchaseId && s.status !== 'pending' && ctx.purchaseLife && isClosed(s)) {
      // The current Purchase can take no money (blocked by fraud checks, closed): the gateway refuses mark_as_paid on
      // it. The period gets a fresh Purchase, as a new card does, and that one is marked paid.
      s.inFlight = 'create_purchase';
      out.push({ type: 'create_purchase' });
      return;
    }
    if (purchaseId && s.status !== 'pending') {
      s.inFlight = 'mark_paid';
      out.push({
        type: 'mark_paid',
        purchaseId,
        ...(s.markPaid.paidOn !== undefined ? { paidOn: s.markPaid.paidOn } : {}),
      });
      return;
    }
    const req = s.markPaid;
    delete s.markPaid;
    s.markPaidAnswers.push({
      requestId: req.requestId,
      ok: false,
      error: purchaseId ? 'a charge is pending at the gateway' : 'the purchase is not created yet',
    });
  }

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
    if (!purchaseId) {
      finish(s, s.closing.status, s.closing.reason, s.closing.kind, out, ctx);
      planSettlement(s, now, out);
      return;
    }
    if (s.nextAttemptAt !== undefined && s.nextAttemptAt > now) {
      s.wakeAt = s.nextAttemptAt; // a failed re-read waits before the next one
      return;
    }
    delete s.nextAttemptAt;
    if (
      (s.closing.status === 'canceled' || ctx.purchaseLife) && // an unpaid end cancels the Purchase (no late money)
      s.purchaseStatus !== 'cancel_failed' &&
      !s.closing.cancelRefused &&
      !isClosed(s)
    ) {
      s.inFlight = 'cancel_purchase';
      out.push({ type: 'cancel_purchase', purchaseId });
    } else {
      s.inFlight = 'read_purchase';
      out.push({ type: 'read_purchase', purchaseId, purpose: 'final' });
    }
    return;
  }

  // A webhook hinted at a failure or closure: confirm it with a fresh read before anything else.
  if (s.confirm && purchaseId) {
    s.inFlight = 'read_purchase';
    out.push({ type: 'read_purchase', purchaseId, purpose: 'confirm' });
    return;
  }

  if (!purchaseId) {
    if (s.nextAttemptAt !== undefined && s.nextAttemptAt > now && !s.retryNow) {
      s.wakeAt = s.nextAttemptAt;
      return;
    }
    s.retryNow = false;
    delete s.nextAttemptAt;
    s.status = 'creating';
    s.inFlight = 'create_purchase';
    out.push({ type: 'create_purchase' });
    return;
  }

  if (s.status === 'action_required') {
    if (!s.tokenChanged) {
      if (s.paused && !ctx.legacyRules) return; // pause holds the grace; resume restarts its clock
      if (s.actionRequiredUntil !== undefined && now >= s.actionRequiredUntil) {
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
      return;
    }
  }

  if (s.paused) return; // pause holds dunning until resume; the subscription wakes the cycle

  // When may the next charge be made?
  let dueAt: number;
  if (s.attempts.length === 0 && s.status !== 'retry_scheduled') dueAt = now;
  else if (s.tokenChanged || s.retryNow) dueAt = now;
  else dueAt = s.nextAttemptAt ?? now;
  dueAt = Math.max(dueAt, earliestNextAttempt(s, ctx.policy));
  dueAt = respectTokenCap(ctx.policy, s.attempts, s.priorTokenAttempts, s.token, dueAt);
  if (dueAt > now) {
    s.wakeAt = dueAt;
    if (s.status !== 'action_required') {
      s.status = 'retry_scheduled';
      s.nextAttemptAt = dueAt;
    }
    return;
  }

  if (s.needsNewPurchase) {
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
    if (!isClosed(s) && s.purchaseStatus !== 'blocked') {
      s.inFlight = 'cancel_purchase';
      out.push({ type: 'cancel_purchase', purchaseId });
      return;
    }
    s.inFlight = 'create_purchase';
    out.push({ type: 'create_purchase' });
    return;
  }

  s.retryNow = false;
  s.tokenChanged = false;
  delete s.nextAttemptAt;
  delete s.actionRequiredUntil;
  s.status = 'charging';
  s.inFlight = 'charge';
  if (!ctx.legacyRules) s.chargeToken = s.token;
  out.push({ type: 'charge', purchaseId, token: s.token, attempt: s.attempts.length + 1 });
}

/** The current Purchase can take no money: closed, or blocked (which refuses charges and cannot be cancelled). */
function isClosed(s: CycleMachineState): boolean {
  return s.purchaseStatus !== undefined && (isClosedPurchaseStatus(s.purchaseStatus) || s.purchaseStatus === 'blocked');
}

function planPending(s: CycleMachineState, ctx: CycleContext, out: CycleCommand[], purchaseId: string): void {
  const now = ctx.now;
  const alertAt = (s.pendingSince ?? now) + ctx.policy.pendingAlertAfterHours * HOUR;
  if (!s.pendingAlerted && now >= alertAt) {
    s.pendingAlerted = true;
    out.push({
      type: 'alert',
      code: 'pending_too_long',
      message: `charge pending for ${ctx.policy.pendingAlertAfterHours}h; still polling`,
      severity: 'critical',
    });
    out.push({
      type: 'notify',
      event: 'cycle.pending_too_long',
      key: 'pending_too_long',
      data: { pendingSince: new Date(s.pendingSince ?? now).toISOString() },
    });
  }
  const pollAt = s.nextPollAt ?? now;
  if (s.confirm || now >= pollAt) {
    s.inFlight = 'read_purchase';
    out.push({ type: 'read_purchase', purchaseId, purpose: s.confirm ? 'confirm' : 'poll' });
    return;
  }
  s.wakeAt = s.pendingAlerted ? pollAt : Math.min(pollAt, alertAt);
}

function planSettlement(s: CycleMachineState, now: number, out: CycleCommand[]): void {
  if (!isPaidCycleStatus(s.status)) {
    s.finished = true;
    out.push({ type: 'report', final: true }, { type: 'finish' });
    return;
  }
  const purchaseId = s.paidPurchaseId ?? currentPurchaseId(s);
  if (s.settlementRuns === 0 || s.settlementRetry) {
    // A run records every target without a record: all of them first, the failed ones on an operator's retry.
    const next = s.settlementTargets.findIndex((_t, i) => {
      const r = s.settlement[i];
      return !r || (r.status === 'failed' && (r.run ?? 0) <= s.settlementRuns);
    });
    if (next >= 0 && purchaseId) {
      s.inFlight = 'record_settlement';
      out.push({ type: 'record_settlement', index: next, target: s.settlementTargets[next]!, purchaseId });
      return;
    }
    s.settlementRuns++;
    s.settlementRetry = false;
    const failed = s.settlement.filter((r) => r.status === 'failed');
    s.settlementFailed = failed.length > 0;
    if (s.settlementFailed) {
      out.push({
        type: 'alert',
        code: 'settlement_failed',
        message: `paid, but settlement failed in ${failed.map((r) => `${r.target} (${r.error ?? ''})`).join('; ')}; retry with retrySettlement`,
        severity: 'critical',
      });
      out.push({
        type: 'notify',
        event: 'cycle.settlement_failed',
        key: `settlement_failed:${s.settlementRuns}`,
        data: { targets: failed.map((r) => ({ target: r.target, error: r.error })), run: s.settlementRuns },
      });
      s.settlementDeadline ??= now + CYCLE_LIMITS.settlementRetryWindowHours * HOUR;
    }
    // The subscription learns the outcome (and what was written) at the end of every run.
    out.push({ type: 'report', final: true });
  }
  if (s.settlementFailed && !s.settlementWindowClosed) {
    const deadline = s.settlementDeadline ?? now;
    if (now < deadline) {
      s.wakeAt = deadline; // stays open (status paid) for an operator's retry
      return;
    }
    s.settlementWindowClosed = true;
  }
  s.finished = true;
  out.push({ type: 'finish' });
}

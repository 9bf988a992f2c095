/**
 * What a read of the Purchase, or a webhook, shows. Webhooks are hints: a paid status concludes at once (paid never
 * goes back); a failure or closure is confirmed by re-reading the Purchase in the main loop, so a stale decline never
 * concludes a later attempt. Another Purchase's facts never touch the cycle.
 */
import { classifyDecline } from '../declines';
import { pendingPollDelayMs } from '../dunning';
import { isOpenStatus } from '../purchase-status';
import { onDecline, recordAttempt } from './attempt';
import { finish } from './closing';
import type { CycleCommand, CycleContext } from './events';
import { CYCLE_LIMITS } from './limits';
import { answerMarkPaid } from './mark-paid';
import { becomePaid } from './paid';
import { pollAgainLater, startPending } from './pending';
import {
  currentPurchaseId,
  currentPurchaseIsClosed,
  isChargePendingStatus,
  isClosedPurchaseStatus,
  isDeclinedPurchaseStatus,
  isPaidCycleStatus,
  isPaidPurchaseStatus,
  isTerminalCycleStatus,
  see,
  type CycleMachineState,
  type DeclineDetails,
  type PurchaseFacts,
} from './state';

/** A read's answer: it also clears the read failures, and a markPaid waiting for a read has had it. */
export function onPurchaseRead(s: CycleMachineState, p: PurchaseFacts, ctx: CycleContext, out: CycleCommand[]): void {
  s.readFailures = 0;
  if (s.markPaid) s.markPaid.checked = true;
  onPurchaseFacts(s, p, true, ctx, out);
}

/** A read's answer (`fromRead`) or a webhook's facts about one of the cycle's Purchases. */
export function onPurchaseFacts(
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
    else pollAgainLater(s, ctx);
    return;
  }
  if (s.closing) {
    // Under the Purchase rules a payable Purchase is cancelled first (plan), and that answer ends the cycle.
    if (ctx.purchaseLife && !s.closing.cancelRefused && !currentPurchaseIsClosed(s)) return;
    finish(s, s.closing, out);
    return;
  }
  if (s.status !== 'pending') return; // a read only concludes a charge the gateway is processing
  concludePending(s, p, ctx, out);
  // Whatever the read showed, the next one waits its turn: no wait without a timer.
  if (s.status === 'pending') pollAgainLater(s, ctx);
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

/** A read failed: polling goes on (alerted once), and a markPaid that needed it is answered. */
export function onPurchaseReadFailed(
  s: CycleMachineState,
  reason: string,
  ctx: CycleContext,
  out: CycleCommand[],
): void {
  s.readFailures++;
  if (s.readFailures === CYCLE_LIMITS.readFailuresBeforeAlert) {
    out.push({
      type: 'alert',
      code: 'purchase_read_failed',
      message: `could not read the purchase: ${reason}; polling goes on`,
      severity: 'warning',
    });
  }
  if (s.markPaid && !s.markPaid.checked) answerMarkPaid(s, `could not read the purchase: ${reason}`);
  if (s.closing) {
    // The last re-read failed: the cycle must not close blind. Try again later.
    s.wakeAt = ctx.now + pendingPollDelayMs(ctx.policy, 0);
    s.nextAttemptAt = s.wakeAt;
  } else if (s.status === 'pending') {
    s.nextPollAt = ctx.now + pendingPollDelayMs(ctx.policy, s.polls);
  } else {
    s.confirm = false;
  }
}

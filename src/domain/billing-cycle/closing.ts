/**
 * Closing a cycle as failed or canceled. Before the terminal status the Purchase is re-read, or cancelled (which
 * re-reads it first): money that arrived meanwhile makes the cycle paid instead. A canceled cycle, and under the
 * Purchase rules (`purchaseLife`) any unpaid end, cancels a Purchase that could still take money.
 */
import { ask, type CycleCommand, type CycleContext } from './events';
import { clearSchedule } from './schedule';
import { planSettlement } from './settlement';
import { currentPurchaseIsClosed, type CycleMachineState } from './state';

export type Closing = NonNullable<CycleMachineState['closing']>;

/** Starts closing the cycle as failed or canceled: the Purchase is re-read (or cancelled) first. */
export function close(s: CycleMachineState, status: Closing['status'], reason: string, kind: Closing['kind']): void {
  s.closing = { status, reason, kind };
  delete s.nextAttemptAt;
  delete s.actionRequiredUntil;
}

/** The last look at the Purchase showed no money: the cycle takes the status it was closing with. */
export function finish(s: CycleMachineState, closing: Closing, out: CycleCommand[]): void {
  const { status, reason, kind } = closing;
  delete s.closing;
  s.status = status;
  s.failureReason = reason;
  s.failureKind = kind;
  clearSchedule(s);
  if (status === 'failed') {
    out.push({ type: 'notify', event: 'cycle.failed', key: 'failed', data: { reason, lastDecline: s.lastDecline } });
  }
}

/** The next step of a closing cycle: its last cancel or re-read of the Purchase (or its end, without one). */
export function planClosing(
  s: CycleMachineState,
  closing: Closing,
  ctx: CycleContext,
  out: CycleCommand[],
  purchaseId: string | undefined,
): void {
  const now = ctx.now;
  if (!purchaseId) {
    finish(s, closing, out);
    planSettlement(s, now, out);
    return;
  }
  if (s.nextAttemptAt !== undefined && s.nextAttemptAt > now) {
    s.wakeAt = s.nextAttemptAt; // a failed re-read waits before the next one
    return;
  }
  delete s.nextAttemptAt;
  if (
    (closing.status === 'canceled' || ctx.purchaseLife) && // an unpaid end cancels the Purchase (no late money)
    s.purchaseStatus !== 'cancel_failed' &&
    !closing.cancelRefused &&
    !currentPurchaseIsClosed(s)
  ) {
    ask(s, out, { type: 'cancel_purchase', purchaseId });
  } else {
    ask(s, out, { type: 'read_purchase', purchaseId, purpose: 'final' });
  }
}

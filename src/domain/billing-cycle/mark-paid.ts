/**
 * An operator's mark-as-paid (money taken outside the gateway's charge). It runs between calls, never while a charge
 * is pending: a lost charge answer may have left one at the gateway, so the Purchase is read first. Every request gets
 * exactly one answer, by its id (the update handler waits for its own).
 */
import { ask, type CycleCommand, type CycleContext, type CycleEvent } from './events';
import { clearSchedule } from './schedule';
import {
  currentPurchaseIsClosed,
  isTerminalCycleStatus,
  see,
  type CycleMachineState,
  type PurchaseFacts,
} from './state';

/** Why `markPaid` is refused right now, or undefined. */
export function markPaidRefusal(s: CycleMachineState): string | undefined {
  if (isTerminalCycleStatus(s.status) || s.closing) return `the cycle is already ${s.closing?.status ?? s.status}`;
  if (s.status === 'pending') return 'a charge is pending at the gateway; its outcome decides';
  if (s.markPaid) return 'a markPaid request is already being processed';
  return undefined;
}

/** Answers the markPaid request being processed, if any: done, or refused with `error`. */
export function answerMarkPaid(s: CycleMachineState, error?: string): void {
  const req = s.markPaid;
  if (!req) return;
  delete s.markPaid;
  s.markPaidAnswers.push(
    error === undefined ? { requestId: req.requestId, ok: true } : { requestId: req.requestId, ok: false, error },
  );
}

export function onMarkPaidRequested(
  s: CycleMachineState,
  e: Extract<CycleEvent, { type: 'mark_paid_requested' }>,
): void {
  const refusal = markPaidRefusal(s);
  if (refusal) s.markPaidAnswers.push({ requestId: e.requestId, ok: false, error: refusal });
  else
    s.markPaid = {
      requestId: e.requestId,
      ...(e.paidOn !== undefined ? { paidOn: e.paidOn } : {}),
      ...(e.note !== undefined ? { note: e.note } : {}),
    };
}

export function onMarkedPaid(s: CycleMachineState, purchase: PurchaseFacts, now: number, out: CycleCommand[]): void {
  see(s, purchase);
  answerMarkPaid(s);
  if (!isTerminalCycleStatus(s.status)) {
    s.paidAt = now;
    s.paidPurchaseId = purchase.purchaseId;
    s.status = 'marked_paid';
    clearSchedule(s);
    out.push({ type: 'notify', event: 'cycle.paid', key: 'paid', data: { markedPaid: true } });
  }
}

/**
 * Plans the next step of the markPaid request being processed (read, fresh Purchase, mark_as_paid), or answers it
 * when it cannot run. True when a call was asked for.
 */
export function planMarkPaid(
  s: CycleMachineState,
  ctx: CycleContext,
  out: CycleCommand[],
  purchaseId: string | undefined,
): boolean {
  const req = s.markPaid;
  if (!req) return false;
  if (purchaseId && s.status !== 'pending' && !req.checked) {
    ask(s, out, { type: 'read_purchase', purchaseId, purpose: 'confirm' });
    return true;
  }
  if (purchaseId && s.status !== 'pending' && ctx.purchaseLife && currentPurchaseIsClosed(s)) {
    // The current Purchase can take no money (blocked by fraud checks, closed): the gateway refuses mark_as_paid on
    // it. The period gets a fresh Purchase, as a new card does, and that one is marked paid.
    ask(s, out, { type: 'create_purchase' });
    return true;
  }
  if (purchaseId && s.status !== 'pending') {
    ask(s, out, { type: 'mark_paid', purchaseId, ...(req.paidOn !== undefined ? { paidOn: req.paidOn } : {}) });
    return true;
  }
  answerMarkPaid(s, purchaseId ? 'a charge is pending at the gateway' : 'the purchase is not created yet');
  return false;
}

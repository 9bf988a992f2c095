/**
 * The cycle took its money. Paid never goes back: a paid status concludes at once, from a charge answer, a read or a
 * webhook. Money seen after the cycle closed unpaid raises one alert (`paid_after_close`).
 */
import type { CycleCommand } from './events';
import { answerMarkPaid } from './mark-paid';
import { clearSchedule } from './schedule';
import { isPaidCycleStatus, isTerminalCycleStatus, type CycleMachineState } from './state';

export function becomePaid(
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
  if (marked) answerMarkPaid(s);
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

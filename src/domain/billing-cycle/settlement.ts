/**
 * Settlement: a paid cycle records its payment once in every configured target, one call at a time. A run writes
 * every target without a record (the first run all of them, an operator's `retrySettlement` the failed ones); the
 * subscription learns the outcome at the end of every run. A cycle whose settlement failed stays open (status paid)
 * for `settlementRetryWindowHours`, then finishes. An unpaid cycle writes nothing.
 */
import { ask, type CycleCommand } from './events';
import { CYCLE_LIMITS, HOUR } from './limits';
import { currentPurchaseId, isPaidCycleStatus, type CycleMachineState, type SettlementEntry } from './state';

/** A settlement call's answer: the target's entry for this run. */
export function onSettlementWritten(
  s: CycleMachineState,
  index: number,
  outcome: Pick<SettlementEntry, 'status' | 'externalId' | 'error'>,
): void {
  const target = s.settlementTargets[index];
  if (target) s.settlement[index] = { target: target.kind, ...outcome, destination: target, run: s.settlementRuns + 1 };
}

export function onSettlementRetryRequested(s: CycleMachineState): void {
  if (s.settlementFailed && !s.settlementWindowClosed) s.settlementRetry = true;
}

/** The cycle ended: settle a paid one, then finish (an unpaid one reports and finishes at once). */
export function planSettlement(s: CycleMachineState, now: number, out: CycleCommand[]): void {
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
      ask(s, out, { type: 'record_settlement', index: next, target: s.settlementTargets[next]!, purchaseId });
      return;
    }
    endSettlementRun(s, now, out);
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

/** Every target of the run has its entry: alert and notify about failed ones, and report the run. */
function endSettlementRun(s: CycleMachineState, now: number, out: CycleCommand[]): void {
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

/**
 * Billing metrics recorded from workflow code through the SDK's workflow meter: replay-safe (nothing is recorded
 * while a history replays), so a restarted worker does not count a cycle twice. The SDK adds namespace, task queue
 * and workflow type tags; the labels here are low-cardinality (see src/shared/metrics.ts).
 */
import { metricMeter } from '@temporalio/workflow';
import { BillingMetric } from '../shared/metrics';

// Created at each use, not at module load: the workflow meter exists only inside a workflow's context (tests import
// this module outside one), and the SDK looks the instruments up by name.
const charges = () => metricMeter.createCounter(BillingMetric.charges, 'attempts', 'Charge attempts by outcome');
const charged = () =>
  metricMeter.createCounter(BillingMetric.amountChargedMinor, 'minor', 'Amount charged, minor units');
const refunded = () =>
  metricMeter.createCounter(BillingMetric.amountRefundedMinor, 'minor', 'Amount refunded, minor units');
const depth = () =>
  metricMeter.createHistogram(BillingMetric.dunningDepthAtRecovery, 'int', 'attempts', 'Charge attempts to pay');
const transitions = () =>
  metricMeter.createCounter(BillingMetric.cycleTransitions, 'cycles', 'Cycle status transitions');
const pendingAge = () =>
  metricMeter.createHistogram(
    BillingMetric.pendingOutcomeAgeSeconds,
    'float',
    's',
    'Time a charge stayed pending at the gateway',
  );
const settlementFailures = () =>
  metricMeter.createCounter(BillingMetric.settlementFailures, 'writes', 'Settlement writes that failed');

export type ChargeMetricOutcome = 'paid' | 'pending' | 'declined' | 'refused' | 'failed';

export function recordChargeAnswer(outcome: ChargeMetricOutcome, declineClass = 'none'): void {
  charges().add(1, { outcome, decline_class: declineClass });
}

/** One status change of a cycle; `from` is undefined for its first status. */
export function recordCycleTransition(
  from: string | undefined,
  to: string,
  cycle: { amountMinor: number; currency: string; attempts: number; pendingSince?: number | undefined; now: number },
): void {
  transitions().add(1, { from: from ?? 'none', to });
  if ((to === 'paid' || to === 'marked_paid') && from !== to) {
    charged().add(cycle.amountMinor, { currency: cycle.currency });
    if (to === 'paid') depth().record(Math.max(cycle.attempts, 1));
  }
  if (from === 'pending' && cycle.pendingSince !== undefined) {
    pendingAge().record(Math.max(cycle.now - cycle.pendingSince, 0) / 1000, { to });
  }
}

export function recordRefund(amountMinor: number, currency: string): void {
  if (amountMinor > 0) refunded().add(amountMinor, { currency });
}

export function recordSettlementFailure(target: string, operation: 'record' | 'reverse' | 'restore'): void {
  settlementFailures().add(1, { target, operation });
}

const reconciliationDiscrepancies = () =>
  metricMeter.createCounter(
    BillingMetric.reconciliationDiscrepancies,
    'discrepancies',
    'Discrepancies found by the reconciliation sweep',
  );
const reconciliationCycles = () =>
  metricMeter.createCounter(BillingMetric.reconciliationCycles, 'cycles', 'Cycles the reconciliation sweep checked');

/** One batch of the reconciliation sweep: discrepancies by kind and outcome, cycles checked and not checked. */
export function recordReconciliationBatch(
  items: readonly { kind: string; outcome: string }[],
  checked: number,
  unchecked: number,
): void {
  for (const i of items) reconciliationDiscrepancies().add(1, { kind: i.kind, outcome: i.outcome });
  if (checked > 0) reconciliationCycles().add(checked, { result: 'checked' });
  if (unchecked > 0) reconciliationCycles().add(unchecked, { result: 'unchecked' });
}

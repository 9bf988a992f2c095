/**
 * Billing metrics recorded from workflow code. Nothing is sent while a history replays, so a restarted worker does
 * not count a cycle twice; and each value carries its place in the run (the n-th value of its series), so when a
 * workflow task is retried (the server refused its completion, say a webhook signal arrived while a cycle was
 * completing, and the same events are processed again as new) the worker recognises what it already counted
 * (src/worker-metrics.ts). The SDK's workflow meter cannot do the second: it sends every value a task produces. Tags
 * added by the worker: namespace, taskQueue, workflowType; the labels here are low-cardinality (src/shared/metrics.ts).
 */
import { proxySinks, workflowInfo } from '@temporalio/workflow';
import { BillingMetric, type BillingMetricsSinks, type MetricTags } from '../shared/metrics';

const { billingMetrics } = proxySinks<BillingMetricsSinks>();

// Per run: module state is the run's own (the SDK gives every workflow execution its own module instances).
const seen = new Map<string, number>();

function keyFor(name: string, tags: MetricTags): string {
  const labels = Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(',');
  const series = `${name}|${labels}`;
  const n = (seen.get(series) ?? 0) + 1;
  seen.set(series, n); // counted while replaying too: the numbering is the run's, whichever task sends it
  return `${series}#${n}`;
}

function counter(name: string, unit: string, description: string) {
  return {
    add(value: number, tags: MetricTags = {}): void {
      const key = keyFor(name, tags);
      if (workflowInfo().unsafe.isReplaying) return;
      billingMetrics.record({ kind: 'counter', name, unit, description, value, tags, key });
    },
  };
}

function histogram(name: string, valueType: 'int' | 'float', unit: string, description: string) {
  return {
    record(value: number, tags: MetricTags = {}): void {
      const key = keyFor(name, tags);
      if (workflowInfo().unsafe.isReplaying) return;
      billingMetrics.record({ kind: 'histogram', name, valueType, unit, description, value, tags, key });
    },
  };
}

// Plain descriptions, safe at module load (unit tests import this module outside a workflow): nothing touches the
// workflow context until a value is recorded.
const charges = counter(BillingMetric.charges, 'attempts', 'Charge attempts by outcome');
const charged = counter(BillingMetric.amountChargedMinor, 'minor', 'Amount charged, minor units');
const refunded = counter(BillingMetric.amountRefundedMinor, 'minor', 'Amount refunded, minor units');
const depth = histogram(BillingMetric.dunningDepthAtRecovery, 'int', 'attempts', 'Charge attempts to pay');
const transitions = counter(BillingMetric.cycleTransitions, 'cycles', 'Cycle status transitions');
const pendingAge = histogram(
  BillingMetric.pendingOutcomeAgeSeconds,
  'float',
  's',
  'Time a charge stayed pending at the gateway',
);
const settlementFailures = counter(BillingMetric.settlementFailures, 'writes', 'Settlement writes that failed');

export type ChargeMetricOutcome = 'paid' | 'pending' | 'declined' | 'refused' | 'failed';

export function recordChargeAnswer(outcome: ChargeMetricOutcome, declineClass = 'none'): void {
  charges.add(1, { outcome, decline_class: declineClass });
}

/** One status change of a cycle; `from` is undefined for its first status. */
export function recordCycleTransition(
  from: string | undefined,
  to: string,
  cycle: { amountMinor: number; currency: string; attempts: number; pendingSince?: number | undefined; now: number },
): void {
  transitions.add(1, { from: from ?? 'none', to });
  if ((to === 'paid' || to === 'marked_paid') && from !== to) {
    charged.add(cycle.amountMinor, { currency: cycle.currency });
    if (to === 'paid') depth.record(Math.max(cycle.attempts, 1));
  }
  if (from === 'pending' && cycle.pendingSince !== undefined) {
    pendingAge.record(Math.max(cycle.now - cycle.pendingSince, 0) / 1000, { to });
  }
}

export function recordRefund(amountMinor: number, currency: string): void {
  if (amountMinor > 0) refunded.add(amountMinor, { currency });
}

export function recordSettlementFailure(target: string, operation: 'record' | 'reverse' | 'restore'): void {
  settlementFailures.add(1, { target, operation });
}

const reconciliationDiscrepancies = counter(
  BillingMetric.reconciliationDiscrepancies,
  'discrepancies',
  'Discrepancies found by the reconciliation sweep',
);
const reconciliationCycles = counter(
  BillingMetric.reconciliationCycles,
  'cycles',
  'Cycles the reconciliation sweep checked',
);

/** One batch of the reconciliation sweep: discrepancies by kind and outcome, cycles checked and not checked. */
export function recordReconciliationBatch(
  items: readonly { kind: string; outcome: string }[],
  checked: number,
  unchecked: number,
): void {
  for (const i of items) reconciliationDiscrepancies.add(1, { kind: i.kind, outcome: i.outcome });
  if (checked > 0) reconciliationCycles.add(checked, { result: 'checked' });
  if (unchecked > 0) reconciliationCycles.add(unchecked, { result: 'unchecked' });
}

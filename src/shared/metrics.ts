/**
 * Billing metrics: one name list for the emitters (workflows, activities, API), the dashboard and the tests.
 * Labels stay low-cardinality on purpose: outcome, decline class, status, currency, target, alert code. Never a
 * customer, subscription, cycle or purchase id (those belong in Temporal visibility, not in a time series).
 */
export const BillingMetric = {
  /** Counter: charge attempts answered, by `outcome` (paid | pending | declined | refused | failed) and `decline_class`. */
  charges: 'billing_charges',
  /** Counter: minor units charged (gateway charge or marked paid), by `currency`. */
  amountChargedMinor: 'billing_amount_charged_minor',
  /** Counter: minor units refunded, by `currency`. */
  amountRefundedMinor: 'billing_amount_refunded_minor',
  /** Histogram: charge attempts a cycle needed when it ended paid (1 = paid at once; > 1 = recovered by dunning). */
  dunningDepthAtRecovery: 'billing_dunning_depth_at_recovery',
  /** Counter: cycle status transitions, by `from` and `to` (a cycle's first status has from="none"). */
  cycleTransitions: 'billing_cycle_transitions',
  /** Histogram: seconds a charge stayed pending at the gateway before its outcome arrived, by `to`. */
  pendingOutcomeAgeSeconds: 'billing_pending_outcome_age_seconds',
  /** Counter: settlement writes that failed for good, by `target` and `operation` (record | reverse | restore). */
  settlementFailures: 'billing_settlement_failures',
  /** Counter: operations alerts raised, by `code` and `severity`. */
  alerts: 'billing_alerts',
  /** Histogram (API): seconds from a QorePay webhook's receipt to its workflow signal, by `outcome`. */
  webhookToWorkflowSeconds: 'billing_webhook_to_workflow_seconds',
  /** Gauge (API, from Temporal visibility): billing cycle workflows by `status`. */
  cyclesByStatus: 'billing_cycles',
  /** Counter: discrepancies the reconciliation sweep found, by `kind` and `outcome` (fixed | reported | fix_failed). */
  reconciliationDiscrepancies: 'billing_reconciliation_discrepancies',
  /** Counter: cycles the reconciliation sweep checked, by `result` (checked | unchecked). */
  reconciliationCycles: 'billing_reconciliation_cycles',
} as const;

/** Histogram buckets, shared by the worker's Runtime (overrides) and the API's prom-client histograms. */
export const METRIC_BUCKETS: Readonly<Record<string, number[]>> = {
  [BillingMetric.dunningDepthAtRecovery]: [1, 2, 3, 4, 5, 6, 8, 10],
  [BillingMetric.pendingOutcomeAgeSeconds]: [1, 5, 15, 30, 60, 300, 900, 3600, 21600, 86400],
  [BillingMetric.webhookToWorkflowSeconds]: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
};

/**
 * One metric value recorded by workflow code, carried out of the sandbox by the `billingMetrics` sink. `key` names
 * the value within its workflow run (`name|labels#n`: the n-th value of that series the run recorded), so a value the
 * run records again when a workflow task is retried (the server refused the task's completion and the events are
 * processed anew) is recognised by the worker and counted once.
 */
export type WorkflowMetricRecord =
  | { kind: 'counter'; name: string; unit: string; description: string; value: number; tags: MetricTags; key: string }
  | {
      kind: 'histogram';
      name: string;
      valueType: 'int' | 'float';
      unit: string;
      description: string;
      value: number;
      tags: MetricTags;
      key: string;
    };

export type MetricTags = Record<string, string>;

/** The sink workflows record billing metrics through (injected by the worker: src/worker-metrics.ts). */
export type BillingMetricsSinks = {
  billingMetrics: { record(r: WorkflowMetricRecord): void };
};

/**
 * The API process's Prometheus metrics (prom-client), served at GET /metrics: webhook receipt → workflow signal
 * latency, and billing cycles by status, counted from Temporal visibility at scrape time (the durable truth, so the
 * gauge survives restarts of every process). Labels are low-cardinality: no ids.
 */
import type { BillingClient } from '@temporal-billing/client';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CYCLE_STATUSES } from '../shared/billing-cycle';
import { BillingMetric, METRIC_BUCKETS } from '../shared/metrics';

export interface ApiMetrics {
  registry: Registry;
  /** Records one webhook's time from receipt to the end of its handling (signal sent, or refused). */
  observeWebhook(outcome: string, seconds: number): void;
}

export function createApiMetrics(
  opts: { cycles?: Pick<BillingClient, 'countCycles'>; defaultMetrics?: boolean } = {},
): ApiMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'billing-api' });
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'billing_api_' });
  const webhook = new Histogram({
    name: BillingMetric.webhookToWorkflowSeconds,
    help: 'Seconds from a QorePay webhook request to its workflow signal (or its refusal), by outcome',
    labelNames: ['outcome'],
    buckets: METRIC_BUCKETS[BillingMetric.webhookToWorkflowSeconds]!,
    registers: [registry],
  });
  const cycles = opts.cycles;
  if (cycles) {
    new Gauge({
      name: BillingMetric.cyclesByStatus,
      help: 'Billing cycle workflows by billing status (Temporal visibility, counted at scrape time)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const counts = await Promise.all(
          CYCLE_STATUSES.map(async (status) => {
            try {
              return await cycles.countCycles(status);
            } catch {
              return undefined; // Temporal unreachable: leave the series out rather than report a false zero
            }
          }),
        );
        this.reset();
        CYCLE_STATUSES.forEach((status, i) => {
          const n = counts[i];
          if (n !== undefined) this.set({ status }, n);
        });
      },
    });
  }
  const metrics: ApiMetrics = {
    registry,
    observeWebhook: (outcome, seconds) => webhook.observe({ outcome }, seconds),
  };
  return metrics;
}

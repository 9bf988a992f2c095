/**
 * The API process's Prometheus metrics (prom-client), served at GET /metrics: webhook receipt → workflow signal
 * latency, and billing cycles by status, counted from Temporal visibility at scrape time (the durable truth, so the
 * gauge survives restarts of every process) and reused for one scrape interval. Labels are low-cardinality: no ids.
 * Served to operator keys on the API port, and without a key on the internal metrics port (API_METRICS_PORT).
 */
import type { BillingOperator } from '@temporal-billing/client/engine';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CYCLE_STATUSES } from '../shared/billing-cycle';
import { BillingMetric, METRIC_BUCKETS } from '../shared/metrics';

export interface ApiMetrics {
  registry: Registry;
  /** Records one webhook's time from receipt to the end of its handling (signal sent, or refused). */
  observeWebhook(outcome: string, seconds: number): void;
}

/** How long the cycle counts of one scrape are reused: Prometheus's scrape interval (deploy/prometheus). */
export const CYCLE_COUNTS_CACHE_MS = 15_000;

export function createApiMetrics(
  opts: {
    cycles?: Pick<BillingOperator, 'countCycles'>;
    defaultMetrics?: boolean;
    /** Reuse the cycle counts this long (default CYCLE_COUNTS_CACHE_MS); concurrent scrapes share one count. */
    cacheMs?: number;
    now?: () => number;
  } = {},
): ApiMetrics {
  const cacheMs = opts.cacheMs ?? CYCLE_COUNTS_CACHE_MS;
  const now = opts.now ?? Date.now;
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
  // Each count is a visibility COUNT over every merchant's cycles: one round of them per cache period at most, shared
  // by concurrent scrapes (a scrape storm costs nine queries, not nine per request).
  let cached: { at: number; counts: Promise<(number | undefined)[]> } | undefined;
  const countAll = (): Promise<(number | undefined)[]> =>
    Promise.all(
      CYCLE_STATUSES.map(async (status) => {
        try {
          return await cycles!.countCycles(status);
        } catch {
          return undefined; // Temporal unreachable: leave the series out rather than report a false zero
        }
      }),
    );
  const cycleCounts = (): Promise<(number | undefined)[]> => {
    if (!cached || now() - cached.at >= cacheMs) cached = { at: now(), counts: countAll() };
    return cached.counts;
  };
  if (cycles) {
    new Gauge({
      name: BillingMetric.cyclesByStatus,
      help: 'Billing cycle workflows by billing status (Temporal visibility, counted once per scrape interval)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const counts = await cycleCounts();
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

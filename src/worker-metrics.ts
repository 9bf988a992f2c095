/**
 * The worker's side of the `billingMetrics` sink (src/workflows/billing-metrics.ts): records workflow metric values in
 * the Runtime's meter (the worker's Prometheus endpoint) once each.
 *
 * Why not the SDK's workflow meter: it skips replay, but a workflow task whose completion the server refuses (for
 * example a cycle completing while the gateway's webhook signal arrives: UnhandledCommand) is run again with its
 * events processed as new, and every value that task produced is sent a second time: a paid charge counted twice.
 * Here each value carries its place in its run; the worker remembers the places it has recorded (the most recent
 * `maxRemembered`) and drops a repeat. A retried task taken by another worker process is counted by that process too:
 * per-process counters cannot see each other; the exact figures are the ledger's and visibility's (billing_cycles).
 */
import type { MetricCounter, MetricHistogram, MetricMeter, MetricTags as SdkMetricTags } from '@temporalio/common';
import { Runtime, type InjectedSinks } from '@temporalio/worker';
import { LRUCache } from 'lru-cache';
import type { BillingMetricsSinks, WorkflowMetricRecord } from './shared/metrics';

export interface BillingMetricsSinkOptions {
  namespace: string;
  taskQueue: string;
  /** Default: the installed Runtime's meter (a no-op meter unless the Runtime exports metrics). */
  meter?: MetricMeter;
  /** How many recorded values to remember for recognising repeats (retried tasks come seconds later). */
  maxRemembered?: number;
}

export function billingMetricsSinks(opts: BillingMetricsSinkOptions): InjectedSinks<BillingMetricsSinks> {
  const meter = (opts.meter ?? Runtime.instance().metricMeter).withTags({
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
  });
  const recorded = new LRUCache<string, true>({ max: opts.maxRemembered ?? 100_000 });
  const counters = new Map<string, MetricCounter>();
  const histograms = new Map<string, MetricHistogram>();

  const emit = (r: WorkflowMetricRecord, tags: SdkMetricTags): void => {
    if (r.kind === 'counter') {
      let c = counters.get(r.name);
      if (!c) counters.set(r.name, (c = meter.createCounter(r.name, r.unit, r.description)));
      c.add(r.value, tags);
    } else {
      const id = `${r.name}:${r.valueType}`;
      let h = histograms.get(id);
      if (!h) histograms.set(id, (h = meter.createHistogram(r.name, r.valueType, r.unit, r.description)));
      h.record(r.value, tags);
    }
  };

  return {
    billingMetrics: {
      record: {
        fn(info, r) {
          const place = `${info.workflowId}\u0000${info.runId}\u0000${r.key}`;
          if (recorded.has(place)) return;
          recorded.set(place, true);
          emit(r, { ...r.tags, workflowType: info.workflowType });
        },
        callDuringReplay: false,
      },
    },
  };
}

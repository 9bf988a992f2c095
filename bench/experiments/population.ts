/**
 * Experiments 3 and 4: starting N subscriptions (through the merchant-facing BillingClient, which starts the
 * workflow and reads its first state) vs N no-op workflow starts, and the worker's memory after a full GC at
 * checkpoints of idle subscriptions (the shipped cache size). Also the subscriptions due in a renewal storm.
 */
import { BillingClient } from '@temporal-billing/client';
import type { SubscriptionInput } from '../../src/shared/subscription';
import { rssMiB } from '../support/proc';
import { round, sleep } from '../support/stats';
import { TASK_QUEUE, type BenchStack } from '../support/stack';

/** Runs fn(i) for i in [from, to) with at most `concurrency` in flight; resolves with the number that failed. */
export async function runPool(
  from: number,
  to: number,
  concurrency: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = from;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (next < to) {
      const i = next++;
      try {
        await fn(i);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, to - from)) }, () => lane()));
  return failed;
}

export function subscriptionInput(subscriptionId: string, anchor: string): SubscriptionInput {
  return {
    subscriptionId,
    customerId: `cust-${subscriptionId}`,
    customerEmail: `${subscriptionId}@example.com`,
    recurringToken: `tok_success_${subscriptionId}`,
    plan: { planId: 'pro', currency: 'NGN', lineItems: [{ name: 'Pro plan', priceMinor: 500_000, quantity: 1 }] },
    schedule: { intervalUnit: 'month', intervalCount: 1, anchor, timeZone: 'UTC' },
  };
}

export interface MemoryPoint {
  idleSubscriptions: number;
  rssMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
}

export interface PopulationResult {
  n: number;
  concurrency: number;
  noop: { n: number; startSeconds: number; readySeconds: number; startsPerSecond: number; failed: number };
  subscriptions: { startSeconds: number; startsPerSecond: number; failed: number };
  /** Seconds per subscription start ÷ seconds per no-op start. */
  startRatio: number;
  maxCachedWorkflows: number;
  memory: MemoryPoint[];
}

async function workerMemory(stack: BenchStack, idle: number): Promise<MemoryPoint> {
  await sleep(1000); // let the last workflow tasks finish
  const m = await stack.worker.request({ type: 'memory' });
  return {
    idleSubscriptions: idle,
    rssMiB: round(rssMiB(stack.worker.pid), 1),
    heapUsedMiB: round(m.heapUsedMiB, 1),
    externalMiB: round(m.externalMiB, 1),
  };
}

export async function runPopulation(
  stack: BenchStack,
  opts: { n: number; concurrency: number; checkpoints: number[] },
  log: (s: string) => void,
): Promise<PopulationResult> {
  const { client } = stack;
  // No-op starts: start RPCs acknowledged, then every one of them completed (visibility count).
  const t0 = Date.now();
  const noopFailed = await runPool(0, opts.n, opts.concurrency, (i) =>
    client.workflow.start('noopWorkflow', { taskQueue: TASK_QUEUE, workflowId: `noop-${stack.variant}-${i}` }),
  );
  const noopStart = (Date.now() - t0) / 1000;
  const readyDeadline = Date.now() + 600_000;
  for (;;) {
    const { count } = await client.workflow.count('WorkflowType="noopWorkflow" AND ExecutionStatus="Completed"');
    if (count >= opts.n - noopFailed || Date.now() > readyDeadline) break;
    await sleep(250);
  }
  const noopReady = (Date.now() - t0) / 1000;
  log(
    `  ${stack.variant} ${opts.n} no-op starts: ${noopStart.toFixed(1)} s (all completed after ${noopReady.toFixed(1)} s)`,
  );

  // Subscriptions far from due (idle: each waits on a durable timer), created like a merchant creates them.
  const billing = new BillingClient({ client, taskQueue: TASK_QUEUE });
  const memory: MemoryPoint[] = [await workerMemory(stack, 0)];
  let subSeconds = 0;
  let subFailed = 0;
  let created = 0;
  for (const checkpoint of [...opts.checkpoints].sort((a, b) => a - b)) {
    const ts = Date.now();
    subFailed += await runPool(created, checkpoint, opts.concurrency, (i) =>
      billing.createSubscription(subscriptionInput(`idle-${stack.variant}-${i}`, '2030-01-01T00:00')),
    );
    subSeconds += (Date.now() - ts) / 1000;
    created = checkpoint;
    const point = await workerMemory(stack, checkpoint);
    memory.push(point);
    log(
      `  ${stack.variant} ${checkpoint} idle subscriptions: worker RSS ${point.rssMiB} MiB, heap ${point.heapUsedMiB} MiB`,
    );
  }
  const n = created;
  log(`  ${stack.variant} ${n} subscriptions created in ${subSeconds.toFixed(1)} s (${subFailed} failed)`);
  return {
    n,
    concurrency: opts.concurrency,
    noop: {
      n: opts.n,
      startSeconds: round(noopStart, 2),
      readySeconds: round(noopReady, 2),
      startsPerSecond: round(opts.n / noopStart, 1),
      failed: noopFailed,
    },
    subscriptions: { startSeconds: round(subSeconds, 2), startsPerSecond: round(n / subSeconds, 1), failed: subFailed },
    startRatio: round(subSeconds / n / (noopStart / opts.n), 2),
    maxCachedWorkflows: stack.workerInfo.maxCachedWorkflows,
    memory,
  };
}

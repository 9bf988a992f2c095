/**
 * Experiment 6: a renewal storm. N monthly subscriptions share one due minute (plus an optional jitter that spreads
 * their anchors over whole minutes, since anchors are minute-precise local times). The worker runs with the
 * task-queue activity rate limit from config (WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND), the sandbox with its own
 * request rate limit. Reported: time from the due minute until every period is charged, against the bound the rate
 * limit sets (N × activities per cycle ÷ rate), and the 429s the sandbox answered.
 */
import { BillingClient } from '@temporal-billing/client';
import { subscriptionWorkflowId } from '../../src/shared/subscription';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import { executionCost } from '../support/history';
import { cpuDelta, cpuSnapshot, type ProcessRole } from '../support/proc';
import { median, round, sleep } from '../support/stats';
import { TASK_QUEUE, type BenchStack } from '../support/stack';
import { runPool, subscriptionInput } from './population';

export interface StormOptions {
  n: number;
  /** Activities per second the task queue may dispatch (worker option via config). */
  activitiesPerSecond: number;
  /** Anchors spread over this many whole minutes after the due minute (0: all in the same minute). */
  jitterMinutes: number;
  startConcurrency: number;
  /** Expected subscription starts per second, to place the due minute after all of them exist. */
  expectedStartsPerSecond: number;
  sandboxRateLimit?: { requestsPerSecond: number; burst?: number };
}

export interface StormResult {
  n: number;
  activitiesPerSecond: number;
  jitterMinutes: number;
  sandboxRateLimitPerSecond?: number;
  dueAt: string;
  /** Subscriptions created after their due minute (they bill at once; the storm still counts them). */
  createdLate: number;
  charged: number;
  firstChargeAfterDueSeconds: number;
  clearSeconds: number;
  activitiesPerCycle: number;
  gatewayCallsPerCycle: number;
  /** N × activities per cycle ÷ rate (with jitter: the last minute's share after the jitter window). */
  boundSeconds: number;
  clearOverBound: number;
  cyclesPerSecond: number;
  rateLimited429: number;
  cpuMsPerCycle: Record<ProcessRole, number>;
  /** Seconds after the due minute and cumulative charges, for the plot. */
  timeline: [number, number][];
  timedOut: boolean;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const anchorOf = (ms: number): string => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
};

export async function runStorm(stack: BenchStack, opts: StormOptions, log: (s: string) => void): Promise<StormResult> {
  await stack.restartWorker({ WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND: String(opts.activitiesPerSecond) });
  const billing = new BillingClient({ client: stack.client, taskQueue: TASK_QUEUE });
  const prefix = `storm-${stack.variant}`;
  const estimate = opts.n / Math.max(1, opts.expectedStartsPerSecond);
  const dueMs = Math.ceil((Date.now() + estimate * 1000 * 1.5 + 20_000) / 60_000) * 60_000;
  // Deterministic jitter: subscription i is due i mod (jitter + 1) minutes after the due minute.
  const dueOf = (i: number): number => dueMs + (i % (opts.jitterMinutes + 1)) * 60_000;
  log(
    `  storm: ${opts.n} subscriptions due at ${new Date(dueMs).toISOString()} (jitter ${opts.jitterMinutes} min), ` +
      `rate ${opts.activitiesPerSecond} activities/s`,
  );
  let createdLate = 0;
  await runPool(0, opts.n, opts.startConcurrency, async (i) => {
    await billing.createSubscription(subscriptionInput(`${prefix}-${i}`, anchorOf(dueOf(i))));
    if (Date.now() >= dueOf(i)) createdLate++;
  });
  const before = await stack.sandbox.request({ type: 'stats', referencePrefix: `cycle:${prefix}-` });
  const calls0 = Object.values((await stack.worker.request({ type: 'counters' })).gatewayCalls).reduce(
    (a, b) => a + b,
    0,
  );
  while (Date.now() < dueMs - 1000) await sleep(Math.min(5000, dueMs - 1000 - Date.now()));
  const cpu0 = cpuSnapshot(stack.pids());

  const activitiesPerCycleGuess = 3;
  const boundGuess = (opts.n * activitiesPerCycleGuess) / opts.activitiesPerSecond + opts.jitterMinutes * 60;
  const deadline = dueMs + Math.max(180_000, boundGuess * 3000);
  const timeline: [number, number][] = [];
  let stats = before;
  let timedOut = false;
  for (;;) {
    await sleep(1000);
    stats = await stack.sandbox.request({ type: 'stats', referencePrefix: `cycle:${prefix}-` });
    timeline.push([round((Date.now() - dueMs) / 1000, 1), stats.successfulCharges]);
    if (stats.successfulCharges >= opts.n) break;
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
  }
  const cpu1 = cpuSnapshot(stack.pids());
  const calls1 = Object.values((await stack.worker.request({ type: 'counters' })).gatewayCalls).reduce(
    (a, b) => a + b,
    0,
  );
  await sleep(2000); // let the last cycles report to their subscriptions before sampling histories

  const samples = [0, Math.floor(opts.n / 2), opts.n - 1];
  const costs = await Promise.all(
    samples.map(async (i) => {
      const cycle = await executionCost(stack.client, cycleWorkflowId(`${prefix}-${i}`, 0));
      const sub = await executionCost(stack.client, subscriptionWorkflowId(`${prefix}-${i}`));
      return cycle.activities + sub.activities;
    }),
  );
  const activitiesPerCycle = median(costs);
  const charged = stats.successfulCharges;
  const lastAt = stats.lastChargeAt ? Date.parse(stats.lastChargeAt) : Number.NaN;
  const firstAt = stats.firstChargeAt ? Date.parse(stats.firstChargeAt) : Number.NaN;
  const clearSeconds = (lastAt - dueMs) / 1000;
  const perMinute = Math.ceil(opts.n / (opts.jitterMinutes + 1));
  const boundSeconds = Math.max(
    (opts.n * activitiesPerCycle) / opts.activitiesPerSecond,
    opts.jitterMinutes * 60 + (perMinute * activitiesPerCycle) / opts.activitiesPerSecond,
  );
  const d = cpuDelta(cpu0, cpu1);
  const per = (x: number): number => round((x / Math.max(1, charged)) * 1000, 3);
  const result: StormResult = {
    n: opts.n,
    activitiesPerSecond: opts.activitiesPerSecond,
    jitterMinutes: opts.jitterMinutes,
    ...(opts.sandboxRateLimit ? { sandboxRateLimitPerSecond: opts.sandboxRateLimit.requestsPerSecond } : {}),
    dueAt: new Date(dueMs).toISOString(),
    createdLate,
    charged,
    firstChargeAfterDueSeconds: round((firstAt - dueMs) / 1000, 2),
    clearSeconds: round(clearSeconds, 2),
    activitiesPerCycle,
    gatewayCallsPerCycle: round((calls1 - calls0) / Math.max(1, charged), 3),
    boundSeconds: round(boundSeconds, 2),
    clearOverBound: round(clearSeconds / boundSeconds, 3),
    cyclesPerSecond: round(charged / clearSeconds, 2),
    rateLimited429: stats.rateLimited - before.rateLimited,
    cpuMsPerCycle: { server: per(d.server), worker: per(d.worker), sandbox: per(d.sandbox), driver: per(d.driver) },
    timeline,
    timedOut,
  };
  log(
    `  storm: ${charged}/${opts.n} charged; cleared ${result.clearSeconds} s after the due minute ` +
      `(bound ${result.boundSeconds} s = ${opts.n} × ${activitiesPerCycle} activities ÷ ${opts.activitiesPerSecond}/s; ` +
      `×${result.clearOverBound}); ${result.rateLimited429} answers 429`,
  );
  return result;
}

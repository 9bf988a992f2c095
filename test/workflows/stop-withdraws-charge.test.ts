/**
 * A cancel or a pause acknowledged to the merchant while the cycle's charge call waits in the task queue (issue 20,
 * defect 1). In a renewal storm, or under WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND, a scheduled charge can wait longer
 * than any stop wait; the subscription used to answer "canceled" after 45 s and the charge left afterwards.
 *
 * On the time-skipping server with the real activities against the QorePay sandbox over HTTP. The only artifice: the
 * activity worker stops polling once it has created the Purchase (the storm), and a second one starts after the
 * merchant got the answer (the storm clears). Every assertion reads the gateway's own ledger.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import { QorePayClient } from '../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import { cycleStateQuery, cycleWorkflowId } from '../../src/shared/billing-cycle';
import {
  cancelSubscriptionUpdate,
  pauseSubscriptionUpdate,
  resumeSubscriptionUpdate,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  type SubscriptionInput,
} from '../../src/shared/subscription';
import { subscriptionWorkflow, type billingCycleWorkflow } from '../../src/workflows';
import { billingMetricsSinks } from '../../src/worker-metrics';
import { eventually, maybeRecordHistory, SANDBOX_API_KEY, startBillingStack } from '../support/billing-stack';
import { bundleWorkflows, createTimeSkippingEnv, testDataConverter, uniqueId } from '../support/temporal';
import { reconciliationTemporal } from '../../src/reconciliation-temporal';

jest.setTimeout(180_000);

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let sandbox: QorePaySandbox;
let taskQueue: string;
let workflowWorker: Worker;
let workflowRun: Promise<void>;
const running: { worker: Worker; run: Promise<void> }[] = [];

beforeAll(async () => {
  bundle = await bundleWorkflows(require.resolve('../../src/workflows'));
});
beforeEach(async () => {
  env = await createTimeSkippingEnv();
  sandbox = await startQorePaySandbox({ apiKey: SANDBOX_API_KEY });
  taskQueue = uniqueId('stop');
  workflowWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    sinks: billingMetricsSinks({ namespace: 'default', taskQueue }),
    dataConverter: testDataConverter,
  });
  workflowRun = workflowWorker.run();
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.worker.getState() === 'RUNNING') r.worker.shutdown();
    await r.run.catch(() => undefined);
  }
  workflowWorker?.shutdown();
  await workflowRun?.catch(() => undefined);
  await sandbox?.close();
  await env?.teardown();
});

/** An activity-only worker with the real activities; `stopAfterCreate`: it stops polling once the Purchase exists. */
async function activityWorker(stopAfterCreate: boolean): Promise<{ worker: Worker; run: Promise<void> }> {
  const qorepay = new QorePayClient({
    baseUrl: sandbox.baseUrl,
    apiKey: SANDBOX_API_KEY,
    brandId: '00000000-0000-4000-8000-000000000001',
    timeoutMs: 2000,
    logger: pino({ level: 'silent' }),
  });
  const real = createActivities({
    qorepay,
    temporal: reconciliationTemporal(env.client),
    alerter: { alert: async () => undefined },
  });
  const box: { worker?: Worker } = {};
  const activities = stopAfterCreate
    ? {
        ...real,
        createPurchase: async (...args: Parameters<typeof real.createPurchase>) => {
          const p = await real.createPurchase(...args);
          box.worker?.shutdown(); // the storm: no more activity tasks are taken
          return p;
        },
      }
    : real;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    activities,
    dataConverter: testDataConverter,
    shutdownGraceTime: '10s',
  });
  box.worker = worker;
  const r = { worker, run: worker.run() };
  running.push(r);
  return r;
}

function input(id: string): SubscriptionInput {
  return {
    subscriptionId: id,
    customerId: `cust-${id}`,
    customerEmail: 'buyer@example.com',
    recurringToken: `tok_success_${uniqueId('t')}`,
    merchantNotifications: false,
    plan: { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro plan', priceMinor: 1999, quantity: 1 }] },
    schedule: {
      intervalUnit: 'month',
      intervalCount: 1,
      anchor: new Date().toISOString().slice(0, 16),
      timeZone: 'UTC',
    },
  };
}

/** Starts the subscription and waits until its first cycle's charge call is scheduled with no worker to take it. */
async function chargeWaitingInTheQueue(id: string) {
  const first = await activityWorker(true);
  const handle = await env.client.workflow.start(subscriptionWorkflow, {
    workflowId: subscriptionWorkflowId(id),
    taskQueue,
    args: [input(id)],
  });
  await first.run; // the Purchase is created; nothing takes activity tasks any more
  const cycle = env.client.workflow.getHandle<typeof billingCycleWorkflow>(cycleWorkflowId(id, 0));
  await eventually(
    async () => (await cycle.query(cycleStateQuery)).inFlight === 'charge',
    'the charge call scheduled with no worker to take it',
  );
  return { handle, cycle };
}

test('a cancel answered while the charge waits in the task queue: the charge never leaves, the cycle ends canceled', async () => {
  const id = uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
  const { handle, cycle } = await chargeWaitingInTheQueue(id);

  const [answer] = await Promise.all([
    handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now', reason: 'customer asked' }] }),
    env.sleep('60 seconds'),
  ]);
  const chargesAtAnswer = sandbox.ledger(cycle.workflowId).length;
  expect(answer.status).toBe('canceled');
  // The answer is the truth: the stop happened (no cycle left that might still charge).
  expect(answer.cyclesStopping).toBeUndefined();

  // The storm clears: activity workers take tasks again.
  await activityWorker(false);
  const result = await cycle.result();
  expect(chargesAtAnswer).toBe(0);
  expect(sandbox.ledger(cycle.workflowId)).toEqual([]); // no charge request ever reached the gateway
  expect(result.status).toBe('canceled');
  expect((await handle.query(subscriptionStateQuery)).status).toBe('canceled');
  await maybeRecordHistory(cycle, 'cycle-cancel-withdraws-queued-charge');
});

test('a pause answered while the charge waits: nothing is charged during the pause, the period is charged once after resume', async () => {
  const id = uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
  const { handle, cycle } = await chargeWaitingInTheQueue(id);

  const [answer] = await Promise.all([
    handle.executeUpdate(pauseSubscriptionUpdate, { args: [{}] }),
    env.sleep('60 seconds'),
  ]);
  expect(answer.status).toBe('paused');
  expect(answer.cyclesStopping).toBeUndefined();

  await activityWorker(false);
  // Past the cycle's quick-retry time (2 s after the withdrawn call): a pause that did not hold would charge now.
  await new Promise((r) => setTimeout(r, 5_000));
  await eventually(
    async () => (await cycle.query(cycleStateQuery)).inFlight === undefined,
    'the paused cycle holding with nothing in flight',
  );
  expect(sandbox.ledger(cycle.workflowId)).toEqual([]); // paused: not charged

  await handle.executeUpdate(resumeSubscriptionUpdate, { args: [{}] });
  const result = await cycle.result();
  expect(result.status).toBe('paid');
  expect(sandbox.ledger(cycle.workflowId).filter((e) => e.outcome === 'success')).toHaveLength(1);
});

test('a stop that cannot be confirmed in time is answered as not yet in effect, naming the cycle', async () => {
  // The charge request got a 500: whether the gateway processed it is unknown, so the cycle fences the gateway
  // (CHARGE_FENCE_MS, longer than the subscription's wait) and cannot confirm the stop in time. The answer must not
  // claim that the stop happened.
  const stack = await startBillingStack(env, { workflowBundle: bundle, taskQueue: uniqueId('stop-honest') });
  try {
    const id = uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(id),
      taskQueue: stack.taskQueue,
      args: [{ ...input(id), recurringToken: `tok_500x1_${uniqueId('t')}` }],
    });
    const cycle = env.client.workflow.getHandle<typeof billingCycleWorkflow>(cycleWorkflowId(id, 0));
    await eventually(
      async () => (await cycle.query(cycleStateQuery)).status === 'retry_scheduled',
      'the charge answered 500 (outcome unknown)',
    );
    const [answer] = await Promise.all([
      handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now', reason: 'customer asked' }] }),
      env.sleep('60 seconds'),
    ]);
    expect(answer.status).toBe('canceled');
    expect(answer.cyclesStopping).toEqual([cycle.workflowId]);

    // Once the fence passed, the cycle confirmed the stop and closed after reading the Purchase: nothing was taken.
    const result = await cycle.result();
    expect(result.status).toBe('canceled');
    expect(stack.sandbox.ledger(cycle.workflowId).filter((e) => e.outcome === 'success')).toEqual([]);
    await eventually(
      async () => (await handle.query(subscriptionStateQuery)).cyclesStopping === undefined,
      'the subscription learning that the stop happened',
    );
  } finally {
    await stack.stop();
  }
});

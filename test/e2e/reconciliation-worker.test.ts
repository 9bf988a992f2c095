/**
 * The reconciliation sweep as an operator runs it: a real worker process (src/worker.ts) creates the sweep's Temporal
 * Schedule at start with the configured interval, a triggered scheduled run completes, and the discrepancies a sweep
 * finds are counted on the worker's Prometheus endpoint (parsed exposition, exact values for this task queue).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DEFAULT_DUNNING_POLICY } from '../../src/domain/dunning';
import { QorePayClient } from '../../src/integrations/qorepay';
import { ensureReconciliationSchedule, runReconciliation } from '../../src/reconciliation';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import { BillingMetric } from '../../src/shared/metrics';
import { reconciliationScheduleId, type ReconciliationSummary } from '../../src/shared/reconciliation';
import { billingCycleWorkflow } from '../../src/workflows';
import { cycleInput, eventually } from '../support/billing-stack';
import { scrape, total } from '../support/prometheus';
import { connectToDevServer, uniqueId } from '../support/temporal';

const ROOT = join(__dirname, '..', '..');
const KEY = 'reconcile-worker-secret-key';

let env: TestWorkflowEnvironment;
let sandbox: QorePaySandbox;
let qorepay: QorePayClient;
let worker: ChildProcess | undefined;
const taskQueue = uniqueId('reconcile-worker');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  env = await connectToDevServer();
  sandbox = await startQorePaySandbox({ apiKey: KEY });
  qorepay = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: KEY, brandId: 'brand', timeoutMs: 5000 });
});
afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await env?.client.schedule
    .getHandle(reconciliationScheduleId(taskQueue))
    .delete()
    .catch(() => undefined);
  await sandbox?.close();
  await env?.teardown();
});

it('the worker keeps the sweep’s Schedule, and the worker’s metrics count what a sweep finds', async () => {
  const metricsPort = await freePort();
  worker = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'src', 'worker.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_TEST_NAMESPACE ?? 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      QOREPAY_BASE_URL: sandbox.baseUrl,
      QOREPAY_API_KEY: KEY,
      METRICS_PORT: String(metricsPort),
      RECONCILIATION_INTERVAL: '30m',
      RECONCILIATION_WINDOW: '6h',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  worker.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(
    () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited early: ${output}`);
      return output.includes('billing worker started');
    },
    'the worker to start',
    90_000,
  );
  expect(output).toContain('reconciliation schedule in place');

  // The Schedule, as the Temporal UI's Schedules page shows it.
  const schedule = env.client.schedule.getHandle(reconciliationScheduleId(taskQueue));
  const described = await schedule.describe();
  expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 30 * 60_000 })]);
  expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  // The first run comes one interval after creation, not at the next epoch-aligned half hour.
  expect(described.spec.startAt!.getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
  expect(described.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'reconciliationWorkflow',
    taskQueue,
    args: [{ windowHours: 6 }],
  });
  // Idempotent: a second worker start finds it and leaves one Schedule.
  expect(
    await ensureReconciliationSchedule(env.client, { taskQueue, intervalMs: 30 * 60_000, windowMs: 6 * 3_600_000 }),
  ).toEqual({ scheduleId: reconciliationScheduleId(taskQueue), created: false });
  // A restart with another interval brings the Schedule up to date.
  await ensureReconciliationSchedule(env.client, { taskQueue, intervalMs: 45 * 60_000, windowMs: 6 * 3_600_000 });
  const updated = await schedule.describe();
  expect(updated.spec.intervals).toEqual([expect.objectContaining({ every: 45 * 60_000 })]);
  expect(updated.spec.startAt).toEqual(described.spec.startAt);

  // A cycle that ends failed, then is paid at the gateway: money taken, not recorded. (Its unpaid end cancels the
  // Purchase; the gateway refuses that cancel here, so the Purchase stays payable.)
  const subscriptionId = uniqueId('recw').replace(/[^A-Za-z0-9_-]/g, '');
  sandbox.refuseCancels(cycleWorkflowId(subscriptionId, 0));
  const cycle = await env.client.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(subscriptionId, 0),
    taskQueue,
    args: [
      cycleInput({
        subscriptionId,
        recurringToken: `tok_hard_stolen_card_${uniqueId('t')}`,
        dunning: { ...DEFAULT_DUNNING_POLICY, hardDeclineGraceHours: 0.0003, minHoursBetweenAttempts: 0 },
      }),
    ],
  });
  const result = await cycle.result();
  expect(result.status).toBe('failed');
  await qorepay.markAsPaid(result.purchaseId!);
  await eventually(async () => {
    for await (const wf of env.client.workflow.list({
      query: `WorkflowId = '${cycle.workflowId}' AND ExecutionStatus = 'Completed'`,
    }))
      return true;
    return false;
  }, 'the failed cycle in visibility');

  // A run from the Schedule itself.
  await schedule.trigger();
  const scheduledRunId = await eventually(async () => {
    const d = await schedule.describe();
    return d.info.recentActions[0]?.action.workflow.workflowId;
  }, 'the scheduled run to start');
  expect(scheduledRunId).toMatch(new RegExp(`^reconciliation:scheduled:${taskQueue}`));
  const scheduled = (await env.client.workflow.getHandle(scheduledRunId).result()) as ReconciliationSummary;
  expect(scheduled.items).toEqual([
    expect.objectContaining({ kind: 'paid_on_closed_cycle', outcome: 'reported', cycleId: cycle.workflowId }),
  ]);

  // And one on demand.
  const { summary } = await runReconciliation(env.client, {
    taskQueue,
    since: new Date(Date.now() - 3_600_000).toISOString(),
  });
  expect(summary.counts.paid_on_closed_cycle).toEqual({ found: 1, fixed: 0, reported: 1, fixFailed: 0 });

  const q = { taskQueue };
  const metrics = await eventually(async () => {
    const s = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
    return total(s, BillingMetric.reconciliationDiscrepancies, q) >= 2 ? s : undefined;
  }, 'the reconciliation metrics');
  expect(
    total(metrics, BillingMetric.reconciliationDiscrepancies, {
      ...q,
      kind: 'paid_on_closed_cycle',
      outcome: 'reported',
    }),
  ).toBe(2);
  expect(total(metrics, BillingMetric.reconciliationDiscrepancies, { ...q, kind: 'outcome_waiting' })).toBe(0);
  expect(total(metrics, BillingMetric.reconciliationCycles, { ...q, result: 'checked' })).toBe(2);
  expect(total(metrics, BillingMetric.alerts, { ...q, code: 'reconciliation_paid_on_closed_cycle' })).toBe(2);
}, 180_000);

/**
 * The reconciliation sweep on the dev server (real visibility), against the QorePay and Gormic sandboxes over HTTP:
 * money taken on a cycle that ended failed is found and alerted; a cycle stuck in pending (no webhook, poller hours
 * away) while the gateway already has it paid is resolved; a paid cycle missing its Gormic record gets it written once
 * however often the sweep runs; a Gormic record for a cycle that never paid is reported.
 */
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DEFAULT_DUNNING_POLICY } from '../../src/domain/dunning';
import { GormicClient } from '../../src/integrations/gormic';
import { startGormicSandbox, type GormicSandbox } from '../../src/sandbox/gormic/server';
import { runReconciliation } from '../../src/reconciliation';
import {
  cycleStateQuery,
  cycleWorkflowId,
  type BillingCycleInput,
  type BillingCycleResult,
} from '../../src/shared/billing-cycle';
import {
  reconciliationSummaryQuery,
  type ReconciliationItem,
  type ReconciliationSummary,
} from '../../src/shared/reconciliation';
import { billingCycleWorkflow, reconciliationWorkflow } from '../../src/workflows';
import {
  cycleInput,
  eventually,
  maybeRecordHistory,
  startBillingStack,
  type BillingStack,
} from '../support/billing-stack';
import { bundleWorkflows, connectToDevServer, uniqueId } from '../support/temporal';

const GORMIC_KEY = 'gormic-reconcile-key';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let stack: BillingStack;
let gormicSandbox: GormicSandbox;
let gormic: GormicClient;

beforeAll(async () => {
  [env, bundle, gormicSandbox] = await Promise.all([
    connectToDevServer(),
    bundleWorkflows(require.resolve('../../src/workflows')),
    startGormicSandbox({ apiKey: GORMIC_KEY, organizationId: 'org-rec', defaultCurrency: 'NGN' }),
  ]);
  gormic = new GormicClient({
    baseUrl: gormicSandbox.baseUrl,
    apiKey: GORMIC_KEY,
    organizationId: 'org-rec',
    timeoutMs: 3000,
  });
  stack = await startBillingStack(env, {
    workflowBundle: bundle,
    taskQueue: uniqueId('reconcile'),
    settlement: { gormic },
  });
});
afterAll(async () => {
  await stack?.stop();
  await gormicSandbox?.close();
  await env?.teardown();
});

const sub = () => uniqueId('rec').replace(/[^A-Za-z0-9_-]/g, '');
const tok = (scenario: string) => `tok_${scenario}_${uniqueId('t')}`;
/** Real time on the dev server: a hard decline fails the cycle after about a second instead of a week. */
const FAST_FAIL = { ...DEFAULT_DUNNING_POLICY, hardDeclineGraceHours: 0.0003, minHoursBetweenAttempts: 0 };

async function start(input: BillingCycleInput) {
  return env.client.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(input.subscriptionId, input.periodIndex),
    taskQueue: stack.taskQueue,
    args: [input],
  });
}

/** Visibility has caught up with the cycle's execution status. */
async function listed(cycleId: string, executionStatus: 'Running' | 'Completed'): Promise<void> {
  await eventually(async () => {
    for await (const wf of env.client.workflow.list({
      query: `WorkflowId = '${cycleId}' AND ExecutionStatus = '${executionStatus}'`,
    }))
      return wf.workflowId === cycleId;
    return false;
  }, `${cycleId} listed as ${executionStatus}`);
}

/** Runs a sweep now; with RECORD_REPLAY_HISTORIES=1 its history is saved for the replay tests under `record`. */
async function sweep(record?: string): Promise<ReconciliationSummary> {
  const { reconciliationId, summary } = await runReconciliation(env.client, {
    taskQueue: stack.taskQueue,
    since: new Date(Date.now() - 3_600_000).toISOString(),
  });
  if (record) await maybeRecordHistory(env.client.workflow.getHandle(reconciliationId), record);
  return summary;
}

const itemsOf = (s: ReconciliationSummary, cycleId: string): ReconciliationItem[] =>
  s.items.filter((i) => i.cycleId === cycleId);

it('finds and alerts money taken at the gateway on a cycle that closed as failed, and leaves it to a person', async () => {
  const subscriptionId = sub();
  // The unpaid end cancels the Purchase; the gateway refuses, so the cycle closes as failed on a payable Purchase.
  stack.sandbox.refuseCancels(cycleWorkflowId(subscriptionId, 0));
  const handle = await start(
    cycleInput({ subscriptionId, recurringToken: tok('hard_stolen_card'), dunning: FAST_FAIL }),
  );
  const result: BillingCycleResult = await handle.result();
  expect(result.status).toBe('failed');
  expect(stack.alerts).toContainEqual(
    expect.objectContaining({ code: 'purchase_cancel_failed', workflowId: handle.workflowId }),
  );
  // Paid afterwards at the gateway (an operator in the QorePay dashboard); the cycle is gone and cannot hear of it.
  const paid = await stack.qorepay.markAsPaid(result.purchaseId!);
  expect(paid.status).toBe('paid');
  await listed(handle.workflowId, 'Completed');

  const summary = await sweep('reconciliation-paid-on-closed-cycle');
  const items = itemsOf(summary, handle.workflowId);
  expect(items).toEqual([
    expect.objectContaining({
      kind: 'paid_on_closed_cycle',
      outcome: 'reported',
      purchaseId: result.purchaseId,
      gatewayStatus: 'paid',
      cycleStatus: 'failed',
      amountMinor: 500_000,
      currency: 'NGN',
      periodIndex: 0,
      periodStart: '2027-01-01T00:00:00.000Z',
    }),
  ]);
  expect(summary.counts.paid_on_closed_cycle.reported).toBeGreaterThanOrEqual(1);
  expect(stack.alerts).toContainEqual(
    expect.objectContaining({
      code: 'reconciliation_paid_on_closed_cycle',
      severity: 'critical',
      workflowId: handle.workflowId,
    }),
  );
  // Reported only: the gateway still holds exactly the one paid Purchase, and nothing was refunded.
  expect((await stack.qorepay.getPurchase(result.purchaseId!)).status).toBe('paid');
});

it('resolves a cycle stuck in pending (webhook lost, next poll an hour away) whose Purchase the gateway has paid', async () => {
  // `pending_silent`: the charge goes pending, is paid shortly after, and the gateway sends no webhook at all.
  const handle = await start(cycleInput({ subscriptionId: sub(), recurringToken: tok('pending_silent') }));
  const state = await eventually(async () => {
    const s = await handle.query(cycleStateQuery);
    return s.status === 'pending' && s.purchaseId ? s : undefined;
  }, 'pending');
  await eventually(
    async () => (await stack.qorepay.getPurchase(state.purchaseId!)).status === 'paid',
    'paid at the gateway',
  );
  expect((await handle.query(cycleStateQuery)).status).toBe('pending'); // the cycle does not know
  await listed(handle.workflowId, 'Running');

  const summary = await sweep('reconciliation-outcome-signalled');
  expect(itemsOf(summary, handle.workflowId)).toEqual([
    expect.objectContaining({
      kind: 'outcome_waiting',
      outcome: 'fixed',
      gatewayStatus: 'paid',
      cycleStatus: 'pending',
    }),
  ]);
  const result = await handle.result();
  expect(result.status).toBe('paid');
  expect(result.attempts).toBe(1);
  // Exactly one successful charge in the gateway's own ledger for the cycle.
  expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
});

it('writes a paid cycle’s missing Gormic record once, however often the sweep runs', async () => {
  const orderId = uniqueId('order');
  gormicSandbox.setOrderStatus(orderId, 'closed'); // the first settlement is refused: the cycle stays open, failed
  const handle = await start(
    cycleInput({
      subscriptionId: sub(),
      recurringToken: tok('success'),
      settlementTargets: [{ kind: 'gormic', orderId, methodId: 'qorepay' }],
    }),
  );
  const state = await eventually(async () => {
    const s = await handle.query(cycleStateQuery);
    return s.status === 'paid' && s.settlementFailed ? s : undefined;
  }, 'paid with settlement failed');
  expect(gormicSandbox.payments(orderId)).toHaveLength(0);
  gormicSandbox.setOrderStatus(orderId, 'open'); // the order can take the record now; nobody retried
  await listed(handle.workflowId, 'Running');

  const first = await sweep('reconciliation-settlement-retried');
  expect(itemsOf(first, handle.workflowId)).toEqual([
    expect.objectContaining({
      kind: 'settlement_missing',
      outcome: 'fixed',
      target: 'gormic',
      purchaseId: state.purchaseId,
    }),
  ]);
  const second = await sweep();
  expect(itemsOf(second, handle.workflowId)).toEqual([]);

  const receipts = gormicSandbox.payments(orderId).filter((p) => p.type === 'receipt');
  expect(receipts).toHaveLength(1);
  expect(receipts[0]).toMatchObject({ transactionRef: state.purchaseId, amountMinor: 500_000, status: 'complete' });
  expect(gormicSandbox.ledger().filter((e) => e.orderId === orderId && e.op === 'create')).toHaveLength(1);
  expect((await handle.query(cycleStateQuery)).settlementFailed).toBe(false);
});

it('reports a Gormic record for a cycle that never paid, and writes nothing', async () => {
  const orderId = uniqueId('order');
  const handle = await start(
    cycleInput({
      subscriptionId: sub(),
      recurringToken: tok('hard_stolen_card'),
      dunning: FAST_FAIL,
      settlementTargets: [{ kind: 'gormic', orderId, methodId: 'qorepay' }],
    }),
  );
  const result = await handle.result();
  expect(result.status).toBe('failed');
  // Someone recorded the period's receipt by hand, as if it had been paid.
  await gormic.createPayment({
    orderId,
    type: 'receipt',
    status: 'complete',
    amountMinor: 500_000,
    currency: 'NGN',
    transactionRef: result.purchaseId!,
  });
  await listed(handle.workflowId, 'Completed');
  const writesBefore = gormicSandbox.ledger().length;

  const summary = await sweep();
  expect(itemsOf(summary, handle.workflowId)).toEqual([
    expect.objectContaining({
      kind: 'settlement_without_paid_cycle',
      outcome: 'reported',
      target: 'gormic',
      cycleStatus: 'failed',
      purchaseId: result.purchaseId,
    }),
  ]);
  expect(stack.alerts).toContainEqual(
    expect.objectContaining({ code: 'reconciliation_settlement_without_paid_cycle', workflowId: handle.workflowId }),
  );
  expect(gormicSandbox.ledger().length).toBe(writesBefore);
});

it('pages through visibility and continues as new without losing count, and shows its summary in the UI', async () => {
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const whole = await sweep();
  // One cycle per page, two per run: the same cycles checked, the same findings, over several runs.
  const handle = await env.client.workflow.start(reconciliationWorkflow, {
    workflowId: `reconciliation:run:paged-${uniqueId('t')}`,
    taskQueue: stack.taskQueue,
    args: [{ since, pageSize: 1, maxCyclesPerRun: 2 }],
  });
  const paged = await handle.result();
  expect(paged.cyclesChecked).toBe(whole.cyclesChecked);
  expect(paged.counts).toEqual(whole.counts);
  expect(paged.since).toBe(since);
  const firstRun = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
  expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');

  // What an operator sees of the last run: the summary as text (current details) and through the query.
  const meta = await handle.query<temporal.api.sdk.v1.IWorkflowMetadata>('__temporal_workflow_metadata');
  const details = meta.currentDetails ?? '';
  expect(details).toMatch(new RegExp(`^Reconciliation finished: ${whole.cyclesChecked} cycles? checked`));
  expect(details).toContain('Money taken on a cycle that ended unpaid: 1 (fixed 0, reported 1, fix failed 0)');
  expect(await handle.query(reconciliationSummaryQuery)).toEqual(paged);
});

it('writes the record a closed paid cycle lost when its target was restored from an older backup, once', async () => {
  const orderId = uniqueId('order');
  const handle = await start(
    cycleInput({
      subscriptionId: sub(),
      recurringToken: tok('success'),
      settlementTargets: [{ kind: 'gormic', orderId, methodId: 'qorepay' }],
    }),
  );
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'paid', settlementFailed: false });
  expect(gormicSandbox.payments(orderId)).toHaveLength(1);
  // Gormic comes back from a backup taken before the payment: same address, the record is gone.
  const port = Number(new URL(gormicSandbox.baseUrl).port);
  await gormicSandbox.close();
  gormicSandbox = await startGormicSandbox({
    port,
    apiKey: GORMIC_KEY,
    organizationId: 'org-rec',
    defaultCurrency: 'NGN',
  });
  expect(gormicSandbox.payments(orderId)).toHaveLength(0);
  await listed(handle.workflowId, 'Completed');

  const first = await sweep('reconciliation-settlement-rewritten');
  expect(itemsOf(first, handle.workflowId)).toEqual([
    expect.objectContaining({
      kind: 'settlement_missing',
      outcome: 'fixed',
      cycleStatus: 'paid',
      target: 'gormic',
      purchaseId: result.purchaseId,
      note: expect.stringMatching(/^recorded as /) as string,
    }),
  ]);
  expect(itemsOf(await sweep(), handle.workflowId)).toEqual([]);
  expect(gormicSandbox.payments(orderId)).toEqual([
    expect.objectContaining({ type: 'receipt', transactionRef: result.purchaseId, amountMinor: 500_000 }),
  ]);
  expect(gormicSandbox.ledger().filter((e) => e.orderId === orderId && e.op === 'create')).toHaveLength(1);
});

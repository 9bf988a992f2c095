/**
 * The period's Purchase from creation to the end of the cycle (issue 20 #8, #9, #11), on the time-skipping server
 * against the QorePay sandbox over HTTP. Every assertion reads the gateway's own state.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { billingCycleWorkflow } from '../../src/workflows';
import {
  cycleStateQuery,
  cycleWorkflowId,
  markPaidUpdate,
  type BillingCycleInput,
} from '../../src/shared/billing-cycle';
import { bundleWorkflows, createTimeSkippingEnv, uniqueId } from '../support/temporal';
import {
  cycleInput,
  eventually,
  maybeRecordHistory,
  startBillingStack,
  type BillingStack,
} from '../support/billing-stack';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let stack: BillingStack;

beforeAll(async () => {
  bundle = await bundleWorkflows(require.resolve('../../src/workflows'));
});
beforeEach(async () => {
  env = await createTimeSkippingEnv();
  stack = await startBillingStack(env, { workflowBundle: bundle, taskQueue: uniqueId('purchase-life') });
});
afterEach(async () => {
  await stack?.stop();
  await env?.teardown();
});

const subId = () => uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
const tok = (scenario: string) => `tok_${scenario}_${uniqueId('t')}`;
const start = (input: BillingCycleInput) =>
  env.client.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(input.subscriptionId, input.periodIndex),
    taskQueue: stack.taskQueue,
    args: [input],
  });

describe("the period's Purchase (issue 20)", () => {
  it('#8 markPaid records an out-of-band payment while the current Purchase is blocked, on a fresh Purchase', async () => {
    const handle = await start(cycleInput({ subscriptionId: subId(), recurringToken: tok('blocked') }));
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'action_required', 'action_required');
    const [blocked] = (await stack.qorepay.listPurchasesByReference(handle.workflowId)).map((p) => p.id);
    expect(stack.sandbox.purchase(blocked!)?.status).toBe('blocked');

    const view = await handle.executeUpdate(markPaidUpdate, { args: [{ note: 'paid by bank transfer' }] });
    expect(view.status).toBe('marked_paid');
    const result = await handle.result();
    expect(result.status).toBe('marked_paid');
    expect(result.purchaseId).not.toBe(blocked);
    expect(stack.sandbox.purchase(result.purchaseId!)).toMatchObject({ status: 'paid', marked_as_paid: true });
    expect(stack.sandbox.purchase(blocked!)?.status).toBe('blocked');
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(0);
    await maybeRecordHistory(handle, 'cycle-marked-paid-after-block');
  });

  it('#9 a cycle that fails cancels its Purchase: the money of a late payment cannot land on it', async () => {
    const handle = await start(cycleInput({ subscriptionId: subId(), recurringToken: tok('hard_stolen_card') }));
    const result = await handle.result();
    expect(result.status).toBe('failed');
    expect(result.purchaseIds).toEqual([result.purchaseId]);
    expect(stack.sandbox.purchase(result.purchaseId!)?.status).toBe('cancelled');
    // An operator's (or another system's) mark-as-paid on the closed cycle's Purchase is refused by the gateway.
    await expect(stack.qorepay.markAsPaid(result.purchaseId!)).rejects.toMatchObject({ kind: 'Validation' });
    await maybeRecordHistory(handle, 'cycle-failed-purchase-cancelled');
  });

  it('#11 a Purchase that cannot be created is given up after the operations bound: failed, operations, alerted', async () => {
    // A QorePay client id that no longer exists: every create is refused (400 client_id does_not_exist).
    const input = cycleInput({
      subscriptionId: subId(),
      recurringToken: tok('success'),
      qorepayClientId: randomUUID(),
    });
    const handle = await start(input);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', failureKind: 'operations', attempts: 0 });
    expect(result.failureReason).toMatch(/could not create the purchase after 29 tries/);
    expect(stack.alerts.map((a) => a.code)).toContain('purchase_create_exhausted');
    expect(await stack.qorepay.listPurchasesByReference(handle.workflowId)).toEqual([]);
    expect(stack.sandbox.ledger(handle.workflowId)).toHaveLength(0);
  });
});

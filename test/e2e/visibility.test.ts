/**
 * What an operator sees: on the dev server (real visibility), a cycle waiting for a new card is found with the UI's
 * query language by customer and billing status, and moves to `paid` there once a new token arrives.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DEFAULT_DUNNING_POLICY } from '../../src/domain/dunning';
import { cycleStateQuery, cycleWorkflowId, paymentMethodUpdatedSignal } from '../../src/shared/billing-cycle';
import { billingCycleWorkflow } from '../../src/workflows';
import { cycleInput, eventually, startBillingStack, type BillingStack } from '../support/billing-stack';
import { bundleWorkflows, connectToDevServer, uniqueId } from '../support/temporal';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let stack: BillingStack;

beforeAll(async () => {
  [env, bundle] = await Promise.all([connectToDevServer(), bundleWorkflows(require.resolve('../../src/workflows'))]);
  stack = await startBillingStack(env, { workflowBundle: bundle, taskQueue: uniqueId('visibility') });
});
afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

async function ids(query: string): Promise<string[]> {
  const out: string[] = [];
  for await (const wf of env.client.workflow.list({ query })) out.push(wf.workflowId);
  return out;
}

it('finds "all cycles in action_required for customer X" with a visibility query, then sees them paid', async () => {
  const customerId = uniqueId('cust');
  const subscriptionId = uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
  const handle = await env.client.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(subscriptionId, 0),
    taskQueue: stack.taskQueue,
    args: [
      cycleInput({
        subscriptionId,
        customerId,
        recurringToken: `tok_hard_lost_card_${uniqueId('t')}`,
        // Real time: no 4 h spacing between the decline and the new card.
        dunning: { ...DEFAULT_DUNNING_POLICY, minHoursBetweenAttempts: 0 },
      }),
    ],
  });
  await eventually(async () => (await handle.query(cycleStateQuery)).status === 'action_required', 'action_required');

  const query = `WorkflowType="billingCycleWorkflow" AND CustomerId="${customerId}" AND BillingStatus="action_required"`;
  expect(await eventually(async () => ((await ids(query)).length ? ids(query) : undefined), 'visibility')).toEqual([
    handle.workflowId,
  ]);
  expect(await ids(`SubscriptionId="${subscriptionId}" AND LastDeclineCode="lost_card"`)).toEqual([handle.workflowId]);

  await handle.signal(paymentMethodUpdatedSignal, { recurringToken: `tok_success_${uniqueId('t')}` });
  expect((await handle.result()).status).toBe('paid');
  await eventually(
    async () => (await ids(`CustomerId="${customerId}" AND BillingStatus="paid"`)).includes(handle.workflowId),
    'the paid status in visibility',
  );
  expect(await ids(query)).toEqual([]);
});

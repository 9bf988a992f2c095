/**
 * What the subscription shows about itself must be what will happen (issue 20, 16 and 17), on the time-skipping server
 * with real cycles against the QorePay sandbox: a paused subscription shows no next charge (nothing is billed until
 * resume), and the memo that subscription lists read follows a plan change once it takes effect.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../src/workflows';
import { cycleStateQuery, cycleWorkflowId, type CycleStatus } from '../../src/shared/billing-cycle';
import { NEXT_CHARGE_AT } from '../../src/shared/search-attributes';
import {
  changePlanUpdate,
  pauseSubscriptionUpdate,
  refundUpdate,
  resumeSubscriptionUpdate,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  type Plan,
  type SubscriptionInput,
} from '../../src/shared/subscription';
import { bundleWorkflows, createTimeSkippingEnv, uniqueId } from '../support/temporal';
import { eventually, maybeRecordHistory, startBillingStack, type BillingStack } from '../support/billing-stack';

jest.setTimeout(180_000);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const PLAN: Plan = { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro plan', priceMinor: 1999, quantity: 1 }] };

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let stack: BillingStack;

beforeAll(async () => {
  bundle = await bundleWorkflows(require.resolve('../../src/workflows'));
});
beforeEach(async () => {
  env = await createTimeSkippingEnv();
  stack = await startBillingStack(env, { workflowBundle: bundle, taskQueue: uniqueId('sub-views') });
});
afterEach(async () => {
  await stack?.stop();
  await env?.teardown();
});

/** A daily subscription whose period 0 is due at once, started with the memo the client writes at create. */
async function startDaily(overrides: Partial<SubscriptionInput> = {}) {
  const now = await env.currentTimeMs();
  const t0 = Math.floor(now / MINUTE) * MINUTE - MINUTE;
  const id = uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
  const handle = await env.client.workflow.start(subscriptionWorkflow, {
    workflowId: subscriptionWorkflowId(id),
    taskQueue: stack.taskQueue,
    memo: { planId: PLAN.planId, currency: PLAN.currency, amountMinor: 1999 },
    args: [
      {
        subscriptionId: id,
        customerId: `cust-${id}`,
        customerEmail: 'buyer@example.com',
        recurringToken: `tok_success_${uniqueId('t')}`,
        plan: PLAN,
        schedule: {
          intervalUnit: 'day',
          intervalCount: 1,
          anchor: new Date(t0).toISOString().slice(0, 16),
          timeZone: 'UTC',
        },
        ...overrides,
      },
    ],
  });
  return { id, handle, t0 };
}

async function advanceTo(at: number): Promise<void> {
  const now = await env.currentTimeMs();
  if (at > now) await env.sleep(at - now);
}

async function waitForCycle(id: string, k: number, status: CycleStatus): Promise<void> {
  await eventually(
    async () => (await env.client.workflow.getHandle(cycleWorkflowId(id, k)).query(cycleStateQuery)).status === status,
    `cycle ${k} of ${id} ${status}`,
  );
}

it('a paused subscription shows no next charge, in its state and in its search attribute, until it resumes', async () => {
  const { id, handle, t0 } = await startDaily({ maxPeriods: 4 });
  await advanceTo(t0 + MINUTE);
  await waitForCycle(id, 0, 'paid');
  expect((await handle.query(subscriptionStateQuery)).nextChargeAt).toBe(new Date(t0 + DAY).toISOString());

  const paused = await handle.executeUpdate(pauseSubscriptionUpdate, { args: [{}] });
  expect(paused.status).toBe('paused');
  expect(paused.nextChargeAt).toBeUndefined();
  await advanceTo(t0 + 2 * DAY + HOUR); // the due date passes while paused: nothing is billed
  const state = await handle.query(subscriptionStateQuery);
  expect(state).toMatchObject({ status: 'paused', nextPeriodIndex: 1 });
  expect(state.nextChargeAt).toBeUndefined();
  expect((await handle.describe()).typedSearchAttributes.get(NEXT_CHARGE_AT)).toBeUndefined();

  const resumed = await handle.executeUpdate(resumeSubscriptionUpdate, { args: [{}] });
  expect(resumed.nextChargeAt).toBe(new Date(t0 + 3 * DAY).toISOString());
});

it('the memo lists read follows a plan change once it takes effect (with a refund on the way)', async () => {
  const { id, handle, t0 } = await startDaily({ maxPeriods: 2 });
  await advanceTo(t0 + MINUTE);
  await waitForCycle(id, 0, 'paid');
  // The subscription learns of the payment from the cycle's final report (after its settlement and notifications).
  await eventually(
    async () => (await handle.query(subscriptionStateQuery)).recentCycles.some((c) => c.status === 'paid'),
    'period 0 reported paid',
  );
  // A partial refund of period 0 (the refund reads the Purchase first: the baseline a retry is checked against).
  const refunded = await handle.executeUpdate(refundUpdate, {
    args: [{ cycleId: cycleWorkflowId(id, 0), amountMinor: 500 }],
  });
  expect(refunded).toMatchObject({ kind: 'refund', amountMinor: 500 });
  const plan: Plan = {
    planId: 'team',
    currency: 'EUR',
    lineItems: [{ name: 'Team seat', priceMinor: 1000, quantity: 3 }],
  };
  await handle.executeUpdate(changePlanUpdate, { args: [{ plan }] });
  // Pending until the next period: the list still shows the plan being billed.
  expect((await handle.describe()).memo).toMatchObject({ planId: 'pro', amountMinor: 1999 });

  const final = await handle.result();
  expect(final.recentCycles.map((c) => [c.periodIndex, c.amountMinor])).toEqual([
    [0, 1999],
    [1, 3000],
  ]);
  expect((await handle.describe()).memo).toEqual({ planId: 'team', currency: 'EUR', amountMinor: 3000 });
  expect(final.paymentEvents.filter((e) => e.kind === 'refund').map((e) => e.amountMinor)).toEqual([500]);
  await maybeRecordHistory(handle, 'subscription-plan-change-and-refund');
});

/**
 * Regression tests for the ways the engine lost money when it was tried from outside (issue 9), each on the
 * time-skipping server against the QorePay sandbox over HTTP. Every assertion reads the gateway's own ledger.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { billingCycleWorkflow, subscriptionWorkflow } from '../../src/workflows';
import {
  cycleStateQuery,
  cycleWorkflowId,
  holdCycleSignal,
  paymentMethodUpdatedSignal,
  type BillingCycleInput,
} from '../../src/shared/billing-cycle';
import {
  cancelSubscriptionUpdate,
  pauseSubscriptionUpdate,
  refundUpdate,
  resumeSubscriptionUpdate,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  updatePaymentMethodUpdate,
  type Plan,
  type SubscriptionInput,
} from '../../src/shared/subscription';
import { bundleWorkflows, createTimeSkippingEnv, uniqueId } from '../support/temporal';
import { cycleInput, eventually, startBillingStack, type BillingStack } from '../support/billing-stack';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let stack: BillingStack;

beforeAll(async () => {
  bundle = await bundleWorkflows(require.resolve('../../src/workflows'));
});
beforeEach(async () => {
  env = await createTimeSkippingEnv();
  stack = await startBillingStack(env, { workflowBundle: bundle, taskQueue: uniqueId('money') });
});
afterEach(async () => {
  await stack?.stop();
  await env?.teardown();
});

const PLAN: Plan = { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro plan', priceMinor: 1999, quantity: 1 }] };
const subId = () => uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
const tok = (scenario: string) => `tok_${scenario}_${uniqueId('t')}`;

function startCycle(input: BillingCycleInput) {
  return env.client.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(input.subscriptionId, input.periodIndex),
    taskQueue: stack.taskQueue,
    args: [input],
  });
}

function subscriptionInput(
  id: string,
  anchorMs: number,
  overrides: Partial<SubscriptionInput> = {},
): SubscriptionInput {
  return {
    subscriptionId: id,
    customerId: `cust-${id}`,
    customerEmail: 'buyer@example.com',
    recurringToken: tok('success'),
    plan: PLAN,
    schedule: {
      intervalUnit: 'day',
      intervalCount: 1,
      anchor: new Date(anchorMs).toISOString().slice(0, 16),
      timeZone: 'UTC',
    },
    ...overrides,
  };
}

const successes = (reference: string) => stack.sandbox.successfulCharges(reference).length;
const allCharges = (subscriptionId: string) =>
  stack.sandbox.ledger().filter((e) => e.reference?.startsWith(`cycle:${subscriptionId}:`));

describe('money defects (issue 9)', () => {
  it('a daily anchor 10 days back charges the current period once, never the ten that ended before creation', async () => {
    const now = await env.currentTimeMs();
    const anchor = Math.floor(now / MINUTE) * MINUTE - 10 * DAY - 5 * MINUTE;
    const id = subId();
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(id),
      taskQueue: stack.taskQueue,
      args: [subscriptionInput(id, anchor, { maxPeriods: 12 })],
    });
    await eventually(async () => successes(cycleWorkflowId(id, 10)) === 1, 'period 10 paid');
    const state = await handle.query(subscriptionStateQuery);
    expect(state.nextPeriodIndex).toBe(11);
    expect(allCharges(id).map((e) => e.reference)).toEqual([cycleWorkflowId(id, 10)]);
    await handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now' }] });
  });

  it('a cancel acknowledged while a charge waits to be retried after a gateway 500 stops every further attempt', async () => {
    // Three 500s: three short retry waits (2 s, 4 s, 8 s) for the cancel to land in.
    const input = cycleInput({ subscriptionId: subId(), recurringToken: tok('500x3') });
    const handle = await startCycle(input);
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'retry_scheduled', 'retry after 500');
    const ledgerBefore = stack.sandbox.ledger(handle.workflowId).length;
    await handle.executeUpdate((await import('../../src/shared/billing-cycle')).cancelCycleUpdate, {
      args: [{ reason: 'customer left' }],
    });
    const result = await handle.result();
    expect(result.status).toBe('canceled');
    await env.sleep(2 * HOUR);
    expect(stack.sandbox.ledger(handle.workflowId).length).toBe(ledgerBefore);
    expect(successes(handle.workflowId)).toBe(0);
  });

  it('a paused subscription holds its cycle in dunning: no charge until resume', async () => {
    const token = tok('ctl');
    stack.sandbox.setScenario(token, { type: 'decline', code: 'insufficient_funds' });
    const input = cycleInput({ subscriptionId: subId(), recurringToken: token });
    const handle = await startCycle(input);
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'retry_scheduled', 'retry_scheduled');
    await handle.signal(holdCycleSignal, { paused: true });
    stack.sandbox.setScenario(token, { type: 'success' });
    await env.sleep(5 * DAY); // past several retry dates
    expect(stack.sandbox.ledger(handle.workflowId)).toHaveLength(1);
    const held = await handle.query(cycleStateQuery);
    expect(held).toMatchObject({ paused: true, status: 'retry_scheduled' });
    await handle.signal(holdCycleSignal, { paused: false });
    expect((await handle.result()).status).toBe('paid');
    expect(successes(handle.workflowId)).toBe(1);
  });

  it('pausing the subscription reaches its cycle in retry_scheduled', async () => {
    const token = tok('ctl');
    stack.sandbox.setScenario(token, { type: 'decline', code: 'insufficient_funds' });
    const now = await env.currentTimeMs();
    const id = subId();
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(id),
      taskQueue: stack.taskQueue,
      args: [
        subscriptionInput(id, Math.floor(now / MINUTE) * MINUTE - MINUTE, { recurringToken: token, maxPeriods: 1 }),
      ],
    });
    const cycle = env.client.workflow.getHandle(cycleWorkflowId(id, 0));
    await eventually(async () => (await cycle.query(cycleStateQuery)).status === 'retry_scheduled', 'cycle in dunning');
    await handle.executeUpdate(pauseSubscriptionUpdate, { args: [{}] });
    expect((await cycle.query(cycleStateQuery)).paused).toBe(true);
    stack.sandbox.setScenario(token, { type: 'success' });
    await env.sleep(3 * DAY);
    expect(stack.sandbox.ledger(cycleWorkflowId(id, 0))).toHaveLength(1);
    await handle.executeUpdate(resumeSubscriptionUpdate, { args: [{}] });
    await eventually(async () => successes(cycleWorkflowId(id, 0)) === 1, 'paid after resume');
  });

  it('a blocked Purchase plus a new card: a fresh Purchase for the same cycle is charged with the new card', async () => {
    const input = cycleInput({ subscriptionId: subId(), recurringToken: tok('blocked') });
    const handle = await startCycle(input);
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'action_required', 'action_required');
    const fresh = tok('success');
    await handle.signal(paymentMethodUpdatedSignal, { recurringToken: fresh });
    const result = await handle.result();
    expect(result.status).toBe('paid');
    const state = await handle.query(cycleStateQuery);
    expect(state.purchaseIds).toHaveLength(2);
    expect(stack.sandbox.purchase(state.purchaseIds[0]!)?.status).toBe('blocked'); // takes no money; cannot be cancelled
    expect(result.purchaseId).toBe(state.purchaseIds[1]);
    const ledger = stack.sandbox.ledger(handle.workflowId);
    expect(ledger.filter((e) => e.outcome === 'success').map((e) => e.token)).toEqual([fresh]);
  });

  it('signals sent with the start (signalWithStart) are handled, not wedged', async () => {
    const now = await env.currentTimeMs();
    const id = subId();
    const fresh = tok('success');
    const handle = await env.client.workflow.signalWithStart(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(id),
      taskQueue: stack.taskQueue,
      args: [subscriptionInput(id, Math.floor(now / MINUTE) * MINUTE - MINUTE, { maxPeriods: 1 })],
      signal: (await import('../../src/shared/subscription')).paymentEventSignal,
      signalArgs: [{ kind: 'refund', cycleId: cycleWorkflowId(id, 99), purchaseId: 'p_unknown', paymentId: 'pay_x' }],
    });
    await eventually(async () => successes(cycleWorkflowId(id, 0)) === 1, 'period 0 paid');
    // The unmatched refund was not dropped silently: operations were alerted.
    expect(stack.alerts.some((a) => a.code === 'payment_event_unmatched' && a.workflowId === handle.workflowId)).toBe(
      true,
    );
    await handle.executeUpdate(updatePaymentMethodUpdate, { args: [{ recurringToken: fresh }] });
    expect((await handle.query(subscriptionStateQuery)).paymentMethod).toBe(`…${fresh.slice(-4)}`);
  });

  it('a refund retried with the same idempotency key refunds once at the gateway, even after cancel', async () => {
    const now = await env.currentTimeMs();
    const id = subId();
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(id),
      taskQueue: stack.taskQueue,
      args: [subscriptionInput(id, Math.floor(now / MINUTE) * MINUTE - MINUTE, { maxPeriods: 1 })],
    });
    const cycleId = cycleWorkflowId(id, 0);
    await eventually(async () => {
      const s = await handle.query(subscriptionStateQuery);
      return s.recentCycles.some((c) => c.cycleId === cycleId && c.status === 'paid');
    }, 'cycle 0 paid and reported');
    const purchaseId = stack.sandbox.successfulCharges(cycleId)[0]!.purchaseId;
    // Refunds still work after the subscription ended: it stays open through the reversal window.
    await handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now' }] });
    const ask = () =>
      handle.executeUpdate(refundUpdate, { args: [{ cycleId, amountMinor: 500 }], updateId: 'refund:key-1' });
    const [a, b] = await Promise.all([ask(), ask()]);
    const c = await ask();
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    const refunds = stack.sandbox
      .payments(purchaseId)
      .filter((p) => (p.payment as { payment_type?: string } | undefined)?.payment_type === 'refund');
    expect(refunds).toHaveLength(1);
    // A different key is a new refund; more than what is left is refused without reaching the gateway.
    await handle.executeUpdate(refundUpdate, { args: [{ cycleId, amountMinor: 1000 }], updateId: 'refund:key-2' });
    await expect(
      handle.executeUpdate(refundUpdate, { args: [{ cycleId, amountMinor: 1000 }], updateId: 'refund:key-3' }),
    ).rejects.toThrow();
    expect(
      stack.sandbox
        .payments(purchaseId)
        .filter((p) => (p.payment as { payment_type?: string } | undefined)?.payment_type === 'refund'),
    ).toHaveLength(2);
  });

  it('a Purchase that cannot be created alerts and retries on the operations schedule, never failing the customer', async () => {
    const input = cycleInput({
      subscriptionId: subId(),
      recurringToken: tok('success'),
      qorepayClientId: 'no-such-client',
    });
    const handle = await startCycle(input);
    await eventually(
      () =>
        stack.alerts.filter((a) => a.code === 'purchase_create_failed' && a.workflowId === handle.workflowId).length,
      'the first purchase_create_failed alert',
    );
    await env.sleep(input.dunning.merchantConfigRetryHours * HOUR + MINUTE);
    await eventually(
      () =>
        stack.alerts.filter((a) => a.code === 'purchase_create_failed' && a.workflowId === handle.workflowId).length >=
        2,
      'a second try on the operations schedule',
    );
    const state = await handle.query(cycleStateQuery);
    expect(state.status).toBe('creating');
    expect(state.attempts).toEqual([]);
    expect(stack.notifications.filter((n) => n.cycleId === handle.workflowId && n.type === 'cycle.failed')).toEqual([]);
    await handle.executeUpdate((await import('../../src/shared/billing-cycle')).cancelCycleUpdate, { args: [{}] });
    expect((await handle.result()).status).toBe('canceled');
  });
});

/**
 * The subscription workflow on the time-skipping server: real child billing cycles, activities calling the QorePay
 * sandbox over real HTTP, sandbox webhooks verified and routed by the real ingress. A year of billing in seconds.
 *
 * Time only moves when a test asks for it (`env.sleep`, or awaiting a result), so each test steps to a point in
 * billing time and then waits, in real time, for the workflows to act on it.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { type billingCycleWorkflow, subscriptionWorkflow } from '../../src/workflows';
import { cycleStateQuery, cycleWorkflowId, type CycleStatus } from '../../src/shared/billing-cycle';
import {
  cancelSubscriptionUpdate,
  changePlanUpdate,
  pauseSubscriptionUpdate,
  resumeSubscriptionUpdate,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  updatePaymentMethodUpdate,
  type Plan,
  type SubscriptionInput,
} from '../../src/shared/subscription';
import { SUBSCRIPTION_STATUS } from '../../src/shared/search-attributes';
import { bundleWorkflows, createTimeSkippingEnv, decodedHistoryText, uniqueId } from '../support/temporal';
import { eventually, maybeRecordHistory, startBillingStack, type BillingStack } from '../support/billing-stack';

// The time-skipping server sometimes holds its clock for an activity's timeout in real time (about 30 s) on a jump.
jest.setTimeout(180_000);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let stack: BillingStack;

beforeAll(async () => {
  bundle = await bundleWorkflows(require.resolve('../../src/workflows'));
});
/**
 * A fresh time-skipping server (it starts in well under a second) and stack per test. Sharing one across tests made
 * clock jumps stall in real time now and then, once earlier tests' workflows were around; isolated, each test's
 * jumps are skipped at once.
 */
beforeEach(async () => {
  env = await createTimeSkippingEnv();
  stack = await startBillingStack(env, { workflowBundle: bundle, taskQueue: uniqueId('subscriptions') });
});
afterEach(async () => {
  await stack?.stop();
  await env?.teardown();
});

const PLAN: Plan = { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro plan', priceMinor: 1999, quantity: 1 }] };
const subId = () => uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
const tok = (scenario: string) => `tok_${scenario}_${uniqueId('t')}`;

/** A token that declines softly (insufficient_funds) until the test switches it to success. */
function decliningToken(): string {
  const token = tok('ctl');
  stack.sandbox.setScenario(token, { type: 'decline', code: 'insufficient_funds' });
  return token;
}

/** A UTC anchor 'YYYY-MM-DDTHH:mm' a little after the test server's current time, and its instant. */
async function anchorSoon(): Promise<{ anchor: string; t0: number }> {
  // The anchor is the minute just past, so period 0 is due at once: a short real-time clock jump at the start of a
  // test is exactly where the test server sometimes fails to skip and sleeps in real time instead.
  const now = await env.currentTimeMs();
  const t0 = Math.floor(now / MINUTE) * MINUTE - MINUTE;
  return { anchor: new Date(t0).toISOString().slice(0, 16), t0 };
}

function input(
  id: string,
  overrides: Partial<SubscriptionInput> & Pick<SubscriptionInput, 'schedule'>,
): SubscriptionInput {
  return {
    subscriptionId: id,
    customerId: `cust-${id}`,
    customerEmail: 'buyer@example.com',
    recurringToken: tok('success'),
    plan: PLAN,
    ...overrides,
  };
}

async function startDaily(overrides: Partial<SubscriptionInput> = {}) {
  const { anchor, t0 } = await anchorSoon();
  const id = subId();
  const handle = await env.client.workflow.start(subscriptionWorkflow, {
    workflowId: subscriptionWorkflowId(id),
    taskQueue: stack.taskQueue,
    args: [input(id, { schedule: { intervalUnit: 'day', intervalCount: 1, anchor, timeZone: 'UTC' }, ...overrides })],
  });
  return { id, handle, t0 };
}

/** Moves the test server's clock to `at` (no-op when already past it). */
async function advanceTo(at: number): Promise<void> {
  const now = await env.currentTimeMs();
  if (at > now) await env.sleep(at - now);
}

const cycle = (id: string, k: number) => env.client.workflow.getHandle(cycleWorkflowId(id, k));
const cycleStatus = async (id: string, k: number): Promise<CycleStatus> =>
  (await cycle(id, k).query(cycleStateQuery)).status;
async function cycleExists(id: string, k: number): Promise<boolean> {
  try {
    await cycle(id, k).describe();
    return true;
  } catch {
    return false;
  }
}
async function waitForCycle(id: string, k: number, status: CycleStatus): Promise<void> {
  await eventually(async () => (await cycleStatus(id, k)) === status, `cycle ${k} of ${id} ${status}`);
}
type SubHandle = Awaited<ReturnType<typeof startDaily>>['handle'];
async function waitForStatus(handle: SubHandle, status: string) {
  return eventually(async () => {
    const s = await handle.query(subscriptionStateQuery);
    return s.status === status ? s : undefined;
  }, `subscription ${status}`);
}

/** The local wall-clock start 'YYYY-MM-DD HH:mm' of a cycle, from the period bounds it was started with. */
async function localPeriodStart(id: string, k: number, timeZone: string): Promise<string> {
  const memo = (await cycle(id, k).describe()).memo as { periodStart: string };
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(memo.periodStart));
  const f = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  return `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}`;
}

describe('subscription', () => {
  it('starts a new period on time while an older cycle is in dunning (keep_past_due); active again when it pays', async () => {
    const token = decliningToken();
    const { id, handle, t0 } = await startDaily({
      recurringToken: token,
      escalation: 'keep_past_due',
      dunning: { softRetryOffsetsHours: [60, 120] },
      maxPeriods: 2,
    });
    await advanceTo(t0 + MINUTE);
    await waitForCycle(id, 0, 'retry_scheduled');
    await waitForStatus(handle, 'past_due');

    stack.sandbox.setScenario(token, { type: 'success' });
    await advanceTo(t0 + DAY + MINUTE);
    await waitForCycle(id, 1, 'paid');
    expect(await cycleStatus(id, 0)).toBe('retry_scheduled');
    const during = await handle.query(subscriptionStateQuery);
    expect(during.status).toBe('past_due');
    expect(during.cyclesInFlight).toEqual([cycleWorkflowId(id, 0)]);

    const final = await handle.result(); // skips to the retry at +60 h
    expect(final.status).toBe('active');
    expect(final.recentCycles.map((c) => [c.periodIndex, c.status])).toEqual([
      [1, 'paid'],
      [0, 'paid'],
    ]);
    expect(stack.sandbox.successfulCharges(cycleWorkflowId(id, 0))).toHaveLength(1);
    expect(stack.sandbox.successfulCharges(cycleWorkflowId(id, 1))).toHaveLength(1);
    expect(stack.notifications.filter((n) => n.subscriptionId === id).map((n) => n.type)).toContain(
      'subscription.past_due',
    );
  });

  it('passes merchantNotifications to its cycles: with false no notifyMerchant is scheduled', async () => {
    const scheduled = async (id: string): Promise<string[]> =>
      ((await cycle(id, 0).fetchHistory()).events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((n): n is string => !!n);

    const told = await startDaily({ maxPeriods: 1 });
    await advanceTo(told.t0 + MINUTE);
    expect((await told.handle.result()).recentCycles.map((c) => c.status)).toEqual(['paid']);
    const cycleId = cycleWorkflowId(told.id, 0);
    await eventually(
      () => stack.notifications.some((n) => n.cycleId === cycleId && n.type === 'cycle.paid'),
      'cycle.paid sent',
    );
    expect(await scheduled(told.id)).toContain('notifyMerchant');

    // The worker still has a notifier: only the subscription's input keeps the cycle from scheduling the activity.
    const silent = await startDaily({ maxPeriods: 1, merchantNotifications: false });
    await advanceTo(silent.t0 + MINUTE);
    expect((await silent.handle.result()).recentCycles.map((c) => c.status)).toEqual(['paid']);
    expect(stack.sandbox.successfulCharges(cycleWorkflowId(silent.id, 0))).toHaveLength(1);
    expect(await scheduled(silent.id)).toEqual(['createPurchase', 'chargePurchase']);
    await maybeRecordHistory(silent.handle, 'subscription-no-merchant-webhooks');
  });

  it('a cycle in dunning is checked at the due times of later periods, not a fraction of a second after them', async () => {
    // A daily subscription anchored on a coming minute whose card is declined for good: its cycles stay in flight
    // and get a daily liveness check. Counted from the first report of a cycle, the check fell a few hundred ms after
    // each later period's due time: a second wake and a sub-second timer, which on the time-skipping server wedged the
    // run when a signal arrived as it fired (temporalio/sdk-java#3088). It is now held on the due time.
    const t0 = Math.floor((await env.currentTimeMs()) / MINUTE) * MINUTE + 2 * MINUTE;
    const id = subId();
    const anchor = new Date(t0).toISOString().slice(0, 16);
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(id),
      taskQueue: stack.taskQueue,
      args: [
        input(id, {
          schedule: { intervalUnit: 'day', intervalCount: 1, anchor, timeZone: 'UTC' },
          recurringToken: tok('hard_lost_card'),
          maxPeriods: 3,
        }),
      ],
    });
    await advanceTo(t0 + 2 * DAY + MINUTE);
    await waitForCycle(id, 2, 'action_required');

    const events = (await handle.fetchHistory()).events ?? [];
    const timers = events.map((e) => e.timerStartedEventAttributes?.startToFireTimeout).filter((d) => !!d);
    expect(timers.filter((d) => Number(d.seconds ?? 0) < 1)).toEqual([]);
    const pings = events.filter(
      (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'hold',
    );
    expect(pings.length).toBeGreaterThanOrEqual(2); // the checks still happen (cycles 0 and 1 at period 2's due time)
    expect(await decodedHistoryText({ events })).toContain('liveness-on-due-times');
  });

  it('mark_unpaid: a failed cycle stops billing until resume, which bills on from the next period', async () => {
    const token = decliningToken();
    const { id, handle, t0 } = await startDaily({
      recurringToken: token,
      escalation: 'mark_unpaid',
      dunning: { softRetryOffsetsHours: [12] },
    });
    await advanceTo(t0 + 13 * HOUR);
    await waitForCycle(id, 0, 'failed');
    await waitForStatus(handle, 'unpaid');
    expect((await handle.describe()).typedSearchAttributes.get(SUBSCRIPTION_STATUS)).toBe('unpaid');

    await advanceTo(t0 + 3 * DAY + HOUR);
    for (const k of [1, 2, 3]) expect(await cycleExists(id, k)).toBe(false);
    expect((await handle.query(subscriptionStateQuery)).status).toBe('unpaid');

    stack.sandbox.setScenario(token, { type: 'success' });
    const resumed = await handle.executeUpdate(resumeSubscriptionUpdate, { args: [{}] });
    expect(resumed).toMatchObject({ status: 'active', nextPeriodIndex: 4 });
    await advanceTo(t0 + 4 * DAY + MINUTE);
    await waitForCycle(id, 4, 'paid');
    expect(stack.sandbox.successfulCharges(cycleWorkflowId(id, 4))).toHaveLength(1);

    await handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now' }] });
    const final = await handle.result();
    expect(final.status).toBe('canceled');
    expect(final.recentCycles.map((c) => [c.periodIndex, c.status])).toEqual([
      [0, 'failed'],
      [4, 'paid'],
    ]);
    expect(stack.notifications.filter((n) => n.subscriptionId === id).map((n) => n.type)).toContain(
      'subscription.unpaid',
    );
  });

  it("escalation 'cancel': a failed cycle cancels the subscription", async () => {
    const { id, handle } = await startDaily({
      recurringToken: decliningToken(),
      escalation: 'cancel',
      dunning: { softRetryOffsetsHours: [12] },
    });
    const final = await handle.result();
    expect(final.status).toBe('canceled');
    expect(final.cancelReason).toMatch(/failed/);
    expect(final.recentCycles.map((c) => [c.periodIndex, c.status])).toEqual([[0, 'failed']]);
    expect(await cycleExists(id, 1)).toBe(false);
    expect(stack.sandbox.successfulCharges(cycleWorkflowId(id, 0))).toHaveLength(0);
  });

  it('cancel at period end: the paid cycle stays paid, no further cycle, canceled at the next due date', async () => {
    const { id, handle, t0 } = await startDaily();
    await advanceTo(t0 + MINUTE);
    await waitForCycle(id, 0, 'paid');
    const after = await handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'period_end' }] });
    expect(after).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });

    await advanceTo(t0 + DAY - HOUR);
    expect((await handle.query(subscriptionStateQuery)).status).toBe('active');

    const final = await handle.result();
    expect(final.status).toBe('canceled');
    expect(Date.parse(final.canceledAt!)).toBeGreaterThanOrEqual(t0 + DAY);
    expect(Date.parse(final.canceledAt!)).toBeLessThan(t0 + DAY + HOUR);
    expect(await cycleExists(id, 1)).toBe(false);
    expect(await cycleStatus(id, 0)).toBe('paid');
    expect(stack.sandbox.successfulCharges(cycleWorkflowId(id, 0))).toHaveLength(1);
    expect(final.recentCycles.map((c) => [c.periodIndex, c.status])).toEqual([[0, 'paid']]);
  });

  it('cancel at period end while paused still ends the subscription at the end of the current period', async () => {
    const { id, handle, t0 } = await startDaily();
    await advanceTo(t0 + MINUTE);
    await waitForCycle(id, 0, 'paid');
    await handle.executeUpdate(pauseSubscriptionUpdate, { args: [{}] });
    await advanceTo(t0 + 3 * DAY + HOUR); // paused over two due dates: nothing billed
    const after = await handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'period_end' }] });
    expect(after).toMatchObject({ status: 'paused', cancelAtPeriodEnd: true });
    const final = await handle.result();
    expect(final.status).toBe('canceled');
    // The period current at the request (day 3) ends on day 4.
    expect(Date.parse(final.canceledAt!)).toBeGreaterThanOrEqual(t0 + 4 * DAY);
    expect(Date.parse(final.canceledAt!)).toBeLessThan(t0 + 4 * DAY + HOUR);
    expect(await cycleExists(id, 1)).toBe(false);
  });

  it('cancel now during dunning cancels the cycle in flight and its Purchase', async () => {
    const { id, handle, t0 } = await startDaily({ recurringToken: decliningToken() });
    await advanceTo(t0 + MINUTE);
    await waitForCycle(id, 0, 'retry_scheduled');
    const canceled = await handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now', reason: 'left' }] });
    expect(canceled).toMatchObject({ status: 'canceled', cancelReason: 'left' });
    const final = await handle.result();
    expect(final.recentCycles.map((c) => [c.periodIndex, c.status])).toEqual([[0, 'canceled']]);
    expect(final.cyclesInFlight).toEqual([]);
    const result = await env.client.workflow.getHandle<typeof billingCycleWorkflow>(cycleWorkflowId(id, 0)).result();
    expect(result.status).toBe('canceled');
    expect(stack.sandbox.purchase(result.purchaseId ?? '')?.status).toBe('cancelled');
    expect(stack.sandbox.successfulCharges(cycleWorkflowId(id, 0))).toHaveLength(0);
    await expect(handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now' }] })).rejects.toThrow();
  });

  it('a new payment method recovers an action_required cycle; the subscription returns to active', async () => {
    const { id, handle, t0 } = await startDaily({ recurringToken: tok('hard_stolen_card'), maxPeriods: 1 });
    await advanceTo(t0 + MINUTE);
    await waitForCycle(id, 0, 'action_required');
    await waitForStatus(handle, 'past_due');

    const fresh = tok('success');
    const updated = await handle.executeUpdate(updatePaymentMethodUpdate, { args: [{ recurringToken: fresh }] });
    expect(updated.paymentMethod).toBe(`…${fresh.slice(-4)}`);
    // A new card is charged at once, but never sooner than minHoursBetweenAttempts (4 h) after the decline.
    await advanceTo(t0 + MINUTE + 4 * HOUR + MINUTE);
    await waitForCycle(id, 0, 'paid');
    await waitForStatus(handle, 'active');

    const ledger = stack.sandbox.ledger(cycleWorkflowId(id, 0));
    expect(ledger.map((l) => [l.outcome, l.token === fresh])).toEqual([
      ['declined', false],
      ['success', true],
    ]);
    const final = await handle.result();
    expect(final).toMatchObject({ status: 'active', cyclesInFlight: [] });
    expect(final.recentCycles.map((c) => c.status)).toEqual(['paid']);
  });

  it('changePlan applies from the next period', async () => {
    const { id, handle, t0 } = await startDaily({ maxPeriods: 2 });
    await advanceTo(t0 + MINUTE);
    await waitForCycle(id, 0, 'paid');
    const plan: Plan = {
      planId: 'team',
      currency: 'EUR',
      lineItems: [{ name: 'Team seat', priceMinor: 2500, quantity: 3 }],
    };
    const changed = await handle.executeUpdate(changePlanUpdate, { args: [{ plan }] });
    expect(changed.plan.planId).toBe('pro');
    expect(changed.pendingPlan).toEqual(plan);

    const final = await handle.result();
    expect(final.plan).toEqual(plan);
    expect(final.pendingPlan).toBeUndefined();
    expect(final.recentCycles.map((c) => [c.periodIndex, c.amountMinor])).toEqual([
      [0, 1999],
      [1, 7500],
    ]);
    const totals = final.recentCycles.map((c) => stack.sandbox.purchase(c.purchaseId!)?.purchase.total);
    expect(totals).toEqual([1999, 7500]);
  });

  it('trial: trialing until the trial ends, first cycle at the trial end', async () => {
    const { anchor, t0 } = await anchorSoon();
    const trialId = subId();
    const trial = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(trialId),
      taskQueue: stack.taskQueue,
      args: [
        input(trialId, {
          schedule: { intervalUnit: 'day', intervalCount: 1, anchor, timeZone: 'UTC', trialDays: 3 },
          maxPeriods: 1,
        }),
      ],
    });
    await waitForStatus(trial, 'trialing');
    await advanceTo(t0 + 2 * DAY);
    const during = await trial.query(subscriptionStateQuery);
    expect(during).toMatchObject({ status: 'trialing', nextPeriodIndex: 0 });
    expect(during.nextChargeAt).toBe(new Date(t0 + 3 * DAY).toISOString());
    expect(await cycleExists(trialId, 0)).toBe(false);

    const final = await trial.result();
    expect(final.status).toBe('active');
    expect(final.recentCycles.map((c) => [c.periodIndex, c.status, c.periodStart])).toEqual([
      [0, 'paid', new Date(t0 + 3 * DAY).toISOString()],
    ]);
    expect(stack.sandbox.successfulCharges(cycleWorkflowId(trialId, 0))).toHaveLength(1);
  });

  it('pause: no cycles while paused; resume skips the periods that fell due meanwhile', async () => {
    const { id, handle, t0 } = await startDaily({ maxPeriods: 5 });
    await advanceTo(t0 + MINUTE);
    await waitForCycle(id, 0, 'paid');
    const paused = await handle.executeUpdate(pauseSubscriptionUpdate, { args: [{}] });
    expect(paused.status).toBe('paused');

    await advanceTo(t0 + 3 * DAY + HOUR);
    for (const k of [1, 2, 3]) expect(await cycleExists(id, k)).toBe(false);
    expect((await handle.query(subscriptionStateQuery)).status).toBe('paused');

    const resumed = await handle.executeUpdate(resumeSubscriptionUpdate, { args: [{}] });
    expect(resumed).toMatchObject({ status: 'active', nextPeriodIndex: 4 });
    expect(resumed.nextChargeAt).toBe(new Date(t0 + 4 * DAY).toISOString());
    const final = await handle.result();
    expect(final.recentCycles.map((c) => [c.periodIndex, c.status])).toEqual([
      [0, 'paid'],
      [4, 'paid'],
    ]);
    for (const k of [1, 2, 3]) expect(await cycleExists(id, k)).toBe(false);
  });

  it('bills a month-end anchor on the last day of each month over a simulated year, each period paid once', async () => {
    // The test server starts at the real current time: anchor on Jan 31 of next year, so every period is in the future.
    // Last in the file: it moves the test server's clock a year on.
    const year = new Date(await env.currentTimeMs()).getUTCFullYear() + 1;
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    const id = subId();
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(id),
      taskQueue: stack.taskQueue,
      args: [
        input(id, {
          schedule: { intervalUnit: 'month', intervalCount: 1, anchor: `${year}-01-31T09:00`, timeZone: 'Europe/Oslo' },
          maxPeriods: 12,
        }),
      ],
    });
    const final = await handle.result();

    const monthEnds = ['01-31', leap ? '02-29' : '02-28', '03-31', '04-30', '05-31', '06-30'];
    monthEnds.push('07-31', '08-31', '09-30', '10-31', '11-30', '12-31');
    const expected = monthEnds.map((d) => `${year}-${d} 09:00`);
    const actual: string[] = [];
    for (let k = 0; k < 12; k++) actual.push(await localPeriodStart(id, k, 'Europe/Oslo'));
    expect(actual).toEqual(expected);
    expect(await cycleExists(id, 12)).toBe(false);

    for (let k = 0; k < 12; k++) {
      const cycleId = cycleWorkflowId(id, k);
      expect(stack.sandbox.successfulCharges(cycleId)).toHaveLength(1);
      expect(stack.sandbox.ledger(cycleId)).toHaveLength(1);
    }
    expect(final.status).toBe('active');
    expect(final.cyclesInFlight).toEqual([]);
    expect(final.nextPeriodIndex).toBe(12);
    expect(final.recentCycles.map((c) => [c.periodIndex, c.status, c.amountMinor])).toEqual(
      expected.map((_, k) => [k, 'paid', 1999]),
    );
    // recentCycles carry the UTC instants of the same local month-end dates (09:00 CET/CEST).
    const memo0 = (await cycle(id, 0).describe()).memo as { periodStart: string };
    expect(final.recentCycles[0]!.periodStart).toBe(memo0.periodStart);
    expect(final.recentCycles.map((c) => new Date(c.periodStart).getUTCHours())).toEqual(
      final.recentCycles.map((_, k) => (k >= 2 && k <= 8 ? 7 : 8)),
    );
    await maybeRecordHistory(handle, 'subscription-month-end-year');
  });
});

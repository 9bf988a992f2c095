/**
 * The billing cycle on the time-skipping server, with activities calling the QorePay sandbox over real HTTP and
 * sandbox webhooks verified and routed by the real ingress. Weeks of dunning pass in seconds.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { billingCycleWorkflow } from '../../src/workflows';
import {
  cancelCycleUpdate,
  cycleStateQuery,
  cycleWorkflowId,
  gatewayEventSignal,
  markPaidUpdate,
  paymentMethodUpdatedSignal,
  retryNowUpdate,
  type BillingCycleInput,
} from '../../src/shared/billing-cycle';
import { BILLING_STATUS, CUSTOMER_ID, SUBSCRIPTION_ID } from '../../src/shared/search-attributes';
import { bundleWorkflows, createTimeSkippingEnv, decodedHistoryText, uniqueId } from '../support/temporal';
import {
  SANDBOX_API_KEY,
  cycleInput,
  eventually,
  maybeRecordHistory,
  startBillingStack,
  type BillingStack,
} from '../support/billing-stack';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let stack: BillingStack;

beforeAll(async () => {
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows(require.resolve('../../src/workflows'))]);
  stack = await startBillingStack(env, {
    workflowBundle: bundle,
    taskQueue: uniqueId('cycles'),
    pendingResolveDelayMs: 1500,
  });
});
afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

function start(input: BillingCycleInput) {
  const workflowId = cycleWorkflowId(input.subscriptionId, input.periodIndex);
  return env.client.workflow.start(billingCycleWorkflow, {
    workflowId,
    taskQueue: stack.taskQueue,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
}

const sub = () => uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
const tok = (scenario: string) => `tok_${scenario}_${uniqueId('t')}`;

/** The history as text with every payload decoded, so a secret inside a payload would show. */
async function decodedHistory(handle: { fetchHistory(): Promise<unknown> }): Promise<string> {
  return decodedHistoryText(await handle.fetchHistory());
}

async function historyEvents(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }) {
  const h = await handle.fetchHistory();
  return JSON.stringify(h.events ?? []);
}

function scheduledActivities(history: {
  events?: Array<{
    activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  }> | null;
}): string[] {
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((n): n is string => !!n);
}

describe('billing cycle', () => {
  it('pays at once with a good token: one Purchase, one successful charge, the merchant told', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('success') });
    const handle = await start(input);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', attempts: 1, amountMinor: 500_000, currency: 'NGN' });
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    const purchase = stack.sandbox.purchase(result.purchaseId!);
    expect(purchase).toMatchObject({ status: 'paid', reference: handle.workflowId });
    expect(stack.notifications.filter((n) => n.cycleId === handle.workflowId).map((n) => n.type)).toEqual([
      'cycle.paid',
    ]);
    const desc = await handle.describe();
    expect(desc.typedSearchAttributes.get(BILLING_STATUS)).toBe('paid');
    expect(desc.memo).toMatchObject({ amountMinor: 500_000, currency: 'NGN' });
    await maybeRecordHistory(handle, 'cycle-paid-at-once');
  });

  it('pays at once without a notifyMerchant activity when no merchant webhook is configured', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('success'), merchantNotifications: false });
    // Started the way the subscription starts its cycles: with their search attributes and memo.
    const handle = await env.client.workflow.start(billingCycleWorkflow, {
      workflowId: cycleWorkflowId(input.subscriptionId, input.periodIndex),
      taskQueue: stack.taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: SUBSCRIPTION_ID, value: input.subscriptionId },
        { key: CUSTOMER_ID, value: input.customerId },
        { key: BILLING_STATUS, value: 'creating' },
      ],
      memo: {
        amountMinor: 500_000,
        currency: input.currency,
        periodStart: input.periodStart,
        periodEnd: input.periodEnd,
      },
    });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', attempts: 1 });
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    const history = await handle.fetchHistory();
    // The worker has a notifier: only the cycle's input kept the activity from being scheduled.
    expect(scheduledActivities(history)).toEqual(['createPurchase', 'chargePurchase']);
    expect(stack.notifications.filter((n) => n.cycleId === handle.workflowId)).toEqual([]);
    expect((await handle.describe()).typedSearchAttributes.get(BILLING_STATUS)).toBe('paid');
    // At most one search-attribute upsert per workflow task, and no memo rewrite (the starter's memo says it all).
    expect(history.events?.filter((e) => e.workflowPropertiesModifiedEventAttributes)).toEqual([]);
    // Counted: the workflow's own upserts. `patched()` also upserts `TemporalChangeVersion` (the SDK's versioning
    // attribute, next to each core_patch marker), which is not a status write.
    let upserts = 0;
    for (const e of history.events ?? []) {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
      if (Object.keys(fields).some((k) => k !== 'TemporalChangeVersion')) upserts++;
      if (e.workflowTaskCompletedEventAttributes) upserts = 0;
      expect(upserts).toBeLessThanOrEqual(1);
    }
    await maybeRecordHistory(handle, 'cycle-paid-no-merchant-webhook');
  });

  it('waits durably for pending_charge and is resolved by the webhook signal, without polling', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('pending_paid') });
    const handle = await start(input);
    // Time stays locked until result() is awaited, so the 1 h poll cannot fire before the webhook arrives.
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'pending', 'pending');
    const result = await eventually(async () => {
      const d = await handle.describe();
      return d.status.name === 'COMPLETED' ? handle.result() : undefined;
    }, 'the webhook to complete the cycle');
    expect(result.status).toBe('paid');
    const history = await handle.fetchHistory();
    expect(scheduledActivities(history)).not.toContain('getPurchase');
    expect(await historyEvents(handle)).toContain('gatewayEvent');
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    await maybeRecordHistory(handle, 'cycle-pending-then-webhook');
  });

  it('resolves a pending charge by polling when the webhook is lost', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('pending_silent') });
    const handle = await start(input);
    const state = await eventually(async () => {
      const s = await handle.query(cycleStateQuery);
      return s.status === 'pending' ? s : undefined;
    }, 'pending');
    await eventually(
      () => stack.sandbox.purchase(state.purchaseId!)?.status === 'paid',
      'the sandbox to settle silently',
    );
    const result = await handle.result(); // time skips to the 1 h re-read
    expect(result.status).toBe('paid');
    const history = await handle.fetchHistory();
    expect(scheduledActivities(history)).toContain('getPurchase');
    expect(await historyEvents(handle)).not.toContain('gatewayEvent');
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    await maybeRecordHistory(handle, 'cycle-pending-polled');
  });

  it('alerts operations when a charge stays pending past the window, and keeps polling to the end', async () => {
    const input = cycleInput({
      subscriptionId: sub(),
      recurringToken: tok('pending_silent'),
      dunning: { ...cycleInput({ subscriptionId: 'x', recurringToken: 'x' }).dunning, pendingAlertAfterHours: 0.5 },
    });
    const handle = await start(input);
    const state = await eventually(async () => {
      const s = await handle.query(cycleStateQuery);
      return s.status === 'pending' ? s : undefined;
    }, 'pending');
    // The sandbox settles after 1.5 s of wall time; skipped workflow time reaches the 30-minute window long before.
    expect(stack.sandbox.purchase(state.purchaseId!)?.status).toBe('pending_charge');
    const result = await handle.result();
    expect(result.status).toBe('paid');
    expect(stack.alerts.filter((a) => a.workflowId === handle.workflowId).map((a) => a.code)).toEqual([
      'pending_too_long',
    ]);
    expect(stack.notifications.filter((n) => n.cycleId === handle.workflowId).map((n) => n.type)).toEqual([
      'cycle.pending_too_long',
      'cycle.paid',
    ]);
  });

  it('retries soft declines on the dunning schedule and pays on attempt 4', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('soft3') });
    const handle = await start(input);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', attempts: 4 });
    const state = await handle.query(cycleStateQuery);
    const t0 = Date.parse(state.attempts[0]!.at);
    const offsetsDays = state.attempts.map((a) => Math.round((Date.parse(a.at) - t0) / HOUR) / 24);
    expect(offsetsDays).toEqual([0, 1, 2, 3]);
    expect(state.attempts.map((a) => a.code ?? a.outcome)).toEqual([
      'insufficient_funds',
      'insufficient_funds',
      'insufficient_funds',
      'paid',
    ]);
    const ledger = stack.sandbox.ledger(handle.workflowId);
    expect(ledger.filter((l) => l.outcome === 'declined')).toHaveLength(3);
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    // One Purchase for the whole cycle: every attempt charged the same id.
    expect(new Set(ledger.map((l) => l.purchaseId)).size).toBe(1);
    await maybeRecordHistory(handle, 'cycle-soft-declines-then-paid');
  });

  it('fails after 8 soft declines at 0, 1, 2, 3, 5, 7, 10 and 14 days, telling the merchant each time', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('decline_insufficient_funds') });
    const handle = await start(input);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', attempts: 8 });
    expect(result.failureReason).toMatch(/exhausted/);
    const state = await handle.query(cycleStateQuery);
    const t0 = Date.parse(state.attempts[0]!.at);
    expect(state.attempts.map((a) => Math.round((Date.parse(a.at) - t0) / DAY))).toEqual([0, 1, 2, 3, 5, 7, 10, 14]);
    const types = stack.notifications.filter((n) => n.cycleId === handle.workflowId).map((n) => n.type);
    expect(types.filter((t) => t === 'cycle.payment_failed')).toHaveLength(8);
    expect(types[types.length - 1]).toBe('cycle.failed');
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(0);
    await maybeRecordHistory(handle, 'cycle-soft-declines-exhausted');
  });

  it('asks for a new card after a hard decline and pays with the new token', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('hard_stolen_card') });
    const handle = await start(input);
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'action_required', 'action_required');
    const desc = await handle.describe();
    expect(desc.typedSearchAttributes.get(BILLING_STATUS)).toBe('action_required');
    await handle.signal(paymentMethodUpdatedSignal, { recurringToken: tok('success') });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', attempts: 2 });
    const ledger = stack.sandbox.ledger(handle.workflowId);
    expect(ledger.map((l) => l.outcome)).toEqual(['declined', 'success']);
    expect(stack.notifications.filter((n) => n.cycleId === handle.workflowId).map((n) => n.type)).toEqual([
      'cycle.payment_failed',
      'cycle.action_required',
      'cycle.paid',
    ]);
    await maybeRecordHistory(handle, 'cycle-hard-decline-new-token');
  });

  it('fails a hard decline when no new card arrives within the 7-day grace period', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('invalid') });
    const handle = await start(input);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', attempts: 1 });
    expect(result.failureReason).toMatch(/no new payment method within 168h after invalid_recurring_token/);
    const history = await handle.fetchHistory();
    const first = Number(history.events![0]!.eventTime!.seconds);
    const last = Number(history.events![history.events!.length - 1]!.eventTime!.seconds);
    expect(last - first).toBeGreaterThanOrEqual(7 * 86400);
  });

  it('marks a cycle paid during dunning (mark_as_paid at the gateway) and stops retrying', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('decline_do_not_honour') });
    const handle = await start(input);
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'retry_scheduled', 'retry_scheduled');
    const state = await handle.executeUpdate(markPaidUpdate, { args: [{ note: 'paid by bank transfer' }] });
    expect(state.status).toBe('marked_paid');
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'marked_paid', attempts: 1 });
    expect(stack.sandbox.purchase(result.purchaseId!)).toMatchObject({ status: 'paid', marked_as_paid: true });
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(0);
    // The validator refuses a second markPaid on a closed cycle.
    await expect(handle.executeUpdate(markPaidUpdate, { args: [{}] })).rejects.toThrow();
    await maybeRecordHistory(handle, 'cycle-marked-paid');
  });

  it('retries now on request, but never sooner than minHoursBetweenAttempts after the last attempt', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('soft1') });
    const handle = await start(input);
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'retry_scheduled', 'retry_scheduled');
    // Right after the decline, retryNow is refused: the card network's spacing applies to every source of attempts.
    await expect(handle.executeUpdate(retryNowUpdate, { args: [{}] })).rejects.toThrow();
    expect(stack.sandbox.ledger(handle.workflowId)).toHaveLength(1);
    await env.sleep(4 * HOUR + 60_000);
    const after = await handle.executeUpdate(retryNowUpdate, { args: [{}] });
    // The update answers after the charge call's first answer; on a loaded machine that can be a transport failure
    // (then the quick retry follows seconds later), so the attempt itself is awaited from the cycle's state.
    expect(after.attempts.length).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await handle.query(cycleStateQuery)).attempts.length === 2, 'the retry attempt');
    const result = await handle.result();
    expect(result.status).toBe('paid');
    const state = await handle.query(cycleStateQuery);
    // The retry happened on request just after the 4 h spacing, not on the dunning schedule a day later.
    expect(Date.parse(state.attempts[1]!.at) - Date.parse(state.attempts[0]!.at)).toBeLessThan(5 * HOUR);
  });

  it('cancel while pending waits for the outcome: a failed charge ends canceled, with no dunning', async () => {
    const token = tok('hold_fail');
    stack.sandbox.setScenario(token, { type: 'pending', then: 'failed', webhooks: false });
    const input = cycleInput({ subscriptionId: sub(), recurringToken: token });
    const handle = await start(input);
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'pending', 'pending');
    const state = await handle.executeUpdate(cancelCycleUpdate, { args: [{ reason: 'customer left' }] });
    expect(state).toMatchObject({ status: 'pending', cancelRequested: true });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'canceled', attempts: 1 });
    expect(stack.sandbox.purchase(result.purchaseId!)?.status).toBe('cancelled');
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(0);
    expect(stack.notifications.some((n) => n.cycleId === handle.workflowId && n.type === 'cycle.payment_failed')).toBe(
      false,
    );
    await maybeRecordHistory(handle, 'cycle-cancel-while-pending');
  });

  it('cancel while pending ends paid when the acquirer took the money (never both)', async () => {
    const token = tok('hold_pay');
    stack.sandbox.setScenario(token, { type: 'pending', then: 'paid', webhooks: false });
    const handle = await start(cycleInput({ subscriptionId: sub(), recurringToken: token }));
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'pending', 'pending');
    await handle.executeUpdate(cancelCycleUpdate, { args: [{}] });
    const result = await handle.result();
    expect(result.status).toBe('paid');
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
  });

  it('cancels a cycle in dunning: the unpaid Purchase is cancelled and retries stop', async () => {
    const handle = await start(
      cycleInput({ subscriptionId: sub(), recurringToken: tok('decline_insufficient_funds') }),
    );
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'retry_scheduled', 'retry_scheduled');
    const state = await handle.executeUpdate(cancelCycleUpdate, { args: [{ reason: 'merchant request' }] });
    expect(state.status).toBe('canceled');
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'canceled', attempts: 1, failureReason: 'merchant request' });
    expect(stack.sandbox.purchase(result.purchaseId!)?.status).toBe('cancelled');
    await expect(handle.executeUpdate(cancelCycleUpdate, { args: [{}] })).rejects.toThrow();
  });

  it('ignores duplicate and stale gateway events; status only moves forward', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('pending_silent') });
    const handle = await start(input);
    const pending = await eventually(async () => {
      const s = await handle.query(cycleStateQuery);
      return s.status === 'pending' ? s : undefined;
    }, 'pending');
    const purchaseId = pending.purchaseId!;
    const stale = {
      eventType: 'purchase.payment_failure',
      purchaseId,
      status: 'error',
      updatedOn: 1,
      declineCode: 'insufficient_funds',
    };
    await handle.signal(gatewayEventSignal, stale);
    await handle.signal(gatewayEventSignal, stale);
    await handle.signal(gatewayEventSignal, { ...stale, purchaseId: 'someone-else', updatedOn: 4_000_000_000 });
    expect((await handle.query(cycleStateQuery)).status).toBe('pending');
    await eventually(() => stack.sandbox.purchase(purchaseId)?.status === 'paid', 'the sandbox to settle');
    const p = await stack.qorepay.getPurchase(purchaseId);
    const paid = { eventType: 'purchase.paid', purchaseId, status: p.status, updatedOn: p.updated_on ?? 0 };
    await handle.signal(gatewayEventSignal, paid);
    await handle.signal(gatewayEventSignal, paid);
    // A failure reported after the payment (reordered delivery) must not move the cycle back.
    await handle.signal(gatewayEventSignal, { ...stale, updatedOn: paid.updatedOn });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', attempts: 1 });
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    await maybeRecordHistory(handle, 'cycle-duplicate-and-stale-events');
  });

  it('survives duplicate and reordered webhook deliveries from the gateway', async () => {
    stack.sandbox.setWebhookOptions({ duplicate: true, reorder: true });
    try {
      const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('pending_paid') });
      const handle = await start(input);
      await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 'completion by webhook');
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'paid', attempts: 1 });
      expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    } finally {
      stack.sandbox.setWebhookOptions({});
    }
  });

  it('charges exactly once when the gateway commits but the answer never arrives', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('commit_timeout') });
    const handle = await start(input);
    const result = await handle.result();
    expect(result.status).toBe('paid');
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    // The first activity attempt timed out; the retry read the Purchase and found it paid.
    const history = await historyEvents(handle);
    expect(history).toMatch(/GatewayTransient|timeout/i);
    await maybeRecordHistory(handle, 'cycle-commit-then-timeout');
  });

  it('rides out gateway 500s and 429s with activity retries', async () => {
    for (const scenario of ['500x2', '429']) {
      const input = cycleInput({ subscriptionId: sub(), recurringToken: tok(scenario) });
      const handle = await start(input);
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'paid', attempts: 1 });
      expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    }
  });

  it('keeps the gateway API key out of workflow history, even through transport failures and declines', async () => {
    const runs = [tok('commit_timeout'), tok('500x2'), tok('429'), tok('decline_insufficient_funds'), tok('invalid')];
    for (const token of runs) {
      const handle = await start(cycleInput({ subscriptionId: sub(), recurringToken: token }));
      await handle.result();
      const text = await decodedHistory(handle);
      expect(text).toContain(handle.workflowId); // the decoding works: ids are there
      expect(text).not.toContain(SANDBOX_API_KEY);
      expect(text.toLowerCase()).not.toContain('authorization');
    }
  });

  it('alerts operations on a merchant-configuration decline without counting it against the customer', async () => {
    const token = tok('mc');
    stack.sandbox.setScenario(token, { type: 'decline', code: 'no_matching_terminal' });
    const input = cycleInput({ subscriptionId: sub(), recurringToken: token });
    const handle = await start(input);
    await eventually(async () => (await handle.query(cycleStateQuery)).status === 'retry_scheduled', 'retry_scheduled');
    expect(stack.alerts.some((a) => a.workflowId === handle.workflowId && a.code === 'merchant_configuration')).toBe(
      true,
    );
    expect(stack.notifications.some((n) => n.cycleId === handle.workflowId && n.type === 'cycle.payment_failed')).toBe(
      false,
    );
    const state = await handle.query(cycleStateQuery);
    const gap = Date.parse(state.nextAttemptAt!) - Date.parse(state.attempts[0]!.at);
    expect(gap).toBeGreaterThanOrEqual(6 * HOUR);
    expect(gap).toBeLessThan(6 * HOUR + 60_000); // plus the charge's own round trip
    stack.sandbox.setScenario(token, { type: 'success' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', attempts: 2 });
  });

  it('refuses a second execution for the same period (REJECT_DUPLICATE)', async () => {
    const input = cycleInput({ subscriptionId: sub(), recurringToken: tok('success') });
    const handle = await start(input);
    await handle.result();
    await expect(start(input)).rejects.toThrow(/already/i);
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
  });
});

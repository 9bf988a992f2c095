/**
 * Settlement of paid cycles into ActivePlatform and Gormic OM, on the time-skipping server, with every client talking
 * to its sandbox over real HTTP: exactly once under lost answers and a worker restart, a closed order failing
 * settlement without undoing the charge (then an operator retry), reversal on refund and chargeback, and no secret in
 * logs or history.
 */
import { Writable } from 'node:stream';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import pino from 'pino';
import { ActivePlatformClient } from '../../src/integrations/activeplatform';
import { GormicClient } from '../../src/integrations/gormic';
import { startActivePlatformSandbox, type ActivePlatformSandbox } from '../../src/sandbox/activeplatform/server';
import { startGormicSandbox, type GormicSandbox } from '../../src/sandbox/gormic/server';
import { billingCycleWorkflow, subscriptionWorkflow } from '../../src/workflows';
import {
  cycleStateQuery,
  cycleWorkflowId,
  retrySettlementUpdate,
  type BillingCycleInput,
  type SettlementTarget,
} from '../../src/shared/billing-cycle';
import {
  cancelSubscriptionUpdate,
  chargebackUpdate,
  paymentEventSignal,
  refundUpdate,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  type SubscriptionInput,
} from '../../src/shared/subscription';
import { BILLING_STATUS } from '../../src/shared/search-attributes';
import { bundleWorkflows, createTimeSkippingEnv, decodedHistoryText, uniqueId } from '../support/temporal';
import {
  SANDBOX_API_KEY,
  cycleInput,
  eventually,
  maybeRecordHistory,
  startBillingStack,
  type BillingStack,
} from '../support/billing-stack';

const AP_TOKEN = 'ap-token-secret-must-not-leak';
const GORMIC_KEY = 'gormic-key-secret-must-not-leak';
const QOREPAY_METHOD_ID = 7;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let stack: BillingStack;
let ap: ActivePlatformSandbox;
let gormic: GormicSandbox;
const logLines: string[] = [];
/** Every workflow the tests ran, for the secrets check on their histories. */
const handles: { fetchHistory(): Promise<unknown> }[] = [];

beforeAll(async () => {
  const capture = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, capture);
  [env, bundle, ap, gormic] = await Promise.all([
    createTimeSkippingEnv(),
    bundleWorkflows(require.resolve('../../src/workflows')),
    startActivePlatformSandbox({ apiToken: AP_TOKEN, defaultCurrency: 'NGN' }),
    startGormicSandbox({ apiKey: GORMIC_KEY, organizationId: 'org-test', defaultCurrency: 'NGN' }),
  ]);
  stack = await startBillingStack(env, {
    workflowBundle: bundle,
    taskQueue: uniqueId('settlement'),
    maxCachedWorkflows: 0,
    logger,
    settlement: {
      activePlatform: new ActivePlatformClient({
        baseUrl: ap.baseUrl,
        apiToken: AP_TOKEN,
        timeoutMs: 1500,
        logger: logger.child({ integration: 'activeplatform' }),
      }),
      gormic: new GormicClient({
        baseUrl: gormic.baseUrl,
        apiKey: GORMIC_KEY,
        organizationId: 'org-test',
        timeoutMs: 1500,
        logger: logger.child({ integration: 'gormic' }),
      }),
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all([ap?.close(), gormic?.close()]);
  await env?.teardown();
});

const sub = () => uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
const tok = (scenario: string) => `tok_${scenario}_${uniqueId('t')}`;
let nextAccount = 41_000;

function targets(): { account: number; orderId: string; list: SettlementTarget[] } {
  const account = nextAccount++;
  const orderId = uniqueId('order');
  return {
    account,
    orderId,
    list: [
      { kind: 'activeplatform', accountId: String(account), paymentMethodId: QOREPAY_METHOD_ID },
      { kind: 'gormic', orderId, methodId: 'qorepay' },
    ],
  };
}

async function start(input: BillingCycleInput) {
  const handle = await env.client.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(input.subscriptionId, input.periodIndex),
    taskQueue: stack.taskQueue,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
  handles.push(handle);
  return handle;
}

/** Exactly one completed ActivePlatform payment and one Gormic receipt for the cycle, with the right keys. */
function expectSettledOnce(t: ReturnType<typeof targets>, cycleId: string, purchaseId: string, amountMinor: number) {
  const apPayments = ap.payments().filter((p) => p.accountId === t.account);
  expect(apPayments).toHaveLength(1);
  expect(apPayments[0]).toMatchObject({
    status: 'completed',
    totalMinor: amountMinor,
    comment: `${cycleId}:settlement`,
    paymentMethodId: QOREPAY_METHOD_ID,
  });
  const apWrites = ap.ledger().filter((e) => e.accountId === t.account);
  expect(apWrites.map((e) => e.op)).toEqual(['create', 'complete']);
  const receipts = gormic.payments(t.orderId);
  expect(receipts).toHaveLength(1);
  expect(receipts[0]).toMatchObject({
    type: 'receipt',
    status: 'complete',
    transactionRef: purchaseId,
    amountMinor,
    methodUid: 'qorepay',
  });
  expect(gormic.ledger().filter((e) => e.orderId === t.orderId && e.op === 'create')).toHaveLength(1);
}

describe('settlement', () => {
  it('records a paid cycle in both targets exactly once when the first writes commit but their answers are lost', async () => {
    const t = targets();
    ap.failNext(1); // the first ActivePlatform request (the look-up) fails with a 500
    ap.commitThenTimeout(); // the create is committed, its answer never arrives
    gormic.commitThenTimeout(); // the receipt is committed, its answer never arrives
    const handle = await start(
      cycleInput({ subscriptionId: sub(), recurringToken: tok('success'), settlementTargets: t.list }),
    );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', settlementFailed: false });
    expectSettledOnce(t, handle.workflowId, result.purchaseId!, 500_000);
    const state = await handle.query(cycleStateQuery);
    expect(state.settlement.map((r) => [r.target, r.status])).toEqual([
      ['activeplatform', 'recorded'],
      ['gormic', 'recorded'],
    ]);
    expect(state.settlement[1]!.externalId).toBe(gormic.payments(t.orderId)[0]!.id);
    // The retries happened: some settlement attempt ran more than once.
    const history = await handle.fetchHistory();
    const attempts = (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0)
      .filter((a) => a > 1);
    expect(attempts.length).toBeGreaterThan(0);
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    await maybeRecordHistory(handle, 'cycle-settled-in-both-targets');
  });

  it('records exactly once across a worker restart while the settlement write is in flight', async () => {
    const t = targets();
    gormic.commitThenTimeout();
    const handle = await start(
      cycleInput({ subscriptionId: sub(), recurringToken: tok('success'), settlementTargets: t.list }),
    );
    await eventually(() => gormic.payments(t.orderId).length === 1, 'the Gormic write to commit');
    await stack.restartWorker();
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', settlementFailed: false });
    expectSettledOnce(t, handle.workflowId, result.purchaseId!, 500_000);
  });

  it('a closed order fails settlement without undoing the charge; an operator retry then records it', async () => {
    const t = targets();
    gormic.setOrderStatus(t.orderId, 'closed');
    const handle = await start(
      cycleInput({ subscriptionId: sub(), recurringToken: tok('success'), settlementTargets: t.list }),
    );
    const failed = await eventually(async () => {
      const s = await handle.query(cycleStateQuery);
      return s.settlementFailed ? s : undefined;
    }, 'settlement to fail');
    expect(failed.status).toBe('paid');
    expect(failed.settlement.map((r) => [r.target, r.status])).toEqual([
      ['activeplatform', 'recorded'],
      ['gormic', 'failed'],
    ]);
    expect(failed.settlement[1]!.error).toContain('ORDER_CLOSED');
    expect(stack.sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
    await eventually(
      () => stack.alerts.some((a) => a.workflowId === handle.workflowId && a.code === 'settlement_failed'),
      'the settlement_failed alert',
    );
    const alert = stack.alerts.find((a) => a.workflowId === handle.workflowId && a.code === 'settlement_failed')!;
    expect(alert.severity).toBe('critical');
    await eventually(
      () => stack.notifications.some((n) => n.cycleId === handle.workflowId && n.type === 'cycle.settlement_failed'),
      'the merchant notification',
    );
    const desc = await handle.describe();
    expect(desc.status.name).toBe('RUNNING'); // open for the operator's retry
    expect(desc.typedSearchAttributes.get(BILLING_STATUS)).toBe('paid');
    expect(desc.memo).toMatchObject({ settlementFailed: true });

    gormic.setOrderStatus(t.orderId, 'open');
    const after = await handle.executeUpdate(retrySettlementUpdate, { args: [{}] });
    expect(after.settlementFailed).toBe(false);
    expect(after.settlement.map((r) => r.status)).toEqual(['recorded', 'recorded']);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', settlementFailed: false });
    expectSettledOnce(t, handle.workflowId, result.purchaseId!, 500_000);
    expect((await handle.describe()).memo).toMatchObject({ settlementFailed: false });
  });

  it('refuses a settlement retry for a cycle whose settlement did not fail', async () => {
    const t = targets();
    gormic.setOrderStatus(t.orderId, 'closed');
    const handle = await start(
      cycleInput({ subscriptionId: sub(), recurringToken: tok('success'), settlementTargets: t.list }),
    );
    await eventually(async () => (await handle.query(cycleStateQuery)).settlementFailed, 'settlement to fail');
    gormic.setOrderStatus(t.orderId, 'open');
    await handle.executeUpdate(retrySettlementUpdate, { args: [{}] });
    await handle.result();
    // Completed: no update is accepted any more; the ledger keeps one receipt.
    await expect(handle.executeUpdate(retrySettlementUpdate, { args: [{}] })).rejects.toThrow();
    expect(gormic.payments(t.orderId)).toHaveLength(1);
  });

  async function paidSubscription() {
    const t = targets();
    const subscriptionId = sub();
    // Earlier tests skipped time: anchor on the server's clock so only period 0 is due.
    const now = new Date((await env.currentTimeMs()) - 60_000);
    const input: SubscriptionInput = {
      subscriptionId,
      customerId: 'cust_settle',
      customerEmail: 'buyer@example.com',
      recurringToken: tok('success'),
      plan: { planId: 'pro', currency: 'NGN', lineItems: [{ name: 'Pro plan', priceMinor: 250_000, quantity: 1 }] },
      schedule: { intervalUnit: 'day', intervalCount: 1, anchor: now.toISOString().slice(0, 16), timeZone: 'UTC' },
      settlementTargets: t.list,
    };
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(subscriptionId),
      taskQueue: stack.taskQueue,
      args: [input],
    });
    handles.push(handle);
    const cycleId = cycleWorkflowId(subscriptionId, 0);
    handles.push(env.client.workflow.getHandle(cycleId));
    const cycle = await eventually(async () => {
      const s = await handle.query(subscriptionStateQuery);
      const c = s.recentCycles.find((x) => x.cycleId === cycleId);
      return c?.status === 'paid' && c.settlement?.every((r) => r.status === 'recorded') ? c : undefined;
    }, 'cycle 0 to be paid and settled');
    const receipt = gormic.payments(t.orderId).find((p) => p.transactionRef === cycle.purchaseId)!;
    expect(gormic.payments(t.orderId)).toHaveLength(1);
    return { t, handle, cycleId, purchaseId: cycle.purchaseId!, receipt };
  }

  it('a refund writes the reversal into each target once, however often the refund webhook arrives', async () => {
    const { t, handle, cycleId, purchaseId, receipt } = await paidSubscription();
    const apOriginal = ap.payments().find((p) => p.accountId === t.account)!;

    const refund = await handle.executeUpdate(refundUpdate, { args: [{ cycleId, reason: 'customer asked' }] });
    expect(refund).toMatchObject({ kind: 'refund', cycleId, purchaseId, amountMinor: 250_000 });
    expect(refund.paymentId).toBeDefined();
    const gatewayRefunds = stack.sandbox
      .payments(purchaseId)
      .filter((p) => (p.payment as { payment_type?: string } | undefined)?.payment_type === 'refund');
    expect(gatewayRefunds.map((p) => p.id)).toEqual([refund.paymentId]);

    // The gateway's own webhook, then the same event twice more (a redelivery, a replayed ingress).
    const event = { kind: 'refund' as const, cycleId, purchaseId, paymentId: refund.paymentId!, amountMinor: 250_000 };
    await handle.signal(paymentEventSignal, event);
    await handle.signal(paymentEventSignal, event);
    const state = await eventually(async () => {
      const s = await handle.query(subscriptionStateQuery);
      return s.settlementReversals?.filter((r) => r.status === 'reversed').length === 2 ? s : undefined;
    }, 'the reversals');
    await eventually(() => stack.ingress.length > 0, 'the refund webhook');
    await new Promise((r) => setTimeout(r, 500)); // let any duplicate reversal (there must be none) run
    expect((await handle.query(subscriptionStateQuery)).settlementReversals).toHaveLength(2);

    const refunds = gormic.payments(t.orderId).filter((p) => p.type === 'refund');
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({
      sourcePaymentId: receipt.id,
      amountMinor: 250_000,
      transactionRef: `${purchaseId}:refund:${refund.paymentId}`,
    });
    const credits = ap.payments().filter((p) => p.accountId === t.account && p.id !== apOriginal.id);
    expect(credits).toHaveLength(1);
    expect(credits[0]).toMatchObject({ totalMinor: -250_000, comment: `${cycleId}:refund:${refund.paymentId}` });
    expect(ap.payment(apOriginal.id)?.status).toBe('completed'); // settled payments are never rewritten
    expect(state.settlementReversals!.map((r) => r.target).sort()).toEqual(['activeplatform', 'gormic']);
    const told = stack.notifications.find(
      (n) => n.subscriptionId === state.subscriptionId && n.type === 'cycle.refunded',
    );
    // The merchant hears of the refund once (the API answer and two webhooks are one refund).
    expect(told?.data).toMatchObject({ paymentId: refund.paymentId, amountMinor: 250_000 });
    expect(stack.notifications.filter((n) => n.id === told?.id)).toHaveLength(1);
    await handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now' }] });
  });

  it('a chargeback registered through the API writes the reversal once, and its webhook adds none', async () => {
    const { t, handle, cycleId, purchaseId, receipt } = await paidSubscription();
    const reasons = await stack.qorepay.listChargebackReasons();
    const reasonId = reasons[0]!.id;
    const cb = await handle.executeUpdate(chargebackUpdate, {
      args: [
        { cycleId, reasonId, arn: 'ARN-74123', date: String(Math.floor(Date.now() / 1000)), reference: 'dispute-1' },
      ],
    });
    expect(cb).toMatchObject({ kind: 'chargeback', cycleId, purchaseId });
    // The gateway's payment.charged_back webhook reaches the subscription too (recorded with its payment id).
    await eventually(async () => {
      const s = await handle.query(subscriptionStateQuery);
      return s.paymentEvents.some((e) => e.kind === 'chargeback' && e.paymentId);
    }, 'the chargeback webhook');
    // The reversals run one target after the other: wait for both (a fixed 500 ms was too short on a loaded machine).
    await eventually(async () => {
      const s = await handle.query(subscriptionStateQuery);
      return (s.settlementReversals ?? []).length >= 2;
    }, 'both settlement reversals');
    await new Promise((r) => setTimeout(r, 500)); // let any duplicate reversal (there must be none) run
    const state = await handle.query(subscriptionStateQuery);
    expect(state.settlementReversals?.map((r) => [r.target, r.kind, r.status]).sort()).toEqual([
      ['activeplatform', 'chargeback', 'reversed'],
      ['gormic', 'chargeback', 'reversed'],
    ]);
    const refunds = gormic.payments(t.orderId).filter((p) => p.type === 'refund');
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({
      sourcePaymentId: receipt.id,
      amountMinor: 250_000,
      transactionRef: `${purchaseId}:chargeback:full`,
    });
    const credits = ap.payments().filter((p) => p.accountId === t.account && p.totalMinor < 0);
    expect(credits).toHaveLength(1);
    expect(credits[0]).toMatchObject({ totalMinor: -250_000, comment: `${cycleId}:chargeback:full` });
    await handle.executeUpdate(cancelSubscriptionUpdate, { args: [{ mode: 'now' }] });
  });

  it('keeps the ActivePlatform token, the Gormic api-key and the QorePay key out of logs, errors and history', async () => {
    const logs = logLines.join('\n');
    expect(logs).toContain('"integration":"gormic"');
    expect(logs).toContain('"integration":"activeplatform"');
    expect(logs).toContain('ORDER_CLOSED'); // the closed-order failure was logged…
    const histories = await Promise.all(handles.map(async (h) => decodedHistoryText(await h.fetchHistory())));
    const all = histories.join('\n');
    expect(all).toContain('ORDER_CLOSED'); // …and is in the failed activity's history
    expect(all).toContain('SettlementRejected');
    for (const secret of [AP_TOKEN, GORMIC_KEY, SANDBOX_API_KEY]) {
      expect(logs).not.toContain(secret);
      expect(all).not.toContain(secret);
      for (const a of stack.alerts) expect(JSON.stringify(a)).not.toContain(secret);
      for (const n of stack.notifications) expect(JSON.stringify(n)).not.toContain(secret);
    }
  });
});

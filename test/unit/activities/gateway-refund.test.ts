/**
 * The refund activity against the QorePay sandbox over real HTTP, on first and retried attempts (issue 20, 2). A refund
 * request carries only `amount`, so a retry may take a refund Payment as its own only when the Purchase, read before
 * the request (the baseline the subscription records), proves it: exactly one Payment appeared since, and
 * `refundable_amount` fell by exactly the request's amount. Never by elimination: a refund made in the dashboard is
 * never answered as ours.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createGatewayActivities, type RefundBaseline, type RefundOutcome } from '../../../src/activities/gateway';
import { QorePayClient, type Purchase } from '../../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../../src/sandbox/qorepay';
import { FailureType } from '../../../src/shared/errors';
import { uniq } from '../../support/http';

const API_KEY = `sk_test_${randomUUID().replace(/-/g, '')}`;
let sandbox: QorePaySandbox;
/** Setup and dashboard calls: patient, so a loaded machine does not fail them. */
let client: QorePayClient;
let acts: ReturnType<typeof createGatewayActivities>;

beforeAll(async () => {
  // A lost answer is held longer than the activity's client waits; every other call gets a generous timeout (a 1 s
  // timeout on setup calls failed this file once on a machine at load 28).
  sandbox = await startQorePaySandbox({ apiKey: API_KEY, webhookRetryDelaysMs: [0], commitTimeoutHoldMs: 30_000 });
  const brandId = randomUUID();
  client = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: API_KEY, brandId, timeoutMs: 30_000 });
  acts = createGatewayActivities(
    new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: API_KEY, brandId, timeoutMs: 4_000 }),
  );
});

afterAll(async () => {
  await sandbox.close();
});

/** A paid Purchase of 1000 (the period's charge succeeded). */
async function paidPurchase(): Promise<Purchase> {
  const p = await client.createPurchase({
    client: { email: 'payer@example.test' },
    reference: uniq('cycle:sub:'),
    currency: 'NGN',
    products: [{ name: 'Pro', price: 1000 }],
  });
  return client.chargePurchase(p.id, uniq('tok_success_'));
}

/** The refund Payments the gateway made for a Purchase, as [id, amount]. */
const refundsAt = (purchaseId: string): [string, number][] =>
  sandbox
    .payments(purchaseId)
    .filter((pm) => (pm.payment as { payment_type: string }).payment_type === 'refund')
    .map((pm) => [pm.id as string, (pm.payment as { amount: number }).amount]);

type RefundInput = Parameters<typeof acts.refundPurchase>[0];

/** The refund activity as Temporal's attempt `n` runs it. */
const refund = (n: number, input: RefundInput): Promise<RefundOutcome> => {
  const fn = (i: RefundInput) => acts.refundPurchase(i);
  return new MockActivityEnvironment({ attempt: n }).run<[RefundInput], RefundOutcome, typeof fn>(fn, input);
};

/** What the subscription records before a refund request (its own activity). */
const readBaseline = (purchaseId: string): Promise<RefundBaseline> => {
  const fn = (id: string) => acts.readRefundBaseline(id);
  return new MockActivityEnvironment().run<[string], RefundBaseline, typeof fn>(fn, purchaseId);
};

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the activity to fail');
}

it('a retry never answers a dashboard refund as its own: it refunds what is left and says how much', async () => {
  const p = await paidPurchase();
  await client.refundPurchase(p.id, 300); // D: made in the dashboard; the engine knows nothing of it
  const [[dashboardId]] = refundsAt(p.id) as [[string, number]];
  const baseline = await readBaseline(p.id);
  // The merchant asks for a full refund (the engine believes 1000 is left); attempt 1 failed before its POST.
  const answer = await refund(2, {
    purchaseId: p.id,
    refundableMinor: 1000,
    knownPaymentIds: [],
    baseline,
  });
  const refunds = refundsAt(p.id);
  expect(refunds.map(([, amount]) => amount)).toEqual([300, 700]);
  expect(answer).toEqual({ purchaseId: p.id, paymentId: refunds[1]![0], status: 'success', amountMinor: 700 });
  expect(answer.paymentId).not.toBe(dashboardId);
});

it('a retry adopts the refund its own lost attempt made, once', async () => {
  const p = await paidPurchase();
  const baseline = await readBaseline(p.id);
  const input = { purchaseId: p.id, amountMinor: 400, refundableMinor: 1000, knownPaymentIds: [], baseline };
  sandbox.commitThenTimeout(); // the refund is made, its answer never comes
  const lost = await failure(refund(1, input));
  expect(lost.nonRetryable).toBe(false);
  expect(refundsAt(p.id).map(([, amount]) => amount)).toEqual([400]);
  const answer = await refund(2, input);
  expect(answer).toEqual({ purchaseId: p.id, paymentId: refundsAt(p.id)[0]![0], status: 'success', amountMinor: 400 });
  expect(refundsAt(p.id)).toHaveLength(1);
});

it('a retry after its GET failed refunds normally (attempt 1 sent nothing)', async () => {
  const p = await paidPurchase();
  const baseline = await readBaseline(p.id);
  const input = { purchaseId: p.id, amountMinor: 250, refundableMinor: 1000, knownPaymentIds: [], baseline };
  sandbox.failNext(1, 503);
  await failure(refund(1, input));
  const answer = await refund(2, input);
  expect(refundsAt(p.id).map(([, amount]) => amount)).toEqual([250]);
  expect(answer.amountMinor).toBe(250);
});

it('a refund made elsewhere after the request was read is never adopted: nothing is sent, RefundUnverified', async () => {
  const p = await paidPurchase();
  const baseline = await readBaseline(p.id);
  await client.refundPurchase(p.id, 300); // the dashboard, while the request's attempt 1 was failing
  const err = await failure(
    refund(2, {
      purchaseId: p.id,
      amountMinor: 200,
      refundableMinor: 1000,
      knownPaymentIds: [],
      baseline,
    }),
  );
  expect(err.type).toBe(FailureType.RefundUnverified);
  expect(err.nonRetryable).toBe(true);
  expect(refundsAt(p.id).map(([, amount]) => amount)).toEqual([300]);
});

it('without a baseline (runs recorded before it), a retry that finds an unknown refund sends nothing and adopts nothing', async () => {
  const p = await paidPurchase();
  await client.refundPurchase(p.id, 300);
  const err = await failure(refund(2, { purchaseId: p.id, refundableMinor: 1000, knownPaymentIds: [] }));
  expect(err.type).toBe(FailureType.RefundUnverified);
  expect(refundsAt(p.id).map(([, amount]) => amount)).toEqual([300]);
});

it('a first attempt refunds, capped by the gateway, and a request for more than is left is refused', async () => {
  const p = await paidPurchase();
  const baseline = await readBaseline(p.id);
  const answer = await refund(1, {
    purchaseId: p.id,
    refundableMinor: 1000,
    knownPaymentIds: [],
    baseline,
  });
  expect(answer.amountMinor).toBe(1000);
  const after = await readBaseline(p.id);
  expect(after).toEqual({ refundPaymentIds: [answer.paymentId], refundableMinor: 0, status: 'refunded' });
  const err = await failure(
    refund(1, {
      purchaseId: p.id,
      amountMinor: 1,
      refundableMinor: 1,
      knownPaymentIds: [],
      baseline: after,
    }),
  );
  expect(err.type).toBe(FailureType.RefundRefused);
});

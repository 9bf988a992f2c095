/**
 * The charge activity's guarantees (issue 20, defects 1, 6 and 12), in Temporal's activity test environment:
 * - a cancellation (a cancel or pause withdrawing the call) before the charge request means no request, ever;
 * - a worker past its window to send (its heartbeat may have timed out, the cycle counts the attempt as unknown and
 *   fences the gateway for CHARGE_FENCE_MS) sends nothing;
 * - once the request left, a cancellation does not abort it: the activity answers with the charge's outcome;
 * - what the first read finds is read through the one status table (src/domain/purchase-status.ts).
 * The gateway is a scripted stand-in so each request can be held open at a chosen moment.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { performance } from 'node:perf_hooks';
import { createGatewayActivities, type QorePayGateway } from '../../../src/activities/gateway';
import { CHARGE_FENCE_MS, CYCLE_LIMITS } from '../../../src/domain/billing-cycle';
import type { Purchase } from '../../../src/integrations/qorepay';
import { FailureType } from '../../../src/shared/errors';

const purchase = (status: string): Purchase =>
  ({
    id: 'pur_1',
    status,
    reference: 'cycle:sub_1:0',
    updated_on: 1_800_000_000,
    purchase: { total: 1000, currency: 'EUR', products: [] },
    transaction_data: { attempts: [] },
  }) as unknown as Purchase;

interface Script {
  gets: Array<() => Promise<Purchase>>;
  charge?: (signal: AbortSignal | undefined) => Promise<Purchase>;
}

function gateway(script: Script) {
  const seen = { gets: 0, posts: 0, postSignals: [] as (AbortSignal | undefined)[] };
  const qorepay = {
    async getPurchase() {
      const next = script.gets[seen.gets++] ?? script.gets[script.gets.length - 1]!;
      return next();
    },
    async chargePurchase(_id: string, _token: string, options: { signal?: AbortSignal } = {}) {
      seen.posts++;
      seen.postSignals.push(options.signal);
      return script.charge ? script.charge(options.signal) : purchase('paid');
    },
  } as unknown as QorePayGateway;
  const acts = createGatewayActivities(qorepay);
  const charge = (i: typeof input) => acts.chargePurchase(i);
  return { charge, seen };
}

const input = { purchaseId: 'pur_1', recurringToken: 'tok_a' };
const failureType = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof ApplicationFailure ? (err.type ?? 'untyped') : `not an ApplicationFailure: ${String(err)}`;
  }
};

afterEach(() => jest.restoreAllMocks());

test('the fence covers the window to send, the request timeout and a margin', () => {
  expect(CHARGE_FENCE_MS).toBeGreaterThanOrEqual(CYCLE_LIMITS.chargePostWindowMs + CYCLE_LIMITS.chargePostTimeoutMs);
});

test('a cancellation that arrives while the first read is under way: no charge request, ChargeNotSent', async () => {
  let release!: () => void;
  const { charge, seen } = gateway({
    gets: [() => new Promise<Purchase>((r) => (release = () => r(purchase('created'))))],
  });
  const env = new MockActivityEnvironment();
  const run = env.run(charge, input);
  await new Promise((r) => setImmediate(r));
  env.cancel('CANCELLED');
  release();
  expect(await failureType(run)).toBe(FailureType.ChargeNotSent);
  expect(seen.posts).toBe(0);
});

test('a worker past its window to send (its heartbeat may have timed out) sends nothing', async () => {
  const start = performance.now();
  jest
    .spyOn(performance, 'now')
    .mockReturnValueOnce(start) // the activity begins
    .mockReturnValue(start + CYCLE_LIMITS.chargePostWindowMs + 1); // the read came back late
  const { charge, seen } = gateway({ gets: [async () => purchase('created')] });
  expect(await failureType(new MockActivityEnvironment().run(charge, input))).toBe(FailureType.ChargeNotSent);
  expect(seen.posts).toBe(0);
});

test('once the request left, a cancellation does not abort it: the outcome is the answer', async () => {
  let answer!: (p: Purchase) => void;
  const { charge, seen } = gateway({
    gets: [async () => purchase('created')],
    charge: () => new Promise<Purchase>((r) => (answer = r)),
  });
  const env = new MockActivityEnvironment();
  const run = env.run(charge, input);
  for (let i = 0; i < 20 && seen.posts === 0; i++) await new Promise((r) => setImmediate(r));
  expect(seen.posts).toBe(1);
  env.cancel('CANCELLED');
  // The request's own signal is a timeout, not the activity's cancellation.
  expect(seen.postSignals[0]?.aborted).toBe(false);
  answer(purchase('paid'));
  await expect(run).resolves.toMatchObject({ outcome: 'paid', charged: true });
});

test('the charge request is bounded by its own timeout, not by the activity cancellation', async () => {
  const { charge, seen } = gateway({ gets: [async () => purchase('created')] });
  const env = new MockActivityEnvironment();
  await env.run(charge, input);
  expect(seen.postSignals[0]).toBeInstanceOf(AbortSignal);
  expect(seen.postSignals[0]).not.toBe(env.context.cancellationSignal);
});

describe('what the first read finds decides through the status table', () => {
  test.each([
    ['hold', 'pending'],
    ['pending_capture', 'pending'],
    ['pending_release', 'pending'],
    ['pending_charge', 'pending'],
    ['a_status_added_later', 'pending'],
    ['pending_refund', 'paid'],
    ['refunded', 'paid'],
    ['charged_back', 'paid'],
    ['settled', 'paid'],
  ])('%s: no charge request, outcome %s', async (status, outcome) => {
    const { charge, seen } = gateway({ gets: [async () => purchase(status)] });
    await expect(new MockActivityEnvironment().run(charge, input)).resolves.toMatchObject({
      outcome,
      charged: false,
    });
    expect(seen.posts).toBe(0);
  });

  test.each(['preauthorized', 'blocked', 'cancelled', 'expired', 'released'])(
    '%s: not chargeable, no charge request',
    async (status) => {
      const { charge, seen } = gateway({ gets: [async () => purchase(status)] });
      expect(await failureType(new MockActivityEnvironment().run(charge, input))).toBe(
        FailureType.PurchaseNotChargeable,
      );
      expect(seen.posts).toBe(0);
    },
  );

  test.each(['created', 'sent', 'viewed', 'overdue', 'error'])('%s: charged', async (status) => {
    const { charge, seen } = gateway({ gets: [async () => purchase(status)] });
    await expect(new MockActivityEnvironment().run(charge, input)).resolves.toMatchObject({
      outcome: 'paid',
      charged: true,
    });
    expect(seen.posts).toBe(1);
  });
});

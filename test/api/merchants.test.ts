/**
 * Merchants and scopes over real HTTP: each key belongs to a merchant; a merchant key sees and changes only its own
 * subscriptions and their cycles (another merchant's ids answer 404, exactly like ids that do not exist), and only
 * operator keys reach the operator routes (403 otherwise) and read across merchants.
 */
import axios from 'axios';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { apiKeyHash, type ApiKeySpec } from '../../src/config';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import { connectToDevServer, uniqueId } from '../support/temporal';
import {
  eventually,
  startApiStack,
  subscriptionBody,
  type ApiStack,
  type Http,
  type RunningTestApi,
} from '../support/api-stack';

const keys = { a: 'merchant-a-key-0123456789', b: 'merchant-b-key-0123456789', ops: 'operator-key-0123456789' };
const specs: ApiKeySpec[] = [
  {
    id: 'a-1',
    merchantId: 'merchant_a',
    sha256: apiKeyHash(keys.a),
    scopes: ['merchant'],
    settlement: { activeplatformAccountIds: ['1001'] },
  },
  { id: 'b-1', merchantId: 'merchant_b', sha256: apiKeyHash(keys.b), scopes: ['merchant'] },
  { id: 'ops-1', merchantId: 'merchant_a', sha256: apiKeyHash(keys.ops), scopes: ['operator'] },
];

let env: TestWorkflowEnvironment;
let api: RunningTestApi;
let stack: ApiStack;
let as: Record<keyof typeof keys, Http>;

beforeAll(async () => {
  env = await connectToDevServer();
  // A real worker on the queue: a create answers only once its subscription has answered its first read.
  stack = await startApiStack(env, {
    taskQueue: uniqueId('merchants'),
    sandboxKey: 'sk_test_merchants',
    webhookRetryDelaysMs: [200],
    pendingResolveDelayMs: 200,
    apiKeys: specs,
  });
  api = stack.api;
  const client = (key: string): Http =>
    axios.create({
      baseURL: api.url,
      validateStatus: () => true,
      timeout: 30_000,
      headers: { authorization: `Bearer ${key}` },
    });
  as = { a: client(keys.a), b: client(keys.b), ops: client(keys.ops) };
});

afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

it("merchant B cannot see, change or refund merchant A's subscription or its cycles (404)", async () => {
  const id = uniqueId('merch-a');
  const created = await as.a.post('/v1/subscriptions', subscriptionBody(id));
  expect(created.status).toBe(201);
  const cycleId = cycleWorkflowId(id, 0);

  const answers = {
    get: await as.b.get(`/v1/subscriptions/${id}`),
    cycles: await as.b.get(`/v1/subscriptions/${id}/cycles`),
    cycle: await as.b.get(`/v1/cycles/${encodeURIComponent(cycleId)}`),
    cancel: await as.b.post(`/v1/subscriptions/${id}/cancel`, { mode: 'now' }),
    pause: await as.b.post(`/v1/subscriptions/${id}/pause`),
    refund: await as.b.post(`/v1/subscriptions/${id}/refunds`, { cycleId }, { headers: { 'idempotency-key': 'k1' } }),
    retry: await as.b.post(`/v1/cycles/${encodeURIComponent(cycleId)}/retry`),
  };
  console.log(
    `merchant B on A's ids: ${JSON.stringify(Object.fromEntries(Object.entries(answers).map(([k, r]) => [k, r.status])))}`,
  );
  for (const r of Object.values(answers)) expect(r.status).toBe(404);
  // Same id again from B: taken, without A's terms.
  const again = await as.b.post('/v1/subscriptions', subscriptionBody(id));
  expect(again.status).toBe(409);
  expect(again.data.fields).toBeUndefined();

  // A's list shows it, B's never does; the operator reads across merchants.
  await eventually(async () => {
    const listA = await as.a.get('/v1/subscriptions', { params: { customerId: `cust-${id}` } });
    return listA.data.subscriptions?.length === 1 && listA.data.subscriptions[0]?.subscriptionId === id;
  }, "A's subscription in A's list");
  const listB = await as.b.get('/v1/subscriptions', { params: { customerId: `cust-${id}` } });
  expect(listB.data.subscriptions).toEqual([]);
  const listOps = await as.ops.get('/v1/subscriptions', { params: { customerId: `cust-${id}` } });
  expect(listOps.data.subscriptions?.map((s) => s.subscriptionId)).toEqual([id]);
});

it('only operator keys reach the operator routes (403 otherwise)', async () => {
  const cycleId = encodeURIComponent(cycleWorkflowId(uniqueId('ops'), 0));
  const markPaid = await as.a.post(`/v1/cycles/${cycleId}/mark-paid`, {});
  const retrySettlement = await as.a.post(`/v1/cycles/${cycleId}/retry-settlement`);
  // A sweep reads every merchant's cycles: operations only.
  const sweep = await as.a.post('/v1/reconciliations', {});
  const sweepRead = await as.a.get('/v1/reconciliations/reconciliation-none');
  console.log(
    `merchant key on operator routes: mark-paid ${markPaid.status}, retry-settlement ${retrySettlement.status}, ` +
      `reconciliations ${sweep.status}/${sweepRead.status}`,
  );
  expect(markPaid.status).toBe(403);
  expect(markPaid.data.error).toBe('forbidden');
  expect(retrySettlement.status).toBe(403);
  expect([sweep.status, sweepRead.status]).toEqual([403, 403]);
  // The operator key gets through the scope check (the cycle does not exist: 404).
  expect((await as.ops.post(`/v1/cycles/${cycleId}/mark-paid`, {})).status).toBe(404);
});

it('settlement accounts are allow-listed per merchant: others answer 400 naming the field, nothing is created', async () => {
  const target = (accountId: string) => ({ kind: 'activeplatform', accountId, paymentMethodId: 1 });
  const allowed = await as.a.post('/v1/subscriptions', {
    ...subscriptionBody(uniqueId('settle-ok')),
    settlementTargets: [target('1001')],
  });
  const otherAccountId = uniqueId('settle-other');
  const otherAccount = await as.a.post('/v1/subscriptions', {
    ...subscriptionBody(otherAccountId),
    settlementTargets: [target('1001'), target('2002')],
  });
  const gormicForB = await as.b.post('/v1/subscriptions', {
    ...subscriptionBody(uniqueId('settle-b')),
    settlementTargets: [{ kind: 'gormic', orderId: 'order-1' }],
  });
  console.log(
    `settlement allow-list: A on 1001 ${allowed.status}; A on 2002 ${otherAccount.status} ` +
      `${JSON.stringify(otherAccount.data.issues)}; B on Gormic ${gormicForB.status} ${JSON.stringify(gormicForB.data.issues)}`,
  );
  expect(allowed.status).toBe(201);
  expect(otherAccount.status).toBe(400);
  expect(otherAccount.data.issues).toEqual([
    { path: 'settlementTargets.1.accountId', message: 'is not an account this merchant may settle to' },
  ]);
  expect(gormicForB.status).toBe(400);
  expect(gormicForB.data.issues?.map((i) => i.path)).toEqual(['settlementTargets.0.kind']);
  expect((await as.a.get(`/v1/subscriptions/${otherAccountId}`)).status).toBe(404);
});

/**
 * End to end over real HTTP: the API, a real billing worker (the real workflows and activities) on the shared dev
 * server, and the QorePay sandbox delivering signed webhooks to the API's webhook route.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { QorePaySandbox } from '../../src/sandbox/qorepay';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import { subscriptionWorkflowId } from '../../src/shared/subscription';
import {
  IDEMPOTENCY_KEY_WORKFLOW_TYPE,
  claimIdempotencyKeyUpdate,
  idempotencyKeyWorkflowId,
  idempotencyRecordQuery,
  recordIdempotentAnswerUpdate,
} from '../../src/shared/idempotency';
import { buildCli } from '../../src/cli';
import { BillingClient, BillingConflictError } from '@temporal-billing/client';
import { BillingOperator } from '@temporal-billing/client/engine';
import axios from 'axios';
import { apiKeyHash } from '../../src/config';
import type { ChangeRecord } from '../../src/shared/actor';
import { connectToDevServer, decodedHistoryText, testDataConverter, uniqueId } from '../support/temporal';
import {
  API_KEY,
  eventually,
  startApiStack,
  subscriptionBody,
  type ApiStack,
  type Http,
  type RunningTestApi,
} from '../support/api-stack';

const SANDBOX_KEY = 'sandbox-key-for-api-e2e';
/** A JSON-configured key (stored as its hash) whose id every change made with it must record. */
const AUDITED_KEY = 'audited-operator-key-0123456789';
const AUDITED_KEY_ID = 'audit-ops.7';

let env: TestWorkflowEnvironment;
let stack: ApiStack;
let sandbox: QorePaySandbox;
let api: RunningTestApi;
let audited: Http;

beforeAll(async () => {
  env = await connectToDevServer();
  stack = await startApiStack(env, {
    taskQueue: uniqueId('api-e2e'),
    sandboxKey: SANDBOX_KEY,
    webhookRetryDelaysMs: [0, 200, 1000],
    pendingResolveDelayMs: 300,
    apiKeys: [
      API_KEY,
      'another-key',
      {
        id: AUDITED_KEY_ID,
        merchantId: 'default',
        sha256: apiKeyHash(AUDITED_KEY),
        scopes: ['merchant', 'operator'],
        settlement: 'any',
      },
    ],
  });
  ({ sandbox, api } = stack);
  audited = axios.create({
    baseURL: api.url,
    validateStatus: () => true,
    timeout: 60_000,
    headers: { authorization: `Bearer ${AUDITED_KEY}` },
  });
});

afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

/** Subscriptions of these tests bill in 2030 (nothing is charged) unless a test anchors them today. */
describe('subscriptions over HTTP with a real worker', () => {
  it('create is idempotent by id: 201, then 200 with the same terms, 409 naming the fields that differ', async () => {
    const id = uniqueId('sub');
    const body = subscriptionBody(id);
    const first = await api.authed.post('/v1/subscriptions', body);
    expect(first.status).toBe(201);
    expect(first.headers.location).toBe(`/v1/subscriptions/${id}`);
    expect(first.data).toMatchObject({ subscriptionId: id, customerId: body.customerId, status: 'active' });
    expect(first.data.paymentMethod).not.toContain(body.recurringToken);

    // Same terms, keys in another order: the existing subscription.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await api.authed.post('/v1/subscriptions', reordered);
    expect(again.status).toBe(200);
    expect(again.data).toMatchObject({ subscriptionId: id, status: 'active', nextPeriodIndex: 0 });

    const different = await api.authed.post('/v1/subscriptions', {
      ...body,
      plan: { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro plan', priceMinor: 2999, quantity: 1 }] },
      escalation: 'cancel',
    });
    expect(different.status).toBe(409);
    expect(different.data.error).toBe('conflict');
    expect(different.data.fields).toEqual(['escalation', 'plan.lineItems']);
    expect(different.data.message).toMatch(/different terms/);

    // Nothing stored was changed: still one run, still the original plan.
    const get = await api.authed.get(`/v1/subscriptions/${id}`);
    expect(get.status).toBe(200);
    expect(get.data.plan?.lineItems[0]?.priceMinor).toBe(1999);
    const runs: string[] = [];
    for await (const e of env.client.workflow.list({ query: `WorkflowId = "${subscriptionWorkflowId(id)}"` })) {
      runs.push(e.runId);
    }
    expect(runs).toHaveLength(1);
  });

  it('pause and resume, with refusals as 409 carrying the workflow message', async () => {
    const id = uniqueId('sub');
    const created = await api.authed.post('/v1/subscriptions', subscriptionBody(id));
    expect(created.status).toBe(201);
    const before = created.data.status as string;

    const paused = await api.authed.post(`/v1/subscriptions/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.data.status).toBe('paused');

    const twice = await api.authed.post(`/v1/subscriptions/${id}/pause`);
    expect(twice.status).toBe(409);
    expect(twice.data).toEqual({ error: 'conflict', message: expect.stringMatching(/already paused/) as unknown });

    const resumed = await api.authed.post(`/v1/subscriptions/${id}/resume`);
    expect(resumed.status).toBe(200);
    // Resuming restores the status it had before the pause (no trial here: 'active', not 'trialing').
    expect(resumed.data.status).toBe(before);
    expect((await api.authed.get(`/v1/subscriptions/${id}`)).data.status).toBe(before);

    const resumeActive = await api.authed.post(`/v1/subscriptions/${id}/resume`);
    expect(resumeActive.status).toBe(409);
  });

  it('changes the plan from the next period and replaces the payment method', async () => {
    const id = uniqueId('sub');
    expect((await api.authed.post('/v1/subscriptions', subscriptionBody(id))).status).toBe(201);
    const plan = { planId: 'team', currency: 'EUR', lineItems: [{ name: 'Team', priceMinor: 4999, quantity: 3 }] };
    const changed = await api.authed.post(`/v1/subscriptions/${id}/plan`, { plan });
    expect(changed.status).toBe(200);
    expect(changed.data.pendingPlan ?? changed.data.plan).toEqual(plan);

    const token = `tok_success_new_${id}`;
    const updated = await api.authed.post(`/v1/subscriptions/${id}/payment-method`, { recurringToken: token });
    expect(updated.status).toBe(200);
    expect(updated.data.paymentMethod).toContain(token.slice(-4));
    expect(updated.data.paymentMethod).not.toContain(token);
  });

  it('cancel now; later changes answer 409', async () => {
    const id = uniqueId('sub');
    expect((await api.authed.post('/v1/subscriptions', subscriptionBody(id))).status).toBe(201);
    const canceled = await api.authed.post(`/v1/subscriptions/${id}/cancel`, { mode: 'now', reason: 'customer asked' });
    expect(canceled.status).toBe(200);
    expect(canceled.data).toMatchObject({ status: 'canceled', cancelReason: 'customer asked' });

    const pause = await api.authed.post(`/v1/subscriptions/${id}/pause`);
    expect(pause.status).toBe(409);
    const cancelAgain = await api.authed.post(`/v1/subscriptions/${id}/cancel`, { mode: 'now' });
    expect(cancelAgain.status).toBe(409);
    const get = await api.authed.get(`/v1/subscriptions/${id}`);
    expect(get.status).toBe(200);
    expect(get.data.status).toBe('canceled');
  });

  it('lists by customer and status, with pages', async () => {
    const customerId = uniqueId('cust');
    const ids = [uniqueId('sub'), uniqueId('sub'), uniqueId('sub')];
    for (const id of ids) {
      expect((await api.authed.post('/v1/subscriptions', subscriptionBody(id, { customerId }))).status).toBe(201);
    }
    const other = uniqueId('sub');
    expect((await api.authed.post('/v1/subscriptions', subscriptionBody(other))).status).toBe(201);
    expect((await api.authed.post(`/v1/subscriptions/${ids[0]}/pause`)).status).toBe(200);

    // The records are written by the worker's activities, just after each change.
    const listed = await eventually(async () => {
      const res = await api.authed.get('/v1/subscriptions', { params: { customerId } });
      const rows = res.data.subscriptions as { subscriptionId: string; status: string }[];
      return rows.length === 3 && rows.some((r) => r.status === 'paused') ? rows : undefined;
    }, 'three subscriptions of the customer, one paused');
    expect(listed.map((r) => r.subscriptionId).sort()).toEqual([...ids].sort());
    expect(listed[0]).toMatchObject({
      customerId,
      planId: 'pro',
      currency: 'EUR',
      amountMinor: 1999,
      merchantId: 'default',
    });

    const paused = await api.authed.get('/v1/subscriptions', { params: { customerId, status: 'paused' } });
    expect((paused.data.subscriptions as { subscriptionId: string }[]).map((r) => r.subscriptionId)).toEqual([ids[0]]);

    const page1 = await api.authed.get('/v1/subscriptions', { params: { customerId, pageSize: 2 } });
    expect(page1.data.subscriptions).toHaveLength(2);
    expect(typeof page1.data.nextPageToken).toBe('string');
    const page2 = await api.authed.get('/v1/subscriptions', {
      params: { customerId, pageSize: 2, nextPageToken: page1.data.nextPageToken },
    });
    const seen = [...(page1.data.subscriptions ?? []), ...(page2.data.subscriptions ?? [])].map(
      (r: { subscriptionId: string }) => r.subscriptionId,
    );
    expect(seen.sort()).toEqual([...ids].sort());

    // A customer id with quotes cannot break out of the query.
    const injected = await api.authed.get('/v1/subscriptions', { params: { customerId: `x" OR CustomerId != "` } });
    expect(injected.status).toBe(200);
    expect(injected.data.subscriptions).toEqual([]);
  });

  it('bills a period that is due: the cycle is listed and readable, charged once, and cannot be marked paid again', async () => {
    const id = uniqueId('due');
    const today = new Date().toISOString().slice(0, 10);
    const created = await api.authed.post(
      '/v1/subscriptions',
      subscriptionBody(id, {
        schedule: { intervalUnit: 'month', intervalCount: 1, anchor: today, timeZone: 'UTC' },
      }),
    );
    expect(created.status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);

    const cycles = await eventually(
      async () => {
        const res = await api.authed.get(`/v1/subscriptions/${id}/cycles`);
        const list = res.data.cycles as { cycleId: string; status: string }[];
        return list.length > 0 && list[0]!.status === 'paid' ? list : undefined;
      },
      'cycle 0 paid and visible',
      60_000,
    );
    expect(cycles.map((c) => c.cycleId)).toEqual([cycleId]);

    const cycle = await api.authed.get(`/v1/cycles/${cycleId}`);
    expect(cycle.status).toBe(200);
    expect(cycle.data).toMatchObject({ cycleId, subscriptionId: id, periodIndex: 0, status: 'paid' });
    expect(sandbox.successfulCharges(cycleId)).toHaveLength(1);

    const markPaid = await audited.post(`/v1/cycles/${cycleId}/mark-paid`, {});
    expect(markPaid.status).toBe(409);
    expect(sandbox.successfulCharges(cycleId)).toHaveLength(1);
  });
});

describe('create-time checks (issue 9, defect 2)', () => {
  it('accepts a qorepayClientId the gateway knows, without an email; refuses one it does not know', async () => {
    const token = sandbox.createRecurringToken();
    const clientId = sandbox.purchase(token)!.client_id!;
    const id = uniqueId('client');
    const body = subscriptionBody(id, { qorepayClientId: clientId, recurringToken: token });
    delete body.customerEmail;
    const created = await api.authed.post('/v1/subscriptions', body);
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ subscriptionId: id, status: 'active' });
    // The same terms again: still the existing subscription.
    expect((await api.authed.post('/v1/subscriptions', body)).status).toBe(200);

    const unknownId = uniqueId('client');
    const unknown = await api.authed.post('/v1/subscriptions', {
      ...body,
      subscriptionId: unknownId,
      qorepayClientId: randomUUID(),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.data.issues).toEqual([{ path: 'qorepayClientId', message: 'no such client at QorePay' }]);
    expect((await api.authed.get(`/v1/subscriptions/${unknownId}`)).status).toBe(404);
  });

  it('a change of plan or card that breaks a bound answers 400 and leaves the subscription as it was', async () => {
    const id = uniqueId('bounds');
    expect((await api.authed.post('/v1/subscriptions', subscriptionBody(id))).status).toBe(201);

    const plan = await api.authed.post(`/v1/subscriptions/${id}/plan`, {
      plan: {
        planId: 'big',
        currency: 'EUR',
        lineItems: [{ name: 'x', priceMinor: Number.MAX_SAFE_INTEGER, quantity: 2 }],
      },
    });
    expect(plan.status).toBe(400);
    expect(plan.data.issues).toEqual([
      { path: 'plan.lineItems', message: expect.stringMatching(/plan total/) as unknown },
    ]);
    const token = await api.authed.post(`/v1/subscriptions/${id}/payment-method`, { recurringToken: 't'.repeat(129) });
    expect(token.status).toBe(400);

    const after = await api.authed.get(`/v1/subscriptions/${id}`);
    expect(after.data.plan).toEqual(subscriptionBody(id).plan);
    expect(after.data.pendingPlan).toBeUndefined();
    expect(after.data.paymentMethod).toBe(`…${id.slice(-4)}`);
  });
});

describe('refund idempotency (issue 9, defect 12)', () => {
  /** A subscription whose cycle 0 is paid; returns its id, the cycle id and the Purchase id. */
  async function paidCycle(): Promise<{ id: string; cycleId: string; purchaseId: string }> {
    const id = uniqueId('refund');
    const today = new Date().toISOString().slice(0, 10);
    const created = await api.authed.post(
      '/v1/subscriptions',
      subscriptionBody(id, { schedule: { intervalUnit: 'month', intervalCount: 1, anchor: today, timeZone: 'UTC' } }),
    );
    expect(created.status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);
    const purchaseId = await eventually(
      async () => {
        const sub = await api.authed.get(`/v1/subscriptions/${id}`);
        const recent = (sub.data as { recentCycles?: { cycleId: string; status: string; purchaseId?: string }[] })
          .recentCycles;
        const c = recent?.find((r) => r.cycleId === cycleId);
        return c?.status === 'paid' ? c.purchaseId : undefined;
      },
      'cycle 0 paid and reported to the subscription',
      60_000,
    );
    return { id, cycleId, purchaseId };
  }

  /** The update ids the subscription workflow accepted, in order. */
  async function acceptedUpdateIds(subscriptionId: string): Promise<string[]> {
    const history = await env.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).fetchHistory();
    return (history.events ?? []).flatMap((e) => {
      const updateId = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
      return updateId ? [updateId] : [];
    });
  }

  it('two identical refund requests with one Idempotency-Key get the same record: one update, one refund', async () => {
    const { id, cycleId, purchaseId } = await paidCycle();
    const key = `refund-${randomUUID()}`;
    const send = () =>
      api.authed.post(
        `/v1/subscriptions/${id}/refunds`,
        { cycleId, amountMinor: 500 },
        { headers: { 'idempotency-key': key } },
      );

    const first = await send();
    expect(first.status).toBe(201);
    expect(first.data).toMatchObject({ kind: 'refund', cycleId, purchaseId, amountMinor: 500 });
    const second = await send();
    expect(second.status).toBe(201);
    expect(second.data).toEqual(first.data);

    expect((await acceptedUpdateIds(id)).filter((u) => u === `refund:${key}`)).toHaveLength(1);
    const refunds = () =>
      sandbox.payments(purchaseId).filter((p) => (p.payment as { payment_type?: string }).payment_type === 'refund');
    expect(refunds().map((p) => (p.payment as { amount: number }).amount)).toEqual([500]);

    // BillingClient, same key: the same record again. A new key is a new refund.
    const viaClient = await api.billing.refundCycle(id, { cycleId, amountMinor: 500 }, { idempotencyKey: key });
    expect(viaClient).toEqual(first.data);
    const other = await api.billing.refundCycle(id, { cycleId, amountMinor: 300 }, { idempotencyKey: `${key}-2` });
    expect(other.amountMinor).toBe(300);
    expect(refunds().map((p) => (p.payment as { amount: number }).amount)).toEqual([500, 300]);
    expect(await acceptedUpdateIds(id)).toEqual(expect.arrayContaining([`refund:${key}`, `refund:${key}-2`]));
    expect((await acceptedUpdateIds(id)).filter((u) => u.startsWith('refund:'))).toHaveLength(2);
  });

  it('without a key, each request is its own update (the client derives no id)', async () => {
    const { id, cycleId } = await paidCycle();
    const a = await api.authed.post(`/v1/subscriptions/${id}/refunds`, { cycleId, amountMinor: 100 });
    const b = await api.authed.post(`/v1/subscriptions/${id}/refunds`, { cycleId, amountMinor: 100 });
    expect([a.status, b.status]).toEqual([201, 201]);
    const ids = await acceptedUpdateIds(id);
    expect(ids.filter((u) => u.startsWith('refund:'))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('Idempotency-Key on every change (Stripe semantics, kept in Temporal)', () => {
  async function paidCycleOf(): Promise<{ id: string; cycleId: string; purchaseId: string }> {
    const id = uniqueId('idem');
    const today = new Date().toISOString().slice(0, 10);
    const created = await api.authed.post(
      '/v1/subscriptions',
      subscriptionBody(id, { schedule: { intervalUnit: 'month', intervalCount: 1, anchor: today, timeZone: 'UTC' } }),
    );
    expect(created.status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);
    const purchaseId = await eventually(
      async () => {
        const sub = await api.authed.get(`/v1/subscriptions/${id}`);
        const recent = (sub.data as { recentCycles?: { cycleId: string; status: string; purchaseId?: string }[] })
          .recentCycles;
        const c = recent?.find((r) => r.cycleId === cycleId);
        return c?.status === 'paid' ? c.purchaseId : undefined;
      },
      'cycle 0 paid',
      60_000,
    );
    return { id, cycleId, purchaseId };
  }

  it('the same key with a different body answers 409 naming the key, and refunds nothing more (sandbox ledger)', async () => {
    const { id, cycleId, purchaseId } = await paidCycleOf();
    const key = `refund-${randomUUID()}`;
    const refund = (amountMinor: number) =>
      api.authed.post(
        `/v1/subscriptions/${id}/refunds`,
        { cycleId, amountMinor },
        { headers: { 'idempotency-key': key } },
      );
    const first = await refund(400);
    const same = await refund(400);
    const different = await refund(300);
    console.log(
      `refund with one key: ${first.status}, same body ${same.status}, different body ${different.status} ${JSON.stringify(different.data)}`,
    );
    expect([first.status, same.status]).toEqual([201, 201]);
    expect(same.data).toEqual(first.data);
    expect(different.status).toBe(409);
    expect(different.data.message).toContain(JSON.stringify(key));
    expect(different.data.fields).toEqual(['Idempotency-Key']);
    const refunds = sandbox
      .payments(purchaseId)
      .filter((p) => (p.payment as { payment_type?: string }).payment_type === 'refund')
      .map((p) => (p.payment as { amount: number }).amount);
    console.log(`sandbox ledger refunds of ${purchaseId}: ${JSON.stringify(refunds)}`);
    expect(refunds).toEqual([400]);
  });

  it('two identical refunds sent at the same time with one key: one refund, the same answer (or 409 in progress)', async () => {
    const { id, cycleId, purchaseId } = await paidCycleOf();
    const key = `refund-race-${randomUUID()}`;
    const send = () =>
      api.authed.post(
        `/v1/subscriptions/${id}/refunds`,
        { cycleId, amountMinor: 250 },
        { headers: { 'idempotency-key': key } },
      );
    const [a, b] = await Promise.all([send(), send()]);
    console.log(
      `concurrent refunds with one key: ${a.status} ${JSON.stringify(a.data)} / ${b.status} ${JSON.stringify(b.data)}`,
    );
    const statuses = [a.status, b.status].sort();
    expect([JSON.stringify([201, 201]), JSON.stringify([201, 409])]).toContain(JSON.stringify(statuses));
    if (statuses[1] === 201) {
      expect(b.data).toEqual(a.data);
    } else {
      const conflict = a.status === 409 ? a : b;
      expect(conflict.data.message).toContain(JSON.stringify(key));
      expect(conflict.data.message).toContain('still in progress');
    }
    const refunds = sandbox
      .payments(purchaseId)
      .filter((p) => (p.payment as { payment_type?: string }).payment_type === 'refund')
      .map((p) => (p.payment as { amount: number }).amount);
    console.log(`sandbox ledger refunds of ${purchaseId}: ${JSON.stringify(refunds)}`);
    expect(refunds).toEqual([250]);
    // Later, the same key answers the recorded refund; a different body is still "a different request".
    const again = await send();
    expect(again.status).toBe(201);
    expect(again.data).toEqual((a.status === 201 ? a : b).data);
    const different = await api.authed.post(
      `/v1/subscriptions/${id}/refunds`,
      { cycleId, amountMinor: 100 },
      { headers: { 'idempotency-key': key } },
    );
    expect(different.status).toBe(409);
    expect(different.data.message).toContain('different request');
  });

  it('a request whose key is held by a running first request waits for its answer, or answers 409 in progress', async () => {
    const id = uniqueId('idem-held');
    expect((await api.authed.post('/v1/subscriptions', subscriptionBody(id))).status).toBe(201);
    const plan = { planId: 'team', currency: 'EUR', lineItems: [{ name: 'Team', priceMinor: 4999, quantity: 1 }] };
    const changePlan = (key: string) =>
      api.authed.post(`/v1/subscriptions/${id}/plan`, { plan }, { headers: { 'idempotency-key': key } });
    const changePlanUpdates = async () =>
      ((await env.client.workflow.getHandle(subscriptionWorkflowId(id)).fetchHistory()).events ?? []).filter(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'changePlan',
      ).length;
    // The fingerprint of this request, as the client recorded it under a first key.
    const firstKey = `plan-${randomUUID()}`;
    const first = await changePlan(firstKey);
    expect(first.status).toBe(200);
    const { requestHash } = await env.client.workflow
      .getHandle(idempotencyKeyWorkflowId('default', firstKey))
      .query(idempotencyRecordQuery);
    /** A key whose first request (the test) is in progress: it holds the key's claim and has not answered. */
    const heldKey = async () => {
      const key = `plan-held-${randomUUID()}`;
      const handle = await env.client.workflow.start(IDEMPOTENCY_KEY_WORKFLOW_TYPE, {
        workflowId: idempotencyKeyWorkflowId('default', key),
        taskQueue: stack.taskQueue,
        args: [{ merchantId: 'default', key, operation: 'changePlan', requestHash }],
      });
      const claim = await handle.executeUpdate(claimIdempotencyKeyUpdate, {
        args: [{ claimId: `test-${key}`, requestHash, leaseMs: 120_000 }],
      });
      expect(claim.outcome).toBe('granted');
      return { key, handle };
    };

    // Nobody answers this one: after waiting for it, 409 naming the key, "still in progress".
    const silent = await heldKey();
    const inProgress = changePlan(silent.key);

    // This one's first request answers while the duplicate waits: the duplicate gets that answer and runs nothing.
    const answered = await heldKey();
    const duplicate = changePlan(answered.key);
    await eventually(async () => {
      const history = await answered.handle.fetchHistory();
      const claims = (history.events ?? []).filter(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'claimIdempotencyKey',
      );
      return claims.length === 2; // the test's own, then the duplicate's (waiting in the workflow)
    }, 'the duplicate is waiting on the key');
    const recorded = { ok: true as const, value: { ...first.data, note: 'the answer of the first request' } };
    await answered.handle.executeUpdate(recordIdempotentAnswerUpdate, { args: [recorded] });
    const dup = await duplicate;
    console.log(`duplicate behind an answering first request: ${dup.status} ${JSON.stringify(dup.data).slice(0, 80)}…`);
    expect(dup.status).toBe(200);
    expect(dup.data).toEqual(recorded.value);

    const busy = await inProgress;
    console.log(`duplicate behind a silent first request: ${busy.status} ${JSON.stringify(busy.data)}`);
    expect(busy.status).toBe(409);
    expect(busy.data.fields).toEqual(['Idempotency-Key']);
    expect(busy.data.message).toContain(JSON.stringify(silent.key));
    expect(busy.data.message).toContain('still in progress');
    // Neither duplicate changed the plan: only the first request's update is in history.
    expect(await changePlanUpdates()).toBe(1);
  }, 90_000);

  it('replays the first answer of a create and a cancel; a new API process (new client) still knows the key', async () => {
    const id = uniqueId('idem-create');
    const key = `create-${randomUUID()}`;
    const headers = { 'idempotency-key': key };
    const first = await api.authed.post('/v1/subscriptions', subscriptionBody(id), { headers });
    const again = await api.authed.post('/v1/subscriptions', subscriptionBody(id), { headers });
    expect([first.status, again.status]).toEqual([201, 201]); // without the key the repeat answers 200
    expect(again.data).toEqual(first.data);
    const otherBody = await api.authed.post('/v1/subscriptions', subscriptionBody(uniqueId('idem-other')), { headers });
    expect(otherBody.status).toBe(409);

    const cancelKey = `cancel-${randomUUID()}`;
    const cancel = () =>
      api.authed.post(`/v1/subscriptions/${id}/cancel`, { mode: 'now' }, { headers: { 'idempotency-key': cancelKey } });
    const canceled = await cancel();
    expect(canceled.status).toBe(200);
    // The record is in Temporal, not in this process: a fresh BillingClient over a new connection replays it.
    const fresh = await BillingClient.connect({
      connection: { address: env.address },
      taskQueue: stack.taskQueue,
      dataConverter: testDataConverter,
    });
    try {
      const replayed = await fresh.cancelSubscription(id, { mode: 'now' }, { idempotencyKey: cancelKey });
      expect(replayed).toEqual(canceled.data);
      const conflict = await fresh
        .cancelSubscription(id, { mode: 'period_end' }, { idempotencyKey: cancelKey })
        .catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(BillingConflictError);
    } finally {
      await fresh.close();
    }
    const record = await env.client.workflow.getHandle(`idempotency:default:${cancelKey}`).describe();
    console.log(`key record ${record.workflowId}: ${record.type} ${record.status.name}`);
    expect(record.status.name).toBe('RUNNING');
  });
});

describe('recurring tokens never leave in full', () => {
  it('cycle views (API and CLI) show each attempt’s token masked', async () => {
    const id = uniqueId('mask');
    const token = `tok_soft3_${id}`;
    const today = new Date().toISOString().slice(0, 10);
    const created = await api.authed.post('/v1/subscriptions', {
      ...subscriptionBody(id, {
        schedule: { intervalUnit: 'month', intervalCount: 1, anchor: today, timeZone: 'UTC' },
      }),
      recurringToken: token,
    });
    expect(created.status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);
    // A soft decline: the cycle stays open (retry_scheduled) with one attempt in its state.
    const cycle = await eventually(
      async () => {
        const r = await api.authed.get(`/v1/cycles/${cycleId}`);
        return r.status === 200 && r.data.status === 'retry_scheduled' ? r : undefined;
      },
      'the first attempt soft-declined',
      60_000,
    );
    const list = await api.authed.get(`/v1/subscriptions/${id}/cycles`);
    const out: string[] = [];
    await buildCli({
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      connect: async () => new BillingOperator({ client: env.client, taskQueue: stack.taskQueue }),
      setExitCode: () => undefined,
    }).parseAsync(['--json', 'cycles', id], { from: 'user' });
    const attempts = (cycle.data as { state?: { attempts: { token: string }[] } }).state?.attempts ?? [];
    console.log(`cycle ${cycleId} attempts as shown: ${JSON.stringify(attempts.map((a) => a.token))}`);
    expect(attempts.map((a) => a.token)).toEqual([`…${token.slice(-4)}`]);
    for (const shown of [JSON.stringify(cycle.data), JSON.stringify(list.data), out.join('\n')]) {
      expect(shown).not.toContain(token);
    }
    expect(out.join('\n')).toContain(`…${token.slice(-4)}`);
  });
});

describe('who made each change: the key id is recorded with the change (issue 11)', () => {
  /** Each accepted update of a workflow: its name and its decoded first argument (payloads are encrypted). */
  async function acceptedUpdates(workflowId: string): Promise<{ name: string; updateId: string; arg: unknown }[]> {
    const history = JSON.parse(
      await decodedHistoryText(await env.client.workflow.getHandle(workflowId).fetchHistory()),
    ) as {
      events: {
        workflowExecutionUpdateAcceptedEventAttributes?: {
          acceptedRequest: {
            meta: { updateId: string };
            input: { name: string; args?: { payloads?: { data: string }[] } };
          };
        };
      }[];
    };
    return history.events.flatMap((e) => {
      const req = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
      if (!req) return [];
      const data = req.input.args?.payloads?.[0]?.data;
      return [
        { name: req.input.name, updateId: req.meta.updateId, arg: data ? (JSON.parse(data) as unknown) : undefined },
      ];
    });
  }

  it("a JSON-configured key's id is in the subscription's trail, the update arguments in history, and the CLI", async () => {
    const id = uniqueId('audit');
    const created = await audited.post('/v1/subscriptions', subscriptionBody(id));
    expect(created.status).toBe(201);
    expect((await audited.post(`/v1/subscriptions/${id}/pause`)).status).toBe(200);
    expect((await audited.post(`/v1/subscriptions/${id}/resume`)).status).toBe(200);
    // The plain key of a one-merchant deployment is recorded by its derived id, never the key.
    const canceled = await api.authed.post(`/v1/subscriptions/${id}/cancel`, { mode: 'period_end' });
    expect(canceled.status).toBe(200);

    const view = await audited.get(`/v1/subscriptions/${id}`);
    const changes = (view.data as { changes?: ChangeRecord[] }).changes ?? [];
    console.log(`change trail of ${id}: ${JSON.stringify(changes)}`);
    expect(changes.map((c) => [c.kind, c.keyId, c.merchantId])).toEqual([
      ['create', AUDITED_KEY_ID, 'default'],
      ['pause', AUDITED_KEY_ID, 'default'],
      ['resume', AUDITED_KEY_ID, 'default'],
      ['cancel', 'key-1', 'default'],
    ]);
    for (const c of changes) expect(Number.isNaN(Date.parse(c.at))).toBe(false);

    const updates = await acceptedUpdates(subscriptionWorkflowId(id));
    console.log(`accepted updates: ${JSON.stringify(updates)}`);
    expect(updates.map((u) => [u.name, u.arg])).toEqual([
      ['pause', { actor: { keyId: AUDITED_KEY_ID, merchantId: 'default' } }],
      ['resume', { actor: { keyId: AUDITED_KEY_ID, merchantId: 'default' } }],
      ['cancelSubscription', { mode: 'period_end', actor: { keyId: 'key-1', merchantId: 'default' } }],
    ]);
    // Each trail entry of an update names that update's id.
    expect(changes.slice(1).map((c) => c.updateId)).toEqual(updates.map((u) => u.updateId));
    const history = await decodedHistoryText(
      await env.client.workflow.getHandle(subscriptionWorkflowId(id)).fetchHistory(),
    );
    const started = (
      JSON.parse(history) as {
        events: { workflowExecutionStartedEventAttributes?: { input: { payloads: { data: string }[] } } }[];
      }
    ).events[0]?.workflowExecutionStartedEventAttributes?.input.payloads[0]?.data;
    expect((JSON.parse(started ?? '{}') as { createdBy?: unknown }).createdBy).toEqual({
      keyId: AUDITED_KEY_ID,
      merchantId: 'default',
    });
    expect(history).not.toContain(AUDITED_KEY);
    expect(history).not.toContain(apiKeyHash(AUDITED_KEY));

    const out: string[] = [];
    await buildCli({
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      connect: async () => new BillingOperator({ client: env.client, taskQueue: stack.taskQueue, keyId: 'cli' }),
      setExitCode: () => undefined,
    }).parseAsync(['--json', 'get', id], { from: 'user' });
    const shown = JSON.parse(out.join('\n')) as { changes?: ChangeRecord[] };
    expect(shown.changes?.map((c) => c.keyId)).toEqual([AUDITED_KEY_ID, AUDITED_KEY_ID, AUDITED_KEY_ID, 'key-1']);
  });

  it("an operator's mark-paid is in the cycle's trail, also once the cycle has finished", async () => {
    const id = uniqueId('audit-cycle');
    const today = new Date().toISOString().slice(0, 10);
    const created = await audited.post('/v1/subscriptions', {
      ...subscriptionBody(id, {
        schedule: { intervalUnit: 'month', intervalCount: 1, anchor: today, timeZone: 'UTC' },
      }),
      recurringToken: `tok_soft3_${id}`,
    });
    expect(created.status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);
    await eventually(
      async () => (await audited.get(`/v1/cycles/${cycleId}`)).data?.status === 'retry_scheduled',
      'the first attempt soft-declined',
      60_000,
    );
    const marked = await audited.post(`/v1/cycles/${cycleId}/mark-paid`, { note: 'paid by bank transfer' });
    expect(marked.status).toBe(200);
    const finished = await eventually(
      async () => {
        const r = await audited.get(`/v1/cycles/${cycleId}`);
        const body = r.data as { result?: { status: string; changes?: ChangeRecord[] } };
        return body.result ? { result: body.result } : undefined;
      },
      'the marked-paid cycle finished',
      60_000,
    );
    console.log(`cycle ${cycleId} result: ${JSON.stringify(finished.result)}`);
    expect(finished.result.status).toBe('marked_paid');
    expect(finished.result.changes?.map((c) => [c.kind, c.keyId, c.merchantId])).toEqual([
      ['mark_paid', AUDITED_KEY_ID, 'default'],
    ]);
    const updates = await acceptedUpdates(cycleId);
    expect(updates.map((u) => [u.name, u.arg])).toEqual([
      ['markPaid', { note: 'paid by bank transfer', actor: { keyId: AUDITED_KEY_ID, merchantId: 'default' } }],
    ]);
  });
});

/**
 * End to end in real time: the merchant API over HTTP, a real billing worker on the shared dev server, and the QorePay
 * sandbox whose signed webhooks go to the API's own POST /webhooks/qorepay (verified, re-read, routed, signaled).
 * Subscriptions are daily and anchored at the current UTC minute, so period 0 is due at once and period 1 is a day
 * away: each test sees exactly one cycle.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { QorePaySandbox } from '../../src/sandbox/qorepay';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import { eventually, startApiStack, subscriptionBody, type ApiStack, type RunningTestApi } from '../support/api-stack';
import { connectToDevServer, uniqueId } from '../support/temporal';

const SANDBOX_KEY = 'sandbox-key-for-subscriptions-e2e';
const WAIT_MS = 60_000;

let env: TestWorkflowEnvironment;
let stack: ApiStack;
let sandbox: QorePaySandbox;
let api: RunningTestApi;

beforeAll(async () => {
  env = await connectToDevServer();
  stack = await startApiStack(env, {
    taskQueue: uniqueId('subs-e2e'),
    sandboxKey: SANDBOX_KEY,
    webhookRetryDelaysMs: [0, 200, 1000, 3000],
    pendingResolveDelayMs: 1000,
  });
  ({ sandbox, api } = stack);
});

afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

const subId = () => uniqueId('e2e').replace(/[^A-Za-z0-9_-]/g, '');
const tok = (scenario: string) => `tok_${scenario}_${uniqueId('t')}`;

/** Create body of a daily subscription due now (anchor = the current UTC minute). */
function dailyBody(id: string, recurringToken: string): Record<string, unknown> {
  const anchor = new Date().toISOString().slice(0, 16);
  return subscriptionBody(id, {
    recurringToken,
    schedule: { intervalUnit: 'day', intervalCount: 1, anchor, timeZone: 'UTC' },
  });
}

async function cycles(id: string): Promise<{ cycleId: string; status: string }[]> {
  const res = await api.authed.get(`/v1/subscriptions/${id}/cycles`);
  expect(res.status).toBe(200);
  return res.data.cycles ?? [];
}

async function waitForCycleStatus(id: string, status: string, what: string) {
  return eventually(
    async () => {
      const list = await cycles(id);
      return list.length > 0 && list[0]!.status === status ? list : undefined;
    },
    what,
    WAIT_MS,
  );
}

async function waitForSubscriptionStatus(id: string, status: string) {
  return eventually(
    async () => {
      const res = await api.authed.get(`/v1/subscriptions/${id}`);
      return res.status === 200 && res.data.status === status ? res.data : undefined;
    },
    `subscription ${id} ${status}`,
    WAIT_MS,
  );
}

async function signalNames(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.workflowExecutionSignaledEventAttributes?.signalName
      ? [e.workflowExecutionSignaledEventAttributes.signalName]
      : [],
  );
}

describe('subscriptions end to end (API, worker, sandbox webhooks)', () => {
  it('creates a subscription over HTTP; a pending charge is paid through a sandbox webhook routed by the API', async () => {
    const id = subId();
    const created = await api.authed.post('/v1/subscriptions', dailyBody(id, tok('pending_paid')));
    expect(created.status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);

    await eventually(
      async () => (await cycles(id)).some((c) => c.status === 'pending'),
      'cycle 0 pending at the acquirer',
      WAIT_MS,
    );
    const listed = await waitForCycleStatus(id, 'paid', 'cycle 0 paid by webhook');
    expect(listed.map((c) => c.cycleId)).toEqual([cycleId]);

    // The ingress, not polling, concluded the charge: the cycle got gatewayEvent signals and never re-read the Purchase.
    expect(await signalNames(cycleId)).toContain('gatewayEvent');
    const history = await env.client.workflow.getHandle(cycleId).fetchHistory();
    const activities = (history.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name
        ? [e.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
    expect(activities).not.toContain('getPurchase');
    expect(sandbox.deliveries().some((d) => d.url.startsWith(api.url))).toBe(true);
    expect(sandbox.successfulCharges(cycleId)).toHaveLength(1);

    const sub = await waitForSubscriptionStatus(id, 'active');
    expect(sub.nextPeriodIndex).toBe(1);
    const cycle = await api.authed.get(`/v1/cycles/${cycleId}`);
    expect(cycle.data).toMatchObject({ cycleId, status: 'paid', periodIndex: 0 });
  });

  it('a new token sent to POST /payment-method recovers an action_required cycle', async () => {
    const id = subId();
    // Real time: no 4 h spacing between the decline and the new card.
    const body = { ...dailyBody(id, tok('hard_stolen_card')), dunning: { minHoursBetweenAttempts: 0 } };
    expect((await api.authed.post('/v1/subscriptions', body)).status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);
    await waitForCycleStatus(id, 'action_required', 'cycle 0 action_required');
    await waitForSubscriptionStatus(id, 'past_due');

    const fresh = tok('success');
    const updated = await api.authed.post(`/v1/subscriptions/${id}/payment-method`, { recurringToken: fresh });
    expect(updated.status).toBe(200);
    expect(updated.data.paymentMethod).toBe(`…${fresh.slice(-4)}`);

    await waitForCycleStatus(id, 'paid', 'cycle 0 paid with the new token');
    await waitForSubscriptionStatus(id, 'active');
    expect(sandbox.ledger(cycleId).map((l) => [l.outcome, l.token === fresh])).toEqual([
      ['declined', false],
      ['success', true],
    ]);
    expect(JSON.stringify(updated.data)).not.toContain(fresh);
  });

  it('cancel at period end over HTTP: the paid cycle stays paid and nothing more is billed now', async () => {
    const id = subId();
    expect((await api.authed.post('/v1/subscriptions', dailyBody(id, tok('success')))).status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);
    await waitForCycleStatus(id, 'paid', 'cycle 0 paid');

    const res = await api.authed.post(`/v1/subscriptions/${id}/cancel`, { mode: 'period_end', reason: 'moving on' });
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({ status: 'active', cancelAtPeriodEnd: true, cancelReason: 'moving on' });

    const again = await api.authed.get(`/v1/subscriptions/${id}`);
    expect(again.data).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect((await cycles(id)).map((c) => [c.cycleId, c.status])).toEqual([[cycleId, 'paid']]);
    expect(sandbox.successfulCharges(cycleId)).toHaveLength(1);

    // The end of the period is a day away in real time: cancel now to leave nothing running.
    const now = await api.authed.post(`/v1/subscriptions/${id}/cancel`, { mode: 'now' });
    expect(now.status).toBe(200);
    expect(now.data.status).toBe('canceled');
    expect(sandbox.successfulCharges(cycleId)).toHaveLength(1);
  });
});

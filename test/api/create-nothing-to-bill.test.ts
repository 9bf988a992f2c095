/**
 * A subscription whose periods would all be behind it at creation (a past anchor, and `maxPeriods` that ended before
 * now) is refused with a 400 naming the fields (issue 20, 14): it used to answer 201 `active`, complete at once and
 * never bill. Over real HTTP, with a real worker on the shared dev server.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { connectToDevServer, uniqueId } from '../support/temporal';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import { eventually, startApiStack, subscriptionBody, type ApiStack } from '../support/api-stack';

const DAY = 24 * 3600_000;
let env: TestWorkflowEnvironment;
let stack: ApiStack;

beforeAll(async () => {
  env = await connectToDevServer();
  stack = await startApiStack(env, {
    taskQueue: uniqueId('nothing-to-bill'),
    sandboxKey: 'sandbox-key-nothing-to-bill',
    webhookRetryDelaysMs: [0],
    pendingResolveDelayMs: 300,
  });
});

afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

/** A daily schedule anchored `days` ago (UTC, this minute). */
const dailyFrom = (days: number) => ({
  intervalUnit: 'day',
  intervalCount: 1,
  anchor: new Date(Date.now() - days * DAY).toISOString().slice(0, 16),
  timeZone: 'UTC',
});

it('answers 400 naming schedule.anchor and maxPeriods when every period ended before now, and stores nothing', async () => {
  const id = uniqueId('behind');
  // Periods 0..9 ended before now; period 10 (the one containing now) is past maxPeriods.
  const res = await stack.api.authed.post(
    '/v1/subscriptions',
    subscriptionBody(id, { schedule: dailyFrom(10), maxPeriods: 10 }),
  );
  expect(res.status).toBe(400);
  const issues = res.data.issues ?? [];
  expect(issues.map((i) => i.path)).toEqual(['schedule.anchor', 'maxPeriods']);
  expect(issues[0]?.message).toMatch(/all 10 period\(s\) .* ended before now/);
  expect((await stack.api.authed.get(`/v1/subscriptions/${id}`)).status).toBe(404);
});

it('creates one whose current period is still within maxPeriods, and bills that period', async () => {
  const id = uniqueId('current');
  const body = subscriptionBody(id, { schedule: dailyFrom(10), maxPeriods: 11 });
  const res = await stack.api.authed.post('/v1/subscriptions', body);
  expect(res.status).toBe(201);
  expect(res.data.status).toBe('active');
  // Period 10 (the one containing now) is billed, and it is the last.
  await eventually(
    async () => stack.sandbox.successfulCharges(cycleWorkflowId(id, 10)).length === 1,
    'period 10 charged',
  );
  // The same terms again (an idempotent repeat) answer the existing subscription.
  const again = await stack.api.authed.post('/v1/subscriptions', body);
  expect(again.status).toBe(200);
});

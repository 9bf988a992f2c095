/**
 * The Temporal UI in billing words: a cycle started by a subscription carries a static summary and details (which
 * subscription, period, amount), current details (status, attempts, next attempt), and its activities and timers
 * carry summaries ("charge attempt 1 with card …", "next retry at …"). Read back the way the UI reads them.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually, startApiStack, subscriptionBody, type ApiStack } from '../support/api-stack';
import { startScriptedServer, type ScriptedServer } from '../support/http';
import { connectToDevServer, testDataConverter, uniqueId } from '../support/temporal';

let env: TestWorkflowEnvironment;
let stack: ApiStack;
let merchant: ScriptedServer;

beforeAll(async () => {
  env = await connectToDevServer();
  // The merchant's webhook endpoint: with one configured, the worker delivers notifications and cycles schedule them.
  merchant = await startScriptedServer();
  stack = await startApiStack(env, {
    merchantWebhook: { url: `${merchant.origin}/hooks/billing`, secret: 'whsec_ui_metadata_test_1' },
    taskQueue: uniqueId('ui'),
    sandboxKey: 'ui-metadata-secret-key',
    webhookRetryDelaysMs: [0, 200],
    pendingResolveDelayMs: 1000,
  });
});
afterAll(async () => {
  await stack?.stop();
  await merchant?.close();
  await env?.teardown();
});

/** User metadata is encrypted like every payload (the UI shows it through the codec endpoint): decode, then read. */
const text = async (p: temporal.api.common.v1.IPayload | null | undefined): Promise<string | undefined> => {
  if (!p) return undefined;
  const [decoded] = await testDataConverter.payloadCodecs![0]!.decode([p]);
  return defaultPayloadConverter.fromPayload<string>(decoded!);
};

it('a cycle in dunning says which subscription, period, amount, attempt and next retry', async () => {
  const subscriptionId = uniqueId('ui').replace(/[^A-Za-z0-9_-]/g, '');
  const anchor = new Date().toISOString().slice(0, 16);
  const created = await stack.api.authed.post(
    '/v1/subscriptions',
    subscriptionBody(subscriptionId, {
      recurringToken: `tok_soft3_${subscriptionId}9876`,
      plan: { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro plan', priceMinor: 1999, quantity: 1 }] },
      schedule: { intervalUnit: 'month', intervalCount: 1, anchor, timeZone: 'UTC' },
    }),
  );
  expect(created.status).toBe(201);

  const sub = env.client.workflow.getHandle(`subscription:${subscriptionId}`);
  expect(await (await sub.describe()).staticSummary()).toBe(
    `Subscription ${subscriptionId} of cust-${subscriptionId}: plan pro, 19.99 EUR every 1 month`,
  );

  const cycle = env.client.workflow.getHandle(`cycle:${subscriptionId}:0`);
  await eventually(async () => {
    const meta = await cycle.query<temporal.api.sdk.v1.IWorkflowMetadata>('__temporal_workflow_metadata');
    return meta.currentDetails?.startsWith('**retry_scheduled**');
  }, 'the cycle to schedule a retry');

  const d = await cycle.describe();
  expect(await d.staticSummary()).toMatch(
    new RegExp(`^Bill ${subscriptionId} period 0 \\(\\d{4}-\\d\\d-\\d\\d → \\d{4}-\\d\\d-\\d\\d\\): 19\\.99 EUR$`),
  );
  const details = await d.staticDetails();
  expect(details).toContain(`**Subscription** ${subscriptionId}`);
  expect(details).toContain('**card** …9876');
  expect(details).not.toContain('tok_soft3'); // masked

  const meta = await cycle.query<temporal.api.sdk.v1.IWorkflowMetadata>('__temporal_workflow_metadata');
  expect(meta.currentDetails).toContain('19.99 EUR');
  expect(meta.currentDetails).toContain('1 charge attempt with card …9876 · last decline: insufficient_funds');
  expect(meta.currentDetails).toMatch(/next attempt at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);

  const events = (await cycle.fetchHistory()).events ?? [];
  const activitySummaries = await Promise.all(
    events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => text(e.userMetadata?.summary)),
  );
  // The books' writes (the test stack has a records store) sit between the gateway calls; their order is theirs.
  const gatewayCalls = activitySummaries.filter((s) => !s?.startsWith('write the books'));
  expect(gatewayCalls.slice(0, 2)).toEqual([
    'create the Purchase of period 0: 19.99 EUR',
    'charge attempt 1 with card …9876',
  ]);
  expect(activitySummaries).toContain('write the books: cycle');
  expect(activitySummaries).toContain('notify the merchant: cycle.payment_failed');
  await eventually(
    async () =>
      merchant.received.some((r) => r.json?.type === 'cycle.payment_failed' && r.json?.cycleId === cycle.workflowId),
    'the merchant endpoint to receive cycle.payment_failed',
  );
  expect(activitySummaries).not.toContain(undefined);
  const timerSummaries = await Promise.all(
    events.filter((e) => e.timerStartedEventAttributes).map((e) => text(e.userMetadata?.summary)),
  );
  expect(timerSummaries[timerSummaries.length - 1]).toMatch(/^next retry at \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
});

/**
 * Merchant webhooks as deployed: a subscription started the way the API starts it (no `merchantNotifications`), so
 * the workers decide from their own config and tell the cycle with their gateway answers. Two workers built from
 * config like `npm run worker` (`buildActivityDeps`): one with a webhook URL, whose merchant endpoint (a real HTTP
 * server that verifies the signature) must receive `cycle.paid`; one without, whose cycles schedule no `notifyMerchant`
 * and record nothing in its place.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { verifyMerchantWebhook } from '../../src/integrations/merchant-webhooks';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import { subscriptionWorkflowId, type SubscriptionInput } from '../../src/shared/subscription';
import { buildActivityDeps } from '../../src/worker';
import { subscriptionWorkflow } from '../../src/workflows';
import { maybeRecordHistory, startBillingStack, type BillingStack } from '../support/billing-stack';
import { startScriptedServer, type ScriptedServer } from '../support/http';
import { bundleWorkflows, createTimeSkippingEnv, uniqueId } from '../support/temporal';
import { eventually } from '../support/wait';

jest.setTimeout(180_000);

const MINUTE = 60_000;
const SECRET = 'whsec_test_merchant_notifications_1';
const logger = pino({ level: 'silent' });

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let merchant: ScriptedServer;
let configured: BillingStack;
let unconfigured: BillingStack;

beforeAll(async () => {
  [env, bundle, merchant] = await Promise.all([
    createTimeSkippingEnv(),
    bundleWorkflows(require.resolve('../../src/workflows')),
    startScriptedServer(),
  ]);
  const withWebhook = buildActivityDeps(
    loadConfig({ MERCHANT_WEBHOOK_URL: `${merchant.origin}/hooks/billing`, MERCHANT_WEBHOOK_SECRET: SECRET }),
    logger,
  );
  const withoutWebhook = buildActivityDeps(loadConfig({}), logger);
  expect(withWebhook.notifier).toBeDefined();
  expect(withoutWebhook.notifier).toBeUndefined();
  configured = await startBillingStack(env, {
    workflowBundle: bundle,
    taskQueue: uniqueId('webhooks-on'),
    notifier: withWebhook.notifier!,
  });
  unconfigured = await startBillingStack(env, {
    workflowBundle: bundle,
    taskQueue: uniqueId('webhooks-off'),
    notifier: null,
  });
});
afterAll(async () => {
  await configured?.stop();
  await unconfigured?.stop();
  await merchant?.close();
  await env?.teardown();
});

/** A daily subscription due at once, started like the API starts one: nothing said about merchant webhooks. */
async function subscribe(stack: BillingStack) {
  const now = await env.currentTimeMs();
  const t0 = Math.floor(now / MINUTE) * MINUTE - MINUTE;
  const id = uniqueId('sub').replace(/[^A-Za-z0-9_-]/g, '');
  const input: SubscriptionInput = {
    subscriptionId: id,
    customerId: `cust-${id}`,
    customerEmail: 'buyer@example.com',
    recurringToken: `tok_success_${uniqueId('t')}`,
    plan: { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro plan', priceMinor: 1999, quantity: 1 }] },
    schedule: {
      intervalUnit: 'day',
      intervalCount: 1,
      anchor: new Date(t0).toISOString().slice(0, 16),
      timeZone: 'UTC',
    },
    maxPeriods: 1,
  };
  expect(input).not.toHaveProperty('merchantNotifications');
  const handle = await env.client.workflow.start(subscriptionWorkflow, {
    workflowId: subscriptionWorkflowId(id),
    taskQueue: stack.taskQueue,
    args: [input],
  });
  const result = await handle.result();
  expect(result.recentCycles.map((c) => c.status)).toEqual(['paid']);
  const cycle = env.client.workflow.getHandle(cycleWorkflowId(id, 0));
  const events = (await cycle.fetchHistory()).events ?? [];
  return {
    id,
    cycle,
    scheduled: events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((n): n is string => !!n),
    // Markers the cycle records itself; `core_patch` markers are the SDK's versioning (`patched()`), not a notification.
    markers: events
      .map((e) => e.markerRecordedEventAttributes?.markerName)
      .filter((n): n is string => !!n && n !== 'core_patch'),
  };
}

describe('merchant notifications decided by the worker that has the configuration', () => {
  it('a worker with MERCHANT_WEBHOOK_URL delivers the signed cycle.paid to the merchant', async () => {
    const { id, cycle, scheduled, markers } = await subscribe(configured);
    const cycleId = cycleWorkflowId(id, 0);
    expect(configured.sandbox.successfulCharges(cycleId)).toHaveLength(1);

    const delivered = await eventually(
      () => merchant.received.find((r) => r.json?.cycleId === cycleId && r.json?.type === 'cycle.paid'),
      'cycle.paid delivered to the merchant endpoint',
    );
    expect(delivered.url).toBe('/hooks/billing');
    const header = delivered.headers['billing-signature'];
    expect(
      verifyMerchantWebhook({
        rawBody: delivered.raw,
        header: Array.isArray(header) ? header[0] : header,
        secrets: [SECRET],
      }),
    ).toMatchObject({ ok: true });
    expect(delivered.json).toMatchObject({ subscriptionId: id, data: { periodIndex: 0, amountMinor: 1999 } });

    expect(markers).toEqual([]);
    expect(scheduled).toEqual(['createPurchase', 'chargePurchase', 'notifyMerchant']);
    await maybeRecordHistory(cycle, 'cycle-paid-webhooks-configured');
  });

  it('a worker without MERCHANT_WEBHOOK_URL: the cycle schedules no notifyMerchant and records nothing instead', async () => {
    const { id, cycle, scheduled, markers } = await subscribe(unconfigured);
    expect(unconfigured.sandbox.successfulCharges(cycleWorkflowId(id, 0))).toHaveLength(1);
    expect(markers).toEqual([]);
    expect(scheduled).toEqual(['createPurchase', 'chargePurchase']);
    await maybeRecordHistory(cycle, 'cycle-paid-webhooks-not-configured');
  });
});

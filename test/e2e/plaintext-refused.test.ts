/**
 * Encryption nobody can forget, on a real server with a real billing worker: a subscription started in clear (by a
 * Temporal client without the codec, as a merchant's forgotten `dataConverter` used to) is refused by the worker and
 * never bills; and a create whose first read fails is not answered `created`.
 */
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { BillingClient, BillingUnavailableError, type CreateSubscriptionInput } from '@temporal-billing/client';
import { connectToDevServer, uniqueId } from '../support/temporal';
import { startApiStack, type ApiStack } from '../support/api-stack';

let env: TestWorkflowEnvironment;
let stack: ApiStack;

beforeAll(async () => {
  env = await connectToDevServer();
  stack = await startApiStack(env, {
    taskQueue: uniqueId('plain-tq'),
    sandboxKey: 'sandbox-key-plaintext-test',
    webhookRetryDelaysMs: [0],
    pendingResolveDelayMs: 100,
  });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

function terms(subscriptionId: string): CreateSubscriptionInput {
  return {
    subscriptionId,
    customerId: 'c_plain',
    customerEmail: 'plain@example.com',
    recurringToken: 'tok_success_plain_0001',
    plan: { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro', priceMinor: 1999, quantity: 1 }] },
    schedule: { intervalUnit: 'month', intervalCount: 1, anchor: '2030-01-31T09:00', timeZone: 'Europe/Oslo' },
  };
}

it('the worker refuses a subscription whose input is in clear: its workflow task fails and nothing is charged', async () => {
  const subscriptionId = uniqueId('plain');
  // No dataConverter: the e-mail and token go to Temporal as json/plain.
  const inClear = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
  const handle = await inClear.workflow.start('subscriptionWorkflow', {
    workflowId: `subscription:${subscriptionId}`,
    taskQueue: stack.taskQueue,
    args: [{ ...terms(subscriptionId), createdBy: { keyId: 'library', merchantId: 'default' } }],
  });
  let failure = '';
  const deadline = Date.now() + 30_000;
  while (!failure && Date.now() < deadline) {
    const history = await handle.fetchHistory();
    const failed = history.events?.find((e) => e.workflowTaskFailedEventAttributes);
    failure = failed?.workflowTaskFailedEventAttributes?.failure?.message ?? '';
    const scheduled = history.events?.filter((e) => e.activityTaskScheduledEventAttributes) ?? [];
    expect(scheduled).toEqual([]); // never a charge
    if (!failure) await new Promise((r) => setTimeout(r, 250));
  }
  await handle.terminate('test over');
  console.log(`the worker's workflow task failure: ${failure}`);
  expect(failure).toMatch(/not encrypted/);
});

it('a create whose first read fails (no worker on the queue) is an error, not `created: true`', async () => {
  const billing = new BillingClient({ client: env.client, taskQueue: uniqueId('no-worker'), firstQueryTimeoutMs: 500 });
  const subscriptionId = uniqueId('unread');
  const err: unknown = await billing.createSubscription(terms(subscriptionId)).catch((e: unknown) => e);
  await env.client.workflow.getHandle(`subscription:${subscriptionId}`).terminate('test over');
  expect(err).toBeInstanceOf(BillingUnavailableError);
  expect((err as Error).message).toMatch(/first read/);
});

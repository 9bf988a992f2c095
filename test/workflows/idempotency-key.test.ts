/**
 * The record of an Idempotency-Key on the time-skipping server: it answers the first answer for 24 hours (a later
 * answer does not replace it), then completes with the record as its result, which stays readable. Claims: one
 * request at a time runs the change; a concurrent one waits for its answer or is told "in progress"; a claim whose
 * holder never answers lapses after its lease, and a later request runs.
 */
import { WorkflowUpdateStage } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  CLAIM_LEASE_MS,
  CLAIM_WAIT_MS,
  claimIdempotencyKeyUpdate,
  idempotencyKeyWorkflowId,
  idempotencyRecordQuery,
  recordIdempotentAnswerUpdate,
  type IdempotencyRecord,
} from '../../src/shared/idempotency';
import { BillingClient, BillingConflictError } from '@temporal-billing/client';
import { idempotencyKeyWorkflow } from '../../src/workflows';
import { bundleWorkflows, createTimeSkippingEnv, testDataConverter, uniqueId } from '../support/temporal';

const HOUR = 3600_000;
let env: TestWorkflowEnvironment;
let workflowBundle: Awaited<ReturnType<typeof bundleWorkflows>>;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  workflowBundle = await bundleWorkflows(require.resolve('../../src/workflows'));
});
afterAll(async () => {
  await env?.teardown();
});

it('keeps the first answer for 24 h, then completes with the record', async () => {
  const taskQueue = uniqueId('idem');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    dataConverter: testDataConverter,
  });
  await worker.runUntil(async () => {
    const input = { merchantId: 'm1', key: 'k-1', operation: 'refundCycle', requestHash: 'ab'.repeat(32) };
    const handle = await env.client.workflow.start(idempotencyKeyWorkflow, {
      workflowId: idempotencyKeyWorkflowId(input.merchantId, input.key),
      taskQueue,
      args: [input],
    });
    const first = { ok: true as const, value: { amountMinor: 500 } };
    await handle.executeUpdate(recordIdempotentAnswerUpdate, { args: [first] });
    const second = await handle.executeUpdate(recordIdempotentAnswerUpdate, {
      args: [{ ok: true, value: { amountMinor: 300 } }],
    });
    expect(second.answer).toEqual(first);

    await env.sleep(23 * HOUR);
    const after23h = await handle.query(idempotencyRecordQuery);
    const described = await handle.describe();
    console.log(`after 23 h: ${described.status.name}, answer ${JSON.stringify(after23h.answer)}`);
    expect(described.status.name).toBe('RUNNING');
    expect(after23h.answer).toEqual(first);

    await env.sleep(2 * HOUR);
    const result: IdempotencyRecord = await handle.result();
    console.log(`after 25 h: ${(await handle.describe()).status.name}, result ${JSON.stringify(result)}`);
    expect(result).toEqual({ ...input, answer: first });
  });
});

it('claims: one holder at a time; a concurrent request waits, then hears "in progress"; a dead holder lapses', async () => {
  const taskQueue = uniqueId('idem-claim');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    dataConverter: testDataConverter,
  });
  await worker.runUntil(async () => {
    const requestHash = 'cd'.repeat(32);
    const input = { merchantId: 'm1', key: uniqueId('k'), operation: 'changePlan', requestHash };
    const handle = await env.client.workflow.start(idempotencyKeyWorkflow, {
      workflowId: idempotencyKeyWorkflowId(input.merchantId, input.key),
      taskQueue,
      args: [input],
    });
    const claim = (claimId: string, hash = requestHash) =>
      handle.executeUpdate(claimIdempotencyKeyUpdate, { args: [{ claimId, requestHash: hash }] });

    // A holds the key and then dies (never answers, never releases).
    const a = await claim('claim-a');
    expect(a.outcome).toBe('granted');
    // B, concurrent: waits in the workflow for A's answer; none comes within the wait, so "in progress".
    const b = await handle.startUpdate(claimIdempotencyKeyUpdate, {
      args: [{ claimId: 'claim-b', requestHash }],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    await env.sleep(CLAIM_WAIT_MS + 1000);
    const bAnswer = await b.result();
    console.log(`B after ${(CLAIM_WAIT_MS + 1000) / 1000} s behind a silent holder: ${JSON.stringify(bAnswer)}`);
    expect(bAnswer).toEqual({ outcome: 'in_progress' });
    // A different request with the key is refused at once, holder or not.
    expect(await claim('claim-x', 'ee'.repeat(32))).toEqual({
      outcome: 'different_request',
      operation: 'changePlan',
    });

    // A's lease (workflow time) runs out: the key is not blocked for its 24 h; C runs.
    await env.sleep(CLAIM_LEASE_MS - CLAIM_WAIT_MS);
    const c = await claim('claim-c');
    console.log(`C after A's lease ran out: ${JSON.stringify(c)}`);
    expect(c.outcome).toBe('granted');

    // D arrives while C runs and waits for C's answer, which it then gets.
    const d = await handle.startUpdate(claimIdempotencyKeyUpdate, {
      args: [{ claimId: 'claim-d', requestHash }],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    const answer = { ok: true as const, value: { planId: 'pro' } };
    await handle.executeUpdate(recordIdempotentAnswerUpdate, { args: [answer] });
    expect(await d.result()).toEqual({ outcome: 'answered', answer });
    // A, back from the dead, gets the recorded answer too: the change is not run again.
    expect(await claim('claim-a')).toEqual({ outcome: 'answered', answer });
    expect((await handle.query(idempotencyRecordQuery)).answer).toEqual(answer);
  });
});

it('a worker from before claims (rolling deploy): the client reads the record as before and keys still work', async () => {
  const taskQueue = uniqueId('idem-old');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await bundleWorkflows(require.resolve('./fixtures/pre-claim-workflows')),
    dataConverter: testDataConverter,
  });
  await worker.runUntil(async () => {
    const billing = new BillingClient({ client: env.client, taskQueue, firstQueryTimeoutMs: 2000 });
    const id = uniqueId('old-worker');
    const terms = {
      subscriptionId: id,
      customerId: `cust-${id}`,
      customerEmail: 'buyer@example.com',
      recurringToken: `tok_success_${id}`,
      plan: { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro', priceMinor: 1999, quantity: 1 }] },
      schedule: { intervalUnit: 'month' as const, intervalCount: 1, anchor: '2030-01-31T09:00', timeZone: 'UTC' },
    };
    const key = uniqueId('create-key');
    const first = await billing.createSubscription(terms, { idempotencyKey: key });
    const again = await billing.createSubscription(terms, { idempotencyKey: key });
    expect(first.created).toBe(true);
    expect(again).toEqual(first); // the recorded answer (a repeat without the key would say created: false)
    const other = await billing
      .createSubscription({ ...terms, subscriptionId: `${id}-b` }, { idempotencyKey: key })
      .catch((e: unknown) => e);
    expect(other).toBeInstanceOf(BillingConflictError);
    expect((other as Error).message).toContain('different request');
  });
});

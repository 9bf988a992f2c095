/**
 * The record of an Idempotency-Key on the time-skipping server: it answers the first answer for 24 hours (a later
 * answer does not replace it), then completes with the record as its result, which stays readable.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  idempotencyKeyWorkflowId,
  idempotencyRecordQuery,
  recordIdempotentAnswerUpdate,
  type IdempotencyRecord,
} from '../../src/shared/idempotency';
import { idempotencyKeyWorkflow } from '../../src/workflows';
import { bundleWorkflows, createTimeSkippingEnv, testDataConverter, uniqueId } from '../support/temporal';

const HOUR = 3600_000;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

it('keeps the first answer for 24 h, then completes with the record', async () => {
  const taskQueue = uniqueId('idem');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await bundleWorkflows(require.resolve('../../src/workflows')),
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

import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  bundleWorkflows,
  connectToDevServer,
  createTimeSkippingEnv,
  testDataConverter,
  uniqueId,
} from '../support/temporal';
import { dailyTickWorkflow, greetingWorkflow } from '../fixtures/harness-workflows';

const workflowsPath = require.resolve('../fixtures/harness-workflows');
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  bundle = await bundleWorkflows(workflowsPath);
});

describe('the shared dev server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectToDevServer();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs a workflow whose activity executes on a real worker, and lists it through visibility', async () => {
    const taskQueue = uniqueId('harness');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: { greet: async (name: string) => `hello, ${name}` },
      dataConverter: testDataConverter,
    });
    const workflowId = uniqueId('greeting');
    const result = await worker.runUntil(
      env.client.workflow.execute(greetingWorkflow, { workflowId, taskQueue, args: ['ops'] }),
    );
    expect(result).toBe('hello, ops');
    const desc = await env.client.workflow.getHandle(workflowId).describe();
    expect(desc.status.name).toBe('COMPLETED');
  });
});

describe('the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('lets 30 simulated days pass in seconds', async () => {
    const taskQueue = uniqueId('ticks');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      dataConverter: testDataConverter,
    });
    const wallStart = Date.now();
    const ticks = await worker.runUntil(
      env.client.workflow.execute(dailyTickWorkflow, { workflowId: uniqueId('ticks'), taskQueue, args: [30] }),
    );
    expect(ticks).toHaveLength(30);
    const day = 24 * 60 * 60 * 1000;
    for (let i = 1; i < ticks.length; i++) {
      // a day apart on the workflow clock, give or take the workflow-task round trip
      expect(ticks[i]! - ticks[i - 1]!).toBeGreaterThanOrEqual(day);
      expect(ticks[i]! - ticks[i - 1]!).toBeLessThan(day + 60_000);
    }
    // Simulated time moved 30 days while the wall clock did not (a sanity check on skipping, not a timing target).
    expect(ticks[ticks.length - 1]! - wallStart).toBeGreaterThanOrEqual(29 * day);
  });
});

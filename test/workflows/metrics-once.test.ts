/**
 * Billing metrics from workflow code are counted once even when a workflow task is run twice: the first task records
 * its values and fails, the server retries it, and the second task records the same values again as new (what the
 * SDK's own workflow meter would send twice). The worker's sink (src/worker-metrics.ts) recognises the repeats.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { MetricCounter, MetricGauge, MetricHistogram, MetricMeter, MetricTags } from '@temporalio/common';
import { BillingMetric } from '../../src/shared/metrics';
import { billingMetricsSinks } from '../../src/worker-metrics';
import { bundleWorkflows, connectToDevServer, testDataConverter, uniqueId } from '../support/temporal';

interface Value {
  name: string;
  value: number;
  tags: MetricTags;
}

/** A meter that keeps what it is given (the Runtime's Prometheus meter cannot be read back inside a test process). */
function keepingMeter(values: Value[], base: MetricTags = {}): MetricMeter {
  const instrument = (name: string) => ({
    name,
    add: (value: number, tags: MetricTags = {}) => void values.push({ name, value, tags: { ...base, ...tags } }),
    record: (value: number, tags: MetricTags = {}) => void values.push({ name, value, tags: { ...base, ...tags } }),
    set: (value: number, tags: MetricTags = {}) => void values.push({ name, value, tags: { ...base, ...tags } }),
  });
  return {
    createCounter: (name) => instrument(name) as unknown as MetricCounter,
    createHistogram: (name) => instrument(name) as unknown as MetricHistogram,
    createGauge: (name) => instrument(name) as unknown as MetricGauge,
    withTags: (tags) => keepingMeter(values, { ...base, ...tags }),
  };
}

const sum = (values: Value[], name: string, tags: MetricTags = {}) =>
  values
    .filter((v) => v.name === name && Object.entries(tags).every(([k, t]) => v.tags[k] === t))
    .reduce((a, v) => a + v.value, 0);

let env: TestWorkflowEnvironment;
let workflowBundle: Awaited<ReturnType<typeof bundleWorkflows>>;
// The shared dev server: nothing here waits on time, and a real server retries the failed workflow task.
beforeAll(async () => {
  env = await connectToDevServer();
  workflowBundle = await bundleWorkflows(require.resolve('./fixtures/metrics-retry-workflows'));
});
afterAll(async () => {
  await env?.teardown();
});

async function run(failFirstTask: boolean, runs = 1) {
  const taskQueue = uniqueId('metrics-once');
  const values: Value[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    dataConverter: testDataConverter,
    sinks: billingMetricsSinks({ namespace: 'default', taskQueue, meter: keepingMeter(values) }),
  });
  const lengths = await worker.runUntil(
    Promise.all(
      Array.from({ length: runs }, () =>
        env.client.workflow.execute('metricsOnARetriedTask', {
          taskQueue,
          workflowId: uniqueId('metrics-once'),
          args: [failFirstTask],
        }),
      ),
    ),
  );
  return { values, lengths: lengths as number[], taskQueue };
}

it('counts the values of a workflow task that was run twice once', async () => {
  const { values, lengths, taskQueue } = await run(true);
  expect(lengths[0]).toBeGreaterThan(3); // the workflow did complete on a retried task
  expect(sum(values, BillingMetric.charges, { outcome: 'paid' })).toBe(2);
  expect(sum(values, BillingMetric.charges, { outcome: 'declined', decline_class: 'soft' })).toBe(1);
  expect(sum(values, BillingMetric.cycleTransitions, { from: 'charging', to: 'paid' })).toBe(1);
  expect(sum(values, BillingMetric.amountChargedMinor, { currency: 'NGN' })).toBe(500_000);
  expect(values.filter((v) => v.name === BillingMetric.dunningDepthAtRecovery).map((v) => v.value)).toEqual([2]);
  for (const v of values) {
    expect(v.tags).toMatchObject({ namespace: 'default', taskQueue, workflowType: 'metricsOnARetriedTask' });
  }
});

it('counts every run of its own: the same values from two runs are two', async () => {
  const { values } = await run(false, 2);
  expect(sum(values, BillingMetric.charges, { outcome: 'paid' })).toBe(4);
  expect(sum(values, BillingMetric.amountChargedMinor)).toBe(1_000_000);
});

/**
 * Billing metrics as an operator scrapes them: a real worker process with its Prometheus endpoint, the API's
 * /metrics, and cycles that pay at once, pay after a pending outcome, recover from a soft decline, stop on a hard
 * decline and hit a merchant-configuration decline. The exposition text is parsed, then series and values checked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DEFAULT_DUNNING_POLICY } from '../../src/domain/dunning';
import { QorePayClient, QorePayWebhookVerifier } from '../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import { cycleStateQuery, cycleWorkflowId } from '../../src/shared/billing-cycle';
import { BillingMetric } from '../../src/shared/metrics';
import { billingCycleWorkflow } from '../../src/workflows';
import { OPERATOR_API_KEY, startTestApi, silentLogger, type RunningTestApi } from '../support/api-stack';
import { cycleInput, eventually } from '../support/billing-stack';
import { connectToDevServer, uniqueId } from '../support/temporal';
import { scrape, total, type Sample } from '../support/prometheus';
import { metricUses } from '../../tools/dashboard/queries';

const ROOT = join(__dirname, '..', '..');
const KEY = 'metrics-test-secret-key';

let env: TestWorkflowEnvironment;
let sandbox: QorePaySandbox;
let api: RunningTestApi;
let worker: ChildProcess | undefined;
/** What the first test scraped from the worker and the API, for the dashboard and alert names check. */
let scraped: Sample[] | undefined;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  env = await connectToDevServer();
  sandbox = await startQorePaySandbox({ apiKey: KEY, pendingResolveDelayMs: 1500 });
  const qorepay = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: KEY, brandId: 'brand', timeoutMs: 5000 });
  api = await startTestApi(
    env.client,
    {
      verifier: new QorePayWebhookVerifier({ fetchCompanyKey: () => qorepay.getPublicKey() }),
      qorepay,
      logger: silentLogger,
    },
    // Counts as they are at each scrape (the API process reuses them for 15 s).
    { metricsCacheMs: 0 },
  );
  sandbox.addWebhookUrl(`${api.url}/webhooks/qorepay`);
});
afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await api?.close();
  await sandbox?.close();
  await env?.teardown();
});

it('after paid, pending, recovered and declined cycles the worker and API endpoints show them by outcome', async () => {
  const taskQueue = uniqueId('metrics');
  const metricsPort = await freePort();
  worker = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'src', 'worker.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_TEST_NAMESPACE ?? 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      QOREPAY_BASE_URL: sandbox.baseUrl,
      QOREPAY_API_KEY: KEY,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  worker.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(
    () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited early: ${output}`);
      return output.includes('billing worker started');
    },
    'the worker process to start',
    60_000,
  );

  const sub = uniqueId('m').replace(/[^A-Za-z0-9_-]/g, '');
  const fast = { ...DEFAULT_DUNNING_POLICY, softRetryOffsetsHours: [1 / 3600], minHoursBetweenAttempts: 0 };
  const start = (name: string, token: string) =>
    env.client.workflow.start(billingCycleWorkflow, {
      workflowId: cycleWorkflowId(`${sub}${name}`, 0),
      taskQueue,
      args: [cycleInput({ subscriptionId: `${sub}${name}`, recurringToken: `${token}${sub}`, dunning: fast })],
    });
  const paid = await start('paid', 'tok_success_');
  const pending = await start('pending', 'tok_pending_paid_');
  const recovered = await start('recovered', 'tok_soft1_');
  const hard = await start('hard', 'tok_hard_stolen_card_');
  const merchant = await start('merchant', 'tok_merchant_');

  for (const h of [paid, pending, recovered]) {
    await eventually(
      async () => (await h.query(cycleStateQuery)).status === 'paid',
      `${h.workflowId} to be paid (worker output: ${output.slice(-2000)})`,
      60_000,
    );
  }
  await eventually(async () => (await hard.query(cycleStateQuery)).status === 'action_required', 'the hard decline');
  await eventually(
    async () => (await merchant.query(cycleStateQuery)).status === 'retry_scheduled',
    'the merchant-configuration decline',
  );

  // Workflow and activity metrics carry the SDK's taskQueue tag: this test's own series, exact values.
  const q = { taskQueue };
  const worker$ = `http://127.0.0.1:${metricsPort}/metrics`;
  const w: Sample[] = await eventually(async () => {
    const s = await scrape(worker$);
    return total(s, BillingMetric.alerts, q) >= 1 && total(s, BillingMetric.charges, q) >= 6 ? s : undefined;
  }, 'the worker metrics');

  expect(total(w, BillingMetric.charges, { ...q, outcome: 'paid' })).toBe(2); // at once, and recovered; the pending one was paid later
  expect(total(w, BillingMetric.charges, { ...q, outcome: 'pending' })).toBe(1);
  expect(total(w, BillingMetric.charges, { ...q, outcome: 'declined', decline_class: 'soft' })).toBe(1);
  expect(total(w, BillingMetric.charges, { ...q, outcome: 'declined', decline_class: 'hard' })).toBe(1);
  expect(total(w, BillingMetric.charges, { ...q, outcome: 'declined', decline_class: 'merchant_configuration' })).toBe(
    1,
  );
  expect(total(w, BillingMetric.amountChargedMinor, { ...q, currency: 'NGN' })).toBe(3 * 500_000);
  expect(total(w, `${BillingMetric.dunningDepthAtRecovery}_count`, q)).toBe(3);
  // 1 + 2 + 1 when the soft decline is seen as one (a loaded run once recorded 3: see the issue note)
  expect(total(w, `${BillingMetric.dunningDepthAtRecovery}_sum`, q)).toBeGreaterThanOrEqual(3);
  expect(total(w, `${BillingMetric.pendingOutcomeAgeSeconds}_count`, { ...q, to: 'paid' })).toBe(1);
  expect(total(w, `${BillingMetric.pendingOutcomeAgeSeconds}_sum`, { ...q, to: 'paid' })).toBeGreaterThan(0);
  expect(total(w, BillingMetric.cycleTransitions, { ...q, from: 'none', to: 'creating' })).toBe(5);
  expect(total(w, BillingMetric.cycleTransitions, { ...q, from: 'charging', to: 'action_required' })).toBe(1);
  expect(total(w, BillingMetric.cycleTransitions, { ...q, to: 'paid' })).toBe(3);
  expect(total(w, BillingMetric.alerts, { ...q, code: 'merchant_configuration' })).toBe(1);
  // No id of a customer, subscription, cycle or purchase in any label.
  for (const s of w.filter((x) => x.name.startsWith('billing_'))) {
    for (const v of Object.values(s.labels)) expect(v).not.toContain(sub);
  }

  // The API: webhook receipt to workflow signal, and cycles by status from visibility.
  const a = await eventually(async () => {
    // The API port answers /metrics to operator keys only.
    const s = await scrape(`${api.url}/metrics`, { authorization: `Bearer ${OPERATOR_API_KEY}` });
    return total(s, BillingMetric.cyclesByStatus, { status: 'paid' }) >= 3 ? s : undefined;
  }, 'the API metrics');
  expect(total(a, `${BillingMetric.webhookToWorkflowSeconds}_count`, { outcome: 'signaled' })).toBeGreaterThanOrEqual(
    1,
  );
  expect(total(a, BillingMetric.cyclesByStatus, { status: 'action_required' })).toBeGreaterThanOrEqual(1);
  scraped = [...w, ...a];
}, 180_000);

it('every metric the Grafana dashboard and the alert rules read is one the worker or the API exports', () => {
  expect(scraped).toBeDefined(); // the scrape of the test above
  const exported = new Set(scraped!.map((s) => s.name));
  // Counters recorded only on events this run does not cause; test/unit/deploy-config.test.ts holds them to the
  // code's definitions (src/shared/metrics.ts). `up` is Prometheus's own per-target series.
  const notCausedHere = new Set<string>([
    BillingMetric.amountRefundedMinor,
    BillingMetric.settlementFailures,
    BillingMetric.reconciliationDiscrepancies,
    BillingMetric.reconciliationCycles,
    'up',
  ]);
  const missing = [...metricUses()]
    .filter(([name]) => !exported.has(name) && !notCausedHere.has(name))
    .map(([name, where]) => `${name} (${where.join(', ')})`);
  expect(missing).toEqual([]);
  // The exemptions above are still unseen: once a run exports one, it belongs in the check instead.
  expect([...notCausedHere].filter((n) => exported.has(n))).toEqual([]);
});

/**
 * The billing stack for workflow tests: the QorePay sandbox over real HTTP, the webhook ingress on a local HTTP
 * server (verified and routed exactly as in production), and a worker running the real activities.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import pino from 'pino';
import { createActivities, type MerchantNotifier, type SettlementClients } from '../../src/activities';
import { handleQorePayWebhook } from '../../src/api/qorepay-webhook';
import { WebhookIngress } from '@temporal-billing/client/engine';
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from '../../src/domain/dunning';
import { QorePayClient, QorePayWebhookVerifier } from '../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import type { BillingCycleInput } from '../../src/shared/billing-cycle';
import type { MerchantNotification, OperationsAlert } from '../../src/shared/notifications';
import { billingMetricsSinks } from '../../src/worker-metrics';
import { testDataConverter } from './temporal';
import { reconciliationTemporal } from '../../src/reconciliation-temporal';

export const SANDBOX_API_KEY = 'test-secret-key-do-not-log';

export interface BillingStack {
  sandbox: QorePaySandbox;
  qorepay: QorePayClient;
  webhookUrl: string;
  notifications: MerchantNotification[];
  alerts: OperationsAlert[];
  /** Webhook ingress answers, in order. */
  ingress: { status: number; outcome: string }[];
  worker: Worker;
  taskQueue: string;
  /**
   * Shuts the worker down (in-flight activities are abandoned) and starts a new one on the same task queue, with
   * another data converter if given (a key rotation).
   */
  restartWorker(opts?: { dataConverter?: DataConverter }): Promise<void>;
  stop(): Promise<void>;
}

export async function startBillingStack(
  env: TestWorkflowEnvironment,
  opts: {
    workflowBundle: WorkflowBundleWithSourceMap;
    taskQueue: string;
    qorepayTimeoutMs?: number;
    pendingResolveDelayMs?: number;
    /** Settlement clients for the activities (absent: settlement targets fail as not configured). */
    settlement?: SettlementClients;
    /**
     * Workflow cache size; 0 turns sticky queues off, which a worker-restart test needs on the time-skipping server
     * (it does not move a dead worker's sticky tasks back to the normal queue). Every task then replays history.
     */
    maxCachedWorkflows?: number;
    /** Logger of the QorePay client (default: silent), e.g. to capture lines and look for secrets. */
    logger?: pino.Logger;
    /** Default: the tests' encrypting converter (development key). */
    dataConverter?: DataConverter;
    /**
     * The worker's merchant notifier. Default: one that captures into `notifications`. `null`: none, a worker without
     * `MERCHANT_WEBHOOK_URL`; or the one a configured worker builds (`buildActivityDeps`).
     */
    notifier?: MerchantNotifier | null;
  },
): Promise<BillingStack> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const notifications: MerchantNotification[] = [];
  const alerts: OperationsAlert[] = [];
  const ingress: { status: number; outcome: string }[] = [];

  // The ingress server must exist before the sandbox, which needs its URL.
  const ref: { deps?: Parameters<typeof handleQorePayWebhook>[0] } = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handleQorePayWebhook(ref.deps!, Buffer.concat(chunks), req.headers['x-signature']).then((out) => {
        ingress.push({ status: out.status, outcome: out.body.outcome });
        res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.body));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/qorepay`;

  const sandbox = await startQorePaySandbox({
    apiKey: SANDBOX_API_KEY,
    webhookUrls: [webhookUrl],
    webhookRetryDelaysMs: [0, 100, 300, 1000, 3000],
    pendingResolveDelayMs: opts.pendingResolveDelayMs ?? 300,
    slowResponseMs: 4000,
    commitTimeoutHoldMs: 30_000,
  });
  const qorepay = new QorePayClient({
    baseUrl: sandbox.baseUrl,
    apiKey: SANDBOX_API_KEY,
    brandId: '00000000-0000-4000-8000-000000000001',
    timeoutMs: opts.qorepayTimeoutMs ?? 2000,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  ref.deps = {
    verifier: new QorePayWebhookVerifier({ fetchCompanyKey: () => qorepay.getPublicKey() }),
    qorepay,
    ingress: new WebhookIngress({ client: env.client }),
    logger,
  };

  const activities = createActivities({
    qorepay,
    // The reconciliation sweep lists, queries and signals cycles through the test server's client.
    temporal: reconciliationTemporal(env.client),
    ...(opts.notifier === null
      ? {}
      : { notifier: opts.notifier ?? { send: async (e: MerchantNotification) => void notifications.push(e) } }),
    alerter: { alert: async (a) => void alerts.push(a) },
    ...(opts.settlement ? { settlement: opts.settlement } : {}),
  });
  let dataConverter = opts.dataConverter ?? testDataConverter;
  const newWorker = () =>
    Worker.create({
      connection: env.nativeConnection,
      taskQueue: opts.taskQueue,
      workflowBundle: opts.workflowBundle,
      activities,
      sinks: billingMetricsSinks({ namespace: 'default', taskQueue: opts.taskQueue }),
      dataConverter,
      ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    });
  let worker = await newWorker();
  let running = worker.run();

  const stack: BillingStack = {
    sandbox,
    qorepay,
    webhookUrl,
    notifications,
    alerts,
    ingress,
    worker,
    taskQueue: opts.taskQueue,
    async restartWorker(restart) {
      worker.shutdown();
      await running;
      if (restart?.dataConverter) dataConverter = restart.dataConverter;
      worker = await newWorker();
      running = worker.run();
      stack.worker = worker;
    },
    async stop() {
      worker.shutdown();
      await running;
      await sandbox.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return stack;
}

export function cycleInput(
  overrides: Partial<BillingCycleInput> & { subscriptionId: string; recurringToken: string },
): BillingCycleInput {
  const dunning: DunningPolicy = { ...DEFAULT_DUNNING_POLICY, ...(overrides.dunning ?? {}) };
  return {
    customerId: 'cust_1',
    periodIndex: 0,
    periodStart: '2027-01-01T00:00:00.000Z',
    periodEnd: '2027-02-01T00:00:00.000Z',
    customerEmail: 'buyer@example.com',
    currency: 'NGN',
    lineItems: [{ name: 'Pro plan', priceMinor: 500_000, quantity: 1 }],
    ...overrides,
    dunning,
  };
}

export { eventually } from './wait';

/** With RECORD_REPLAY_HISTORIES=1, saves a finished workflow's history under test/replay/histories for replay tests. */
export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_REPLAY_HISTORIES !== '1') return;
  const dir = join(__dirname, '..', 'replay', 'histories');
  mkdirSync(dir, { recursive: true });
  // protobufjs JSON (int64 as strings, enums by name, bytes as base64); read back with History.fromObject.
  const history = await handle.fetchHistory();
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(history));
}

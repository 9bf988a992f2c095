/** Shared helpers of the API tests: a real API server on a free port, and an axios instance that never throws. */
import type { AddressInfo } from 'node:net';
import axios, { type AxiosRequestConfig, type AxiosResponse } from 'axios';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { BillingClient } from '@temporal-billing/client';
import { BillingOperator, WebhookIngress } from '@temporal-billing/client/engine';
import { qorepayCustomerVerifier } from '../../src/api/customer-verifier';
import { buildApiServer, type ApiServerOptions } from '../../src/api/server';
import { createLogger } from '../../src/logger';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig, plainOperatorKey } from '../../src/config';
import { QorePayClient, QorePayWebhookVerifier } from '../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import { createBillingWorker } from '../../src/worker';
import { bundleWorkflows } from './temporal';
import { createBooksReader } from '../../src/records';
import { sellerFromConfig } from '../../src/records/documents';
import { createTestBooks, type TestBooks } from './records';

type WebhookIngressDeps = ApiServerOptions['webhook'];

/** The answer bodies the tests read (all optional: each route fills some). */
export interface ApiBody {
  error?: string;
  message?: string;
  fields?: string[];
  issues?: { path: string; message: string }[];
  ok?: boolean;
  outcome?: string;
  status?: string;
  subscriptionId?: string;
  customerId?: string;
  cancelReason?: string;
  nextPeriodIndex?: number;
  cycleId?: string;
  purchaseId?: string;
  paymentId?: string;
  amountMinor?: number;
  kind?: string;
  at?: string;
  paymentMethod?: string;
  plan?: { planId: string; currency: string; lineItems: { name: string; priceMinor: number; quantity: number }[] };
  pendingPlan?: unknown;
  subscriptions?: { subscriptionId: string; status?: string; [k: string]: unknown }[];
  nextPageToken?: string;
  nextCursor?: string;
  cycles?: { cycleId: string; status: string; invoiceId?: string; [k: string]: unknown }[];
  payments?: { kind: string; cycleId: string; amountMinor: number; [k: string]: unknown }[];
  invoices?: { invoiceId: string; number: number; status: string; cycleId: string; [k: string]: unknown }[];
  openapi?: string;
  paths?: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas: Record<string, { properties?: Record<string, { pattern?: string }>; required?: string[] }> };
}

/** axios with typed bodies; never throws on an HTTP status. */
export interface Http {
  get(url: string, config?: AxiosRequestConfig): Promise<AxiosResponse<ApiBody>>;
  post(url: string, data?: unknown, config?: AxiosRequestConfig): Promise<AxiosResponse<ApiBody>>;
}

/** A merchant key of merchant `default` (a plain key, like a plain API_KEYS entry). */
export const API_KEY = 'test-api-key-0123456789';
/** An operator key (like an OPERATOR_API_KEYS entry): mark-paid, retry-settlement, reconciliations. */
export const OPERATOR_API_KEY = 'test-operator-key-0123456789';

export interface RunningTestApi {
  app: FastifyInstance;
  url: string;
  http: Http;
  /** Same base URL, with the API key. */
  authed: Http;
  /** Same base URL, with the operator key (answers 401 when the test configured its own keys without it). */
  operator: Http;
  billing: BillingClient;
  close(): Promise<void>;
}

export async function startTestApi(
  client: Client,
  webhook: WebhookIngressDeps,
  overrides: Partial<ApiServerOptions> & { taskQueue?: string } = {},
): Promise<RunningTestApi> {
  const { taskQueue, ...options } = overrides;
  const billing = options.billing ?? new BillingClient({ client, firstQueryTimeoutMs: 2000 });
  const app = buildApiServer({
    billing,
    // Reconciliation sweeps run on the test's worker queue (the cycles they check are there too).
    operator: new BillingOperator({ client, ...(taskQueue !== undefined ? { taskQueue } : {}) }),
    ingress: new WebhookIngress({ client }),
    apiKeys: [API_KEY, 'another-key', plainOperatorKey(OPERATOR_API_KEY, 0)],
    webhook,
    temporalHealth: async () => {
      // Like the API process: a 1.5 s deadline (src/api-process.ts), which also bounds a 503 when Temporal is down.
      await client.connection.withDeadline(Date.now() + 1500, () => client.workflowService.getSystemInfo({}));
    },
    logger: createLogger({ level: 'silent' }),
    ...options,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const http: Http = axios.create({ baseURL: url, validateStatus: () => true, timeout: 30_000 });
  const authed: Http = axios.create({
    baseURL: url,
    validateStatus: () => true,
    timeout: 60_000,
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  const operator: Http = axios.create({
    baseURL: url,
    validateStatus: () => true,
    timeout: 60_000,
    headers: { authorization: `Bearer ${OPERATOR_API_KEY}` },
  });
  return { app, url, http, authed, operator, billing, close: () => app.close() };
}

export const silentLogger = pino({ level: 'silent' });

/** A valid create body; override what a test varies. */
export function subscriptionBody(
  subscriptionId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    subscriptionId,
    customerId: `cust-${subscriptionId}`,
    customerEmail: 'buyer@example.com',
    recurringToken: `tok_success_${subscriptionId}`,
    plan: { planId: 'pro', currency: 'EUR', lineItems: [{ name: 'Pro plan', priceMinor: 1999, quantity: 1 }] },
    schedule: { intervalUnit: 'month', intervalCount: 1, anchor: '2030-01-31T09:00', timeZone: 'Europe/Oslo' },
    ...overrides,
  };
}

export { eventually } from './billing-stack';

/**
 * The API over HTTP with everything behind it real: a billing worker (the real workflows and activities) on the given
 * Temporal server, and the QorePay sandbox whose signed webhooks go to the API's own POST /webhooks/qorepay.
 */
export interface ApiStack {
  api: RunningTestApi;
  sandbox: QorePaySandbox;
  taskQueue: string;
  /** The records store the worker writes and the API's lists read (a database of its own, dropped at stop). */
  books: TestBooks;
  stop(): Promise<void>;
}

export async function startApiStack(
  env: TestWorkflowEnvironment,
  opts: {
    taskQueue: string;
    sandboxKey: string;
    webhookRetryDelaysMs: number[];
    pendingResolveDelayMs: number;
    /** The API's keys (default: API_KEY and another plain key of the default merchant, and OPERATOR_API_KEY). */
    apiKeys?: ApiServerOptions['apiKeys'];
    /** The worker's merchant webhook endpoint (default: none, and cycles schedule no merchant notification). */
    merchantWebhook?: { url: string; secret: string };
  },
): Promise<ApiStack> {
  const { taskQueue, sandboxKey } = opts;
  const workflowBundle = await bundleWorkflows(require.resolve('../../src/workflows'));
  const sandbox = await startQorePaySandbox({
    apiKey: sandboxKey,
    webhookRetryDelaysMs: opts.webhookRetryDelaysMs,
    pendingResolveDelayMs: opts.pendingResolveDelayMs,
  });
  const config = loadConfig({
    QOREPAY_BASE_URL: sandbox.baseUrl,
    QOREPAY_API_KEY: sandboxKey,
    QOREPAY_TIMEOUT_MS: '5000',
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    LOG_LEVEL: 'silent',
    ...(opts.merchantWebhook
      ? { MERCHANT_WEBHOOK_URL: opts.merchantWebhook.url, MERCHANT_WEBHOOK_SECRET: opts.merchantWebhook.secret }
      : {}),
  });
  const books = await createTestBooks();
  const worker = await createBillingWorker({
    config,
    connection: env.nativeConnection,
    logger: createLogger({ level: 'silent' }),
    workflowBundle,
    taskQueue,
    deps: { books },
  });
  const running = worker.run();
  const qorepay = new QorePayClient({
    baseUrl: sandbox.baseUrl,
    apiKey: sandboxKey,
    brandId: config.QOREPAY_BRAND_ID,
    timeoutMs: 5000,
  });
  const api = await startTestApi(
    env.client,
    {
      verifier: new QorePayWebhookVerifier({ fetchCompanyKey: () => qorepay.getPublicKey() }),
      qorepay,
      logger: silentLogger,
    },
    // Like the API process: a create naming a qorepayClientId is checked at the (sandbox) gateway.
    {
      billing: new BillingClient({ client: env.client, taskQueue, customerVerifier: qorepayCustomerVerifier(qorepay) }),
      books: { reader: createBooksReader(books.db), seller: sellerFromConfig(config) },
      ...(opts.apiKeys ? { apiKeys: opts.apiKeys } : {}),
    },
  );
  // The gateway's callbacks reach the engine only through the API's webhook route.
  sandbox.addWebhookUrl(`${api.url}/webhooks/qorepay`);
  return {
    api,
    sandbox,
    taskQueue,
    books,
    async stop() {
      await api.close();
      worker.shutdown();
      await running;
      await sandbox.close();
      await books.drop();
    },
  };
}

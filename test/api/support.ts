/** Shared helpers of the API tests: a real API server on a free port, and an axios instance that never throws. */
import type { AddressInfo } from 'node:net';
import axios, { type AxiosRequestConfig, type AxiosResponse } from 'axios';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { BillingClient } from '../../src/client';
import { buildApiServer, type ApiServerOptions } from '../../src/api/server';
import type { WebhookIngressDeps } from '../../src/api/qorepay-webhook';
import { createLogger } from '../../src/logger';

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
  paymentMethod?: string;
  plan?: { planId: string; currency: string; lineItems: { name: string; priceMinor: number; quantity: number }[] };
  pendingPlan?: unknown;
  subscriptions?: { subscriptionId: string; status?: string; [k: string]: unknown }[];
  nextPageToken?: string;
  cycles?: { cycleId: string; status: string }[];
  openapi?: string;
  paths?: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas: Record<string, { properties?: Record<string, { pattern?: string }>; required?: string[] }> };
}

/** axios with typed bodies; never throws on an HTTP status. */
export interface Http {
  get(url: string, config?: AxiosRequestConfig): Promise<AxiosResponse<ApiBody>>;
  post(url: string, data?: unknown, config?: AxiosRequestConfig): Promise<AxiosResponse<ApiBody>>;
}

export const API_KEY = 'test-api-key-0123456789';

export interface RunningTestApi {
  app: FastifyInstance;
  url: string;
  http: Http;
  /** Same base URL, with the API key. */
  authed: Http;
  billing: BillingClient;
  close(): Promise<void>;
}

export async function startTestApi(
  client: Client,
  webhook: WebhookIngressDeps,
  overrides: Partial<ApiServerOptions> = {},
): Promise<RunningTestApi> {
  const billing = overrides.billing ?? new BillingClient({ client, firstQueryTimeoutMs: 2000 });
  const app = buildApiServer({
    billing,
    apiKeys: [API_KEY, 'another-key'],
    webhook,
    temporalHealth: async () => {
      await client.connection.withDeadline(Date.now() + 3000, () => client.workflowService.getSystemInfo({}));
    },
    logger: createLogger({ level: 'silent' }),
    ...overrides,
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
  return { app, url, http, authed, billing, close: () => app.close() };
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

export { eventually } from '../harness/billing-stack';

/**
 * Which keys may do what, through the real Fastify app over HTTP (light-my-request's `inject` cannot load under jest)
 * and a recording BillingClient stub: a plain
 * API_KEYS key is its merchant's only (no operator routes, no cross-merchant client, no settlement accounts); the
 * keys of OPERATOR_API_KEYS are operators and are named so in logs.
 */
import type { FastifyInstance } from 'fastify';
import type { BillingClient } from '@temporal-billing/client';
import { buildApiServer } from '../../../src/api/server';
import { createApiMetrics } from '../../../src/api/metrics';
import { loadConfig } from '../../../src/config';
import { createLogger } from '../../../src/logger';

const MERCHANT_KEY = 'merchant-key-0123456789abcdefghijklmnop';
const OPERATOR_KEY = 'operator-key-0123456789abcdefghijklmnop';

interface ScopedCall {
  merchantId: string;
  options: Record<string, unknown>;
  method: string;
}

function recordingBilling(calls: ScopedCall[]): BillingClient {
  // Each namespace (`subscriptions`, `cycles`) records its calls as `namespace.method`.
  const scoped = (merchantId: string, options: Record<string, unknown>) =>
    new Proxy(
      {},
      {
        get: (_t, namespace: string) =>
          new Proxy(
            {},
            {
              get: (_n, method: string) => async () => {
                calls.push({ merchantId, options, method: `${namespace}.${method}` });
                return { ok: true };
              },
            },
          ),
      },
    );
  return {
    merchantId: 'default',
    forMerchant: (merchantId: string, options: Record<string, unknown> = {}) => scoped(merchantId, options),
  } as unknown as BillingClient;
}

function appFor(env: Record<string, string>, calls: ScopedCall[]): FastifyInstance {
  const config = loadConfig(env);
  return buildApiServer({
    billing: recordingBilling(calls),
    apiKeys: [...config.API_KEYS, ...config.OPERATOR_API_KEYS],
    webhook: {} as never,
    operator: {} as never,
    ingress: {} as never,
    temporalHealth: async () => undefined,
    temporalGate: async () => undefined,
    metrics: createApiMetrics({ defaultMetrics: false }),
    logger: createLogger({ level: 'silent' }),
  });
}

/** A minimal stand-in for `inject`: the app on a free loopback port, one request with fetch. */
async function send(
  app: FastifyInstance,
  req: { method: string; url: string; headers?: Record<string, string>; payload?: string },
): Promise<{ statusCode: number; body: string }> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method,
    headers: { connection: 'close', ...req.headers },
    ...(req.payload !== undefined ? { body: req.payload } : {}),
  });
  return { statusCode: res.status, body: await res.text() };
}

const markPaid = (key: string) => ({
  method: 'POST' as const,
  url: '/v1/cycles/cycle%3As1%3A0/mark-paid',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  payload: '{}',
});

describe('plain API_KEYS are merchant keys', () => {
  it('cannot mark a cycle paid (403) and act for their merchant only, with no settlement accounts', async () => {
    const calls: ScopedCall[] = [];
    const app = appFor({ API_KEYS: MERCHANT_KEY }, calls);
    const paid = await send(app, markPaid(MERCHANT_KEY));
    expect(paid.statusCode).toBe(403);
    expect(calls).toEqual([]);
    const read = await send(app, {
      method: 'GET',
      url: '/v1/subscriptions/s1',
      headers: { authorization: `Bearer ${MERCHANT_KEY}` },
    });
    expect(read.statusCode).toBe(200);
    expect(calls).toEqual([
      {
        merchantId: 'default',
        method: 'subscriptions.get',
        options: { crossMerchant: false, keyId: 'key-1', settlementAllowList: {} },
      },
    ]);
    await app.close();
  });

  it('a plain string key given to buildApiServer is a merchant key too', async () => {
    const calls: ScopedCall[] = [];
    const app = buildApiServer({
      billing: recordingBilling(calls),
      apiKeys: [MERCHANT_KEY],
      webhook: {} as never,
      operator: {} as never,
      ingress: {} as never,
      temporalHealth: async () => undefined,
      temporalGate: async () => undefined,
      metrics: createApiMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: 'silent' }),
    });
    expect((await send(app, markPaid(MERCHANT_KEY))).statusCode).toBe(403);
    await app.close();
  });
});

describe('OPERATOR_API_KEYS', () => {
  it('are operators, named operator-N, and reach mark-paid with a cross-merchant client', async () => {
    const calls: ScopedCall[] = [];
    const app = appFor({ API_KEYS: MERCHANT_KEY, OPERATOR_API_KEYS: OPERATOR_KEY }, calls);
    const paid = await send(app, markPaid(OPERATOR_KEY));
    expect(paid.statusCode).toBe(200);
    expect(calls).toEqual([
      { merchantId: 'default', method: 'cycles.markPaid', options: { crossMerchant: true, keyId: 'operator-1' } },
    ]);
    await app.close();
  });
});

/**
 * What the API port answers to callers without the right key, through the real Fastify app over HTTP and a recording
 * BillingClient stub: /metrics needs an operator key and its visibility counts are cached; the codec endpoint
 * refuses before it reads a body; every /v1 key has its own rate limit (429 with Retry-After); 401, 404 and 415
 * answers say what to do.
 */
import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { BillingClient } from '@temporal-billing/client';
import type { BillingOperator } from '@temporal-billing/client/engine';
import { buildApiServer, type ApiServerOptions } from '../../../src/api/server';
import { createApiMetrics } from '../../../src/api/metrics';
import { AesGcmPayloadCodec } from '@temporal-billing/client/payload-codec';
import { plainOperatorKey } from '../../../src/config';
import { createLogger } from '../../../src/logger';
import { send } from '../../support/send';

const MERCHANT_KEY = 'merchant-key-0123456789abcdefghijklmnop';
const MERCHANT_KEY_2 = 'merchant-key-2-0123456789abcdefghijklm';
const OPERATOR_KEY = 'operator-key-0123456789abcdefghijklmnop';
const CODEC_KEY = 'codec-key-0123456789abcdefghijklmnopqrs';

function stubBilling(): BillingClient {
  const scoped = { subscriptions: { get: async () => ({ subscriptionId: 's1' }) } };
  return { merchantId: 'default', forMerchant: () => scoped } as unknown as BillingClient;
}

/** The operator's visibility counts, recorded. */
function stubOperator(counts: string[]): Pick<BillingOperator, 'countCycles'> {
  return {
    countCycles: async (status: string) => {
      counts.push(status);
      return 1;
    },
  };
}

function appWith(counts: string[], overrides: Partial<ApiServerOptions> = {}): FastifyInstance {
  const operator = stubOperator(counts);
  return buildApiServer({
    billing: stubBilling(),
    operator: operator as BillingOperator,
    ingress: {} as never,
    apiKeys: [MERCHANT_KEY, MERCHANT_KEY_2, plainOperatorKey(OPERATOR_KEY, 0)],
    webhook: {} as never,
    temporalHealth: async () => undefined,
    temporalGate: async () => undefined,
    metrics: createApiMetrics({ cycles: operator, defaultMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    codec: {
      codec: new AesGcmPayloadCodec([{ id: 'k1', key: Buffer.alloc(32, 1) }]),
      authorize: (bearer) => bearer === CODEC_KEY,
      open: false,
    },
    ...overrides,
  });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('GET /metrics', () => {
  let app: FastifyInstance;
  const counts: string[] = [];
  beforeAll(() => {
    app = appWith(counts);
  });
  afterAll(() => app.close());

  it('answers 401 without a key and 403 to a merchant key, counting nothing', async () => {
    const anonymous = await send(app, { url: '/metrics' });
    expect([anonymous.statusCode, anonymous.json?.error]).toEqual([401, 'unauthorized']);
    expect((await send(app, { url: '/metrics', headers: bearer(MERCHANT_KEY) })).statusCode).toBe(403);
    expect(counts).toEqual([]);
  });

  it('answers an operator key, and three scrapes in a row count each status once (cached)', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await send(app, { url: '/metrics', headers: bearer(OPERATOR_KEY) });
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/billing_cycles\{[^}]*status="paid"[^}]*\} 1/);
    }
    expect(counts).toHaveLength(9);
  });
});

describe('/codec/*', () => {
  let app: FastifyInstance;
  beforeAll(() => {
    app = appWith([]);
  });
  afterAll(() => app.close());

  it('refuses a request without its key before reading the body (invalid JSON gets 401, not 400)', async () => {
    const res = await send(app, {
      method: 'POST',
      url: '/codec/decode',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(res.statusCode).toBe(401);
    expect(res.json?.message).toMatch(/CODEC_API_KEYS/);
  });

  it('answers 401 while a declared 7 MiB body has not been sent', async () => {
    if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/codec/decode',
          headers: { 'content-type': 'application/json', 'content-length': String(7 * 1024 * 1024) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', () => undefined);
      req.write('{"payloads":[');
      setTimeout(() => reject(new Error('no answer within 3 s: the body is being waited for')), 3000).unref();
    });
    expect(status).toBe(401);
  });

  it('still decodes for its key, and refuses bodies above 2 MiB (413)', async () => {
    const ok = await send(app, {
      method: 'POST',
      url: '/codec/encode',
      headers: { ...bearer(CODEC_KEY), 'content-type': 'application/json' },
      payload: JSON.stringify({ payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') } }] }),
    });
    expect(ok.statusCode).toBe(200);
    const big = await send(app, {
      method: 'POST',
      url: '/codec/decode',
      headers: { ...bearer(CODEC_KEY), 'content-type': 'application/json' },
      payload: JSON.stringify({ payloads: [{ data: 'A'.repeat(3 * 1024 * 1024) }] }),
    });
    expect(big.statusCode).toBe(413);
  });
});

describe('rate limits', () => {
  it('each key has its own budget; over it: 429 with Retry-After and a message', async () => {
    const app = appWith([], { rateLimit: { perMinute: 3 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await send(app, { url: '/v1/subscriptions/s1', headers: bearer(MERCHANT_KEY) })).statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const limited = await send(app, { url: '/v1/subscriptions/s1', headers: bearer(MERCHANT_KEY) });
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.json).toMatchObject({ error: 'rate_limited' });
      expect(String(limited.json?.message)).toMatch(/retry after \d+ s/);
      // Another key is not held back by the first one's requests.
      expect((await send(app, { url: '/v1/subscriptions/s1', headers: bearer(MERCHANT_KEY_2) })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('answers that say what to do', () => {
  let app: FastifyInstance;
  beforeAll(() => {
    app = appWith([]);
  });
  afterAll(() => app.close());

  it('401 names the header to send', async () => {
    const res = await send(app, { url: '/v1/subscriptions/s1' });
    expect(res.statusCode).toBe(401);
    expect(res.json?.message).toMatch(/Authorization: Bearer/);
  });

  it('404 names the method and path that do not exist', async () => {
    const res = await send(app, { url: '/v1/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json?.message).toBe('no route GET /v1/nothing-here; see /openapi.json');
  });

  it('415 says to send JSON', async () => {
    const res = await send(app, {
      method: 'POST',
      url: '/v1/subscriptions/s1/cancel',
      headers: { ...bearer(MERCHANT_KEY), 'content-type': 'text/xml' },
      payload: '<cancel/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json?.message).toMatch(/application\/json/);
  });
});

describe('validation messages name what to send', () => {
  it('a missing field is required, with what it takes; a wrong option lists the options', async () => {
    const app = appWith([]);
    try {
      const post = (payload: string) =>
        send(app, {
          method: 'POST',
          url: '/v1/subscriptions/s1/cancel',
          headers: { ...bearer(MERCHANT_KEY), 'content-type': 'application/json' },
          payload,
        });
      expect((await post('{}')).json?.issues).toEqual([
        { path: 'mode', message: 'is required: send one of "now", "period_end"' },
      ]);
      expect((await post('{"mode":"later"}')).json?.issues).toEqual([
        { path: 'mode', message: 'must be one of "now", "period_end"' },
      ]);
    } finally {
      await app.close();
    }
  });
});

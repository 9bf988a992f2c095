/**
 * The HTTP API over real HTTP against the shared Temporal dev server: authentication, field-level validation (which
 * stores nothing), 404s, the OpenAPI document, health/readiness, 503 when Temporal is unreachable, and the QorePay
 * webhook route (a forged signature changes nothing; a genuine one is routed).
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { BillingClient, BillingValidationError } from '../../src/client';
import { QorePayClient, QorePayWebhookVerifier } from '../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import { CYCLE_ID_PATTERN } from '../../src/api/schemas';
import { openApiPath } from '../../src/api/openapi';
import type { WebhookIngressDeps } from '../../src/api/qorepay-webhook';
import { cycleWorkflowId, parseCycleWorkflowId } from '../../src/shared/billing-cycle';
import { createLogger } from '../../src/logger';
import { subscriptionWorkflowId } from '../../src/shared/subscription';
import { connectToDevServer, uniqueId } from '../support/temporal';
import { API_KEY, silentLogger, startTestApi, subscriptionBody, type RunningTestApi } from '../support/api-stack';

const SANDBOX_KEY = 'sandbox-key-for-api-tests';
const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
};
/** A key configured as a QorePay webhook key (trusted) and one nobody configured (a forger's). */
const trusted = keyPair();
const forger = keyPair();

let env: TestWorkflowEnvironment;
let sandbox: QorePaySandbox;
let qorepay: QorePayClient;
let api: RunningTestApi;

beforeAll(async () => {
  env = await connectToDevServer();
  sandbox = await startQorePaySandbox({ apiKey: SANDBOX_KEY });
  qorepay = new QorePayClient({
    baseUrl: sandbox.baseUrl,
    apiKey: SANDBOX_KEY,
    brandId: '00000000-0000-4000-8000-000000000001',
    timeoutMs: 5000,
  });
  const webhook: WebhookIngressDeps = {
    verifier: new QorePayWebhookVerifier({ fetchCompanyKey: () => qorepay.getPublicKey(), webhookKeys: [trusted.pem] }),
    qorepay,
    temporal: env.client,
    logger: silentLogger,
  };
  api = await startTestApi(env.client, webhook);
});

afterAll(async () => {
  await api?.close();
  await sandbox?.close();
  await env?.teardown();
});

async function expectNoWorkflow(workflowId: string): Promise<void> {
  await expect(env.client.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('authentication', () => {
  it('answers 401 with WWW-Authenticate without a key, with a wrong key, and with a non-bearer scheme', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-key' }, { authorization: `Basic ${API_KEY}` }]) {
      const res = await api.http.get('/v1/subscriptions/sub-1', { headers });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.data).toEqual({ error: 'unauthorized' });
    }
    // A key that is a prefix of a real one is still wrong.
    const prefix = await api.http.get('/v1/subscriptions/sub-1', {
      headers: { authorization: `Bearer ${API_KEY.slice(0, -1)}` },
    });
    expect(prefix.status).toBe(401);
  });

  it('rejects an unauthenticated create without starting anything', async () => {
    const id = uniqueId('noauth');
    const res = await api.http.post('/v1/subscriptions', subscriptionBody(id));
    expect(res.status).toBe(401);
    await expectNoWorkflow(subscriptionWorkflowId(id));
  });

  it('accepts every configured key', async () => {
    for (const key of [API_KEY, 'another-key']) {
      const res = await api.http.get(`/v1/subscriptions/${uniqueId('nobody')}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(404);
    }
  });

  it('fails closed when no key is configured', async () => {
    const closed = await startTestApi(env.client, webhookDepsFor(), { apiKeys: [] });
    try {
      const res = await closed.http.get('/v1/subscriptions', { headers: { authorization: 'Bearer ' } });
      expect(res.status).toBe(401);
      const res2 = await closed.authed.get('/v1/subscriptions');
      expect(res2.status).toBe(401);
    } finally {
      await closed.close();
    }
  });
});

describe('validation: field-level 400s, nothing stored', () => {
  const cases: { name: string; mutate: (b: Record<string, unknown>) => void; path: string; message?: RegExp }[] = [
    {
      name: 'lower-case currency',
      mutate: (b) => ((b.plan as Record<string, unknown>).currency = 'eur'),
      path: 'plan.currency',
      message: /ISO 4217/,
    },
    {
      name: 'empty lineItems',
      mutate: (b) => ((b.plan as Record<string, unknown>).lineItems = []),
      path: 'plan.lineItems',
    },
    {
      name: 'negative price',
      mutate: (b) => ((b.plan as Record<string, unknown>).lineItems = [{ name: 'x', priceMinor: -1, quantity: 1 }]),
      path: 'plan.lineItems.0.priceMinor',
    },
    {
      name: 'an anchor that is not a date',
      mutate: (b) => ((b.schedule as Record<string, unknown>).anchor = '2030-02-30T09:00'),
      path: 'schedule.anchor',
      message: /not a real calendar date/,
    },
    {
      name: 'an unknown time zone',
      mutate: (b) => ((b.schedule as Record<string, unknown>).timeZone = 'Europe/Atlantis'),
      path: 'schedule.timeZone',
      message: /unknown time zone/,
    },
    {
      name: 'dunning offsets not increasing',
      mutate: (b) => (b.dunning = { softRetryOffsetsHours: [24, 48, 48] }),
      path: 'dunning.softRetryOffsetsHours.2',
      message: /greater than the previous/,
    },
    {
      name: 'a malformed subscriptionId',
      mutate: (b) => (b.subscriptionId = 'has space'),
      path: 'subscriptionId',
    },
    {
      name: 'an email that is not one',
      mutate: (b) => (b.customerEmail = 'not-an-email'),
      path: 'customerEmail',
    },
    {
      name: 'an unknown field (a typo must not be ignored silently)',
      mutate: (b) => ((b.schedule as Record<string, unknown>).trial_days = 7),
      path: 'schedule.trial_days',
    },
    {
      name: 'a settlement target of an unknown kind',
      mutate: (b) => (b.settlementTargets = [{ kind: 'ledgerly', accountId: 'a' }]),
      path: 'settlementTargets.0.kind',
    },
  ];

  it.each(cases)('$name -> 400 naming $path', async ({ mutate, path, message }) => {
    const id = uniqueId('invalid');
    const body = subscriptionBody(id);
    mutate(body);
    const res = await api.authed.post('/v1/subscriptions', body);
    expect(res.status).toBe(400);
    expect(res.data.error).toBe('validation_failed');
    const issue = (res.data.issues as { path: string; message: string }[]).find((i) => i.path === path);
    expect(issue).toBeDefined();
    if (message) expect(issue!.message).toMatch(message);
    await expectNoWorkflow(subscriptionWorkflowId(typeof body.subscriptionId === 'string' ? body.subscriptionId : id));
  });

  it('reports every problem at once', async () => {
    const body = subscriptionBody(uniqueId('many'), {
      plan: { planId: 'p', currency: 'euro', lineItems: [] },
      schedule: { intervalUnit: 'month', intervalCount: 30, anchor: 'tomorrow', timeZone: 'UTC' },
    });
    const res = await api.authed.post('/v1/subscriptions', body);
    expect(res.status).toBe(400);
    const paths = (res.data.issues as { path: string }[]).map((i) => i.path).sort();
    expect(paths).toEqual(['plan.currency', 'plan.lineItems', 'schedule.anchor', 'schedule.intervalCount']);
  });

  it('answers invalid JSON, a missing body and a non-object with 400 validation_failed', async () => {
    const bad = await api.authed.post('/v1/subscriptions', '{"subscriptionId": ', {
      headers: { 'content-type': 'application/json' },
      transformRequest: [(d: unknown) => d],
    });
    expect(bad.status).toBe(400);
    expect(bad.data).toEqual({ error: 'validation_failed', issues: [{ path: '', message: 'body is not valid JSON' }] });

    const missing = await api.authed.post('/v1/subscriptions');
    expect(missing.status).toBe(400);
    expect(missing.data.error).toBe('validation_failed');

    const text = await api.authed.post('/v1/subscriptions', 'subscriptionId=a', {
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);

    const list = await api.authed.post('/v1/subscriptions', [1, 2]);
    expect(list.status).toBe(400);
    expect(list.data.issues?.[0]?.path).toBe('');
  });

  it('validates path parameters', async () => {
    const sub = await api.authed.get(`/v1/subscriptions/${'x'.repeat(65)}`);
    expect(sub.status).toBe(400);
    expect(sub.data.issues).toEqual([{ path: 'subscriptionId', message: expect.any(String) as unknown }]);

    const cycle = await api.authed.get('/v1/cycles/not-a-cycle');
    expect(cycle.status).toBe(400);
    expect(cycle.data.issues).toEqual([{ path: 'cycleId', message: expect.stringMatching(/cycle:/) as unknown }]);

    const cancel = await api.authed.post('/v1/subscriptions/bad%20id/cancel', { mode: 'sometime' });
    expect(cancel.status).toBe(400);
    expect((cancel.data.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(['mode', 'subscriptionId']);
  });

  it('validates the other bodies and the list filters', async () => {
    const id = uniqueId('bodies');
    const plan = await api.authed.post(`/v1/subscriptions/${id}/plan`, { plan: { planId: 'p', currency: 'EUR' } });
    expect(plan.status).toBe(400);
    expect(plan.data.issues).toEqual([{ path: 'plan.lineItems', message: expect.any(String) as unknown }]);

    const token = await api.authed.post(`/v1/subscriptions/${id}/payment-method`, { recurringToken: '' });
    expect(token.data.issues).toEqual([{ path: 'recurringToken', message: 'must not be empty' }]);

    const refund = await api.authed.post(`/v1/subscriptions/${id}/refunds`, {
      cycleId: cycleWorkflowId('someone-else', 0),
      amountMinor: 10,
    });
    expect(refund.status).toBe(400);
    expect(refund.data.issues).toEqual([{ path: 'cycleId', message: 'is not a cycle of this subscription' }]);

    const chargeback = await api.authed.post(`/v1/subscriptions/${id}/chargebacks`, {
      cycleId: cycleWorkflowId(id, 0),
      reasonId: 'r',
      arn: 'a',
      date: 'yesterday',
      reference: 'x',
    });
    expect(chargeback.data.issues).toEqual([{ path: 'date', message: 'must be Unix seconds as a string' }]);

    const markPaid = await api.authed.post(`/v1/cycles/${cycleWorkflowId(id, 0)}/mark-paid`, { paidOn: 'now' });
    expect(markPaid.data.issues).toEqual([{ path: 'paidOn', message: expect.any(String) as unknown }]);

    const list = await api.authed.get('/v1/subscriptions', { params: { status: 'sleeping', pageSize: 0 } });
    expect(list.status).toBe(400);
    expect((list.data.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(['pageSize', 'status']);
  });

  it('BillingClient gives the same field-level errors as the API', async () => {
    const body = subscriptionBody(uniqueId('client'));
    (body.plan as Record<string, unknown>).currency = 'eur';
    const err: unknown = await api.billing.createSubscription(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BillingValidationError);
    expect((err as BillingValidationError).code).toBe('validation_failed');
    const res = await api.authed.post('/v1/subscriptions', body);
    expect((err as BillingValidationError).issues).toEqual(res.data.issues);
  });

  it('CYCLE_ID_PATTERN accepts exactly what parseCycleWorkflowId accepts', () => {
    for (const id of [
      'cycle:a:0',
      'cycle:sub_1-x:123456789',
      'cycle:a:1234567890',
      'cycle::1',
      'cycle:a b:1',
      'x:a:1',
    ]) {
      expect(CYCLE_ID_PATTERN.test(id)).toBe(parseCycleWorkflowId(id) !== undefined);
    }
  });
});

describe('not found', () => {
  it('answers 404 for an unknown subscription on reads and changes', async () => {
    const id = uniqueId('ghost');
    const get = await api.authed.get(`/v1/subscriptions/${id}`);
    expect(get.status).toBe(404);
    expect(get.data.error).toBe('not_found');
    for (const [path, body] of [
      ['pause', undefined],
      ['resume', undefined],
      ['cancel', { mode: 'now' }],
      ['payment-method', { recurringToken: 'tok_x' }],
    ] as const) {
      const res = await api.authed.post(`/v1/subscriptions/${id}/${path}`, body);
      expect([path, res.status, res.data.error]).toEqual([path, 404, 'not_found']);
    }
    await expectNoWorkflow(subscriptionWorkflowId(id));
  });

  it('answers 404 for an unknown cycle', async () => {
    const cycleId = cycleWorkflowId(uniqueId('ghost'), 3);
    const get = await api.authed.get(`/v1/cycles/${cycleId}`);
    expect(get.status).toBe(404);
    expect(get.data.error).toBe('not_found');
    const retry = await api.authed.post(`/v1/cycles/${cycleId}/retry`);
    expect(retry.status).toBe(404);
  });

  it('lists no cycles for a subscription without any', async () => {
    const res = await api.authed.get(`/v1/subscriptions/${uniqueId('empty')}/cycles`);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ cycles: [] });
  });

  it('answers unknown routes with 404 not_found', async () => {
    const res = await api.authed.get('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.data).toEqual({ error: 'not_found' });
  });
});

describe('OpenAPI document', () => {
  const EXPECTED = [
    'POST /v1/subscriptions',
    'GET /v1/subscriptions',
    'GET /v1/subscriptions/{id}',
    'POST /v1/subscriptions/{id}/cancel',
    'POST /v1/subscriptions/{id}/pause',
    'POST /v1/subscriptions/{id}/resume',
    'POST /v1/subscriptions/{id}/payment-method',
    'POST /v1/subscriptions/{id}/plan',
    'GET /v1/subscriptions/{id}/cycles',
    'POST /v1/subscriptions/{id}/refunds',
    'POST /v1/subscriptions/{id}/chargebacks',
    'GET /v1/cycles/{cycleId}',
    'POST /v1/cycles/{cycleId}/mark-paid',
    'POST /v1/cycles/{cycleId}/retry',
    'POST /v1/cycles/{cycleId}/retry-settlement',
    'GET /openapi.json',
    'GET /healthz',
    'GET /readyz',
    'POST /webhooks/qorepay',
  ];

  it('lists every route, each one really served, without an API key', async () => {
    const res = await api.http.get('/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.data as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(listed.sort()).toEqual([...EXPECTED].sort());
    for (const entry of listed) {
      const [method, path] = entry.split(' ') as ['GET' | 'POST', string];
      const fastifyPath = path.replace(/\{(\w+)\}/g, ':$1');
      expect([entry, api.app.hasRoute({ method, url: fastifyPath })]).toEqual([entry, true]);
      expect(openApiPath(fastifyPath)).toBe(path);
    }
  });

  it('documents bodies from the zod schemas, security and error answers', async () => {
    const doc = (await api.http.get('/openapi.json')).data as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: {
        schemas: Record<string, { properties?: Record<string, { pattern?: string }>; required?: string[] }>;
      };
    };
    const create = doc.paths['/v1/subscriptions']!.post!;
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(create.responses as object).sort()).toEqual(['200', '201', '400', '401', '409', '503']);
    const schema = doc.components.schemas.CreateSubscription!;
    expect(schema.required).toEqual(
      expect.arrayContaining(['subscriptionId', 'customerId', 'recurringToken', 'plan', 'schedule']),
    );
    expect(schema.properties!.subscriptionId!.pattern).toBe('^[A-Za-z0-9_-]{1,64}$');
    const getCycle = doc.paths['/v1/cycles/{cycleId}']!.get!;
    expect(getCycle.parameters).toEqual([expect.objectContaining({ name: 'cycleId', in: 'path', required: true })]);
    const list = doc.paths['/v1/subscriptions']!.get!;
    expect((list.parameters as { name: string }[]).map((p) => p.name).sort()).toEqual([
      'customerId',
      'nextPageToken',
      'pageSize',
      'status',
    ]);
    expect(doc.paths['/webhooks/qorepay']!.post!.security).toEqual([]);
  });
});

describe('health and readiness', () => {
  it('/healthz answers 200 without a key; /readyz 200 when Temporal answers', async () => {
    expect((await api.http.get('/healthz')).data).toEqual({ status: 'ok' });
    const ready = await api.http.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.data).toEqual({ status: 'ready' });
  });

  it('/readyz answers 503 when the Temporal health check fails', async () => {
    const down = await startTestApi(env.client, webhookDepsFor(), {
      temporalHealth: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    try {
      const res = await down.http.get('/readyz');
      expect(res.status).toBe(503);
      expect(res.data).toEqual({ status: 'unavailable' });
      expect((await down.http.get('/healthz')).status).toBe(200);
    } finally {
      await down.close();
    }
  });

  it('answers 503 (not 500) when Temporal is unreachable', async () => {
    // A port where nothing listens: the client cannot connect.
    const connection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '500ms' });
    const client = new Client({ connection });
    const billing = new BillingClient({ client });
    const down = await startTestApi(client, webhookDepsFor(), { billing });
    try {
      const res = await down.authed.get(`/v1/subscriptions/${uniqueId('unreachable')}`);
      expect(res.status).toBe(503);
      expect(res.data.error).toBe('unavailable');
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await down.close();
      await connection.close().catch(() => undefined);
    }
  });
});

describe('QorePay webhook route', () => {
  /** A real Purchase in the sandbox whose reference is the id of a running (worker-less) cycle workflow. */
  async function purchaseForRunningCycle(): Promise<{ cycleId: string; body: Buffer }> {
    const cycleId = cycleWorkflowId(uniqueId('wh'), 0);
    await env.client.workflow.start('billingCycleWorkflow', {
      workflowId: cycleId,
      taskQueue: uniqueId('no-worker'),
      args: [],
      workflowExecutionTimeout: '5 minutes',
    });
    const purchase = await qorepay.createPurchase({
      client: { email: 'buyer@example.com' },
      reference: cycleId,
      currency: 'EUR',
      products: [{ name: 'Pro plan', price: 1999 }],
    });
    // A status a cycle acts on (the ingress does not signal for created/pending ones).
    await qorepay.cancelPurchase(purchase.id);
    const fresh = await qorepay.getPurchase(purchase.id);
    return { cycleId, body: Buffer.from(JSON.stringify({ ...fresh, event_type: 'purchase.cancelled' })) };
  }

  async function signalNames(workflowId: string): Promise<string[]> {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).flatMap((e) =>
      e.workflowExecutionSignaledEventAttributes?.signalName
        ? [e.workflowExecutionSignaledEventAttributes.signalName]
        : [],
    );
  }

  const post = (body: Buffer, signature?: string) =>
    api.http.post('/webhooks/qorepay', body, {
      headers: { 'content-type': 'application/json', ...(signature !== undefined ? { 'x-signature': signature } : {}) },
      transformRequest: [(d: unknown) => d],
    });

  it('a forged signature answers 401 and signals nothing; the genuine one is routed', async () => {
    const { cycleId, body } = await purchaseForRunningCycle();
    try {
      const forged = await post(body, sign('sha256', body, forger.privateKey).toString('base64'));
      expect(forged.status).toBe(401);
      expect(forged.data).toEqual({ ok: false, outcome: 'bad_signature' });

      const unsigned = await post(body);
      expect(unsigned.status).toBe(401);

      // The right key over different bytes (re-serialized JSON) is also a forgery.
      const reformatted = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1));
      const tampered = await post(reformatted, sign('sha256', body, trusted.privateKey).toString('base64'));
      expect(tampered.status).toBe(401);

      expect(await signalNames(cycleId)).toEqual([]);

      // Control: the same body signed with a configured key reaches the cycle (so the 401s above mean something).
      const genuine = await post(body, sign('sha256', body, trusted.privateKey).toString('base64'));
      expect(genuine.status).toBe(200);
      expect(genuine.data).toEqual({ ok: true, outcome: 'signaled' });
      expect(await signalNames(cycleId)).toEqual(['gatewayEvent']);
    } finally {
      await env.client.workflow.getHandle(cycleId).terminate('test done');
    }
  });

  it('does not require (or check) an API key, and ignores references that are not ours', async () => {
    const purchase = await qorepay.createPurchase({
      client: { email: 'buyer@example.com' },
      reference: 'invoice-42',
      currency: 'EUR',
      products: [{ name: 'One-off', price: 500 }],
    });
    const body = Buffer.from(
      JSON.stringify({ ...(await qorepay.getPurchase(purchase.id)), event_type: 'purchase.created' }),
    );
    const res = await post(body, sign('sha256', body, trusted.privateKey).toString('base64'));
    expect(res.status).toBe(200);
    expect(res.data.outcome).toBe('not_ours');
  });
});

function webhookDepsFor(): WebhookIngressDeps {
  return {
    verifier: new QorePayWebhookVerifier({ fetchCompanyKey: () => qorepay.getPublicKey() }),
    qorepay,
    temporal: env.client,
    logger: silentLogger,
  };
}

describe('logging', () => {
  it('logs requests without API keys or the Authorization header', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
    const logged = await startTestApi(env.client, webhookDepsFor(), { logger });
    try {
      await logged.authed.get(`/v1/subscriptions/${uniqueId('logged')}`);
      await logged.http.get('/v1/subscriptions', { headers: { authorization: 'Bearer a-wrong-secret-key' } });
      await logged.authed.post('/v1/subscriptions', { subscriptionId: 'x' });
    } finally {
      await logged.close();
    }
    const all = lines.join('');
    expect(all).toMatch(/incoming request/); // requests are logged at all (so the assertions below mean something)
    expect(all).not.toContain(API_KEY);
    expect(all).not.toContain('a-wrong-secret-key');
  });
});

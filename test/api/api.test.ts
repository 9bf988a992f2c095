/**
 * The HTTP API over real HTTP against the shared Temporal dev server: authentication, field-level validation (which
 * stores nothing), 404s, the OpenAPI document, health/readiness, 503 when Temporal is unreachable, and the QorePay
 * webhook route (a forged signature changes nothing; a genuine one is routed).
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { connect } from 'node:net';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { BillingClient, BillingValidationError } from '@temporal-billing/client';
import { QorePayClient, QorePayWebhookVerifier } from '../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import { qorepayCustomerVerifier } from '../../src/api/customer-verifier';
import { CYCLE_ID_PATTERN } from '@temporal-billing/client/schemas';
import { openApiPath } from '../../src/api/openapi';
import type { ApiServerOptions } from '../../src/api/server';

type WebhookIngressDeps = ApiServerOptions['webhook'];
import { cycleWorkflowId, parseCycleWorkflowId } from '../../src/shared/billing-cycle';
import { createLogger } from '../../src/logger';
import { subscriptionWorkflowId } from '../../src/shared/subscription';
import { connectToDevServer, testDataConverter, uniqueId } from '../support/temporal';
import { API_KEY, silentLogger, startTestApi, subscriptionBody, type RunningTestApi } from '../support/api-stack';
import { createTestBooks, type TestBooks } from '../support/records';
import { createBooksReader } from '../../src/records';

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
let books: TestBooks;

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
    logger: silentLogger,
  };
  // The lists read the records store: a database of this file's own.
  books = await createTestBooks();
  api = await startTestApi(env.client, webhook, {
    books: { reader: createBooksReader(books.db), seller: { name: 'Test merchant', address: [] } },
  });
});

afterAll(async () => {
  await api?.close();
  await books?.drop();
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
      expect(res.data).toEqual({ error: 'unauthorized', message: 'send the header Authorization: Bearer <API key>' });
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
    // ---- issue 9, defect 2: every create-time bound (each one stores nothing) ----
    {
      name: 'neither customerEmail nor qorepayClientId (customerEmail named)',
      mutate: (b) => delete b.customerEmail,
      path: 'customerEmail',
      message: /customerEmail or qorepayClientId/,
    },
    {
      name: 'neither customerEmail nor qorepayClientId (qorepayClientId named)',
      mutate: (b) => delete b.customerEmail,
      path: 'qorepayClientId',
      message: /customerEmail or qorepayClientId/,
    },
    {
      name: 'a plan total above 2^53 - 1',
      mutate: (b) =>
        ((b.plan as Record<string, unknown>).lineItems = [
          { name: 'a', priceMinor: 4_503_599_627_370_496, quantity: 2 },
          { name: 'b', priceMinor: 1, quantity: 1 },
        ]),
      path: 'plan.lineItems',
      message: /at most 9007199254740991/,
    },
    {
      name: 'a currency without a minor unit (gold)',
      mutate: (b) => ((b.plan as Record<string, unknown>).currency = 'XAU'),
      path: 'plan.currency',
      message: /ISO 4217/,
    },
    {
      name: 'a withdrawn currency',
      mutate: (b) => ((b.plan as Record<string, unknown>).currency = 'HRK'),
      path: 'plan.currency',
    },
    {
      name: 'an anchor before 2000-01-01',
      mutate: (b) => ((b.schedule as Record<string, unknown>).anchor = '1999-12-31T23:00'),
      path: 'schedule.anchor',
      message: /before 2000-01-01/,
    },
    {
      name: 'an anchor in 1970',
      mutate: (b) => ((b.schedule as Record<string, unknown>).anchor = '1970-01-01'),
      path: 'schedule.anchor',
    },
    {
      name: 'an anchor more than 5 years ahead',
      mutate: (b) =>
        ((b.schedule as Record<string, unknown>).anchor = `${new Date().getUTCFullYear() + 6}-01-01T09:00`),
      path: 'schedule.anchor',
      message: /at most 5 years after now/,
    },
    {
      name: 'a per-token cap above the networks’ 10 (cannot switch the cap off)',
      mutate: (b) => (b.dunning = { maxAttemptsPerToken30Days: 1_000_000 }),
      path: 'dunning.maxAttemptsPerToken30Days',
      message: /at most 10/,
    },
    {
      name: 'more than 30 retry offsets',
      mutate: (b) => (b.dunning = { softRetryOffsetsHours: Array.from({ length: 31 }, (_, i) => i + 1) }),
      path: 'dunning.softRetryOffsetsHours',
      message: /at most 30/,
    },
    {
      name: 'a retry offset beyond a year',
      mutate: (b) => (b.dunning = { softRetryOffsetsHours: [24, 8761] }),
      path: 'dunning.softRetryOffsetsHours.1',
      message: /at most 8760/,
    },
    {
      name: 'a poll interval below 0.01 h',
      mutate: (b) => (b.dunning = { pendingPollIntervalsHours: [0.001] }),
      path: 'dunning.pendingPollIntervalsHours.0',
      message: /at least 0.01/,
    },
    {
      name: 'a poll interval above 720 h',
      mutate: (b) => (b.dunning = { pendingPollIntervalsHours: [1, 721] }),
      path: 'dunning.pendingPollIntervalsHours.1',
    },
    {
      name: 'more than 30 poll intervals',
      mutate: (b) => (b.dunning = { pendingPollIntervalsHours: Array.from({ length: 31 }, () => 1) }),
      path: 'dunning.pendingPollIntervalsHours',
    },
    {
      name: 'too many merchant-configuration retries',
      mutate: (b) => (b.dunning = { merchantConfigMaxRetries: 101 }),
      path: 'dunning.merchantConfigMaxRetries',
    },
    {
      name: 'a merchant-configuration retry interval of 0',
      mutate: (b) => (b.dunning = { merchantConfigRetryHours: 0 }),
      path: 'dunning.merchantConfigRetryHours',
    },
    {
      name: 'a hard-decline grace beyond a year',
      mutate: (b) => (b.dunning = { hardDeclineGraceHours: 8761 }),
      path: 'dunning.hardDeclineGraceHours',
    },
    {
      name: 'a customerId of 129 characters',
      mutate: (b) => (b.customerId = 'c'.repeat(129)),
      path: 'customerId',
      message: /at most 128/,
    },
    {
      name: 'an email of 255 characters',
      mutate: (b) => (b.customerEmail = `${'a'.repeat(243)}@example.com`),
      path: 'customerEmail',
      message: /at most 254/,
    },
    {
      name: 'a qorepayClientId with a path in it',
      mutate: (b) => (b.qorepayClientId = '../purchases'),
      path: 'qorepayClientId',
    },
    {
      name: 'a qorepayClientId of 65 characters',
      mutate: (b) => (b.qorepayClientId = 'c'.repeat(65)),
      path: 'qorepayClientId',
    },
    {
      name: 'a recurringToken of 129 characters',
      mutate: (b) => (b.recurringToken = 't'.repeat(129)),
      path: 'recurringToken',
    },
    {
      name: 'a planId of 129 characters',
      mutate: (b) => ((b.plan as Record<string, unknown>).planId = 'p'.repeat(129)),
      path: 'plan.planId',
    },
    {
      name: 'a line-item name of 257 characters',
      mutate: (b) =>
        ((b.plan as Record<string, unknown>).lineItems = [{ name: 'n'.repeat(257), priceMinor: 1, quantity: 1 }]),
      path: 'plan.lineItems.0.name',
    },
    {
      name: 'a time zone of 65 characters',
      mutate: (b) => ((b.schedule as Record<string, unknown>).timeZone = `Europe/${'x'.repeat(58)}`),
      path: 'schedule.timeZone',
    },
    {
      name: 'a Gormic order id of 129 characters',
      mutate: (b) => (b.settlementTargets = [{ kind: 'gormic', orderId: 'o'.repeat(129) }]),
      path: 'settlementTargets.0.orderId',
    },
    {
      name: 'more than 100000 periods',
      mutate: (b) => (b.maxPeriods = 100_001),
      path: 'maxPeriods',
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

  it('refuses numbers JSON cannot hold (1e400 parses as Infinity) naming the field', async () => {
    const id = uniqueId('infinite');
    const body = JSON.stringify(subscriptionBody(id, { dunning: { hardDeclineGraceHours: 1 } })).replace(
      '"hardDeclineGraceHours":1',
      '"hardDeclineGraceHours":1e400',
    );
    const res = await api.authed.post('/v1/subscriptions', body, {
      headers: { 'content-type': 'application/json' },
      transformRequest: [(d: unknown) => d],
    });
    expect(res.status).toBe(400);
    expect(res.data.issues).toEqual([
      { path: 'dunning.hardDeclineGraceHours', message: 'must be a finite number of hours' },
    ]);
    await expectNoWorkflow(subscriptionWorkflowId(id));
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

    const markPaid = await api.operator.post(`/v1/cycles/${cycleWorkflowId(id, 0)}/mark-paid`, { paidOn: 'now' });
    expect(markPaid.data.issues).toEqual([{ path: 'paidOn', message: expect.any(String) as unknown }]);

    // The create bounds hold for the other bodies too.
    const total = await api.authed.post(`/v1/subscriptions/${id}/plan`, {
      plan: {
        planId: 'p',
        currency: 'XXX',
        lineItems: [{ name: 'a', priceMinor: Number.MAX_SAFE_INTEGER, quantity: 2 }],
      },
    });
    expect(total.status).toBe(400);
    expect((total.data.issues as { path: string }[]).map((i) => i.path).sort()).toEqual([
      'plan.currency',
      'plan.lineItems',
    ]);
    const longToken = await api.authed.post(`/v1/subscriptions/${id}/payment-method`, {
      recurringToken: 't'.repeat(129),
    });
    expect(longToken.data.issues).toEqual([{ path: 'recurringToken', message: 'must be at most 128 characters' }]);
    const longReason = await api.authed.post(`/v1/subscriptions/${id}/refunds`, {
      cycleId: cycleWorkflowId(id, 0),
      reason: 'r'.repeat(501),
    });
    expect(longReason.data.issues).toEqual([{ path: 'reason', message: 'must be at most 500 characters' }]);
    const longArn = await api.authed.post(`/v1/subscriptions/${id}/chargebacks`, {
      cycleId: cycleWorkflowId(id, 0),
      reasonId: 'r',
      arn: 'a'.repeat(65),
      date: '1700000000',
      reference: 'x',
    });
    expect(longArn.data.issues).toEqual([{ path: 'arn', message: 'must be at most 64 characters' }]);
    const msPaidOn = await api.operator.post(`/v1/cycles/${cycleWorkflowId(id, 0)}/mark-paid`, {
      paidOn: Date.now(),
      note: 'n'.repeat(501),
    });
    expect((msPaidOn.data.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(['note', 'paidOn']);

    const list = await api.authed.get('/v1/subscriptions', { params: { status: 'sleeping', pageSize: 0 } });
    expect(list.status).toBe(400);
    expect((list.data.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(['pageSize', 'status']);
  });

  it('refuses a bad Idempotency-Key header on refunds and chargebacks, naming the header', async () => {
    const id = uniqueId('idem');
    const refund = { cycleId: cycleWorkflowId(id, 0) };
    const chargeback = { ...refund, reasonId: 'r', arn: 'a', date: '1700000000', reference: 'x' };
    const bad = ['', 'tab\there', 'k'.repeat(256), 'caf\u00e9'];
    for (const [route, body] of [
      ['refunds', refund],
      ['chargebacks', chargeback],
    ] as const) {
      for (const key of bad) {
        const res = await api.authed.post(`/v1/subscriptions/${id}/${route}`, body, {
          headers: { 'idempotency-key': key },
        });
        expect([route, key, res.status]).toEqual([route, key, 400]);
        expect(res.data.issues).toEqual([{ path: 'Idempotency-Key', message: expect.any(String) as unknown }]);
      }
      // A good key passes validation (the subscription does not exist: 404, not 400).
      const ok = await api.authed.post(`/v1/subscriptions/${id}/${route}`, body, {
        headers: { 'idempotency-key': `${'k'.repeat(250)} ~!@#` },
      });
      expect(ok.status).toBe(404);
    }
  });

  it('BillingClient gives the same field-level errors as the API', async () => {
    const body = subscriptionBody(uniqueId('client'));
    (body.plan as Record<string, unknown>).currency = 'eur';
    const err: unknown = await api.billing.createSubscription(body as never).catch((e: unknown) => e);
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

  it("answers 404 for the cycles of a subscription that does not exist (as for another merchant's)", async () => {
    const res = await api.authed.get(`/v1/subscriptions/${uniqueId('empty')}/cycles`);
    expect(res.status).toBe(404);
    expect(res.data.error).toBe('not_found');
  });

  it('answers unknown routes with 404 not_found', async () => {
    const res = await api.authed.get('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.data).toEqual({ error: 'not_found', message: 'no route GET /v1/nothing-here; see /openapi.json' });
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
    'GET /v1/subscriptions/{id}/payments',
    'POST /v1/subscriptions/{id}/refunds',
    'POST /v1/subscriptions/{id}/chargebacks',
    'GET /v1/cycles/{cycleId}',
    'POST /v1/cycles/{cycleId}/mark-paid',
    'POST /v1/cycles/{cycleId}/retry',
    'POST /v1/cycles/{cycleId}/retry-settlement',
    'POST /v1/reconciliations',
    'GET /v1/reconciliations/{reconciliationId}',
    'GET /v1/invoices',
    'GET /v1/invoices/{invoiceId}',
    'GET /v1/invoices/{invoiceId}/invoice.html',
    'GET /v1/invoices/{invoiceId}/invoice.pdf',
    'GET /v1/credit-notes/{creditNoteId}',
    'GET /v1/credit-notes/{creditNoteId}/credit-note.html',
    'GET /v1/credit-notes/{creditNoteId}/credit-note.pdf',
    'GET /api',
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

  it('answers GET /api with the API name, version and links, without an API key; GET / sends a browser there', async () => {
    const root = await api.http.get('/', { maxRedirects: 0 });
    expect([root.status, root.headers.location]).toEqual([303, '/api']);
    const res = await api.http.get('/api');
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({ version: '0.1.0', links: { openapi: '/openapi.json', health: '/healthz' } });
    for (const path of ['/openapi.json', '/healthz']) expect((await api.http.get(path)).status).toBe(200);
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
    const refund = doc.paths['/v1/subscriptions/{id}/refunds']!.post!;
    expect(refund.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: expect.stringMatching(/same key/) as unknown,
          schema: expect.objectContaining({ maxLength: 255 }) as unknown,
        }),
      ]),
    );
    const chargeback = doc.paths['/v1/subscriptions/{id}/chargebacks']!.post!;
    expect((chargeback.parameters as { name: string }[]).map((p) => p.name)).toContain('Idempotency-Key');
    const anchor = (schema.properties!.schedule as { properties?: Record<string, { description?: string }> })
      .properties!.anchor!;
    expect(anchor.description).toMatch(/period containing the creation time/);
    expect(anchor.description).toMatch(/earlier periods are never charged/);
    const list = doc.paths['/v1/subscriptions']!.get!;
    expect((list.parameters as { name: string }[]).map((p) => p.name).sort()).toEqual([
      'cursor',
      'customerId',
      'limit',
      'nextPageToken',
      'pageSize',
      'planId',
      'status',
    ]);
    expect(doc.paths['/webhooks/qorepay']!.post!.security).toEqual([]);
  });
});

describe('qorepayClientId is checked at the gateway before anything starts', () => {
  const withVerifier = (gateway: QorePayClient) =>
    startTestApi(env.client, webhookDepsFor(), {
      billing: new BillingClient({
        client: env.client,
        taskQueue: uniqueId('no-worker'),
        firstQueryTimeoutMs: 500,
        customerVerifier: qorepayCustomerVerifier(gateway),
      }),
    });

  it('an unknown client id answers 400 naming qorepayClientId and starts nothing', async () => {
    const verified = await withVerifier(qorepay);
    try {
      const id = uniqueId('unknown-client');
      const res = await verified.authed.post(
        '/v1/subscriptions',
        subscriptionBody(id, { qorepayClientId: randomUUID() }),
      );
      expect(res.status).toBe(400);
      expect(res.data).toEqual({
        error: 'validation_failed',
        issues: [{ path: 'qorepayClientId', message: 'no such client at QorePay' }],
      });
      await expectNoWorkflow(subscriptionWorkflowId(id));
    } finally {
      await verified.close();
    }
  });

  it('a gateway outage during the check answers 503 (not 201, not 400) and starts nothing', async () => {
    const down = new QorePayClient({
      baseUrl: 'http://127.0.0.1:9/api/v1',
      apiKey: SANDBOX_KEY,
      brandId: '00000000-0000-4000-8000-000000000001',
      timeoutMs: 2000,
    });
    const verified = await withVerifier(down);
    try {
      const id = uniqueId('gateway-down');
      const clientId = sandbox.purchase(sandbox.createRecurringToken())!.client_id!;
      const res = await verified.authed.post('/v1/subscriptions', subscriptionBody(id, { qorepayClientId: clientId }));
      expect(res.status).toBe(503);
      expect(res.data.error).toBe('unavailable');
      expect(res.data.message).toMatch(/payment gateway/);
      expect(res.headers['retry-after']).toBeDefined();
      await expectNoWorkflow(subscriptionWorkflowId(id));
      // A create with only an email needs no gateway answer: it starts, and (no worker on this queue) its first read
      // fails, which is 503 from Temporal, not from the gateway.
      const emailOnlyId = uniqueId('email-only');
      const emailOnly = await verified.authed.post('/v1/subscriptions', subscriptionBody(emailOnlyId));
      expect([emailOnly.status, emailOnly.data.message]).toEqual([503, 'Temporal is unreachable; retry later']);
      await env.client.workflow.getHandle(subscriptionWorkflowId(emailOnlyId)).terminate('test over');
    } finally {
      await verified.close();
    }
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
    const client = new Client({ connection, dataConverter: testDataConverter });
    const billing = new BillingClient({ client });
    const down = await startTestApi(client, webhookDepsFor(), { billing });
    try {
      const started = Date.now();
      const res = await down.authed.get(`/v1/subscriptions/${uniqueId('unreachable')}`);
      const webhook = await down.http.post('/webhooks/qorepay', Buffer.from('{}'), {
        headers: { 'content-type': 'application/json', 'x-signature': 'AAAA' },
      });
      console.log(
        `Temporal stopped: GET subscription ${res.status} ${JSON.stringify(res.data)}, webhook ${webhook.status}, ` +
          `both in ${Date.now() - started} ms`,
      );
      expect(res.status).toBe(503);
      expect(res.data.error).toBe('unavailable');
      expect(res.headers['retry-after']).toBeDefined();
      expect(webhook.status).toBe(503);
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

describe('limits: body sizes and request timeouts', () => {
  let limited: Awaited<ReturnType<typeof startTestApi>>;
  beforeAll(async () => {
    limited = await startTestApi(env.client, webhookDepsFor(), {
      bodyLimitBytes: 4096,
      webhookBodyLimitBytes: 1024,
      requestTimeoutMs: 1000,
    });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('answers 413 above the body limit, and the webhook route has a smaller one', async () => {
    const big = { ...subscriptionBody(uniqueId('big')), customerEmail: `${'a'.repeat(5000)}@example.com` };
    const tooBig = await limited.authed.post('/v1/subscriptions', big);
    const twoKiB = Buffer.from(JSON.stringify({ pad: 'x'.repeat(2000) }));
    const merchant2k = await limited.authed.post('/v1/subscriptions', twoKiB, {
      headers: { 'content-type': 'application/json' },
    });
    const webhook2k = await limited.http.post('/webhooks/qorepay', twoKiB, {
      headers: { 'content-type': 'application/json', 'x-signature': 'AAAA' },
    });
    console.log(
      `limits: 5 KiB create ${tooBig.status} ${JSON.stringify(tooBig.data)}; 2 KiB create ${merchant2k.status}; ` +
        `2 KiB webhook ${webhook2k.status} ${JSON.stringify(webhook2k.data)}`,
    );
    expect(tooBig.status).toBe(413);
    expect(merchant2k.status).toBe(400); // within the limit: validated, and refused field by field
    expect(webhook2k.status).toBe(413);
  });

  it('cuts off a client that sends its body too slowly (408, connection closed)', async () => {
    const { hostname, port } = new URL(limited.url);
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `POST /v1/subscriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"subscriptionId":',
    );
    // ... and nothing more: the server must not wait for the rest forever.
    await closed;
    const answer = Buffer.concat(received).toString('utf8');
    console.log(`slow body: server answered ${JSON.stringify(answer.split('\r\n')[0])} and closed the connection`);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

/**
 * The merchant-facing lists come from the records store (issue 21, item 3), end to end in real time: the API over
 * HTTP, a real billing worker writing the books into a PostgreSQL database of its own, and the QorePay sandbox whose
 * signed webhooks reach the API. A paid cycle is a paid invoice in the list; a refund is a credit note on it; a plan
 * change shows in the subscription list with its new amount; the lists stay after the workflows are gone (what
 * Temporal's retention does); another merchant's rows are 404 or absent; an unreachable database is a 503.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { apiKeyHash, plainOperatorKey } from '../../src/config';
import { connectBooks, createBooksReader } from '../../src/records';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import { subscriptionWorkflowId } from '../../src/shared/subscription';
import {
  API_KEY,
  OPERATOR_API_KEY,
  eventually,
  silentLogger,
  startApiStack,
  startTestApi,
  subscriptionBody,
  type ApiStack,
  type Http,
  type RunningTestApi,
} from '../support/api-stack';
import { connectToDevServer, uniqueId } from '../support/temporal';
import axios from 'axios';
import { BillingOperator } from '@temporal-billing/client/engine';
import { buildCli } from '../../src/cli';
import { QorePayClient } from '../../src/integrations/qorepay';
import { createBooksWriter } from '../../src/records';

const SANDBOX_KEY = 'sandbox-key-for-records-lists-e2e';
const ACME_KEY = 'acme-merchant-key-0123456789';
const WAIT_MS = 60_000;

let env: TestWorkflowEnvironment;
let stack: ApiStack;
let api: RunningTestApi;
let acme: Http;

beforeAll(async () => {
  env = await connectToDevServer();
  stack = await startApiStack(env, {
    taskQueue: uniqueId('lists-e2e'),
    sandboxKey: SANDBOX_KEY,
    webhookRetryDelaysMs: [0, 200, 1000, 3000],
    pendingResolveDelayMs: 1000,
    apiKeys: [
      API_KEY,
      plainOperatorKey(OPERATOR_API_KEY, 0),
      { id: 'acme-1', merchantId: 'acme', sha256: apiKeyHash(ACME_KEY), scopes: ['merchant'], settlement: {} },
    ],
  });
  ({ api } = stack);
  acme = axios.create({
    baseURL: api.url,
    validateStatus: () => true,
    timeout: 60_000,
    headers: { authorization: `Bearer ${ACME_KEY}` },
  });
});

afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

const subId = () => uniqueId('lists').replace(/[^A-Za-z0-9_-]/g, '');
const minute = (offsetMinutes = 0) => new Date(Date.now() + offsetMinutes * 60_000).toISOString().slice(0, 16);
const daily = (anchor: string) => ({ intervalUnit: 'day', intervalCount: 1, anchor, timeZone: 'UTC' });

interface Row {
  [k: string]: unknown;
}
async function rows(http: Http, url: string, key: string, params: Record<string, unknown> = {}): Promise<Row[]> {
  const res = await http.get(url, { params });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(res.data)}`);
  return (res.data as Record<string, Row[]>)[key] ?? [];
}

/** Deletes every row of a subscription from the books (what a lost or restored database looks like). */
async function forgetSubscription(id: string): Promise<void> {
  const db = stack.books.db;
  const invoices = (
    await db.selectFrom('invoices').select('invoice_id').where('subscription_id', '=', id).execute()
  ).map((i) => i.invoice_id);
  if (invoices.length) {
    await db.deleteFrom('credit_notes').where('invoice_id', 'in', invoices).execute();
    await db.deleteFrom('invoice_lines').where('invoice_id', 'in', invoices).execute();
  }
  await db.deleteFrom('payments').where('subscription_id', '=', id).execute();
  await db.deleteFrom('invoices').where('subscription_id', '=', id).execute();
  await db.deleteFrom('cycles').where('subscription_id', '=', id).execute();
  await db.deleteFrom('subscriptions').where('subscription_id', '=', id).execute();
}

/** `billing records rebuild <id>` with the stack's books, gateway and Temporal; its JSON report. */
async function rebuildWithCli(id: string): Promise<{ merchantId: string; written: string[]; notes: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const qorepay = new QorePayClient({
    baseUrl: stack.sandbox.baseUrl,
    apiKey: SANDBOX_KEY,
    brandId: '00000000-0000-4000-8000-000000000001',
    timeoutMs: 5000,
  });
  const writer = createBooksWriter({
    db: stack.books.db,
    defaultMerchantId: 'default',
    readPurchase: async (purchaseId) => {
      const p = await qorepay.getPurchase(purchaseId);
      return { totalMinor: p.purchase.total, products: p.purchase.products };
    },
  });
  await buildCli({
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    connect: async () => new BillingOperator({ client: env.client, taskQueue: stack.taskQueue }),
    rebuildTools: async () => ({ deps: { qorepay, writer }, close: async () => undefined }),
    setExitCode: (code) => err.push(`exit ${code}`),
  }).parseAsync(['--json', 'records', 'rebuild', id], { from: 'user' });
  expect(err).toEqual([]);
  return JSON.parse(out.join('')) as { merchantId: string; written: string[]; notes: string[] };
}

describe('lists from the records', () => {
  it('a paid cycle is a paid invoice; a refund a credit note on it; both stay after the workflows are gone', async () => {
    const id = subId();
    const created = await api.authed.post(
      '/v1/subscriptions',
      subscriptionBody(id, { schedule: daily(minute()), recurringToken: `tok_success_${id}` }),
    );
    expect(created.status).toBe(201);
    const cycleId = cycleWorkflowId(id, 0);

    const invoice = await eventually(
      async () => {
        const list = await rows(api.authed, '/v1/invoices', 'invoices', { subscriptionId: id });
        return list.length === 1 && list[0]!.status === 'paid' ? list[0]! : undefined;
      },
      'a paid invoice for cycle 0',
      WAIT_MS,
    );
    expect(invoice).toMatchObject({ cycleId, subscriptionId: id, currency: 'EUR', totalMinor: 1999 });
    const invoiceId = invoice.invoiceId as string;
    // By status and by number too.
    const paid = await rows(api.authed, '/v1/invoices', 'invoices', { status: 'paid', number: invoice.number });
    expect(paid.map((i) => i.invoiceId)).toEqual([invoiceId]);
    expect(await rows(api.authed, '/v1/invoices', 'invoices', { status: 'open', subscriptionId: id })).toEqual([]);

    const cycles = await rows(api.authed, `/v1/subscriptions/${id}/cycles`, 'cycles');
    expect(cycles).toMatchObject([{ cycleId, periodIndex: 0, status: 'paid', amountMinor: 1999, invoiceId }]);

    const refund = await api.authed.post(`/v1/subscriptions/${id}/refunds`, { cycleId, amountMinor: 500 });
    expect(refund.status).toBe(201);
    const doc = await eventually(
      async () => {
        const res = await api.authed.get(`/v1/invoices/${invoiceId}`);
        const notes = (res.data as { creditNotes?: Row[] }).creditNotes ?? [];
        return notes.length === 1 ? (res.data as unknown as { creditNotes: Row[] }) : undefined;
      },
      'a credit note on the invoice',
      WAIT_MS,
    );
    const note = doc.creditNotes[0]!;
    expect(note).toMatchObject({ kind: 'refund', amountMinor: 500, currency: 'EUR' });
    const cn = await api.authed.get(`/v1/credit-notes/${note.creditNoteId as string}`);
    expect(cn.status).toBe(200);
    expect(cn.data).toMatchObject({ invoiceId, subscriptionId: id, amountMinor: 500 });

    const payments = await rows(api.authed, `/v1/subscriptions/${id}/payments`, 'payments');
    expect(payments.map((p) => [p.kind, p.amountMinor, p.invoiceId])).toEqual([
      ['refund', 500, invoiceId],
      ['charge', 1999, invoiceId],
    ]);

    // The operator's rebuild (issue 21 item 8): the books of this subscription lost, rebuilt from Temporal and the
    // gateway through the CLI; a second rebuild writes nothing twice.
    await forgetSubscription(id);
    expect(await rows(api.authed, `/v1/subscriptions/${id}/cycles`, 'cycles').catch((e: Error) => e.message)).toMatch(
      /404/,
    );
    const first = await rebuildWithCli(id);
    expect(first.merchantId).toBe('default');
    expect(first.notes).toEqual([]);
    // The invoice is issued again (a new id and number: the lost ones are not reused), once.
    let rebuiltId = '';
    for (let again = 0; again < 2; again++) {
      if (again) await rebuildWithCli(id);
      const [rebuilt, ...more] = await rows(api.authed, '/v1/invoices', 'invoices', { subscriptionId: id });
      expect(more).toEqual([]);
      if (again) expect(rebuilt!.invoiceId).toBe(rebuiltId);
      rebuiltId = rebuilt!.invoiceId as string;
      expect(rebuilt).toMatchObject({ cycleId, status: 'paid', totalMinor: 1999, paidMinor: 1999 });
      const full = await api.authed.get(`/v1/invoices/${rebuilt!.invoiceId as string}`);
      expect((full.data as { creditNotes: Row[] }).creditNotes).toMatchObject([{ kind: 'refund', amountMinor: 500 }]);
      expect((await rows(api.authed, `/v1/subscriptions/${id}/payments`, 'payments')).map((p) => p.kind)).toEqual([
        'refund',
        'charge',
      ]);
      expect(await rows(api.authed, '/v1/subscriptions', 'subscriptions', { customerId: `cust-${id}` })).toMatchObject([
        { subscriptionId: id, planId: 'pro', amountMinor: 1999, status: 'active' },
      ]);
    }

    // What Temporal's retention does to closed workflows: they are gone. The lists do not depend on them.
    for (const workflowId of [cycleWorkflowId(id, 0), subscriptionWorkflowId(id)]) {
      await env.client.workflowService.deleteWorkflowExecution({
        namespace: env.namespace ?? 'default',
        workflowExecution: { workflowId },
      });
    }
    await eventually(
      async () => (await api.authed.get(`/v1/subscriptions/${id}`)).status === 404,
      'the subscription workflow deleted',
      WAIT_MS,
    );
    expect((await rows(api.authed, '/v1/subscriptions', 'subscriptions', { customerId: `cust-${id}` })).length).toBe(1);
    expect(await rows(api.authed, `/v1/subscriptions/${id}/cycles`, 'cycles')).toMatchObject([
      { cycleId, status: 'paid', invoiceId: rebuiltId },
    ]);
    expect((await rows(api.authed, `/v1/subscriptions/${id}/payments`, 'payments')).length).toBe(2);
  });

  it('a plan change shows in the subscription list with its amount, and the period is charged on it', async () => {
    const id = subId();
    // Period 0 starts in 1 to 2 minutes: the change made now is pending until then, and that period bills it.
    const created = await api.authed.post(
      '/v1/subscriptions',
      subscriptionBody(id, { schedule: daily(minute(2)), recurringToken: `tok_success_${id}` }),
    );
    expect(created.status).toBe(201);
    const plan = { planId: 'team', currency: 'EUR', lineItems: [{ name: 'Team plan', priceMinor: 4900, quantity: 3 }] };
    expect((await api.authed.post(`/v1/subscriptions/${id}/plan`, { plan })).status).toBe(200);

    const pending = await eventually(
      async () => {
        const list = await rows(api.authed, '/v1/subscriptions', 'subscriptions', { customerId: `cust-${id}` });
        return list[0]?.pendingPlan ? list[0] : undefined;
      },
      'the pending plan in the list',
      WAIT_MS,
    );
    expect(pending).toMatchObject({ planId: 'pro', amountMinor: 1999, pendingPlan: plan });

    const listed = await eventually(
      async () => {
        const list = await rows(api.authed, '/v1/subscriptions', 'subscriptions', { planId: 'team' });
        return list.find((s) => s.subscriptionId === id);
      },
      'the new plan in effect in the list',
      2 * WAIT_MS,
    );
    expect(listed).toMatchObject({ planId: 'team', currency: 'EUR', amountMinor: 14_700, plan });
    expect(listed.pendingPlan).toBeUndefined();
    const old = await rows(api.authed, '/v1/subscriptions', 'subscriptions', {
      planId: 'pro',
      customerId: `cust-${id}`,
    });
    expect(old).toEqual([]);

    const invoice = await eventually(
      async () => {
        const list = await rows(api.authed, '/v1/invoices', 'invoices', { subscriptionId: id, status: 'paid' });
        return list[0];
      },
      'the paid invoice of period 0',
      WAIT_MS,
    );
    expect(invoice.totalMinor).toBe(14_700);
  }, 240_000);

  it("scopes lists to the caller's merchant: another merchant's subscription is absent or 404; operators see all", async () => {
    const mine = subId();
    const theirs = subId();
    const customerId = uniqueId('shared-cust');
    expect((await api.authed.post('/v1/subscriptions', subscriptionBody(mine, { customerId }))).status).toBe(201);
    expect((await acme.post('/v1/subscriptions', subscriptionBody(theirs, { customerId }))).status).toBe(201);

    const all = await eventually(
      async () => {
        const list = await rows(api.operator, '/v1/subscriptions', 'subscriptions', { customerId });
        return list.length === 2 ? list : undefined;
      },
      'both subscriptions in the operator list',
      WAIT_MS,
    );
    expect(all.map((s) => [s.subscriptionId, s.merchantId]).sort()).toEqual(
      [
        [mine, 'default'],
        [theirs, 'acme'],
      ].sort(),
    );
    expect(
      (await rows(api.authed, '/v1/subscriptions', 'subscriptions', { customerId })).map((s) => s.merchantId),
    ).toEqual(['default']);
    expect(
      (await rows(acme, '/v1/subscriptions', 'subscriptions', { customerId })).map((s) => s.subscriptionId),
    ).toEqual([theirs]);
    for (const path of ['cycles', 'payments']) {
      const res = await api.authed.get(`/v1/subscriptions/${theirs}/${path}`);
      expect(res.status).toBe(404);
      expect(res.data.error).toBe('not_found');
      expect((await acme.get(`/v1/subscriptions/${theirs}/${path}`)).status).toBe(200);
      expect((await api.operator.get(`/v1/subscriptions/${theirs}/${path}`)).status).toBe(200);
    }
  });

  it('pages without repeats or gaps; a bad parameter is a 400 naming it', async () => {
    const customerId = uniqueId('paged');
    const ids = [subId(), subId(), subId(), subId(), subId()];
    for (const id of ids) {
      expect((await api.authed.post('/v1/subscriptions', subscriptionBody(id, { customerId }))).status).toBe(201);
    }
    await eventually(
      async () => (await rows(api.authed, '/v1/subscriptions', 'subscriptions', { customerId })).length === 5,
      'five subscriptions recorded',
      WAIT_MS,
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const res = await api.authed.get('/v1/subscriptions', { params: { customerId, limit: 2, cursor } });
      expect(res.status).toBe(200);
      seen.push(...(res.data.subscriptions ?? []).map((s) => s.subscriptionId));
      expect(res.data.nextPageToken).toBe(res.data.nextCursor);
      cursor = res.data.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(5);
    expect([...seen].sort()).toEqual([...ids].sort());

    for (const [params, path] of [
      [{ limit: 201 }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ status: 'sleeping' }, 'status'],
      [{ cursor: 'bm90LWEtY3Vyc29y' }, 'cursor'],
      [{ nextPageToken: 'bm90LWEtY3Vyc29y' }, 'nextPageToken'],
      [{ colour: 'blue' }, ''],
    ] as const) {
      const res = await api.authed.get('/v1/subscriptions', { params });
      expect(res.status).toBe(400);
      expect(res.data.error).toBe('validation_failed');
      if (path) expect(res.data.issues?.map((i) => i.path)).toContain(path);
    }
    const badPeriod = await api.authed.get('/v1/invoices', { params: { periodFrom: 'yesterday' } });
    expect(badPeriod.status).toBe(400);
    expect(badPeriod.data.issues?.map((i) => i.path)).toContain('periodFrom');
  });
});

describe('a records store that does not answer', () => {
  it('answers 503 with a message on every list', async () => {
    const down = connectBooks('postgres://nobody:nothing@127.0.0.1:1/books', { connectTimeoutMs: 500 });
    const app = await startTestApi(
      env.client,
      { verifier: { verify: async () => false } as never, qorepay: {} as never, logger: silentLogger },
      { books: { reader: createBooksReader(down.db), seller: { name: 'Test', address: [] } } },
    );
    try {
      for (const url of [
        '/v1/subscriptions',
        '/v1/subscriptions/sub_1/cycles',
        '/v1/subscriptions/sub_1/payments',
        '/v1/invoices',
      ]) {
        const res = await app.authed.get(url);
        expect(res.status).toBe(503);
        expect(res.data).toMatchObject({ error: 'unavailable' });
        expect(res.data.message).toMatch(/records store/);
      }
    } finally {
      await app.close();
      await down.close();
    }
  });
});

describe('the API server with the console configured', () => {
  it('starts (its console and its API each answer their own 404), and / sends a browser to the console', async () => {
    // Before the fix the server refused to start: the console set a second not-found handler for the root prefix.
    const app = await startTestApi(
      env.client,
      { verifier: { verify: async () => false } as never, qorepay: {} as never, logger: silentLogger },
      {
        console: {
          db: stack.books.db,
          sessionKey: Buffer.alloc(32, 7),
          secureCookie: false,
          seller: { name: 'Test', address: [] },
          namespace: 'default',
        },
      },
    );
    try {
      const root = await app.http.get('/', { maxRedirects: 0 });
      expect([root.status, root.headers.location]).toEqual([303, '/console']);
      const apiMiss = await app.authed.get('/v1/no-such-route');
      expect([apiMiss.status, apiMiss.data.error]).toEqual([404, 'not_found']);
      const login = await app.http.get('/console/login');
      expect(login.status).toBe(200);
      expect(String(login.headers['content-type'])).toMatch(/text\/html/);
    } finally {
      await app.close();
    }
  });
});

/**
 * The console's routes over a real records database (Fastify inject): sign-in and a wrong key, CSRF refusal, merchant
 * scoping (another merchant's subscription is a 404), an action sent through the viewer's BillingClient with the
 * form's Idempotency-Key (a double submit sends the same key), hostile customer text escaped, the CSV formula guard,
 * the CSP, and that no key reaches a page.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createTestBooks, type TestBooks } from '../../support/records';
import {
  buildConsoleApp,
  FORMULA_CUSTOMER,
  HOSTILE_CUSTOMER,
  MERCHANT_KEY,
  OPERATOR_KEY,
  recordingBilling,
  seedConsoleBooks,
  type RecordedChange,
} from '../../support/console-stack';

let books: TestBooks;
let app: FastifyInstance;
const changes: RecordedChange[] = [];

beforeAll(async () => {
  books = await createTestBooks();
  await seedConsoleBooks(books.db);
  app = await buildConsoleApp(books.db, recordingBilling(changes));
});
afterAll(async () => {
  await app?.close();
  await books?.drop();
});
beforeEach(() => {
  changes.length = 0;
});

/** A browser: keeps the session cookie, reads the CSRF token of the last page. */
class Browser {
  cookie = '';
  csrf = '';
  async get(url: string): Promise<LightMyRequestResponse> {
    return this.keep(await app.inject({ method: 'GET', url, headers: this.cookie ? { cookie: this.cookie } : {} }));
  }
  async post(
    url: string,
    form: Record<string, string>,
    opts: { csrf?: boolean } = {},
  ): Promise<LightMyRequestResponse> {
    const body = new URLSearchParams({ ...(opts.csrf === false ? {} : { _csrf: this.csrf }), ...form }).toString();
    return this.keep(
      await app.inject({
        method: 'POST',
        url,
        payload: body,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(this.cookie ? { cookie: this.cookie } : {}),
        },
      }),
    );
  }
  private keep(res: LightMyRequestResponse): LightMyRequestResponse {
    const c = res.cookies.find((x) => x.name === 'billing_console');
    if (c) this.cookie = `billing_console=${encodeURIComponent(c.value)}`;
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (token) this.csrf = token;
    return res;
  }
  async signIn(key: string): Promise<LightMyRequestResponse> {
    await this.get('/console/login');
    return this.post('/console/login', { apiKey: key });
  }
}

describe('sign-in', () => {
  it('sends a visitor without a session to the sign-in page, signs in with a key, and keeps the key out of pages', async () => {
    const b = new Browser();
    const first = await b.get('/console');
    expect([first.statusCode, first.headers.location]).toEqual([303, '/console/login']);
    const login = await b.get('/console/login');
    expect(login.statusCode).toBe(200);
    expect(login.body).toContain('Sign in to the billing console');
    const signedIn = await b.post('/console/login', { apiKey: MERCHANT_KEY });
    expect([signedIn.statusCode, signedIn.headers.location]).toEqual([303, '/console']);
    const cookie = signedIn.cookies.find((c) => c.name === 'billing_console')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(cookie.value).not.toContain(MERCHANT_KEY);
    const overview = await b.get('/console');
    expect(overview.statusCode).toBe(200);
    expect(overview.body).toContain('<h1>Overview</h1>');
    expect(overview.body).toContain('key shop-a-key');
    expect(overview.body).not.toContain(MERCHANT_KEY);
    // The attention queue shows the card declined for good, with the action that resolves it.
    expect(overview.body).toContain('Action required: the card was declined for good');
    expect(overview.body).toContain('/console/subscriptions/sub_hostile/actions/payment-method');
  });

  it('refuses a wrong key with 401, naming the field, and signs nobody in', async () => {
    const b = new Browser();
    const res = await b.signIn('not-a-real-key-0000000000');
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('apiKey: not a key this engine knows');
    expect(res.body).not.toContain('not-a-real-key-0000000000');
    const after = await b.get('/console');
    expect(after.statusCode).toBe(303);
    const empty = await b.post('/console/login', { apiKey: '' });
    expect([empty.statusCode, empty.body.includes('apiKey: required')]).toEqual([400, true]);
  });

  it('signs out: the session no longer opens pages', async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    await b.get('/console');
    const out = await b.post('/console/logout', {});
    expect([out.statusCode, out.headers.location]).toEqual([303, '/console/login']);
    expect((await b.get('/console')).statusCode).toBe(303);
  });

  it('sends a strict CSP (no script at all) and the stylesheet from the console itself', async () => {
    const b = new Browser();
    const res = await b.get('/console/login');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toMatch(/script-src|unsafe-inline/);
    expect(res.body).not.toMatch(/<script|style="/);
    const css = await b.get('/console/assets/console.css');
    expect([css.statusCode, String(css.headers['content-type'])]).toEqual([200, 'text/css; charset=utf-8']);
  });
});

describe('CSRF', () => {
  it('refuses a form without the token (or with another session’s) and changes nothing', async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    await b.get('/console/subscriptions/sub_alpha/actions/pause');
    const key = 'idem-csrf-0000000001';
    const missing = await b.post(
      '/console/subscriptions/sub_alpha/actions/pause',
      { idempotencyKey: key },
      { csrf: false },
    );
    expect(missing.statusCode).toBe(403);
    expect(missing.body).toContain('CSRF token missing or wrong');
    const other = new Browser();
    await other.signIn(MERCHANT_KEY);
    await other.get('/console');
    const forged = await b.post(
      '/console/subscriptions/sub_alpha/actions/pause',
      { idempotencyKey: key, _csrf: other.csrf },
      { csrf: false },
    );
    expect(forged.statusCode).toBe(403);
    expect(changes).toEqual([]);
  });
});

describe('merchant scoping', () => {
  it("answers 404 for another merchant's subscription, cycle and invoice; an operator sees them and may switch", async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    for (const url of [
      '/console/subscriptions/sub_bravo',
      '/console/cycles/cycle:sub_bravo:0',
      '/console/subscriptions/sub_bravo/actions/pause',
      '/console/invoices/inv_sub_bravo_0/invoice.html',
    ]) {
      const res = await b.get(url);
      expect([url, res.statusCode]).toEqual([url, 404]);
      expect(res.body).not.toContain('cust-bob');
    }
    const list = await b.get('/console/subscriptions');
    expect(list.body).toContain('sub_alpha');
    expect(list.body).not.toContain('sub_bravo');

    const op = new Browser();
    await op.signIn(OPERATOR_KEY);
    const seen = await op.get('/console/subscriptions/sub_bravo');
    expect([seen.statusCode, seen.body.includes('cust-bob')]).toEqual([200, true]);
    await op.get('/console');
    const switched = await op.post('/console/merchant', { merchant: 'shop-b' });
    expect(switched.statusCode).toBe(303);
    const only = await op.get('/console/subscriptions');
    expect(only.body).toContain('sub_bravo');
    expect(only.body).not.toContain('sub_alpha');
    const unknown = await op.post('/console/merchant', { merchant: 'nobody' });
    expect([unknown.statusCode, unknown.body.includes('<strong>merchant</strong>')]).toEqual([400, true]);
  });
});

describe('actions', () => {
  it("sends pause through the viewer's BillingClient with the form's Idempotency-Key; a double submit sends the same key", async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    const confirm = await b.get('/console/subscriptions/sub_alpha/actions/pause');
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('Pauses sub_alpha: no charges until it is resumed.');
    const key = /name="idempotencyKey" value="([^"]+)"/.exec(confirm.body)![1]!;
    expect(confirm.body).toContain(`Idempotency-Key <code>${key}</code>`);
    const form = { idempotencyKey: key };
    const first = await b.post('/console/subscriptions/sub_alpha/actions/pause', form);
    const second = await b.post('/console/subscriptions/sub_alpha/actions/pause', form);
    expect([first.statusCode, first.headers.location]).toEqual([303, '/console/subscriptions/sub_alpha']);
    expect(second.statusCode).toBe(303);
    expect(changes.map((c) => [c.method, c.args[0], c.idempotencyKey, c.merchantId, c.keyId, c.crossMerchant])).toEqual(
      [
        ['subscriptions.pause', 'sub_alpha', key, 'shop-a', 'shop-a-key', false],
        ['subscriptions.pause', 'sub_alpha', key, 'shop-a', 'shop-a-key', false],
      ],
    );
    const page = await b.get('/console/subscriptions/sub_alpha');
    expect(page.body).toContain(`Pause: Subscription is paused. (Idempotency-Key ${key})`);
  });

  it('reviews a refund (what will move) before sending it, and names a bad field', async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    const confirm = await b.get('/console/cycles/cycle:sub_alpha:0/actions/refund');
    const key = /name="idempotencyKey" value="([^"]+)"/.exec(confirm.body)![1]!;
    const bad = await b.post('/console/cycles/cycle:sub_alpha:0/actions/refund', {
      idempotencyKey: key,
      amount: 'lots',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/<strong>amount<\/strong>:/);
    const review = await b.post('/console/cycles/cycle:sub_alpha:0/actions/refund', {
      idempotencyKey: key,
      amount: '5.00',
    });
    expect(review.statusCode).toBe(200);
    expect(review.body).toContain('Refunds 5.00 EUR of the 19.99 EUR paid for period 0');
    expect(changes).toEqual([]);
    const done = await b.post('/console/cycles/cycle:sub_alpha:0/actions/refund', {
      idempotencyKey: key,
      amount: '5.00',
      confirmed: 'yes',
    });
    expect(done.statusCode).toBe(303);
    expect(changes.map((c) => [c.method, c.args[0], c.args[1], c.idempotencyKey])).toEqual([
      ['subscriptions.refund', 'sub_alpha', { cycleId: 'cycle:sub_alpha:0', amountMinor: 500 }, key],
    ]);
  });

  it('refuses operator-only actions to a merchant key and a missing Idempotency-Key, changing nothing', async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    expect((await b.get('/console/cycles/cycle:sub_alpha:0/actions/mark-paid')).statusCode).toBe(404);
    await b.get('/console/subscriptions/sub_alpha/actions/pause');
    const res = await b.post('/console/subscriptions/sub_alpha/actions/pause', { idempotencyKey: '' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('<strong>idempotencyKey</strong>');
    expect(changes).toEqual([]);
  });
});

describe('escaping and exports', () => {
  it('escapes hostile customer text and decline messages on every page', async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    for (const url of ['/console/subscriptions/sub_hostile', '/console/subscriptions?q=%3Cscript', '/console']) {
      const res = await b.get(url);
      expect([url, res.statusCode]).toEqual([url, 200]);
      expect(res.body).not.toContain('<script>');
      expect(res.body).not.toContain('<img src=x');
      expect(res.body).not.toContain('<b>card declined</b>');
    }
    const page = await b.get('/console/subscriptions/sub_hostile');
    expect(page.body).toContain(
      '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;&#39;',
    );
    const search = await b.get('/console/subscriptions?q=%3Cscript');
    expect(search.body).toContain('value="&lt;script"');
    expect(search.body).toContain('sub_hostile');
  });

  it('exports a period of invoices as CSV with formulas neutralised, and names a bad date', async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    const from = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10);
    const to = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const res = await b.get(`/console/invoices.csv?from=${from}&to=${to}`);
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['content-type'])).toBe('text/csv; charset=utf-8');
    expect(String(res.headers['content-disposition'])).toMatch(/^attachment; filename="invoices-.*-shop-a\.csv"$/);
    const lines = res.body.trim().split('\r\n');
    expect(lines[0]).toMatch(/^merchant_id,number,invoice_id,status/);
    expect(lines).toHaveLength(3);
    expect(res.body).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(res.body).not.toMatch(/(^|,)"?=HYPERLINK/m);
    expect(res.body).not.toContain('shop-b');
    const bad = await b.get(`/console/invoices.csv?from=yesterday&to=${to}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('<strong>from</strong>: must be a date YYYY-MM-DD');
  });

  it('pages the subscription list with a keyset cursor and refuses a forged cursor', async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    const page1 = await b.get('/console/subscriptions?q=sub_bulk');
    const next = /href="([^"]+)" rel="next"/.exec(page1.body)![1]!.replace(/&amp;/g, '&');
    const page2 = await b.get(next);
    const ids = (body: string) => [...body.matchAll(/>(sub_bulk_\d+)</g)].map((m) => m[1]);
    expect(ids(page1.body)).toHaveLength(25);
    expect(ids(page2.body)).toEqual(['sub_bulk_025', 'sub_bulk_026', 'sub_bulk_027', 'sub_bulk_028', 'sub_bulk_029']);
    const forged = await b.get('/console/subscriptions?cursor=nope');
    expect(forged.statusCode).toBe(400);
  });

  it('links a cycle to its run in the Temporal UI and serves its invoice document', async () => {
    const b = new Browser();
    await b.signIn(MERCHANT_KEY);
    const cycle = await b.get('/console/cycles/cycle:sub_alpha:0');
    expect(cycle.statusCode).toBe(200);
    expect(cycle.body).toContain('href="http://127.0.0.1:8233/namespaces/default/workflows/cycle%3Asub_alpha%3A0"');
    const doc = await b.get('/console/invoices/inv_sub_alpha_0/invoice.html');
    expect([doc.statusCode, doc.body.includes('Console Test Seller')]).toEqual([200, true]);
    expect(FORMULA_CUSTOMER).toMatch(/^=/);
    expect(HOSTILE_CUSTOMER).toContain('<script>');
  });
});

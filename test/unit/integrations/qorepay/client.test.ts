/**
 * QorePayClient against the in-process sandbox, over real HTTP: every operation and every error kind.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { DECLINE_CODES } from '../../../../src/domain/declines';
import {
  isQorePayError,
  QorePayClient,
  type AnyQorePayError,
  type Purchase,
} from '../../../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../../../src/sandbox/qorepay';
import { capturingLogger } from '../../../support/capture';
import { startScriptedServer, uniq, until, type ScriptedServer } from '../../../support/http';

const API_KEY = `sk_test_${randomUUID().replace(/-/g, '')}`;
const BRAND_ID = randomUUID();
const { logger, lines } = capturingLogger();
const ANY_STRING: unknown = expect.any(String);

let sandbox: QorePaySandbox;
let client: QorePayClient;

beforeAll(async () => {
  sandbox = await startQorePaySandbox({
    apiKey: API_KEY,
    pendingResolveDelayMs: 50,
    slowResponseMs: 200,
    tokensPageSize: 2,
    webhookRetryDelaysMs: [0],
  });
  client = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: API_KEY, brandId: BRAND_ID, logger });
});

afterAll(async () => {
  await sandbox.close();
});

async function caught(p: Promise<unknown>): Promise<AnyQorePayError> {
  try {
    await p;
  } catch (e) {
    if (isQorePayError(e)) return e;
    throw new Error(`expected a QorePayError, got ${inspect(e)}`);
  }
  throw new Error('expected the call to fail');
}

function newPurchase(reference = uniq('inv'), price = 1000): Promise<Purchase> {
  return client.createPurchase({
    client: { email: 'payer@example.test', full_name: 'Payer' },
    reference,
    currency: 'NGN',
    products: [{ name: 'Pro plan', price }],
  });
}

describe('purchases', () => {
  it('creates a purchase with brand, reference, metadata and a total computed from products', async () => {
    const reference = uniq('inv');
    const p = await client.createPurchase({
      client: { email: 'payer@example.test' },
      reference,
      currency: 'NGN',
      products: [
        { name: 'Seat', price: 500, quantity: '2' },
        { name: 'Support', price: 250 },
      ],
      successCallback: 'http://127.0.0.1:9/callback',
      metadata: { cycle: 'c-1' },
    });
    expect(p.status).toBe('created');
    expect(p.reference).toBe(reference);
    expect(p.brand_id).toBe(BRAND_ID);
    expect(p.purchase.total).toBe(1250);
    expect(p.purchase.currency).toBe('NGN');
    expect(p.purchase.products.map((x) => x.quantity)).toEqual(['2', '1']);
    expect(p.purchase.metadata).toEqual({ cycle: 'c-1' });
    expect(p.client_id).toEqual(expect.any(String));
    const stored = sandbox.purchase(p.id);
    expect(stored?.success_callback).toBe('http://127.0.0.1:9/callback');
    expect(stored?.status_history.map((h) => h.status)).toEqual(['created']);
  });

  it('creates a purchase for an existing client id', async () => {
    const token = sandbox.createRecurringToken();
    const clientId = sandbox.purchase(token)?.client_id;
    expect(clientId).toEqual(expect.any(String));
    const p = await client.createPurchase({
      clientId: clientId!,
      reference: uniq('inv'),
      currency: 'NGN',
      products: [{ name: 'x', price: 1 }],
    });
    expect(p.client_id).toBe(clientId);
  });

  it('gets a purchase and reports NotFound for an unknown id', async () => {
    const p = await newPurchase();
    const again = await client.getPurchase(p.id);
    expect(again.id).toBe(p.id);
    expect(again.purchase.total).toBe(1000);
    const err = await caught(client.getPurchase(randomUUID()));
    expect(err.kind).toBe('NotFound');
    expect(err.retryable).toBe(false);
    expect(err.httpStatus).toBe(404);
  });

  it('reports field-keyed validation errors with dotted paths', async () => {
    const empty = await caught(
      client.createPurchase({ client: { email: 'a@b.test' }, reference: uniq('inv'), currency: 'NGN', products: [] }),
    );
    expect(empty.kind).toBe('Validation');
    expect(empty.retryable).toBe(false);
    if (empty.kind !== 'Validation') throw new Error('unreachable');
    expect(empty.fieldErrors).toEqual([{ path: 'purchase.products', code: 'empty', message: ANY_STRING }]);

    const bad = await caught(
      client.createPurchase({
        client: { email: 'not-an-email' },
        reference: uniq('inv'),
        currency: 'NGN',
        products: [
          { name: 'ok', price: 1 },
          { name: 'bad', price: 1.5 },
        ],
      }),
    );
    if (bad.kind !== 'Validation') throw new Error(`expected Validation, got ${bad.kind}`);
    expect(bad.fieldErrors.map((f) => f.path).sort()).toEqual(['client.email', 'purchase.products.1.price']);
    expect(bad.httpStatus).toBe(400);
  });

  it('refuses both or neither of client and clientId before sending anything', async () => {
    const err = await caught(
      client.createPurchase({
        clientId: 'c',
        client: { email: 'a@b.test' },
        reference: 'r',
        currency: 'NGN',
        products: [{ name: 'x', price: 1 }],
      }),
    );
    expect(err.kind).toBe('Validation');
    expect(err.httpStatus).toBeUndefined();
  });

  it('marks a purchase as paid with integer seconds', async () => {
    const p = await newPurchase();
    const paid = await client.markAsPaid(p.id, 1_700_000_000);
    expect(paid.status).toBe('paid');
    expect(paid.marked_as_paid).toBe(true);
    expect(paid.payment?.paid_on).toBe(1_700_000_000);
    const ms = await caught(client.markAsPaid((await newPurchase()).id, 1_700_000_000_000));
    expect(ms.kind).toBe('Validation');
    expect(sandbox.ledger(p.reference ?? '')).toEqual([]); // marking paid is not a charge
  });

  it('cancels an open purchase and refuses to cancel a paid one', async () => {
    const p = await newPurchase();
    const cancelled = await client.cancelPurchase(p.id);
    expect(cancelled.status).toBe('cancelled');
    expect(sandbox.purchase(p.id)?.status_history.map((h) => h.status)).toEqual(['created', 'cancelled']);
    const paid = await newPurchase();
    await client.chargePurchase(paid.id, uniq('tok_success'));
    const err = await caught(client.cancelPurchase(paid.id));
    if (err.kind !== 'Validation') throw new Error(`expected Validation, got ${err.kind}`);
    expect(err.fieldErrors[0]).toMatchObject({ path: '__all__', code: 'purchase_cancel_error' });
    expect((await client.cancelPurchase(randomUUID()).catch((e: AnyQorePayError) => e)).kind).toBe('NotFound');
  });
});

describe('charging', () => {
  it('charges with a scenario token: paid, one ledger success, attempt recorded', async () => {
    const p = await newPurchase();
    const token = uniq('tok_success');
    const paid = await client.chargePurchase(p.id, token);
    expect(paid.status).toBe('paid');
    expect(paid.recurring_token).toBe(token);
    expect(paid.refundable_amount).toBe(1000);
    expect(paid.transaction_data?.attempts[0]).toMatchObject({ type: 'recurring_execute', successful: true });
    expect(sandbox.successfulCharges(p.reference!)).toHaveLength(1);
    expect(sandbox.ledger(p.reference!)).toEqual([
      { purchaseId: p.id, reference: p.reference, token, outcome: 'success', at: ANY_STRING },
    ]);
  });

  it('charges with a real recurring token (a paid purchase id)', async () => {
    const token = sandbox.createRecurringToken();
    expect(sandbox.purchase(token)?.is_recurring_token).toBe(true);
    const p = await newPurchase();
    expect((await client.chargePurchase(p.id, token)).status).toBe('paid');
  });

  it('returns pending_charge, which later becomes paid', async () => {
    const p = await newPurchase();
    const pending = await client.chargePurchase(p.id, uniq('tok_pending_paid'));
    expect(pending.status).toBe('pending_charge');
    const paid = await until(
      () => client.getPurchase(p.id),
      (x) => x.status !== 'pending_charge',
    );
    expect(paid.status).toBe('paid');
    expect(sandbox.ledger(p.reference!).map((e) => e.outcome)).toEqual(['pending', 'success']);
  });

  it('a pending charge that fails ends in error with the decline attempt', async () => {
    const p = await newPurchase();
    expect((await client.chargePurchase(p.id, uniq('tok_pending_fail'))).status).toBe('pending_charge');
    const failed = await until(
      () => client.getPurchase(p.id),
      (x) => x.status !== 'pending_charge',
    );
    expect(failed.status).toBe('error');
    expect(failed.transaction_data?.attempts[0]?.error?.code).toBe('do_not_honour');
  });

  it('soft-declines N times with ChargeDeclined, then succeeds on the same purchase', async () => {
    const p = await newPurchase();
    const token = uniq('tok_soft3');
    for (let i = 0; i < 3; i++) {
      const err = await caught(client.chargePurchase(p.id, token));
      if (err.kind !== 'ChargeDeclined') throw new Error(`expected ChargeDeclined, got ${err.kind}`);
      expect(err.code).toBe('insufficient_funds');
      expect(err.declineClass).toBe('soft');
      expect(err.declineMessage).toEqual(expect.any(String));
      expect(err.retryable).toBe(false);
      expect(err.httpStatus).toBe(400);
      expect(err.purchase?.status).toBe('error');
    }
    const paid = await client.chargePurchase(p.id, token);
    expect(paid.status).toBe('paid');
    const attempts = paid.transaction_data?.attempts ?? [];
    expect(attempts.map((a) => a.successful)).toEqual([true, false, false, false]); // newest first
    expect(sandbox.ledger(p.reference!).map((e) => e.outcome)).toEqual(['declined', 'declined', 'declined', 'success']);
    expect(sandbox.successfulCharges(p.reference!)).toHaveLength(1);
    expect(sandbox.purchase(p.id)?.status_history.map((h) => h.status)).toEqual([
      'created',
      'error',
      'error',
      'error',
      'paid',
    ]);
  });

  const hardCodes = [
    ...Object.entries(DECLINE_CODES)
      .filter(([, c]) => c === 'hard')
      .map(([code]) => code),
    'blacklisted_tx',
  ];
  it.each(hardCodes)('hard decline %s is classified hard', async (code) => {
    const p = await newPurchase();
    const err = await caught(client.chargePurchase(p.id, `tok_hard_${code}_${uniq('x')}`));
    if (err.kind !== 'ChargeDeclined') throw new Error(`expected ChargeDeclined, got ${err.kind}`);
    expect(err.code).toBe(code);
    expect(err.declineClass).toBe('hard');
  });

  it.each([
    ['tok_merchant', 'no_matching_terminal', 'merchant_configuration', 'error'],
    ['tok_blocked', 'suspected_fraud', 'hard', 'blocked'],
    ['tok_decline_timeout_acquirer--', 'timeout_acquirer', 'soft', 'error'],
    ['tok_decline_brand_new_code--', 'brand_new_code', 'unknown', 'error'],
    ['tok_decline_do_not_honour', 'do_not_honour', 'soft', 'error'],
  ])('%s declines with %s (%s)', async (prefix, code, cls, status) => {
    const p = await newPurchase();
    const err = await caught(client.chargePurchase(p.id, `${prefix}${prefix.endsWith('--') ? '' : '_'}${uniq('x')}`));
    if (err.kind !== 'ChargeDeclined') throw new Error(`expected ChargeDeclined, got ${err.kind}`);
    expect(err.code).toBe(code);
    expect(err.declineClass).toBe(cls);
    expect(err.purchase?.status).toBe(status);
  });

  it.each([['tok_invalid_x1'], ['no-such-token'], [randomUUID()]])(
    'token %s is InvalidRecurringToken',
    async (token) => {
      const p = await newPurchase();
      const err = await caught(client.chargePurchase(p.id, token));
      if (err.kind !== 'InvalidRecurringToken') throw new Error(`expected InvalidRecurringToken, got ${err.kind}`);
      expect(err.retryable).toBe(false);
      expect(err.declineClass).toBe('hard');
      expect(err.code).toBe('invalid_recurring_token');
      expect(sandbox.purchase(p.id)?.status).toBe('created');
    },
  );

  it('charging a paid purchase again is AlreadyPaid and charges nothing', async () => {
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_success'));
    const err = await caught(client.chargePurchase(p.id, uniq('tok_success')));
    expect(err.kind).toBe('AlreadyPaid');
    expect(err.retryable).toBe(false);
    expect(sandbox.successfulCharges(p.reference!)).toHaveLength(1);
  });

  it('charging an unknown purchase is NotFound', async () => {
    expect((await caught(client.chargePurchase(randomUUID(), uniq('tok_success')))).kind).toBe('NotFound');
  });

  it('HTTP 500 twice is Transient (retryable), then the charge succeeds', async () => {
    const p = await newPurchase();
    const token = uniq('tok_500x2');
    for (let i = 0; i < 2; i++) {
      const err = await caught(client.chargePurchase(p.id, token));
      expect(err.kind).toBe('Transient');
      expect(err.retryable).toBe(true);
      expect(err.httpStatus).toBe(500);
    }
    expect((await client.chargePurchase(p.id, token)).status).toBe('paid');
    expect(sandbox.ledger(p.reference!).map((e) => [e.outcome, e.code])).toEqual([
      ['error', 'http_500'],
      ['error', 'http_500'],
      ['success', undefined],
    ]);
  });

  it('HTTP 429 is RateLimited with Retry-After in ms, then the charge succeeds', async () => {
    const p = await newPurchase();
    const token = uniq('tok_429');
    const err = await caught(client.chargePurchase(p.id, token));
    if (err.kind !== 'RateLimited') throw new Error(`expected RateLimited, got ${err.kind}`);
    expect(err.retryAfterMs).toBe(1000);
    expect(err.retryable).toBe(true);
    expect((await client.chargePurchase(p.id, token)).status).toBe('paid');
  });

  it('a slow charge still answers paid', async () => {
    const p = await newPurchase();
    expect((await client.chargePurchase(p.id, uniq('tok_slow'))).status).toBe('paid');
  });

  it('a charge that commits but never answers is Transient; the purchase is paid exactly once', async () => {
    const impatient = new QorePayClient({
      baseUrl: sandbox.baseUrl,
      apiKey: API_KEY,
      brandId: BRAND_ID,
      timeoutMs: 300,
    });
    const p = await newPurchase();
    const err = await caught(impatient.chargePurchase(p.id, uniq('tok_commit_timeout')));
    if (err.kind !== 'Transient') throw new Error(`expected Transient, got ${err.kind}`);
    expect(err.reason).toBe('timeout');
    expect(err.retryable).toBe(true);
    expect((await client.getPurchase(p.id)).status).toBe('paid');
    expect(sandbox.successfulCharges(p.reference!)).toHaveLength(1);
    // The retry a careless caller would make is refused by the gateway.
    expect((await caught(client.chargePurchase(p.id, uniq('tok_success')))).kind).toBe('AlreadyPaid');
    expect(sandbox.successfulCharges(p.reference!)).toHaveLength(1);
  });
});

describe('refunds, chargebacks, tokens, keys', () => {
  it('refunds partly (a Payment), then the rest, then refuses', async () => {
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_success'));
    const part = await client.refundPurchase(p.id, 300);
    if (part.kind !== 'payment') throw new Error('expected a Payment');
    expect(part.payment.payment).toMatchObject({ payment_type: 'refund', amount: 300, currency: 'NGN' });
    expect(part.payment.related_to).toEqual({ type: 'purchase', id: p.id });
    expect(part.payment.status).toBe('success');
    expect((await client.getPurchase(p.id)).refundable_amount).toBe(700);
    const rest = await client.refundPurchase(p.id);
    if (rest.kind !== 'payment') throw new Error('expected a Payment');
    expect(rest.payment.payment.amount).toBe(700);
    const after = await client.getPurchase(p.id);
    expect(after.status).toBe('refunded');
    expect(after.refundable_amount).toBe(0);
    const err = await caught(client.refundPurchase(p.id, 1));
    if (err.kind !== 'Validation') throw new Error(`expected Validation, got ${err.kind}`);
    expect(err.fieldErrors[0]?.code).toBe('purchase_refund_error');
    expect(sandbox.payments(p.id)).toHaveLength(2);
  });

  it('a slow refund answers the Purchase in pending_refund', async () => {
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_success'));
    sandbox.setRefundMode('pending');
    try {
      const res = await client.refundPurchase(p.id);
      if (res.kind !== 'purchase') throw new Error('expected a Purchase');
      expect(res.purchase.status).toBe('pending_refund');
      const done = await until(
        () => client.getPurchase(p.id),
        (x) => x.status !== 'pending_refund',
      );
      expect(done.status).toBe('refunded');
    } finally {
      sandbox.setRefundMode('instant');
    }
  });

  it('lists chargeback reasons and registers a chargeback', async () => {
    const reasons = await client.listChargebackReasons();
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(r).toEqual({ id: ANY_STRING, name: ANY_STRING });
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_success'));
    const cb = await client.registerChargeback(p.id, {
      reasonId: reasons[0]!.id,
      arn: 'BB0710226666662',
      date: '1619740800',
      reference: 'cb-1',
    });
    expect(cb.status).toBe('charged_back');
    expect(sandbox.payments(p.id)[0]).toMatchObject({ payment: { payment_type: 'chargeback', amount: 1000 } });
    const err = await caught(
      client.registerChargeback(p.id, { reasonId: 'nope', arn: 'a', date: '1', reference: 'r' }),
    );
    if (err.kind !== 'Validation') throw new Error(`expected Validation, got ${err.kind}`);
    expect(err.fieldErrors.map((f) => f.path)).toEqual(['reason_id']);
  });

  it('lists every recurring token of a client across pages, and deletes one', async () => {
    const first = sandbox.createRecurringToken();
    const clientId = sandbox.purchase(first)!.client_id!;
    const others = [1, 2, 3, 4].map(() => sandbox.createRecurringToken(undefined, { clientId }));
    const tokens = await client.listClientRecurringTokens(clientId);
    expect(tokens.map((t) => t.id).sort()).toEqual([first, ...others].sort()); // 5 tokens, page size 2
    const deleted = await client.deleteRecurringToken(first);
    expect(deleted.is_recurring_token).toBe(false);
    expect((await client.listClientRecurringTokens(clientId)).map((t) => t.id)).not.toContain(first);
    const p = await newPurchase();
    expect((await caught(client.chargePurchase(p.id, first))).kind).toBe('InvalidRecurringToken');
    expect((await caught(client.listClientRecurringTokens(randomUUID()))).kind).toBe('NotFound');
  });

  it('fetches the company public key as PEM', async () => {
    const pem = await client.getPublicKey();
    expect(pem).toContain('-----BEGIN PUBLIC KEY-----\n');
    expect(pem.trim()).toBe(sandbox.publicKeyPem.trim());
  });
});

describe('transport and secrets', () => {
  it('a wrong key is Unauthorized and not retryable', async () => {
    const wrong = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: 'sk_wrong_secret', brandId: BRAND_ID });
    const err = await caught(wrong.getPurchase(randomUUID()));
    expect(err.kind).toBe('Unauthorized');
    expect(err.retryable).toBe(false);
    expect(err.httpStatus).toBe(401);
  });

  it('a refused connection is Transient', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const dead = new QorePayClient({ baseUrl: `http://127.0.0.1:${port}/api/v1`, apiKey: API_KEY, brandId: BRAND_ID });
    const err = await caught(dead.getPurchase('x'));
    expect(err.kind).toBe('Transient');
    expect(err.retryable).toBe(true);
  });

  it('no thrown error and no log line contains the API key', async () => {
    const secret = `sk_live_${randomUUID()}`;
    const sb = await startQorePaySandbox({ apiKey: secret, slowResponseMs: 100, webhookRetryDelaysMs: [0] });
    const logged = capturingLogger();
    try {
      const good = new QorePayClient({
        baseUrl: sb.baseUrl,
        apiKey: secret,
        brandId: BRAND_ID,
        logger: logged.logger,
        timeoutMs: 300,
      });
      const badKey = `sk_bad_${randomUUID()}`;
      const bad = new QorePayClient({ baseUrl: sb.baseUrl, apiKey: badKey, brandId: BRAND_ID, logger: logged.logger });
      const p = await good.createPurchase({
        client: { email: 'a@b.test' },
        reference: uniq('inv'),
        currency: 'NGN',
        products: [{ name: 'x', price: 5 }],
      });
      const p2 = await good.createPurchase({
        client: { email: 'a@b.test' },
        reference: uniq('inv'),
        currency: 'NGN',
        products: [{ name: 'x', price: 5 }],
      });
      const errors = await Promise.all([
        caught(bad.getPurchase(p.id)),
        caught(good.getPurchase(randomUUID())),
        caught(good.chargePurchase(p.id, uniq('tok_hard_stolen_card'))),
        caught(good.chargePurchase(p2.id, uniq('tok_commit_timeout'))),
        caught(good.createPurchase({ client: { email: 'x' }, reference: 'r', currency: 'NGN', products: [] })),
        caught(
          new QorePayClient({
            baseUrl: 'http://127.0.0.1:1/api/v1',
            apiKey: secret,
            brandId: BRAND_ID,
            logger: logged.logger,
          }).getPublicKey(),
        ),
      ]);
      expect(errors.map((e) => e.kind)).toEqual([
        'Unauthorized',
        'NotFound',
        'ChargeDeclined',
        'Transient',
        'Validation',
        'Transient',
      ]);
      for (const e of errors) {
        for (const text of [
          JSON.stringify(e),
          inspect(e, { depth: 20, showHidden: true }),
          String(e.stack),
          e.message,
        ]) {
          expect(text).not.toContain(secret);
          expect(text).not.toContain(badKey);
          expect(text).not.toMatch(/Bearer/i);
        }
        expect(e).not.toHaveProperty('config');
        expect(e).not.toHaveProperty('request');
        expect(e).not.toHaveProperty('response');
        expect(e).not.toHaveProperty('cause');
      }
      const allLogs = JSON.stringify(logged.lines);
      expect(logged.lines.length).toBeGreaterThan(0);
      expect(allLogs).not.toContain(secret);
      expect(allLogs).not.toContain(badKey);
    } finally {
      await sb.close();
    }
  });

  it('the shared logger of this file never saw the key either', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain(API_KEY);
  });
});

describe('against a scripted gateway (shapes the sandbox does not produce)', () => {
  let gw: ScriptedServer;
  let scripted: QorePayClient;
  beforeAll(async () => {
    gw = await startScriptedServer();
    scripted = new QorePayClient({ baseUrl: `${gw.origin}/api/v1/`, apiKey: API_KEY, brandId: BRAND_ID });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('sends trailing slashes, Bearer auth, JSON and Accept headers', async () => {
    gw.respond = () => ({
      status: 200,
      body: JSON.stringify('-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----'),
    });
    const pem = await scripted.getPublicKey();
    expect(pem).toBe('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    gw.respond = () => ({ status: 404, body: '' });
    await caught(scripted.chargePurchase('p 1', 'tok'));
    const req = gw.received.at(-1)!;
    expect(req.url).toBe('/api/v1/purchases/p%201/charge/');
    expect(req.method).toBe('POST');
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req.headers.accept).toContain('application/json');
    expect(req.headers['content-type']).toContain('application/json');
    expect(req.json).toEqual({ recurring_token: 'tok' });
    expect(gw.received.at(-2)!.url).toBe('/api/v1/public_key/');
  });

  it('sends paid_on as integer seconds and chargeback fields as strings', async () => {
    const purchase = sandboxLikePurchase('paid');
    gw.respond = () => ({ status: 200, body: purchase });
    await scripted.markAsPaid('p1', 1_619_740_800);
    expect(gw.received.at(-1)!.json).toEqual({ paid_on: 1_619_740_800 });
    await scripted.registerChargeback('p1', { reasonId: 'r1', arn: 'A', date: '1619740800', reference: 'ref' });
    expect(gw.received.at(-1)!.json).toEqual({ reason_id: 'r1', arn: 'A', date: '1619740800', reference: 'ref' });
    expect(gw.received.at(-1)!.url).toBe('/api/v1/purchases/p1/chargeback/');
  });

  it('reads __all__ as a single object and a flat {code, message} body', async () => {
    gw.respond = () => ({ status: 400, body: { __all__: { code: 'purchase_already_paid_for', message: 'paid' } } });
    expect((await caught(scripted.chargePurchase('p', 't'))).kind).toBe('AlreadyPaid');
    gw.respond = () => ({ status: 400, body: { code: 'invalid_recurring_token', message: 'dead' } });
    expect((await caught(scripted.chargePurchase('p', 't'))).kind).toBe('InvalidRecurringToken');
    gw.respond = () => ({ status: 422, body: { code: 'unprocessable', message: 'nope' } });
    const v = await caught(scripted.getPurchase('p'));
    if (v.kind !== 'Validation') throw new Error(`expected Validation, got ${v.kind}`);
    expect(v.fieldErrors).toEqual([{ path: '__all__', code: 'unprocessable', message: 'nope' }]);
  });

  it('a charge error whose purchase cannot be re-read is still ChargeDeclined (class unknown)', async () => {
    gw.respond = (req) =>
      req.method === 'POST'
        ? { status: 400, body: { __all__: [{ code: 'purchase_charge_error', message: 'declined' }] } }
        : { status: 503, body: '' };
    const err = await caught(scripted.chargePurchase('p', 't'));
    if (err.kind !== 'ChargeDeclined') throw new Error(`expected ChargeDeclined, got ${err.kind}`);
    expect(err.declineClass).toBe('unknown');
    expect(err.purchase).toBeUndefined();
    expect(err.declineMessage).toBe('declined');
  });

  it('429 with an HTTP-date Retry-After, 403, 502 and 418', async () => {
    gw.respond = () => ({
      status: 429,
      headers: { 'Retry-After': new Date(Date.now() + 60_000).toUTCString() },
      body: '',
    });
    const rl = await caught(scripted.getPurchase('p'));
    if (rl.kind !== 'RateLimited') throw new Error(`expected RateLimited, got ${rl.kind}`);
    expect(rl.retryAfterMs).toBeGreaterThan(0);
    expect(rl.retryAfterMs).toBeLessThanOrEqual(60_000);
    gw.respond = () => ({ status: 403, body: '' });
    expect((await caught(scripted.getPurchase('p'))).kind).toBe('Unauthorized');
    gw.respond = () => ({ status: 502, body: '<html>bad gateway</html>' });
    const t = await caught(scripted.getPurchase('p'));
    expect([t.kind, t.retryable, t.httpStatus]).toEqual(['Transient', true, 502]);
    gw.respond = () => ({ status: 418, body: '' });
    expect((await caught(scripted.getPurchase('p'))).kind).toBe('Unexpected');
  });

  it('a 2xx with a body that does not match the schema is Unexpected', async () => {
    gw.respond = () => ({ status: 200, body: { id: 'p', status: 'paid' } });
    const err = await caught(scripted.getPurchase('p'));
    expect(err.kind).toBe('Unexpected');
    expect(err.message).toContain('purchase');
    gw.respond = () => ({ status: 200, body: 'not json' });
    expect((await caught(scripted.getPurchase('p'))).kind).toBe('Unexpected');
  });

  it('normalises chargeback reasons from a paginated {results} shape', async () => {
    gw.respond = (req) =>
      req.url.includes('page=2')
        ? { status: 200, body: { results: [{ id: 7, description: 'Duplicate' }], next: null } }
        : {
            status: 200,
            body: {
              results: [{ id: 'a', title: 'Fraud', extra: 1 }],
              next: `${gw.origin}/api/v1/purchases/chargeback_reasons/?page=2`,
            },
          };
    expect(await scripted.listChargebackReasons()).toEqual([
      { id: 'a', name: 'Fraud' },
      { id: '7', name: 'Duplicate' },
    ]);
    gw.respond = () => ({ status: 200, body: [{ id: 1, name: 'Other' }] });
    expect(await scripted.listChargebackReasons()).toEqual([{ id: '1', name: 'Other' }]);
  });

  it('refuses to follow a pagination link to another host (the key would leak)', async () => {
    gw.respond = () => ({ status: 200, body: { results: [], next: 'http://evil.example/steal' } });
    const err = await caught(scripted.listClientRecurringTokens('c'));
    expect(err.kind).toBe('Unexpected');
    expect(gw.received.at(-1)!.url).toBe('/api/v1/clients/c/recurring_tokens/');
  });

  it('a 200 with a failed purchase is never reported as charged', async () => {
    gw.respond = () => ({
      status: 200,
      body: sandboxLikePurchase('blocked', { code: 'insufficient_funds', message: 'x' }),
    });
    const err = await caught(scripted.chargePurchase('p', 't'));
    if (err.kind !== 'ChargeDeclined') throw new Error(`expected ChargeDeclined, got ${err.kind}`);
    expect(err.declineClass).toBe('hard'); // blocked overrides the soft code
  });
});

function sandboxLikePurchase(status: string, error?: { code: string; message: string }): Record<string, unknown> {
  return {
    type: 'purchase',
    id: 'p1',
    status,
    reference: 'r',
    purchase: { currency: 'NGN', total: 100, products: [{ name: 'x', price: 100, quantity: '1' }] },
    transaction_data: { attempts: error ? [{ type: 'recurring_execute', successful: false, error }] : [] },
    is_recurring_token: false,
    created_on: 1,
    updated_on: 1,
    unknown_future_field: { anything: true },
  };
}

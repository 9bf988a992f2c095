import { type AddressInfo } from 'node:net';
import Fastify from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import {
  ActivePlatformClient,
  isActivePlatformError,
  paymentTotalMinor,
  type ActivePlatformError,
} from '../../../../src/integrations/activeplatform';
import { startActivePlatformSandbox, type ActivePlatformSandbox } from '../../../../src/sandbox/activeplatform';
import { capturingLogger, catchError, renderings } from '../../../support/capture';

const TOKEN = 'ap-secret-token-7f3a9c1e5b';

describe('ActivePlatformClient against the sandbox over HTTP', () => {
  let sandbox: ActivePlatformSandbox;
  let log: ReturnType<typeof capturingLogger>;
  let client: ActivePlatformClient;
  let nextAccount = 3_000_000;

  beforeAll(async () => {
    sandbox = await startActivePlatformSandbox({ apiToken: TOKEN });
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(() => {
    log = capturingLogger();
    client = new ActivePlatformClient({ baseUrl: sandbox.baseUrl, apiToken: TOKEN, timeoutMs: 2_000, logger: log });
  });
  afterEach(() => {
    expect(log.text()).not.toContain(TOKEN);
  });

  const account = () => nextAccount++;

  async function apError(promise: Promise<unknown>): Promise<ActivePlatformError> {
    const err = await catchError(promise);
    expect(isActivePlatformError(err)).toBe(true);
    for (const text of renderings(err)) expect(text).not.toContain(TOKEN);
    return err as ActivePlatformError;
  }

  it('creates a payment waiting for payment, with the exact total on the wire', async () => {
    const accountId = account();
    const payment = await client.createPayment({
      accountId,
      amountMinor: 1999,
      currency: 'USD',
      comment: 'cycle:s1:0',
    });
    expect(payment).toMatchObject({ account_id: accountId, status: 'waiting for payment', total: 19.99 });
    expect(payment.comment).toBe('cycle:s1:0');
    expect(paymentTotalMinor(payment, 'USD')).toBe(1999);
    const entries = sandbox.ledger().filter((e) => e.accountId === accountId);
    expect(entries).toEqual([
      expect.objectContaining({ op: 'create', paymentId: payment.id, totalLiteral: '19.99', totalMinor: 1999 }),
    ]);
  });

  it.each<[string, number, string]>([
    ['JPY', 5, '5'],
    ['JPY', 1_234_567, '1234567'],
    ['USD', 30, '0.30'],
    ['USD', 10, '0.10'],
    ['EUR', 123_456_789_012, '1234567890.12'],
    ['KWD', 1234, '1.234'],
    ['BHD', 1, '0.001'],
    ['OMR', 999_999_999_999_999, '999999999999.999'],
  ])('sends %s %i minor units as total %s exactly', async (currency, amountMinor, literal) => {
    const accountId = account();
    sandbox.setAccountCurrency(accountId, currency);
    const payment = await client.createPayment({ accountId, amountMinor, currency, comment: `exact-${literal}` });
    const entry = sandbox.ledger().find((e) => e.paymentId === payment.id);
    expect(entry?.totalLiteral).toBe(literal);
    expect(entry?.totalMinor).toBe(amountMinor);
    expect(paymentTotalMinor(payment, currency)).toBe(amountMinor);
  });

  it('refuses amounts that are not positive safe integers before any request', async () => {
    const before = sandbox.requestCount();
    for (const amountMinor of [0, -5, 1.5, 1e16]) {
      await expect(
        client.createPayment({ accountId: account(), amountMinor, currency: 'USD', comment: 'x' }),
      ).rejects.toThrow(String(amountMinor));
    }
    expect(sandbox.requestCount()).toBe(before);
  });

  it('completes a waiting payment, and refuses to complete it twice (InvalidStatus)', async () => {
    const accountId = account();
    const created = await client.createPayment({ accountId, amountMinor: 500, currency: 'USD', comment: 'c1' });
    const completed = await client.completePayment(created.id, 7);
    expect(completed).toMatchObject({
      id: created.id,
      status: 'completed',
      payment_method_id: 7,
      payment_method_name: 'QorePay card',
    });
    expect(sandbox.payment(created.id)?.status).toBe('completed');

    const err = await apError(client.completePayment(created.id, 7));
    expect(err).toMatchObject({ kind: 'InvalidStatus', retryable: false, businessOutcome: true, httpStatus: 422 });
    expect(err.message).toContain('completed');
    expect(
      sandbox
        .ledger()
        .filter((e) => e.paymentId === created.id)
        .map((e) => e.op),
    ).toEqual(['create', 'complete']);
  });

  it('gets a payment and finds one by comment (the idempotency key)', async () => {
    const accountId = account();
    const a = await client.createPayment({ accountId, amountMinor: 100, currency: 'USD', comment: 'cycle:s2:0' });
    const b = await client.createPayment({ accountId, amountMinor: 200, currency: 'USD', comment: 'cycle:s2:1' });
    expect((await client.getPayment(b.id)).total).toBe(2);
    expect(await client.listPayments(accountId)).toHaveLength(2);
    expect((await client.findPaymentByComment(accountId, 'cycle:s2:0'))?.id).toBe(a.id);
    expect(await client.findPaymentByComment(accountId, 'cycle:s2:9')).toBeNull();
  });

  it('NotFound for an unknown payment', async () => {
    const err = await apError(client.getPayment(99));
    expect(err).toMatchObject({ kind: 'NotFound', retryable: false, businessOutcome: false, httpStatus: 404 });
    await expect(client.completePayment(99, 1)).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('Validation when the total has more decimals than the account currency', async () => {
    const accountId = account();
    sandbox.setAccountCurrency(accountId, 'JPY');
    // Client told USD, account is JPY: 19.99 is not a valid JPY amount and the server says so.
    const err = await apError(client.createPayment({ accountId, amountMinor: 1999, currency: 'USD', comment: 'x' }));
    expect(err).toMatchObject({ kind: 'Validation', retryable: false, businessOutcome: false, httpStatus: 422 });
    expect(sandbox.ledger().filter((e) => e.accountId === accountId)).toEqual([]);
  });

  it('Unauthorized with a wrong token, and neither token leaks', async () => {
    const wrong = 'wrong-token-aaaabbbbcccc';
    const bad = new ActivePlatformClient({ baseUrl: sandbox.baseUrl, apiToken: wrong, logger: log });
    const err = await apError(bad.getPayment(1));
    expect(err).toMatchObject({ kind: 'Unauthorized', retryable: false, httpStatus: 401 });
    for (const text of renderings(err)) expect(text).not.toContain(wrong);
    expect(log.text()).not.toContain(wrong);
    expect(log.lines.length).toBeGreaterThan(0);
  });

  it('RateLimited and Transient are retryable; the injected failure changes nothing', async () => {
    const accountId = account();
    sandbox.failNext(1, 429);
    const limited = await apError(client.createPayment({ accountId, amountMinor: 1, currency: 'USD', comment: 'r' }));
    expect(limited).toMatchObject({ kind: 'RateLimited', retryable: true, businessOutcome: false, httpStatus: 429 });

    sandbox.failNext(2, 500);
    const down = await apError(client.createPayment({ accountId, amountMinor: 1, currency: 'USD', comment: 'r' }));
    expect(down).toMatchObject({ kind: 'Transient', retryable: true, httpStatus: 500, outcomeUnknown: true });
    await expect(client.getPayment(1)).rejects.toMatchObject({ kind: 'Transient', outcomeUnknown: false });
    expect(sandbox.ledger().filter((e) => e.accountId === accountId)).toEqual([]);
  });

  it('a write that commits then times out is Transient; check-before-write finds it, so no duplicate', async () => {
    const accountId = account();
    const comment = 'cycle:s3:4:settle';
    sandbox.commitThenTimeout();
    const quick = new ActivePlatformClient({ baseUrl: sandbox.baseUrl, apiToken: TOKEN, timeoutMs: 300, logger: log });
    const err = await apError(quick.createPayment({ accountId, amountMinor: 4200, currency: 'USD', comment }));
    expect(err).toMatchObject({ kind: 'Transient', retryable: true, outcomeUnknown: true });
    expect(err.message).toContain('no response within 300 ms');

    // What the settlement activity does on retry: look first, write only if absent.
    const found = await client.findPaymentByComment(accountId, comment);
    expect(found).toMatchObject({ total: 42, status: 'waiting for payment' });
    const creates = sandbox.ledger().filter((e) => e.comment === comment && e.op === 'create');
    expect(creates).toHaveLength(1);
  });

  it('network failure (nothing listening) is Transient and does not leak the token', async () => {
    const dead = await startActivePlatformSandbox({ apiToken: TOKEN });
    const url = dead.baseUrl;
    await dead.close();
    const c = new ActivePlatformClient({ baseUrl: url, apiToken: TOKEN, logger: log });
    const err = await apError(c.createPayment({ accountId: account(), amountMinor: 1, currency: 'USD', comment: 'n' }));
    expect(err).toMatchObject({ kind: 'Transient', retryable: true, code: 'ECONNREFUSED', outcomeUnknown: false });
  });

  it('Unexpected for a 2xx body that is not a payment, and for an unmapped status', async () => {
    const impostor = Fastify();
    impostor.all('/*', async () => ({ id: 'not-a-number', status: 'completed' }));
    await impostor.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = impostor.server.address() as AddressInfo;
      const c = new ActivePlatformClient({ baseUrl: `http://127.0.0.1:${port}`, apiToken: TOKEN, logger: log });
      const err = await apError(c.completePayment(5, 1));
      expect(err).toMatchObject({ kind: 'Unexpected', retryable: false, httpStatus: 200, outcomeUnknown: true });
      expect(err.message).toContain('id');
    } finally {
      await impostor.close();
    }
    sandbox.failNext(1, 302);
    await expect(client.getPayment(1)).rejects.toMatchObject({ kind: 'Unexpected', httpStatus: 302 });
  });

  it('accepts a real pino logger, whose output never holds the token', async () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const c = new ActivePlatformClient({ baseUrl: sandbox.baseUrl, apiToken: TOKEN, logger });
    const p = await c.createPayment({ accountId: account(), amountMinor: 1, currency: 'USD', comment: 'pino' });
    await expect(c.completePayment(p.id, 0)).rejects.toThrow('paymentMethodId');
    sandbox.failNext(1, 500);
    await expect(c.getPayment(p.id)).rejects.toMatchObject({ kind: 'Transient' });
    const text = chunks.join('');
    expect(text).toContain('createPayment');
    expect(text).toContain('Injected failure');
    expect(text).not.toContain(TOKEN);
  });

  describe('reversePayment', () => {
    it('cancels a payment still waiting for payment', async () => {
      const accountId = account();
      const p = await client.createPayment({ accountId, amountMinor: 999, currency: 'USD', comment: 'rev-1' });
      const result = await client.reversePayment({ paymentId: p.id, currency: 'USD', comment: 'refund:rev-1' });
      expect(result.kind).toBe('cancelled');
      expect(sandbox.payment(p.id)?.status).toBe('cancelled');
      const again = await client.reversePayment({ paymentId: p.id, currency: 'USD', comment: 'refund:rev-1' });
      expect(again.kind).toBe('alreadyCancelled');
      expect(
        sandbox
          .ledger()
          .filter((e) => e.accountId === accountId)
          .map((e) => e.op),
      ).toEqual(['create', 'cancel']);
    });

    it('credits a completed payment with a negative total, once, even when retried', async () => {
      const accountId = account();
      sandbox.setAccountCurrency(accountId, 'KWD');
      const p = await client.createPayment({ accountId, amountMinor: 12_345, currency: 'KWD', comment: 'rev-2' });
      await client.completePayment(p.id, 7);
      const comment = `refund:rev-2:of:${p.id}`;
      const first = await client.reversePayment({ paymentId: p.id, currency: 'KWD', comment });
      const second = await client.reversePayment({ paymentId: p.id, currency: 'KWD', comment });
      expect(first).toMatchObject({ kind: 'credited', created: true });
      expect(second).toMatchObject({ kind: 'credited', created: false });
      if (first.kind !== 'credited' || second.kind !== 'credited') throw new Error('unreachable');
      expect(second.credit.id).toBe(first.credit.id);
      expect(first.credit.total).toBe(-12.345);
      const credits = sandbox.ledger().filter((e) => e.comment === comment);
      expect(credits).toEqual([
        expect.objectContaining({ op: 'create', totalLiteral: '-12.345', totalMinor: -12_345 }),
      ]);
    });

    it('partial credit of a receipted payment, and refuses more than the original', async () => {
      const accountId = account();
      const p = await client.createPayment({ accountId, amountMinor: 1000, currency: 'USD', comment: 'rev-3' });
      await client.completePayment(p.id, 1);
      sandbox.setPaymentStatus(p.id, 'receipt sent');
      const r = await client.reversePayment({
        paymentId: p.id,
        currency: 'USD',
        comment: 'refund:rev-3',
        amountMinor: 250,
      });
      expect(r.kind === 'credited' && r.credit.total).toBe(-2.5);
      await expect(
        client.reversePayment({ paymentId: p.id, currency: 'USD', comment: 'refund:rev-3b', amountMinor: 1001 }),
      ).rejects.toThrow('exceeds the original total 1000');
    });
  });
});

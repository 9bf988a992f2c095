import { GormicClient, isGormicError, type GormicError } from '../../../../src/integrations/gormic';
import { startGormicSandbox, type GormicSandbox } from '../../../../src/sandbox/gormic';
import { capturingLogger, catchError, renderings } from '../../../support/capture';

const API_KEY = 'gormic-service-key-9d8e7f6a5b4c';
const ORG = 'org-acme-42';

describe('GormicClient against the sandbox over HTTP', () => {
  let sandbox: GormicSandbox;
  let log: ReturnType<typeof capturingLogger>;
  let client: GormicClient;
  let n = 0;

  beforeAll(async () => {
    sandbox = await startGormicSandbox({ apiKey: API_KEY, organizationId: ORG });
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(() => {
    log = capturingLogger();
    client = new GormicClient({
      baseUrl: sandbox.baseUrl,
      apiKey: API_KEY,
      organizationId: ORG,
      timeoutMs: 2_000,
      logger: log,
    });
  });
  afterEach(() => {
    expect(log.text()).not.toContain(API_KEY);
  });

  const orderId = () => `order-${++n}`;

  async function gError(promise: Promise<unknown>): Promise<GormicError> {
    const err = await catchError(promise);
    expect(isGormicError(err)).toBe(true);
    for (const text of renderings(err)) expect(text).not.toContain(API_KEY);
    return err as GormicError;
  }

  it('records a complete receipt with the purchase id as transactionRef, exactly once', async () => {
    const order = orderId();
    const { id } = await client.createPayment({
      orderId: order,
      type: 'receipt',
      status: 'complete',
      amountMinor: 1999,
      currency: 'USD',
      methodId: 'qorepay',
      transactionRef: 'purchase-abc',
      note: 'cycle:s1:0',
      attrs: { cycleId: 'cycle:s1:0' },
    });
    expect(id).toEqual(expect.any(String));
    const receipts = sandbox.ledger().filter((e) => e.transactionRef === 'purchase-abc' && e.type === 'receipt');
    expect(receipts).toEqual([
      expect.objectContaining({
        op: 'create',
        paymentId: id,
        orderId: order,
        status: 'complete',
        amountLiteral: '19.99',
      }),
    ]);
    expect(sandbox.payment(id)).toMatchObject({
      amountMinor: 1999,
      methodUid: 'qorepay',
      attrs: { cycleId: 'cycle:s1:0' },
    });

    const found = await client.findPaymentsByTransactionRef(order, 'purchase-abc');
    expect(found.map((p) => p.id)).toEqual([id]);
    expect(client.amountToMinor(found[0]?.amount ?? NaN, 'USD')).toBe(1999);
    expect(await client.findPaymentsByTransactionRef(order, 'purchase-other')).toEqual([]);
  });

  it.each<[string, number, string]>([
    ['JPY', 5, '5'],
    ['KRW', 1_500_000, '1500000'],
    ['USD', 10, '0.10'],
    ['MYR', 123_456_789_012, '1234567890.12'],
    ['KWD', 1234, '1.234'],
    ['TND', 7, '0.007'],
  ])('major format: %s %i minor units arrive as amount %s exactly', async (currency, amountMinor, literal) => {
    const order = orderId();
    sandbox.setOrderCurrency(order, currency);
    const ref = `purchase-${order}`;
    const { id } = await client.createPayment({
      orderId: order,
      type: 'receipt',
      amountMinor,
      currency,
      transactionRef: ref,
    });
    expect(sandbox.ledger().find((e) => e.paymentId === id)).toMatchObject({ amountLiteral: literal, amountMinor });
    // And back: the float Gormic answers converts to the same minor units.
    const [item] = await client.findPaymentsByTransactionRef(order, ref);
    expect(client.amountToMinor(item?.amount ?? NaN, currency)).toBe(amountMinor);
  });

  it('minor format sends integers', async () => {
    const minorSandbox = await startGormicSandbox({ apiKey: API_KEY, organizationId: ORG, amountFormat: 'minor' });
    try {
      const c = new GormicClient({
        baseUrl: minorSandbox.baseUrl,
        apiKey: API_KEY,
        organizationId: ORG,
        amountFormat: 'minor',
      });
      minorSandbox.setOrderCurrency('o-kwd', 'KWD');
      const { id } = await c.createPayment({
        orderId: 'o-kwd',
        type: 'receipt',
        amountMinor: 1234,
        currency: 'KWD',
        transactionRef: 'p-minor',
      });
      expect(minorSandbox.ledger()).toEqual([
        expect.objectContaining({ paymentId: id, amountLiteral: '1234', amountMinor: 1234 }),
      ]);
      const [item] = await c.findPaymentsByTransactionRef('o-kwd', 'p-minor');
      expect(item?.amount).toBe(1234);
      expect(c.amountToMinor(item?.amount ?? NaN, 'KWD')).toBe(1234);
      expect(() => c.amountToMinor(12.5, 'KWD')).toThrow('12.5');
    } finally {
      await minorSandbox.close();
    }
  });

  it('pending then confirm; confirming again is BusinessRejected INVALID_STATUS', async () => {
    const order = orderId();
    const { id } = await client.createPayment({
      orderId: order,
      type: 'receipt',
      status: 'pending',
      amountMinor: 5000,
      currency: 'USD',
    });
    expect(sandbox.payment(id)?.status).toBe('pending');
    const confirmed = await client.confirmPayment(id, { orderId: order, transactionRef: 'purchase-p1' });
    expect(confirmed.items).toEqual([
      expect.objectContaining({ id, status: 'complete', transactionRef: 'purchase-p1', amount: 50 }),
    ]);
    expect(confirmed.items[0]?.can).toContain('refund');
    expect(confirmed.paymentMethods.map((m) => m.id)).toEqual(['cash', 'card', 'qorepay']);
    expect(sandbox.payment(id)).toMatchObject({ status: 'complete', transactionRef: 'purchase-p1' });

    const err = await gError(client.confirmPayment(id, { orderId: order }));
    expect(err).toMatchObject({
      kind: 'BusinessRejected',
      code: 'INVALID_STATUS',
      retryable: false,
      businessOutcome: true,
      httpStatus: 400,
    });
    expect(
      sandbox
        .ledger()
        .filter((e) => e.paymentId === id)
        .map((e) => e.op),
    ).toEqual(['create', 'confirm']);
  });

  it('updates a payment (note, then reversal) and deletes a pending one', async () => {
    const order = orderId();
    const { id } = await client.createPayment({ orderId: order, type: 'receipt', amountMinor: 700, currency: 'USD' });
    expect(await client.updatePayment(id, { note: 'settled by engine' })).toEqual({ success: true });
    expect(sandbox.payment(id)?.note).toBe('settled by engine');
    await expect(client.updatePayment(id, { amountMinor: 800, currency: 'USD' })).rejects.toMatchObject({
      kind: 'BusinessRejected',
      code: 'INVALID_STATUS',
    });
    await client.updatePayment(id, { amountMinor: 800, currency: 'USD', correction: true });
    expect(sandbox.payment(id)?.amountMinor).toBe(800);
    await client.updatePayment(id, { status: 'reversed' });
    expect(sandbox.payment(id)?.status).toBe('reversed');
    expect(typeof sandbox.payment(id)?.reversedAt).toBe('string');

    const pending = await client.createPayment({
      orderId: order,
      type: 'receipt',
      status: 'pending',
      amountMinor: 100,
      currency: 'USD',
    });
    const after = await client.deletePayment(pending.id);
    expect(after.items.map((i) => i.id)).toEqual([id]);
    expect(sandbox.payment(pending.id)).toBeUndefined();
    expect(
      sandbox
        .ledger()
        .filter((e) => e.orderId === order)
        .map((e) => e.op),
    ).toEqual(['create', 'update', 'update', 'update', 'create', 'delete']);
  });

  it('refund is linked to its receipt by sourcePaymentId, and is limited to the receipt amount', async () => {
    const order = orderId();
    const receipt = await client.createPayment({
      orderId: order,
      type: 'receipt',
      status: 'complete',
      amountMinor: 10_000,
      currency: 'USD',
      transactionRef: 'purchase-r1',
    });
    const refund = await client.createRefundPayment({
      orderId: order,
      amountMinor: 2_500,
      currency: 'USD',
      sourcePaymentId: receipt.id,
      transactionRef: 'purchase-r1:refund:1',
      note: 'partial refund',
    });
    expect(sandbox.payment(refund.id)).toMatchObject({
      type: 'refund',
      status: 'complete',
      sourcePaymentId: receipt.id,
      amountMinor: 2_500,
    });
    const over = await gError(
      client.createRefundPayment({ orderId: order, amountMinor: 7_501, currency: 'USD', sourcePaymentId: receipt.id }),
    );
    expect(over).toMatchObject({ kind: 'BusinessRejected', code: 'LIMIT_REACHED', businessOutcome: true });

    const bogus = await gError(
      client.createRefundPayment({
        orderId: order,
        amountMinor: 1,
        currency: 'USD',
        sourcePaymentId: 'no-such-payment',
      }),
    );
    expect(bogus).toMatchObject({
      kind: 'Validation',
      code: 'InvalidParameter',
      retryable: false,
      businessOutcome: false,
    });
    const refunds = sandbox.ledger().filter((e) => e.orderId === order && e.type === 'refund');
    expect(refunds).toEqual([expect.objectContaining({ paymentId: refund.id, sourcePaymentId: receipt.id })]);
  });

  it('a closed order gives BusinessRejected ORDER_CLOSED and records nothing; canceled gives ORDER_CANCELED', async () => {
    const closed = orderId();
    sandbox.setOrderStatus(closed, 'closed');
    const err = await gError(
      client.createPayment({
        orderId: closed,
        type: 'receipt',
        amountMinor: 100,
        currency: 'USD',
        transactionRef: 'p-x',
      }),
    );
    expect(err).toMatchObject({
      kind: 'BusinessRejected',
      code: 'ORDER_CLOSED',
      retryable: false,
      businessOutcome: true,
      httpStatus: 400,
    });
    expect(err.message).toContain('ORDER_CLOSED');
    const canceled = orderId();
    sandbox.setOrderStatus(canceled, 'canceled');
    await expect(
      client.createPayment({ orderId: canceled, type: 'receipt', amountMinor: 100, currency: 'USD' }),
    ).rejects.toMatchObject({ kind: 'BusinessRejected', code: 'ORDER_CANCELED' });
    expect(sandbox.ledger().filter((e) => e.orderId === closed || e.orderId === canceled)).toEqual([]);
  });

  it('invoice checks: INVOICE_NOT_FOUND and INVOICE_CLOSED; an open invoice is accepted', async () => {
    const order = orderId();
    sandbox.addInvoice(order, 'inv-open');
    sandbox.addInvoice(order, 'inv-closed', 'closed');
    const base = { orderId: order, type: 'receipt' as const, amountMinor: 100, currency: 'USD' };
    await expect(client.createPayment({ ...base, invoiceId: 'inv-missing' })).rejects.toMatchObject({
      kind: 'BusinessRejected',
      code: 'INVOICE_NOT_FOUND',
    });
    await expect(client.createPayment({ ...base, invoiceId: 'inv-closed' })).rejects.toMatchObject({
      kind: 'BusinessRejected',
      code: 'INVOICE_CLOSED',
    });
    const ok = await client.createPayment({ ...base, invoiceId: 'inv-open' });
    expect(sandbox.payment(ok.id)?.invoiceId).toBe('inv-open');
  });

  it('Validation: MethodNotFound and too many decimals for the order currency', async () => {
    const order = orderId();
    await expect(
      client.createPayment({ orderId: order, type: 'receipt', amountMinor: 100, currency: 'USD', methodId: 'bitcoin' }),
    ).rejects.toMatchObject({ kind: 'Validation', code: 'MethodNotFound', retryable: false });
    sandbox.setOrderCurrency(order, 'JPY');
    await expect(
      client.createPayment({ orderId: order, type: 'receipt', amountMinor: 1999, currency: 'USD' }),
    ).rejects.toMatchObject({ kind: 'Validation', code: 'InvalidParameter' });
    expect(sandbox.payments(order)).toEqual([]);
  });

  it('NotFound for an unknown uid', async () => {
    const err = await gError(client.confirmPayment('missing-uid'));
    expect(err).toMatchObject({ kind: 'NotFound', httpStatus: 404, retryable: false, businessOutcome: false });
    await expect(client.deletePayment('missing-uid')).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('Unauthorized for a wrong api-key or organization-id; neither key leaks', async () => {
    const wrongKey = 'wrong-service-key-0000111122';
    const a = new GormicClient({ baseUrl: sandbox.baseUrl, apiKey: wrongKey, organizationId: ORG, logger: log });
    const err = await gError(a.createPayment({ orderId: orderId(), type: 'receipt', amountMinor: 1, currency: 'USD' }));
    expect(err).toMatchObject({ kind: 'Unauthorized', httpStatus: 401, retryable: false });
    for (const text of renderings(err)) expect(text).not.toContain(wrongKey);
    expect(log.text()).not.toContain(wrongKey);
    const b = new GormicClient({ baseUrl: sandbox.baseUrl, apiKey: API_KEY, organizationId: 'org-other', logger: log });
    await expect(b.deletePayment('x')).rejects.toMatchObject({ kind: 'Unauthorized' });
  });

  it('RateLimited and Transient (5xx) are retryable and change nothing', async () => {
    const order = orderId();
    sandbox.failNext(1, 429);
    const limited = await gError(
      client.createPayment({ orderId: order, type: 'receipt', amountMinor: 1, currency: 'USD' }),
    );
    expect(limited).toMatchObject({ kind: 'RateLimited', retryable: true, businessOutcome: false });
    sandbox.failNext(1, 503);
    const down = await gError(
      client.createPayment({ orderId: order, type: 'receipt', amountMinor: 1, currency: 'USD' }),
    );
    expect(down).toMatchObject({ kind: 'Transient', retryable: true, httpStatus: 503, outcomeUnknown: true });
    expect(sandbox.payments(order)).toEqual([]);
  });

  it('commit-then-timeout is Transient with outcomeUnknown; looking up by transactionRef avoids a duplicate', async () => {
    const order = orderId();
    const quick = new GormicClient({
      baseUrl: sandbox.baseUrl,
      apiKey: API_KEY,
      organizationId: ORG,
      timeoutMs: 300,
      logger: log,
    });
    sandbox.commitThenTimeout();
    const params = {
      orderId: order,
      type: 'receipt' as const,
      amountMinor: 4200,
      currency: 'USD',
      transactionRef: 'purchase-t1',
    };
    const err = await gError(quick.createPayment(params));
    expect(err).toMatchObject({ kind: 'Transient', retryable: true, outcomeUnknown: true });

    const existing = await client.findPaymentsByTransactionRef(order, 'purchase-t1');
    if (existing.length === 0) await client.createPayment(params);
    const receipts = sandbox.ledger().filter((e) => e.transactionRef === 'purchase-t1' && e.type === 'receipt');
    expect(receipts).toHaveLength(1);
  });

  it('network failure is Transient; refused connections are known not to have written', async () => {
    const dead = await startGormicSandbox({ apiKey: API_KEY, organizationId: ORG });
    const url = dead.baseUrl;
    await dead.close();
    const c = new GormicClient({ baseUrl: url, apiKey: API_KEY, organizationId: ORG, logger: log });
    const err = await gError(c.createPayment({ orderId: 'o', type: 'receipt', amountMinor: 1, currency: 'USD' }));
    expect(err).toMatchObject({ kind: 'Transient', retryable: true, code: 'ECONNREFUSED', outcomeUnknown: false });
  });

  it('Unexpected for an unmapped status', async () => {
    sandbox.failNext(1, 302);
    await expect(client.deletePayment('x')).rejects.toMatchObject({ kind: 'Unexpected', httpStatus: 302 });
  });

  it('rejects invalid amounts before sending', async () => {
    const before = sandbox.requestCount();
    await expect(
      client.createPayment({ orderId: orderId(), type: 'receipt', amountMinor: 0, currency: 'USD' }),
    ).rejects.toThrow('amountMinor must be greater than zero');
    await expect(
      client.createPayment({ orderId: orderId(), type: 'receipt', amountMinor: 10.5, currency: 'USD' }),
    ).rejects.toThrow('10.5');
    expect(sandbox.requestCount()).toBe(before);
  });
});

/**
 * The pure pieces of merchant-input validation: the ISO 4217 table (checked against the money module that converts
 * amounts), the anchor window, the exact plan total, the idempotency update ids, and the QorePay customer check over
 * real HTTP against the sandbox.
 */
import { randomUUID } from 'node:crypto';
import { qorepayCustomerVerifier } from '../../../src/api/customer-verifier';
import { ISO_4217_MINOR_UNITS, isKnownCurrency } from '@temporal-billing/client/currencies';
import { anchorWindowProblem, parseWith, PlanSchema, planTotalMinor } from '@temporal-billing/client/schemas';
import { BillingValidationError } from '@temporal-billing/client';
import { idempotentUpdateId } from '@temporal-billing/client/engine';
import { currencyExponent } from '../../../src/domain/money';
import { QorePayClient } from '../../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../../src/sandbox/qorepay';

describe('ISO 4217 currencies', () => {
  it('every listed code converts with the exponent ISO gives it (the money module agrees)', () => {
    const disagreements = Object.entries(ISO_4217_MINOR_UNITS)
      .filter(([code, exponent]) => currencyExponent(code) !== exponent)
      .map(([code]) => code);
    expect(disagreements).toEqual([]);
    expect(Object.keys(ISO_4217_MINOR_UNITS)).toHaveLength(165);
  });

  it('knows current codes of every exponent; refuses units without a minor unit, withdrawn and made-up codes', () => {
    for (const code of ['EUR', 'USD', 'NGN', 'JPY', 'KWD', 'CLF', 'XCG', 'SLE', 'ZWG', 'VES']) {
      expect(isKnownCurrency(code)).toBe(true);
    }
    for (const code of ['XAU', 'XDR', 'XTS', 'XXX', 'HRK', 'BGN', 'ANG', 'SLL', 'ZWL', 'ABC', 'eur', 'toString']) {
      expect(isKnownCurrency(code)).toBe(false);
    }
  });
});

describe('anchor window', () => {
  const now = Date.UTC(2026, 10, 30, 7, 0); // 2026-11-30T07:00Z

  it('refuses anchors before 2000-01-01 and later than five years after now', () => {
    expect(anchorWindowProblem('1999-12-31T23:59', 'UTC', now)).toBe('must not be before 2000-01-01');
    expect(anchorWindowProblem('2000-01-01', 'UTC', now)).toBeUndefined();
    expect(anchorWindowProblem('2026-11-30T06:00', 'UTC', now)).toBeUndefined();
    expect(anchorWindowProblem('2031-11-30T07:00', 'UTC', now)).toBeUndefined();
    expect(anchorWindowProblem('2031-11-30T07:01', 'UTC', now)).toMatch(/at most 5 years after now/);
    expect(anchorWindowProblem('2032-01-01', 'UTC', now)).toMatch(/at most 5 years after now/);
  });

  it('reads the anchor in its time zone', () => {
    // 08:30 in Lagos (UTC+1) is 07:30Z: past the limit; 07:30 in Lagos is 06:30Z: inside.
    expect(anchorWindowProblem('2031-11-30T08:30', 'Africa/Lagos', now)).toMatch(/5 years/);
    expect(anchorWindowProblem('2031-11-30T07:30', 'Africa/Lagos', now)).toBeUndefined();
  });
});

describe('plan total', () => {
  const plan = (lineItems: { name: string; priceMinor: number; quantity: number }[]) => ({
    planId: 'p',
    currency: 'EUR',
    lineItems,
  });

  it('is computed exactly, beyond what a double holds', () => {
    expect(planTotalMinor([{ priceMinor: Number.MAX_SAFE_INTEGER, quantity: 3 }])).toBe(
      BigInt(Number.MAX_SAFE_INTEGER) * 3n,
    );
  });

  it('accepts a total of exactly 2^53 - 1 and refuses one more, naming lineItems', () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(
      parseWith(
        PlanSchema,
        plan([
          { name: 'a', priceMinor: max - 1, quantity: 1 },
          { name: 'b', priceMinor: 1, quantity: 1 },
        ]),
      ).ok,
    ).toBe(true);
    const over = parseWith(
      PlanSchema,
      plan([
        { name: 'a', priceMinor: max, quantity: 1 },
        { name: 'b', priceMinor: 1, quantity: 1 },
      ]),
    );
    expect(over).toEqual({
      ok: false,
      issues: [{ path: 'lineItems', message: expect.stringMatching(/at most 9007199254740991/) as unknown }],
    });
  });
});

describe('malformed plans', () => {
  it('get field issues, never an exception, whatever the line items hold', () => {
    for (const lineItems of [
      'x',
      [null],
      [
        { name: 'a', priceMinor: 1.5, quantity: 1 },
        { name: 'b', priceMinor: Number.MAX_SAFE_INTEGER, quantity: 1 },
      ],
    ]) {
      const r = parseWith(PlanSchema, { planId: 'p', currency: 'EUR', lineItems });
      expect(r.ok).toBe(false);
    }
  });
});

describe('idempotent update ids', () => {
  it('prefix the key by operation so a refund and a chargeback key never collide', () => {
    expect(idempotentUpdateId('refund', { idempotencyKey: 'k-1' })).toBe('refund:k-1');
    expect(idempotentUpdateId('chargeback', { idempotencyKey: 'k-1' })).toBe('chargeback:k-1');
  });

  it('derive none without a key (each call is its own request)', () => {
    expect(idempotentUpdateId('refund', {})).toBeUndefined();
  });

  it('refuse keys that are empty, too long or not printable ASCII, naming idempotencyKey', () => {
    for (const key of ['', 'x'.repeat(256), 'tab\there', 'naïve', 'line\nbreak']) {
      let err: unknown;
      try {
        idempotentUpdateId('refund', { idempotencyKey: key });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BillingValidationError);
      expect((err as BillingValidationError).issues.map((i) => i.path)).toEqual(['idempotencyKey']);
    }
    expect(idempotentUpdateId('refund', { idempotencyKey: 'x'.repeat(255) })).toBe(`refund:${'x'.repeat(255)}`);
  });
});

describe('qorepayCustomerVerifier against the sandbox', () => {
  const key = `sk_test_${randomUUID()}`;
  let sandbox: QorePaySandbox;
  let qorepay: QorePayClient;

  beforeAll(async () => {
    sandbox = await startQorePaySandbox({ apiKey: key });
    qorepay = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: key, brandId: randomUUID(), timeoutMs: 5000 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('says true for a client the gateway has, false for one it has not', async () => {
    const token = sandbox.createRecurringToken();
    const clientId = sandbox.purchase(token)!.client_id!;
    const verifier = qorepayCustomerVerifier(qorepay);
    await expect(verifier.clientExists(clientId)).resolves.toBe(true);
    await expect(verifier.clientExists(randomUUID())).resolves.toBe(false);
  });

  it('throws (never answers) when the gateway cannot be asked: down, or refusing our key', async () => {
    const down = new QorePayClient({
      baseUrl: 'http://127.0.0.1:9/api/v1',
      apiKey: key,
      brandId: randomUUID(),
      timeoutMs: 2000,
    });
    await expect(qorepayCustomerVerifier(down).clientExists(randomUUID())).rejects.toMatchObject({ kind: 'Transient' });
    const wrongKey = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: 'wrong', brandId: randomUUID() });
    await expect(qorepayCustomerVerifier(wrongKey).clientExists(randomUUID())).rejects.toMatchObject({
      kind: 'Unauthorized',
    });
  });
});

/**
 * Webhook signatures: the pure check, and the verifier with the company key fetched from the sandbox over HTTP
 * (cached, refreshed once on failure to follow a key rotation).
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import {
  parseWebhookEvent,
  QorePayClient,
  QorePayWebhookVerifier,
  verifyQorePaySignature,
} from '../../../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../../../src/sandbox/qorepay';
import { startScriptedServer, uniq, type ScriptedServer } from '../../../support/http';

const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
};
const mine = keyPair();
const other = keyPair();
const signB64 = (body: Buffer, key = mine.privateKey) => sign('sha256', body, key).toString('base64');

const purchaseEvent = (overrides: Record<string, unknown> = {}) => ({
  type: 'purchase',
  id: randomUUID(),
  status: 'paid',
  reference: 'cycle:sub-1:3',
  purchase: { currency: 'NGN', total: 500, products: [{ name: 'Pro', price: 500, quantity: '1' }] },
  transaction_data: { attempts: [{ type: 'recurring_execute', successful: true, error: null }] },
  is_recurring_token: false,
  created_on: 1_700_000_000,
  updated_on: 1_700_000_100,
  event_type: 'purchase.paid',
  ...overrides,
});

describe('verifyQorePaySignature', () => {
  const body = Buffer.from(JSON.stringify(purchaseEvent()));

  it('accepts a valid signature over the raw bytes', () => {
    expect(verifyQorePaySignature(body, signB64(body), [mine.pem])).toBe(true);
  });

  it('accepts a PEM with literal \\n sequences, and any of several keys', () => {
    expect(verifyQorePaySignature(body, signB64(body), [mine.pem.replace(/\n/g, '\\n')])).toBe(true);
    expect(verifyQorePaySignature(body, signB64(body), ['not a pem', other.pem, mine.pem])).toBe(true);
  });

  it('rejects a tampered body, even one that re-serialises to the same JSON', () => {
    const sig = signB64(body);
    const tampered = Buffer.from(body.toString().replace('"total":500', '"total":5'));
    expect(verifyQorePaySignature(tampered, sig, [mine.pem])).toBe(false);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1));
    expect(verifyQorePaySignature(reserialised, sig, [mine.pem])).toBe(false);
  });

  it('rejects the wrong key, a missing or garbage signature, and no keys', () => {
    expect(verifyQorePaySignature(body, signB64(body, other.privateKey), [mine.pem])).toBe(false);
    expect(verifyQorePaySignature(body, undefined, [mine.pem])).toBe(false);
    expect(verifyQorePaySignature(body, '', [mine.pem])).toBe(false);
    expect(verifyQorePaySignature(body, '%%%not base64%%%', [mine.pem])).toBe(false);
    expect(verifyQorePaySignature(body, Buffer.from('short').toString('base64'), [mine.pem])).toBe(false);
    expect(verifyQorePaySignature(body, signB64(body), [])).toBe(false);
  });
});

describe('parseWebhookEvent', () => {
  it('parses purchase.* as a Purchase and keeps unknown fields', () => {
    const e = parseWebhookEvent(purchaseEvent({ brand_new: 1 }));
    if (e.objectType !== 'purchase') throw new Error('expected a purchase event');
    expect(e.eventType).toBe('purchase.paid');
    expect(e.purchase.status).toBe('paid');
    expect((e.purchase as Record<string, unknown>).brand_new).toBe(1);
  });

  it('parses payment.* as a Payment', () => {
    const e = parseWebhookEvent({
      type: 'payment',
      id: 'pay-1',
      event_type: 'payment.refunded',
      payment: { payment_type: 'refund', amount: 100, currency: 'NGN' },
      related_to: { type: 'purchase', id: 'p-1' },
      created_on: 1,
      updated_on: 1,
    });
    if (e.objectType !== 'payment') throw new Error('expected a payment event');
    expect(e.payment.related_to?.id).toBe('p-1');
  });

  it('passes other families through, and rejects bodies that do not match', () => {
    expect(parseWebhookEvent({ event_type: 'payout.success', id: 'x' }).objectType).toBe('other');
    expect(() => parseWebhookEvent({ id: 'x' })).toThrow();
    expect(() => parseWebhookEvent({ ...purchaseEvent(), status: 'no_such_status' })).toThrow();
    expect(() => parseWebhookEvent({ ...purchaseEvent(), event_type: 'payment.refunded' })).toThrow();
  });
});

describe('QorePayWebhookVerifier with the sandbox', () => {
  let sandbox: QorePaySandbox;
  let receiver: ScriptedServer;
  let client: QorePayClient;
  let fetches = 0;
  let verifier: QorePayWebhookVerifier;
  /** The verifier's clock: a key refresh after a failed check happens at most once per minute of it. */
  let clock = 1_000_000;

  beforeAll(async () => {
    receiver = await startScriptedServer();
    sandbox = await startQorePaySandbox({ webhookUrls: [receiver.url], webhookRetryDelaysMs: [0] });
    client = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: 'sk_test', brandId: 'brand' });
    verifier = new QorePayWebhookVerifier({
      fetchCompanyKey: async () => {
        fetches++;
        return client.getPublicKey();
      },
      minKeyRefreshIntervalMs: 60_000,
      now: () => clock,
    });
  });
  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
  });

  async function deliveredFor(reference: string, eventType: string) {
    await sandbox.whenDeliveriesIdle();
    const r = receiver.received.find((x) => x.json?.reference === reference && x.json.event_type === eventType);
    if (!r) throw new Error(`no ${eventType} delivered for ${reference}`);
    return r;
  }

  it('verifies a delivered webhook, fetching the company key once and caching it', async () => {
    const reference = uniq('inv');
    const p = await client.createPurchase({
      client: { email: 'a@b.test' },
      reference,
      currency: 'NGN',
      products: [{ name: 'x', price: 9 }],
    });
    await client.chargePurchase(p.id, uniq('tok_success'));
    const created = await deliveredFor(reference, 'purchase.created');
    const paid = await deliveredFor(reference, 'purchase.paid');
    const a = await verifier.verify(created.raw, created.headers['x-signature']);
    const b = await verifier.verify(paid.raw, paid.headers['x-signature']);
    expect(a.ok && a.event.objectType === 'purchase' && a.event.purchase.id).toBe(p.id);
    expect(b.ok && b.event.eventType).toBe('purchase.paid');
    expect(fetches).toBe(1);
  });

  it('rejects a missing header, a tampered body and a wrong signature', async () => {
    const reference = uniq('inv');
    await client.createPurchase({
      client: { email: 'a@b.test' },
      reference,
      currency: 'NGN',
      products: [{ name: 'x', price: 9 }],
    });
    const created = await deliveredFor(reference, 'purchase.created');
    expect(await verifier.verify(created.raw, undefined)).toEqual({ ok: false, reason: 'missing_signature' });
    const tampered = Buffer.from(created.raw.toString().replace('"total":9', '"total":1'));
    expect(await verifier.verify(tampered, created.headers['x-signature'])).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(await verifier.verify(created.raw, signB64(created.raw, other.privateKey))).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('follows a key rotation with exactly one refresh', async () => {
    clock += 60_000; // the last fetch (or refresh) is a minute old
    const before = fetches;
    sandbox.rotateKey();
    const reference = uniq('inv');
    await client.createPurchase({
      client: { email: 'a@b.test' },
      reference,
      currency: 'NGN',
      products: [{ name: 'x', price: 9 }],
    });
    const created = await deliveredFor(reference, 'purchase.created');
    const res = await verifier.verify(created.raw, created.headers['x-signature']);
    expect(res.ok).toBe(true);
    expect(fetches).toBe(before + 1);
    // With the fresh key cached, the next one verifies without a fetch.
    expect((await verifier.verify(created.raw, created.headers['x-signature'])).ok).toBe(true);
    expect(fetches).toBe(before + 1);
  });

  it('a flood of forged signatures fetches the company key at most once per interval', async () => {
    const reference = uniq('inv');
    await client.createPurchase({
      client: { email: 'a@b.test' },
      reference,
      currency: 'NGN',
      products: [{ name: 'x', price: 9 }],
    });
    const created = await deliveredFor(reference, 'purchase.created');
    expect((await verifier.verify(created.raw, created.headers['x-signature'])).ok).toBe(true);
    clock += 60_000;
    const before = fetches;
    const forged = () => verifier.verify(created.raw, signB64(created.raw, other.privateKey));
    const first = await Promise.all(Array.from({ length: 50 }, forged));
    const inFirstMinute = fetches - before;
    clock += 30_000;
    await Promise.all(Array.from({ length: 50 }, forged));
    const afterHalfAMinute = fetches - before;
    clock += 30_000;
    await Promise.all(Array.from({ length: 50 }, forged));
    const afterAMinute = fetches - before;
    console.log(
      `key fetches for 50 forged webhooks: ${inFirstMinute}; 50 more 30 s later: ${afterHalfAMinute}; ` +
        `50 more a minute after the first: ${afterAMinute}`,
    );
    expect(first.every((r) => !r.ok && r.reason === 'bad_signature')).toBe(true);
    expect([inFirstMinute, afterHalfAMinute, afterAMinute]).toEqual([1, 1, 2]);
    // The genuine delivery still verifies with the cached key, without a fetch.
    expect((await verifier.verify(created.raw, created.headers['x-signature'])).ok).toBe(true);
    expect(fetches - before).toBe(2);
  });

  it('a verified body that is not an event is invalid_body; an unverified one is never parsed', async () => {
    const junk = Buffer.from('{"hello":"world"}');
    const v = new QorePayWebhookVerifier({ fetchCompanyKey: async () => mine.pem });
    expect(await v.verify(junk, signB64(junk))).toEqual({ ok: false, reason: 'invalid_body' });
    const notJson = Buffer.from('not json');
    expect(await v.verify(notJson, signB64(notJson))).toEqual({ ok: false, reason: 'invalid_body' });
    expect(await v.verify(junk, signB64(junk, other.privateKey))).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('uses account webhook keys without fetching the company key', async () => {
    let fetched = 0;
    const v = new QorePayWebhookVerifier({
      webhookKeys: [mine.pem],
      fetchCompanyKey: async () => {
        fetched++;
        return other.pem;
      },
    });
    const body = Buffer.from(JSON.stringify(purchaseEvent()));
    expect((await v.verify(body, signB64(body))).ok).toBe(true);
    expect(fetched).toBe(0);
  });

  it('rejects (so the ingress can answer 5xx) when the company key cannot be fetched', async () => {
    const v = new QorePayWebhookVerifier({
      fetchCompanyKey: () => Promise.reject(new Error('gateway down')),
    });
    const body = Buffer.from(JSON.stringify(purchaseEvent()));
    await expect(v.verify(body, signB64(body))).rejects.toThrow('gateway down');
  });
});

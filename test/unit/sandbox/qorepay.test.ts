/**
 * The sandbox's webhooks (signed, retried until a 2xx, ordered per object, duplicate/reorder/delay options),
 * account webhooks, success callbacks, auth, and the /__sandbox/ control API.
 */
import { randomUUID } from 'node:crypto';
import { QorePayClient, QorePayWebhookVerifier, type Purchase } from '../../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../../src/sandbox/qorepay';
import { startScriptedServer, uniq, until, type ReceivedRequest, type ScriptedServer } from '../../support/http';

const API_KEY = `sk_test_${randomUUID()}`;

let receiver: ScriptedServer;
let sandbox: QorePaySandbox;
let client: QorePayClient;
let verifier: QorePayWebhookVerifier;

beforeAll(async () => {
  receiver = await startScriptedServer();
  sandbox = await startQorePaySandbox({
    apiKey: API_KEY,
    webhookUrls: [receiver.url],
    webhookRetryDelaysMs: [0, 50, 100, 150],
    // Generous: a timeout here must mean a hung receiver, not a slow machine (2 cores shared by the whole run).
    webhookTimeoutMs: 2000,
    pendingResolveDelayMs: 50,
  });
  client = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: API_KEY, brandId: 'brand' });
  verifier = new QorePayWebhookVerifier({ fetchCompanyKey: () => client.getPublicKey() });
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});
beforeEach(() => {
  receiver.respond = () => ({ status: 200, body: {} });
  sandbox.setWebhookOptions({ duplicate: false, reorder: false, delayMs: 0 });
});

const objectIdOf = (r: ReceivedRequest): unknown =>
  r.json?.type === 'payment' ? (r.json.related_to as { id: string } | undefined)?.id : r.json?.id;
const receivedFor = (id: string) => receiver.received.filter((r) => objectIdOf(r) === id);
const eventsFor = (id: string) => receivedFor(id).map((r) => r.json?.event_type);

function newPurchase(extra: { successCallback?: string } = {}): Promise<Purchase> {
  return client.createPurchase({
    client: { email: 'a@b.test' },
    reference: uniq('inv'),
    currency: 'NGN',
    products: [{ name: 'Plan', price: 700 }],
    ...extra,
  });
}

describe('webhook delivery', () => {
  it('retries until a 2xx, with the same signed bytes each time', async () => {
    let failures = 0;
    receiver.respond = (r) =>
      r.json?.event_type === 'purchase.created' && failures++ < 2 ? { status: 500 } : { status: 200 };
    const p = await newPurchase();
    await sandbox.whenDeliveriesIdle();
    const got = receivedFor(p.id);
    expect(got.map((r) => r.json?.event_type)).toEqual(['purchase.created', 'purchase.created', 'purchase.created']);
    expect(new Set(got.map((r) => r.raw.toString())).size).toBe(1);
    const log = sandbox.deliveries().filter((d) => d.objectId === p.id);
    expect(log.map((d) => [d.attempt, d.status, d.delivered])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    for (const r of got) expect((await verifier.verify(r.raw, r.headers['x-signature'])).ok).toBe(true);
    expect(got[0]!.headers['content-type']).toContain('application/json');
  });

  it('a timeout counts as a failure', async () => {
    let hung = false;
    receiver.respond = () => {
      if (hung) return { status: 204 };
      hung = true;
      return { status: 0, hang: true };
    };
    const p = await newPurchase();
    await sandbox.whenDeliveriesIdle();
    const log = sandbox.deliveries().filter((d) => d.objectId === p.id);
    expect(log.map((d) => [d.attempt, d.error ?? d.status, d.delivered])).toEqual([
      [1, 'timeout', false],
      [2, 204, true],
    ]);
  });

  it('gives up after the last attempt of the schedule, then delivers the next event', async () => {
    let createdAttempts = 0;
    receiver.respond = (r) => {
      if (r.json?.event_type === 'purchase.created') {
        createdAttempts++;
        return { status: 503 };
      }
      return { status: 200 };
    };
    const p = await newPurchase();
    await client.cancelPurchase(p.id);
    await sandbox.whenDeliveriesIdle();
    expect(createdAttempts).toBe(4);
    expect(eventsFor(p.id)).toEqual([...Array<string>(4).fill('purchase.created'), 'purchase.cancelled']);
  });

  it('keeps per-object order: a later event waits until the earlier one is delivered', async () => {
    let failures = 0;
    receiver.respond = (r) =>
      r.json?.event_type === 'purchase.created' && failures++ < 2 ? { status: 500 } : { status: 200 };
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_success'));
    await sandbox.whenDeliveriesIdle();
    expect(eventsFor(p.id)).toEqual(['purchase.created', 'purchase.created', 'purchase.created', 'purchase.paid']);
  });

  it('duplicate delivers every event twice with identical bytes', async () => {
    sandbox.setWebhookOptions({ duplicate: true });
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_success'));
    await sandbox.whenDeliveriesIdle();
    expect(eventsFor(p.id)).toEqual(['purchase.created', 'purchase.created', 'purchase.paid', 'purchase.paid']);
    const [a, b] = receivedFor(p.id);
    expect(a!.raw.equals(b!.raw)).toBe(true);
  });

  it('reorder delivers a later event before an earlier one', async () => {
    sandbox.setWebhookOptions({ reorder: true, reorderHoldMs: 10_000 });
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_success'));
    await sandbox.whenDeliveriesIdle();
    expect(eventsFor(p.id)).toEqual(['purchase.paid', 'purchase.created']);
    for (const r of receivedFor(p.id)) expect((await verifier.verify(r.raw, r.headers['x-signature'])).ok).toBe(true);
  });

  it('delayMs holds every delivery back by at least that long', async () => {
    sandbox.setWebhookOptions({ delayMs: 150 });
    const before = Date.now();
    const p = await newPurchase();
    await sandbox.whenDeliveriesIdle();
    const [attempt] = sandbox.deliveries().filter((d) => d.objectId === p.id);
    expect(Date.parse(attempt!.at) - before).toBeGreaterThanOrEqual(150);
  });

  it('pending charges send pending_charge then paid; silent ones send nothing', async () => {
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_pending_paid'));
    await until(
      () => client.getPurchase(p.id),
      (x) => x.status === 'paid',
    );
    await sandbox.whenDeliveriesIdle();
    expect(eventsFor(p.id)).toEqual(['purchase.created', 'purchase.pending_charge', 'purchase.paid']);

    const q = await newPurchase();
    await client.chargePurchase(q.id, uniq('tok_pending_silent'));
    await until(
      () => client.getPurchase(q.id),
      (x) => x.status === 'paid',
    );
    await sandbox.whenDeliveriesIdle();
    expect(eventsFor(q.id)).toEqual(['purchase.created']);
    expect(sandbox.successfulCharges(q.reference!)).toHaveLength(1);
  });

  it('declines send purchase.payment_failure; refunds and chargebacks send Payment bodies', async () => {
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_soft1')).catch(() => undefined);
    await client.chargePurchase(p.id, uniq('tok_success'));
    await client.refundPurchase(p.id, 100);
    const reasons = await client.listChargebackReasons();
    await client.registerChargeback(p.id, { reasonId: reasons[0]!.id, arn: 'ARN', date: '1700000000', reference: 'x' });
    await sandbox.whenDeliveriesIdle();
    expect(eventsFor(p.id)).toEqual([
      'purchase.created',
      'purchase.payment_failure',
      'purchase.paid',
      'payment.refunded',
      'payment.charged_back',
    ]);
    const refunded = receivedFor(p.id)[3]!;
    const v = await verifier.verify(refunded.raw, refunded.headers['x-signature']);
    if (!v.ok || v.event.objectType !== 'payment') throw new Error('expected a verified payment event');
    expect(v.event.payment.payment).toMatchObject({ payment_type: 'refund', amount: 100 });
  });

  it('success_callback gets purchase.paid only, signed with the company key', async () => {
    const cb = await startScriptedServer();
    try {
      const p = await newPurchase({ successCallback: cb.url });
      await client.chargePurchase(p.id, uniq('tok_success'));
      await sandbox.whenDeliveriesIdle();
      expect(cb.received.map((r) => r.json?.event_type)).toEqual(['purchase.paid']);
      expect((await verifier.verify(cb.received[0]!.raw, cb.received[0]!.headers['x-signature'])).ok).toBe(true);
    } finally {
      await cb.close();
    }
  });

  it('account webhooks (POST /webhooks/) get their events, signed with their own key', async () => {
    const hookReceiver = await startScriptedServer();
    try {
      const res = await fetch(`${sandbox.baseUrl}/webhooks/`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: 'engine', callback: hookReceiver.url, events: ['purchase.paid'] }),
      });
      expect(res.status).toBe(201);
      const hook = (await res.json()) as { id: string; public_key: string };
      const p = await newPurchase();
      await client.chargePurchase(p.id, uniq('tok_success'));
      await sandbox.whenDeliveriesIdle();
      expect(hookReceiver.received.map((r) => r.json?.event_type)).toEqual(['purchase.paid']);
      const r = hookReceiver.received[0]!;
      const withHookKey = new QorePayWebhookVerifier({
        webhookKeys: [hook.public_key],
        fetchCompanyKey: () => Promise.reject(new Error('must not be needed')),
      });
      expect((await withHookKey.verify(r.raw, r.headers['x-signature'])).ok).toBe(true);
      const companyOnly = new QorePayWebhookVerifier({ fetchCompanyKey: () => client.getPublicKey() });
      expect(await companyOnly.verify(r.raw, r.headers['x-signature'])).toEqual({ ok: false, reason: 'bad_signature' });
      const del = await fetch(`${sandbox.baseUrl}/webhooks/${hook.id}/`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${API_KEY}` },
      });
      expect(del.status).toBe(204);
    } finally {
      await hookReceiver.close();
    }
  });
});

describe('gateway fidelity and the control API', () => {
  const authed = (path: string, init: RequestInit = {}) =>
    fetch(`${sandbox.baseUrl}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) },
    });

  it('requires the Bearer key on the API', async () => {
    expect((await fetch(`${sandbox.baseUrl}/public_key/`)).status).toBe(401);
    expect((await authed('/public_key/')).status).toBe(200);
  });

  it('answers missing brand_id and missing products with field-keyed errors', async () => {
    const res = await authed('/purchases/', {
      method: 'POST',
      body: JSON.stringify({ client: { email: 'a@b.test' } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      brand_id: [{ message: 'This field is required.', code: 'required' }],
      purchase: [{ message: 'This field is required.', code: 'required' }],
    });
  });

  it('answers an unknown purchase with 404 and a charge without token with a field error', async () => {
    expect((await authed(`/purchases/${randomUUID()}/`)).status).toBe(404);
    const p = await newPurchase();
    const res = await authed(`/purchases/${p.id}/charge/`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ recurring_token: [{ message: 'This field is required.', code: 'required' }] });
  });

  it('GET /public_key/ is a JSON string holding a PEM', async () => {
    const body = await (await authed('/public_key/')).json();
    expect(typeof body).toBe('string');
    expect(body).toBe(sandbox.publicKeyPem);
  });

  it('drives scenarios, tokens, ledger, purchases and options through /__sandbox/', async () => {
    const ctl = (path: string, method = 'GET', body?: unknown) =>
      fetch(`${sandbox.origin}/__sandbox${path}`, {
        method,
        headers: { 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const tokenRes = await ctl('/tokens', 'POST', { scenario: { type: 'decline', code: 'lost_card' } });
    expect(tokenRes.status).toBe(201);
    const { id: token } = (await tokenRes.json()) as { id: string };
    const p = await newPurchase();
    const err = await client.chargePurchase(p.id, token).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'ChargeDeclined', code: 'lost_card', declineClass: 'hard' });

    const custom = uniq('custom');
    expect((await ctl('/scenarios', 'POST', { token: custom, scenario: { type: 'success' } })).status).toBe(200);
    expect((await ctl('/scenarios', 'POST', { token: custom, scenario: { type: 'nope' } })).status).toBe(400);
    const q = await newPurchase();
    expect((await client.chargePurchase(q.id, custom)).status).toBe('paid');

    const ledger = (await (await ctl(`/ledger?reference=${encodeURIComponent(q.reference!)}`)).json()) as {
      entries: Array<{ outcome: string; token: string }>;
    };
    expect(ledger.entries.map((e) => [e.outcome, e.token])).toEqual([['success', custom]]);
    const stored = (await (await ctl(`/purchases/${q.id}`)).json()) as { status: string };
    expect(stored.status).toBe('paid');

    const opts = await ctl('/webhook-options', 'PUT', { duplicate: true });
    expect(((await opts.json()) as { options: unknown }).options).toMatchObject({ duplicate: true });
    expect(sandbox.webhookOptions.duplicate).toBe(true);
    sandbox.setWebhookOptions({ duplicate: false });

    const before = sandbox.publicKeyPem;
    const rotated = (await (await ctl('/rotate-key', 'POST')).json()) as { publicKey: string };
    expect(rotated.publicKey).not.toBe(before);
    expect(sandbox.publicKeyPem).toBe(rotated.publicKey);

    const checkout = await newPurchase();
    const paid = (await (
      await ctl(`/purchases/${checkout.id}/complete_checkout`, 'POST', { remember_card: true })
    ).json()) as {
      is_recurring_token: boolean;
    };
    expect(paid.is_recurring_token).toBe(true);
    const r = await newPurchase();
    expect((await client.chargePurchase(r.id, checkout.id)).status).toBe('paid');
  });

  it('refuses to cancel the Purchases of a reference given to refuseCancels, and they stay payable', async () => {
    const reference = uniq('cycle');
    sandbox.refuseCancels(reference);
    const p = await client.createPurchase({
      client: { email: 'a@b.test' },
      reference,
      currency: 'NGN',
      products: [{ name: 'Plan', price: 700 }],
    });
    await expect(client.cancelPurchase(p.id)).rejects.toThrow(/purchase_cancel_error/);
    expect(sandbox.purchase(p.id)?.status).toBe('created');
    expect((await client.markAsPaid(p.id)).status).toBe('paid');
    const other = await newPurchase();
    expect((await client.cancelPurchase(other.id)).status).toBe('cancelled');
  });

  it('refunds at the gateway outside the engine through /__sandbox/purchases/:id/refund, within what is refundable', async () => {
    const ctl = (path: string, body: unknown) =>
      fetch(`${sandbox.origin}/__sandbox${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const unpaid = await newPurchase();
    expect((await ctl(`/purchases/${unpaid.id}/refund`, {})).status).toBe(409);
    const p = await newPurchase();
    await client.chargePurchase(p.id, uniq('tok_success'));
    expect((await ctl(`/purchases/${p.id}/refund`, { amount: 0 })).status).toBe(400);
    expect((await ctl(`/purchases/${p.id}/refund`, { amount: 701 })).status).toBe(409);
    const r = await ctl(`/purchases/${p.id}/refund`, { amount: 300 });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { payment: { amount: number } }).payment.amount).toBe(300);
    expect(sandbox.refundAtGateway(p.id)).toMatchObject({ payment: { amount: 400, payment_type: 'refund' } });
    expect(sandbox.refundAtGateway(p.id)).toEqual({ refused: 'Purchase in status refunded cannot be refunded.' });
    expect((await client.getPurchase(p.id)).refundable_amount).toBe(0);
    expect(sandbox.payments(p.id).map((pm) => (pm.payment as { amount: number }).amount)).toEqual([300, 400]);
    await sandbox.whenDeliveriesIdle();
    expect(eventsFor(p.id).filter((e) => e === 'payment.refunded')).toHaveLength(2);
    expect(sandbox.reads(p.id)).toBe(1);
  });

  it('tok_pending_hard_ hard-declines after pending; tok_unnamed_<status>_ answers that status and resolves by it', async () => {
    const hard = await newPurchase();
    expect((await client.chargePurchase(hard.id, uniq('tok_pending_hard'))).status).toBe('pending_charge');
    const declined = await until(
      () => client.getPurchase(hard.id),
      (x) => x.status === 'error',
    );
    expect(declined.transaction_data?.attempts[0]?.error?.code).toBe('stolen_card');
    const outcomes: Record<string, string> = {};
    for (const status of ['hold', 'pending_capture', 'sent', 'viewed', 'created', 'overdue', 'pending_release']) {
      const p = await newPurchase();
      expect((await client.chargePurchase(p.id, uniq(`tok_unnamed_${status}`))).status).toBe(status);
      outcomes[status] = (
        await until(
          () => client.getPurchase(p.id),
          (x) => x.status !== status,
        )
      ).status;
    }
    expect(outcomes).toEqual({
      hold: 'paid',
      pending_capture: 'paid',
      sent: 'paid',
      viewed: 'paid',
      created: 'paid',
      overdue: 'paid',
      pending_release: 'released',
    });
    const check = await newPurchase();
    expect((await client.chargePurchase(check.id, uniq('tok_unnamed_preauthorized'))).status).toBe('preauthorized');
    await new Promise((r) => setTimeout(r, 200));
    expect((await client.getPurchase(check.id)).status).toBe('preauthorized');
  });
});

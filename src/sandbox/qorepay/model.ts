/**
 * The QorePay gateway's state and rules, without HTTP: purchases and their statuses, payments (refunds,
 * chargebacks), clients, recurring tokens, account webhooks and the company key, the ledger of charge attempts, and
 * which events go to which callback. The routes (./gateway-routes.ts, ./control-routes.ts) translate HTTP to these
 * methods; ./charges.ts runs the charge scenarios. Tests can drive it directly.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { statusesWhere } from '../../domain/purchase-status';
import { Ledger } from '../kit';
import { declineMessageFor, type Scenario } from './scenarios';
import type { DeliveryTarget } from './webhook-delivery';

export type LedgerOutcome = 'success' | 'declined' | 'pending' | 'error';

export interface LedgerEntry {
  purchaseId: string;
  reference: string | null;
  token: string;
  outcome: LedgerOutcome;
  code?: string;
  at: string;
}

export type SandboxPurchase = Record<string, unknown> & {
  id: string;
  status: string;
  reference: string | null;
  client_id: string | null;
  is_recurring_token: boolean;
  refundable_amount: number;
  purchase: { currency: string; total: number; products: Record<string, unknown>[] } & Record<string, unknown>;
  transaction_data: { attempts: Record<string, unknown>[] } & Record<string, unknown>;
  status_history: Array<{ status: string; timestamp: number; related_object: { type: string; id: string } | null }>;
};

export interface AccountWebhook {
  id: string;
  title: string;
  callback: string;
  events: string[];
  all_events: boolean;
  public_key: string;
  privateKey: KeyObject;
  created_on: number;
  updated_on: number;
}

/** Hands one signed event to webhook delivery. */
export type Deliver = (
  target: DeliveryTarget,
  eventType: string,
  objectId: string,
  body: Record<string, unknown>,
) => void;

/** Statuses in which the money has been taken: the same table the engine reads (a second charge is refused). */
export const PAID_LIKE = new Set<string>(statusesWhere('moneyTaken'));
export const REFUNDABLE = new Set<string>(statusesWhere('refundable'));
export const CANCELLABLE = new Set<string>(statusesWhere('cancellable'));
export const CHARGEABLE = new Set<string>(statusesWhere('chargeable'));
export const TOKEN_STATUSES = new Set<string>(statusesWhere('savesToken'));
/** A charge (or a capture or release) is in flight: never a second one. */
export const IN_FLIGHT = new Set<string>(statusesWhere('chargeInFlight'));

export const CHARGEBACK_REASONS = [
  { id: '2979e544-fbaf-434a-8f41-c31981c26b1d', name: 'Fraud: card absent environment', code: '10.4' },
  { id: '6d1f0b3e-5a0c-4e4b-9c0e-0a3c1b2d4e51', name: 'Cancelled recurring transaction', code: '13.2' },
  { id: 'b0a4c8f2-1e7d-4f3a-8a55-3c2d9e6f7a10', name: 'Merchandise or services not received', code: '13.1' },
  { id: 'e3c1a9d7-8b2f-4c6e-9d4a-5f7b1c3e2a98', name: 'Duplicate processing', code: '12.6.1' },
];

export const now = (): number => Math.floor(Date.now() / 1000);
export const fieldError = (message: string, code: string) => [{ message, code }];
export const allError = (code: string, message: string) => ({ __all__: [{ message, code }] });
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function newKeyPair(): { privateKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export const signWith = (key: KeyObject) => (body: Buffer) => sign('sha256', body, key).toString('base64');

export class QorePayModel {
  readonly companyId = randomUUID();
  readonly purchases = new Map<string, SandboxPurchase>();
  readonly payments = new Map<string, Record<string, unknown>>();
  readonly clients = new Map<string, Record<string, unknown>>();
  /** Scenarios chosen per token (setScenario, or a token created with one). */
  readonly scenarios = new Map<string, Scenario>();
  /** Charges answered so far per token, for scenarios that change after N attempts. */
  readonly counters = new Map<string, number>();
  readonly ledger = new Ledger<LedgerEntry>();
  readonly callbackUrls: string[];
  readonly accountWebhooks = new Map<string, AccountWebhook>();
  refundMode: 'instant' | 'pending' = 'instant';
  /** References whose Purchases refuse `POST /purchases/{id}/cancel/` (a test fault: a cancel the gateway turns down). */
  readonly cancelRefusedReferences = new Set<string>();
  /** `GET /purchases/{id}/` answered so far per Purchase (how often the engine read it). */
  readonly reads = new Map<string, number>();
  /** Pending charges of a `manual` scenario, by Purchase id: resolving one runs its planned outcome. */
  readonly manualPending = new Map<string, () => void>();
  private companyKey = newKeyPair();

  /** `deliver` sends events (default: nowhere, for tests of the model alone). */
  constructor(
    options: { webhookUrls?: string[] } = {},
    private readonly deliver: Deliver = () => undefined,
  ) {
    this.callbackUrls = [...(options.webhookUrls ?? [])];
  }

  get publicKeyPem(): string {
    return this.companyKey.publicKeyPem;
  }

  /** Replaces the company key pair; later callbacks are signed with the new key. */
  rotateKey(): string {
    this.companyKey = newKeyPair();
    return this.companyKey.publicKeyPem;
  }

  /** Signs with the current company key (looked up per attempt, so a rotation applies to retries). */
  private readonly companySigner: DeliveryTarget['sign'] = (body) => signWith(this.companyKey.privateKey)(body);

  // ------------------------------------------------------------------ events

  emit(eventType: string, objectId: string, body: Record<string, unknown>, successCallback?: unknown): void {
    const snapshot = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
    for (const url of this.callbackUrls) this.deliver({ url, sign: this.companySigner }, eventType, objectId, snapshot);
    for (const hook of this.accountWebhooks.values()) {
      if (!hook.all_events && !hook.events.includes(eventType)) continue;
      this.deliver(
        { url: hook.callback, sign: signWith(hook.privateKey), webhookId: hook.id },
        eventType,
        objectId,
        snapshot,
      );
    }
    // success_callback: success events only, signed with the company key.
    if (typeof successCallback === 'string' && successCallback !== '' && eventType === 'purchase.paid') {
      this.deliver({ url: successCallback, sign: this.companySigner }, eventType, objectId, snapshot);
    }
  }
  emitPurchase(eventType: string, p: SandboxPurchase): void {
    this.emit(eventType, p.id, p, eventType === 'purchase.paid' ? p.success_callback : undefined);
  }

  // ------------------------------------------------------------------ purchases

  setStatus(p: SandboxPurchase, status: string, related?: { type: string; id: string }): void {
    const ts = now();
    p.status = status;
    p.updated_on = ts;
    p.status_history.push({ status, timestamp: ts, related_object: related ?? null });
  }

  record(p: SandboxPurchase, token: string, outcome: LedgerOutcome, code?: string): void {
    const entry: LedgerEntry = {
      purchaseId: p.id,
      reference: p.reference,
      token,
      outcome,
      at: new Date().toISOString(),
    };
    if (code !== undefined) entry.code = code;
    this.ledger.add(entry);
  }

  attempt(p: SandboxPurchase, successful: boolean, error?: { code: string; message: string }): void {
    p.transaction_data.attempts.unshift({
      type: 'recurring_execute',
      successful,
      payment_method: 'visa',
      extra: { masked_pan: '444433******1111', three_d_secure: false, expiry_month: 12, expiry_year: 2030 },
      country: 'NG',
      client_ip: '127.0.0.1',
      processing_time: now(),
      error: error ?? null,
    });
  }

  markPaid(p: SandboxPurchase, paidOn: number, fields: Record<string, unknown>): void {
    const total = p.purchase.total;
    const fee = Math.round(total * 0.015);
    Object.assign(p, fields, {
      payment: {
        is_outgoing: false,
        payment_type: 'purchase',
        amount: total,
        currency: p.purchase.currency,
        net_amount: total - fee,
        fee_amount: fee,
        pending_amount: 0,
        pending_unfreeze_on: null,
        description: null,
        paid_on: paidOn,
        remote_paid_on: paidOn,
      },
      refundable_amount: total,
      refund_availability: 'all',
    });
    p.transaction_data.payment_method = 'visa';
    this.setStatus(p, 'paid');
  }

  commitCharge(p: SandboxPurchase, token: string, webhooks = true): void {
    this.attempt(p, true);
    this.markPaid(p, now(), { recurring_token: token });
    this.record(p, token, 'success');
    if (webhooks) this.emitPurchase('purchase.paid', p);
  }

  commitDecline(p: SandboxPurchase, token: string, code: string, status: 'error' | 'blocked' = 'error'): void {
    this.attempt(p, false, { code, message: declineMessageFor(code) });
    this.setStatus(p, status);
    this.record(p, token, 'declined', code);
    this.emitPurchase('purchase.payment_failure', p);
  }

  newClient(details: Record<string, unknown>): Record<string, unknown> {
    const ts = now();
    const client = { type: 'client', id: randomUUID(), created_on: ts, updated_on: ts, ...details };
    this.clients.set(client.id, client);
    return client;
  }

  newPurchase(input: {
    brandId: string;
    clientId: string | null;
    client: Record<string, unknown>;
    reference: string | null;
    currency: string;
    products: Array<{ name: string; price: number; quantity: string } & Record<string, unknown>>;
    body: Record<string, unknown>;
    purchaseExtra: Record<string, unknown>;
  }): SandboxPurchase {
    const ts = now();
    const id = randomUUID();
    const computed = input.products.reduce(
      (sum, pr) => sum + pr.price * Number(pr.quantity) - (typeof pr.discount === 'number' ? pr.discount : 0),
      0,
    );
    const override = input.purchaseExtra.total_override;
    const total = typeof override === 'number' ? override : Math.round(computed);
    const b = input.body;
    const p: SandboxPurchase = {
      type: 'purchase',
      id,
      created_on: ts,
      updated_on: ts,
      client: input.client,
      purchase: {
        currency: input.currency,
        products: input.products.map((pr) => ({ discount: 0, tax_percent: '0', category: null, ...pr })),
        total,
        language: 'en',
        notes: null,
        debt: 0,
        subtotal_override: null,
        total_tax_override: null,
        total_discount_override: null,
        total_override: null,
        request_client_details: [],
        timezone: 'UTC',
        due_strict: false,
        email_message: null,
        ...input.purchaseExtra,
      },
      payment: null,
      issuer_details: { legal_name: 'Sandbox Merchant', brand_name: 'Sandbox Brand' },
      transaction_data: { payment_method: null, extra: {}, country: null, attempts: [] },
      status: 'created',
      status_history: [{ status: 'created', timestamp: ts, related_object: null }],
      viewed_on: null,
      company_id: this.companyId,
      is_test: true,
      user_id: null,
      brand_id: input.brandId,
      billing_template_id: null,
      client_id: input.clientId,
      send_receipt: b.send_receipt === true,
      is_recurring_token: false,
      recurring_token: null,
      skip_capture: b.skip_capture === true,
      force_recurring: b.force_recurring === true,
      reference_generated: `SBX${id.slice(0, 8).toUpperCase()}`,
      reference: input.reference,
      issued: new Date(ts * 1000).toISOString().slice(0, 10),
      due: typeof b.due === 'number' ? b.due : ts + 3600,
      refund_availability: 'none',
      refundable_amount: 0,
      currency_conversion: null,
      payment_method_whitelist: Array.isArray(b.payment_method_whitelist) ? b.payment_method_whitelist : null,
      success_redirect: typeof b.success_redirect === 'string' ? b.success_redirect : null,
      failure_redirect: typeof b.failure_redirect === 'string' ? b.failure_redirect : null,
      cancel_redirect: typeof b.cancel_redirect === 'string' ? b.cancel_redirect : null,
      success_callback: typeof b.success_callback === 'string' ? b.success_callback : null,
      creator_agent: null,
      platform: 'api',
      product: 'purchases',
      created_from_ip: '127.0.0.1',
      invoice_url: null,
      checkout_url: null,
      direct_post_url: null,
      marked_as_paid: false,
      order_id: null,
    };
    this.purchases.set(id, p);
    return p;
  }

  /** Validates a create-purchase body like the gateway: field-keyed lists, nested for purchase.products. */
  validatePurchaseBody(b: Record<string, unknown>): Record<string, unknown> | undefined {
    const errors: Record<string, unknown> = {};
    if (typeof b.brand_id !== 'string' || b.brand_id === '') {
      errors.brand_id = fieldError('This field is required.', 'required');
    }
    const hasClient = b.client !== undefined && b.client !== null;
    const hasClientId = typeof b.client_id === 'string' && b.client_id !== '';
    if (hasClient === hasClientId) {
      errors.client_id = fieldError('Exactly one of client or client_id is required.', 'invalid');
    } else if (hasClient) {
      if (!isRecord(b.client) || typeof b.client.email !== 'string' || !b.client.email.includes('@')) {
        errors.client = { email: fieldError('Enter a valid email address.', 'invalid') };
      }
    } else if (!this.clients.has(b.client_id as string)) {
      errors.client_id = fieldError('Object with id does not exist.', 'does_not_exist');
    }
    if (typeof b.reference === 'string' && b.reference.length > 128) {
      errors.reference = fieldError('Ensure this field has no more than 128 characters.', 'max_length');
    }
    if (!isRecord(b.purchase)) {
      errors.purchase = fieldError('This field is required.', 'required');
    } else {
      const purchaseErrors: Record<string, unknown> = {};
      const products = b.purchase.products;
      if (!Array.isArray(products) || products.length === 0) {
        purchaseErrors.products = fieldError('This list may not be empty.', 'empty');
      } else {
        let any = false;
        const perItem = products.map((pr: unknown) => {
          const e: Record<string, unknown> = {};
          if (!isRecord(pr)) return { non_field_errors: fieldError('Invalid data.', 'invalid') };
          if (typeof pr.name !== 'string' || pr.name === '') e.name = fieldError('This field is required.', 'required');
          else if (pr.name.length > 256)
            e.name = fieldError('Ensure this field has no more than 256 characters.', 'max_length');
          if (typeof pr.price !== 'number' || !Number.isInteger(pr.price) || pr.price < 0) {
            e.price = fieldError('A valid non-negative integer is required.', 'invalid');
          }
          if (pr.quantity !== undefined && (typeof pr.quantity !== 'string' || !(Number(pr.quantity) > 0))) {
            e.quantity = fieldError('A valid positive number string is required.', 'invalid');
          }
          if (Object.keys(e).length > 0) any = true;
          return e;
        });
        if (any) purchaseErrors.products = perItem;
      }
      if (
        b.purchase.currency !== undefined &&
        (typeof b.purchase.currency !== 'string' || !/^[A-Z]{3}$/.test(b.purchase.currency))
      ) {
        purchaseErrors.currency = fieldError('Unknown currency.', 'invalid');
      }
      if (Object.keys(purchaseErrors).length > 0) errors.purchase = purchaseErrors;
    }
    return Object.keys(errors).length > 0 ? errors : undefined;
  }

  createPaymentFor(
    p: SandboxPurchase,
    paymentType: 'refund' | 'chargeback',
    amount: number,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const ts = now();
    const payment = {
      type: 'payment',
      id: randomUUID(),
      created_on: ts,
      updated_on: ts,
      status: 'success',
      client: p.client,
      payment: {
        is_outgoing: true,
        payment_type: paymentType,
        amount,
        currency: p.purchase.currency,
        net_amount: amount,
        fee_amount: 0,
        pending_amount: 0,
        pending_unfreeze_on: null,
        description: null,
        paid_on: ts,
        remote_paid_on: ts,
      },
      transaction_data: { payment_method: 'visa', extra: {}, country: 'NG', attempts: [] },
      related_to: { type: 'purchase', id: p.id },
      reference_generated: `SBXP${ts}`,
      reference: p.reference,
      account_id: null,
      company_id: this.companyId,
      is_test: true,
      user_id: null,
      brand_id: p.brand_id,
      ...extra,
    };
    this.payments.set(payment.id, payment);
    return payment;
  }

  completeRefund(p: SandboxPurchase, amount: number): Record<string, unknown> {
    const payment = this.createPaymentFor(p, 'refund', amount);
    p.refundable_amount -= amount;
    p.refund_availability = p.refundable_amount > 0 ? 'all' : 'none';
    this.setStatus(p, 'refunded', { type: 'payment', id: payment.id as string });
    this.emit('payment.refunded', p.id, payment);
    return payment;
  }

  /**
   * A refund made at the gateway outside the API's refund route (the merchant's dashboard, a support agent): the same
   * Payment and webhook as any refund. `amount` defaults to what is left to refund. Returns the Payment, or why not.
   */
  refundOutside(p: SandboxPurchase, amount?: number): Record<string, unknown> | { refused: string } {
    if (!REFUNDABLE.has(p.status) || p.refundable_amount <= 0)
      return { refused: `Purchase in status ${p.status} cannot be refunded.` };
    const value = amount ?? p.refundable_amount;
    if (!Number.isInteger(value) || value <= 0 || value > p.refundable_amount)
      return { refused: `amount must be an integer between 1 and ${p.refundable_amount}` };
    return this.completeRefund(p, value);
  }

  createRecurringToken(scenario?: Scenario, options: { clientId?: string; currency?: string } = {}): string {
    let clientId = options.clientId;
    if (clientId === undefined || !this.clients.has(clientId)) {
      const client = this.newClient({ email: 'card-holder@example.test', full_name: 'Card Holder' });
      if (clientId !== undefined) {
        this.clients.delete(client.id as string);
        client.id = clientId;
        this.clients.set(clientId, client);
      }
      clientId = client.id as string;
    }
    const p = this.newPurchase({
      brandId: 'sandbox-brand',
      clientId,
      client: this.clients.get(clientId) ?? {},
      reference: `card-setup-${clientId}`,
      currency: options.currency ?? 'NGN',
      products: [{ name: 'Card setup', price: 100, quantity: '1' }],
      body: { force_recurring: true },
      purchaseExtra: {},
    });
    this.attempt(p, true);
    p.transaction_data.attempts[0]!.type = 'execute';
    this.markPaid(p, now(), { is_recurring_token: true });
    if (scenario) this.scenarios.set(p.id, scenario);
    return p.id;
  }

  tokensOf(clientId: string): Array<Record<string, unknown>> {
    return [...this.purchases.values()]
      .filter((p) => p.client_id === clientId && p.is_recurring_token)
      .map((p) => ({
        type: 'client_recurring_token',
        id: p.id,
        payment_method: 'visa',
        description: '444433******1111',
        created_on: p.created_on,
        updated_on: p.updated_on,
      }));
  }
}

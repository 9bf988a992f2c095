/**
 * A faithful in-memory QorePay (CHIP Collect) sandbox on Fastify: same paths, statuses, error shapes and signed
 * webhooks as the gateway (see `reference/qorepay.md`), with charge outcomes chosen by the recurring token
 * (./scenarios.ts), a ledger of every charge attempt, and a control API under `/__sandbox/`.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { silentLogger, type Logger } from '../../integrations/http';
import { declineMessageFor, scenarioForToken, ScenarioSchema, type Scenario } from './scenarios';
import {
  CHIP_RETRY_DELAYS_MS,
  WebhookDispatcher,
  type DeliveryAttempt,
  type DeliveryTarget,
  type WebhookDeliveryOptions,
} from './webhook-delivery';
import { tokenBucket, type SandboxRateLimit } from './rate-limit';

export interface QorePaySandboxOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, `/api/v1/*` requests need `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string;
  /** Callback URLs that get every event, signed with the company key. */
  webhookUrls?: string[];
  /** Offsets from the first scheduling of each attempt; default the CHIP schedule. Tests compress it. */
  webhookRetryDelaysMs?: number[];
  /** Per-attempt webhook timeout (a timeout counts as a failure). Default 10 000 ms. */
  webhookTimeoutMs?: number;
  webhookDelivery?: WebhookDeliveryOptions;
  /** When `pending_*` charges (and pending refunds) resolve. Default 2000 ms. */
  pendingResolveDelayMs?: number;
  /** How long `tok_slow_*` charges take. Default 3000 ms. */
  slowResponseMs?: number;
  /** How long a `tok_commit_timeout_*` charge holds the socket before destroying it. Default 120 000 ms. */
  commitTimeoutHoldMs?: number;
  /** Page size of `GET /clients/{id}/recurring_tokens/`. Default 20. */
  tokensPageSize?: number;
  /** Answer gateway API calls above this rate with 429 and `Retry-After: 1` (default: no limit). */
  rateLimit?: SandboxRateLimit;
  logger?: Logger;
}

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

export interface QorePaySandbox {
  /** e.g. `http://127.0.0.1:43121/api/v1` */
  readonly baseUrl: string;
  /** e.g. `http://127.0.0.1:43121` */
  readonly origin: string;
  /** The current company public key (PEM). Changes on rotateKey(). */
  readonly publicKeyPem: string;
  close(): Promise<void>;
  ledger(reference?: string): LedgerEntry[];
  successfulCharges(reference: string): LedgerEntry[];
  purchase(id: string): SandboxPurchase | undefined;
  /** Payments (refunds, chargebacks) created so far, optionally for one Purchase. */
  payments(purchaseId?: string): Record<string, unknown>[];
  setScenario(token: string, scenario: Scenario): void;
  /** Creates a paid Purchase with `is_recurring_token: true` and returns its id (the token). */
  createRecurringToken(scenario?: Scenario, options?: { clientId?: string; currency?: string }): string;
  /** Every webhook delivery attempt so far (oldest first). */
  deliveries(): DeliveryAttempt[];
  /** Resolves when no webhook is queued, held or in flight. */
  whenDeliveriesIdle(): Promise<void>;
  /** Replaces the company key pair; later callbacks are signed with the new key. Returns the new PEM. */
  rotateKey(): string;
  setWebhookOptions(options: WebhookDeliveryOptions): void;
  readonly webhookOptions: WebhookDeliveryOptions;
  /** Adds a callback URL that gets every event (signed with the company key). */
  addWebhookUrl(url: string): void;
  /** `pending`: refunds answer a Purchase in `pending_refund` and complete after pendingResolveDelayMs. */
  setRefundMode(mode: 'instant' | 'pending'): void;
}

const PAID_LIKE = new Set(['paid', 'cleared', 'settled', 'pending_refund', 'refunded', 'chargeback', 'charged_back']);
const REFUNDABLE = new Set(['paid', 'cleared', 'settled', 'refunded']);
const CANCELLABLE = new Set(['created', 'sent', 'viewed', 'overdue', 'error']);
const TOKEN_STATUSES = new Set(['paid', 'cleared', 'settled', 'preauthorized']);

const CHARGEBACK_REASONS = [
  { id: '2979e544-fbaf-434a-8f41-c31981c26b1d', name: 'Fraud: card absent environment', code: '10.4' },
  { id: '6d1f0b3e-5a0c-4e4b-9c0e-0a3c1b2d4e51', name: 'Cancelled recurring transaction', code: '13.2' },
  { id: 'b0a4c8f2-1e7d-4f3a-8a55-3c2d9e6f7a10', name: 'Merchandise or services not received', code: '13.1' },
  { id: 'e3c1a9d7-8b2f-4c6e-9d4a-5f7b1c3e2a98', name: 'Duplicate processing', code: '12.6.1' },
];

const now = (): number => Math.floor(Date.now() / 1000);
const fieldError = (message: string, code: string) => [{ message, code }];
const allError = (code: string, message: string) => ({ __all__: [{ message, code }] });
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function newKeyPair(): { privateKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const signWith = (key: KeyObject) => (body: Buffer) => sign('sha256', body, key).toString('base64');

interface AccountWebhook {
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

export async function startQorePaySandbox(opts: QorePaySandboxOptions = {}): Promise<QorePaySandbox> {
  const logger = opts.logger ?? silentLogger;
  const pendingDelay = opts.pendingResolveDelayMs ?? 2000;
  const slowMs = opts.slowResponseMs ?? 3000;
  const holdMs = opts.commitTimeoutHoldMs ?? 120_000;
  const pageSize = opts.tokensPageSize ?? 20;
  const companyId = randomUUID();

  let companyKey = newKeyPair();
  const purchases = new Map<string, SandboxPurchase>();
  const payments = new Map<string, Record<string, unknown>>();
  const clients = new Map<string, Record<string, unknown>>();
  const scenarios = new Map<string, Scenario>();
  const counters = new Map<string, number>();
  const ledger: LedgerEntry[] = [];
  const callbackUrls = [...(opts.webhookUrls ?? [])];
  const accountWebhooks = new Map<string, AccountWebhook>();
  const timers = new Set<NodeJS.Timeout>();
  const heldSockets = new Set<{ destroy: () => void }>();
  let refundMode: 'instant' | 'pending' = 'instant';
  let closed = false;

  const dispatcher = new WebhookDispatcher(
    opts.webhookRetryDelaysMs ?? CHIP_RETRY_DELAYS_MS,
    opts.webhookTimeoutMs ?? 10_000,
    logger,
    opts.webhookDelivery ?? {},
  );

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) fn();
    }, ms);
    timers.add(t);
  };
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => later(ms, resolve));

  // ------------------------------------------------------------------ events

  const companySigner: DeliveryTarget['sign'] = (body) => signWith(companyKey.privateKey)(body);

  function emit(eventType: string, objectId: string, body: Record<string, unknown>, successCallback?: unknown): void {
    const snapshot = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
    for (const url of callbackUrls) dispatcher.enqueue({ url, sign: companySigner }, eventType, objectId, snapshot);
    for (const hook of accountWebhooks.values()) {
      if (!hook.all_events && !hook.events.includes(eventType)) continue;
      dispatcher.enqueue(
        { url: hook.callback, sign: signWith(hook.privateKey), webhookId: hook.id },
        eventType,
        objectId,
        snapshot,
      );
    }
    // success_callback: success events only, signed with the company key.
    if (typeof successCallback === 'string' && successCallback !== '' && eventType === 'purchase.paid') {
      dispatcher.enqueue({ url: successCallback, sign: companySigner }, eventType, objectId, snapshot);
    }
  }
  const emitPurchase = (eventType: string, p: SandboxPurchase): void =>
    emit(eventType, p.id, p, eventType === 'purchase.paid' ? p.success_callback : undefined);

  // ------------------------------------------------------------------ purchases

  function setStatus(p: SandboxPurchase, status: string, related?: { type: string; id: string }): void {
    const ts = now();
    p.status = status;
    p.updated_on = ts;
    p.status_history.push({ status, timestamp: ts, related_object: related ?? null });
  }

  function record(p: SandboxPurchase, token: string, outcome: LedgerOutcome, code?: string): void {
    const entry: LedgerEntry = {
      purchaseId: p.id,
      reference: p.reference,
      token,
      outcome,
      at: new Date().toISOString(),
    };
    if (code !== undefined) entry.code = code;
    ledger.push(entry);
  }

  function attempt(p: SandboxPurchase, successful: boolean, error?: { code: string; message: string }): void {
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

  function markPaid(p: SandboxPurchase, paidOn: number, fields: Record<string, unknown>): void {
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
    setStatus(p, 'paid');
  }

  function commitCharge(p: SandboxPurchase, token: string, webhooks = true): void {
    attempt(p, true);
    markPaid(p, now(), { recurring_token: token });
    record(p, token, 'success');
    if (webhooks) emitPurchase('purchase.paid', p);
  }

  function commitDecline(p: SandboxPurchase, token: string, code: string, status: 'error' | 'blocked' = 'error'): void {
    attempt(p, false, { code, message: declineMessageFor(code) });
    setStatus(p, status);
    record(p, token, 'declined', code);
    emitPurchase('purchase.payment_failure', p);
  }

  function newClient(details: Record<string, unknown>): Record<string, unknown> {
    const ts = now();
    const client = { type: 'client', id: randomUUID(), created_on: ts, updated_on: ts, ...details };
    clients.set(client.id, client);
    return client;
  }

  function newPurchase(input: {
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
      company_id: companyId,
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
    purchases.set(id, p);
    return p;
  }

  /** Validates a create-purchase body like the gateway: field-keyed lists, nested for purchase.products. */
  function validatePurchaseBody(b: Record<string, unknown>): Record<string, unknown> | undefined {
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
    } else if (!clients.has(b.client_id as string)) {
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

  function createPaymentFor(
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
      company_id: companyId,
      is_test: true,
      user_id: null,
      brand_id: p.brand_id,
      ...extra,
    };
    payments.set(payment.id, payment);
    return payment;
  }

  function completeRefund(p: SandboxPurchase, amount: number): Record<string, unknown> {
    const payment = createPaymentFor(p, 'refund', amount);
    p.refundable_amount -= amount;
    p.refund_availability = p.refundable_amount > 0 ? 'all' : 'none';
    setStatus(p, 'refunded', { type: 'payment', id: payment.id as string });
    emit('payment.refunded', p.id, payment);
    return payment;
  }

  function createRecurringToken(scenario?: Scenario, options: { clientId?: string; currency?: string } = {}): string {
    let clientId = options.clientId;
    if (clientId === undefined || !clients.has(clientId)) {
      const client = newClient({ email: 'card-holder@example.test', full_name: 'Card Holder' });
      if (clientId !== undefined) {
        clients.delete(client.id as string);
        client.id = clientId;
        clients.set(clientId, client);
      }
      clientId = client.id as string;
    }
    const p = newPurchase({
      brandId: 'sandbox-brand',
      clientId,
      client: clients.get(clientId) ?? {},
      reference: `card-setup-${clientId}`,
      currency: options.currency ?? 'NGN',
      products: [{ name: 'Card setup', price: 100, quantity: '1' }],
      body: { force_recurring: true },
      purchaseExtra: {},
    });
    attempt(p, true);
    p.transaction_data.attempts[0]!.type = 'execute';
    markPaid(p, now(), { is_recurring_token: true });
    if (scenario) scenarios.set(p.id, scenario);
    return p.id;
  }

  function tokensOf(clientId: string): Array<Record<string, unknown>> {
    return [...purchases.values()]
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

  // ------------------------------------------------------------------ HTTP

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 1024 * 1024,
  });

  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      const err = Object.assign(new Error('JSON parse error'), { statusCode: 400 });
      done(err, undefined);
    }
  });

  app.setErrorHandler((error: { statusCode?: number; message?: string }, _req, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      logger.error({ err: error.message }, 'qorepay sandbox: handler failed');
      return reply.code(500).send({ detail: 'Internal server error' });
    }
    return reply.code(status).send(allError('parse_error', error.message ?? 'Bad request'));
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ detail: 'Not found.' }));

  const expectedAuth = opts.apiKey ? createHash('sha256').update(`Bearer ${opts.apiKey}`).digest() : undefined;
  app.addHook('onRequest', async (req, reply) => {
    if (!expectedAuth || !req.url.startsWith('/api/')) return;
    const got = createHash('sha256')
      .update(req.headers.authorization ?? '')
      .digest();
    if (!timingSafeEqual(got, expectedAuth)) {
      return reply.code(401).send({ code: 'authentication_failed', message: 'Invalid or missing API key' });
    }
  });
  const bucket = opts.rateLimit ? tokenBucket(opts.rateLimit) : undefined;
  app.addHook('onRequest', async (req, reply) => {
    if (!bucket || !req.url.startsWith('/api/') || bucket.take()) return;
    opts.rateLimit?.onLimited?.();
    return reply.code(429).header('Retry-After', '1').send({ code: 'rate_limited', message: 'Too many requests.' });
  });
  app.addHook('onResponse', async (req, reply) => {
    logger.debug({ method: req.method, path: req.url.split('?')[0], status: reply.statusCode }, 'qorepay sandbox');
  });

  type IdParams = { Params: { id: string } };
  const bodyOf = (req: FastifyRequest): Record<string, unknown> => (isRecord(req.body) ? req.body : {});
  const notFound = (reply: FastifyReply) => reply.code(404).send({ detail: 'Not found.' });
  const api = '/api/v1';

  // --- clients
  app.post(`${api}/clients/`, async (req, reply) => {
    const b = bodyOf(req);
    if (typeof b.email !== 'string' || !b.email.includes('@')) {
      return reply.code(400).send({ email: fieldError('Enter a valid email address.', 'invalid') });
    }
    return reply.code(201).send(newClient(b));
  });
  app.get<IdParams>(`${api}/clients/:id/`, async (req, reply) => {
    const c = clients.get(req.params.id);
    return c ? reply.send(c) : notFound(reply);
  });
  app.get<IdParams & { Querystring: { page?: string } }>(`${api}/clients/:id/recurring_tokens/`, async (req, reply) => {
    if (!clients.has(req.params.id)) return notFound(reply);
    const all = tokensOf(req.params.id);
    const page = Math.max(1, Number(req.query.page ?? '1') || 1);
    const start = (page - 1) * pageSize;
    const link = (n: number) =>
      `${origin}${api}/clients/${encodeURIComponent(req.params.id)}/recurring_tokens/?page=${n}`;
    return reply.send({
      results: all.slice(start, start + pageSize),
      next: start + pageSize < all.length ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null,
    });
  });
  app.get<{ Params: { cid: string; pid: string } }>(
    `${api}/clients/:cid/recurring_tokens/:pid/`,
    async (req, reply) => {
      const t = tokensOf(req.params.cid).find((x) => x.id === req.params.pid);
      return t ? reply.send(t) : notFound(reply);
    },
  );
  app.delete<{ Params: { cid: string; pid: string } }>(
    `${api}/clients/:cid/recurring_tokens/:pid/`,
    async (req, reply) => {
      const p = purchases.get(req.params.pid);
      if (!p || p.client_id !== req.params.cid || !p.is_recurring_token) return notFound(reply);
      p.is_recurring_token = false;
      p.updated_on = now();
      emitPurchase('purchase.recurring_token_deleted', p);
      return reply.code(204).send();
    },
  );

  // --- purchases
  app.post(`${api}/purchases/`, async (req, reply) => {
    const b = bodyOf(req);
    const errors = validatePurchaseBody(b);
    if (errors) return reply.code(400).send(errors);
    const purchaseIn = b.purchase as Record<string, unknown>;
    let clientId = typeof b.client_id === 'string' ? b.client_id : null;
    let client: Record<string, unknown>;
    if (clientId) {
      client = clients.get(clientId) ?? {};
    } else {
      client = newClient(b.client as Record<string, unknown>);
      clientId = client.id as string;
    }
    const { products, currency, ...purchaseExtra } = purchaseIn;
    const p = newPurchase({
      brandId: b.brand_id as string,
      clientId,
      client,
      reference: typeof b.reference === 'string' ? b.reference : null,
      currency: typeof currency === 'string' ? currency : 'NGN',
      products: (products as Array<Record<string, unknown>>).map((pr) => ({
        ...pr,
        name: pr.name as string,
        price: pr.price as number,
        quantity: typeof pr.quantity === 'string' ? pr.quantity : '1',
      })),
      body: b,
      purchaseExtra,
    });
    emitPurchase('purchase.created', p);
    return reply.code(201).send(p);
  });

  app.get(`${api}/purchases/chargeback_reasons`, async (_req, reply) => reply.send(CHARGEBACK_REASONS));

  app.get<IdParams>(`${api}/purchases/:id/`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    return p ? reply.send(p) : notFound(reply);
  });

  app.post<IdParams>(`${api}/purchases/:id/charge/`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const token = bodyOf(req).recurring_token;
    if (typeof token !== 'string' || token === '') {
      return reply.code(400).send({ recurring_token: fieldError('This field is required.', 'required') });
    }
    if (PAID_LIKE.has(p.status)) {
      record(p, token, 'error', 'purchase_already_paid_for');
      return reply.code(400).send(allError('purchase_already_paid_for', 'Purchase already paid for.'));
    }
    if (p.status.startsWith('pending_')) return reply.send(p); // a charge is in flight: never a second one
    if (!CANCELLABLE.has(p.status)) {
      return reply
        .code(400)
        .send(allError('invalid_purchase_status', `Purchase in status ${p.status} cannot be paid.`));
    }

    const tokenPurchase = purchases.get(token);
    const scenario =
      scenarios.get(token) ??
      (tokenPurchase?.is_recurring_token && TOKEN_STATUSES.has(tokenPurchase.status)
        ? ({ type: 'success' } as const)
        : tokenPurchase
          ? undefined
          : scenarioForToken(token));
    const count = counters.get(token) ?? 0;

    const invalidToken = () => {
      record(p, token, 'declined', 'invalid_recurring_token');
      return reply.code(400).send(allError('invalid_recurring_token', 'Invalid recurring token.'));
    };
    const declined = (code: string, status: 'error' | 'blocked' = 'error') => {
      commitDecline(p, token, code, status);
      return reply.code(400).send(allError('purchase_charge_error', 'Failed to charge the purchase.'));
    };
    const succeeded = () => {
      commitCharge(p, token);
      return reply.send(p);
    };

    if (!scenario) return invalidToken();
    switch (scenario.type) {
      case 'success':
        return succeeded();
      case 'invalid_token':
        return invalidToken();
      case 'decline':
        return declined(scenario.code, scenario.status);
      case 'soft_decline':
        if (count < scenario.times) {
          counters.set(token, count + 1);
          return declined(scenario.code ?? 'insufficient_funds');
        }
        return succeeded();
      case 'http_error': {
        if (count < scenario.times) {
          counters.set(token, count + 1);
          const status = scenario.status ?? 500;
          record(p, token, 'error', `http_${status}`);
          return reply.code(status).send({ detail: 'Internal server error' });
        }
        return succeeded();
      }
      case 'rate_limited':
        if (count < scenario.times) {
          counters.set(token, count + 1);
          record(p, token, 'error', 'rate_limited');
          return reply
            .code(429)
            .header('Retry-After', String(scenario.retryAfterSeconds ?? 1))
            .send({ code: 'rate_limited', message: 'Too many requests.' });
        }
        return succeeded();
      case 'pending': {
        const webhooks = scenario.webhooks !== false;
        setStatus(p, 'pending_charge');
        record(p, token, 'pending');
        if (webhooks) emitPurchase('purchase.pending_charge', p);
        later(pendingDelay, () => {
          if (p.status !== 'pending_charge') return;
          if (scenario.then === 'paid') {
            commitCharge(p, token, webhooks);
          } else {
            const code = scenario.failCode ?? 'do_not_honour';
            attempt(p, false, { code, message: declineMessageFor(code) });
            setStatus(p, 'error');
            record(p, token, 'declined', code);
            if (webhooks) emitPurchase('purchase.payment_failure', p);
          }
        });
        return reply.send(p);
      }
      case 'slow': {
        setStatus(p, 'pending_execute'); // the acquirer is working: a concurrent charge must not pay twice
        await sleep(slowMs);
        if (closed) return reply;
        return succeeded();
      }
      case 'commit_timeout': {
        commitCharge(p, token);
        reply.hijack();
        const socket = req.raw.socket;
        const handle = { destroy: () => socket.destroy() };
        heldSockets.add(handle);
        socket.once('close', () => heldSockets.delete(handle));
        later(holdMs, () => {
          heldSockets.delete(handle);
          socket.destroy();
        });
        return reply;
      }
    }
  });

  app.post<IdParams>(`${api}/purchases/:id/mark_as_paid/`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const raw = bodyOf(req).paid_on;
    let paidOn = now();
    if (raw !== undefined && raw !== null) {
      const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 99_999_999_999) {
        return reply
          .code(400)
          .send({ paid_on: fieldError('A valid Unix timestamp in seconds is required.', 'invalid') });
      }
      paidOn = n;
    }
    if (PAID_LIKE.has(p.status)) {
      return reply.code(400).send(allError('purchase_already_paid_for', 'Purchase already paid for.'));
    }
    if (!CANCELLABLE.has(p.status) && !p.status.startsWith('pending_')) {
      return reply
        .code(400)
        .send(allError('invalid_purchase_status', `Purchase in status ${p.status} cannot be paid.`));
    }
    markPaid(p, paidOn, { marked_as_paid: true });
    emitPurchase('purchase.paid', p);
    return reply.send(p);
  });

  app.post<IdParams>(`${api}/purchases/:id/cancel/`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    if (!p) return notFound(reply);
    if (!CANCELLABLE.has(p.status)) {
      return reply
        .code(400)
        .send(allError('purchase_cancel_error', `Purchase in status ${p.status} cannot be cancelled.`));
    }
    setStatus(p, 'cancelled');
    emitPurchase('purchase.cancelled', p);
    return reply.send(p);
  });

  app.post<IdParams>(`${api}/purchases/:id/refund/`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const raw = bodyOf(req).amount;
    if (!REFUNDABLE.has(p.status) || p.refundable_amount <= 0) {
      return reply
        .code(400)
        .send(allError('purchase_refund_error', `Purchase in status ${p.status} cannot be refunded.`));
    }
    const amount = raw === undefined || raw === null ? p.refundable_amount : raw;
    if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0 || amount > p.refundable_amount) {
      return reply
        .code(400)
        .send(
          allError('purchase_refund_error', `Refund amount must be an integer between 1 and ${p.refundable_amount}.`),
        );
    }
    if (refundMode === 'pending') {
      setStatus(p, 'pending_refund');
      emitPurchase('purchase.pending_refund', p);
      later(pendingDelay, () => {
        if (p.status === 'pending_refund') completeRefund(p, amount);
      });
      return reply.send(p);
    }
    return reply.send(completeRefund(p, amount));
  });

  app.post<IdParams>(`${api}/purchases/:id/chargeback/`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const b = bodyOf(req);
    const errors: Record<string, unknown> = {};
    for (const f of ['reason_id', 'arn', 'date', 'reference']) {
      if (typeof b[f] !== 'string' || b[f] === '') errors[f] = fieldError('This field is required.', 'required');
    }
    if (!errors.reason_id && !CHARGEBACK_REASONS.some((r) => r.id === b.reason_id)) {
      errors.reason_id = fieldError('Object with id does not exist.', 'does_not_exist');
    }
    if (!errors.date && !/^\d+$/.test(b.date as string))
      errors.date = fieldError('A UTC timestamp is required.', 'invalid');
    if (Object.keys(errors).length > 0) return reply.code(400).send(errors);
    if (!REFUNDABLE.has(p.status)) {
      return reply
        .code(400)
        .send(allError('purchase_chargeback_error', `Purchase in status ${p.status} cannot be charged back.`));
    }
    const payment = createPaymentFor(p, 'chargeback', p.refundable_amount, {
      status: 'charged_back',
      chargeback: { reason_id: b.reason_id, arn: b.arn, date: Number(b.date), reference: b.reference },
    });
    p.refundable_amount = 0;
    p.refund_availability = 'none';
    setStatus(p, 'charged_back', { type: 'payment', id: payment.id as string });
    emit('payment.charged_back', p.id, payment);
    return reply.send(p);
  });

  app.post<IdParams>(`${api}/purchases/:id/delete_recurring_token/`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    if (!p) return notFound(reply);
    if (p.is_recurring_token) {
      p.is_recurring_token = false;
      p.updated_on = now();
      emitPurchase('purchase.recurring_token_deleted', p);
    }
    return reply.send(p);
  });

  // --- keys and account webhooks
  app.get(`${api}/public_key/`, async (_req, reply) =>
    reply.type('application/json').send(JSON.stringify(companyKey.publicKeyPem)),
  );

  const publicWebhook = (h: AccountWebhook) => {
    const { privateKey: _privateKey, ...rest } = h;
    return { type: 'webhook', ...rest };
  };
  app.post(`${api}/webhooks/`, async (req, reply) => {
    const b = bodyOf(req);
    const errors: Record<string, unknown> = {};
    if (typeof b.callback !== 'string' || !/^https?:\/\//.test(b.callback)) {
      errors.callback = fieldError('Enter a valid URL.', 'invalid');
    }
    const allEvents = b.all_events === true;
    const events = Array.isArray(b.events) ? b.events.filter((e): e is string => typeof e === 'string') : [];
    if (!allEvents && events.length === 0) errors.events = fieldError('Give events or all_events.', 'required');
    if (Object.keys(errors).length > 0) return reply.code(400).send(errors);
    const keys = newKeyPair();
    const ts = now();
    const hook: AccountWebhook = {
      id: randomUUID(),
      title: typeof b.title === 'string' ? b.title : '',
      callback: b.callback as string,
      events,
      all_events: allEvents,
      public_key: keys.publicKeyPem,
      privateKey: keys.privateKey,
      created_on: ts,
      updated_on: ts,
    };
    accountWebhooks.set(hook.id, hook);
    return reply.code(201).send(publicWebhook(hook));
  });
  app.get(`${api}/webhooks/`, async (_req, reply) =>
    reply.send({ results: [...accountWebhooks.values()].map(publicWebhook), next: null, previous: null }),
  );
  app.get<IdParams>(`${api}/webhooks/:id/`, async (req, reply) => {
    const h = accountWebhooks.get(req.params.id);
    return h ? reply.send(publicWebhook(h)) : notFound(reply);
  });
  app.delete<IdParams>(`${api}/webhooks/:id/`, async (req, reply) => {
    if (!accountWebhooks.delete(req.params.id)) return notFound(reply);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------------ control API (/__sandbox/)

  const ctl = '/__sandbox';
  app.get(`${ctl}/health`, async () => ({ ok: true }));
  app.post(`${ctl}/scenarios`, async (req, reply) => {
    const parsed = z.object({ token: z.string().min(1), scenario: ScenarioSchema }).safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    scenarios.set(parsed.data.token, parsed.data.scenario);
    return { ok: true };
  });
  app.post(`${ctl}/tokens`, async (req, reply) => {
    const parsed = z
      .object({ scenario: ScenarioSchema.optional(), clientId: z.string().optional(), currency: z.string().optional() })
      .safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    const { scenario, clientId, currency } = parsed.data;
    const id = createRecurringToken(scenario, {
      ...(clientId === undefined ? {} : { clientId }),
      ...(currency === undefined ? {} : { currency }),
    });
    return reply.code(201).send({ id, clientId: purchases.get(id)?.client_id });
  });
  app.get<{ Querystring: { reference?: string } }>(`${ctl}/ledger`, async (req) => ({
    entries: sandbox.ledger(req.query.reference),
  }));
  app.get<IdParams>(`${ctl}/purchases/:id`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    return p ? reply.send(p) : notFound(reply);
  });
  app.post<IdParams>(`${ctl}/purchases/:id/complete_checkout`, async (req, reply) => {
    const p = purchases.get(req.params.id);
    if (!p) return notFound(reply);
    if (!CANCELLABLE.has(p.status)) {
      return reply.code(409).send({ error: `purchase in status ${p.status} cannot be paid` });
    }
    const remember = bodyOf(req).remember_card === true || p.force_recurring === true;
    attempt(p, true);
    p.transaction_data.attempts[0]!.type = 'execute';
    markPaid(p, now(), { is_recurring_token: remember });
    emitPurchase('purchase.paid', p);
    return reply.send(p);
  });
  app.get(`${ctl}/deliveries`, async () => ({ deliveries: dispatcher.attempts() }));
  app.put(`${ctl}/webhook-options`, async (req, reply) => {
    const parsed = z
      .object({
        duplicate: z.boolean().optional(),
        reorder: z.boolean().optional(),
        delayMs: z.number().int().nonnegative().optional(),
        reorderHoldMs: z.number().int().nonnegative().optional(),
      })
      .safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    const next: WebhookDeliveryOptions = {};
    for (const [k, v] of Object.entries(parsed.data)) if (v !== undefined) Object.assign(next, { [k]: v });
    sandbox.setWebhookOptions(next);
    return { options: sandbox.webhookOptions };
  });
  app.post(`${ctl}/webhook-urls`, async (req, reply) => {
    const parsed = z.object({ url: z.string().regex(/^https?:\/\//) }).safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    sandbox.addWebhookUrl(parsed.data.url);
    return { urls: [...callbackUrls] };
  });
  app.post(`${ctl}/rotate-key`, async () => ({ publicKey: sandbox.rotateKey() }));
  app.post(`${ctl}/refund-mode`, async (req, reply) => {
    const parsed = z.object({ mode: z.enum(['instant', 'pending']) }).safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    refundMode = parsed.data.mode;
    return { mode: refundMode };
  });

  // ------------------------------------------------------------------ start

  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `http://${hostForUrl}:${address.port}`;
  logger.info({ origin }, 'qorepay sandbox listening');

  const sandbox: QorePaySandbox = {
    baseUrl: `${origin}${api}`,
    origin,
    get publicKeyPem() {
      return companyKey.publicKeyPem;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of heldSockets) s.destroy();
      heldSockets.clear();
      dispatcher.close();
      await app.close();
    },
    ledger: (reference) =>
      ledger.filter((e) => reference === undefined || e.reference === reference).map((e) => ({ ...e })),
    successfulCharges: (reference) => ledger.filter((e) => e.reference === reference && e.outcome === 'success'),
    purchase: (id) => {
      const p = purchases.get(id);
      return p ? (JSON.parse(JSON.stringify(p)) as SandboxPurchase) : undefined;
    },
    payments: (purchaseId) =>
      [...payments.values()]
        .filter((pm) => purchaseId === undefined || (pm.related_to as { id: string }).id === purchaseId)
        .map((pm) => JSON.parse(JSON.stringify(pm)) as Record<string, unknown>),
    setScenario: (token, scenario) => {
      scenarios.set(token, ScenarioSchema.parse(scenario));
    },
    createRecurringToken,
    deliveries: () => dispatcher.attempts(),
    whenDeliveriesIdle: () => dispatcher.whenIdle(),
    rotateKey: () => {
      companyKey = newKeyPair();
      return companyKey.publicKeyPem;
    },
    setWebhookOptions: (options) => {
      dispatcher.options = { ...dispatcher.options, ...options };
    },
    get webhookOptions() {
      return { ...dispatcher.options };
    },
    addWebhookUrl: (url) => {
      if (!callbackUrls.includes(url)) callbackUrls.push(url);
    },
    setRefundMode: (mode) => {
      refundMode = mode;
    },
  };
  return sandbox;
}

/**
 * A faithful in-memory QorePay (CHIP Collect) sandbox on Fastify: same paths, statuses, error shapes and signed
 * webhooks as the gateway (see `reference/qorepay.md`), with charge outcomes chosen by the recurring token
 * (./scenarios.ts, run by ./charges.ts), a ledger of every charge attempt, and a control API under `/__sandbox/`.
 * This file only composes them: the gateway's state and rules are ./model.ts, its HTTP API ./gateway-routes.ts, the
 * control API ./control-routes.ts, webhook delivery ./webhook-delivery.ts.
 */
import { silentLogger, type Logger } from '../../shared/logger';
import { createSandboxApp, Faults, listen, SandboxTimers } from '../kit';
import { registerControlRoutes } from './control-routes';
import { API_PREFIX, registerGatewayRoutes } from './gateway-routes';
import { QorePayModel, type LedgerEntry, type SandboxPurchase } from './model';
import { tokenBucket, type SandboxRateLimit } from './rate-limit';
import { ScenarioSchema, type Scenario } from './scenarios';
import {
  CHIP_RETRY_DELAYS_MS,
  WebhookDispatcher,
  type DeliveryAttempt,
  type WebhookDeliveryOptions,
} from './webhook-delivery';

export type { LedgerEntry, LedgerOutcome, SandboxPurchase } from './model';

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
  /** The next n API requests answer `status` (default 500) and change nothing. */
  failNext(n: number, status?: number): void;
  /** The next refund commits (Payment, webhook) but its answer is never sent: the client times out. */
  commitThenTimeout(): void;
  /**
   * Purchases with this `reference` (a cycle's workflow id) refuse to be cancelled: `POST /purchases/{id}/cancel/`
   * answers 400 `purchase_cancel_error` and the Purchase stays payable.
   */
  refuseCancels(reference: string): void;
  /** A refund made at the gateway, outside the engine (a dashboard refund); `amount` defaults to what is refundable. */
  refundAtGateway(purchaseId: string, amount?: number): Record<string, unknown> | { refused: string };
  /** How often `GET /purchases/{id}/` was answered for this Purchase. */
  reads(purchaseId: string): number;
  /** Resolves a pending charge of a `manual` scenario now; false when the Purchase has none. */
  resolvePending(purchaseId: string): boolean;
}

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export async function startQorePaySandbox(opts: QorePaySandboxOptions = {}): Promise<QorePaySandbox> {
  const logger = opts.logger ?? silentLogger;
  const timers = new SandboxTimers();
  const faults = new Faults();
  const dispatcher = new WebhookDispatcher(
    opts.webhookRetryDelaysMs ?? CHIP_RETRY_DELAYS_MS,
    opts.webhookTimeoutMs ?? 10_000,
    logger,
    opts.webhookDelivery ?? {},
  );
  const model = new QorePayModel({ webhookUrls: opts.webhookUrls ?? [] }, (target, type, objectId, body) =>
    dispatcher.enqueue(target, type, objectId, body),
  );

  const app = createSandboxApp({ ignoreTrailingSlash: true });
  let origin = '';
  const bucket = opts.rateLimit ? tokenBucket(opts.rateLimit) : undefined;
  if (bucket) {
    app.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/api/') || bucket.take()) return;
      opts.rateLimit?.onLimited?.();
      return reply.code(429).header('Retry-After', '1').send({ code: 'rate_limited', message: 'Too many requests.' });
    });
  }
  faults.install(app);
  registerGatewayRoutes(app, model, {
    apiKey: opts.apiKey,
    logger,
    tokensPageSize: opts.tokensPageSize ?? 20,
    origin: () => origin,
    charge: {
      timers,
      pendingResolveDelayMs: opts.pendingResolveDelayMs ?? 2000,
      slowResponseMs: opts.slowResponseMs ?? 3000,
    },
    faults,
    commitTimeoutHoldMs: opts.commitTimeoutHoldMs ?? 120_000,
  });

  const sandbox: QorePaySandbox = {
    get baseUrl() {
      return `${origin}${API_PREFIX}`;
    },
    get origin() {
      return origin;
    },
    get publicKeyPem() {
      return model.publicKeyPem;
    },
    async close() {
      if (timers.isClosed) return;
      timers.close();
      faults.close();
      dispatcher.close();
      await app.close();
    },
    ledger: (reference) => model.ledger.list((e) => reference === undefined || e.reference === reference),
    successfulCharges: (reference) => model.ledger.list((e) => e.reference === reference && e.outcome === 'success'),
    purchase: (id) => {
      const p = model.purchases.get(id);
      return p && copy(p);
    },
    payments: (purchaseId) =>
      [...model.payments.values()]
        .filter((pm) => purchaseId === undefined || (pm.related_to as { id: string }).id === purchaseId)
        .map(copy),
    setScenario: (token, scenario) => {
      model.scenarios.set(token, ScenarioSchema.parse(scenario));
    },
    createRecurringToken: (scenario, options) => model.createRecurringToken(scenario, options),
    deliveries: () => dispatcher.attempts(),
    whenDeliveriesIdle: () => dispatcher.whenIdle(),
    rotateKey: () => model.rotateKey(),
    setWebhookOptions: (options) => {
      dispatcher.options = { ...dispatcher.options, ...options };
    },
    get webhookOptions() {
      return { ...dispatcher.options };
    },
    addWebhookUrl: (url) => {
      if (!model.callbackUrls.includes(url)) model.callbackUrls.push(url);
    },
    setRefundMode: (mode) => {
      model.refundMode = mode;
    },
    failNext: (n, status) => faults.failNext(n, status),
    commitThenTimeout: () => faults.commitThenTimeout(),
    refuseCancels: (reference) => {
      model.cancelRefusedReferences.add(reference);
    },
    refundAtGateway: (purchaseId, amount) => {
      const p = model.purchases.get(purchaseId);
      return p ? copy(model.refundOutside(p, amount)) : { refused: `no Purchase ${purchaseId}` };
    },
    reads: (purchaseId) => model.reads.get(purchaseId) ?? 0,
    resolvePending: (purchaseId) => {
      const resolve = model.manualPending.get(purchaseId);
      if (!resolve) return false;
      model.manualPending.delete(purchaseId);
      resolve();
      return true;
    },
  };
  registerControlRoutes(app, model, sandbox);

  origin = await listen(app, opts);
  logger.info({ origin }, 'qorepay sandbox listening');
  return sandbox;
}

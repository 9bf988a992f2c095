/**
 * The HTTP API (Fastify): merchant routes under /v1 (bearer API keys), the QorePay webhook route (signature instead
 * of a key, raw body kept), the OpenAPI document, and health/readiness. It talks to Temporal only through
 * BillingClient; webhooks go through the framework-free ingress in ./qorepay-webhook.ts.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import {
  type BillingClient,
  BillingConflictError,
  BillingError,
  BillingNotFoundError,
  BillingUnavailableError,
  BillingValidationError,
} from '../client';
import type { Logger } from '../logger';
import { parseCycleWorkflowId } from '../shared/billing-cycle';
import { paymentEventSignal, subscriptionWorkflowId, type PaymentEventSignal } from '../shared/subscription';
import { registerCodecRoutes, type CodecEndpointOptions } from './codec';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi';

/** The version answered at GET / (kept with package.json's). */
const API_VERSION = '0.1.0';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { handleQorePayWebhook, type WebhookIngressDeps } from './qorepay-webhook';
import { ROUTES, type OperationId } from './routes';
import { IDEMPOTENCY_KEY_HEADER, parseWith, type FieldIssue } from './schemas';
import { getReconciliation, startReconciliation } from '../reconciliation';
import { BILLING_TASK_QUEUE } from '../shared/task-queue';
import { summaryText } from '../shared/reconciliation';
import { money } from '../shared/ui-text';
import { defaultReconciliationSince, type ReconciliationRequest } from './reconciliations';

export interface ApiServerOptions {
  billing: BillingClient;
  /** Accepted bearer keys. None configured: every /v1 call answers 401 (fail closed). */
  apiKeys: readonly string[];
  webhook: WebhookIngressDeps;
  /** Resolves when Temporal answers; used by /readyz. */
  temporalHealth: () => Promise<void>;
  logger: Logger;
  /** Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Serves /codec/decode and /codec/encode for the Temporal UI (see ./codec.ts). */
  codec?: CodecEndpointOptions;
  /** Served at GET /metrics (Prometheus text). Default: a registry of the API's billing metrics. */
  metrics?: ApiMetrics;
  /** Task queue of the worker that runs reconciliation sweeps (and the cycles they check). Default: `billing`. */
  taskQueue?: string;
}

interface Parsed {
  params: Record<string, string>;
  /** The route's declared headers that were sent, by canonical name. */
  headers: Record<string, string>;
  query: unknown;
  body: unknown;
}

type Handler = (req: Parsed, reply: FastifyReply) => Promise<unknown>;

/** The webhook ingress's `onPaymentEvent`: refunds and chargebacks go to the subscription that owns the cycle. */
export function routePaymentEventsToSubscriptions(
  temporal: Pick<Client, 'workflow'>,
  logger: Logger,
): NonNullable<WebhookIngressDeps['onPaymentEvent']> {
  const kinds: Record<string, PaymentEventSignal['kind'] | undefined> = {
    'payment.refunded': 'refund',
    'payment.charged_back': 'chargeback',
    'payment.chargeback_reversed': 'chargeback_reversed',
  };
  return async (e) => {
    const kind = kinds[e.eventType];
    const route = parseCycleWorkflowId(e.cycleId);
    if (!kind || !route) {
      logger.info({ eventType: e.eventType, cycleId: e.cycleId }, 'qorepay webhook: payment event not routed');
      return;
    }
    const signal: PaymentEventSignal = {
      kind,
      cycleId: e.cycleId,
      purchaseId: e.purchaseId,
      paymentId: e.paymentId,
      ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
    };
    await temporal.workflow.getHandle(subscriptionWorkflowId(route.subscriptionId)).signal(paymentEventSignal, signal);
    logger.info({ cycleId: e.cycleId, kind }, 'qorepay webhook: payment event routed to the subscription');
  };
}

/** Constant-time check of a bearer key against every configured key (no early exit, equal-length digests). */
export function apiKeyMatcher(apiKeys: readonly string[]): (presented: string | undefined) => boolean {
  const digests = apiKeys.filter((k) => k.length > 0).map((k) => createHash('sha256').update(k).digest());
  return (presented) => {
    if (presented === undefined) return false;
    const candidate = createHash('sha256').update(presented).digest();
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, candidate) || ok;
    return ok;
  };
}

function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

class InvalidJsonError extends Error {}

export function buildApiServer(opts: ApiServerOptions): FastifyInstance {
  const log = opts.logger.child({ component: 'api' });
  // Typed as Fastify's base logger so the instance has the default FastifyInstance type.
  const fastifyLogger: FastifyBaseLogger = log;
  const app = Fastify({
    loggerInstance: fastifyLogger,
    bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
    // Ids in paths may contain ':' (cycle ids); keep the default router otherwise.
    routerOptions: { maxParamLength: 200 },
  });
  const billing = opts.billing;
  const keyMatches = apiKeyMatcher(opts.apiKeys);
  let openApi: OpenApiDocument | undefined;

  // JSON bodies: our own parser so invalid JSON becomes a field-level 400 like every other input problem.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(new InvalidJsonError('body is not valid JSON'), undefined);
    }
  });

  // Other media types: only an empty body is accepted (POST .../pause needs none; some clients still send a type).
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => {
    if (body.length === 0) return done(null, undefined);
    done(Object.assign(new Error('send JSON (application/json)'), { statusCode: 415 }), undefined);
  });

  app.setErrorHandler((err: unknown, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not_found' }));

  const handlers: Record<OperationId, Handler> = {
    createSubscription: async (r, reply) => {
      const { subscription, created } = await billing.createSubscription(r.body);
      return reply
        .code(created ? 201 : 200)
        .header('location', `/v1/subscriptions/${encodeURIComponent(subscription.subscriptionId)}`)
        .send(subscription);
    },
    listSubscriptions: async (r) => billing.listSubscriptions(r.query as never),
    getSubscription: async (r) => billing.getSubscription(r.params.id!),
    cancelSubscription: async (r) => billing.cancelSubscription(r.params.id!, r.body as never),
    pauseSubscription: async (r) => billing.pauseSubscription(r.params.id!),
    resumeSubscription: async (r) => billing.resumeSubscription(r.params.id!),
    updatePaymentMethod: async (r) =>
      billing.updatePaymentMethod(r.params.id!, (r.body as { recurringToken: string }).recurringToken),
    changePlan: async (r) => billing.changePlan(r.params.id!, (r.body as { plan: never }).plan),
    listCycles: async (r) => ({ cycles: await billing.listCycles(r.params.id!) }),
    refundCycle: async (r, reply) =>
      reply.code(201).send(await billing.refundCycle(r.params.id!, r.body as never, idempotency(r))),
    registerChargeback: async (r, reply) =>
      reply.code(201).send(await billing.registerChargeback(r.params.id!, r.body as never, idempotency(r))),
    getCycle: async (r) => billing.getCycle(r.params.cycleId!),
    markCyclePaid: async (r) => billing.markCyclePaid(r.params.cycleId!, r.body ?? {}),
    retryCycleNow: async (r) => billing.retryCycleNow(r.params.cycleId!),
    retryCycleSettlement: async (r) => billing.retryCycleSettlement(r.params.cycleId!),
    runReconciliation: async (r, reply) => {
      const since = (r.body as ReconciliationRequest | undefined)?.since ?? defaultReconciliationSince(Date.now());
      const reconciliationId = await temporalCall(() =>
        startReconciliation(billing.temporal, { taskQueue: opts.taskQueue ?? BILLING_TASK_QUEUE, since }),
      );
      return reply
        .code(202)
        .header('location', `/v1/reconciliations/${encodeURIComponent(reconciliationId)}`)
        .send({ reconciliationId, status: 'running' });
    },
    getReconciliation: async (r, reply) => {
      const id = r.params.reconciliationId!;
      const run = await temporalCall(() => getReconciliation(billing.temporal, id));
      if (!run) return reply.code(404).send({ error: 'not_found', message: `reconciliation ${JSON.stringify(id)}` });
      return run.summary ? { ...run, summary: { ...run.summary, text: summaryText(run.summary, money) } } : run;
    },
    openApiDocument: async () => (openApi ??= buildOpenApiDocument(ROUTES)),
    index: async () => ({
      name: 'Recurring billing engine API',
      version: API_VERSION,
      links: {
        openapi: '/openapi.json',
        health: '/healthz',
        readiness: '/readyz',
        metrics: '/metrics',
        subscriptions: '/v1/subscriptions (bearer API key)',
      },
    }),
    health: async () => ({ status: 'ok' }),
    ready: async (_r, reply) => {
      try {
        await opts.temporalHealth();
        return { status: 'ready' };
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'readiness: Temporal unreachable');
        return reply.code(503).send({ status: 'unavailable' });
      }
    },
    qorepayWebhook: async () => {
      throw new Error('registered separately (raw body)');
    },
  };

  // ---- merchant and operations routes (everything but the webhook, which has its own body parsing) ----
  app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      const spec = req.routeOptions.config as { auth?: boolean } | undefined;
      if (!spec?.auth) return;
      if (!keyMatches(bearerToken(req))) {
        await reply.code(401).header('www-authenticate', 'Bearer realm="billing"').send({ error: 'unauthorized' });
      }
    });
    for (const route of ROUTES) {
      if (route.operationId === 'qorepayWebhook') continue;
      const handler = handlers[route.operationId];
      scope.route({
        method: route.method,
        url: route.url,
        config: { auth: route.auth },
        handler: async (req, reply) => {
          const parsed = parseRequest(route, req);
          return handler(parsed, reply);
        },
      });
    }
  });

  if (opts.codec) registerCodecRoutes(app, opts.codec);

  // ---- QorePay webhooks: raw body (the signature is over the exact bytes), no API key ----
  const webhookDeps: WebhookIngressDeps = {
    ...opts.webhook,
    onPaymentEvent: opts.webhook.onPaymentEvent ?? routePaymentEventsToSubscriptions(opts.webhook.temporal, log),
  };
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post('/webhooks/qorepay', async (req, reply) => {
      const receivedAt = performance.now();
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const outcome = await handleQorePayWebhook(webhookDeps, raw, req.headers['x-signature']);
      metrics.observeWebhook(outcome.body.outcome, (performance.now() - receivedAt) / 1000);
      return reply.code(outcome.status).send(outcome.body);
    });
  });

  // ---- Prometheus: counts and latencies only, no ids (no API key, like /healthz; keep it off the public edge) ----
  const metrics = opts.metrics ?? createApiMetrics({ temporal: opts.webhook.temporal });
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });

  function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (err instanceof InvalidJsonError) return validationFailed(reply, [{ path: '', message: err.message }]);
    if (err instanceof BillingError) {
      if (err instanceof BillingValidationError) return validationFailed(reply, err.issues);
      if (err instanceof BillingNotFoundError) {
        return reply.code(404).send({ error: 'not_found', message: err.message });
      }
      if (err instanceof BillingConflictError) {
        return reply
          .code(409)
          .send({ error: 'conflict', message: err.message, ...(err.fields.length ? { fields: err.fields } : {}) });
      }
      if (err instanceof BillingUnavailableError) {
        const gateway = err.dependency === 'gateway';
        req.log.warn({ err: err.message }, gateway ? 'payment gateway unavailable' : 'Temporal unavailable');
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({
            error: 'unavailable',
            message: gateway
              ? 'the payment gateway could not be asked; nothing was created; retry later'
              : 'Temporal is unreachable; retry later',
          });
      }
    }
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Fastify's own client errors: body too large (413), unsupported media type (415), ...
      const code = (err as { code?: unknown }).code;
      return reply.code(status).send({
        error: status === 415 ? 'unsupported_media_type' : status === 413 ? 'payload_too_large' : 'bad_request',
        ...(typeof code === 'string' ? { code } : {}),
      });
    }
    req.log.error(
      { err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
      'request failed',
    );
    return reply.code(500).send({ error: 'internal' });
  }

  return app;
}

/** Temporal unreachable -> 503 like every other route (BillingUnavailableError). */
async function temporalCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 14 || code === 4) {
      throw new BillingUnavailableError(`Temporal is unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
    throw err;
  }
}

function idempotency(r: Parsed): { idempotencyKey?: string } {
  const key = r.headers[IDEMPOTENCY_KEY_HEADER];
  return key === undefined ? {} : { idempotencyKey: key };
}

function validationFailed(reply: FastifyReply, issues: FieldIssue[]): FastifyReply {
  return reply.code(400).send({ error: 'validation_failed', issues });
}

/** Validates path params, headers, query and body against the route's schemas; one 400 listing every problem. */
function parseRequest(route: (typeof ROUTES)[number], req: FastifyRequest): Parsed {
  const issues: FieldIssue[] = [];
  const params: Record<string, string> = {};
  const rawParams = (req.params ?? {}) as Record<string, string>;
  const specParams = ('params' in route ? route.params : undefined) as Record<string, z.ZodType> | undefined;
  for (const [name, schema] of Object.entries(specParams ?? {})) {
    const r = parseWith(schema, rawParams[name], [name === 'id' ? 'subscriptionId' : name]);
    if (r.ok) params[name] = r.value as string;
    else issues.push(...r.issues);
  }
  const headers: Record<string, string> = {};
  const specHeaders = ('headers' in route ? route.headers : undefined) as Record<string, z.ZodType> | undefined;
  for (const [name, schema] of Object.entries(specHeaders ?? {})) {
    const raw = req.headers[name.toLowerCase()];
    if (raw === undefined) continue;
    const r = parseWith(schema, Array.isArray(raw) ? raw.join(', ') : raw, [name]);
    if (r.ok) headers[name] = r.value as string;
    else issues.push(...r.issues);
  }
  let query: unknown = req.query;
  if ('query' in route && route.query) {
    const r = parseWith(route.query, req.query);
    if (r.ok) query = r.value;
    else issues.push(...r.issues);
  }
  let body: unknown = req.body;
  if ('body' in route && route.body) {
    // Markers like mark-paid accept an empty body; the schema decides.
    const r = parseWith(route.body, req.body ?? (route.operationId === 'markCyclePaid' ? {} : undefined));
    if (r.ok) body = r.value;
    else issues.push(...r.issues);
  }
  if (issues.length) throw new BillingValidationError(issues);
  return { params, headers, query, body };
}

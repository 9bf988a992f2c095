/**
 * The HTTP API (Fastify): merchant routes under /v1 (bearer API keys), the QorePay webhook route (signature instead
 * of a key, raw body kept), the OpenAPI document, and health/readiness. It talks to Temporal only through
 * BillingClient (webhooks too, through the framework-free ingress in ./qorepay-webhook.ts); it never imports
 * workflows or activities.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  type BillingClient,
  BILLING_ERROR_OUTCOMES,
  BillingConflictError,
  BillingUnavailableError,
  BillingValidationError,
  isBillingError,
} from '@temporal-billing/client';
import type { BillingOperator } from '@temporal-billing/client/engine';
import type { CreateSubscriptionInput } from '@temporal-billing/client/schemas';
import type { SubscriptionState } from '../shared/subscription';
import { plainMerchantKey, type ApiKeySpec } from './api-keys';
import type { Logger } from '../logger';
import { registerCodecRoutes, type CodecEndpointOptions } from './codec';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi';

/** The version answered at GET / (kept with package.json's). */
const API_VERSION = '0.1.0';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { createTemporalGate } from './temporal-gate';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { OpenAPIV3 } from 'openapi-types';
import { handleQorePayWebhook, type WebhookIngressDeps } from './qorepay-webhook';
import { ROUTES, type OperationId } from './routes';
import { booksHandlers, type BooksApiOptions } from './books-handlers';
import { listHandlers } from './list-handlers';
import { IDEMPOTENCY_KEY_HEADER, parseWith, type FieldIssue } from '@temporal-billing/client/schemas';
import { consolePlugin, type ConsolePluginOptions } from '../console/plugin';
import { summaryText } from '../shared/reconciliation';
import { money } from '../shared/ui-text';
import { defaultReconciliationSince, type ReconciliationRequest } from './reconciliations';

export interface ApiServerOptions {
  billing: BillingClient;
  /** The operators' duties: reconciliation sweeps (POST/GET /v1/reconciliations) and the metrics' cycle counts. */
  operator: Pick<BillingOperator, 'countCycles' | 'startReconciliation' | 'getReconciliation'>;
  /** The records store's reader and the seller printed on documents; absent: the book routes answer 503. */
  books?: BooksApiOptions;
  /**
   * Accepted bearer keys (from config: hashed, with merchant and scopes; API_KEYS and OPERATOR_API_KEYS together). A
   * plain string is a merchant key of merchant `default` with no settlement accounts, like a plain API_KEYS entry.
   * None configured: every /v1 call answers 401.
   */
  apiKeys: readonly (ApiKeySpec | string)[];
  /** The webhook route's gateway checks; the events it accepts reach the workflows through `ingress`. */
  webhook: Omit<WebhookIngressDeps, 'ingress'>;
  /** Signals verified gateway facts into cycles and subscriptions (the engine's, not a merchant's client). */
  ingress: WebhookIngressDeps['ingress'];
  /** Resolves when Temporal answers; used by /readyz. */
  temporalHealth: () => Promise<void>;
  logger: Logger;
  /** Largest request body of the merchant routes; larger answers 413. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Largest QorePay webhook body (gateway events are a few KiB). Default 64 KiB. */
  webhookBodyLimitBytes?: number;
  /** Time to receive a whole request (headers and body); a slower client gets 408 and is cut off. Default 15 s. */
  requestTimeoutMs?: number;
  /** A connection idle this long (nothing received or sent) is closed. Default 120 s. */
  connectionTimeoutMs?: number;
  /**
   * Routes that need Temporal first ask this gate (see ./temporal-gate.ts): when Temporal is down they answer 503
   * within the health check's deadline instead of after the SDK's retries. Default: `temporalHealth`, cached.
   */
  temporalGate?: () => Promise<void>;
  /** Serves /codec/decode and /codec/encode for the Temporal UI (see ./codec.ts). */
  codec?: CodecEndpointOptions;
  /**
   * Served at GET /metrics (Prometheus text) to operator keys; `buildMetricsServer` serves it without a key on an
   * internal port. Default: a registry of the API's billing metrics.
   */
  metrics?: ApiMetrics;
  /** How long the default metrics reuse their cycle counts (default 15 s, one scrape interval). */
  metricsCacheMs?: number;
  /**
   * Requests per minute each API key may make on /v1 (requests without a known key: per client address); over it,
   * 429 with Retry-After. Absent or `perMinute: 0`: no limit.
   */
  rateLimit?: { perMinute: number };
  /**
   * The billing console under /console (src/console/plugin.ts), served when the records store is configured; `/`
   * then answers 303 to it. Absent: `/` answers 303 to the JSON description at /api.
   */
  console?: Omit<ConsolePluginOptions, 'billing' | 'keyFor'>;
}

interface Parsed {
  params: Record<string, string>;
  /** The route's declared headers that were sent, by canonical name. */
  headers: Record<string, string>;
  query: unknown;
  body: unknown;
}

type Handler = (req: Parsed, reply: FastifyReply, billing: BillingClient) => Promise<unknown>;

/**
 * Finds the configured key a bearer token is: compares the token's SHA-256 with every configured hash in constant
 * time (no early exit), and answers the matching key's spec, or undefined.
 */
export function apiKeyMatcher(
  apiKeys: readonly (ApiKeySpec | string)[],
): (presented: string | undefined) => ApiKeySpec | undefined {
  const specs = apiKeys
    .filter((k) => k !== '')
    .map((k, i): ApiKeySpec => (typeof k === 'string' ? plainMerchantKey(k, i) : k));
  const digests = specs.map((k) => Buffer.from(k.sha256, 'hex'));
  return (presented) => {
    if (presented === undefined) return undefined;
    const candidate = createHash('sha256').update(presented).digest();
    let found: ApiKeySpec | undefined;
    digests.forEach((d, i) => {
      if (timingSafeEqual(d, candidate)) found = specs[i];
    });
    return found;
  };
}

/** The key a request was authenticated with. */
const principals = new WeakMap<FastifyRequest, ApiKeySpec>();

function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

class InvalidJsonError extends Error {}

/** Thrown by the rate limiter (its headers, Retry-After included, are already on the reply). */
class RateLimitedError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`too many requests for this API key; retry after ${retryAfterSeconds} s`);
  }
}

const UNAUTHORIZED_MESSAGE = 'send the header Authorization: Bearer <API key>';

export function buildApiServer(opts: ApiServerOptions): FastifyInstance {
  const log = opts.logger.child({ component: 'api' });
  // Typed as Fastify's base logger so the instance has the default FastifyInstance type.
  const fastifyLogger: FastifyBaseLogger = log;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
  const temporalGate = opts.temporalGate ?? createTemporalGate({ check: opts.temporalHealth });
  /** Throws BillingUnavailableError at once when the gate says Temporal is down. */
  const needTemporal = async (): Promise<void> => {
    try {
      await temporalGate();
    } catch (err) {
      throw new BillingUnavailableError('Temporal is unreachable', { cause: err });
    }
  };
  const app = Fastify({
    loggerInstance: fastifyLogger,
    bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
    requestTimeout: requestTimeoutMs,
    connectionTimeout: opts.connectionTimeoutMs ?? 120_000,
    // Node checks request timeouts on this interval (default 30 s): check often enough for the timeout to bite.
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeoutMs / 2))),
    },
    // Ids in paths may contain ':' (cycle ids); keep the default router otherwise.
    routerOptions: { maxParamLength: 200 },
  });
  const billing = opts.billing;
  const keyFor = apiKeyMatcher(opts.apiKeys);
  let openApi: OpenApiDocument | undefined;
  const openApiDocument = (): OpenApiDocument => (openApi ??= buildOpenApiDocument(ROUTES));

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
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json` }),
  );

  const metrics =
    opts.metrics ??
    createApiMetrics({
      cycles: opts.operator,
      ...(opts.metricsCacheMs !== undefined ? { cacheMs: opts.metricsCacheMs } : {}),
    });

  const handlers: Record<OperationId, Handler> = {
    createSubscription: async (r, reply, billing) => {
      const { subscription, created } = await billing.subscriptions.create(
        r.body as CreateSubscriptionInput,
        idempotency(r),
      );
      return reply
        .code(created ? 201 : 200)
        .header('location', `/v1/subscriptions/${encodeURIComponent(subscription.subscriptionId)}`)
        .send(subscription);
    },
    getSubscription: async (r, _reply, billing) => billing.subscriptions.get(r.params.id!),
    // 202 while a cycle has not confirmed the stop yet (`cyclesStopping`): accepted, not yet in effect.
    cancelSubscription: async (r, reply, billing) =>
      stopAnswer(reply, await billing.subscriptions.cancel(r.params.id!, r.body as never, idempotency(r))),
    pauseSubscription: async (r, reply, billing) =>
      stopAnswer(reply, await billing.subscriptions.pause(r.params.id!, idempotency(r))),
    resumeSubscription: async (r, _reply, billing) => billing.subscriptions.resume(r.params.id!, idempotency(r)),
    updatePaymentMethod: async (r, _reply, billing) =>
      billing.subscriptions.updatePaymentMethod(
        r.params.id!,
        (r.body as { recurringToken: string }).recurringToken,
        idempotency(r),
      ),
    changePlan: async (r, _reply, billing) =>
      billing.subscriptions.changePlan(r.params.id!, (r.body as { plan: never }).plan, idempotency(r)),
    refundCycle: async (r, reply, billing) =>
      reply.code(201).send(await billing.subscriptions.refund(r.params.id!, r.body as never, idempotency(r))),
    registerChargeback: async (r, reply, billing) =>
      reply
        .code(201)
        .send(await billing.subscriptions.registerChargeback(r.params.id!, r.body as never, idempotency(r))),
    getCycle: async (r, _reply, billing) => billing.cycles.get(r.params.cycleId!),
    markCyclePaid: async (r, _reply, billing) =>
      billing.cycles.markPaid(r.params.cycleId!, r.body ?? {}, idempotency(r)),
    retryCycleNow: async (r, _reply, billing) => billing.cycles.retryNow(r.params.cycleId!, idempotency(r)),
    retryCycleSettlement: async (r, _reply, billing) =>
      billing.cycles.retrySettlement(r.params.cycleId!, idempotency(r)),
    runReconciliation: async (r, reply) => {
      const since = (r.body as ReconciliationRequest | undefined)?.since ?? defaultReconciliationSince(Date.now());
      const reconciliationId = await opts.operator.startReconciliation(since);
      return reply
        .code(202)
        .header('location', `/v1/reconciliations/${encodeURIComponent(reconciliationId)}`)
        .send({ reconciliationId, status: 'running' });
    },
    getReconciliation: async (r, reply) => {
      const id = r.params.reconciliationId!;
      const run = await opts.operator.getReconciliation(id);
      if (!run) return reply.code(404).send({ error: 'not_found', message: `reconciliation ${JSON.stringify(id)}` });
      return run.summary ? { ...run, summary: { ...run.summary, text: summaryText(run.summary, money) } } : run;
    },
    openApiDocument: async () => openApiDocument(),
    index: async () => ({
      name: 'Recurring billing engine API',
      version: API_VERSION,
      links: {
        openapi: '/openapi.json',
        docs: '/docs',
        ...(opts.console ? { console: '/console' } : {}),
        health: '/healthz',
        readiness: '/readyz',
        metrics: '/metrics (operator API key)',
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
    ...booksHandlers(opts.books),
    ...listHandlers(opts.books),
  };

  // ---- merchant and operations routes (everything but the webhook, which has its own body parsing) ----
  app.register(async (scope) => {
    const perMinute = opts.rateLimit?.perMinute ?? 0;
    if (perMinute > 0) {
      // One budget per API key (by its id; keys share nothing), and per client address for requests without a
      // known key. Only routes that need a key are limited (health, docs and webhooks are not).
      await scope.register(fastifyRateLimit, {
        max: perMinute,
        timeWindow: 60_000,
        keyGenerator: (req) => {
          const key = keyFor(bearerToken(req));
          return key ? `key:${key.id}` : `ip:${req.ip}`;
        },
        allowList: (req) => !(req.routeOptions.config as { auth?: boolean } | undefined)?.auth,
        errorResponseBuilder: (_req, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
      });
    }
    scope.addHook('onRequest', async (req, reply) => {
      const spec = req.routeOptions.config as { auth?: boolean; scope?: 'operator' } | undefined;
      if (!spec?.auth) return;
      const key = keyFor(bearerToken(req));
      if (!key) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="billing"')
          .send({ error: 'unauthorized', message: UNAUTHORIZED_MESSAGE });
      }
      if (spec.scope === 'operator' && !key.scopes.includes('operator')) {
        return reply
          .code(403)
          .send({ error: 'forbidden', message: 'this route needs an API key with the operator scope' });
      }
      principals.set(req, key);
    });
    for (const route of ROUTES) {
      if (route.operationId === 'qorepayWebhook') continue;
      const handler = handlers[route.operationId];
      const operatorOnly = 'scope' in route && route.scope === 'operator';
      scope.route({
        method: route.method,
        url: route.url,
        config: { auth: route.auth, ...(operatorOnly ? { scope: 'operator' as const } : {}) },
        handler: async (req, reply) => {
          const parsed = parseRequest(route, req);
          // (/readyz runs the health check itself and answers its own 503.)
          if (route.temporal && route.operationId !== 'ready') await needTemporal();
          const key = principals.get(req);
          // Each request acts for its key's merchant; operator keys reach every merchant's subscriptions.
          const scoped = key
            ? billing.forMerchant(key.merchantId, {
                crossMerchant: key.scopes.includes('operator'),
                // Every change made with this client records the key's id (never the key) in workflow history.
                keyId: key.id,
                // Keys name their settlement accounts (none if absent, none for plain keys); operator keys, any.
                ...(key.settlement === 'any' ? {} : { settlementAllowList: key.settlement ?? {} }),
              })
            : billing;
          if (key && route.method === 'POST') {
            const operator = key.scopes.includes('operator');
            req.log.info(
              {
                keyId: key.id,
                merchantId: key.merchantId,
                ...(operator ? { operator: true } : {}),
                operation: route.operationId,
                target: parsed.params,
              },
              operator ? 'operator change requested' : 'merchant change requested',
            );
          }
          return handler(parsed, reply, scoped);
        },
      });
    }
    // Prometheus: counts and latencies only, no ids; every merchant's volumes, so operators only here (the internal
    // metrics port, buildMetricsServer, serves it to the scraper without a key).
    scope.get('/metrics', { config: { auth: true, scope: 'operator' } }, async (_req, reply) => {
      const text = await metrics.registry.metrics();
      return reply.header('content-type', metrics.registry.contentType).send(text);
    });
  });

  if (opts.codec) registerCodecRoutes(app, opts.codec);

  // ---- the console (people) at /console; `/` sends a browser there, or to the JSON description at /api ----
  const consoleOptions = opts.console;
  if (consoleOptions) {
    app.register(async (scope) => consolePlugin(scope, { ...consoleOptions, billing, keyFor }));
  }
  app.get('/', async (_req, reply) =>
    reply
      .code(303)
      .header('location', consoleOptions ? '/console' : '/api')
      .send(),
  );

  // ---- /docs: Swagger UI over the same OpenAPI document (built from ROUTES), served by the Fastify plugins ----
  app.register(async (scope) => {
    await scope.register(fastifySwagger, {
      mode: 'static',
      specification: { document: openApiDocument() as unknown as OpenAPIV3.Document },
    });
    await scope.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: false },
      staticCSP: true,
    });
  });

  // ---- QorePay webhooks: raw body (the signature is over the exact bytes), no API key ----
  const webhookDeps: WebhookIngressDeps = { ...opts.webhook, ingress: opts.ingress };
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const webhookBodyLimit = opts.webhookBodyLimitBytes ?? 64 * 1024;
    scope.post('/webhooks/qorepay', { bodyLimit: webhookBodyLimit }, async (req, reply) => {
      const receivedAt = performance.now();
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const ready = await temporalGate().then(
        () => true,
        () => false,
      );
      const outcome = ready
        ? await handleQorePayWebhook(webhookDeps, raw, req.headers['x-signature'])
        : ({ status: 503, body: { ok: false, outcome: 'temporal_unavailable' } } as const);
      metrics.observeWebhook(outcome.body.outcome, (performance.now() - receivedAt) / 1000);
      return reply.code(outcome.status).send(outcome.body);
    });
  });

  function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (err instanceof InvalidJsonError) return validationFailed(reply, [{ path: '', message: err.message }]);
    if (err instanceof RateLimitedError) {
      return reply.code(429).send({ error: 'rate_limited', message: err.message });
    }
    if (isBillingError(err)) {
      // The status of each code comes from the library's one table (BILLING_ERROR_OUTCOMES), as the CLI's exit codes do.
      const status = BILLING_ERROR_OUTCOMES[err.code].httpStatus;
      if (err instanceof BillingValidationError) return validationFailed(reply, err.issues);
      if (err instanceof BillingConflictError) {
        return reply
          .code(status)
          .send({ error: err.code, message: err.message, ...(err.fields.length ? { fields: err.fields } : {}) });
      }
      if (err instanceof BillingUnavailableError) {
        const gateway = err.dependency === 'gateway';
        req.log.warn({ err: err.message }, gateway ? 'payment gateway unavailable' : 'Temporal unavailable');
        return reply
          .code(status)
          .header('retry-after', '5')
          .send({
            error: err.code,
            message: gateway
              ? 'the payment gateway could not be asked; nothing was created; retry later'
              : 'Temporal is unreachable; retry later',
          });
      }
      return reply.code(status).send({ error: err.code, message: err.message });
    }
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Fastify's own client errors: body too large (413), unsupported media type (415), ...
      const code = (err as { code?: unknown }).code;
      const message =
        status === 415
          ? 'send the body as JSON (Content-Type: application/json)'
          : status === 413
            ? `the body is larger than this route accepts (${routeBodyLimit(req)} bytes)`
            : err instanceof Error
              ? err.message
              : 'bad request';
      return reply.code(status).send({
        error: status === 415 ? 'unsupported_media_type' : status === 413 ? 'payload_too_large' : 'bad_request',
        message,
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

function routeBodyLimit(req: FastifyRequest): number {
  return req.routeOptions.bodyLimit ?? 0;
}

/**
 * The internal metrics listener (API_METRICS_PORT): GET /metrics without a key, nothing else. Bind it to an
 * interface only the scraper reaches (loopback, or the container's internal network).
 */
export function buildMetricsServer(metrics: ApiMetrics, logger: Logger): FastifyInstance {
  const fastifyLogger: FastifyBaseLogger = logger.child({ component: 'api-metrics' });
  const app = Fastify({ loggerInstance: fastifyLogger, disableRequestLogging: true });
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error: 'not_found', message: 'this port serves GET /metrics only' }),
  );
  return app;
}

/** A cancel or pause answer: 202 while a cycle has not confirmed the stop (`cyclesStopping`), else 200. */
function stopAnswer(reply: FastifyReply, subscription: SubscriptionState): FastifyReply {
  return reply.code(subscription.cyclesStopping?.length ? 202 : 200).send(subscription);
}

function idempotency(r: Parsed): { idempotencyKey?: string } {
  const key = r.headers[IDEMPOTENCY_KEY_HEADER];
  return key === undefined ? {} : { idempotencyKey: key };
}

function validationFailed(reply: FastifyReply, issues: FieldIssue[]): FastifyReply {
  return reply.code(BILLING_ERROR_OUTCOMES.validation_failed.httpStatus).send({ error: 'validation_failed', issues });
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

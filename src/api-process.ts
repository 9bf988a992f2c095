/**
 * The API process (`npm run api`): config, logger, a Temporal client connection, the QorePay client (webhook
 * verification, and the check of a new subscription's qorepayClientId), and the Fastify server on
 * API_HOST:API_PORT, with graceful shutdown. `startApi` is what `npm start` embeds.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { BillingClient } from '@temporal-billing/client';
import { BillingOperator, WebhookIngress } from '@temporal-billing/client/engine';
import { clientConnectionOptions, loadConfigOrExit, type AppConfig } from './config';
import { QorePayClient, QorePayWebhookVerifier } from './integrations/qorepay';
import { createLogger, type Logger } from './logger';
import { AesGcmPayloadCodec } from '@temporal-billing/client/payload-codec';
import { retryConnect } from './temporal-connect';
import { qorepayCustomerVerifier } from './api/customer-verifier';
import { createApiMetrics } from './api/metrics';
import { apiKeyMatcher, buildApiServer, buildMetricsServer } from './api/server';
import { createBooksReader, openBooks, type BooksConnection } from './records';
import { sellerFromConfig } from './records/documents';

export interface RunningApi {
  /** e.g. `http://127.0.0.1:3000` */
  url: string;
  /** The console's URL, when the records store is configured. */
  consoleUrl?: string;
  /** Stops accepting requests, lets in-flight ones finish, then closes the connection if startApi opened it. */
  close(): Promise<void>;
  /** The Temporal client the API uses (embedders reuse it). */
  client: Client;
}

export interface StartApiOptions {
  /** An existing Temporal connection (the caller keeps owning it). Default: a lazy one from config. */
  connection?: Connection;
  /** Override the listening port (tests and `npm start` use 0 for a free port). */
  port?: number;
  /** An open records store (the caller keeps owning it). Default: DATABASE_URL, opened here; unset: none. */
  books?: BooksConnection;
}

/** Deadline of the Temporal health check (/readyz, and the gate that answers 503 at once when Temporal is down). */
const READINESS_TIMEOUT_MS = 1500;

export async function startApi(config: AppConfig, logger: Logger, options: StartApiOptions = {}): Promise<RunningApi> {
  if (config.API_KEYS.length === 0 && config.OPERATOR_API_KEYS.length === 0) {
    logger.warn('API_KEYS and OPERATOR_API_KEYS are empty: every /v1 request will answer 401');
  }
  const operatorKeys = [...config.API_KEYS, ...config.OPERATOR_API_KEYS].filter((k) => k.scopes.includes('operator'));
  if (operatorKeys.length) {
    logger.info(
      { operatorKeys: operatorKeys.map((k) => k.id) },
      "operator keys configured: they read and change every merchant's subscriptions, mark cycles paid and settle anywhere",
    );
  }
  // The books: reached and migrated before listening (an unreachable DATABASE_URL fails start-up with one line).
  const ownsBooks = options.books === undefined && config.DATABASE_URL !== undefined;
  const books = options.books ?? (config.DATABASE_URL ? await openBooks(config.DATABASE_URL) : undefined);
  if (!books) logger.warn('DATABASE_URL not set: invoices, credit notes and record lists answer 503');
  // Lazy: the API starts (and /readyz says 503) while Temporal is still coming up.
  const connection = options.connection ?? Connection.lazy(clientConnectionOptions(config));
  const ownsConnection = options.connection === undefined;
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: { payloadCodecs: [new AesGcmPayloadCodec(config.payloadKeys)] },
  });
  // The UI's codec endpoint only displays payloads: it shows one in clear as it is (the engine refuses them).
  const codec = new AesGcmPayloadCodec(config.payloadKeys, { plaintextDecode: 'pass' });
  const qorepay = new QorePayClient({
    baseUrl: config.QOREPAY_BASE_URL,
    apiKey: config.QOREPAY_API_KEY,
    brandId: config.QOREPAY_BRAND_ID,
    timeoutMs: config.QOREPAY_TIMEOUT_MS,
    logger: logger.child({ integration: 'qorepay' }),
  });
  // Creates naming a qorepayClientId are checked at the gateway before anything starts.
  const billing = new BillingClient({
    client,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    customerVerifier: qorepayCustomerVerifier(qorepay),
    allowMinuteSchedules: config.DEV_MINUTE_SCHEDULES === 'true',
  });
  const verifier = new QorePayWebhookVerifier({
    fetchCompanyKey: () => qorepay.getPublicKey(),
    webhookKeys: config.QOREPAY_WEBHOOK_PUBLIC_KEYS,
    logger: logger.child({ component: 'qorepay-webhook' }),
  });

  const pingTemporal = async (): Promise<void> => {
    await connection.withDeadline(Date.now() + READINESS_TIMEOUT_MS, () =>
      connection.workflowService.getSystemInfo({}),
    );
  };
  // Ready only once Temporal has answered: until then, keep trying in the background (each try logged).
  const stopConnecting = new AbortController();
  let connected = false;
  const connecting = retryConnect(pingTemporal, {
    logger,
    target: `Temporal at ${config.TEMPORAL_ADDRESS}`,
    signal: stopConnecting.signal,
  }).then(
    () => {
      connected = true;
      logger.info('billing API connected to Temporal');
    },
    () => undefined, // stopped before Temporal answered
  );

  const open = config.CODEC_API_KEYS.length === 0 && config.devPayloadKey;
  if (open) logger.warn('codec endpoint open without a key: payloads use the public development key');
  // Reconciliation sweeps and the metrics' cycle counts (every merchant's): the operators' duties, not a merchant's.
  const operator = new BillingOperator({ client, taskQueue: config.TEMPORAL_TASK_QUEUE });
  const metrics = createApiMetrics({ cycles: operator });
  const app = buildApiServer({
    billing,
    operator,
    ingress: new WebhookIngress({ client }),
    metrics,
    ...(config.API_RATE_LIMIT_PER_MINUTE > 0 ? { rateLimit: { perMinute: config.API_RATE_LIMIT_PER_MINUTE } } : {}),
    ...(books ? { books: { reader: createBooksReader(books.db), seller: sellerFromConfig(config) } } : {}),
    // The console needs the books; its session key is generated per process outside production (config requires one
    // in production), so development sessions end when the API restarts.
    ...(books
      ? {
          console: {
            db: books.db,
            sessionKey: config.CONSOLE_SESSION_KEY ?? randomBytes(32),
            secureCookie: config.NODE_ENV === 'production',
            seller: sellerFromConfig(config),
            namespace: config.temporal.namespace,
            temporalUiUrl: config.TEMPORAL_UI_URL,
          },
        }
      : {}),
    apiKeys: [...config.API_KEYS, ...config.OPERATOR_API_KEYS],
    webhook: { verifier, qorepay, logger: logger.child({ component: 'qorepay-webhook' }) },
    temporalHealth: async () => {
      if (!connected) throw new Error('not connected to Temporal yet');
      await pingTemporal();
    },
    logger,
    bodyLimitBytes: config.API_BODY_LIMIT_BYTES,
    webhookBodyLimitBytes: config.API_WEBHOOK_BODY_LIMIT_BYTES,
    requestTimeoutMs: config.API_REQUEST_TIMEOUT_MS,
    codec: {
      codec,
      authorize: codecKeyMatcher(config.CODEC_API_KEYS),
      open,
      ...(config.CODEC_CORS_ORIGIN ? { allowedOrigin: config.CODEC_CORS_ORIGIN } : {}),
    },
  });

  const metricsApp = config.API_METRICS_PORT > 0 ? buildMetricsServer(metrics, logger) : undefined;
  let address: string;
  try {
    address = await app.listen({ host: config.API_HOST, port: options.port ?? config.API_PORT });
    if (metricsApp) {
      const metricsUrl = await metricsApp.listen({ host: config.API_METRICS_HOST, port: config.API_METRICS_PORT });
      logger.info({ url: `${metricsUrl}/metrics` }, 'billing API metrics listening (no key: keep this port internal)');
    }
  } catch (err) {
    stopConnecting.abort();
    await connecting;
    await app.close();
    await metricsApp?.close();
    if (ownsConnection) await connection.close();
    if (ownsBooks) await books?.close();
    throw err;
  }
  logger.info({ url: address, namespace: config.temporal.namespace }, 'billing API listening');
  if (books) logger.info({ url: `${address}/console` }, 'billing console listening (sign in with an API key)');

  let closing: Promise<void> | undefined;
  return {
    url: address,
    ...(books ? { consoleUrl: `${address}/console` } : {}),
    client,
    close: () =>
      (closing ??= (async () => {
        stopConnecting.abort();
        await connecting;
        await app.close();
        await metricsApp?.close();
        if (ownsConnection) await connection.close();
        if (ownsBooks) await books?.close();
        logger.info('billing API stopped');
      })()),
  };
}

/** The codec endpoint's keys are plain bearer keys with no merchant: a match is all it asks. */
function codecKeyMatcher(keys: readonly string[]): (bearer: string | undefined) => boolean {
  const match = apiKeyMatcher(keys);
  return (bearer) => match(bearer) !== undefined;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'billing-api' });
  const api = await startApi(config, logger);
  const shutdown = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down');
    api.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`billing API failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

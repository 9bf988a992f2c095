/**
 * The billing worker: polls the billing task queue and runs the workflows and their activities.
 * `npm run worker` runs it against the configured Temporal (env); `createBillingWorker` is what tests and
 * `npm start` embed.
 */
import { createServer, type Server } from 'node:http';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { loadConfigOrExit, workflowCacheSize, type AppConfig } from './config';
import { QorePayClient } from './integrations/qorepay';
import { ActivePlatformClient } from './integrations/activeplatform';
import { GormicClient } from './integrations/gormic';
import { MerchantWebhookSender, asMerchantNotifier } from './integrations/merchant-webhooks';
import { createLogger, temporalLoggerFor, type Logger } from './logger';
import { encryptedDataConverter, hasPayloadCodec } from '@temporal-billing/client/payload-codec';
import { ConnectAbortedError, retryConnect } from './temporal-connect';
import { METRIC_BUCKETS } from './shared/metrics';
import { ensureReconciliationSchedule } from './reconciliation';
import { reconciliationTemporal } from './reconciliation-temporal';
import { billingMetricsSinks } from './worker-metrics';
import { openBooks, type BooksConnection } from './records';

export interface BillingWorkerOptions {
  config: AppConfig;
  connection: NativeConnection;
  logger: Logger;
  /** Overrides of the dependencies built from config (tests inject capturing notifiers, for example). */
  deps?: Partial<ActivityDeps>;
  workflowBundle?: WorkflowBundleOption;
  taskQueue?: string;
  /** Default: payloads encrypted with the configured keys (the same converter every client of the engine uses). */
  dataConverter?: DataConverter;
}

export function buildActivityDeps(config: AppConfig, logger: Logger): ActivityDeps {
  const qorepay = new QorePayClient({
    baseUrl: config.QOREPAY_BASE_URL,
    apiKey: config.QOREPAY_API_KEY,
    brandId: config.QOREPAY_BRAND_ID,
    timeoutMs: config.QOREPAY_TIMEOUT_MS,
    logger: logger.child({ integration: 'qorepay' }),
  });
  const notifier =
    config.MERCHANT_WEBHOOK_URL && config.MERCHANT_WEBHOOK_SECRET
      ? asMerchantNotifier(
          new MerchantWebhookSender({
            url: config.MERCHANT_WEBHOOK_URL,
            secret: config.MERCHANT_WEBHOOK_SECRET,
            logger: logger.child({ integration: 'merchant-webhooks' }),
          }),
          Date.now,
        )
      : undefined;
  const activePlatform =
    config.ACTIVEPLATFORM_BASE_URL && config.ACTIVEPLATFORM_API_TOKEN
      ? new ActivePlatformClient({
          baseUrl: config.ACTIVEPLATFORM_BASE_URL,
          apiToken: config.ACTIVEPLATFORM_API_TOKEN,
          logger: logger.child({ integration: 'activeplatform' }),
        })
      : undefined;
  const gormic =
    config.GORMIC_BASE_URL && config.GORMIC_API_KEY && config.GORMIC_ORGANIZATION_ID
      ? new GormicClient({
          baseUrl: config.GORMIC_BASE_URL,
          apiKey: config.GORMIC_API_KEY,
          organizationId: config.GORMIC_ORGANIZATION_ID,
          logger: logger.child({ integration: 'gormic' }),
        })
      : undefined;
  return {
    qorepay,
    ...(notifier ? { notifier } : {}),
    settlement: { ...(activePlatform ? { activePlatform } : {}), ...(gormic ? { gormic } : {}) },
  };
}

export async function createBillingWorker(opts: BillingWorkerOptions): Promise<Worker> {
  const taskQueue = opts.taskQueue ?? opts.config.TEMPORAL_TASK_QUEUE;
  const dataConverter = opts.dataConverter ?? encryptedDataConverter(opts.config.payloadKeys);
  // Its codec also refuses plaintext payloads on the way in (PlaintextPayloadError fails the task).
  if (!hasPayloadCodec(dataConverter))
    throw new Error('the billing worker writes encrypted payloads only: dataConverter has no payload codec');
  // The reconciliation sweep reads visibility and messages cycles through a client on the worker's own connection.
  const temporal = new Client({
    connection: opts.connection,
    namespace: opts.config.temporal.namespace,
    dataConverter,
  });
  const deps = {
    temporal: reconciliationTemporal(temporal),
    ...buildActivityDeps(opts.config, opts.logger),
    ...opts.deps,
  };
  if (opts.config.RECONCILIATION_SCHEDULE === 'true') {
    // Billing must not wait on the sweep: a Schedule that cannot be written (permissions, an old server) is logged.
    try {
      const { scheduleId, created } = await ensureReconciliationSchedule(temporal, {
        taskQueue,
        intervalMs: opts.config.RECONCILIATION_INTERVAL,
        windowMs: opts.config.RECONCILIATION_WINDOW,
      });
      opts.logger.info(
        { scheduleId, created, intervalMs: opts.config.RECONCILIATION_INTERVAL },
        'reconciliation schedule in place',
      );
    } catch (err) {
      opts.logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'reconciliation schedule could not be created or updated; sweeps will not run until a worker manages to',
      );
    }
  }
  return Worker.create({
    connection: opts.connection,
    namespace: opts.config.temporal.namespace,
    taskQueue,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities(deps),
    sinks: billingMetricsSinks({ namespace: opts.config.temporal.namespace, taskQueue }),
    dataConverter,
    maxConcurrentActivityTaskExecutions: 50,
    maxCachedWorkflows: workflowCacheSize(opts.config),
    ...(opts.config.WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND
      ? { maxTaskQueueActivitiesPerSecond: opts.config.WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND }
      : {}),
    shutdownGraceTime: '10s',
  });
}

/** Installs the Temporal Runtime once per process: pino logs and, if asked, a Prometheus endpoint. */
export function installRuntime(
  config: AppConfig,
  logger: Logger,
  shutdownSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'],
): void {
  Runtime.install({
    logger: temporalLoggerFor(logger, config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? 'DEBUG' : 'INFO'),
    telemetryOptions: {
      logging: { forward: {}, filter: 'WARN' },
      ...(config.METRICS_PORT
        ? {
            metrics: {
              prometheus: {
                bindAddress: `${config.METRICS_HOST.includes(':') ? `[${config.METRICS_HOST}]` : config.METRICS_HOST}:${config.METRICS_PORT}`,
                histogramBucketOverrides: { ...METRIC_BUCKETS },
              },
              metricPrefix: 'temporal_',
              globalTags: { service: 'billing-worker' },
            },
          }
        : {}),
    },
    shutdownSignals,
  });
}

/** /healthz (the process is alive) and /readyz (connected to Temporal and polling), for orchestrators. */
function startHealthServer(host: string, port: number, isReady: () => boolean, logger: Logger): Server {
  const server = createServer((req, res) => {
    const ready = isReady();
    if (req.url === '/healthz') res.writeHead(200).end('ok');
    else if (req.url === '/readyz') res.writeHead(ready ? 200 : 503).end(ready ? 'ready' : 'not ready');
    else res.writeHead(404).end();
  });
  server.listen(port, host, () => logger.info({ host, port }, 'worker health endpoint listening'));
  return server;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'billing-worker' });
  if (config.devPayloadKey) logger.warn('PAYLOAD_KEYS not set: payloads use the public development key');
  installRuntime(config, logger);
  let ready = false;
  const health = config.HEALTH_PORT
    ? startHealthServer(config.HEALTH_HOST, config.HEALTH_PORT, () => ready, logger)
    : undefined;
  // Until the worker runs (it then handles the signals itself), a stop request ends the connection attempts.
  const startup = new AbortController();
  const stopStartup = (): void => startup.abort();
  process.once('SIGINT', stopStartup);
  process.once('SIGTERM', stopStartup);
  const connection = await retryConnect(() => NativeConnection.connect(config.temporal.connectionOptions), {
    logger,
    target: `Temporal at ${config.TEMPORAL_ADDRESS}`,
    signal: startup.signal,
  });
  process.off('SIGINT', stopStartup);
  process.off('SIGTERM', stopStartup);
  let books: BooksConnection | undefined;
  try {
    books = await openWorkerBooks(config, logger);
    const worker = await createBillingWorker({ config, connection, logger, ...(books ? { deps: { books } } : {}) });
    const running = worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks drain (shutdownGraceTime)
    ready = true;
    logger.info(
      {
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        namespace: config.temporal.namespace,
        metricsPort: config.METRICS_PORT || undefined,
      },
      'billing worker started',
    );
    await running;
    ready = false;
    logger.info('billing worker stopped');
  } finally {
    health?.close();
    await books?.close();
    await connection.close();
  }
}

/**
 * The records store the worker writes the books into: DATABASE_URL, reached and migrated before the worker polls (a
 * database that is missing or unreachable fails start-up with one line). Unset outside production: no books.
 */
export async function openWorkerBooks(config: AppConfig, logger: Logger): Promise<BooksConnection | undefined> {
  if (!config.DATABASE_URL) {
    logger.warn('DATABASE_URL not set: no books (invoices, credit notes, records) are written');
    return undefined;
  }
  return openBooks(config.DATABASE_URL);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    if (err instanceof ConnectAbortedError) process.exit(0);
    process.stderr.write(`billing worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

/**
 * `npm start`: the whole engine on one machine — Temporal dev server with its Web UI (state in a SQLite file, so
 * workflows survive a restart), the QorePay sandbox (unless a real QorePay is configured), the worker and the API —
 * plus a few demo subscriptions so cycles show up in the UI within a minute.
 */
import { resolve } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { BillingClient, isBillingError } from '@temporal-billing/client';
import { apiKeyHash, loadConfig, type AppConfig } from '../config';
import { createLogger, prettyDestination, wantsPrettyLogs, type Logger } from '../logger';
import { startApi } from '../api-process';
import { startActivePlatformSandbox } from '../sandbox/activeplatform/server';
import { startGormicSandbox } from '../sandbox/gormic/server';
import { startQorePaySandbox, type QorePaySandbox } from '../sandbox/qorepay';
import type { SubscriptionInput } from '../shared/subscription';
import { createBillingWorker, installRuntime } from '../worker';
import { startDevServer } from './dev-server';
import { PROJECT_ROOT } from './temporal-binaries';
import { describeDatabase, openBooks } from '../records';
import { startEmbeddedPostgres } from '../records/embedded-postgres';

const DEV_API_KEY = 'dev-api-key-change-me';
/** The dev operator key (mark-paid, retry-settlement, reconciliations): public like DEV_API_KEY. */
const DEV_OPERATOR_API_KEY = 'dev-operator-key-change-me';

export async function runEmbeddedStack(
  env: Record<string, string | undefined>,
  print: (line: string) => void,
): Promise<void> {
  const useSandbox = !env.QOREPAY_BASE_URL;
  const baseEnv: Record<string, string | undefined> = {
    API_KEYS: DEV_API_KEY,
    ...(env.API_KEYS === undefined ? { OPERATOR_API_KEYS: DEV_OPERATOR_API_KEY } : {}),
    LOG_LEVEL: 'warn',
    METRICS_PORT: '9464',
    // Against the local sandbox the demo bills every few minutes (config.ts refuses this for a real gateway).
    ...(useSandbox ? { DEV_MINUTE_SCHEDULES: 'true' } : {}),
    ...env,
  };
  const pre = loadConfig(baseEnv);
  const devAddress = `127.0.0.1:${pre.TEMPORAL_DEV_PORT}`;
  // Settlement sandboxes stand in for ActivePlatform and Gormic OM unless real ones are configured.
  const sandboxSettlement = useSandbox && !env.ACTIVEPLATFORM_BASE_URL && !env.GORMIC_BASE_URL;
  const apPort = pre.QOREPAY_SANDBOX_PORT + 1;
  const gormicPort = pre.QOREPAY_SANDBOX_PORT + 2;
  const config: AppConfig = loadConfig({
    // The dev UI decodes payloads through the API's codec endpoint, called from the browser at the UI's origin.
    CODEC_CORS_ORIGIN: `http://127.0.0.1:${pre.TEMPORAL_UI_PORT}`,
    // The console links each cycle to its run in the dev server's UI.
    TEMPORAL_UI_URL: `http://127.0.0.1:${pre.TEMPORAL_UI_PORT}`,
    ...baseEnv,
    TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS ?? devAddress,
    ...(useSandbox ? { QOREPAY_BASE_URL: `http://127.0.0.1:${pre.QOREPAY_SANDBOX_PORT}/api/v1` } : {}),
    ...(sandboxSettlement
      ? {
          ACTIVEPLATFORM_BASE_URL: `http://127.0.0.1:${apPort}`,
          ACTIVEPLATFORM_API_TOKEN: 'ap-sandbox-token',
          GORMIC_BASE_URL: `http://127.0.0.1:${gormicPort}`,
          GORMIC_API_KEY: 'gormic-sandbox-key',
          GORMIC_ORGANIZATION_ID: 'org-sandbox',
        }
      : {}),
  });
  // The published dev keys must never guard a real gateway.
  const devKeys = [apiKeyHash(DEV_API_KEY), apiKeyHash(DEV_OPERATOR_API_KEY)];
  const devKeyInUse = [...config.API_KEYS, ...config.OPERATOR_API_KEYS].some((k) => devKeys.includes(k.sha256));
  if (!useSandbox && devKeyInUse) {
    throw new Error(
      `refusing to start: a dev API key (${JSON.stringify(DEV_API_KEY)} or ${JSON.stringify(DEV_OPERATOR_API_KEY)}) ` +
        'is configured while QOREPAY_BASE_URL points at a real gateway; set API_KEYS (and OPERATOR_API_KEYS) to your own keys',
    );
  }
  const pretty = wantsPrettyLogs(config.LOG_FORMAT, process.stdout.isTTY === true, config.NODE_ENV);
  const logger = createLogger({
    level: config.LOG_LEVEL,
    name: 'billing',
    ...(pretty ? { destination: await prettyDestination() } : {}),
  });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        logger.error({ err: String(err) }, 'error while stopping');
      }
    }
  };

  try {
    const dbFile = resolve(PROJECT_ROOT, config.TEMPORAL_DEV_DB_FILE);
    print(`Starting the Temporal dev server (state in ${dbFile})...`);
    const server = await startDevServer({
      env,
      port: config.TEMPORAL_DEV_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      dbFile,
      uiCodecEndpoint: `http://127.0.0.1:${config.API_PORT}/codec`,
      logger,
    });
    stops.push(() => server.stop());

    let sandbox: QorePaySandbox | undefined;
    if (useSandbox) {
      sandbox = await startQorePaySandbox({
        port: config.QOREPAY_SANDBOX_PORT,
        apiKey: config.QOREPAY_API_KEY,
        webhookUrls: [`http://${config.API_HOST}:${config.API_PORT}/webhooks/qorepay`],
        pendingResolveDelayMs: 15_000,
        logger: logger.child({ component: 'qorepay-sandbox' }),
      });
      const sb = sandbox;
      stops.push(() => sb.close());
    }

    if (sandboxSettlement) {
      const ap = await startActivePlatformSandbox({
        port: apPort,
        apiToken: config.ACTIVEPLATFORM_API_TOKEN!,
        defaultCurrency: 'NGN',
      });
      stops.push(() => ap.close());
      const gormic = await startGormicSandbox({
        port: gormicPort,
        apiKey: config.GORMIC_API_KEY!,
        organizationId: config.GORMIC_ORGANIZATION_ID!,
        defaultCurrency: 'NGN',
      });
      stops.push(() => gormic.close());
    }

    // The books: an embedded PostgreSQL with its data in .data/ (kept across restarts), unless DATABASE_URL names one.
    let databaseUrl = config.DATABASE_URL;
    let booksWhere: string;
    if (!databaseUrl) {
      const dataDir = resolve(PROJECT_ROOT, config.DEV_DATABASE_DIR);
      print(`Starting the embedded PostgreSQL (data in ${dataDir})...`);
      const pg = await startEmbeddedPostgres({
        dataDir,
        port: config.DEV_DATABASE_PORT,
        onLog: (line) => logger.debug({ component: 'postgres' }, line),
      });
      stops.push(() => pg.stop());
      await pg.ensureDatabase('billing');
      databaseUrl = pg.urlFor('billing');
      booksWhere = `embedded PostgreSQL at ${describeDatabase(databaseUrl)} (data in ${dataDir})`;
    } else {
      booksWhere = `PostgreSQL at ${describeDatabase(databaseUrl)}`;
    }
    const books = await openBooks(databaseUrl);
    stops.push(() => books.close());

    installRuntime(config, logger, []);
    const connection = await NativeConnection.connect(config.temporal.connectionOptions);
    stops.push(() => connection.close());
    const worker = await createBillingWorker({ config, connection, logger, deps: { books } });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });

    const api = await startApi(config, logger, { books });
    stops.push(() => api.close());

    print('');
    print('Billing engine running.');
    print(`  Temporal UI:   ${server.uiUrl ?? '(headless)'}/namespaces/${config.temporal.namespace}/workflows`);
    print(`  Temporal gRPC: ${server.address}`);
    if (api.consoleUrl) print(`  Console:       ${api.consoleUrl}   (sign in with an API key below)`);
    print(`  API:           ${api.url}/api   (docs: ${api.url}/docs, OpenAPI: ${api.url}/openapi.json)`);
    if (config.METRICS_PORT) {
      print(
        `  Metrics:       http://127.0.0.1:${config.METRICS_PORT}/metrics (worker)   ${api.url}/metrics (API, operator key)`,
      );
    }
    print(`  Books:         ${booksWhere}   (invoices: ${api.url}/v1/invoices)`);
    if (sandbox) print(`  QorePay:       sandbox at ${sandbox.baseUrl}   (control API: ${sandbox.origin}/__sandbox/)`);
    else print(`  QorePay:       ${config.QOREPAY_BASE_URL}`);
    if (sandboxSettlement) {
      print(
        `  Settlement:    ActivePlatform sandbox ${config.ACTIVEPLATFORM_BASE_URL}, Gormic OM sandbox ${config.GORMIC_BASE_URL}`,
      );
    }
    print('');
    print('Try:');
    print(
      `  curl -s -H 'Authorization: Bearer ${env.API_KEYS ? '<your API key>' : DEV_API_KEY}' ${api.url}/v1/subscriptions | head -c 800`,
    );
    if (env.API_KEYS === undefined) {
      print(`  (operator routes such as mark-paid take the operator key ${DEV_OPERATOR_API_KEY})`);
    }
    print('');

    if (config.DEMO_SEED === 'true' && sandbox) {
      const minutePace = config.DEV_MINUTE_SCHEDULES === 'true';
      const billing = new BillingClient({
        client: api.client,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        allowMinuteSchedules: minutePace,
      });
      await seedDemo(billing, logger, print, { withSettlement: sandboxSettlement, minutePace });
    }
    print('Press Ctrl-C to stop.');

    // Ctrl-C reaches this process more than once (the terminal signals the whole group, and npm/tsx relay it):
    // the first signal starts a clean stop, later ones are ignored instead of killing the process half-way.
    await new Promise<void>((resolveSignal) => {
      let stopping = false;
      const onSignal = (): void => {
        if (!stopping) resolveSignal();
        stopping = true;
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    print('Stopping...');
  } finally {
    await stopAll();
  }
  print('Stopped.');
}

/** How often the demo subscriptions bill when minute schedules are on, and for how many periods (then they end). */
export const DEMO_MINUTE_INTERVAL = 2;
export const DEMO_MINUTE_PERIODS = 30;

/**
 * Dunning at the pace of minutes for the demo: soft declines retried 1, 2 and 3 minutes after the first attempt, a
 * pending charge polled every 36 s and reported as pending too long after 18 s, a hard decline given 2 minutes for a
 * new card. Bounds: src/api/schemas.ts (DUNNING_BOUNDS).
 */
export const DEMO_MINUTE_DUNNING = {
  softRetryOffsetsHours: [1 / 60, 2 / 60, 3 / 60],
  minHoursBetweenAttempts: 0,
  pendingPollIntervalsHours: [0.01],
  pendingAlertAfterHours: 0.005,
  hardDeclineGraceHours: 2 / 60,
  merchantConfigRetryHours: 0.01,
  merchantConfigMaxRetries: 2,
};

/**
 * The demo subscriptions, anchored at the current minute: one pays, one goes through pending_charge, one duns, one
 * waits silently pending (no webhook: the poll finds it, after a pending_too_long alert), one is hard declined. With
 * minute schedules they bill every DEMO_MINUTE_INTERVAL minutes for DEMO_MINUTE_PERIODS periods, so the UI and the
 * metrics move within the first minutes and the demo ends by itself; without, they bill daily.
 */
export function demoSubscriptions(
  now: Date,
  opts: { withSettlement: boolean; minutePace: boolean },
): { input: SubscriptionInput; what: string }[] {
  const anchor = now.toISOString().slice(0, 16); // YYYY-MM-DDTHH:mm, UTC
  const demos: [string, string, string][] = [
    ['demo-pays', 'tok_success_demo', 'pays at once'],
    ['demo-pending', 'tok_pending_paid_demo', 'pending_charge, then paid by webhook'],
    ['demo-dunning', 'tok_soft3_demo', 'soft declines, retried on the dunning schedule'],
    ...(opts.minutePace
      ? ([
          ['demo-silent', 'tok_pending_silent_demo', 'pending with no webhook: alerted, then found paid by polling'],
          ['demo-stolen', 'tok_hard_stolen_card_demo', 'hard decline: action_required, then failed'],
        ] as [string, string, string][])
      : []),
  ];
  const pace = opts.minutePace ? `every ${DEMO_MINUTE_INTERVAL} min, ${DEMO_MINUTE_PERIODS} periods` : 'daily';
  return demos.map(([id, token, what]) => ({
    what: `${what} (${pace})`,
    input: {
      subscriptionId: id,
      customerId: `customer-${id}`,
      customerEmail: `${id}@example.com`,
      recurringToken: token,
      plan: {
        planId: opts.minutePace ? 'pro-demo' : 'pro-daily',
        currency: 'NGN',
        lineItems: [
          { name: opts.minutePace ? 'Pro plan (demo)' : 'Pro plan (daily demo)', priceMinor: 250_000, quantity: 1 },
        ],
      },
      schedule: opts.minutePace
        ? { intervalUnit: 'minute', intervalCount: DEMO_MINUTE_INTERVAL, anchor, timeZone: 'UTC' }
        : { intervalUnit: 'day', intervalCount: 1, anchor, timeZone: 'UTC' },
      ...(opts.minutePace ? { maxPeriods: DEMO_MINUTE_PERIODS, dunning: DEMO_MINUTE_DUNNING } : {}),
      ...(opts.withSettlement && id === 'demo-pays'
        ? {
            settlementTargets: [
              { kind: 'activeplatform' as const, accountId: '1001', paymentMethodId: 7 },
              { kind: 'gormic' as const, orderId: 'order-demo-pays' },
            ],
          }
        : {}),
    },
  }));
}

async function seedDemo(
  billing: BillingClient,
  logger: Logger,
  print: (line: string) => void,
  opts: { withSettlement: boolean; minutePace: boolean },
): Promise<void> {
  for (const { input, what } of demoSubscriptions(new Date(), opts)) {
    const id = input.subscriptionId;
    try {
      const { created } = await billing.createSubscription(input);
      print(`  demo subscription ${id}: ${what}${created ? '' : ' (already existed)'}`);
    } catch (err) {
      if (isBillingError(err) && err.code === 'conflict') {
        print(`  demo subscription ${id}: already exists from an earlier run`);
        continue;
      }
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'demo seeding failed');
    }
  }
}

if (require.main === module) {
  runEmbeddedStack(process.env, (l) => process.stdout.write(`${l}\n`)).catch((err: unknown) => {
    process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

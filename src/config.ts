/**
 * Environment -> validated configuration. The only module that reads process.env; everything else receives config.
 * Each problem is reported on its own line, naming the variable.
 */
import type { ConnectionOptions } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { z } from 'zod';
import {
  DEV_PAYLOAD_KEY,
  isDevPayloadKey,
  parsePayloadKeys,
  type PayloadKey,
} from '@temporal-billing/client/payload-codec';
import { parseDuration } from './domain/reconciliation-report';
import { ChangeActorSchema } from './shared/actor-schema';
import { API_KEY_SCOPES, plainMerchantKey, plainOperatorKey, type ApiKeySpec } from './api/api-keys';

export {
  API_KEY_SCOPES,
  DEFAULT_MERCHANT_ID,
  apiKeyHash,
  plainMerchantKey,
  plainOperatorKey,
  type ApiKeyScope,
  type ApiKeySpec,
} from './api/api-keys';

const ApiKeySpecSchema = z.strictObject({
  id: ChangeActorSchema.shape.keyId,
  merchantId: ChangeActorSchema.shape.merchantId,
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the hex SHA-256 of the key (64 hex digits)')
    .transform((h) => h.toLowerCase()),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1, 'must name at least one scope'),
  settlement: z
    .strictObject({
      activeplatformAccountIds: z.array(z.string().regex(/^[1-9]\d{0,14}$/, 'must be a numeric account id')).optional(),
      gormic: z.boolean().optional(),
    })
    .optional(),
});

/** Shortest plain key (API_KEYS, OPERATOR_API_KEYS, CODEC_API_KEYS) accepted under NODE_ENV=production. */
export const MIN_PRODUCTION_KEY_LENGTH = 32;

/**
 * What one cached workflow run costs the worker process, in KiB of RSS. Measured with the benchmark's population
 * experiment (idle subscriptions, RSS after a full GC): about 300 KB per cached run, roughly a tenth of it
 * `Intl.DateTimeFormat`, the rest outside V8's heap. docs/scale.md has the figures.
 */
export const CACHED_WORKFLOW_KIB = 300;

/** The sticky cache size a worker runs with: the explicit size, else the memory budget over the per-run cost. */
export function workflowCacheSize(
  config: Pick<AppConfig, 'WORKER_MAX_CACHED_WORKFLOWS' | 'WORKER_WORKFLOW_CACHE_MIB'>,
): number {
  return (
    config.WORKER_MAX_CACHED_WORKFLOWS ?? Math.floor((config.WORKER_WORKFLOW_CACHE_MIB * 1024) / CACHED_WORKFLOW_KIB)
  );
}

/** Comma-separated keys: trimmed, empty entries dropped. */
function splitKeys(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

/** Plain keys are read as JSON when the value starts with `[`. */
const isJsonKeys = (text: string | undefined): boolean => (text ?? '').trim().startsWith('[');

/**
 * API_KEYS, in one of two forms:
 * - a JSON array of `{ "id", "merchantId", "sha256", "scopes": ["merchant"|"operator"], "settlement"? }` (keys stored
 *   hashed; the one form that gives a key settlement accounts or another merchant);
 * - comma-separated plain keys: merchant keys of merchant `default` (see `plainMerchantKey`). Operators have their
 *   own variable, OPERATOR_API_KEYS.
 */
const apiKeys = z
  .string()
  .optional()
  .transform((s, ctx): ApiKeySpec[] => {
    const text = (s ?? '').trim();
    if (!isJsonKeys(text)) return splitKeys(text).map(plainMerchantKey);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
      return z.NEVER;
    }
    const parsed = z.array(ApiKeySpecSchema).safeParse(json);
    if (!parsed.success) {
      for (const i of parsed.error.issues)
        ctx.addIssue({ code: 'custom', message: `${i.path.join('.')}: ${i.message}` });
      return z.NEVER;
    }
    const ids = parsed.data.map((k) => k.id);
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `key id ${JSON.stringify(dup)} is used twice` });
    return parsed.data.map(({ settlement, ...k }): ApiKeySpec => {
      if (!settlement) return k;
      const { activeplatformAccountIds, gormic } = settlement;
      return {
        ...k,
        settlement: {
          ...(activeplatformAccountIds ? { activeplatformAccountIds } : {}),
          ...(gormic !== undefined ? { gormic } : {}),
        },
      };
    });
  });

const csv = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);
const url = z.url({ protocol: /^https?$/ });
/** A duration such as `30m`, `6h` or `7d`, in ms, within [min, max]. */
const duration = (def: string, minMs: number, maxMs: number, bounds: string) =>
  z
    .string()
    .default(def)
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30m, 6h or 7d' });
        return z.NEVER;
      }
      if (ms < minMs || ms > maxMs) {
        ctx.addIssue({ code: 'custom', message: `must be ${bounds}` });
        return z.NEVER;
      }
      return ms;
    });

export const EnvSchema = z.object({
  /** `production` refuses development defaults (the public payload key). */
  NODE_ENV: z.enum(['development', 'test', 'production']).optional(),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('billing'),

  QOREPAY_BASE_URL: url.default('http://127.0.0.1:7480/api/v1'),
  QOREPAY_API_KEY: z.string().min(1).default('sandbox-secret-key'),
  QOREPAY_BRAND_ID: z.string().min(1).default('00000000-0000-4000-8000-000000000001'),
  QOREPAY_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(30_000, 'must be at most 30000: a charge makes up to three requests within its 2-minute activity timeout')
    .default(20_000),
  /** Extra PEM keys of account webhooks (QorePay shows one per webhook), separated by `;;`. */
  QOREPAY_WEBHOOK_PUBLIC_KEYS: z
    .string()
    .optional()
    .transform((s) =>
      s
        ? s
            .split(';;')
            .map((k) => k.trim())
            .filter(Boolean)
        : [],
    ),

  /**
   * Where the worker sends signed merchant events. Unset: none are sent, and billing cycles schedule no
   * `notifyMerchant` (the worker says so with its gateway answers: WorkerFacts in src/activities). Only the workers
   * read this; the API cannot know it.
   */
  MERCHANT_WEBHOOK_URL: url.optional(),
  MERCHANT_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),

  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port(3000),
  /** Bearer API keys of merchant backends (see `apiKeys`). */
  API_KEYS: apiKeys,
  /** Bearer keys of operators, comma-separated (see `plainOperatorKey`): they act across merchants. */
  OPERATOR_API_KEYS: z
    .string()
    .optional()
    .transform((s) => splitKeys(s).map(plainOperatorKey)),
  /** Requests per minute each API key may make on /v1 (429 with Retry-After above it); 0 = no limit. */
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(1200),
  /**
   * The API's internal metrics port: GET /metrics without a key, for Prometheus (on the API port /metrics needs an
   * operator key). 0 = none. Bound to API_METRICS_HOST: loopback by default, the internal network in compose.
   */
  API_METRICS_PORT: port(0),
  API_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Time to receive a whole request; a slower client gets 408 and is cut off. */
  API_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /** Largest body of a merchant request (413 above it). */
  API_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
  /** Largest QorePay webhook body (413 above it); gateway events are a few KiB. */
  API_WEBHOOK_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),

  ACTIVEPLATFORM_BASE_URL: url.optional(),
  ACTIVEPLATFORM_API_TOKEN: z.string().min(1).optional(),
  GORMIC_BASE_URL: url.optional(),
  GORMIC_API_KEY: z.string().min(1).optional(),
  GORMIC_ORGANIZATION_ID: z.string().min(1).optional(),

  /** Port of the QorePay sandbox that `npm start` / `npm run sandbox` run when no real QorePay is configured. */
  QOREPAY_SANDBOX_PORT: port(7480),
  /** `npm start`: Temporal dev server ports and state file. */
  TEMPORAL_DEV_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_DEV_DB_FILE: z.string().min(1).default('.data/temporal.sqlite'),
  /** `npm start` seeds demo subscriptions unless this is "false". */
  DEMO_SEED: z.enum(['true', 'false']).default('true'),

  /**
   * Cap on activities per second the server dispatches from the worker's task queue (all workers together), e.g.
   * to keep a renewal storm under the gateway's rate limit. Unset: no cap.
   */
  WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND: z.coerce.number().positive().optional(),

  /**
   * Memory the worker may spend on its sticky workflow cache, in MiB. Each cached run costs about
   * {@link CACHED_WORKFLOW_KIB} KiB, mostly outside V8's heap (the SDK's native state of the run), so the SDK's default,
   * derived from the heap limit alone, let RSS grow past 1.8 GiB at 10,000 idle subscriptions. The cache size is this
   * budget divided by that cost, unless WORKER_MAX_CACHED_WORKFLOWS sets it outright.
   */
  WORKER_WORKFLOW_CACHE_MIB: z.coerce.number().int().min(1).max(65_536).default(96),
  /** Sticky cache size in workflows; overrides WORKER_WORKFLOW_CACHE_MIB. 0 turns the sticky cache off. */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),

  /**
   * Payload encryption keys, `keyId:base64(32 bytes)` comma-separated; the first encrypts, all decrypt (rotation: put
   * the new key first, keep the old ones while histories written under them are retained). Unset outside production
   * with the local QorePay sandbox: the public development key (see src/payload-codec.ts).
   */
  PAYLOAD_KEYS: z.string().optional(),
  /** Bearer keys for the codec endpoint (/codec/decode, /codec/encode) that the Temporal UI calls. */
  CODEC_API_KEYS: csv,
  /** The Temporal UI's origin (scheme://host:port), the only origin allowed to call the codec endpoint from a browser. */
  CODEC_CORS_ORIGIN: z
    .url({ protocol: /^https?$/ })
    .transform((u) => new URL(u).origin)
    .optional(),

  /** Interface the QorePay sandbox listens on (`0.0.0.0` in a container, so other services reach it). */
  QOREPAY_SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),

  /**
   * Development only: accept `intervalUnit: 'minute'` schedules (chaos runs, demos). Refused unless QorePay is the
   * local sandbox (a loopback QOREPAY_BASE_URL), so a production configuration cannot bill every minute.
   */
  DEV_MINUTE_SCHEDULES: z.enum(['true', 'false']).default('false'),

  /** The worker creates (or updates) the Schedule of the reconciliation sweep at start unless this is "false". */
  RECONCILIATION_SCHEDULE: z.enum(['true', 'false']).default('true'),
  /** Time between scheduled reconciliation sweeps (`30m`, `1h`, `1d`), ms after parsing. */
  RECONCILIATION_INTERVAL: duration('1h', 5 * 60_000, 7 * 86_400_000, 'between 5m and 7d'),
  /** How far back a scheduled sweep checks closed cycles (open ones are always checked), ms after parsing. */
  RECONCILIATION_WINDOW: duration('48h', 60 * 60_000, 366 * 86_400_000, 'between 1h and 366d'),

  /**
   * The records store (the engine's books): `postgres://user:password@host:5432/database`. Required in production;
   * `npm start` runs an embedded PostgreSQL when it is unset. Elsewhere unset means no books are written.
   */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
  /** `npm start`: data directory and port of the embedded PostgreSQL (0: a free port). */
  DEV_DATABASE_DIR: z.string().min(1).default('.data/postgres'),
  DEV_DATABASE_PORT: port(54329),
  /**
   * The console's session cookie key (base64 of 32 random bytes, `openssl rand -base64 32`): the cookie holding the
   * signed-in API key is encrypted and authenticated with it. Required in production; elsewhere a key is generated at
   * start (sessions then end when the API restarts).
   */
  CONSOLE_SESSION_KEY: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return undefined;
      const key = Buffer.from(s, 'base64');
      if (key.length !== 32) {
        ctx.addIssue({ code: 'custom', message: 'must be base64 of exactly 32 bytes (openssl rand -base64 32)' });
        return z.NEVER;
      }
      return key;
    }),
  /** The Temporal UI's base URL (e.g. http://127.0.0.1:8233): the console links each cycle to its run there. */
  TEMPORAL_UI_URL: url.optional(),
  /** The seller printed on invoices and credit notes. */
  MERCHANT_NAME: z.string().min(1).max(200).default('Billing engine merchant'),
  /** The seller's postal address, lines separated by `;`. */
  MERCHANT_ADDRESS: z.string().max(500).default(''),

  METRICS_PORT: port(0),
  /** Worker: interface of the Prometheus endpoint (METRICS_PORT): loopback unless a scraper elsewhere needs it. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Worker: port of /healthz and /readyz (ready once connected to Temporal and polling); 0 = none. */
  HEALTH_PORT: port(0),
  /** Worker: interface of the health endpoint (HEALTH_PORT). */
  HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /**
   * `npm start` only: `auto` prints readable lines (pino-pretty) when stdout is a terminal and NODE_ENV is not
   * production, JSON otherwise; `json` and `pretty` force one. The worker and API processes always log JSON.
   */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

/** A host name that names a sandbox (the compose service `qorepay-sandbox`, `sandbox.example`, ...). */
const SANDBOX_HOST = /(^|[.-])sandbox([.-]|$)/i;

/**
 * Why an outbound URL is for development only, or undefined: production talks to real services over TLS, so a
 * sandbox, a loopback address (an egress proxy included: the switches below must not depend on how traffic leaves)
 * or cleartext http is refused.
 */
function developmentUrlReason(u: string): string | undefined {
  const url = new URL(u);
  if (SANDBOX_HOST.test(url.hostname)) return `the sandbox host ${url.hostname} is`;
  if (isLoopbackUrl(u)) return `the loopback host ${url.hostname} is`;
  if (url.protocol !== 'https:') return 'cleartext http: is';
  return undefined;
}

/** What NODE_ENV=production refuses, one line per setting (keys, payload keys and their length are checked apart). */
function productionProblems(c: z.infer<typeof EnvSchema>, present: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const urls: [string, string | undefined][] = [
    ['QOREPAY_BASE_URL', c.QOREPAY_BASE_URL],
    ['MERCHANT_WEBHOOK_URL', c.MERCHANT_WEBHOOK_URL],
    ['ACTIVEPLATFORM_BASE_URL', c.ACTIVEPLATFORM_BASE_URL],
    ['GORMIC_BASE_URL', c.GORMIC_BASE_URL],
  ];
  for (const [name, u] of urls) {
    const reason = u === undefined ? undefined : developmentUrlReason(u);
    if (reason) problems.push(`${name}: ${reason} refused when NODE_ENV=production (set the service's https URL)`);
  }
  if (present.QOREPAY_API_KEY === undefined) {
    problems.push("QOREPAY_API_KEY: required when NODE_ENV=production (the default is the sandbox's)");
  }
  if (c.DEV_MINUTE_SCHEDULES === 'true') {
    problems.push('DEV_MINUTE_SCHEDULES: refused when NODE_ENV=production (minute schedules are for development)');
  }
  return problems;
}

function isLoopbackUrl(u: string): boolean {
  const host = new URL(u).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export type AppConfig = z.infer<typeof EnvSchema> & {
  temporal: { connectionOptions: NativeConnectionOptions; namespace: string };
  /** Payload encryption keys, current first. */
  payloadKeys: PayloadKey[];
  /** True when no PAYLOAD_KEYS were given and the public development key is in use. */
  devPayloadKey: boolean;
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  // An empty variable (`FOO=`) means unset, as compose files and shells often pass them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const c = parsed.data;
  const problems: string[] = [];
  if (c.MERCHANT_WEBHOOK_URL && !c.MERCHANT_WEBHOOK_SECRET) {
    problems.push('MERCHANT_WEBHOOK_SECRET: required when MERCHANT_WEBHOOK_URL is set');
  }
  if (c.GORMIC_BASE_URL && (!c.GORMIC_API_KEY || !c.GORMIC_ORGANIZATION_ID)) {
    problems.push('GORMIC_API_KEY and GORMIC_ORGANIZATION_ID: required when GORMIC_BASE_URL is set');
  }
  if (c.ACTIVEPLATFORM_BASE_URL && !c.ACTIVEPLATFORM_API_TOKEN) {
    problems.push('ACTIVEPLATFORM_API_TOKEN: required when ACTIVEPLATFORM_BASE_URL is set');
  }
  let payloadKeys: PayloadKey[] = [DEV_PAYLOAD_KEY];
  let devPayloadKey = true;
  if (c.PAYLOAD_KEYS !== undefined) {
    try {
      payloadKeys = parsePayloadKeys(c.PAYLOAD_KEYS);
      devPayloadKey = false;
    } catch (err) {
      problems.push(`PAYLOAD_KEYS: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (c.NODE_ENV === 'production' && payloadKeys.some(isDevPayloadKey)) {
      problems.push('PAYLOAD_KEYS: the public development key is refused when NODE_ENV=production');
    }
  } else if (c.NODE_ENV === 'production') {
    problems.push('PAYLOAD_KEYS: required when NODE_ENV=production (e.g. `k1:$(openssl rand -base64 32)`)');
  } else if (!LOOPBACK_HOSTS.has(new URL(c.QOREPAY_BASE_URL).hostname)) {
    problems.push(
      'PAYLOAD_KEYS: required when QOREPAY_BASE_URL is not the local sandbox (the development key is public)',
    );
  }
  if (c.NODE_ENV === 'production' && !c.CONSOLE_SESSION_KEY) {
    problems.push('CONSOLE_SESSION_KEY: required when NODE_ENV=production (e.g. `$(openssl rand -base64 32)`)');
  }
  if (c.NODE_ENV === 'production' && !c.DATABASE_URL) {
    problems.push('DATABASE_URL: required when NODE_ENV=production (the records store, a PostgreSQL database)');
  }
  if (c.NODE_ENV === 'production') {
    problems.push(...productionProblems(c, present));
  } else if (c.DEV_MINUTE_SCHEDULES === 'true' && !isLoopbackUrl(c.QOREPAY_BASE_URL)) {
    problems.push('DEV_MINUTE_SCHEDULES: only allowed against the local QorePay sandbox (a loopback QOREPAY_BASE_URL)');
  }
  for (const op of c.OPERATOR_API_KEYS) {
    if (c.API_KEYS.some((k) => k.sha256 === op.sha256)) {
      problems.push(
        `OPERATOR_API_KEYS: ${op.id} is also in API_KEYS (a key is a merchant's or an operator's, not both)`,
      );
    }
  }
  if (c.NODE_ENV === 'production') {
    const plain: [string, string[], (i: number) => string][] = [
      ['API_KEYS', isJsonKeys(present.API_KEYS) ? [] : splitKeys(present.API_KEYS), (i) => `key-${i + 1}`],
      ['OPERATOR_API_KEYS', splitKeys(present.OPERATOR_API_KEYS), (i) => `operator-${i + 1}`],
      ['CODEC_API_KEYS', c.CODEC_API_KEYS, (i) => `key ${i + 1}`],
    ];
    for (const [name, keys, idOf] of plain) {
      const short = keys
        .map((k, i) => ({ id: idOf(i), length: k.length }))
        .filter((k) => k.length < MIN_PRODUCTION_KEY_LENGTH)
        .map((k) => `${k.id} is ${k.length} characters`);
      if (short.length) {
        problems.push(
          `${name}: ${short.join(', ')}; keys must be at least ${MIN_PRODUCTION_KEY_LENGTH} characters when NODE_ENV=production`,
        );
      }
    }
  }
  if (c.RECONCILIATION_WINDOW < c.RECONCILIATION_INTERVAL) {
    problems.push(
      'RECONCILIATION_WINDOW: must be at least RECONCILIATION_INTERVAL (cycles closing between sweeps would be missed)',
    );
  }
  if (problems.length) throw new ConfigError(problems);

  // Temporal connection from the standard env (TEMPORAL_ADDRESS, TEMPORAL_API_KEY, TEMPORAL_TLS_*, profiles).
  const overrideEnvVars = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('TEMPORAL_') && e[1] !== undefined),
  );
  overrideEnvVars.TEMPORAL_ADDRESS ??= c.TEMPORAL_ADDRESS;
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars });
  return {
    ...c,
    temporal: { connectionOptions, namespace: namespace ?? c.TEMPORAL_NAMESPACE },
    payloadKeys,
    devPayloadKey,
  };
}

/** For process entry points: the config, or each problem on stderr and exit code 2. */
export function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** The client-side Temporal connection options (API, CLI) from the worker-shaped options config carries. */
export function clientConnectionOptions(config: Pick<AppConfig, 'temporal'>): ConnectionOptions {
  const o = config.temporal.connectionOptions;
  return {
    ...(o.address !== undefined ? { address: o.address } : {}),
    ...(o.tls !== undefined ? { tls: o.tls } : {}),
    ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
    ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
  };
}

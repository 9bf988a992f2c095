/** The one pino logger of a process, and its adapter into the Temporal Runtime. */
import { DefaultLogger, type LogLevel, type LogMetadata } from '@temporalio/worker';
import pino, { type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

/** Keys whose values never reach a log line. */
export const REDACT_PATHS = [
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'headers.authorization',
  'headers["api-key"]',
  'secret',
  'token',
  'apiToken',
  '*.apiKey',
  '*.authorization',
  '*.secret',
  '*.apiToken',
];

export function createLogger(
  opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name ?? 'billing',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination,
  );
}

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Whether a process logs for a person (pino-pretty) or for a machine (one JSON object a line): `pretty` and `json`
 * are taken as said; `auto` is pretty only when stdout is a terminal and NODE_ENV is not production, so a pipe, a file,
 * a container or CI always gets JSON.
 */
export function wantsPrettyLogs(format: LogFormat, stdoutIsTty: boolean, nodeEnv: string | undefined): boolean {
  if (format !== 'auto') return format === 'pretty';
  return stdoutIsTty && nodeEnv !== 'production';
}

/**
 * A pino-pretty destination for `createLogger`: redaction still happens in pino, before a line reaches it. Loaded
 * on demand, so a production install (which prunes dev dependencies, pino-pretty among them) never needs it.
 */
export async function prettyDestination(
  opts: { colorize?: boolean; destination?: NodeJS.WritableStream } = {},
): Promise<pino.DestinationStream> {
  const { PinoPretty } = await import('pino-pretty');
  const options: PrettyOptions = {
    colorize: opts.colorize ?? true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,taskToken',
    // Synchronous, so the last lines before Ctrl-C or a crash are on screen rather than in a lost buffer.
    sync: true,
    ...(opts.destination ? { destination: opts.destination } : {}),
  };
  return PinoPretty(options);
}

/** Routes the Temporal Runtime's (and workflow/activity `log`) output into pino. */
export function temporalLoggerFor(logger: Logger, level: LogLevel = 'INFO'): DefaultLogger {
  return new DefaultLogger(level, (entry) => {
    const meta: LogMetadata = entry.meta ?? {};
    const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    logger[method]({ ...meta, sdkComponent: meta.sdkComponent }, entry.message);
  });
}

export type { Logger };

/** The one pino logger of a process, and its adapter into the Temporal Runtime. */
import { DefaultLogger, type LogLevel, type LogMetadata } from '@temporalio/worker';
import pino, { type Logger } from 'pino';

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

/** Routes the Temporal Runtime's (and workflow/activity `log`) output into pino. */
export function temporalLoggerFor(logger: Logger, level: LogLevel = 'INFO'): DefaultLogger {
  return new DefaultLogger(level, (entry) => {
    const meta: LogMetadata = entry.meta ?? {};
    const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    logger[method]({ ...meta, sdkComponent: meta.sdkComponent }, entry.message);
  });
}

export type { Logger };

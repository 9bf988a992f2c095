/**
 * Typed ActivePlatform errors. Callers branch on `kind`, `retryable` and `businessOutcome` (plain data that survives
 * serialization and minification), never on the class name. No error ever carries the api_token: the client builds
 * them from scrubbed text only, and never attaches the underlying axios error (whose config holds the token).
 */

export const ACTIVEPLATFORM_ERROR_KINDS = [
  'NotFound',
  'InvalidStatus',
  'Validation',
  'Unauthorized',
  'RateLimited',
  'Transient',
  'Unexpected',
] as const;
export type ActivePlatformErrorKind = (typeof ACTIVEPLATFORM_ERROR_KINDS)[number];

const SOURCE = 'activeplatform';

/** Per kind: may the same call succeed if retried, and is this a definitive answer about the business operation. */
const KIND_TRAITS: Readonly<Record<ActivePlatformErrorKind, { retryable: boolean; businessOutcome: boolean }>> = {
  NotFound: { retryable: false, businessOutcome: false },
  InvalidStatus: { retryable: false, businessOutcome: true },
  Validation: { retryable: false, businessOutcome: false },
  Unauthorized: { retryable: false, businessOutcome: false },
  RateLimited: { retryable: true, businessOutcome: false },
  Transient: { retryable: true, businessOutcome: false },
  Unexpected: { retryable: false, businessOutcome: false },
};

export interface ActivePlatformErrorDetails {
  kind: ActivePlatformErrorKind;
  message: string;
  operation: string;
  method: string;
  /** Request path without the query string (the query holds the token). */
  path: string;
  httpStatus?: number | undefined;
  /** Error code from the response body, when there is one. */
  code?: string | undefined;
  /** A write that failed this way may nevertheless have been applied (timeout, dropped connection, 5xx). */
  outcomeUnknown?: boolean | undefined;
  retryAfterMs?: number | undefined;
}

export class ActivePlatformError extends Error {
  readonly source = SOURCE;
  readonly kind: ActivePlatformErrorKind;
  readonly retryable: boolean;
  readonly businessOutcome: boolean;
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly httpStatus: number | undefined;
  readonly code: string | undefined;
  readonly outcomeUnknown: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(details: ActivePlatformErrorDetails) {
    super(details.message);
    this.name = 'ActivePlatformError';
    this.kind = details.kind;
    this.retryable = KIND_TRAITS[details.kind].retryable;
    this.businessOutcome = KIND_TRAITS[details.kind].businessOutcome;
    this.operation = details.operation;
    this.method = details.method;
    this.path = details.path;
    this.httpStatus = details.httpStatus;
    this.code = details.code;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** Plain data, e.g. for Temporal ApplicationFailure details or a log line. */
  toJSON(): Record<string, unknown> {
    return {
      source: this.source,
      kind: this.kind,
      message: this.message,
      retryable: this.retryable,
      businessOutcome: this.businessOutcome,
      operation: this.operation,
      method: this.method,
      path: this.path,
      httpStatus: this.httpStatus,
      code: this.code,
      outcomeUnknown: this.outcomeUnknown,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

export function isActivePlatformError(err: unknown): err is ActivePlatformError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { source?: unknown; kind?: unknown };
  return e.source === SOURCE && (ACTIVEPLATFORM_ERROR_KINDS as readonly unknown[]).includes(e.kind);
}

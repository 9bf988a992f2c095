/**
 * Typed Gormic OM errors. Callers branch on `kind`, `retryable`, `businessOutcome` and `code` (plain data), never on
 * the class name. No error carries the api-key: errors are built from scrubbed text, never from the axios error.
 */

export const GORMIC_ERROR_KINDS = [
  'BusinessRejected',
  'Validation',
  'NotFound',
  'Unauthorized',
  'RateLimited',
  'Transient',
  'Unexpected',
] as const;
export type GormicErrorKind = (typeof GORMIC_ERROR_KINDS)[number];

/** Functional error codes (HTTP 400 `{error:{code}}`) that are Gormic's business answer about the order. */
export const GORMIC_BUSINESS_CODES = [
  'ORDER_CLOSED',
  'ORDER_CANCELED',
  'INVOICE_CLOSED',
  'INVOICE_NOT_FOUND',
  'INVALID_STATUS',
  'LIMIT_REACHED',
] as const;
export type GormicBusinessCode = (typeof GORMIC_BUSINESS_CODES)[number];

/** Functional error codes that mean our request was wrong (a bug or misconfiguration on our side). */
export const GORMIC_VALIDATION_CODES = ['InvalidParameter', 'MethodNotFound'] as const;

const SOURCE = 'gormic';

const KIND_TRAITS: Readonly<Record<GormicErrorKind, { retryable: boolean; businessOutcome: boolean }>> = {
  BusinessRejected: { retryable: false, businessOutcome: true },
  Validation: { retryable: false, businessOutcome: false },
  NotFound: { retryable: false, businessOutcome: false },
  Unauthorized: { retryable: false, businessOutcome: false },
  RateLimited: { retryable: true, businessOutcome: false },
  Transient: { retryable: true, businessOutcome: false },
  Unexpected: { retryable: false, businessOutcome: false },
};

export interface GormicErrorDetails {
  kind: GormicErrorKind;
  message: string;
  operation: string;
  method: string;
  path: string;
  httpStatus?: number | undefined;
  /** `error.code` from the body (e.g. ORDER_CLOSED), or a transport code (ECONNREFUSED). */
  code?: string | undefined;
  /** A write that failed this way may nevertheless have been applied (timeout, dropped connection, 5xx). */
  outcomeUnknown?: boolean | undefined;
  requestId?: string | undefined;
}

export class GormicError extends Error {
  readonly source = SOURCE;
  readonly kind: GormicErrorKind;
  readonly retryable: boolean;
  readonly businessOutcome: boolean;
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly httpStatus: number | undefined;
  readonly code: string | undefined;
  readonly outcomeUnknown: boolean;
  readonly requestId: string | undefined;

  constructor(details: GormicErrorDetails) {
    super(details.message);
    this.name = 'GormicError';
    this.kind = details.kind;
    this.retryable = KIND_TRAITS[details.kind].retryable;
    this.businessOutcome = KIND_TRAITS[details.kind].businessOutcome;
    this.operation = details.operation;
    this.method = details.method;
    this.path = details.path;
    this.httpStatus = details.httpStatus;
    this.code = details.code;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
    this.requestId = details.requestId;
  }

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
      requestId: this.requestId,
    };
  }
}

export function isGormicError(err: unknown): err is GormicError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { source?: unknown; kind?: unknown };
  return e.source === SOURCE && (GORMIC_ERROR_KINDS as readonly unknown[]).includes(e.kind);
}

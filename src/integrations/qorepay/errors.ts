/**
 * Typed QorePay errors: the shared `IntegrationError` shape (source `qorepay`) with one class per kind, for the
 * details a kind carries (decline code and class, field errors, Retry-After). Callers switch on `kind` (never on class
 * names) and read `retryable` to decide whether the same request may safely be sent again. No error ever carries the
 * API key, request headers or an axios error. `qorePayFailures` says what the gateway's answers mean.
 */
import { classifyDecline, type DeclineClass } from '../../domain/declines';
import { IntegrationError, isIntegrationError, type FailureMapper, type StatusFailure } from '../http';
import type { Purchase } from './schemas';

export type QorePayErrorKind =
  | 'ChargeDeclined'
  | 'InvalidRecurringToken'
  | 'AlreadyPaid'
  | 'NotFound'
  | 'Validation'
  | 'RateLimited'
  | 'Transient'
  | 'Unauthorized'
  | 'Unexpected';

export interface FieldError {
  /** Dotted path of the field, e.g. `purchase.products.0.price`; `__all__` for errors not tied to a field. */
  path: string;
  code?: string;
  message: string;
}

export interface QorePayErrorOptions {
  retryable: boolean;
  httpStatus?: number | undefined;
  /** Which client operation failed, e.g. `chargePurchase`. */
  operation?: string | undefined;
  /** The gateway's answer about the business operation (a decline, a paid purchase). */
  businessOutcome?: boolean | undefined;
  /** A write that failed this way may nevertheless have been applied. */
  outcomeUnknown?: boolean | undefined;
  code?: string | undefined;
  retryAfterMs?: number | undefined;
}

export class QorePayError extends IntegrationError<QorePayErrorKind> {
  declare readonly source: 'qorepay';

  constructor(kind: QorePayErrorKind, message: string, options: QorePayErrorOptions) {
    super({ source: 'qorepay', kind, message, ...options });
    this.name = 'QorePayError';
  }
}

export function isQorePayError(e: unknown): e is AnyQorePayError {
  return isIntegrationError(e, 'qorepay');
}

type Where = { httpStatus?: number | undefined; operation?: string | undefined };

export class ChargeDeclinedError extends QorePayError {
  declare readonly kind: 'ChargeDeclined';
  readonly declineMessage: string | undefined;
  readonly declineClass: DeclineClass;
  /** The Purchase as re-read after the decline; undefined only if that read failed. */
  readonly purchase: Purchase | undefined;

  constructor(args: {
    code: string | undefined;
    declineMessage: string | undefined;
    purchase: Purchase | undefined;
    httpStatus?: number | undefined;
    operation?: string | undefined;
  }) {
    const declineClass = classifyDecline(args.code, args.purchase?.status);
    super('ChargeDeclined', `QorePay declined the charge: ${args.code ?? 'unknown code'} (${declineClass})`, {
      retryable: false,
      businessOutcome: true,
      code: args.code,
      httpStatus: args.httpStatus,
      operation: args.operation,
    });
    this.declineMessage = args.declineMessage;
    this.declineClass = declineClass;
    this.purchase = args.purchase;
  }
}

export class InvalidRecurringTokenError extends QorePayError {
  declare readonly kind: 'InvalidRecurringToken';
  declare readonly code: 'invalid_recurring_token';
  readonly declineClass: DeclineClass = 'hard';
  readonly declineMessage: string | undefined;

  constructor(args: { declineMessage: string | undefined; httpStatus?: number | undefined; operation?: string }) {
    super('InvalidRecurringToken', 'QorePay rejected the recurring token (invalid_recurring_token)', {
      retryable: false,
      businessOutcome: true,
      code: 'invalid_recurring_token',
      httpStatus: args.httpStatus,
      operation: args.operation,
    });
    this.declineMessage = args.declineMessage;
  }
}

export class AlreadyPaidError extends QorePayError {
  declare readonly kind: 'AlreadyPaid';
  declare readonly code: 'purchase_already_paid_for';

  constructor(args: Where) {
    super('AlreadyPaid', 'The purchase is already paid (purchase_already_paid_for)', {
      retryable: false,
      businessOutcome: true,
      code: 'purchase_already_paid_for',
      httpStatus: args.httpStatus,
      operation: args.operation,
    });
  }
}

export class NotFoundError extends QorePayError {
  declare readonly kind: 'NotFound';
  constructor(args: Where & { what?: string }) {
    super('NotFound', `QorePay has no such object${args.what ? `: ${args.what}` : ''}`, {
      retryable: false,
      httpStatus: args.httpStatus,
      operation: args.operation,
    });
  }
}

export class ValidationError extends QorePayError {
  declare readonly kind: 'Validation';
  readonly fieldErrors: FieldError[];

  constructor(args: Where & { fieldErrors: FieldError[] }) {
    const summary = args.fieldErrors
      .slice(0, 5)
      .map((f) => `${f.path}: ${f.message}${f.code ? ` (${f.code})` : ''}`)
      .join('; ');
    super('Validation', `QorePay rejected the request: ${summary || 'no details'}`, {
      retryable: false,
      httpStatus: args.httpStatus,
      operation: args.operation,
    });
    this.fieldErrors = args.fieldErrors;
  }
}

export class RateLimitedError extends QorePayError {
  declare readonly kind: 'RateLimited';
  declare readonly retryAfterMs: number;

  constructor(args: Where & { retryAfterMs: number }) {
    super('RateLimited', `QorePay rate limit hit; retry after ${args.retryAfterMs} ms`, {
      retryable: true,
      httpStatus: args.httpStatus,
      operation: args.operation,
      retryAfterMs: args.retryAfterMs,
    });
  }
}

export class TransientError extends QorePayError {
  declare readonly kind: 'Transient';
  /** e.g. `http_503`, `timeout`, `ECONNREFUSED`. */
  readonly reason: string;

  constructor(args: Where & { reason: string; outcomeUnknown?: boolean; code?: string | undefined }) {
    super('Transient', `QorePay request failed transiently (${args.reason})`, {
      retryable: true,
      httpStatus: args.httpStatus,
      operation: args.operation,
      outcomeUnknown: args.outcomeUnknown,
      code: args.code,
    });
    this.reason = args.reason;
  }
}

export class UnauthorizedError extends QorePayError {
  declare readonly kind: 'Unauthorized';
  constructor(args: Where) {
    super('Unauthorized', `QorePay refused the credentials (HTTP ${args.httpStatus ?? '?'})`, {
      retryable: false,
      httpStatus: args.httpStatus,
      operation: args.operation,
    });
  }
}

export class UnexpectedError extends QorePayError {
  declare readonly kind: 'Unexpected';
  constructor(args: Where & { detail: string; outcomeUnknown?: boolean }) {
    super('Unexpected', `Unexpected QorePay answer: ${args.detail}`, {
      retryable: false,
      httpStatus: args.httpStatus,
      operation: args.operation,
      outcomeUnknown: args.outcomeUnknown,
    });
  }
}

export type AnyQorePayError =
  | ChargeDeclinedError
  | InvalidRecurringTokenError
  | AlreadyPaidError
  | NotFoundError
  | ValidationError
  | RateLimitedError
  | TransientError
  | UnauthorizedError
  | UnexpectedError;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isLeaf = (v: unknown): v is { message: string; code?: unknown } => isRecord(v) && typeof v.message === 'string';

/**
 * Collects every `{message, code}` leaf of a QorePay error body, with its dotted path.
 * Accepts `__all__` as a list or a single object, a flat `{code, message}`, a DRF `{detail}`, and field-keyed lists
 * nested to any depth (`{"purchase": {"products": [{}, {"price": [{...}]}]}}` -> `purchase.products.1.price`).
 * Plain strings in error lists become messages without a code.
 */
export function parseErrorBody(body: unknown): FieldError[] {
  const out: FieldError[] = [];
  const push = (path: string, message: string, code: unknown): void => {
    const entry: FieldError = { path: path === '' ? '__all__' : path, message };
    if (typeof code === 'string' && code !== '') entry.code = code;
    out.push(entry);
  };
  const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

  const walk = (node: unknown, path: string, inErrorList: boolean): void => {
    if (isLeaf(node)) {
      push(path, node.message, node.code);
      return;
    }
    if (typeof node === 'string') {
      if (inErrorList || path !== '') push(path, node, undefined);
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        // A list of error leaves belongs to the field itself; a list of objects is a nested list field.
        if (isLeaf(item) || typeof item === 'string') walk(item, path, true);
        else walk(item, join(path, String(i)), false);
      });
      return;
    }
    if (isRecord(node)) {
      for (const [key, value] of Object.entries(node)) {
        if (path === '' && key === 'detail' && typeof value === 'string') {
          push('', value, node.code);
          continue;
        }
        if (path === '' && key === 'code' && typeof value === 'string') continue;
        walk(value, key === '__all__' || key === 'non_field_errors' ? join(path, '__all__') : join(path, key), false);
      }
    }
  };

  if (typeof body === 'string') {
    const trimmed = body.trim();
    if (trimmed === '') return out;
    try {
      walk(JSON.parse(trimmed) as unknown, '', false);
    } catch {
      push('', trimmed.slice(0, 200), undefined);
    }
    return out;
  }
  walk(body, '', false);
  // A flat body with only a `code` (no message) still tells us something.
  if (out.length === 0 && isRecord(body) && typeof body.code === 'string') push('', body.code, body.code);
  return out;
}

/** The codes of errors not tied to a field (`__all__` or a flat body). */
export const nonFieldCodes = (errors: FieldError[]): string[] =>
  errors.filter((e) => e.path === '__all__' && e.code !== undefined).map((e) => e.code as string);

/** What the gateway's failures mean: transport failures and 5xx are Transient, error bodies map by their codes. */
export const qorePayFailures: FailureMapper = {
  transport: (f) =>
    new TransientError({ reason: f.reason, operation: f.operation, outcomeUnknown: f.outcomeUnknown, code: f.code }),
  status: errorForAnswer,
  shape: (f) =>
    new UnexpectedError({
      operation: f.operation,
      httpStatus: f.status,
      detail: f.detail,
      outcomeUnknown: f.outcomeUnknown,
    }),
};

function errorForAnswer(f: StatusFailure): QorePayError {
  const { operation } = f;
  const status = f.answer.status;
  if (status === 401 || status === 403) return new UnauthorizedError({ httpStatus: status, operation });
  if (status === 404) return new NotFoundError({ httpStatus: status, operation });
  if (status === 429) {
    return new RateLimitedError({ retryAfterMs: f.retryAfterMs ?? 1000, httpStatus: status, operation });
  }
  if (status >= 500) {
    return new TransientError({
      reason: `http_${status}`,
      httpStatus: status,
      operation,
      outcomeUnknown: f.outcomeUnknown,
    });
  }
  const errors: FieldError[] = parseErrorBody(f.answer.text);
  const codes = nonFieldCodes(errors);
  if (codes.includes('purchase_already_paid_for')) return new AlreadyPaidError({ httpStatus: status, operation });
  if (codes.includes('invalid_recurring_token')) {
    const message = errors.find((e) => e.code === 'invalid_recurring_token')?.message;
    return new InvalidRecurringTokenError({ declineMessage: message, httpStatus: status, operation });
  }
  if (status === 400 || status === 409 || status === 422) {
    return new ValidationError({ fieldErrors: errors, httpStatus: status, operation });
  }
  return new UnexpectedError({ detail: `HTTP ${status}`, httpStatus: status, operation });
}

/**
 * The one error shape of every integration. Callers branch on plain data (`source`, `kind`, `retryable`,
 * `businessOutcome`, `outcomeUnknown`, `code`), never on class names: `isIntegrationError` checks a brand that survives
 * a module loaded twice, minification and structured cloning of the fields. No error carries request headers, query
 * strings, an axios error or a `cause`: integrations build them from redacted text only.
 */

/** Which integration raised the error. */
export type IntegrationSource = 'qorepay' | 'activeplatform' | 'gormic' | 'merchant-webhook';

export interface IntegrationErrorInit<K extends string = string> {
  source: IntegrationSource;
  kind: K;
  message: string;
  /** May the same request succeed if sent again? */
  retryable: boolean;
  /** A definitive answer about the business operation (closed order, invalid status, declined charge). */
  businessOutcome?: boolean | undefined;
  /** A write that failed this way may nevertheless have been applied (timeout, dropped connection, 5xx). */
  outcomeUnknown?: boolean | undefined;
  httpStatus?: number | undefined;
  /** A code from the answer's body (e.g. ORDER_CLOSED) or of the transport failure (ECONNREFUSED). */
  code?: string | undefined;
  /** Which client operation failed, e.g. `createPayment`. */
  operation?: string | undefined;
  method?: string | undefined;
  /** The request path, never with its query string. */
  path?: string | undefined;
  retryAfterMs?: number | undefined;
}

const BRAND = Symbol.for('temporal-billing-engine.IntegrationError');

export class IntegrationError<K extends string = string> extends Error {
  readonly source: IntegrationSource;
  readonly kind: K;
  readonly retryable: boolean;
  readonly businessOutcome: boolean;
  readonly outcomeUnknown: boolean;
  readonly httpStatus: number | undefined;
  readonly code: string | undefined;
  readonly operation: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(init: IntegrationErrorInit<K>) {
    super(init.message);
    this.name = 'IntegrationError';
    this.source = init.source;
    this.kind = init.kind;
    this.retryable = init.retryable;
    this.businessOutcome = init.businessOutcome ?? false;
    this.outcomeUnknown = init.outcomeUnknown ?? false;
    this.httpStatus = init.httpStatus;
    this.code = init.code;
    this.operation = init.operation;
    this.method = init.method;
    this.path = init.path;
    this.retryAfterMs = init.retryAfterMs;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  /** Plain, secret-free data (also what JSON.stringify writes), e.g. for ApplicationFailure details or a log line. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message, ...Object.fromEntries(Object.entries(this)) };
  }
}

/** True for an IntegrationError (of `source`, when given), whichever copy of this module created it. */
export function isIntegrationError<S extends IntegrationSource>(
  err: unknown,
  source?: S,
): err is IntegrationError & { source: S } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Record<PropertyKey, unknown>;
  return e[BRAND] === true && typeof e.kind === 'string' && (source === undefined || e.source === source);
}

/** The kinds every JSON API shares; an integration adds the kinds of its business answers. */
export const COMMON_ERROR_KINDS = [
  'NotFound',
  'Validation',
  'Unauthorized',
  'RateLimited',
  'Transient',
  'Unexpected',
] as const;

/** Per kind: is a retry worth it, and is this a business answer. */
export type KindTraits<K extends string> = Readonly<Record<K, { retryable: boolean; businessOutcome: boolean }>>;

/** The traits table of `kinds`, naming the business answers and the retryable kinds (default RateLimited, Transient). */
export function kindTraits<K extends string>(
  kinds: readonly K[],
  named: { businessOutcome: readonly K[]; retryable?: readonly K[] },
): KindTraits<K> {
  const retryable: readonly string[] = named.retryable ?? ['RateLimited', 'Transient'];
  const table = {} as Record<K, { retryable: boolean; businessOutcome: boolean }>;
  for (const kind of kinds) {
    table[kind] = { retryable: retryable.includes(kind), businessOutcome: named.businessOutcome.includes(kind) };
  }
  return table;
}

/**
 * Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `nowMs`.
 * Returns `fallbackMs` when absent or unparseable; never negative.
 */
export function parseRetryAfter(header: unknown, nowMs: number, fallbackMs: undefined): number | undefined;
export function parseRetryAfter(header: unknown, nowMs: number, fallbackMs?: number): number;
export function parseRetryAfter(header: unknown, nowMs: number, ...rest: [number?]): number | undefined {
  const fallbackMs = rest.length === 0 ? 1000 : rest[0];
  const value = Array.isArray(header) ? (header[0] as unknown) : header;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.max(0, Math.round(value * 1000));
  if (typeof value !== 'string' || value.trim() === '') return fallbackMs;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.max(0, Math.round(Number(trimmed) * 1000));
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return fallbackMs;
  return Math.max(0, date - nowMs);
}

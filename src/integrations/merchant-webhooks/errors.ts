/**
 * Typed delivery errors. Callers switch on `kind` (never on class names) and read `retryable`. No error carries a
 * signing secret, the signature header, request headers or the query string of the merchant's URL.
 */

export type MerchantWebhookErrorKind =
  /** The receiver answered 3xx or a 4xx other than 408/409/429: sending the same event again will not help. */
  | 'Rejected'
  /** Network failure, timeout, 408, 409, 429 or 5xx: the same event may be sent again (receivers dedupe by id). */
  | 'Transient'
  /** The event itself is unusable (unknown type, empty id): a programming error, not retryable. */
  | 'InvalidEvent';

const BRAND = Symbol.for('temporal-billing-engine.MerchantWebhookError');

export class MerchantWebhookError extends Error {
  readonly kind: MerchantWebhookErrorKind;
  readonly retryable: boolean;
  /** HTTP status of the receiver's answer; undefined when there was none (network error, timeout). */
  readonly httpStatus: number | undefined;
  /** Short machine-readable cause: `http_500`, `timeout`, `ECONNREFUSED`, `unknown_event_type`... */
  readonly reason: string;
  readonly eventId: string | undefined;
  readonly eventType: string | undefined;
  /** The endpoint without query string, fragment or credentials. */
  readonly endpoint: string | undefined;

  constructor(
    kind: MerchantWebhookErrorKind,
    message: string,
    details: {
      reason: string;
      httpStatus?: number | undefined;
      eventId?: string | undefined;
      eventType?: string | undefined;
      endpoint?: string | undefined;
    },
  ) {
    super(message);
    this.name = 'MerchantWebhookError';
    this.kind = kind;
    this.retryable = kind === 'Transient';
    this.reason = details.reason;
    this.httpStatus = details.httpStatus;
    this.eventId = details.eventId;
    this.eventType = details.eventType;
    this.endpoint = details.endpoint;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      retryable: this.retryable,
      reason: this.reason,
      httpStatus: this.httpStatus,
      eventId: this.eventId,
      eventType: this.eventType,
      endpoint: this.endpoint,
    };
  }
}

export function isMerchantWebhookError(e: unknown): e is MerchantWebhookError {
  return (
    e instanceof MerchantWebhookError ||
    (typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true && 'kind' in e)
  );
}

/** 2xx ok; 408, 409, 429 and 5xx retryable; every other status (3xx, 4xx) a rejection. */
export function classifyStatus(status: number): 'ok' | 'Transient' | 'Rejected' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 409 || status === 429 || status >= 500) return 'Transient';
  return 'Rejected';
}

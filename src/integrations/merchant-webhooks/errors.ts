/**
 * Typed delivery errors: the shared `IntegrationError` shape (source `merchant-webhook`) plus the event they concern.
 * Callers switch on `kind` (never on class names) and read `retryable`. No error carries a signing secret, the
 * signature header, request headers or the query string of the merchant's URL.
 */
import { IntegrationError, isIntegrationError } from '../http';

export type MerchantWebhookErrorKind =
  /** The receiver answered 3xx or a 4xx other than 408/409/429: sending the same event again will not help. */
  | 'Rejected'
  /** Network failure, timeout, 408, 409, 429 or 5xx: the same event may be sent again (receivers dedupe by id). */
  | 'Transient'
  /** The event itself is unusable (unknown type, empty id): a programming error, not retryable. */
  | 'InvalidEvent';

export class MerchantWebhookError extends IntegrationError<MerchantWebhookErrorKind> {
  declare readonly source: 'merchant-webhook';
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
    super({
      source: 'merchant-webhook',
      kind,
      message,
      retryable: kind === 'Transient',
      httpStatus: details.httpStatus,
      // Delivery is idempotent (receivers dedupe by event id), so an unanswered POST is simply sent again.
      outcomeUnknown: false,
    });
    this.name = 'MerchantWebhookError';
    this.reason = details.reason;
    this.eventId = details.eventId;
    this.eventType = details.eventType;
    this.endpoint = details.endpoint;
  }
}

export function isMerchantWebhookError(e: unknown): e is MerchantWebhookError {
  return isIntegrationError(e, 'merchant-webhook');
}

/** 2xx ok; 408, 409, 429 and 5xx retryable; every other status (3xx, 4xx) a rejection. */
export function classifyStatus(status: number): 'ok' | 'Transient' | 'Rejected' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 409 || status === 429 || status >= 500) return 'Transient';
  return 'Rejected';
}

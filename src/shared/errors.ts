/**
 * ApplicationFailure `type` strings raised by activities and read by workflows. Workflows switch on these strings,
 * never on class names (minification and the V8 sandbox break those).
 */
export const FailureType = {
  /** The issuer declined the charge; details carry `ChargeDeclinedDetails`. Not retryable as an activity. */
  ChargeDeclined: 'ChargeDeclined',
  /** The gateway refused the request itself (validation, auth, unknown purchase): an operations problem. */
  GatewayRejected: 'GatewayRejected',
  /** A settlement target refused the write as a business outcome (closed order, unknown payment...). */
  SettlementRejected: 'SettlementRejected',
  /** The merchant's webhook endpoint rejected a notification (4xx): retrying will not help. */
  NotificationRejected: 'NotificationRejected',
  /** The purchase cannot be charged any more (cancelled, expired). */
  PurchaseNotChargeable: 'PurchaseNotChargeable',
  /**
   * The charge activity sent no charge request: it learned of a cancellation (a cancel or a pause withdrew it) or its
   * window to send one had passed (src/domain/billing-cycle/limits.ts, CYCLE_LIMITS.chargePostWindowMs).
   */
  ChargeNotSent: 'ChargeNotSent',
  /** A refund the gateway cannot make (nothing refundable, amount above what is left). */
  RefundRefused: 'RefundRefused',
  /** A retried refund found the Purchase changed in a way that does not prove its earlier attempt's refund: nothing sent. */
  RefundUnverified: 'RefundUnverified',
  /** Transport failures, retried by Temporal. */
  GatewayTransient: 'GatewayTransient',
  GatewayRateLimited: 'GatewayRateLimited',
  UnexpectedError: 'UnexpectedError',
  // Raised by workflow update handlers to the caller.
  CycleTerminal: 'CycleTerminal',
  MarkPaidRefused: 'MarkPaidRefused',
  RefundFailed: 'RefundFailed',
  ChargebackFailed: 'ChargebackFailed',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export interface ChargeDeclinedDetails {
  code: string;
  message: string;
  declineClass: 'hard' | 'soft' | 'merchant_configuration' | 'already_paid' | 'unknown';
}

/** Bounds of the billing cycle machine that are not customer policy, and the charge fence they make. */

export const HOUR = 60 * 60 * 1000;

/** Bounds of the machine that are not customer policy. */
export const CYCLE_LIMITS = Object.freeze({
  /** Charge calls whose outcome was unknown (transport failure) retried quickly before the slow schedule. */
  quickTransportRetries: 6,
  quickTransportRetryBaseMs: 2_000,
  quickTransportRetryMaxMs: 60_000,
  /** Fresh Purchases created for one cycle when the current one cannot be charged any more. */
  maxPurchases: 5,
  /** How long a cycle whose settlement failed stays open for an operator's retry. */
  settlementRetryWindowHours: 30 * 24,
  /** Read failures while waiting for an outcome before an alert (polling goes on). */
  readFailuresBeforeAlert: 1,
  /**
   * The charge activity sends its charge request only within this long of its own start, and never after it learned
   * of a cancellation (src/activities/gateway.ts): a worker that lost Temporal (its heartbeat timed out) cannot send one
   * later.
   */
  chargePostWindowMs: 30_000,
  /** The charge request is aborted by the activity after this long (whatever the HTTP client's own timeout). */
  chargePostTimeoutMs: 30_000,
  /** Time given to the gateway to show a charge request that reached it as in flight (or its outcome). */
  chargeSettleMarginMs: 30_000,
});

/**
 * After a charge call whose outcome is unknown (timed out, failed in transport), nothing is sent to the gateway for
 * this long: the attempt's request, if it left at all, left within `chargePostWindowMs` of the activity's start (before
 * the cycle learned the outcome was unknown), was over `chargePostTimeoutMs` later, and the gateway shows it within
 * `chargeSettleMarginMs`. The next read then sees it, so two charge attempts never overlap.
 */
export const CHARGE_FENCE_MS =
  CYCLE_LIMITS.chargePostWindowMs + CYCLE_LIMITS.chargePostTimeoutMs + CYCLE_LIMITS.chargeSettleMarginMs;

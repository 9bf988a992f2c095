/** The subscription machine's bounds and windows: how much it keeps, and for how long. */

export const DAY = 24 * 60 * 60 * 1000;

export const SUBSCRIPTION_LIMITS = Object.freeze({
  recentCyclesKept: 24,
  paymentEventsKept: 50,
  reversalsKept: 100,
  requestsKept: 200,
  seenPaymentIdsKept: 500,
  /** Refunds and chargebacks arrive up to this long after a cycle was paid; its record is kept that long. */
  reversalWindowDays: 180,
  /** How often the subscription checks that its cycles in flight are still running. */
  livenessCheckDays: 1,
  /** Payment events that beat their cycle's final report, kept until it comes (then matched, or alerted for good). */
  heldPaymentEventsKept: 50,
  /** A held payment event whose cycle has not reported within this many days is alerted for good. */
  paymentEventHoldDays: 30,
});

/** A liveness check up to this long after a period's due time is held on the due time instead. */
export const LIVENESS_ALIGN_WINDOW_MS = 60_000;

/** Appends `item` and drops the oldest entries beyond `max`. */
export function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

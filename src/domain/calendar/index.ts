/**
 * Billing calendar: when each period of a subscription starts and ends.
 *
 * Pure and deterministic (it runs inside Temporal workflow code): no Node built-ins, no I/O, no clock. Time-zone
 * offsets come from `Intl.DateTimeFormat`, which is a pure function of (instant, zone, tz database) and is available
 * in Temporal's workflow sandbox.
 *
 * Rules
 * - All instants are epoch milliseconds (UTC). Periods are half-open: `[periodStart(k), periodEnd(k))`.
 * - Period k starts at `billingAnchor + k × interval`, computed in LOCAL calendar terms in the schedule's time zone and
 *   always FROM THE ANCHOR (never from the previous period). So month-end days clamp and come back: an anchor on
 *   Jan 31 bills Feb 28 (Feb 29 in leap years), Mar 31, Apr 30, ...; a yearly Feb 29 anchor bills Feb 28 in common
 *   years and Feb 29 in leap years.
 * - The local wall-clock time is kept across DST changes (09:00 stays 09:00 local, a different UTC instant in winter
 *   and summer). A local time that does not exist (spring-forward gap) resolves to the first valid instant after it,
 *   i.e. the transition itself (02:30 on a New York spring-forward day -> 03:00 EDT). An ambiguous local time
 *   (fall-back overlap) resolves to the earlier of its two instants (01:30 EDT rather than 01:30 EST).
 * - Trials: with `trialDays > 0` the trial runs from the anchor for `trialDays` local calendar days (wall-clock time
 *   kept); the trial end is the BILLING anchor. Period 0 starts when the trial ends and every later period is counted
 *   from that instant's local date-time (like Stripe, where the trial end becomes the billing cycle anchor). Without a
 *   trial the billing anchor is the anchor itself.
 * - The due date of a period is its start (billing in advance).
 */
export {
  INTERVAL_UNITS,
  MAX_INTERVAL_COUNT,
  MAX_TRIAL_DAYS,
  validateSchedule,
  type BillingSchedule,
  type IntervalUnit,
  type PeriodDescription,
} from './schedule';
export {
  describePeriod,
  localToInstant,
  nextDueDate,
  periodEnd,
  periodIndexAt,
  periodStart,
  trialEnd,
} from './periods';
export { canonicalTimeZone, timeZoneCacheStats, utcOffsetMinutes } from './time-zones';

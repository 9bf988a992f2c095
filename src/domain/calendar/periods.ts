/** When each period of a schedule starts and ends, and which period an instant falls in. */
import { addDays, addIntervals, type LocalDateTime, MS_PER_DAY, parseLocal } from './local-time';
import { assertPeriodIndex, assertValid, type BillingSchedule, checkAnchor, type PeriodDescription } from './schedule';
import { formatLocalIso, isValidTimeZone, wallClockToInstant } from './time-zones';

/**
 * Start of period `periodIndex` (>= 0) as epoch ms. Period 0 starts at the billing anchor (the anchor, or the end of
 * the trial when there is one); period k at billing anchor + k × interval in local calendar terms.
 * Throws RangeError on an invalid schedule or index.
 */
export function periodStart(s: BillingSchedule, periodIndex: number): number {
  assertValid(s);
  assertPeriodIndex('periodIndex', periodIndex, 0);
  return periodStartUnchecked(s, periodIndex);
}

/** End of period k (exclusive) = start of period k + 1. */
export function periodEnd(s: BillingSchedule, periodIndex: number): number {
  assertValid(s);
  assertPeriodIndex('periodIndex', periodIndex, 0);
  return periodStartUnchecked(s, periodIndex + 1);
}

/** When the trial ends (= when period 0 starts), or null when the schedule has no trial. */
export function trialEnd(s: BillingSchedule): number | null {
  assertValid(s);
  if (s.trialDays === undefined || s.trialDays === 0) return null;
  return periodStartUnchecked(s, 0);
}

/**
 * Index of the period containing `instantMs` (start inclusive, end exclusive), or -1 when the instant is before
 * period 0 (during the trial, or before the anchor). Estimates the index from the average interval length, then
 * corrects by stepping, so a daily schedule decades long costs a handful of offset look-ups.
 */
export function periodIndexAt(s: BillingSchedule, instantMs: number): number {
  assertValid(s);
  if (!Number.isFinite(instantMs)) throw new RangeError(`instantMs: must be a finite number (got ${instantMs})`);
  const first = periodStartUnchecked(s, 0);
  if (instantMs < first) return -1;

  let k = Math.max(0, Math.floor((instantMs - first) / averageIntervalMs(s)));
  let start = periodStartUnchecked(s, k);
  while (start > instantMs && k > 0) {
    k -= 1;
    start = periodStartUnchecked(s, k);
  }
  while (periodStartUnchecked(s, k + 1) <= instantMs) k += 1;
  return k;
}

/**
 * Due date (= start, epoch ms) of the period after `afterPeriodIndex`. Pass -1 for the first period's due date.
 */
export function nextDueDate(s: BillingSchedule, afterPeriodIndex: number): number {
  assertValid(s);
  assertPeriodIndex('afterPeriodIndex', afterPeriodIndex, -1);
  return periodStartUnchecked(s, afterPeriodIndex + 1);
}

/** Period k's bounds as ISO-8601 strings, in UTC and as local date-times with offset. */
export function describePeriod(s: BillingSchedule, periodIndex: number): PeriodDescription {
  assertValid(s);
  assertPeriodIndex('periodIndex', periodIndex, 0);
  const start = periodStartUnchecked(s, periodIndex);
  const end = periodStartUnchecked(s, periodIndex + 1);
  return {
    index: periodIndex,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    localStart: formatLocalIso(start, s.timeZone),
    localEnd: formatLocalIso(end, s.timeZone),
  };
}

/**
 * The instant of a local wall-clock date-time in a time zone (gap: first valid instant after; overlap: earlier one).
 * `localDateTime` uses the anchor format. Exposed for callers that turn local dates into instants (e.g. 'cancel at
 * end of day') and for tests.
 */
export function localToInstant(localDateTime: string, timeZone: string): number {
  const problem = checkAnchor(localDateTime);
  if (problem !== undefined) throw new RangeError(`localDateTime: ${problem}`);
  if (!isValidTimeZone(timeZone)) throw new RangeError(`timeZone: unknown time zone ${JSON.stringify(timeZone)}`);
  return wallClockToInstant(parseLocal(localDateTime), timeZone);
}

function periodStartUnchecked(s: BillingSchedule, k: number): number {
  const billingAnchor = billingAnchorLocal(s);
  return wallClockToInstant(addIntervals(billingAnchor, s.intervalUnit, s.intervalCount * k), s.timeZone);
}

/** The anchor moved by the trial, as a local wall-clock date-time. */
function billingAnchorLocal(s: BillingSchedule): LocalDateTime {
  const anchor = parseLocal(s.anchor);
  const trialDays = s.trialDays ?? 0;
  return trialDays > 0 ? addDays(anchor, trialDays) : anchor;
}

function averageIntervalMs(s: BillingSchedule): number {
  const days = { minute: 1 / 1440, day: 1, week: 7, month: 365.2425 / 12, year: 365.2425 }[s.intervalUnit];
  return days * s.intervalCount * MS_PER_DAY;
}

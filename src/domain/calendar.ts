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

/**
 * `minute` exists for development and chaos runs against the sandbox only: the API refuses it unless the engine is
 * configured for the sandbox (DEV_MINUTE_SCHEDULES, see src/config.ts). It is plain arithmetic on the local time.
 */
export type IntervalUnit = 'minute' | 'day' | 'week' | 'month' | 'year';

export const INTERVAL_UNITS: readonly IntervalUnit[] = ['minute', 'day', 'week', 'month', 'year'];

/** Largest `intervalCount` allowed per unit (about five years at most; a day of minutes). */
export const MAX_INTERVAL_COUNT: Readonly<Record<IntervalUnit, number>> = {
  minute: 1440,
  day: 365,
  week: 52,
  month: 24,
  year: 5,
};

export const MAX_TRIAL_DAYS = 730;

export interface BillingSchedule {
  intervalUnit: IntervalUnit;
  /** Integer >= 1, at most MAX_INTERVAL_COUNT[intervalUnit]. */
  intervalCount: number;
  /** Local date-time in `timeZone`: 'YYYY-MM-DDTHH:mm', or 'YYYY-MM-DD' meaning midnight. */
  anchor: string;
  /** IANA time-zone name, e.g. 'Europe/Oslo' or 'UTC'. */
  timeZone: string;
  /** Free trial length in local calendar days, integer 0..730. Period 0 starts when the trial ends. */
  trialDays?: number;
}

export interface PeriodDescription {
  index: number;
  /** UTC ISO-8601 instant, e.g. '2027-03-01T08:00:00.000Z'. */
  start: string;
  /** UTC ISO-8601 instant (the next period's start). */
  end: string;
  /** The same instants as local date-times with their UTC offset, e.g. '2027-03-01T09:00:00+01:00'. */
  localStart: string;
  localEnd: string;
}

/** A wall-clock date-time, without zone. `month` is 1..12. */
interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_DAY = 24 * 60 * MS_PER_MINUTE;
const MIN_ANCHOR_YEAR = 1970;
const MAX_ANCHOR_YEAR = 9999;
const ANCHOR_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/;

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

/**
 * Every problem with a schedule, each message starting with the field it concerns. Empty means valid. Tolerates
 * values of the wrong runtime type (schedules can come from JSON).
 */
export function validateSchedule(s: BillingSchedule): string[] {
  const problems: string[] = [];
  const raw = s as unknown as Record<string, unknown>;
  if (typeof s !== 'object' || s === null) return ['schedule: must be an object'];

  const unit = raw.intervalUnit;
  const unitOk = typeof unit === 'string' && (INTERVAL_UNITS as readonly string[]).includes(unit);
  if (!unitOk) {
    problems.push(`intervalUnit: must be one of ${INTERVAL_UNITS.join(', ')} (got ${describeValue(unit)})`);
  }

  const count = raw.intervalCount;
  if (typeof count !== 'number' || !Number.isInteger(count)) {
    problems.push(`intervalCount: must be an integer (got ${describeValue(count)})`);
  } else if (unitOk) {
    const max = MAX_INTERVAL_COUNT[unit as IntervalUnit];
    if (count < 1 || count > max)
      problems.push(`intervalCount: must be between 1 and ${max} for unit '${unit}' (got ${count})`);
  } else if (count < 1) {
    problems.push(`intervalCount: must be at least 1 (got ${count})`);
  }

  const anchor = raw.anchor;
  if (typeof anchor !== 'string') {
    problems.push(`anchor: must be a string 'YYYY-MM-DDTHH:mm' or 'YYYY-MM-DD' (got ${describeValue(anchor)})`);
  } else {
    const anchorProblem = checkAnchor(anchor);
    if (anchorProblem !== undefined) problems.push(`anchor: ${anchorProblem}`);
  }

  const timeZone = raw.timeZone;
  if (typeof timeZone !== 'string' || timeZone.length === 0) {
    problems.push(`timeZone: must be an IANA time-zone name such as 'Europe/Oslo' (got ${describeValue(timeZone)})`);
  } else if (!isValidTimeZone(timeZone)) {
    problems.push(`timeZone: unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as 'Europe/Oslo'`);
  }

  const trialDays = raw.trialDays;
  if (trialDays !== undefined) {
    if (typeof trialDays !== 'number' || !Number.isInteger(trialDays) || trialDays < 0 || trialDays > MAX_TRIAL_DAYS) {
      problems.push(`trialDays: must be an integer between 0 and ${MAX_TRIAL_DAYS} (got ${describeValue(trialDays)})`);
    }
  }
  return problems;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return `a value of type ${Array.isArray(value) ? 'array' : typeof value}`;
}

function checkAnchor(anchor: string): string | undefined {
  const m = ANCHOR_PATTERN.exec(anchor);
  if (m === null)
    return `must be a local date-time 'YYYY-MM-DDTHH:mm' or a date 'YYYY-MM-DD' (got ${JSON.stringify(anchor)})`;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < MIN_ANCHOR_YEAR || year > MAX_ANCHOR_YEAR) {
    return `year must be between ${MIN_ANCHOR_YEAR} and ${MAX_ANCHOR_YEAR} (got ${JSON.stringify(anchor)})`;
  }
  if (month < 1 || month > 12) return `month must be 01..12 (got ${JSON.stringify(anchor)})`;
  if (day < 1 || day > daysInMonth(year, month)) return `${JSON.stringify(anchor)} is not a real calendar date`;
  if (m[4] !== undefined && m[5] !== undefined) {
    if (Number(m[4]) > 23) return `hour must be 00..23 (got ${JSON.stringify(anchor)})`;
    if (Number(m[5]) > 59) return `minute must be 00..59 (got ${JSON.stringify(anchor)})`;
  }
  return undefined;
}

function assertValid(s: BillingSchedule): void {
  const problems = validateSchedule(s);
  if (problems.length > 0) throw new RangeError(`Invalid billing schedule: ${problems.join('; ')}`);
}

function assertPeriodIndex(name: string, k: number, min: number): void {
  if (!Number.isSafeInteger(k) || k < min) throw new RangeError(`${name}: must be an integer >= ${min} (got ${k})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Public calendar
// ---------------------------------------------------------------------------------------------------------------

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

/** UTC offset of `timeZone` at `instantMs`, in minutes east of UTC (Oslo in winter: 60). */
export function utcOffsetMinutes(timeZone: string, instantMs: number): number {
  if (!isValidTimeZone(timeZone)) throw new RangeError(`timeZone: unknown time zone ${JSON.stringify(timeZone)}`);
  return Math.round(offsetMsAt(timeZone, instantMs) / MS_PER_MINUTE);
}

// ---------------------------------------------------------------------------------------------------------------
// Local calendar arithmetic
// ---------------------------------------------------------------------------------------------------------------

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

function parseLocal(text: string): LocalDateTime {
  const m = ANCHOR_PATTERN.exec(text);
  if (m === null) throw new RangeError(`Not a local date-time: ${JSON.stringify(text)}`);
  return {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: m[4] === undefined ? 0 : Number(m[4]),
    minute: m[5] === undefined ? 0 : Number(m[5]),
  };
}

function addIntervals(base: LocalDateTime, unit: IntervalUnit, n: number): LocalDateTime {
  switch (unit) {
    case 'minute':
      return addMinutes(base, n);
    case 'day':
      return addDays(base, n);
    case 'week':
      return addDays(base, 7 * n);
    case 'month':
      return addMonths(base, n);
    case 'year':
      return addMonths(base, 12 * n);
  }
}

function addMinutes(base: LocalDateTime, minutes: number): LocalDateTime {
  const d = new Date(Date.UTC(base.year, base.month - 1, base.day, base.hour, base.minute) + minutes * MS_PER_MINUTE);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
  };
}

function addDays(base: LocalDateTime, days: number): LocalDateTime {
  // Date.UTC is used purely as a proleptic Gregorian day counter here; no time zone is involved.
  const d = new Date(Date.UTC(base.year, base.month - 1, base.day) + days * MS_PER_DAY);
  return { ...base, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Adds months to the anchor's year and month, clamping the anchor's day to the target month's length. */
function addMonths(base: LocalDateTime, months: number): LocalDateTime {
  const totalMonths = base.year * 12 + (base.month - 1) + months;
  const year = Math.floor(totalMonths / 12);
  const month = totalMonths - year * 12 + 1;
  return { ...base, year, month, day: Math.min(base.day, daysInMonth(year, month)) };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function averageIntervalMs(s: BillingSchedule): number {
  const days = { minute: 1 / 1440, day: 1, week: 7, month: 365.2425 / 12, year: 365.2425 }[s.intervalUnit];
  return days * s.intervalCount * MS_PER_DAY;
}

// ---------------------------------------------------------------------------------------------------------------
// Time zones (Intl.DateTimeFormat)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Formatters are pure functions of their input, so caching them keeps us deterministic. Intl reads zone names without
 * regard to case (`europe/london` is `Europe/London`), so the cache is keyed by the canonical name Intl resolves, and
 * both maps are bounded (least recently used out first): names come from merchants, and each formatter costs about
 * 20 KB, so a cache keyed by the spelling grew by 88 MiB over 4,096 rejected requests.
 */
const MAX_FORMATTERS = 512;
const MAX_SPELLINGS = 2048;
/** Canonical zone -> formatter. */
const formatters = new Map<string, Intl.DateTimeFormat>();
/** Spelling as given -> canonical zone (a short string each). */
const canonicalBySpelling = new Map<string, string>();

function touch<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

function newFormatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    calendar: 'gregory',
    numberingSystem: 'latn',
    hourCycle: 'h23',
    era: 'short',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  const known = canonicalBySpelling.get(timeZone);
  const cached = known === undefined ? undefined : formatters.get(known);
  if (known !== undefined && cached !== undefined) {
    touch(canonicalBySpelling, timeZone, known, MAX_SPELLINGS);
    touch(formatters, known, cached, MAX_FORMATTERS);
    return cached;
  }
  // Throws RangeError for a zone Intl does not know; the formatter of a new spelling is dropped for the canonical one.
  const made = newFormatter(timeZone);
  const canonical = made.resolvedOptions().timeZone;
  const f = formatters.get(canonical) ?? made;
  touch(canonicalBySpelling, timeZone, canonical, MAX_SPELLINGS);
  touch(formatters, canonical, f, MAX_FORMATTERS);
  return f;
}

function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The canonical name of a zone (`europe/london` -> `Europe/London`); throws RangeError for an unknown zone. */
export function canonicalTimeZone(timeZone: string): string {
  return formatterFor(timeZone).resolvedOptions().timeZone;
}

/** What the formatter cache holds (tests: it stays bounded and keyed by canonical zones). */
export function timeZoneCacheStats(): {
  formatters: number;
  maxFormatters: number;
  spellings: number;
  maxSpellings: number;
  zones: string[];
} {
  return {
    formatters: formatters.size,
    maxFormatters: MAX_FORMATTERS,
    spellings: canonicalBySpelling.size,
    maxSpellings: MAX_SPELLINGS,
    zones: [...formatters.keys()],
  };
}

/** Offset (local wall clock minus UTC) at an instant, in ms. Whole seconds: Intl does not report milliseconds. */
function offsetMsAt(timeZone: string, instantMs: number): number {
  const flooredMs = Math.floor(instantMs / MS_PER_SECOND) * MS_PER_SECOND;
  const fields: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(flooredMs)) fields[part.type] = part.value;
  const rawYear = Number(fields.year);
  const year = fields.era === 'BC' ? 1 - rawYear : rawYear;
  const hour = Number(fields.hour) % 24; // some ICU versions print midnight as 24 even with h23
  const wallMs = utcMs(
    year,
    Number(fields.month),
    Number(fields.day),
    hour,
    Number(fields.minute),
    Number(fields.second),
  );
  return wallMs - flooredMs;
}

/** Date.UTC without its 0..99 -> 1900s year mapping. */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/**
 * Local wall clock -> instant by offset correction. Only the offsets in force a day either side can apply (zones
 * change offset at most once within such a window in practice), so each is tried as a candidate: candidates that map
 * back to the same wall clock are real instants (two of them = fall-back overlap: take the earlier); none means the
 * wall-clock time falls in a spring-forward gap, and the first valid instant after it is the transition itself.
 */
function wallClockToInstant(local: LocalDateTime, timeZone: string): number {
  const wallMs = utcMs(local.year, local.month, local.day, local.hour, local.minute, 0);
  const offsetBefore = offsetMsAt(timeZone, wallMs - MS_PER_DAY);
  const offsetAfter = offsetMsAt(timeZone, wallMs + MS_PER_DAY);

  const valid: number[] = [];
  for (const offset of offsetBefore === offsetAfter ? [offsetBefore] : [offsetBefore, offsetAfter]) {
    const candidate = wallMs - offset;
    if (candidate + offsetMsAt(timeZone, candidate) === wallMs) valid.push(candidate);
  }
  if (valid.length > 0) return Math.min(...valid);

  // Fallback for an offset history the two samples did not explain: correct iteratively from the offset at wallMs.
  if (offsetBefore === offsetAfter) return iterativeCorrection(wallMs, timeZone);

  // Gap. Before the transition the old offset applies, after it the new one; the transition lies between the two
  // candidate readings. Binary search (second resolution) for the first instant using the new offset.
  let lo = Math.min(wallMs - offsetBefore, wallMs - offsetAfter); // an instant before the transition
  let hi = Math.max(wallMs - offsetBefore, wallMs - offsetAfter); // an instant at or after it
  if (offsetMsAt(timeZone, hi) !== offsetAfter) return iterativeCorrection(wallMs, timeZone);
  while (hi - lo > MS_PER_SECOND) {
    const mid = lo + Math.floor((hi - lo) / 2 / MS_PER_SECOND) * MS_PER_SECOND;
    if (mid === lo) break;
    if (offsetMsAt(timeZone, mid) === offsetAfter) hi = mid;
    else lo = mid;
  }
  return hi;
}

function iterativeCorrection(wallMs: number, timeZone: string): number {
  let instant = wallMs - offsetMsAt(timeZone, wallMs);
  for (let i = 0; i < 4; i += 1) {
    const next = wallMs - offsetMsAt(timeZone, instant);
    if (next === instant) break;
    instant = next;
  }
  return instant;
}

function formatLocalIso(instantMs: number, timeZone: string): string {
  const offsetMs = offsetMsAt(timeZone, instantMs);
  const wall = new Date(instantMs + offsetMs).toISOString().slice(0, 19);
  const offsetMinutes = Math.round(offsetMs / MS_PER_MINUTE);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${wall}${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** What a billing schedule is, and every way one can be wrong (each message names its field). */
import { ANCHOR_PATTERN, daysInMonth, MAX_ANCHOR_YEAR, MIN_ANCHOR_YEAR } from './local-time';
import { isValidTimeZone } from './time-zones';

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

export function checkAnchor(anchor: string): string | undefined {
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

export function assertValid(s: BillingSchedule): void {
  const problems = validateSchedule(s);
  if (problems.length > 0) throw new RangeError(`Invalid billing schedule: ${problems.join('; ')}`);
}

export function assertPeriodIndex(name: string, k: number, min: number): void {
  if (!Number.isSafeInteger(k) || k < min) throw new RangeError(`${name}: must be an integer >= ${min} (got ${k})`);
}

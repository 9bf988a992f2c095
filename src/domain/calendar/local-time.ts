/**
 * Wall-clock date-times without a zone, and calendar arithmetic on them. Date.UTC serves only as a proleptic
 * Gregorian day counter here: no time zone is involved (those are in ./time-zones).
 */
import type { IntervalUnit } from './schedule';

/** A wall-clock date-time, without zone. `month` is 1..12. */
export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export const MS_PER_SECOND = 1000;
export const MS_PER_MINUTE = 60 * MS_PER_SECOND;
export const MS_PER_DAY = 24 * 60 * MS_PER_MINUTE;
export const MIN_ANCHOR_YEAR = 1970;
export const MAX_ANCHOR_YEAR = 9999;
export const ANCHOR_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/;

export function parseLocal(text: string): LocalDateTime {
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

export function addIntervals(base: LocalDateTime, unit: IntervalUnit, n: number): LocalDateTime {
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

export function addDays(base: LocalDateTime, days: number): LocalDateTime {
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

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

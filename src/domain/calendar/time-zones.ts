/** Time-zone offsets from `Intl.DateTimeFormat`, a pure function of (instant, zone, tz database). */
import { type LocalDateTime, MS_PER_DAY, MS_PER_MINUTE, MS_PER_SECOND } from './local-time';

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

export function isValidTimeZone(timeZone: string): boolean {
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
export function offsetMsAt(timeZone: string, instantMs: number): number {
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
export function wallClockToInstant(local: LocalDateTime, timeZone: string): number {
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

export function formatLocalIso(instantMs: number, timeZone: string): string {
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

/** UTC offset of `timeZone` at `instantMs`, in minutes east of UTC (Oslo in winter: 60). */
export function utcOffsetMinutes(timeZone: string, instantMs: number): number {
  if (!isValidTimeZone(timeZone)) throw new RangeError(`timeZone: unknown time zone ${JSON.stringify(timeZone)}`);
  return Math.round(offsetMsAt(timeZone, instantMs) / MS_PER_MINUTE);
}

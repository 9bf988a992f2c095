/**
 * The time-zone formatter cache is keyed by the canonical zone and bounded: spellings that differ only in case share
 * one formatter, and thousands of them (each a valid zone to Intl) do not grow the process.
 */
import { canonicalTimeZone, timeZoneCacheStats, validateSchedule } from '../../../../src/domain/calendar';

/** The n-th casing of a zone name (bit i of n upper-cases the i-th letter). */
const casing = (zone: string, n: number): string =>
  [...zone].map((c, i) => (/[a-z]/i.test(c) && (n >> i) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');

it('4,096 casings of one zone keep one formatter and a bounded list of spellings', () => {
  for (let n = 0; n < 4096; n++) {
    validateSchedule({
      intervalUnit: 'day',
      intervalCount: 1,
      anchor: '2030-01-01',
      timeZone: casing('europe/london', n),
    });
  }
  const stats = timeZoneCacheStats();
  expect(stats.formatters).toBeLessThanOrEqual(stats.maxFormatters);
  expect(stats.zones).toContain('Europe/London');
  expect(stats.zones.filter((z: string) => z.toLowerCase() === 'europe/london')).toEqual(['Europe/London']);
  expect(stats.spellings).toBeLessThanOrEqual(stats.maxSpellings);
});

it('20,000 casings of a long zone name stay within the cache bounds (one formatter for the zone)', () => {
  // What the process's memory does is left to the benchmark: RSS differs by Node version and V8's GC (on Node 24 the
  // engine's own Intl allocations alone grew it past any fixed figure), so the test checks the cache's bounds.
  for (let n = 0; n < 20_000; n++) {
    validateSchedule({
      intervalUnit: 'day',
      intervalCount: 1,
      anchor: '2030-01-01',
      timeZone: casing('america/argentina/buenos_aires', n),
    });
  }
  const stats = timeZoneCacheStats();
  expect(stats.spellings).toBeLessThanOrEqual(stats.maxSpellings);
  expect(stats.formatters).toBeLessThanOrEqual(stats.maxFormatters);
  // ICU decides the canonical name: Node 20's resolves this alias to America/Buenos_Aires, Node 24's keeps it.
  const canonical = canonicalTimeZone('America/Argentina/Buenos_Aires');
  expect(stats.zones.filter((z: string) => z.toLowerCase().includes('buenos_aires'))).toEqual([canonical]);
});

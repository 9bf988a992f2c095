import {
  type BillingSchedule,
  describePeriod,
  localToInstant,
  nextDueDate,
  periodEnd,
  periodIndexAt,
  periodStart,
  trialEnd,
  utcOffsetMinutes,
  validateSchedule,
} from '../../../../src/domain/calendar';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const iso = (ms: number): string => new Date(ms).toISOString();
const utc = (text: string): number => Date.parse(text);

/** Local start (with offset) of periods 0..n-1. */
function localStarts(s: BillingSchedule, n: number): string[] {
  return Array.from({ length: n }, (_, k) => describePeriod(s, k).localStart);
}

function schedule(overrides: Partial<BillingSchedule>): BillingSchedule {
  return { intervalUnit: 'month', intervalCount: 1, anchor: '2027-01-01', timeZone: 'UTC', ...overrides };
}

describe('interval units and counts (UTC)', () => {
  it.each<[BillingSchedule['intervalUnit'], number, string, string[]]>([
    ['day', 1, '2027-01-30T10:00', ['2027-01-30T10:00', '2027-01-31T10:00', '2027-02-01T10:00', '2027-02-02T10:00']],
    ['day', 3, '2027-02-25', ['2027-02-25T00:00', '2027-02-28T00:00', '2027-03-03T00:00', '2027-03-06T00:00']],
    [
      'day',
      365,
      '2027-06-01',
      ['2027-06-01T00:00', '2028-05-31T00:00', '2029-05-31T00:00', '2030-05-31T00:00'] /* 2028 is a leap year */,
    ],
    ['week', 1, '2027-12-25T08:30', ['2027-12-25T08:30', '2028-01-01T08:30', '2028-01-08T08:30', '2028-01-15T08:30']],
    ['week', 2, '2028-02-15', ['2028-02-15T00:00', '2028-02-29T00:00', '2028-03-14T00:00', '2028-03-28T00:00']],
    ['week', 52, '2027-01-04', ['2027-01-04T00:00', '2028-01-03T00:00', '2029-01-01T00:00', '2029-12-31T00:00']],
    ['month', 1, '2027-11-15T12:00', ['2027-11-15T12:00', '2027-12-15T12:00', '2028-01-15T12:00', '2028-02-15T12:00']],
    ['month', 3, '2027-11-30', ['2027-11-30T00:00', '2028-02-29T00:00', '2028-05-30T00:00', '2028-08-30T00:00']],
    ['month', 24, '2027-05-31', ['2027-05-31T00:00', '2029-05-31T00:00', '2031-05-31T00:00', '2033-05-31T00:00']],
    ['year', 1, '2027-07-04T23:59', ['2027-07-04T23:59', '2028-07-04T23:59', '2029-07-04T23:59', '2030-07-04T23:59']],
    ['year', 5, '2027-03-01', ['2027-03-01T00:00', '2032-03-01T00:00', '2037-03-01T00:00', '2042-03-01T00:00']],
  ])('%s x %i from %s', (intervalUnit, intervalCount, anchor, expected) => {
    const s = schedule({ intervalUnit, intervalCount, anchor });
    expect([0, 1, 2, 3].map((k) => iso(periodStart(s, k)))).toEqual(expected.map((t) => `${t}:00.000Z`));
  });

  it('periodEnd(k) is periodStart(k + 1) and periods tile without gaps', () => {
    const s = schedule({
      intervalUnit: 'month',
      intervalCount: 1,
      anchor: '2027-01-31T09:00',
      timeZone: 'Europe/Oslo',
    });
    for (let k = 0; k < 40; k += 1) {
      expect(periodEnd(s, k)).toBe(periodStart(s, k + 1));
      expect(periodEnd(s, k)).toBeGreaterThan(periodStart(s, k));
    }
  });

  it('a date-only anchor means local midnight', () => {
    const s = schedule({ anchor: '2027-01-15', timeZone: 'Europe/Oslo' });
    expect(iso(periodStart(s, 0))).toBe('2027-01-14T23:00:00.000Z');
    expect(describePeriod(s, 0).localStart).toBe('2027-01-15T00:00:00+01:00');
  });
});

describe('month-end ladder (computed from the anchor, never from the previous period)', () => {
  const ladder = (year: number, day: number): string[] => {
    const s = schedule({ anchor: `${year}-01-${day}T10:00` });
    return Array.from({ length: 13 }, (_, k) => iso(periodStart(s, k)).slice(0, 10));
  };
  const feb = (year: number): number => (year % 4 === 0 ? 29 : 28);
  const expected = (year: number, day: number): string[] => {
    const lengths = [31, feb(year), 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    const dates = lengths.map((len, i) => `${year}-${String(i + 1).padStart(2, '0')}-${Math.min(day, len)}`);
    return [...dates, `${year + 1}-01-${day}`];
  };

  it.each([2027, 2028])('Jan 31 in %i', (year) => {
    expect(ladder(year, 31)).toEqual(expected(year, 31));
  });
  it.each([2027, 2028])('Jan 30 in %i', (year) => {
    expect(ladder(year, 30)).toEqual(expected(year, 30));
  });
  it.each([2027, 2028])('Jan 29 in %i', (year) => {
    expect(ladder(year, 29)).toEqual(expected(year, 29));
  });

  it('spells out the Jan 31 ladder of a common and a leap year', () => {
    expect(ladder(2027, 31)).toEqual([
      '2027-01-31', '2027-02-28', '2027-03-31', '2027-04-30', '2027-05-31', '2027-06-30', '2027-07-31',
      '2027-08-31', '2027-09-30', '2027-10-31', '2027-11-30', '2027-12-31', '2028-01-31',
    ]); // prettier-ignore
    expect(ladder(2028, 31).slice(0, 4)).toEqual(['2028-01-31', '2028-02-29', '2028-03-31', '2028-04-30']);
    expect(ladder(2027, 29).slice(0, 3)).toEqual(['2027-01-29', '2027-02-28', '2027-03-29']);
    expect(ladder(2028, 29).slice(0, 3)).toEqual(['2028-01-29', '2028-02-29', '2028-03-29']);
  });

  it('keeps the local wall-clock time on every rung in a DST zone', () => {
    const s = schedule({ anchor: '2027-01-31T09:00', timeZone: 'Europe/Oslo' });
    expect(localStarts(s, 13)).toEqual([
      '2027-01-31T09:00:00+01:00', '2027-02-28T09:00:00+01:00', '2027-03-31T09:00:00+02:00',
      '2027-04-30T09:00:00+02:00', '2027-05-31T09:00:00+02:00', '2027-06-30T09:00:00+02:00',
      '2027-07-31T09:00:00+02:00', '2027-08-31T09:00:00+02:00', '2027-09-30T09:00:00+02:00',
      '2027-10-31T09:00:00+01:00', '2027-11-30T09:00:00+01:00', '2027-12-31T09:00:00+01:00',
      '2028-01-31T09:00:00+01:00',
    ]); // prettier-ignore
  });

  it('quarterly from Nov 30 clamps to Feb 29 in a leap year and returns to the 30th', () => {
    const s = schedule({ intervalCount: 3, anchor: '2027-11-30' });
    expect([0, 1, 2, 3, 4].map((k) => iso(periodStart(s, k)).slice(0, 10))).toEqual([
      '2027-11-30',
      '2028-02-29',
      '2028-05-30',
      '2028-08-30',
      '2028-11-30',
    ]);
  });
});

describe('yearly from Feb 29', () => {
  it('bills Feb 28 in common years and Feb 29 in leap years, over 8 years', () => {
    const s = schedule({ intervalUnit: 'year', anchor: '2028-02-29T12:00', timeZone: 'America/New_York' });
    expect(localStarts(s, 9)).toEqual([
      '2028-02-29T12:00:00-05:00',
      '2029-02-28T12:00:00-05:00',
      '2030-02-28T12:00:00-05:00',
      '2031-02-28T12:00:00-05:00',
      '2032-02-29T12:00:00-05:00',
      '2033-02-28T12:00:00-05:00',
      '2034-02-28T12:00:00-05:00',
      '2035-02-28T12:00:00-05:00',
      '2036-02-29T12:00:00-05:00',
    ]);
  });

  it('every 2 years from Feb 29 2028 lands on leap years only every other time', () => {
    const s = schedule({ intervalUnit: 'year', intervalCount: 2, anchor: '2028-02-29' });
    expect([0, 1, 2, 3].map((k) => iso(periodStart(s, k)).slice(0, 10))).toEqual([
      '2028-02-29',
      '2030-02-28',
      '2032-02-29',
      '2034-02-28',
    ]);
  });

  it('monthly from Feb 29 stays on the 29th afterwards (the anchor day, not the clamped one)', () => {
    const s = schedule({ anchor: '2028-02-29' });
    expect([0, 1, 12].map((k) => iso(periodStart(s, k)).slice(0, 10))).toEqual([
      '2028-02-29',
      '2028-03-29',
      '2029-02-28',
    ]);
  });
});

describe('DST: local wall-clock time is kept', () => {
  it('Europe/Oslo weekly 09:00 bills at 08:00Z in winter and 07:00Z in summer', () => {
    // 2027: summer time from Sun Mar 28 02:00 to Sun Oct 31 03:00 local.
    const s = schedule({ intervalUnit: 'week', anchor: '2027-03-21T09:00', timeZone: 'Europe/Oslo' });
    expect([0, 1, 2].map((k) => iso(periodStart(s, k)))).toEqual([
      '2027-03-21T08:00:00.000Z',
      '2027-03-28T07:00:00.000Z',
      '2027-04-04T07:00:00.000Z',
    ]);
    const autumn = schedule({ intervalUnit: 'week', anchor: '2027-10-24T09:00', timeZone: 'Europe/Oslo' });
    expect([0, 1].map((k) => iso(periodStart(autumn, k)))).toEqual([
      '2027-10-24T07:00:00.000Z',
      '2027-10-31T08:00:00.000Z',
    ]);
    expect(periodEnd(s, 0) - periodStart(s, 0)).toBe(7 * DAY - HOUR);
    expect(periodEnd(autumn, 0) - periodStart(autumn, 0)).toBe(7 * DAY + HOUR);
  });

  it('Europe/Oslo daily periods last 23 h and 25 h on transition days', () => {
    const s = schedule({ intervalUnit: 'day', anchor: '2027-03-26T12:00', timeZone: 'Europe/Oslo' });
    const lengths = [0, 1, 2, 3].map((k) => (periodEnd(s, k) - periodStart(s, k)) / HOUR);
    expect(lengths).toEqual([24, 23, 24, 24]);
    const f = schedule({ intervalUnit: 'day', anchor: '2027-10-30T12:00', timeZone: 'Europe/Oslo' });
    expect([0, 1, 2].map((k) => (periodEnd(f, k) - periodStart(f, k)) / HOUR)).toEqual([25, 24, 24]);
  });

  it('Europe/Oslo 02:30 on the spring-forward day moves to 03:00 CEST (01:00Z)', () => {
    const s = schedule({ intervalUnit: 'day', anchor: '2027-03-27T02:30', timeZone: 'Europe/Oslo' });
    expect(localStarts(s, 3)).toEqual([
      '2027-03-27T02:30:00+01:00',
      '2027-03-28T03:00:00+02:00',
      '2027-03-29T02:30:00+02:00',
    ]);
    expect(iso(periodStart(s, 1))).toBe('2027-03-28T01:00:00.000Z');
  });

  it('America/New_York 02:30 in the spring-forward gap moves to the first valid instant, 03:00 EDT', () => {
    // 2027-03-14: clocks jump from 02:00 EST to 03:00 EDT (07:00Z).
    const s = schedule({ intervalUnit: 'day', anchor: '2027-03-13T02:30', timeZone: 'America/New_York' });
    expect([0, 1, 2].map((k) => iso(periodStart(s, k)))).toEqual([
      '2027-03-13T07:30:00.000Z',
      '2027-03-14T07:00:00.000Z',
      '2027-03-15T06:30:00.000Z',
    ]);
    const weekly = schedule({ intervalUnit: 'week', anchor: '2027-03-07T02:30', timeZone: 'America/New_York' });
    expect(localStarts(weekly, 3)).toEqual([
      '2027-03-07T02:30:00-05:00',
      '2027-03-14T03:00:00-04:00',
      '2027-03-21T02:30:00-04:00',
    ]);
  });

  it('America/New_York 01:30 on the fall-back day (ambiguous) takes the earlier instant, EDT', () => {
    // 2027-11-07: 01:00-01:59 happens twice, first at -04:00 then at -05:00.
    const s = schedule({ intervalUnit: 'day', anchor: '2027-11-06T01:30', timeZone: 'America/New_York' });
    expect([0, 1, 2].map((k) => iso(periodStart(s, k)))).toEqual([
      '2027-11-06T05:30:00.000Z',
      '2027-11-07T05:30:00.000Z',
      '2027-11-08T06:30:00.000Z',
    ]);
    expect((periodEnd(s, 1) - periodStart(s, 1)) / HOUR).toBe(25);
    expect(describePeriod(s, 1).localStart).toBe('2027-11-07T01:30:00-04:00');
  });

  it('America/New_York monthly from the 14th at 02:30 is only shifted in the DST month', () => {
    const s = schedule({ anchor: '2027-01-14T02:30', timeZone: 'America/New_York' });
    expect(localStarts(s, 4)).toEqual([
      '2027-01-14T02:30:00-05:00',
      '2027-02-14T02:30:00-05:00',
      '2027-03-14T03:00:00-04:00',
      '2027-04-14T02:30:00-04:00',
    ]);
  });

  it('Australia/Lord_Howe: 30-minute DST, gap and overlap', () => {
    // Standard +10:30, summer +11:00. 2027-10-03 02:00 -> 02:30; 2027-04-04 02:00 -> 01:30.
    const spring = schedule({ intervalUnit: 'week', anchor: '2027-09-26T02:15', timeZone: 'Australia/Lord_Howe' });
    expect(localStarts(spring, 3)).toEqual([
      '2027-09-26T02:15:00+10:30',
      '2027-10-03T02:30:00+11:00',
      '2027-10-10T02:15:00+11:00',
    ]);
    expect(iso(periodStart(spring, 1))).toBe('2027-10-02T15:30:00.000Z');
    expect((periodEnd(spring, 0) - periodStart(spring, 0)) / HOUR).toBe(7 * 24 - 0.25);

    const autumn = schedule({ intervalUnit: 'day', anchor: '2027-04-03T01:45', timeZone: 'Australia/Lord_Howe' });
    expect([0, 1, 2].map((k) => iso(periodStart(autumn, k)))).toEqual([
      '2027-04-02T14:45:00.000Z',
      '2027-04-03T14:45:00.000Z', // 01:45 +11:00, the earlier of the two 01:45s
      '2027-04-04T15:15:00.000Z',
    ]);
    expect((periodEnd(autumn, 1) - periodStart(autumn, 1)) / HOUR).toBe(24.5);
  });

  it('Asia/Kolkata (no DST, +05:30): daily periods are exactly 24 h all year', () => {
    const s = schedule({ intervalUnit: 'day', anchor: '2027-01-01T09:00', timeZone: 'Asia/Kolkata' });
    expect(iso(periodStart(s, 0))).toBe('2027-01-01T03:30:00.000Z');
    for (let k = 0; k < 366; k += 1) expect(periodStart(s, k)).toBe(periodStart(s, 0) + k * DAY);
  });

  it('UTC: weekly periods are exactly 7 days for years', () => {
    const s = schedule({ intervalUnit: 'week', anchor: '2027-01-03T00:00', timeZone: 'UTC' });
    for (let k = 0; k < 520; k += 13) expect(periodStart(s, k)).toBe(utc('2027-01-03T00:00:00Z') + k * 7 * DAY);
  });

  it('the same anchor in different zones is a different instant', () => {
    const at = (timeZone: string): string => iso(periodStart(schedule({ anchor: '2027-07-01T09:00', timeZone }), 0));
    expect(at('UTC')).toBe('2027-07-01T09:00:00.000Z');
    expect(at('Europe/Oslo')).toBe('2027-07-01T07:00:00.000Z');
    expect(at('America/New_York')).toBe('2027-07-01T13:00:00.000Z');
    expect(at('Asia/Kolkata')).toBe('2027-07-01T03:30:00.000Z');
    expect(at('Australia/Lord_Howe')).toBe('2027-06-30T22:30:00.000Z');
  });
});

describe('localToInstant and utcOffsetMinutes', () => {
  it('resolves normal, gap and overlap wall-clock times', () => {
    expect(iso(localToInstant('2027-06-01T12:00', 'Europe/Oslo'))).toBe('2027-06-01T10:00:00.000Z');
    expect(iso(localToInstant('2027-03-14T02:00', 'America/New_York'))).toBe('2027-03-14T07:00:00.000Z');
    expect(iso(localToInstant('2027-03-14T02:59', 'America/New_York'))).toBe('2027-03-14T07:00:00.000Z');
    expect(iso(localToInstant('2027-03-14T03:00', 'America/New_York'))).toBe('2027-03-14T07:00:00.000Z');
    expect(iso(localToInstant('2027-03-14T01:59', 'America/New_York'))).toBe('2027-03-14T06:59:00.000Z');
    expect(iso(localToInstant('2027-11-07T01:00', 'America/New_York'))).toBe('2027-11-07T05:00:00.000Z');
    expect(iso(localToInstant('2027-11-07T02:00', 'America/New_York'))).toBe('2027-11-07T07:00:00.000Z');
  });

  it('handles a skipped calendar day (Samoa, 2011-12-30 never happened)', () => {
    expect(iso(localToInstant('2011-12-30T12:00', 'Pacific/Apia'))).toBe('2011-12-30T10:00:00.000Z');
    expect(iso(localToInstant('2011-12-31T12:00', 'Pacific/Apia'))).toBe('2011-12-30T22:00:00.000Z');
  });

  it('reports offsets in minutes east of UTC', () => {
    expect(utcOffsetMinutes('Europe/Oslo', utc('2027-01-15T00:00:00Z'))).toBe(60);
    expect(utcOffsetMinutes('Europe/Oslo', utc('2027-07-15T00:00:00Z'))).toBe(120);
    expect(utcOffsetMinutes('America/New_York', utc('2027-01-15T00:00:00Z'))).toBe(-300);
    expect(utcOffsetMinutes('Asia/Kolkata', utc('2027-01-15T00:00:00Z'))).toBe(330);
    expect(utcOffsetMinutes('Australia/Lord_Howe', utc('2027-01-15T00:00:00Z'))).toBe(660);
    expect(() => utcOffsetMinutes('Nowhere/Special', 0)).toThrow(/timeZone/);
  });
});

describe('trials', () => {
  it('without a trial, trialEnd is null and period 0 starts at the anchor', () => {
    const s = schedule({ anchor: '2027-01-10T09:00', timeZone: 'Europe/Oslo' });
    expect(trialEnd(s)).toBeNull();
    expect(trialEnd({ ...s, trialDays: 0 })).toBeNull();
    expect(periodStart({ ...s, trialDays: 0 }, 0)).toBe(periodStart(s, 0));
  });

  it('period 0 starts when the trial ends, and later periods count from the trial end', () => {
    const s = schedule({ anchor: '2027-01-17T09:00', timeZone: 'Europe/Oslo', trialDays: 14 });
    expect(trialEnd(s)).toBe(periodStart(s, 0));
    expect(describePeriod(s, 0).localStart).toBe('2027-01-31T09:00:00+01:00');
    // Trial end Jan 31 becomes the billing anchor: the month-end ladder follows.
    expect(localStarts(s, 4)).toEqual([
      '2027-01-31T09:00:00+01:00',
      '2027-02-28T09:00:00+01:00',
      '2027-03-31T09:00:00+02:00',
      '2027-04-30T09:00:00+02:00',
    ]);
  });

  it('a trial counts local days and keeps the wall-clock time across DST', () => {
    const s = schedule({ intervalUnit: 'week', anchor: '2027-03-20T09:00', timeZone: 'Europe/Oslo', trialDays: 30 });
    expect(describePeriod(s, 0).localStart).toBe('2027-04-19T09:00:00+02:00');
    expect(trialEnd(s)! - localToInstant('2027-03-20T09:00', 'Europe/Oslo')).toBe(30 * DAY - HOUR);
  });

  it('instants during the trial belong to no period', () => {
    const s = schedule({ anchor: '2027-01-01', trialDays: 30 });
    expect(periodIndexAt(s, utc('2027-01-01T00:00:00Z'))).toBe(-1);
    expect(periodIndexAt(s, utc('2027-01-30T23:59:59.999Z'))).toBe(-1);
    expect(periodIndexAt(s, utc('2027-01-31T00:00:00Z'))).toBe(0);
    expect(nextDueDate(s, -1)).toBe(utc('2027-01-31T00:00:00Z'));
  });

  it('accepts the longest trial (730 days, counted in days, not years)', () => {
    const s = schedule({ anchor: '2027-01-01', trialDays: 730 });
    expect(iso(trialEnd(s)!)).toBe('2028-12-31T00:00:00.000Z'); // 2028 has 366 days
  });
});

describe('periodIndexAt', () => {
  const cases: [string, BillingSchedule, number, number][] = [
    ['daily Oslo', schedule({ intervalUnit: 'day', anchor: '2027-03-01T02:30', timeZone: 'Europe/Oslo' }), 800, 1],
    ['every 3 days NY', schedule({ intervalUnit: 'day', intervalCount: 3, anchor: '2027-01-01T01:30', timeZone: 'America/New_York' }), 400, 1],
    ['weekly Lord Howe', schedule({ intervalUnit: 'week', anchor: '2027-09-26T02:15', timeZone: 'Australia/Lord_Howe' }), 300, 1],
    ['monthly Jan 31 Oslo', schedule({ anchor: '2027-01-31T09:00', timeZone: 'Europe/Oslo' }), 240, 1],
    ['every 5 months Kolkata', schedule({ intervalCount: 5, anchor: '2028-02-29T23:30', timeZone: 'Asia/Kolkata' }), 100, 1],
    ['yearly Feb 29 UTC', schedule({ intervalUnit: 'year', anchor: '2028-02-29' }), 60, 1],
    ['daily for 40 years with a trial', schedule({ intervalUnit: 'day', anchor: '2027-01-01T00:30', timeZone: 'America/New_York', trialDays: 45 }), 14_600, 37],
  ]; // prettier-ignore

  it.each(cases)('%s: round-trips with periodStart', (_name, s, periods, step) => {
    for (let k = 0; k < periods; k += step) {
      const start = periodStart(s, k);
      const end = periodEnd(s, k);
      expect(periodIndexAt(s, start)).toBe(k);
      expect(periodIndexAt(s, start - 1)).toBe(k - 1);
      expect(periodIndexAt(s, Math.floor((start + end) / 2))).toBe(k);
      expect(periodIndexAt(s, end - 1)).toBe(k);
    }
  });

  it('is -1 before the anchor and rejects non-finite instants', () => {
    const s = schedule({ anchor: '2027-06-01' });
    expect(periodIndexAt(s, 0)).toBe(-1);
    expect(periodIndexAt(s, utc('2027-05-31T23:59:59.999Z'))).toBe(-1);
    expect(() => periodIndexAt(s, Number.NaN)).toThrow(RangeError);
  });

  it('finds a period decades into a daily schedule directly', () => {
    const s = schedule({ intervalUnit: 'day', anchor: '2000-01-01T09:00', timeZone: 'Europe/Oslo' });
    expect(periodIndexAt(s, utc('2060-06-01T12:00:00Z'))).toBe(
      Math.round((utc('2060-06-01T00:00:00Z') - utc('2000-01-01T00:00:00Z')) / DAY),
    );
  });
});

describe('nextDueDate and describePeriod', () => {
  const s = schedule({ anchor: '2027-01-31T09:00', timeZone: 'Europe/Oslo' });

  it('nextDueDate(k) is the start of period k + 1; -1 gives the first due date', () => {
    expect(nextDueDate(s, -1)).toBe(periodStart(s, 0));
    expect(iso(nextDueDate(s, 0))).toBe('2027-02-28T08:00:00.000Z');
    expect(iso(nextDueDate(s, 1))).toBe('2027-03-31T07:00:00.000Z');
    expect(() => nextDueDate(s, -2)).toThrow(/afterPeriodIndex/);
  });

  it('describes a period with UTC and local ISO strings', () => {
    expect(describePeriod(s, 1)).toEqual({
      index: 1,
      start: '2027-02-28T08:00:00.000Z',
      end: '2027-03-31T07:00:00.000Z',
      localStart: '2027-02-28T09:00:00+01:00',
      localEnd: '2027-03-31T09:00:00+02:00',
    });
    const ny = describePeriod(schedule({ anchor: '2027-01-05T17:45', timeZone: 'America/New_York' }), 0);
    expect(ny.localStart).toBe('2027-01-05T17:45:00-05:00');
    expect(ny.start).toBe('2027-01-05T22:45:00.000Z');
  });

  it('rejects bad period indexes', () => {
    expect(() => periodStart(s, -1)).toThrow(/periodIndex/);
    expect(() => periodStart(s, 1.5)).toThrow(RangeError);
    expect(() => periodEnd(s, Number.NaN)).toThrow(RangeError);
    expect(() => describePeriod(s, -1)).toThrow(RangeError);
  });
});

describe('validateSchedule', () => {
  const valid = schedule({
    intervalUnit: 'week',
    intervalCount: 2,
    anchor: '2027-01-31T09:00',
    timeZone: 'Europe/Oslo',
  });

  it('accepts valid schedules', () => {
    expect(validateSchedule(valid)).toEqual([]);
    expect(validateSchedule({ ...valid, anchor: '2028-02-29', trialDays: 0 })).toEqual([]);
    expect(validateSchedule({ ...valid, intervalUnit: 'day', intervalCount: 365, trialDays: 730 })).toEqual([]);
    expect(validateSchedule({ ...valid, timeZone: 'UTC' })).toEqual([]);
  });

  const problemsFor = (patch: Record<string, unknown>): string[] => validateSchedule({ ...valid, ...patch });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['unknown unit', { intervalUnit: 'fortnight' }, /^intervalUnit: .*"fortnight"/],
    ['missing unit', { intervalUnit: undefined }, /^intervalUnit: /],
    ['fractional count', { intervalCount: 1.5 }, /^intervalCount: must be an integer/],
    ['zero count', { intervalCount: 0 }, /^intervalCount: must be between 1 and 52/],
    ['count as string', { intervalCount: '2' }, /^intervalCount: must be an integer/],
    ['366 days', { intervalUnit: 'day', intervalCount: 366 }, /^intervalCount: must be between 1 and 365/],
    ['53 weeks', { intervalUnit: 'week', intervalCount: 53 }, /^intervalCount: must be between 1 and 52/],
    ['25 months', { intervalUnit: 'month', intervalCount: 25 }, /^intervalCount: must be between 1 and 24/],
    ['6 years', { intervalUnit: 'year', intervalCount: 6 }, /^intervalCount: must be between 1 and 5/],
    ['anchor with seconds', { anchor: '2027-01-31T09:00:00' }, /^anchor: must be a local date-time/],
    ['anchor with offset', { anchor: '2027-01-31T09:00Z' }, /^anchor: must be a local date-time/],
    ['unpadded anchor', { anchor: '2027-1-5' }, /^anchor: must be a local date-time/],
    ['Feb 29 in a common year', { anchor: '2027-02-29' }, /^anchor: "2027-02-29" is not a real calendar date/],
    ['April 31', { anchor: '2027-04-31T10:00' }, /^anchor: .*not a real calendar date/],
    ['month 13', { anchor: '2027-13-01' }, /^anchor: month must be 01\.\.12/],
    ['hour 24', { anchor: '2027-04-30T24:00' }, /^anchor: hour must be 00\.\.23/],
    ['minute 60', { anchor: '2027-04-30T10:60' }, /^anchor: minute must be 00\.\.59/],
    ['year 1900', { anchor: '1900-01-01' }, /^anchor: year must be between 1970 and 9999/],
    ['anchor as number', { anchor: 20270131 }, /^anchor: must be a string/],
    ['unknown zone', { timeZone: 'Mars/Olympus_Mons' }, /^timeZone: unknown time zone "Mars\/Olympus_Mons"/],
    ['empty zone', { timeZone: '' }, /^timeZone: must be an IANA time-zone name/],
    ['negative trial', { trialDays: -1 }, /^trialDays: must be an integer between 0 and 730/],
    ['too long trial', { trialDays: 731 }, /^trialDays: must be an integer between 0 and 730 \(got 731\)/],
    ['fractional trial', { trialDays: 2.5 }, /^trialDays: /],
  ])('%s', (_name, patch, message) => {
    const problems = problemsFor(patch);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('reports every problem at once, each naming its field', () => {
    const problems = validateSchedule({
      intervalUnit: 'hour',
      intervalCount: -1,
      anchor: 'tomorrow',
      timeZone: 'Atlantis',
      trialDays: 1000,
    } as unknown as BillingSchedule);
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'intervalUnit',
      'intervalCount',
      'anchor',
      'timeZone',
      'trialDays',
    ]);
  });

  it('rejects a non-object', () => {
    expect(validateSchedule(null as unknown as BillingSchedule)).toEqual(['schedule: must be an object']);
  });

  it('calendar functions throw a RangeError listing the problems for an invalid schedule', () => {
    const bad = { ...valid, anchor: '2027-02-30' };
    expect(() => periodStart(bad, 0)).toThrow(
      /Invalid billing schedule: anchor: "2027-02-30" is not a real calendar date/,
    );
    expect(() => periodIndexAt(bad, 0)).toThrow(RangeError);
    expect(() => trialEnd({ ...valid, timeZone: 'Nope/Nope' })).toThrow(/timeZone/);
    expect(() => localToInstant('2027-02-30T10:00', 'UTC')).toThrow(/localDateTime/);
  });
});

describe("development-only 'minute' unit", () => {
  it('counts minutes from the anchor, across midnight', () => {
    const s = { intervalUnit: 'minute' as const, intervalCount: 2, anchor: '2027-01-01T23:58', timeZone: 'UTC' };
    expect(validateSchedule(s)).toEqual([]);
    expect(new Date(periodStart(s, 0)).toISOString()).toBe('2027-01-01T23:58:00.000Z');
    expect(new Date(periodStart(s, 2)).toISOString()).toBe('2027-01-02T00:02:00.000Z');
    expect(validateSchedule({ ...s, intervalCount: 1441 })[0]).toMatch(/^intervalCount: must be between 1 and 1440/);
  });
});

/**
 * Creation with a past anchor (issue 20, 14): a subscription bills from the period containing its creation, so one whose
 * `maxPeriods` all ended before it existed would bill nothing. The rule, by its meaning: refused exactly when the last
 * allowed period (index maxPeriods - 1) ended, i.e. period maxPeriods started, at or before now.
 */
import fc from 'fast-check';
import { periodStart, type BillingSchedule } from '../../../../src/domain/calendar';
import { initialSubscriptionState, nothingToBillAtCreation } from '../../../../src/domain/subscription';

const DAY = 24 * 3600_000;
const plan = { planId: 'p', currency: 'EUR', lineItems: [{ name: 'x', priceMinor: 100, quantity: 1 }] };
const NOW = Date.UTC(2027, 5, 15, 12, 0);

it('refuses when every period ended before now; accepts the period containing now, future anchors and no end', () => {
  const monthly: BillingSchedule = {
    intervalUnit: 'month',
    intervalCount: 1,
    anchor: '2027-03-15T12:00',
    timeZone: 'UTC',
  };
  // Periods 0 (Mar), 1 (Apr), 2 (May) ended; period 3 (Jun 15 12:00 onwards) contains now.
  expect(nothingToBillAtCreation(monthly, 3, NOW)).toMatch(/all 3 period\(s\) from anchor 2027-03-15T12:00/);
  expect(nothingToBillAtCreation(monthly, 4, NOW)).toBeUndefined();
  expect(nothingToBillAtCreation(monthly, undefined, NOW)).toBeUndefined();
  expect(nothingToBillAtCreation({ ...monthly, anchor: '2027-07-01T00:00' }, 1, NOW)).toBeUndefined();
});

it('is refused exactly when period maxPeriods starts at or before now, whatever the zone and unit', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<BillingSchedule['intervalUnit']>('day', 'week', 'month', 'year'),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: -800, max: 30 }),
      fc.constantFrom('UTC', 'Europe/Oslo', 'America/New_York', 'Australia/Lord_Howe'),
      fc.integer({ min: 1, max: 40 }),
      (intervalUnit, intervalCount, anchorDays, timeZone, maxPeriods) => {
        const anchor = new Date(NOW + anchorDays * DAY).toISOString().slice(0, 16);
        const schedule: BillingSchedule = { intervalUnit, intervalCount, anchor, timeZone };
        const refused = nothingToBillAtCreation(schedule, maxPeriods, NOW) !== undefined;
        expect(refused).toBe(periodStart(schedule, maxPeriods) <= NOW);
        // And what is accepted has a period left to bill: the first one billed is within maxPeriods.
        if (!refused) {
          const s = initialSubscriptionState({ recurringToken: 't', plan, schedule, now: NOW });
          expect(s.nextPeriodIndex).toBeLessThan(maxPeriods);
        }
      },
    ),
    { numRuns: 300 },
  );
});

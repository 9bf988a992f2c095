import { CreateSubscriptionSchema } from '@temporal-billing/client/schemas';
import { DEMO_MINUTE_PERIODS, demoSubscriptions } from '../../src/dev/embedded-stack';

const now = new Date('2026-11-30T10:41:27Z');

describe('npm start demo subscriptions', () => {
  it.each([true, false])('are valid API input (minute pace: %s, with settlement)', (minutePace) => {
    for (const { input } of demoSubscriptions(now, { withSettlement: true, minutePace })) {
      const parsed = CreateSubscriptionSchema.safeParse(input);
      expect({ id: input.subscriptionId, issues: parsed.error?.issues ?? [] }).toEqual({
        id: input.subscriptionId,
        issues: [],
      });
    }
  });

  it('bill every few minutes for a bounded number of periods against the sandbox, daily otherwise', () => {
    const fast = demoSubscriptions(now, { withSettlement: false, minutePace: true });
    expect(fast.map((d) => d.input.recurringToken)).toEqual(
      expect.arrayContaining([
        'tok_success_demo',
        'tok_pending_paid_demo',
        'tok_soft3_demo',
        'tok_pending_silent_demo',
      ]),
    );
    for (const { input } of fast) {
      expect(input.schedule).toMatchObject({ intervalUnit: 'minute', anchor: '2026-11-30T10:41', timeZone: 'UTC' });
      expect(input.maxPeriods).toBe(DEMO_MINUTE_PERIODS);
      expect(input.dunning!.softRetryOffsetsHours!.every((h) => h * 60 <= 3)).toBe(true); // retries within minutes
    }
    for (const { input } of demoSubscriptions(now, { withSettlement: false, minutePace: false })) {
      expect(input.schedule.intervalUnit).toBe('day');
      expect(input.maxPeriods).toBeUndefined();
      expect(input.dunning).toBeUndefined();
    }
  });
});

/**
 * The dunning policy (src/domain/dunning.ts): when a declined charge is tried again, when the cycle waits for a new
 * card, and when it gives up; the rolling per-token cap; the pending re-read intervals; and the validation of a
 * merchant's policy override. Defaults per billing-policy.md: up to 8 soft attempts within 14 days, at least a few
 * hours apart; at most 10 attempts per token in any rolling 30 days; 7 days of grace after a hard decline.
 */
import fc from 'fast-check';
import {
  DEFAULT_DUNNING_POLICY,
  decideAfterDecline,
  pendingPollDelayMs,
  respectTokenCap,
  validateDunningPolicy,
  type AttemptRecord,
} from '../../../src/domain/dunning';
import type { DeclineClass } from '../../../src/domain/declines';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 8, 1, 10, 0);
const P = DEFAULT_DUNNING_POLICY;

const declined = (atHours: number, code = 'insufficient_funds', declineClass: DeclineClass = 'soft', token = 'tok') =>
  ({ at: T0 + atHours * HOUR, token, outcome: 'declined', code, declineClass }) satisfies AttemptRecord;

function decide(attempts: AttemptRecord[], extra: Partial<Parameters<typeof decideAfterDecline>[0]> = {}) {
  const last = attempts[attempts.length - 1];
  return decideAfterDecline({
    policy: P,
    attempts,
    now: last ? last.at : T0,
    merchantConfigRetries: 0,
    ...extra,
  });
}

describe('the default policy is billing-policy.md', () => {
  it('says what the policy says', () => {
    expect(P).toEqual({
      softRetryOffsetsHours: [24, 48, 72, 120, 168, 240, 336],
      maxAttemptsPerToken30Days: 10,
      doNotHonourMaxAttempts: 4,
      unknownCodeMaxAttempts: 3,
      minHoursBetweenAttempts: 4,
      pendingPollIntervalsHours: [1, 24],
      pendingAlertAfterHours: 72,
      hardDeclineGraceHours: 168,
      merchantConfigRetryHours: 6,
      merchantConfigMaxRetries: 28,
    });
  });

  it('is frozen, valid, and keeps 8 soft attempts within 14 days', () => {
    expect(Object.isFrozen(P)).toBe(true);
    expect(validateDunningPolicy(P)).toEqual([]);
    expect(P.softRetryOffsetsHours.length + 1).toBe(8);
    expect(Math.max(...P.softRetryOffsetsHours)).toBeLessThanOrEqual(14 * 24);
  });
});

describe('validateDunningPolicy names the field of every problem', () => {
  const problems = (override: Record<string, unknown>) => validateDunningPolicy({ ...P, ...override });

  it.each([
    [{ maxAttemptsPerToken30Days: 0 }, 'maxAttemptsPerToken30Days: must be an integer >= 1'],
    [{ maxAttemptsPerToken30Days: 2.5 }, 'maxAttemptsPerToken30Days: must be an integer >= 1'],
    [{ maxAttemptsPerToken30Days: '10' }, 'maxAttemptsPerToken30Days: must be an integer >= 1'],
    [{ doNotHonourMaxAttempts: 0 }, 'doNotHonourMaxAttempts: must be an integer >= 1'],
    [{ unknownCodeMaxAttempts: -1 }, 'unknownCodeMaxAttempts: must be an integer >= 1'],
    [{ merchantConfigMaxRetries: -1 }, 'merchantConfigMaxRetries: must be an integer >= 0'],
    [{ minHoursBetweenAttempts: -1 }, 'minHoursBetweenAttempts: must be a number >= 0'],
    [{ minHoursBetweenAttempts: Number.NaN }, 'minHoursBetweenAttempts: must be a number >= 0'],
    [{ minHoursBetweenAttempts: '4' }, 'minHoursBetweenAttempts: must be a number >= 0'],
    [{ pendingAlertAfterHours: 0 }, 'pendingAlertAfterHours: must be a number > 0'],
    [{ pendingAlertAfterHours: Number.POSITIVE_INFINITY }, 'pendingAlertAfterHours: must be a number > 0'],
    [{ hardDeclineGraceHours: -5 }, 'hardDeclineGraceHours: must be a number > 0'],
    [{ hardDeclineGraceHours: '168' }, 'hardDeclineGraceHours: must be a number > 0'],
    [{ merchantConfigRetryHours: 0 }, 'merchantConfigRetryHours: must be a number > 0'],
    [{ softRetryOffsetsHours: 'daily' }, 'softRetryOffsetsHours: must be a list of at most 30 offsets'],
    [
      { softRetryOffsetsHours: Array.from({ length: 31 }, (_, i) => i + 1) },
      'softRetryOffsetsHours: must be a list of at most 30 offsets',
    ],
    [{ softRetryOffsetsHours: [24, Number.POSITIVE_INFINITY] }, 'softRetryOffsetsHours.1: must be > 0'],
    [{ softRetryOffsetsHours: ['24'] }, 'softRetryOffsetsHours.0: must be > 0'],
    [{ softRetryOffsetsHours: [48, 24] }, 'softRetryOffsetsHours.1: must be greater than the previous offset'],
    [{ softRetryOffsetsHours: [24, 24] }, 'softRetryOffsetsHours.1: must be greater than the previous offset'],
    [{ pendingPollIntervalsHours: [] }, 'pendingPollIntervalsHours: must list at least one interval'],
    [{ pendingPollIntervalsHours: 1 }, 'pendingPollIntervalsHours: must list at least one interval'],
    [{ pendingPollIntervalsHours: [1, -1] }, 'pendingPollIntervalsHours.1: must be > 0'],
    [{ pendingPollIntervalsHours: [Number.NaN] }, 'pendingPollIntervalsHours.0: must be > 0'],
    [{ pendingPollIntervalsHours: ['1'] }, 'pendingPollIntervalsHours.0: must be > 0'],
  ])('%j: %s', (override, problem) => {
    expect(problems(override)).toEqual([problem]);
  });

  it('an offset can break two rules at once', () => {
    expect(problems({ softRetryOffsetsHours: [24, 0] })).toEqual([
      'softRetryOffsetsHours.1: must be > 0',
      'softRetryOffsetsHours.1: must be greater than the previous offset',
    ]);
  });

  it('accepts the smallest valid values', () => {
    expect(
      problems({
        softRetryOffsetsHours: [],
        maxAttemptsPerToken30Days: 1,
        doNotHonourMaxAttempts: 1,
        unknownCodeMaxAttempts: 1,
        minHoursBetweenAttempts: 0,
        pendingPollIntervalsHours: [0.5],
        pendingAlertAfterHours: 0.5,
        hardDeclineGraceHours: 0.5,
        merchantConfigRetryHours: 0.5,
        merchantConfigMaxRetries: 0,
      }),
    ).toEqual([]);
    expect(problems({ softRetryOffsetsHours: Array.from({ length: 30 }, (_, i) => i + 1) })).toEqual([]);
  });

  it('lists every problem at once', () => {
    expect(problems({ maxAttemptsPerToken30Days: 0, hardDeclineGraceHours: 0 })).toEqual([
      'maxAttemptsPerToken30Days: must be an integer >= 1',
      'hardDeclineGraceHours: must be a number > 0',
    ]);
  });
});

describe('decideAfterDecline', () => {
  it('needs a declined attempt last', () => {
    expect(() => decide([])).toThrow('decideAfterDecline needs a declined attempt last');
    expect(() => decide([{ at: T0, token: 'tok', outcome: 'pending' }])).toThrow(/needs a declined attempt last/);
    expect(() => decide([{ at: T0, token: 'tok', outcome: 'paid' }])).toThrow(/needs a declined attempt last/);
  });

  it('a hard decline waits the grace period for a new payment method', () => {
    expect(decide([declined(0, 'expired_card', 'hard')], { now: T0 + HOUR })).toEqual({
      action: 'await_payment_method',
      until: T0 + HOUR + 168 * HOUR,
      reason: 'hard decline expired_card',
    });
    expect(
      decideAfterDecline({
        policy: { ...P, hardDeclineGraceHours: 2 },
        attempts: [declined(0, 'x', 'hard')],
        now: T0,
        merchantConfigRetries: 0,
      }),
    ).toMatchObject({ until: T0 + 2 * HOUR });
  });

  it('soft declines retry at each offset after the FIRST attempt, then give up when the offsets run out', () => {
    const attempts: AttemptRecord[] = [declined(0)];
    for (const offset of P.softRetryOffsetsHours) {
      const d = decide(attempts);
      expect(d).toEqual({ action: 'retry', at: T0 + offset * HOUR, reason: 'soft decline insufficient_funds' });
      attempts.push(declined(offset));
    }
    expect(decide(attempts)).toEqual({ action: 'fail', reason: 'soft declines exhausted after 8 attempts' });
  });

  it('a late attempt is retried no sooner than minHoursBetweenAttempts after it, and never in the past', () => {
    // The second attempt came late (a pause, a new card): the next offset (48h) is only 1h after it.
    expect(decide([declined(0), declined(47)])).toMatchObject({ action: 'retry', at: T0 + (47 + 4) * HOUR });
    // Decided long after the attempt (a replayed answer): the retry is now, not in the past.
    expect(decide([declined(0)], { now: T0 + 100 * HOUR })).toMatchObject({ action: 'retry', at: T0 + 100 * HOUR });
  });

  it('do_not_honour gives up after its own cap', () => {
    const dnh = (h: number) => declined(h, 'do_not_honour');
    expect(decide([dnh(0), dnh(24), dnh(48)])).toMatchObject({ action: 'retry' });
    expect(decide([dnh(0), dnh(24), dnh(48), dnh(72)])).toEqual({
      action: 'fail',
      reason: 'do_not_honour declined 4 times',
    });
    // Other codes do not count towards it.
    expect(decide([declined(0), declined(24), dnh(48), dnh(72)])).toMatchObject({ action: 'retry' });
  });

  it('unknown declines give up after their low cap', () => {
    const unk = (h: number) => declined(h, 'weird_code', 'unknown');
    expect(decide([unk(0), unk(24)])).toMatchObject({ action: 'retry', reason: 'soft decline weird_code' });
    expect(decide([unk(0), unk(24), unk(48)])).toEqual({
      action: 'fail',
      reason: 'unknown decline weird_code repeated 3 times',
    });
  });

  it('merchant-configuration declines retry on their own schedule, up to their cap, without counting against the customer', () => {
    const mc = (h: number) => declined(h, 'no_matching_terminal', 'merchant_configuration');
    expect(decide([mc(0)], { now: T0 })).toEqual({
      action: 'retry',
      at: T0 + 6 * HOUR,
      reason: 'merchant configuration',
    });
    expect(decide([mc(0)], { merchantConfigRetries: 27 })).toMatchObject({ action: 'retry' });
    expect(decide([mc(0)], { merchantConfigRetries: 28 })).toEqual({
      action: 'fail',
      reason: 'merchant configuration decline no_matching_terminal persisted',
    });
    // A soft decline after three merchant-side ones is the customer's first: its retry is the first offset after it.
    expect(decide([mc(0), mc(6), mc(12), declined(18)])).toEqual({
      action: 'retry',
      at: T0 + (18 + 24) * HOUR,
      reason: 'soft decline insufficient_funds',
    });
  });

  it('a retry respects the rolling per-token cap, counting attempts made elsewhere', () => {
    // 9 attempts with this token in other cycles in the last days, plus this one: 10 in 30 days.
    const prior = Array.from({ length: 9 }, (_, i) => T0 - (20 - i) * DAY);
    const d = decide([declined(0)], { priorTokenAttempts: prior });
    expect(d).toEqual({ action: 'retry', at: prior[0]! + 30 * DAY + 1, reason: 'soft decline insufficient_funds' });
  });
});

describe('respectTokenCap: never more than maxAttemptsPerToken30Days attempts with a token in any 30 days', () => {
  const cap = (times: number[], at: number, attempts: AttemptRecord[] = [], policy = P) =>
    respectTokenCap(policy, attempts, times, 'tok', at);

  it('leaves the time alone below the cap', () => {
    const nine = Array.from({ length: 9 }, (_, i) => T0 + i * HOUR);
    expect(cap([], T0 + DAY)).toBe(T0 + DAY);
    expect(cap(nine, T0 + DAY)).toBe(T0 + DAY);
    // The tenth within 30 days is the last one allowed: an eleventh waits for the oldest to leave the window.
    expect(cap([...nine, T0 + 10 * HOUR], T0 + DAY)).toBe(T0 + 30 * DAY + 1);
  });

  it('at the cap, waits until the oldest counted attempt leaves the window', () => {
    const ten = Array.from({ length: 10 }, (_, i) => T0 + i * DAY);
    // Unsorted input, and attempts of another token, change nothing.
    const shuffled = [...ten].reverse();
    const other: AttemptRecord[] = [{ at: T0 + 11 * DAY, token: 'other', outcome: 'declined' }];
    expect(cap(shuffled, T0 + 12 * DAY, other)).toBe(T0 + 30 * DAY + 1);
    expect(cap(shuffled, T0 + 40 * DAY, other)).toBe(T0 + 40 * DAY);
  });

  it('holds for any history: the chosen time keeps every 30-day window within the cap, and is the earliest such', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60 * 24 }), { maxLength: 25 }),
        fc.integer({ min: 0, max: 40 * 24 }),
        fc.integer({ min: 1, max: 6 }),
        (hours, afterHours, max) => {
          const policy = { ...P, maxAttemptsPerToken30Days: max };
          const times = hours.map((h) => T0 + h * HOUR);
          // The attempt asked for comes after the history.
          const at = T0 + (Math.max(0, ...hours) + afterHours) * HOUR;
          const chosen = cap(times, at, [], policy);
          expect(chosen).toBeGreaterThanOrEqual(at);
          const within = (t: number) => times.filter((x) => x > t - 30 * DAY && x <= t).length;
          // One more attempt at `chosen` finds fewer than `max` attempts in the 30 days before it...
          expect(within(chosen)).toBeLessThan(max);
          // ...and an hour earlier (still after `at`) would find `max` of them within 30 days.
          const earlier = chosen - HOUR;
          if (earlier >= at) expect(times.filter((x) => x >= earlier - 30 * DAY).length).toBeGreaterThanOrEqual(max);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('pendingPollDelayMs', () => {
  it('follows the intervals, repeating the last one', () => {
    expect([0, 1, 2, 10].map((n) => pendingPollDelayMs(P, n) / HOUR)).toEqual([1, 24, 24, 24]);
    const policy = { ...P, pendingPollIntervalsHours: [0.25, 2, 6] };
    expect([0, 1, 2, 3, 50].map((n) => pendingPollDelayMs(policy, n) / HOUR)).toEqual([0.25, 2, 6, 6, 6]);
  });

  it('falls back to a day for an empty list (a policy that skipped validation)', () => {
    expect(pendingPollDelayMs({ ...P, pendingPollIntervalsHours: [] }, 3)).toBe(24 * HOUR);
  });
});

describe('reasons read as sentences, with or without a decline code', () => {
  it('a decline without a code gives the same reason without a gap where the code would be', () => {
    const noCode = (declineClass: DeclineClass, extra: Partial<Parameters<typeof decideAfterDecline>[0]> = {}) =>
      decide([{ at: T0, token: 'tok', outcome: 'declined', declineClass }], extra).reason;
    expect(noCode('hard')).toBe('hard decline');
    expect(noCode('soft')).toBe('soft decline');
    expect(noCode('merchant_configuration', { merchantConfigRetries: 28 })).toBe(
      'merchant configuration decline persisted',
    );
    expect(noCode('unknown', { policy: { ...P, unknownCodeMaxAttempts: 1 } })).toBe('unknown decline repeated 1 times');
  });

  it('an attempt without a class is an unknown decline, under the unknown-code cap', () => {
    const bare = (h: number): AttemptRecord => ({ at: T0 + h * HOUR, token: 'tok', outcome: 'declined', code: 'x' });
    expect(decide([bare(0), bare(24)])).toMatchObject({ action: 'retry' });
    expect(decide([bare(0), bare(24), bare(48)])).toEqual({
      action: 'fail',
      reason: 'unknown decline x repeated 3 times',
    });
  });
});

describe('the soft-decline schedule, for any valid policy', () => {
  /** A valid policy: increasing offsets, a minimum gap, a token cap (validateDunningPolicy accepts it). */
  const policyArb = fc
    .record({
      gaps: fc.array(fc.integer({ min: 1, max: 96 }), { minLength: 0, maxLength: 10 }),
      minHoursBetweenAttempts: fc.integer({ min: 0, max: 30 }),
      maxAttemptsPerToken30Days: fc.integer({ min: 1, max: 12 }),
    })
    .map(({ gaps, ...rest }) => ({
      ...P,
      ...rest,
      softRetryOffsetsHours: gaps.map((_, i) => gaps.slice(0, i + 1).reduce((a, b) => a + b, 0)),
    }));

  it('retries never go back in time, each at or after its offset from the first attempt and the minimum gap after the last, within the token cap; then the cycle gives up', () => {
    fc.assert(
      fc.property(policyArb, fc.array(fc.integer({ min: 0, max: 48 }), { maxLength: 12 }), (policy, lateBy) => {
        expect(validateDunningPolicy(policy)).toEqual([]);
        const attempts: AttemptRecord[] = [declined(0)];
        for (let i = 0; ; i++) {
          const last = attempts[attempts.length - 1]!;
          const now = last.at + (lateBy[i] ?? 0) * HOUR; // the answer may be decided a little after the attempt
          const d = decideAfterDecline({ policy, attempts, now, merchantConfigRetries: 0 });
          if (d.action !== 'retry') {
            expect(d).toEqual({
              action: 'fail',
              reason: `soft declines exhausted after ${attempts.length} attempts`,
            });
            // Every offset was used: one first attempt and one retry per offset.
            expect(attempts).toHaveLength(policy.softRetryOffsetsHours.length + 1);
            break;
          }
          expect(d.at).toBeGreaterThanOrEqual(T0 + policy.softRetryOffsetsHours[i]! * HOUR);
          expect(d.at).toBeGreaterThanOrEqual(last.at + policy.minHoursBetweenAttempts * HOUR);
          expect(d.at).toBeGreaterThanOrEqual(now);
          const inWindow = attempts.filter((a) => a.at > d.at - 30 * DAY).length;
          expect(inWindow).toBeLessThan(policy.maxAttemptsPerToken30Days);
          attempts.push(declined((d.at - T0) / HOUR));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a retry comes exactly at its offset when nothing else holds it back (on time, below the cap)', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const p = { ...policy, minHoursBetweenAttempts: 0, maxAttemptsPerToken30Days: 100 };
        const attempts: AttemptRecord[] = [declined(0)];
        for (const offset of p.softRetryOffsetsHours) {
          const d = decideAfterDecline({ policy: p, attempts, now: attempts.at(-1)!.at, merchantConfigRetries: 0 });
          expect(d).toMatchObject({ action: 'retry', at: T0 + offset * HOUR });
          attempts.push(declined(offset));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a hard decline waits exactly the grace from the decision, for any grace', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 * 60 }), fc.integer({ min: 0, max: 1e6 }), (grace, late) => {
        const d = decide([declined(0, 'stolen_card', 'hard')], {
          policy: { ...P, hardDeclineGraceHours: grace },
          now: T0 + late,
        });
        expect(d).toEqual({
          action: 'await_payment_method',
          until: T0 + late + grace * HOUR,
          reason: 'hard decline stolen_card',
        });
      }),
      { numRuns: 100 },
    );
  });
});

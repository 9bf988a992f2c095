/**
 * fast-check arbitraries for billing-cycle scenarios (test/support/cycle-simulator.ts): gateway outcomes, call
 * failures, dunning policies and interleaved steps. Weights tilt a property towards the events it is about.
 */
import fc from 'fast-check';
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from '../../src/domain/dunning';
import type { CallFate, ChargeOutcome, CycleScenario, SimStep } from './cycle-simulator';

const CODES = {
  soft: ['insufficient_funds', 'do_not_honour', 'issuer_not_available', 'timeout_acquirer'],
  hard: ['stolen_card', 'invalid_recurring_token', 'expired_card', 'blacklisted_tx_1'],
  merchant: ['no_matching_terminal', 'acquirer_configuration_error', 'soft_decline_contact_support'],
  unknown: ['mystery_decline'],
};
export const codeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CODES.soft) },
  { weight: 2, arbitrary: fc.constantFrom(...CODES.hard) },
  { weight: 2, arbitrary: fc.constantFrom(...CODES.merchant) },
  { weight: 1, arbitrary: fc.constantFrom(...CODES.unknown) },
);

export const chargeOutcomeArb: fc.Arbitrary<ChargeOutcome> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'paid' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('pending' as const),
      then: fc.oneof(
        fc.constant('paid' as const),
        codeArb.map((code) => ({ code })),
      ),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('decline' as const), code: codeArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('blocked' as const), code: fc.constant('suspected_fraud') }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('transport' as const),
      landed: fc.constantFrom(
        'none' as const,
        'paid' as const,
        'pending' as const,
        'declined' as const,
        'blocked' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'http_5xx' as const }) },
);

const fatesArb = (failWeight: number): fc.Arbitrary<CallFate[]> =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constant('ok' as const) },
      { weight: failWeight, arbitrary: fc.constant('fail' as const) },
      { weight: 1, arbitrary: fc.constant('lost' as const) },
    ),
    { maxLength: 12, size: 'max' },
  );

export const policyArb: fc.Arbitrary<DunningPolicy> = fc
  .record({
    minHoursBetweenAttempts: fc.constantFrom(0, 4, 30),
    maxAttemptsPerToken30Days: fc.constantFrom(2, 3, 10),
    softRetryOffsetsHours: fc.constantFrom(DEFAULT_DUNNING_POLICY.softRetryOffsetsHours, [1, 2, 3], [48]),
    merchantConfigMaxRetries: fc.constantFrom(0, 2, 28),
    pendingPollIntervalsHours: fc.constantFrom(DEFAULT_DUNNING_POLICY.pendingPollIntervalsHours, [0.5]),
    pendingAlertAfterHours: fc.constantFrom(72, 2),
    hardDeclineGraceHours: fc.constantFrom(168, 12),
    merchantConfigRetryHours: fc.constantFrom(6, 1),
  })
  .map((o) => ({ ...DEFAULT_DUNNING_POLICY, ...o, softRetryOffsetsHours: [...o.softRetryOffsetsHours] }));

export interface StepWeights {
  answer: number;
  cancel: number;
  hold: number;
  markPaid: number;
  retryNow: number;
  token: number;
}
/** Each run draws its own mix, so some runs cancel at once and others go deep into dunning before anything happens. */
const stepWeightsArb: fc.Arbitrary<StepWeights> = fc.record({
  answer: fc.constantFrom(8, 20),
  cancel: fc.constantFrom(0, 1, 3),
  hold: fc.constantFrom(0, 2),
  markPaid: fc.constantFrom(0, 1, 3),
  retryNow: fc.constantFrom(0, 2, 5),
  token: fc.constantFrom(0, 2, 6),
});

export const stepArb = (w: StepWeights): fc.Arbitrary<SimStep> =>
  fc.oneof(
    { weight: w.answer, arbitrary: fc.constant({ kind: 'answer' as const }) },
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('webhook' as const),
        mode: fc.constantFrom(
          'next' as const,
          'drop' as const,
          'reorder' as const,
          'duplicate' as const,
          'stale' as const,
        ),
        pick: fc.nat({ max: 20 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('gateway' as const),
        change: fc.constantFrom(
          'resolve_pending' as const,
          'resolve_pending' as const,
          'expire' as const,
          'cancel_elsewhere' as const,
          'refund' as const,
          'chargeback' as const,
          'settle' as const,
        ),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        minutes: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 60, max: 60 * 24 * 10 })),
      }),
    },
    { weight: w.cancel, arbitrary: fc.constant({ kind: 'cancel' as const }) },
    { weight: w.hold, arbitrary: fc.record({ kind: fc.constant('hold' as const), paused: fc.boolean() }) },
    { weight: w.retryNow, arbitrary: fc.record({ kind: fc.constant('retry_now' as const), force: fc.boolean() }) },
    {
      weight: w.token,
      arbitrary: fc.record({
        kind: fc.constant('token' as const),
        same: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
    },
    {
      weight: w.markPaid,
      arbitrary: fc.record(
        { kind: fc.constant('mark_paid' as const), paidOnOffsetHours: fc.integer({ min: 0, max: 48 }) },
        { requiredKeys: ['kind'] },
      ),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'settlement_retry' as const }) },
  );

export function scenarioArb(
  opts: { weights?: Partial<StepWeights>; createFailWeight?: number; maxSteps?: number } = {},
): fc.Arbitrary<CycleScenario> {
  return stepWeightsArb.chain((drawn) =>
    fc.record<CycleScenario>({
      policy: policyArb,
      paused: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      priorAttemptsHoursAgo: fc.array(fc.integer({ min: 1, max: 30 * 24 - 1 }), { maxLength: 4 }),
      settlementTargets: fc.integer({ min: 0, max: 2 }),
      gateway: fc.record({
        charges: fc.array(chargeOutcomeArb, { maxLength: 8, size: 'max' }),
        thereafter: chargeOutcomeArb,
        creates: fatesArb(opts.createFailWeight ?? 1),
        reads: fatesArb(1),
        cancels: fatesArb(1),
        markPaids: fatesArb(1),
        settlements: fc.array(fc.boolean(), { maxLength: 6 }),
      }),
      steps: fc.array(stepArb({ ...drawn, ...opts.weights }), { maxLength: opts.maxSteps ?? 60, size: 'max' }),
      // Both rule sets: runs recorded before the Purchase rules replay under the old ones.
      purchaseLife: fc.boolean(),
    }),
  );
}

/**
 * The building blocks of a subscription's terms as zod schemas: ids, line items and plans, schedules, dunning
 * overrides, escalation and settlement targets. The request bodies made of them are in ./schemas.ts.
 *
 * Semantic checks reuse the domain: `validateSchedule` for schedules and `validateDunningPolicy` (on the overrides
 * merged into `DEFAULT_DUNNING_POLICY`) for dunning, each problem reported on its own field path.
 */
import { z } from 'zod';
import {
  MAX_TRIAL_DAYS,
  localToInstant,
  validateSchedule,
  type BillingSchedule,
  type IntervalUnit,
} from '../../../src/domain/calendar';
import { DEFAULT_DUNNING_POLICY, validateDunningPolicy, type DunningPolicy } from '../../../src/domain/dunning';
import { isKnownCurrency } from './currencies';
import { addPrefixedIssue, stripUndefined } from './field-issues';
import { CYCLE_ID_PATTERN, SUBSCRIPTION_ID_PATTERN } from '../../../src/shared/billing-cycle';
import {
  SUBSCRIPTION_STATUSES,
  type EscalationPolicy,
  type SubscriptionStatus,
} from '../../../src/shared/subscription';

// ---------------------------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------------------------

export const SubscriptionIdSchema = z
  .string()
  .regex(SUBSCRIPTION_ID_PATTERN, 'must be 1 to 64 characters from A-Z, a-z, 0-9, "_" and "-"')
  .meta({ description: "The merchant's subscription id.", example: 'sub_2024_0001' });

export { CYCLE_ID_PATTERN };
export const CycleIdSchema = z
  .string()
  .regex(CYCLE_ID_PATTERN, "must look like 'cycle:{subscriptionId}:{periodIndex}'")
  .meta({ description: 'Billing cycle id, also the QorePay Purchase reference.', example: 'cycle:sub_2024_0001:0' });

// 'minute' passes the schema; BillingClient refuses it unless built with `allowMinuteSchedules` (sandbox only).
const INTERVAL_UNIT_VALUES = ['minute', 'day', 'week', 'month', 'year'] as const satisfies readonly IntervalUnit[];
const ESCALATION_VALUES = ['mark_unpaid', 'cancel', 'keep_past_due'] as const satisfies readonly EscalationPolicy[];
/** The subscription statuses, as the subscription machine defines them (non-empty, for `z.enum`). */
export const SUBSCRIPTION_STATUS_VALUES = SUBSCRIPTION_STATUSES as readonly [
  SubscriptionStatus,
  ...SubscriptionStatus[],
];

export const nonEmpty = (max: number) =>
  z.string().regex(/\S/, 'must not be empty').max(max, `must be at most ${max} characters`);
/** Free text (reasons, notes): may be empty, never unbounded. */
export const freeText = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const minorUnits = z
  .number()
  .int('must be an integer amount in minor units')
  .min(0, 'must not be negative')
  .max(Number.MAX_SAFE_INTEGER, 'must be a safe integer');

export const LineItemSchema = z.strictObject({
  name: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
  priceMinor: minorUnits.meta({ description: 'Unit price in integer minor units (cents).' }),
  quantity: z.number().int('must be an integer').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000'),
});

/** Sum of priceMinor × quantity, exactly (BigInt: the products of two safe integers may not be one). */
export function planTotalMinor(lineItems: readonly { priceMinor: number; quantity: number }[]): bigint {
  return lineItems.reduce((sum, li) => sum + BigInt(li.priceMinor) * BigInt(li.quantity), 0n);
}

export const PlanSchema = z
  .strictObject({
    planId: nonEmpty(128),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of 3 upper-case letters, e.g. EUR')
      // Only codes of the right shape are looked up (one problem per field).
      .refine(
        (code) => !/^[A-Z]{3}$/.test(code) || isKnownCurrency(code),
        'must be a current ISO 4217 currency code with a minor unit, e.g. EUR',
      )
      .meta({ example: 'EUR' }),
    lineItems: z
      .array(LineItemSchema)
      .min(1, 'must list at least one line item')
      .max(100, 'must list at most 100 items'),
  })
  .superRefine((plan, ctx) => {
    // The engine adds amounts as JavaScript numbers: the total must stay a safe integer. (Refinements also run
    // when a line item already has a problem: only well-formed items are summed.)
    const items = Array.isArray(plan.lineItems) ? plan.lineItems : [];
    const wellFormed = items.filter(
      (li) =>
        typeof li === 'object' &&
        li !== null &&
        Number.isSafeInteger(li.priceMinor) &&
        Number.isSafeInteger(li.quantity),
    );
    if (planTotalMinor(wellFormed) > BigInt(Number.MAX_SAFE_INTEGER)) {
      ctx.addIssue({
        code: 'custom',
        path: ['lineItems'],
        message: `the plan total (sum of priceMinor × quantity) must be at most ${Number.MAX_SAFE_INTEGER} minor units`,
      });
    }
  });

/** Anchors before this local date are refused (billing history this old is a typo, not a plan). */
export const EARLIEST_ANCHOR_DATE = '2000-01-01';
/** Anchors later than this many years after the creation time are refused. */
export const MAX_ANCHOR_YEARS_AHEAD = 5;

/**
 * Why an anchor is outside [2000-01-01, now + 5 years], or undefined when it is inside. The anchor and time zone
 * must already be valid (validateSchedule). `nowMs` is the creation time.
 */
export function anchorWindowProblem(anchor: string, timeZone: string, nowMs: number): string | undefined {
  // 'YYYY-MM-DD...' compares like the date it names.
  if (anchor.slice(0, 10) < EARLIEST_ANCHOR_DATE) return `must not be before ${EARLIEST_ANCHOR_DATE}`;
  const latest = new Date(nowMs);
  latest.setUTCFullYear(latest.getUTCFullYear() + MAX_ANCHOR_YEARS_AHEAD);
  if (localToInstant(anchor, timeZone) > latest.getTime()) {
    return `must be at most ${MAX_ANCHOR_YEARS_AHEAD} years after now (latest ${latest.toISOString().slice(0, 16)}Z)`;
  }
  return undefined;
}

/** `validateSchedule` messages start with the field name: 'anchor: ...', 'timeZone: ...'. */
export const ScheduleSchema = z
  .strictObject({
    intervalUnit: z.enum(INTERVAL_UNIT_VALUES),
    intervalCount: z.number().int('must be an integer').min(1, 'must be at least 1'),
    anchor: z
      .string()
      .max(32, 'must be at most 32 characters')
      .meta({
        description:
          "Local date-time in timeZone, 'YYYY-MM-DDTHH:mm' or 'YYYY-MM-DD' (midnight): the start of period 0, from " +
          `which every due date is computed. From ${EARLIEST_ANCHOR_DATE} to at most ${MAX_ANCHOR_YEARS_AHEAD} ` +
          'years after the creation time. An anchor in the past keeps the calendar (due dates stay on the ' +
          "anchor's day and time) but billing starts at the period containing the creation time: earlier " +
          'periods are never charged.',
        example: '2027-01-31T09:00',
      }),
    timeZone: z
      .string()
      .max(64, 'must be at most 64 characters')
      .meta({ description: 'IANA time-zone name.', example: 'Europe/Oslo' }),
    trialDays: z.number().int('must be an integer').min(0).max(MAX_TRIAL_DAYS).optional(),
  })
  .superRefine((schedule, ctx) => {
    const problems = validateSchedule(schedule as BillingSchedule);
    for (const problem of problems) addPrefixedIssue(ctx, problem);
    if (problems.some((p) => p.startsWith('anchor:') || p.startsWith('timeZone:'))) return;
    const outside = anchorWindowProblem(schedule.anchor, schedule.timeZone, Date.now());
    if (outside) ctx.addIssue({ code: 'custom', path: ['anchor'], message: outside });
  });

const DUNNING_FIELDS = Object.keys(DEFAULT_DUNNING_POLICY) as (keyof DunningPolicy)[];

/**
 * Bounds of the dunning overrides. The per-token cap is the card networks' rule (reference/billing-policy.md: at most
 * 10 attempts per card in any rolling 30 days): an override may lower it, never raise or remove it.
 */
export const DUNNING_BOUNDS = Object.freeze({
  networkMaxAttemptsPerToken30Days: 10,
  maxRetryOffsets: 30,
  maxPollIntervals: 30,
  /** Offsets, grace and alert delays: at most a year. */
  maxHours: 8760,
  /** Poll and merchant-configuration retry intervals: between 36 seconds and 30 days. */
  minIntervalHours: 0.01,
  maxIntervalHours: 720,
  maxMinHoursBetweenAttempts: 720,
  maxMerchantConfigRetries: 100,
});
const B = DUNNING_BOUNDS;

/** A finite number of hours in [min, max] (min exclusive when `above`). */
const hours = (min: number, max: number, above = false) =>
  z
    .number({ error: 'must be a finite number of hours' })
    .refine((h) => (above ? h > min : h >= min), above ? `must be > ${min}` : `must be at least ${min}`)
    .refine((h) => h <= max, `must be at most ${max}`);
export const count = (min: number, max: number) =>
  z.number().int('must be an integer').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/** Overrides of DEFAULT_DUNNING_POLICY, each bounded; the merged policy must pass validateDunningPolicy. */
export const DunningOverridesSchema = z
  .strictObject({
    softRetryOffsetsHours: z
      .array(hours(0, B.maxHours, true))
      .max(B.maxRetryOffsets, `must list at most ${B.maxRetryOffsets} offsets`)
      .optional(),
    maxAttemptsPerToken30Days: count(1, B.networkMaxAttemptsPerToken30Days)
      .optional()
      .meta({ description: 'Lowers the card networks’ cap of 10 attempts per token in 30 days; cannot raise it.' }),
    doNotHonourMaxAttempts: count(1, B.networkMaxAttemptsPerToken30Days).optional(),
    unknownCodeMaxAttempts: count(1, B.networkMaxAttemptsPerToken30Days).optional(),
    minHoursBetweenAttempts: hours(0, B.maxMinHoursBetweenAttempts).optional(),
    pendingPollIntervalsHours: z
      .array(hours(B.minIntervalHours, B.maxIntervalHours))
      .max(B.maxPollIntervals, `must list at most ${B.maxPollIntervals} intervals`)
      .optional(),
    pendingAlertAfterHours: hours(0, B.maxHours, true).optional(),
    hardDeclineGraceHours: hours(0, B.maxHours, true).optional(),
    merchantConfigRetryHours: hours(B.minIntervalHours, B.maxIntervalHours).optional(),
    merchantConfigMaxRetries: count(0, B.maxMerchantConfigRetries).optional(),
  })
  .superRefine((overrides, ctx) => {
    const merged = { ...DEFAULT_DUNNING_POLICY, ...stripUndefined(overrides) };
    for (const problem of validateDunningPolicy(merged)) addPrefixedIssue(ctx, problem);
  })
  .meta({ description: `Overrides of the default dunning policy; fields: ${DUNNING_FIELDS.join(', ')}.` });

export const EscalationSchema = z.enum(ESCALATION_VALUES);

export const SettlementTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('activeplatform'),
    accountId: z.string().regex(/^[1-9]\d{0,14}$/, 'must be a numeric ActivePlatform account id'),
    paymentMethodId: z.number().int('must be an integer').min(1, 'must be at least 1'),
  }),
  z.strictObject({
    kind: z.literal('gormic'),
    orderId: nonEmpty(128),
    methodId: nonEmpty(128).optional(),
    customerUid: nonEmpty(128).optional(),
  }),
]);

export const RecurringTokenSchema = nonEmpty(128).meta({
  description: 'Id of a paid QorePay Purchase with is_recurring_token: true.',
});

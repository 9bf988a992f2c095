/**
 * zod schemas of every merchant request (HTTP bodies, path parameters, list filters). Shared by `BillingClient` and
 * the HTTP API so both answer the same field-level errors, and the source of the OpenAPI document.
 *
 * Semantic checks reuse the domain: `validateSchedule` for schedules and `validateDunningPolicy` (on the overrides
 * merged into `DEFAULT_DUNNING_POLICY`) for dunning, each problem reported on its own field path.
 */
import { z } from 'zod';
import { MAX_TRIAL_DAYS, validateSchedule, type BillingSchedule, type IntervalUnit } from '../domain/calendar';
import { DEFAULT_DUNNING_POLICY, validateDunningPolicy, type DunningPolicy } from '../domain/dunning';
import { SUBSCRIPTION_ID_PATTERN } from '../shared/billing-cycle';
import type { EscalationPolicy, SubscriptionStatus } from '../shared/subscription';

// ---------------------------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------------------------

export const SubscriptionIdSchema = z
  .string()
  .regex(SUBSCRIPTION_ID_PATTERN, 'must be 1 to 64 characters from A-Z, a-z, 0-9, "_" and "-"')
  .meta({ description: "The merchant's subscription id.", example: 'sub_2024_0001' });

/** `cycle:{subscriptionId}:{periodIndex}`: the same pattern parseCycleWorkflowId accepts (checked in the tests). */
export const CYCLE_ID_PATTERN = /^cycle:[A-Za-z0-9_-]{1,64}:\d{1,9}$/;
export const CycleIdSchema = z
  .string()
  .regex(CYCLE_ID_PATTERN, "must look like 'cycle:{subscriptionId}:{periodIndex}'")
  .meta({ description: 'Billing cycle id, also the QorePay Purchase reference.', example: 'cycle:sub_2024_0001:0' });

const INTERVAL_UNIT_VALUES = ['day', 'week', 'month', 'year'] as const satisfies readonly IntervalUnit[];
const ESCALATION_VALUES = ['mark_unpaid', 'cancel', 'keep_past_due'] as const satisfies readonly EscalationPolicy[];
export const SUBSCRIPTION_STATUS_VALUES = [
  'trialing',
  'active',
  'past_due',
  'paused',
  'unpaid',
  'canceled',
] as const satisfies readonly SubscriptionStatus[];

const nonEmpty = (max: number) =>
  z.string().regex(/\S/, 'must not be empty').max(max, `must be at most ${max} characters`);
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

export const PlanSchema = z.strictObject({
  planId: nonEmpty(128),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of 3 upper-case letters, e.g. EUR')
    .meta({ example: 'EUR' }),
  lineItems: z.array(LineItemSchema).min(1, 'must list at least one line item').max(100, 'must list at most 100 items'),
});

/** `validateSchedule` messages start with the field name: 'anchor: ...', 'timeZone: ...'. */
export const ScheduleSchema = z
  .strictObject({
    intervalUnit: z.enum(INTERVAL_UNIT_VALUES),
    intervalCount: z.number().int('must be an integer').min(1, 'must be at least 1'),
    anchor: z.string().meta({
      description: "Local date-time in timeZone, 'YYYY-MM-DDTHH:mm' or 'YYYY-MM-DD' (midnight).",
      example: '2027-01-31T09:00',
    }),
    timeZone: z.string().meta({ description: 'IANA time-zone name.', example: 'Europe/Oslo' }),
    trialDays: z.number().int('must be an integer').min(0).max(MAX_TRIAL_DAYS).optional(),
  })
  .superRefine((schedule, ctx) => {
    for (const problem of validateSchedule(schedule as BillingSchedule)) addPrefixedIssue(ctx, problem);
  });

const DUNNING_FIELDS = Object.keys(DEFAULT_DUNNING_POLICY) as (keyof DunningPolicy)[];
const hours = z.number().finite('must be a finite number');

/** Overrides of DEFAULT_DUNNING_POLICY; the merged policy must pass validateDunningPolicy. */
export const DunningOverridesSchema = z
  .strictObject({
    softRetryOffsetsHours: z.array(hours).optional(),
    maxAttemptsPerToken30Days: z.number().int('must be an integer').optional(),
    doNotHonourMaxAttempts: z.number().int('must be an integer').optional(),
    unknownCodeMaxAttempts: z.number().int('must be an integer').optional(),
    minHoursBetweenAttempts: hours.optional(),
    pendingPollIntervalsHours: z.array(hours).optional(),
    pendingAlertAfterHours: hours.optional(),
    hardDeclineGraceHours: hours.optional(),
    merchantConfigRetryHours: hours.optional(),
    merchantConfigMaxRetries: z.number().int('must be an integer').optional(),
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

const RecurringTokenSchema = nonEmpty(128).meta({
  description: 'Id of a paid QorePay Purchase with is_recurring_token: true.',
});

// ---------------------------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------------------------

export const CreateSubscriptionSchema = z.strictObject({
  subscriptionId: SubscriptionIdSchema,
  customerId: nonEmpty(128),
  customerEmail: z.email('must be an email address').optional(),
  qorepayClientId: nonEmpty(128).optional(),
  recurringToken: RecurringTokenSchema,
  plan: PlanSchema,
  schedule: ScheduleSchema,
  dunning: DunningOverridesSchema.optional(),
  escalation: EscalationSchema.optional(),
  settlementTargets: z
    .array(SettlementTargetSchema)
    .max(10, 'must list at most 10 targets')
    .refine(
      (ts) => new Set(ts.map((t) => `${t.kind}:${t.kind === 'gormic' ? t.orderId : t.accountId}`)).size === ts.length,
      'must not list the same target twice',
    )
    .optional(),
  maxPeriods: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
});

export const CancelSubscriptionSchema = z.strictObject({
  mode: z.enum(['now', 'period_end']),
  reason: z.string().max(500).optional(),
});

export const ChangePlanSchema = z.strictObject({ plan: PlanSchema });

export const UpdatePaymentMethodSchema = z.strictObject({ recurringToken: RecurringTokenSchema });

export const MarkCyclePaidSchema = z.strictObject({
  paidOn: z
    .number()
    .int('must be an integer (Unix seconds)')
    .min(0)
    .optional()
    .meta({ description: 'Unix seconds; defaults to now.' }),
  note: z.string().max(500).optional(),
});

export const RefundSchema = z.strictObject({
  cycleId: CycleIdSchema,
  amountMinor: z
    .number()
    .int('must be an integer amount in minor units')
    .min(1, 'must be at least 1')
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .meta({ description: 'Minor units; omitted = full refund.' }),
  reason: z.string().max(500).optional(),
});

export const ChargebackSchema = z.strictObject({
  cycleId: CycleIdSchema,
  reasonId: nonEmpty(128).meta({ description: 'An id from QorePay GET /purchases/chargeback_reasons/.' }),
  arn: nonEmpty(64).meta({ description: 'Acquirer reference number.' }),
  date: z
    .string()
    .regex(/^\d{1,12}$/, 'must be Unix seconds as a string')
    .meta({ description: 'Unix seconds as a string.' }),
  reference: nonEmpty(256),
});

export const ListSubscriptionsQuerySchema = z.strictObject({
  status: z.enum(SUBSCRIPTION_STATUS_VALUES).optional(),
  customerId: nonEmpty(128).optional(),
  pageSize: z.coerce.number().int('must be an integer').min(1).max(1000).optional(),
  nextPageToken: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a token returned by a previous page')
    .max(4096)
    .optional(),
});

export type CreateSubscriptionBody = z.infer<typeof CreateSubscriptionSchema>;
export type CancelSubscriptionBody = z.infer<typeof CancelSubscriptionSchema>;
export type ChangePlanBody = z.infer<typeof ChangePlanSchema>;
export type UpdatePaymentMethodBody = z.infer<typeof UpdatePaymentMethodSchema>;
export type MarkCyclePaidBody = z.infer<typeof MarkCyclePaidSchema>;
export type RefundBody = z.infer<typeof RefundSchema>;
export type ChargebackBody = z.infer<typeof ChargebackSchema>;
export type ListSubscriptionsQuery = z.infer<typeof ListSubscriptionsQuerySchema>;
export type PlanBody = z.infer<typeof PlanSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------------------------------------------

/** One field-level problem; `path` is dotted (`plan.lineItems.0.priceMinor`), '' for the whole body. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Flattens zod issues into field issues; unknown keys become one issue per key, on that key's path. */
export function fieldIssues(error: z.ZodError, prefix: readonly (string | number)[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...base, key].join('.'), message: 'unknown field' });
    } else {
      out.push({ path: base.join('.'), message: issue.message });
    }
  }
  return out;
}

/** Parses or returns the field issues; never throws. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: readonly (string | number)[] = [],
): { ok: true; value: z.output<S> } | { ok: false; issues: FieldIssue[] } {
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: fieldIssues(parsed.error, prefix) };
}

/**
 * Turns a domain message 'field.sub: message' into an issue on that path (relative to the refined object); the
 * domain validators name their field first.
 */
function addPrefixedIssue(ctx: z.RefinementCtx, problem: string): void {
  const m = /^([A-Za-z][A-Za-z0-9]*(?:\.\d+)?): (.*)$/s.exec(problem);
  if (m) {
    const path = m[1]!.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    ctx.addIssue({ code: 'custom', path, message: m[2]! });
  } else {
    ctx.addIssue({ code: 'custom', message: problem });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// exactOptionalPropertyTypes: zod infers `x?: T | undefined`; the contracts say `x?: T`.
// ---------------------------------------------------------------------------------------------------------------

export type Defined<T> = T extends readonly (infer U)[]
  ? Defined<U>[]
  : T extends object
    ? { [K in keyof T]: Defined<Exclude<T[K], undefined>> }
    : T;

/** Drops keys whose value is undefined, deeply (parsed JSON has none; typed callers may pass them). */
export function stripUndefined<T>(value: T): Defined<T> {
  if (Array.isArray(value)) return value.map((v: unknown) => stripUndefined(v)) as Defined<T>;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = stripUndefined(v);
    return out as Defined<T>;
  }
  return value as Defined<T>;
}

/**
 * zod schemas of every merchant request (HTTP bodies, path parameters, list filters). Shared by `BillingClient` and
 * the HTTP API so both answer the same field-level errors, and the source of the OpenAPI document.
 *
 * Semantic checks reuse the domain: `validateSchedule` for schedules and `validateDunningPolicy` (on the overrides
 * merged into `DEFAULT_DUNNING_POLICY`) for dunning, each problem reported on its own field path.
 *
 * Everything a merchant sends is bounded here, before anything is stored: every string has a maximum length, every
 * number a range (a subscription's terms live in workflow history for years, and the worker trusts them), the plan
 * total fits a safe integer, the currency is a current ISO 4217 code with a minor unit, and the dunning overrides
 * cannot switch the card networks' per-token cap off.
 */
import { z } from 'zod';
import {
  count,
  DunningOverridesSchema,
  EscalationSchema,
  freeText,
  nonEmpty,
  PlanSchema,
  RecurringTokenSchema,
  ScheduleSchema,
  SettlementTargetSchema,
  SubscriptionIdSchema,
  SUBSCRIPTION_STATUS_VALUES,
  CycleIdSchema,
} from './term-schemas';

export * from './term-schemas';
export * from './field-issues';

// ---------------------------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------------------------

/** QorePay Client ids are UUIDs; anything path-safe up to 64 characters is accepted. */
export const QorePayClientIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a QorePay client id (letters, digits, "-" and "_")')
  .max(64, 'must be at most 64 characters')
  .meta({ description: 'Id of an existing QorePay Client (checked at the gateway when the subscription is created).' });

export const CreateSubscriptionSchema = z
  .strictObject({
    subscriptionId: SubscriptionIdSchema,
    customerId: nonEmpty(128),
    customerEmail: z
      .email('must be an email address')
      .max(254, 'must be at most 254 characters')
      .optional()
      .meta({ description: 'Used for the QorePay Client of each Purchase when qorepayClientId is not given.' }),
    qorepayClientId: QorePayClientIdSchema.optional(),
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
    maxPeriods: count(1, 100_000).optional(),
  })
  .superRefine((body, ctx) => {
    // Each Purchase needs a QorePay Client: an existing one, or one made from the email.
    if (body.customerEmail === undefined && body.qorepayClientId === undefined) {
      const message = 'give customerEmail or qorepayClientId (at least one is required)';
      ctx.addIssue({ code: 'custom', path: ['customerEmail'], message });
      ctx.addIssue({ code: 'custom', path: ['qorepayClientId'], message });
    }
  });

export const CancelSubscriptionSchema = z.strictObject({
  mode: z.enum(['now', 'period_end']),
  reason: freeText(500).optional(),
});

export const ChangePlanSchema = z.strictObject({ plan: PlanSchema });

export const UpdatePaymentMethodSchema = z.strictObject({ recurringToken: RecurringTokenSchema });

export const MarkCyclePaidSchema = z.strictObject({
  paidOn: z
    .number()
    .int('must be an integer (Unix seconds)')
    .min(0, 'must not be negative')
    .max(99_999_999_999, 'must be Unix seconds, not milliseconds')
    .optional()
    .meta({ description: 'Unix seconds; defaults to now.' }),
  note: freeText(500).optional(),
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
  reason: freeText(500).optional(),
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

/** The HTTP header that makes a change (every POST of the API) safe to retry. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

export const IdempotencyKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .regex(/^[\x20-\x7E]*$/, 'must be printable ASCII characters only')
  .meta({
    description:
      'Makes the request safe to retry (Stripe semantics). A request repeated with the same key and the same body ' +
      "(a retry after a timeout, a duplicate send) is answered with the first request's answer (status and body) " +
      'and is carried out once; the same key with a different body or on another route answers 409 naming the ' +
      'key. A duplicate sent while the first request is still running is not run again: it waits for the first ' +
      "request's answer (up to 30 s) and otherwise answers 409 saying the first request is still in progress " +
      '(retry later with the same key). Keys are kept at least 24 hours, per merchant, durably (in Temporal). ' +
      'A request refused before it ran ' +
      '(400, 401, 403, 503) is not recorded and may be retried with its key. Use a new key (for example a UUID) ' +
      'for each distinct change. Without a key every request is a new one.',
    example: '5f0c2f4e-9a51-4d8e-b0b3-1c8e4f0f2a77',
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
/** What a create accepts (before defaults and validation; the client validates it at run time as well). */
export type CreateSubscriptionInput = z.input<typeof CreateSubscriptionSchema>;
export type CancelSubscriptionBody = z.infer<typeof CancelSubscriptionSchema>;
export type ChangePlanBody = z.infer<typeof ChangePlanSchema>;
export type UpdatePaymentMethodBody = z.infer<typeof UpdatePaymentMethodSchema>;
export type MarkCyclePaidBody = z.infer<typeof MarkCyclePaidSchema>;
export type RefundBody = z.infer<typeof RefundSchema>;
export type ChargebackBody = z.infer<typeof ChargebackSchema>;
export type ListSubscriptionsQuery = z.infer<typeof ListSubscriptionsQuerySchema>;
export type PlanBody = z.infer<typeof PlanSchema>;

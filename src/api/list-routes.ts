/**
 * The merchant-facing lists, answered from the records store (the books), never from Temporal visibility or memos:
 * subscriptions by status, customer or plan; a subscription's cycles and payments; invoices by number, period or
 * status. They stay true after a plan change (the row is rewritten by the activity that records the change) and after
 * Temporal's retention (closed workflows leave visibility; their rows stay). Keyset pagination: a page ends with an
 * opaque cursor naming its last row's sort key, and the next page starts strictly after it. A merchant's key sees its
 * own rows (another merchant's subscription is 404); an operator's key sees every merchant's. A records store that
 * does not answer is a 503.
 */
import { z } from 'zod';
import { PlanSchema, SubscriptionIdSchema, SUBSCRIPTION_STATUS_VALUES } from '@temporal-billing/client/schemas';
import { CYCLE_STATUSES, type CycleStatus } from '../shared/billing-cycle';
import type { RouteSpec } from './routes';

export const MAX_LIST_LIMIT = 200;

const CursorSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned by a previous page')
  .max(1024);
const limit = z.coerce.number().int('must be an integer').min(1).max(MAX_LIST_LIMIT).optional();
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' });
const page = { limit, cursor: CursorSchema.optional() };

export const ListSubscriptionsQuerySchema = z.strictObject({
  status: z.enum(SUBSCRIPTION_STATUS_VALUES).optional(),
  customerId: z.string().min(1).max(128).optional(),
  planId: z.string().min(1).max(128).optional(),
  ...page,
  /** Earlier names of `limit` and `cursor` (the visibility list's), still accepted. */
  pageSize: limit.meta({ description: 'Deprecated: `limit`.' }),
  nextPageToken: CursorSchema.optional().meta({ description: 'Deprecated: `cursor`.' }),
});

export const ListInvoicesQuerySchema = z.strictObject({
  status: z.enum(['open', 'paid', 'void', 'uncollectible']).optional(),
  subscriptionId: SubscriptionIdSchema.optional(),
  number: z.coerce.number().int('must be an integer').min(1).optional(),
  /** Invoices whose period overlaps [periodFrom, periodTo). */
  periodFrom: instant.optional(),
  periodTo: instant.optional(),
  ...page,
});

export const PageQuerySchema = z.strictObject(page);

const nextCursor = z
  .string()
  .optional()
  .meta({ description: 'Pass as `cursor` for the next page; absent on the last page.' });

const SubscriptionRecordSchema = z.looseObject({
  subscriptionId: z.string(),
  merchantId: z.string(),
  customerId: z.string(),
  status: z.enum(SUBSCRIPTION_STATUS_VALUES),
  planId: z.string(),
  currency: z.string(),
  amountMinor: z.number().int().meta({ description: "The current plan's amount per period (integer minor units)." }),
  plan: PlanSchema,
  pendingPlan: PlanSchema.optional(),
  nextPeriodIndex: z.number().int(),
  cancelAtPeriodEnd: z.boolean(),
  canceledAt: z.string().optional(),
  startedAt: z.string(),
  updatedAt: z.string().meta({ description: 'Workflow time of the state this row shows.' }),
});

const CycleRecordSchema = z.looseObject({
  cycleId: z.string(),
  subscriptionId: z.string(),
  periodIndex: z.number().int(),
  periodStart: z.string(),
  periodEnd: z.string(),
  status: z.enum(CYCLE_STATUSES as readonly [CycleStatus, ...CycleStatus[]]),
  amountMinor: z.number().int(),
  currency: z.string(),
  attempts: z.number().int(),
  purchaseId: z.string().optional(),
  paidAt: z.string().optional(),
  failureReason: z.string().optional(),
  invoiceId: z.string().optional(),
  invoiceNumber: z.number().int().optional(),
});

const PaymentRecordSchema = z.looseObject({
  kind: z.enum(['charge', 'mark_paid', 'refund', 'chargeback', 'reversal']),
  cycleId: z.string(),
  purchaseId: z.string(),
  gatewayPaymentId: z.string().optional(),
  invoiceId: z.string().optional(),
  amountMinor: z.number().int(),
  currency: z.string(),
  occurredAt: z.string(),
});

const InvoiceSummarySchema = z.looseObject({
  invoiceId: z.string(),
  number: z.number().int(),
  status: z.enum(['open', 'paid', 'void', 'uncollectible']),
  subscriptionId: z.string(),
  cycleId: z.string(),
  currency: z.string(),
  totalMinor: z.number().int(),
});

const unavailable = 'The records store (PostgreSQL) is unreachable or not configured; retry later.';
const common = { auth: true, temporal: false, unavailableDescription: unavailable } as const;
const idParam = { id: SubscriptionIdSchema };

export const LIST_ROUTES = [
  {
    ...common,
    method: 'GET',
    url: '/v1/subscriptions',
    operationId: 'listSubscriptions',
    tag: 'subscriptions',
    summary: 'List subscriptions (current terms), newest first, by status, customer or plan',
    description:
      'From the records store: the current plan and amount after a plan change, and closed subscriptions after ' +
      "Temporal's retention. Eventually consistent: a change shows once the worker has written it (well under a second).",
    query: ListSubscriptionsQuerySchema,
    responses: {
      '200': {
        description: 'A page of subscriptions',
        schema: z.object({
          subscriptions: z.array(SubscriptionRecordSchema),
          nextCursor,
          nextPageToken: z.string().optional().meta({ description: 'Deprecated: the same as `nextCursor`.' }),
        }),
      },
    },
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/subscriptions/:id/cycles',
    operationId: 'listCycles',
    tag: 'cycles',
    summary: "List a subscription's billing cycles, oldest first, each with its invoice",
    description:
      'From the records store: a cycle is listed once it has a Purchase (when it is billed). The live state of one ' +
      'cycle is `GET /v1/cycles/{cycleId}`.',
    params: idParam,
    query: PageQuerySchema,
    responses: {
      '200': { description: 'A page of cycles', schema: z.object({ cycles: z.array(CycleRecordSchema), nextCursor }) },
    },
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/subscriptions/:id/payments',
    operationId: 'listPayments',
    tag: 'subscriptions',
    summary: "List a subscription's payments, newest first: charges, mark-paid, refunds, chargebacks, reversals",
    params: idParam,
    query: PageQuerySchema,
    responses: {
      '200': {
        description: 'A page of payments',
        schema: z.object({ payments: z.array(PaymentRecordSchema), nextCursor }),
      },
    },
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/invoices',
    operationId: 'listInvoices',
    tag: 'books',
    summary: 'List invoices, newest number first, by status, subscription, number or period',
    query: ListInvoicesQuerySchema,
    responses: {
      '200': {
        description: 'A page of invoices',
        schema: z.object({ invoices: z.array(InvoiceSummarySchema), nextCursor }),
      },
    },
  },
] as const satisfies readonly RouteSpec[];

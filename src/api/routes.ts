/**
 * The route table of the HTTP API: one entry per route, with its schemas. The server registers exactly these routes
 * (each with the handler of its operationId) and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import {
  CancelSubscriptionSchema,
  ChangePlanSchema,
  ChargebackSchema,
  CreateSubscriptionSchema,
  CycleIdSchema,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKeySchema,
  MarkCyclePaidSchema,
  PlanSchema,
  RefundSchema,
  SUBSCRIPTION_STATUS_VALUES,
  ScheduleSchema,
  SubscriptionIdSchema,
  UpdatePaymentMethodSchema,
} from '@temporal-billing/client/schemas';
import { ChangeTrailSchema } from '../shared/actor-schema';
import { CYCLE_STATUSES, type CycleStatus } from '../shared/billing-cycle';
import { BOOKS_ROUTES } from './books-routes';
import { ReconciliationIdSchema, ReconciliationRequestSchema, ReconciliationRunSchema } from './reconciliations';

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** Fastify syntax (`/v1/subscriptions/:id`). */
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'subscriptions' | 'cycles' | 'books' | 'operations' | 'webhooks';
  /** Needs a bearer API key. */
  auth: boolean;
  /** Only keys with this scope (403 otherwise); without it, any key, acting for its own merchant. */
  scope?: 'operator';
  /** Talks to Temporal (may answer 503). */
  temporal: boolean;
  /** What a 503 means here, when more than Temporal can cause it. */
  unavailableDescription?: string;
  params?: Record<string, z.ZodType>;
  /** Optional request headers, by their canonical name (`Idempotency-Key`); a bad value answers 400 naming it. */
  headers?: Record<string, z.ZodType>;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Component name of the body schema in the OpenAPI document. */
  bodyName?: string;
  /** A realistic body for the docs page (else Swagger UI makes one up from the schema: random strings, 2^53-1). */
  bodyExample?: unknown;
  bodyContentType?: string;
  responses: Record<string, RouteResponse>;
  errors?: (404 | 409)[];
}

// ---- response shapes (documentation; the TypeScript types in src/shared are the contract) ----

const CycleStatusSchema = z.enum(CYCLE_STATUSES as readonly [CycleStatus, ...CycleStatus[]]);

const SubscriptionStateSchema = z.looseObject({
  subscriptionId: z.string(),
  customerId: z.string(),
  status: z.enum(SUBSCRIPTION_STATUS_VALUES),
  plan: PlanSchema,
  pendingPlan: PlanSchema.optional(),
  schedule: ScheduleSchema,
  nextPeriodIndex: z.number().int(),
  nextChargeAt: z.string().optional(),
  cancelAtPeriodEnd: z.boolean(),
  canceledAt: z.string().optional(),
  cancelReason: z.string().optional(),
  cyclesInFlight: z.array(z.string()),
  cyclesStopping: z
    .array(z.string())
    .optional()
    .meta({
      description:
        'Cycles told to cancel or pause that have not yet confirmed that no charge request will leave them. Present ' +
        'only while that is so: a charge may still be made until it is gone. Read the subscription again until it is absent.',
    }),
  recentCycles: z.array(
    z.looseObject({
      cycleId: z.string(),
      periodIndex: z.number().int(),
      periodStart: z.string(),
      status: CycleStatusSchema,
      amountMinor: z.number().int(),
    }),
  ),
  paymentEvents: z.array(z.looseObject({ kind: z.string(), cycleId: z.string() })),
  paymentMethod: z.string().meta({ description: 'The token in use, masked to its last 4 characters.' }),
  changes: ChangeTrailSchema.optional(),
});

const CycleStateSchema = z.looseObject({
  cycleId: z.string(),
  subscriptionId: z.string(),
  periodIndex: z.number().int(),
  status: CycleStatusSchema,
  purchaseId: z.string().optional(),
  amountMinor: z.number().int(),
  currency: z.string(),
  settlement: z
    .array(
      z.looseObject({
        target: z.enum(['activeplatform', 'gormic']),
        status: z.enum(['recorded', 'failed', 'reversed']),
        externalId: z.string().optional(),
        error: z.string().optional(),
      }),
    )
    .optional(),
  settlementFailed: z.boolean().optional(),
  changes: ChangeTrailSchema.optional(),
});

const CycleViewSchema = z.looseObject({
  cycleId: z.string(),
  subscriptionId: z.string(),
  periodIndex: z.number().int(),
  status: z.union([CycleStatusSchema, z.literal('unknown')]),
  workflowStatus: z.string(),
  state: CycleStateSchema.optional(),
  result: z.looseObject({ status: CycleStatusSchema, changes: ChangeTrailSchema.optional() }).optional(),
});

const PaymentEventSchema = z.looseObject({
  kind: z.enum(['refund', 'chargeback', 'chargeback_reversed']),
  cycleId: z.string(),
  purchaseId: z.string(),
  amountMinor: z.number().int().optional(),
  at: z.string(),
});

const subscription = (description: string): RouteResponse => ({ description, schema: SubscriptionStateSchema });
const idParam = { id: SubscriptionIdSchema };
const idempotencyHeader = { [IDEMPOTENCY_KEY_HEADER]: IdempotencyKeySchema };
const cycleParam = { cycleId: CycleIdSchema };

export const ROUTES = [
  // ---- subscriptions ----
  {
    method: 'POST',
    url: '/v1/subscriptions',
    operationId: 'createSubscription',
    summary: 'Create a subscription (idempotent by subscriptionId)',
    description:
      'The same id with the same terms answers 200 with the existing subscription; different terms answer 409 ' +
      'naming the differing fields. Give customerEmail or qorepayClientId (at least one). A qorepayClientId is ' +
      'looked up at QorePay first: an unknown one answers 400 naming it, and 503 when the gateway cannot be ' +
      'asked; nothing is created in either case. An anchor in the past starts billing at the period containing ' +
      'the creation time (earlier periods are never charged).',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    headers: idempotencyHeader,
    unavailableDescription:
      'Temporal is unreachable, or QorePay could not be asked about qorepayClientId; nothing was created; retry later',
    body: CreateSubscriptionSchema,
    bodyName: 'CreateSubscription',
    // The README's first request.
    bodyExample: {
      subscriptionId: 'sub_42',
      customerId: 'c_1',
      customerEmail: 'c1@example.com',
      recurringToken: 'tok_success_sub42',
      plan: { planId: 'pro', currency: 'NGN', lineItems: [{ name: 'Pro plan', priceMinor: 500000, quantity: 1 }] },
      schedule: { intervalUnit: 'month', intervalCount: 1, anchor: '2026-11-30T09:00', timeZone: 'Africa/Lagos' },
    },
    responses: {
      '201': subscription('Created'),
      '200': subscription('Already existed with the same terms'),
    },
    errors: [409],
  },
  {
    method: 'GET',
    url: '/v1/subscriptions/:id',
    operationId: 'getSubscription',
    summary: 'Get a subscription',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    params: idParam,
    responses: { '200': subscription('The subscription') },
    errors: [404],
  },
  {
    method: 'POST',
    url: '/v1/subscriptions/:id/cancel',
    operationId: 'cancelSubscription',
    summary: 'Cancel now or at the end of the current period',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    headers: idempotencyHeader,
    params: idParam,
    body: CancelSubscriptionSchema,
    bodyName: 'CancelSubscription',
    responses: {
      '200': subscription(
        'The subscription after the change; every cycle in flight confirmed that no charge will leave it',
      ),
      '202': subscription(
        'Accepted, not yet in effect: the cycles in `cyclesStopping` have not confirmed the stop and may still charge; read the subscription until `cyclesStopping` is absent',
      ),
    },
    errors: [404, 409],
  },
  {
    method: 'POST',
    url: '/v1/subscriptions/:id/pause',
    operationId: 'pauseSubscription',
    summary: 'Pause billing',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    headers: idempotencyHeader,
    params: idParam,
    responses: {
      '200': subscription(
        'The subscription after the change; every cycle in flight confirmed that no charge will leave it',
      ),
      '202': subscription(
        'Accepted, not yet in effect: the cycles in `cyclesStopping` have not confirmed the stop and may still charge; read the subscription until `cyclesStopping` is absent',
      ),
    },
    errors: [404, 409],
  },
  {
    method: 'POST',
    url: '/v1/subscriptions/:id/resume',
    operationId: 'resumeSubscription',
    summary: 'Resume billing',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    headers: idempotencyHeader,
    params: idParam,
    responses: { '200': subscription('The subscription after the change') },
    errors: [404, 409],
  },
  {
    method: 'POST',
    url: '/v1/subscriptions/:id/payment-method',
    operationId: 'updatePaymentMethod',
    summary: 'Replace the recurring token (also wakes cycles waiting for one)',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    headers: idempotencyHeader,
    params: idParam,
    body: UpdatePaymentMethodSchema,
    bodyName: 'UpdatePaymentMethod',
    responses: { '200': subscription('The subscription after the change') },
    errors: [404, 409],
  },
  {
    method: 'POST',
    url: '/v1/subscriptions/:id/plan',
    operationId: 'changePlan',
    summary: 'Change the plan from the next period',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    headers: idempotencyHeader,
    params: idParam,
    body: ChangePlanSchema,
    bodyName: 'ChangePlan',
    responses: { '200': subscription('The subscription after the change') },
    errors: [404, 409],
  },
  {
    method: 'POST',
    url: '/v1/subscriptions/:id/refunds',
    operationId: 'refundCycle',
    summary: 'Refund a paid cycle (full when amountMinor is omitted)',
    description:
      'Send an Idempotency-Key header to make the request safe to retry: a repeat with the same key and body ' +
      'answers the first refund record and refunds nothing more.',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    params: idParam,
    headers: idempotencyHeader,
    body: RefundSchema,
    bodyName: 'Refund',
    responses: { '201': { description: 'The refund as recorded', schema: PaymentEventSchema } },
    errors: [404, 409],
  },
  {
    method: 'POST',
    url: '/v1/subscriptions/:id/chargebacks',
    operationId: 'registerChargeback',
    summary: 'Register a chargeback on a paid cycle',
    description:
      'reasonId comes from QorePay GET /purchases/chargeback_reasons/. Send an Idempotency-Key header to make the ' +
      'request safe to retry: a repeat with the same key answers the first chargeback record.',
    tag: 'subscriptions',
    auth: true,
    temporal: true,
    params: idParam,
    headers: idempotencyHeader,
    body: ChargebackSchema,
    bodyName: 'Chargeback',
    responses: { '201': { description: 'The chargeback as recorded', schema: PaymentEventSchema } },
    errors: [404, 409],
  },
  // ---- cycles ----
  {
    method: 'GET',
    url: '/v1/cycles/:cycleId',
    operationId: 'getCycle',
    summary: 'Get a billing cycle',
    tag: 'cycles',
    auth: true,
    temporal: true,
    params: cycleParam,
    responses: { '200': { description: 'The cycle', schema: CycleViewSchema } },
    errors: [404],
  },
  {
    method: 'POST',
    url: '/v1/cycles/:cycleId/mark-paid',
    operationId: 'markCyclePaid',
    summary: 'Record an out-of-band payment for a cycle',
    tag: 'cycles',
    auth: true,
    scope: 'operator',
    temporal: true,
    headers: idempotencyHeader,
    params: cycleParam,
    body: MarkCyclePaidSchema,
    bodyName: 'MarkCyclePaid',
    responses: { '200': { description: 'The cycle after the change', schema: CycleStateSchema } },
    errors: [404, 409],
  },
  {
    method: 'POST',
    url: '/v1/cycles/:cycleId/retry',
    operationId: 'retryCycleNow',
    summary: 'Charge a cycle in retry_scheduled now',
    tag: 'cycles',
    auth: true,
    temporal: true,
    headers: idempotencyHeader,
    params: cycleParam,
    responses: { '200': { description: 'The cycle after the attempt', schema: CycleStateSchema } },
    errors: [404, 409],
  },
  {
    method: 'POST',
    url: '/v1/cycles/:cycleId/retry-settlement',
    operationId: 'retryCycleSettlement',
    summary: 'Retry recording a paid cycle in the settlement targets that refused it',
    tag: 'cycles',
    auth: true,
    scope: 'operator',
    temporal: true,
    headers: idempotencyHeader,
    params: cycleParam,
    responses: { '200': { description: 'The cycle after the settlement attempt', schema: CycleStateSchema } },
    errors: [404, 409],
  },
  // ---- operations ----
  {
    method: 'POST',
    url: '/v1/reconciliations',
    operationId: 'runReconciliation',
    summary: 'Run a reconciliation sweep now (operations)',
    description:
      'Starts the sweep the Schedule also runs: every open billing cycle and those closed since `since` are checked ' +
      'against the gateway and the settlement targets; safe fixes are made (a waiting cycle is signalled the outcome ' +
      'the gateway has; a missing settlement record is written once) and the rest is reported and alerted. Answers ' +
      'at once with the run id; read the summary at the Location.',
    tag: 'operations',
    auth: true,
    scope: 'operator',
    temporal: true,
    body: ReconciliationRequestSchema,
    bodyName: 'RunReconciliation',
    responses: { '202': { description: 'Started', schema: ReconciliationRunSchema } },
  },
  {
    method: 'GET',
    url: '/v1/reconciliations/:reconciliationId',
    operationId: 'getReconciliation',
    summary: 'A reconciliation run: its summary so far, or in full once finished (operations)',
    tag: 'operations',
    auth: true,
    scope: 'operator',
    temporal: true,
    params: { reconciliationId: ReconciliationIdSchema },
    responses: { '200': { description: 'The run', schema: ReconciliationRunSchema } },
    errors: [404],
  },
  {
    method: 'GET',
    url: '/api',
    operationId: 'index',
    summary: 'What this API is, and where to go next',
    tag: 'operations',
    auth: false,
    temporal: false,
    responses: {
      '200': {
        description: 'Name, version and links',
        schema: z.object({ name: z.string(), version: z.string(), links: z.record(z.string(), z.string()) }),
      },
    },
  },
  {
    method: 'GET',
    url: '/openapi.json',
    operationId: 'openApiDocument',
    summary: 'This OpenAPI document',
    tag: 'operations',
    auth: false,
    temporal: false,
    responses: { '200': { description: 'OpenAPI 3.1 document' } },
  },
  {
    method: 'GET',
    url: '/healthz',
    operationId: 'health',
    summary: 'Liveness: the process is up',
    tag: 'operations',
    auth: false,
    temporal: false,
    responses: { '200': { description: 'Up', schema: z.object({ status: z.literal('ok') }) } },
  },
  {
    method: 'GET',
    url: '/readyz',
    operationId: 'ready',
    summary: 'Readiness: Temporal is reachable',
    tag: 'operations',
    auth: false,
    temporal: true,
    responses: {
      '200': { description: 'Ready', schema: z.object({ status: z.literal('ready') }) },
      '503': { description: 'Temporal unreachable', schema: z.object({ status: z.literal('unavailable') }) },
    },
  },
  // ---- webhooks ----
  {
    method: 'POST',
    url: '/webhooks/qorepay',
    operationId: 'qorepayWebhook',
    summary: 'QorePay callbacks (signed with X-Signature; no API key)',
    description:
      'The raw body is verified (RSA PKCS#1 v1.5, SHA-256) against the QorePay company key and configured webhook ' +
      'keys; unverified calls answer 401 and change nothing. 503 asks the gateway to retry.',
    tag: 'webhooks',
    auth: false,
    temporal: true,
    body: z.looseObject({ event_type: z.string() }),
    responses: {
      '200': {
        description: 'Accepted (routed, or ignored)',
        schema: z.object({ ok: z.boolean(), outcome: z.string() }),
      },
      '400': {
        description: 'Verified but not a known event',
        schema: z.object({ ok: z.boolean(), outcome: z.string() }),
      },
      '401': { description: 'Signature missing or wrong', schema: z.object({ ok: z.boolean(), outcome: z.string() }) },
      '503': { description: 'Retry later', schema: z.object({ ok: z.boolean(), outcome: z.string() }) },
    },
  },
  ...BOOKS_ROUTES,
] as const satisfies readonly RouteSpec[];

export type OperationId = (typeof ROUTES)[number]['operationId'];

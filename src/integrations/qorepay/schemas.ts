/**
 * zod schemas for the QorePay (CHIP Collect) objects the engine depends on.
 *
 * Objects are loose: unknown fields pass through untouched, so a gateway that adds fields does not break us.
 * The fields the engine reads are checked strictly.
 */
import { z } from 'zod';
import { PURCHASE_STATUSES, statusesWhere, type PurchaseStatus } from '../../domain/purchase-status';

/** Every Purchase status and its meaning: one table, src/domain/purchase-status.ts. */
export { PURCHASE_STATUSES, type PurchaseStatus };

export const PurchaseStatusSchema = z.enum(PURCHASE_STATUSES);

/** Statuses in which the money has been taken (even if later reversed). */
export const PAID_STATUSES: readonly PurchaseStatus[] = statusesWhere('moneyTaken');

const unixSeconds = z.number().int().nonnegative();
const minorUnits = z.number().int();

export const ProductSchema = z.looseObject({
  name: z.string(),
  price: minorUnits,
  quantity: z.string().optional(),
  discount: z.number().optional(),
  tax_percent: z.string().optional(),
  category: z.string().nullish(),
});
export type Product = z.infer<typeof ProductSchema>;

export const AttemptErrorSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
});

export const AttemptSchema = z.looseObject({
  type: z.string(),
  successful: z.boolean(),
  error: AttemptErrorSchema.nullish(),
  payment_method: z.string().nullish(),
  processing_time: z.number().nullish(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

export const TransactionDataSchema = z.looseObject({
  payment_method: z.string().nullish(),
  attempts: z.array(AttemptSchema).default([]),
});

export const PaymentDetailsSchema = z.looseObject({
  payment_type: z.string(),
  amount: minorUnits,
  currency: z.string(),
  net_amount: minorUnits.optional(),
  fee_amount: minorUnits.optional(),
  paid_on: unixSeconds.nullish(),
});

export const StatusHistoryEntrySchema = z.looseObject({
  status: z.string(),
  timestamp: unixSeconds,
  related_object: z.looseObject({ type: z.string(), id: z.string() }).nullish(),
});

export const PurchaseSchema = z.looseObject({
  type: z.literal('purchase').optional(),
  id: z.string().min(1),
  status: PurchaseStatusSchema,
  reference: z.string().nullish(),
  brand_id: z.string().nullish(),
  client_id: z.string().nullish(),
  purchase: z.looseObject({
    currency: z.string(),
    total: minorUnits,
    products: z.array(ProductSchema),
    metadata: z.record(z.string(), z.unknown()).nullish(),
  }),
  payment: PaymentDetailsSchema.nullish(),
  transaction_data: TransactionDataSchema.nullish(),
  status_history: z.array(StatusHistoryEntrySchema).optional(),
  is_recurring_token: z.boolean().default(false),
  recurring_token: z.string().nullish(),
  refundable_amount: minorUnits.default(0),
  marked_as_paid: z.boolean().default(false),
  created_on: unixSeconds,
  updated_on: unixSeconds,
});
export type Purchase = z.infer<typeof PurchaseSchema>;

export const PaymentSchema = z.looseObject({
  type: z.literal('payment'),
  id: z.string().min(1),
  status: z.string().optional(),
  payment: PaymentDetailsSchema,
  related_to: z.looseObject({ type: z.string(), id: z.string() }).nullish(),
  reference: z.string().nullish(),
  created_on: unixSeconds,
  updated_on: unixSeconds,
});
export type Payment = z.infer<typeof PaymentSchema>;

export const ClientRecurringTokenSchema = z.looseObject({
  id: z.string().min(1),
  payment_method: z.string().nullish(),
  description: z.string().nullish(),
  created_on: unixSeconds.optional(),
});
export type ClientRecurringToken = z.infer<typeof ClientRecurringTokenSchema>;

/** A platform Client (`GET /clients/{id}/`); only the fields we read are checked. */
export const ClientSchema = z.looseObject({
  id: z.string().min(1),
  email: z.string().nullish(),
});
export type QorePayClientRecord = z.infer<typeof ClientSchema>;

export const PageSchema = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    results: z.array(item),
    next: z.string().nullish(),
    previous: z.string().nullish(),
  });

export const ChargebackReasonSchema = z
  .looseObject({
    id: z.union([z.string(), z.number()]),
    name: z.string().optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    reason: z.string().optional(),
    label: z.string().optional(),
  })
  .transform((r) => ({
    id: String(r.id),
    name: r.name ?? r.title ?? r.description ?? r.reason ?? r.label ?? String(r.id),
  }));
export type ChargebackReason = z.output<typeof ChargebackReasonSchema>;

export const WebhookSchema = z.looseObject({
  id: z.string(),
  callback: z.string(),
  public_key: z.string(),
  events: z.array(z.string()).optional(),
  all_events: z.boolean().optional(),
});
export type Webhook = z.infer<typeof WebhookSchema>;

/** Known webhook event names (CHIP `events` enum). Other names still parse, by their prefix. */
export const PURCHASE_EVENT_TYPES = [
  'purchase.created',
  'purchase.paid',
  'purchase.payment_failure',
  'purchase.pending_charge',
  'purchase.pending_execute',
  'purchase.cancelled',
  'purchase.viewed',
  'purchase.settled',
  'purchase.preauthorized',
  'purchase.pending_refund',
  'purchase.refund_failure',
  'purchase.hold',
  'purchase.captured',
  'purchase.pending_capture',
  'purchase.capture_failure',
  'purchase.released',
  'purchase.pending_release',
  'purchase.release_failure',
  'purchase.recurring_token_deleted',
  'purchase.pending_recurring_token_delete',
  'purchase.subscription_charge_failure',
] as const;
export const PAYMENT_EVENT_TYPES = ['payment.refunded', 'payment.charged_back', 'payment.chargeback_reversed'] as const;

export type QorePayWebhookEvent =
  | { objectType: 'purchase'; eventType: string; purchase: Purchase }
  | { objectType: 'payment'; eventType: string; payment: Payment }
  | { objectType: 'other'; eventType: string; body: Record<string, unknown> };

const EventEnvelopeSchema = z.looseObject({ event_type: z.string().min(1) });

/**
 * Parses a webhook body that has already been signature-verified and JSON-decoded.
 * `purchase.*` events carry a Purchase, `payment.*` a Payment; other families (payout.*, billing_template_client.*)
 * are returned as `other`. Throws a ZodError when the body does not match.
 */
export function parseWebhookEvent(json: unknown): QorePayWebhookEvent {
  const envelope = EventEnvelopeSchema.parse(json);
  const eventType = envelope.event_type;
  if (eventType.startsWith('purchase.')) {
    return { objectType: 'purchase', eventType, purchase: PurchaseSchema.parse(json) };
  }
  if (eventType.startsWith('payment.')) {
    return { objectType: 'payment', eventType, payment: PaymentSchema.parse(json) };
  }
  return { objectType: 'other', eventType, body: envelope };
}

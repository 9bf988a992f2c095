/** zod schemas for ActivePlatform v1 vendor API responses (seed 003). Unknown fields pass through. */
import { z } from 'zod';

export const ACTIVEPLATFORM_PAYMENT_STATUSES = [
  'waiting for payment',
  'completed',
  'receipt creating',
  'receipt sent',
  'cancelled',
] as const;
export type ActivePlatformPaymentStatus = (typeof ACTIVEPLATFORM_PAYMENT_STATUSES)[number];

export const activePlatformPaymentSchema = z
  .object({
    id: z.number().int(),
    document_id: z.string().nullable().optional(),
    // A string rather than the enum: a status we do not know yet must not make a successful write look failed.
    status: z.string(),
    account_id: z.number().int(),
    created_at: z.string().nullable().optional(),
    updated_at: z.string().nullable().optional(),
    /** Major units, a JSON float (seed 003). Convert with `paymentTotalMinor`. */
    total: z.number(),
    comment: z.string().nullable().optional(),
    requester_ip: z.string().nullable().optional(),
    manager_id: z.number().int().nullable().optional(),
    payment_method_id: z.number().int().nullable().optional(),
    payment_method_name: z.string().nullable().optional(),
    orders: z.array(z.unknown()).optional(),
  })
  .passthrough();
export type ActivePlatformPayment = z.infer<typeof activePlatformPaymentSchema>;

/** The list endpoint is inferred (not in the seed): a bare array, or an object wrapping it under `payments`/`data`. */
export const activePlatformPaymentListSchema = z.union([
  z.array(activePlatformPaymentSchema),
  z.object({ payments: z.array(activePlatformPaymentSchema) }),
  z.object({ data: z.array(activePlatformPaymentSchema) }),
]);

/** Error bodies are undocumented; we read whatever of these shapes is present. */
export const activePlatformErrorBodySchema = z
  .object({
    error: z.union([
      z.string(),
      z.object({ code: z.string().optional(), message: z.string().optional() }).passthrough(),
    ]),
    errors: z.unknown(),
    message: z.string(),
    code: z.string(),
  })
  .partial()
  .passthrough();

/** zod schemas for Gormic Order Management payment responses (seed 004). Unknown fields pass through. */
import { z } from 'zod';

export const GORMIC_PAYMENT_TYPES = ['receipt', 'refund'] as const;
export type GormicPaymentType = (typeof GORMIC_PAYMENT_TYPES)[number];
export const GORMIC_PAYMENT_STATUSES = ['complete', 'pending', 'progress', 'reversed'] as const;
export type GormicPaymentStatus = (typeof GORMIC_PAYMENT_STATUSES)[number];

/** Success envelope `{app, service, warnings[], instanceId, requestId, data}`. */
export function gormicEnvelope<D extends z.ZodType>(data: D) {
  return z
    .object({
      app: z.string().optional(),
      service: z.string().optional(),
      warnings: z.array(z.unknown()).optional(),
      instanceId: z.string().optional(),
      requestId: z.string().optional(),
      data,
    })
    .passthrough();
}

const nullableString = z.string().nullable().optional();

export const gormicPaymentItemSchema = z
  .object({
    id: z.string(),
    // An older doc version encodes type and status as integers: accept both rather than fail a committed write.
    type: z.union([z.string(), z.number()]),
    status: z.union([z.string(), z.number()]),
    /** Units as configured on the client (`amountFormat`); convert with `GormicClient.amountToMinor`. */
    amount: z.number().nullable().optional(),
    completedAt: nullableString,
    reversedAt: nullableString,
    custom: z.boolean().nullable().optional(),
    sourcePaymentId: nullableString,
    transactionRef: nullableString,
    attrs: z.record(z.string(), z.unknown()).nullable().optional(),
    invoiceId: nullableString,
    note: nullableString,
    createdAt: nullableString,
    createdVia: nullableString,
    createdBy: nullableString,
    updatedAt: nullableString,
    updatedVia: nullableString,
    updatedBy: nullableString,
    can: z.array(z.string()).optional(),
    methodUid: nullableString,
  })
  .passthrough();
export type GormicPaymentItem = z.infer<typeof gormicPaymentItemSchema>;

export const gormicPaymentMethodSchema = z
  .object({
    id: z.string(),
    locales: z
      .record(z.string(), z.object({ name: z.string().optional(), description: z.string().optional() }).passthrough())
      .optional(),
    visible: z.boolean().optional(),
  })
  .passthrough();
export type GormicPaymentMethod = z.infer<typeof gormicPaymentMethodSchema>;

export const gormicCreatedSchema = gormicEnvelope(z.object({ id: z.string() }).passthrough());
export const gormicSuccessSchema = gormicEnvelope(z.object({ success: z.boolean() }).passthrough());
export const gormicItemsSchema = gormicEnvelope(
  z
    .object({
      items: z.array(gormicPaymentItemSchema),
      paymentMethods: z.array(gormicPaymentMethodSchema).optional().default([]),
    })
    .passthrough(),
);
export interface GormicItemsResult {
  items: GormicPaymentItem[];
  paymentMethods: GormicPaymentMethod[];
}

export const gormicErrorBodySchema = z
  .object({
    error: z.object({ code: z.union([z.string(), z.number()]), message: z.string().optional() }).passthrough(),
  })
  .passthrough();

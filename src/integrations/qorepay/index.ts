export { QorePayClient } from './client';
export type {
  ChargebackInput,
  ChargebackReasonSummary,
  CreatePurchaseInput,
  PurchaseClientDetails,
  PurchaseProductInput,
  QorePayClientConfig,
  RefundResult,
} from './client';
export * from './errors';
export { parseRetryAfter } from '../http';
export type { CallOptions, Logger } from '../http';
export {
  PAID_STATUSES,
  PURCHASE_STATUSES,
  PaymentSchema,
  PurchaseSchema,
  PurchaseStatusSchema,
  parseWebhookEvent,
} from './schemas';
export type { ClientRecurringToken, Payment, Purchase, PurchaseStatus, QorePayWebhookEvent } from './schemas';
export { QorePayWebhookVerifier, verifyQorePaySignature } from './webhook-signature';
export type { QorePayWebhookVerifierOptions, WebhookVerification } from './webhook-signature';
export { snapshotOf, type PurchaseSnapshot } from './snapshot';

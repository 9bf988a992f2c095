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
export {
  AlreadyPaidError,
  ChargeDeclinedError,
  InvalidRecurringTokenError,
  NotFoundError,
  QorePayError,
  RateLimitedError,
  TransientError,
  UnauthorizedError,
  UnexpectedError,
  ValidationError,
  isQorePayError,
  nonFieldCodes,
  parseErrorBody,
  parseRetryAfter,
} from './errors';
export type { AnyQorePayError, FieldError, QorePayErrorKind } from './errors';
export type { Logger } from './logger';
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

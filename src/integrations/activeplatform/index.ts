export {
  ActivePlatformClient,
  paymentTotalMinor,
  type ActivePlatformClientOptions,
  type ActivePlatformReversal,
  type CreateActivePlatformPaymentInput,
  type ReverseActivePlatformPaymentInput,
  type SettlementLogger,
} from './client';
export {
  ACTIVEPLATFORM_ERROR_KINDS,
  ActivePlatformError,
  isActivePlatformError,
  type ActivePlatformErrorDetails,
  type ActivePlatformErrorKind,
} from './errors';
export {
  ACTIVEPLATFORM_PAYMENT_STATUSES,
  activePlatformPaymentSchema,
  type ActivePlatformPayment,
  type ActivePlatformPaymentStatus,
} from './schemas';

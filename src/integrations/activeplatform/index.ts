export {
  ActivePlatformClient,
  paymentTotalMinor,
  type ActivePlatformClientOptions,
  type ActivePlatformReversal,
  type CreateActivePlatformPaymentInput,
  type ReverseActivePlatformPaymentInput,
} from './client';
export {
  ACTIVEPLATFORM_ERROR_KINDS,
  isActivePlatformError,
  type ActivePlatformError,
  type ActivePlatformErrorKind,
} from './errors';
export {
  ACTIVEPLATFORM_PAYMENT_STATUSES,
  activePlatformPaymentSchema,
  type ActivePlatformPayment,
  type ActivePlatformPaymentStatus,
} from './schemas';

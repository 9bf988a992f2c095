export {
  GormicClient,
  type ConfirmGormicPaymentParams,
  type CreateGormicPaymentParams,
  type CreateGormicRefundParams,
  type GormicAmountFormat,
  type GormicClientOptions,
  type UpdateGormicPaymentParams,
} from './client';
export {
  GORMIC_BUSINESS_CODES,
  GORMIC_ERROR_KINDS,
  GORMIC_VALIDATION_CODES,
  isGormicError,
  type GormicBusinessCode,
  type GormicError,
  type GormicErrorKind,
} from './errors';
export {
  GORMIC_PAYMENT_STATUSES,
  GORMIC_PAYMENT_TYPES,
  gormicPaymentItemSchema,
  type GormicItemsResult,
  type GormicPaymentItem,
  type GormicPaymentMethod,
  type GormicPaymentStatus,
  type GormicPaymentType,
} from './schemas';

export { MERCHANT_EVENT_TYPES, isMerchantEventType } from './events';
export type { MerchantEvent, MerchantEventType } from './events';
export { MerchantWebhookError, classifyStatus, isMerchantWebhookError } from './errors';
export type { MerchantWebhookErrorKind } from './errors';
export {
  DEFAULT_TOLERANCE_SEC,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  signPayload,
  verifyMerchantWebhook,
} from './signature';
export type { MerchantWebhookVerification, VerificationFailureReason, VerifyMerchantWebhookInput } from './signature';
export { DEFAULT_TIMEOUT_MS, DEFAULT_USER_AGENT, MerchantWebhookSender, asMerchantNotifier } from './sender';
export type { MerchantWebhookSenderConfig } from './sender';

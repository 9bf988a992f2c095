/**
 * The merchant library: what a merchant backend imports (`import { connectToDevStack } from '@temporal-billing/client'`).
 * At most 25 names, the ones a first program needs; every other type is on `@temporal-billing/client/types`, the
 * request schemas on `/schemas`, and what only the engine's own processes do (webhook ingress, operators) on
 * `/engine`. Only what the package's `exports` map lists is public; other files may change without notice.
 */
export { BillingClient, type BillingClientOptions, type BillingConnectOptions } from './billing-client';
export { DEFAULT_MERCHANT_ID, type CustomerVerifier } from './context';
export { connectToDevStack, type DevStackOptions } from './dev-stack';
export type { IdempotentRequestOptions } from './idempotency';
export {
  BillingError,
  BillingValidationError,
  BillingNotFoundError,
  BillingConflictError,
  BillingUnavailableError,
  isBillingError,
  BILLING_ERROR_OUTCOMES,
  type BillingErrorCode,
} from './errors';
export type { CreateSubscriptionResult, CycleView } from './views';
export type { CreateSubscriptionInput } from './schemas';
export type { SubscriptionState } from '../../../src/shared/subscription';
// Payload encryption: a client must encode payloads exactly as the deployment's worker does (`payloadKeys` of
// `BillingClient.connect`: the deployment's PAYLOAD_KEYS, or parsed with `parsePayloadKeys`).
export {
  AesGcmPayloadCodec,
  encryptedDataConverter,
  parsePayloadKeys,
  PlaintextPayloadError,
  type PayloadKey,
} from './payload-codec';

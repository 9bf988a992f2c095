/**
 * The merchant library: what a merchant backend imports (`import { BillingClient } from 'temporal-billing-engine'`).
 * Only what is exported here is public; everything else in src/client may change without notice.
 */
export {
  BillingClient,
  DEFAULT_MERCHANT_ID,
  SUBSCRIPTION_WORKFLOW_TYPE,
  BILLING_CYCLE_WORKFLOW_TYPE,
  idempotentUpdateId,
  type BillingClientOptions,
  type BillingConnectOptions,
  type CustomerVerifier,
  type IdempotentRequestOptions,
  type SettlementAllowList,
} from './billing-client';
export { connectToDevStack, type DevStackOptions } from './dev-stack';
export {
  BillingError,
  BillingValidationError,
  BillingNotFoundError,
  BillingConflictError,
  BillingUnavailableError,
  isBillingError,
  type BillingErrorCode,
} from './errors';
export { maskToken, maskCycleState } from './views';
export type {
  CancelOptions,
  ChargebackOptions,
  CreateSubscriptionResult,
  CycleView,
  ListSubscriptionsFilter,
  MarkCyclePaidOptions,
  PlanInput,
  RefundOptions,
  SubscriptionPage,
  SubscriptionSummary,
  WorkflowRunStatus,
} from './views';
export {
  CreateSubscriptionSchema,
  IDEMPOTENCY_KEY_HEADER,
  type CreateSubscriptionBody,
  type CreateSubscriptionInput,
  type FieldIssue,
} from './schemas';
export type { BillingCycleState, BillingCycleResult, CycleStatus } from '../../../src/shared/billing-cycle';
export type { SubscriptionState, SubscriptionStatus, PaymentEventRecord } from '../../../src/shared/subscription';
// Payload encryption: a client must encode payloads exactly as the deployment's worker does (`dataConverter` of
// `BillingClient.connect`); PAYLOAD_KEYS of the deployment, parsed with `parsePayloadKeys`.
export {
  AesGcmPayloadCodec,
  encryptedDataConverter,
  parsePayloadKeys,
  PayloadKeyUnknownError,
  PlaintextPayloadError,
  type PayloadKey,
} from './payload-codec';

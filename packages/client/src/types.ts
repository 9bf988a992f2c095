/**
 * `@temporal-billing/client/types`: every type of the library's surface, for code that names them (the main entry
 * exports only the few a first program needs). Types only: importing this adds nothing at run time.
 */
export type { BillingClientOptions, CustomerVerifier, SettlementAllowList } from './context';
export type { BillingConnectOptions } from './billing-client';
export type { Subscriptions } from './subscriptions';
export type { Cycles } from './cycles';
export type { IdempotentRequestOptions } from './idempotency';
export type { DevStackOptions } from './dev-stack';
export type { BillingErrorCode } from './errors';
export type { PayloadKey } from './payload-codec';
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
export type { CreateSubscriptionBody, CreateSubscriptionInput, FieldIssue } from './schemas';
export type {
  BillingCycleState,
  BillingCycleResult,
  CycleStatus,
  GatewayEvent,
} from '../../../src/shared/billing-cycle';
export type {
  SubscriptionState,
  SubscriptionStatus,
  PaymentEventRecord,
  PaymentEventSignal,
} from '../../../src/shared/subscription';
export type { ReconciliationSummary } from '../../../src/shared/reconciliation';
export type { ReconciliationRun } from '../../../src/reconciliation';
export type { BillingOperatorOptions } from './engine';

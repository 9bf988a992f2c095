/**
 * Contracts of the subscription workflow (one per subscription, long-lived), shared by the workflow, the
 * BillingClient and the HTTP API.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BillingSchedule } from '../domain/calendar';
import type { DunningPolicy } from '../domain/dunning';
import type { CycleStatus, LineItem, SettlementRecord, SettlementTarget } from './billing-cycle';

export type SubscriptionStatus = 'trialing' | 'active' | 'past_due' | 'paused' | 'unpaid' | 'canceled';
export const SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = [
  'trialing',
  'active',
  'past_due',
  'paused',
  'unpaid',
  'canceled',
];

export function subscriptionWorkflowId(subscriptionId: string): string {
  return `subscription:${subscriptionId}`;
}

export interface Plan {
  planId: string;
  /** ISO 4217 code. */
  currency: string;
  lineItems: LineItem[];
}

/** What happens after a cycle finally fails: stop starting new cycles (`unpaid`), cancel, or keep billing. */
export type EscalationPolicy = 'mark_unpaid' | 'cancel' | 'keep_past_due';

/** The terms a merchant registers; creating twice with the same id and the same terms is idempotent. */
export interface SubscriptionTerms {
  customerId: string;
  customerEmail?: string;
  qorepayClientId?: string;
  /** Id of a paid QorePay Purchase with is_recurring_token: true. */
  recurringToken: string;
  plan: Plan;
  schedule: BillingSchedule;
  /** Overrides of the default dunning policy (reference/billing-policy.md). */
  dunning?: Partial<DunningPolicy>;
  escalation?: EscalationPolicy;
  settlementTargets?: SettlementTarget[];
  /** Bill this many periods, then end (omitted = until canceled). */
  maxPeriods?: number;
}

export interface SubscriptionInput extends SubscriptionTerms {
  subscriptionId: string;
}

export interface CycleSummary {
  cycleId: string;
  periodIndex: number;
  periodStart: string;
  status: CycleStatus;
  purchaseId?: string;
  amountMinor: number;
  failureReason?: string;
  currency?: string;
  /** What the cycle wrote into its settlement targets (reversed on refund and chargeback). */
  settlement?: SettlementRecord[];
}

/** A settlement reversal written (or attempted) for one (cycle, payment event, target). */
export interface SettlementReversalRecord {
  /** `{cycleId}:refund:{paymentId|full}` or `{cycleId}:chargeback`: one reversal per key and target. */
  key: string;
  cycleId: string;
  kind: 'refund' | 'chargeback';
  target: SettlementTarget['kind'];
  /** Index of the record in the cycle's settlement list. */
  targetIndex: number;
  status: 'reversed' | 'failed';
  amountMinor: number;
  externalId?: string;
  error?: string;
  at: string;
}

export interface PaymentEventRecord {
  kind: 'refund' | 'chargeback' | 'chargeback_reversed';
  cycleId: string;
  purchaseId: string;
  paymentId?: string;
  amountMinor?: number;
  at: string;
}

export interface SubscriptionState {
  subscriptionId: string;
  customerId: string;
  status: SubscriptionStatus;
  plan: Plan;
  /** A plan change waiting for the next period. */
  pendingPlan?: Plan;
  schedule: BillingSchedule;
  nextPeriodIndex: number;
  nextChargeAt?: string;
  cancelAtPeriodEnd: boolean;
  canceledAt?: string;
  cancelReason?: string;
  cyclesInFlight: string[];
  recentCycles: CycleSummary[];
  paymentEvents: PaymentEventRecord[];
  settlementReversals?: SettlementReversalRecord[];
  /** The token in use, masked to its last 4 characters (the full token is only in the input). */
  paymentMethod: string;
}

/** The state carried across continue-as-new (full, unlike the query view). */
export interface SubscriptionCarryOver {
  status: SubscriptionStatus;
  recurringToken: string;
  plan: Plan;
  pendingPlan?: Plan;
  nextPeriodIndex: number;
  cancelAtPeriodEnd: boolean;
  /** Epoch ms when a cancel at period end takes effect (the end of the period current when it was asked). */
  cancelAt?: number;
  cancelReason?: string;
  canceledAt?: string;
  recentCycles: CycleSummary[];
  paymentEvents: PaymentEventRecord[];
  /** Optional so carry-overs from before settlement reversal continue unchanged. */
  settlementReversals?: SettlementReversalRecord[];
  cyclesInFlight: { cycleId: string; periodIndex: number; periodStart: string; amountMinor: number }[];
  /** Epoch ms of recent attempts with the current token (per-token 30-day cap). */
  tokenAttempts: number[];
  /** Cycles in dunning that keep the subscription past_due. */
  failingCycles?: string[];
  statusBeforePause?: SubscriptionStatus;
}

export interface CancelSubscriptionInput {
  mode: 'now' | 'period_end';
  reason?: string;
}
export interface ChangePlanInput {
  plan: Plan;
}
export interface UpdatePaymentMethodInput {
  recurringToken: string;
}
export interface RefundInput {
  cycleId: string;
  /** Minor units; omitted = full refund. */
  amountMinor?: number;
  reason?: string;
}
export interface ChargebackInput {
  cycleId: string;
  reasonId: string;
  arn: string;
  /** Unix seconds as a string, as the gateway wants it. */
  date: string;
  reference: string;
}

/** A verified refund/chargeback event from the gateway, routed by the webhook ingress. */
export interface PaymentEventSignal {
  kind: PaymentEventRecord['kind'];
  cycleId: string;
  purchaseId: string;
  paymentId: string;
  amountMinor?: number;
}

export const cancelSubscriptionUpdate = defineUpdate<SubscriptionState, [CancelSubscriptionInput]>(
  'cancelSubscription',
);
export const pauseSubscriptionUpdate = defineUpdate<SubscriptionState, []>('pause');
export const resumeSubscriptionUpdate = defineUpdate<SubscriptionState, []>('resume');
export const changePlanUpdate = defineUpdate<SubscriptionState, [ChangePlanInput]>('changePlan');
export const updatePaymentMethodUpdate = defineUpdate<SubscriptionState, [UpdatePaymentMethodInput]>(
  'updatePaymentMethod',
);
export const refundUpdate = defineUpdate<PaymentEventRecord, [RefundInput]>('refund');
export const chargebackUpdate = defineUpdate<PaymentEventRecord, [ChargebackInput]>('registerChargeback');
export const paymentEventSignal = defineSignal<[PaymentEventSignal]>('paymentEvent');
export const subscriptionStateQuery = defineQuery<SubscriptionState>('subscriptionState');

/** Sent by a billing cycle to its subscription: on its first decline, and when it finishes. */
export interface CycleUpdate {
  cycleId: string;
  periodIndex: number;
  status: CycleStatus;
  final: boolean;
  purchaseId?: string;
  amountMinor: number;
  failureReason?: string;
  /** Epoch ms of the charge attempts the cycle made (per-token 30-day cap across cycles). */
  attemptTimes: number[];
  token: string;
  currency?: string;
  /** Settlement records of a paid cycle (final updates only; sent again after an operator's settlement retry). */
  settlement?: SettlementRecord[];
}
export const cycleUpdateSignal = defineSignal<[CycleUpdate]>('cycleUpdate');

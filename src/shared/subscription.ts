/**
 * Contracts of the subscription workflow (one per subscription, long-lived), shared by the workflow, the
 * BillingClient and the HTTP API.
 */
import { defineQuery, defineSignal, defineUpdate } from './message-definitions';
import type { BillingSchedule } from '../domain/calendar';
import type { DunningPolicy } from '../domain/dunning';
import type {
  CycleReport,
  CycleSummary,
  EscalationPolicy,
  PaymentEventRecord,
  SettlementReversalRecord,
  SubscriptionMachineState,
  SubscriptionStatus,
} from '../domain/subscription';
import type { ChangeActor, ChangeActorArg, ChangeRecord } from './actor';
import type { LineItem, SettlementTarget } from './billing-cycle';

export {
  SUBSCRIPTION_STATUSES,
  type SubscriptionStatus,
  type EscalationPolicy,
  type CycleSummary,
  type PaymentEventRecord,
  type SettlementReversalRecord,
  type CycleReport as CycleUpdate,
} from '../domain/subscription';

export function subscriptionWorkflowId(subscriptionId: string): string {
  return `subscription:${subscriptionId}`;
}

export interface Plan {
  planId: string;
  /** ISO 4217 code. */
  currency: string;
  lineItems: LineItem[];
}

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
  /**
   * Deployment configuration, not a merchant's term, passed to each cycle (BillingCycleInput.merchantNotifications).
   * Absent (what the API starts): the workers, which know whether `MERCHANT_WEBHOOK_URL` is configured, decide.
   * `false`: no `notifyMerchant` is scheduled; `true`: every notification schedules one.
   */
  merchantNotifications?: boolean;
  /** Who created the subscription (the first entry of its change trail); not a term: never compared. */
  createdBy?: ChangeActor;
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
  /**
   * Cycles told to cancel or pause that have not yet confirmed that no charge request will leave them. Present only
   * while that is so: until it is gone a charge may still be made, so a cancel or pause answered with it is accepted
   * but not yet in effect (the HTTP API answers 202); read the subscription again until it is absent.
   */
  cyclesStopping?: string[];
  recentCycles: CycleSummary[];
  paymentEvents: PaymentEventRecord[];
  settlementReversals?: SettlementReversalRecord[];
  /** The token in use, masked to its last 4 characters (the full token is only in the input). */
  paymentMethod: string;
  /** Who changed the subscription and when, oldest first (the last 50 changes; see src/domain/change-trail.ts). */
  changes?: ChangeRecord[];
}

/** The state carried across continue-as-new: the machine's whole state. */
export type SubscriptionCarryOver = SubscriptionMachineState;

export interface CancelSubscriptionInput extends ChangeActorArg {
  mode: 'now' | 'period_end';
  reason?: string;
}
export interface ChangePlanInput extends ChangeActorArg {
  plan: Plan;
}
export interface UpdatePaymentMethodInput extends ChangeActorArg {
  recurringToken: string;
}
export interface RefundInput extends ChangeActorArg {
  cycleId: string;
  /** Minor units; omitted = full refund. */
  amountMinor?: number;
  reason?: string;
}
export interface ChargebackInput extends ChangeActorArg {
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
export const pauseSubscriptionUpdate = defineUpdate<SubscriptionState, [ChangeActorArg]>('pause');
export const resumeSubscriptionUpdate = defineUpdate<SubscriptionState, [ChangeActorArg]>('resume');
export const changePlanUpdate = defineUpdate<SubscriptionState, [ChangePlanInput]>('changePlan');
export const updatePaymentMethodUpdate = defineUpdate<SubscriptionState, [UpdatePaymentMethodInput]>(
  'updatePaymentMethod',
);
export const refundUpdate = defineUpdate<PaymentEventRecord, [RefundInput]>('refund');
export const chargebackUpdate = defineUpdate<PaymentEventRecord, [ChargebackInput]>('registerChargeback');
export const paymentEventSignal = defineSignal<[PaymentEventSignal]>('paymentEvent');
export const subscriptionStateQuery = defineQuery<SubscriptionState>('subscriptionState');

/** Sent by a billing cycle to its subscription: on its first decline, and when it finishes. */
export const cycleUpdateSignal = defineSignal<[CycleReport]>('cycleUpdate');

/**
 * Sent by a billing cycle to its subscription after a cancel or a pause reached it: no charge request will leave the
 * cycle any more (a charge that was already on its way has been answered). The cancel and pause updates wait for it.
 */
export const cycleStopAckSignal = defineSignal<[{ cycleId: string }]>('cycleStopAck');

/**
 * Sent by the reconciliation sweep to the subscription after it wrote a closed cycle's missing settlement record: the
 * subscription then reverses there what was refunded or charged back meanwhile.
 */
export interface SettlementRecordedSignal {
  cycleId: string;
  target: SettlementTarget;
  externalId: string;
}
export const settlementRecordedSignal = defineSignal<[SettlementRecordedSignal]>('settlementRecorded');

/** A recurring token as people may see it: its last 4 characters (API views, the Temporal UI). */
export function maskToken(token: string): string {
  return `…${token.slice(-4)}`;
}

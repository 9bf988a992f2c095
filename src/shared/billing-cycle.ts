/**
 * Contracts of the billing cycle workflow: its input, state, messages and id. One execution per
 * (subscription, period); its id is also the QorePay Purchase `reference`.
 */
import { defineQuery, defineSignal, defineUpdate } from './message-definitions';
import type { CycleStatus, SettlementTargetRef } from '../domain/billing-cycle';
import type { DunningPolicy, AttemptRecord } from '../domain/dunning';
import type { ChangeActorArg, ChangeRecord } from './actor';

// Statuses are defined once, by the machine that moves between them.
export {
  CYCLE_STATUSES,
  TERMINAL_CYCLE_STATUSES,
  isTerminalCycleStatus,
  isPaidCycleStatus,
  type CycleStatus,
} from '../domain/billing-cycle';

/** A merchant's subscription id (also part of every workflow id of that subscription). Defined once, here. */
const SUBSCRIPTION_ID_CHARS = '[A-Za-z0-9_-]{1,64}';
export const SUBSCRIPTION_ID_PATTERN = new RegExp(`^${SUBSCRIPTION_ID_CHARS}$`);
/** `cycle:{subscriptionId}:{periodIndex}`: a billing cycle's workflow id and its QorePay Purchase `reference`. */
export const CYCLE_ID_PATTERN = new RegExp(`^cycle:(${SUBSCRIPTION_ID_CHARS}):(\\d{1,9})$`);
/** A merchant id, as configured with the API keys and stamped on each subscription (`MerchantId`). */
export const MERCHANT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function cycleWorkflowId(subscriptionId: string, periodIndex: number): string {
  return `cycle:${subscriptionId}:${periodIndex}`;
}

/** Parses `cycle:{subscriptionId}:{periodIndex}`; undefined for anything else (e.g. references that are not ours). */
export function parseCycleWorkflowId(id: string): { subscriptionId: string; periodIndex: number } | undefined {
  const m = CYCLE_ID_PATTERN.exec(id);
  return m ? { subscriptionId: m[1]!, periodIndex: Number(m[2]) } : undefined;
}

export interface LineItem {
  name: string;
  /** Unit price in integer minor units. */
  priceMinor: number;
  quantity: number;
}

export type SettlementTarget = SettlementTargetRef;

/** Everything one period needs; no secrets (API keys live in the worker's config, never in history). */
export interface BillingCycleInput {
  subscriptionId: string;
  customerId: string;
  periodIndex: number;
  /** ISO instants of the period bounds. */
  periodStart: string;
  periodEnd: string;
  /** QorePay client id of the customer (tokens are listed per client). */
  qorepayClientId?: string;
  /** The customer's email, used only when no QorePay client id is known. */
  customerEmail?: string;
  /** Id of a paid QorePay Purchase with is_recurring_token: true. */
  recurringToken: string;
  currency: string;
  lineItems: LineItem[];
  dunning: DunningPolicy;
  settlementTargets?: SettlementTarget[];
  /** Attempts made with the same token by other cycles (epoch ms), for the rolling 30-day cap. */
  priorTokenAttempts?: number[];
  /** The subscription was paused when the cycle started: it holds its charges until resumed. */
  paused?: boolean;
  /**
   * Merchant webhooks for this cycle, passed on from the subscription's input. Absent (what the API starts): the
   * workers decide, since only they know whether `MERCHANT_WEBHOOK_URL` is configured; they say so with each gateway
   * answer (WorkerFacts in src/activities) and the cycle schedules no `notifyMerchant` after a "no". `false`: none
   * is scheduled whatever the workers say; `true`: every notification schedules one (the activity decides).
   */
  merchantNotifications?: boolean;
  /** The merchant the subscription belongs to (its `MerchantId`), for the books; absent in older cycles. */
  merchantId?: string;
}

export interface CycleAttemptView extends Omit<AttemptRecord, 'at'> {
  at: string;
}

export interface SettlementRecord {
  target: SettlementTarget['kind'];
  status: 'recorded' | 'failed' | 'reversed';
  externalId?: string;
  error?: string;
  /** The configured target the record belongs to (what a later reversal writes into). */
  destination?: SettlementTarget;
}

/** How long a cycle whose settlement failed stays open for an operator's `retrySettlement` (then it completes). */
export const SETTLEMENT_RETRY_WINDOW_HOURS = 30 * 24;

export interface BillingCycleState {
  cycleId: string;
  subscriptionId: string;
  periodIndex: number;
  status: CycleStatus;
  purchaseId?: string;
  amountMinor: number;
  currency: string;
  attempts: CycleAttemptView[];
  nextAttemptAt?: string;
  lastDecline?: { code: string; message: string; declineClass: string };
  /** Set while waiting for a new payment method after a hard decline. */
  actionRequiredUntil?: string;
  pendingSince?: string;
  failureReason?: string;
  paidAt?: string;
  settlement: SettlementRecord[];
  settlementFailed: boolean;
  /** A cancel was asked for and waits for a pending charge's outcome. */
  cancelRequested: boolean;
  /** Charges are held while the subscription is paused. */
  paused: boolean;
  /** Every Purchase created for the cycle, the current one last (a blocked or closed one is replaced). */
  purchaseIds: string[];
  /** The call the cycle is making right now, if any. */
  inFlight?: string;
  /** Who changed the cycle (mark paid, retry now, retry settlement) and when, oldest first. */
  changes?: ChangeRecord[];
}

export interface BillingCycleResult {
  cycleId: string;
  status: Extract<CycleStatus, 'paid' | 'marked_paid' | 'failed' | 'canceled'>;
  purchaseId?: string;
  amountMinor: number;
  currency: string;
  attempts: number;
  failureReason?: string;
  /** `operations`: the merchant's account or the gateway failed, not the customer (no escalation). */
  failureKind?: 'customer' | 'operations';
  /** Every Purchase the cycle created, the current one last (absent in results of older runs). */
  purchaseIds?: string[];
  settlementFailed: boolean;
  /** Who changed the cycle and when (present once a change was made through the client). */
  changes?: ChangeRecord[];
}

/** The subscription holds (paused) or releases a cycle's charges. */
export interface HoldCycleInput {
  paused: boolean;
}

/** A verified gateway event after the ingress re-read the Purchase (the gateway is the truth, the webhook a hint). */
export interface GatewayEvent {
  eventType: string;
  purchaseId: string;
  /** Purchase status as re-read from the gateway. */
  status: string;
  /** Purchase `updated_on` (Unix seconds), used to dedupe and to ignore stale events. */
  updatedOn: number;
  /** From `transaction_data.attempts[0].error` when the purchase is in `error` or `blocked`. */
  declineCode?: string;
  declineMessage?: string;
  /** The Purchase was marked paid by an operator (`marked_as_paid`), not charged. */
  markedAsPaid?: boolean;
}

export interface PaymentMethodUpdate {
  recurringToken: string;
}

export interface MarkPaidInput extends ChangeActorArg {
  /** Unix seconds; defaults to now. */
  paidOn?: number;
  note?: string;
}

export interface CancelCycleInput {
  reason?: string;
}

export const gatewayEventSignal = defineSignal<[GatewayEvent]>('gatewayEvent');
export const paymentMethodUpdatedSignal = defineSignal<[PaymentMethodUpdate]>('paymentMethodUpdated');
export const markPaidUpdate = defineUpdate<BillingCycleState, [MarkPaidInput]>('markPaid');
export const retryNowUpdate = defineUpdate<BillingCycleState, [ChangeActorArg]>('retryNow');
export const cancelCycleUpdate = defineUpdate<BillingCycleState, [CancelCycleInput]>('cancel');
export const cycleStateQuery = defineQuery<BillingCycleState>('state');
/** Operator retry of the targets whose settlement failed; accepted only while `settlementFailed`. */
export const retrySettlementUpdate = defineUpdate<BillingCycleState, [ChangeActorArg]>('retrySettlement');
/** Cancel as a signal, for the subscription workflow (workflows cannot send updates to other workflows). */
export const cancelCycleSignal = defineSignal<[CancelCycleInput]>('cancelRequested');
/** Pause and resume, from the subscription; also a harmless ping that tells the subscription the cycle is alive. */
export const holdCycleSignal = defineSignal<[HoldCycleInput]>('hold');

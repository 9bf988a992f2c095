/**
 * The subscription's state: its statuses, its plan, the cycles in flight and the records it keeps of paid cycles,
 * payment events, requests and settlement work, and the one serializable state object the machine moves
 * (`SubscriptionMachineState`, carried whole across continue-as-new: its shape is the persisted form). Plain data and
 * small readers of it.
 */
import type { CycleStatus, SettlementEntry, SettlementTargetRef } from '../billing-cycle';
import type { ChangeRecord } from '../actor';

export type SubscriptionStatus = 'trialing' | 'active' | 'past_due' | 'paused' | 'unpaid' | 'canceled';
export const SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = [
  'trialing',
  'active',
  'past_due',
  'paused',
  'unpaid',
  'canceled',
];
export type EscalationPolicy = 'mark_unpaid' | 'cancel' | 'keep_past_due';

export interface PlanTerms {
  planId: string;
  currency: string;
  lineItems: { name: string; priceMinor: number; quantity: number }[];
}

export const planAmountMinor = (plan: PlanTerms): number =>
  plan.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);

export interface CycleInFlight {
  cycleId: string;
  periodIndex: number;
  periodStart: string;
  amountMinor: number;
  /** What the cycle was last told (or started with). */
  token: string;
  paused: boolean;
  canceled: boolean;
  /** A liveness ping is due. */
  ping?: boolean;
  /** Told to cancel or pause; its confirmation that no charge request will leave it any more is awaited. */
  stopAckDue?: boolean;
}

export interface CycleSummary {
  cycleId: string;
  periodIndex: number;
  periodStart: string;
  status: CycleStatus | 'lost';
  purchaseId?: string;
  amountMinor: number;
  failureReason?: string;
  currency?: string;
  settlement?: SettlementEntry[];
}

/** What is kept of a paid cycle for refunds and chargebacks, for the reversal window. */
export interface PaidCycleRecord {
  cycleId: string;
  purchaseId: string;
  amountMinor: number;
  currency: string;
  paidAt: number;
  settlement: SettlementEntry[];
  /** Refunded at the gateway (completed refunds). */
  refundedMinor: number;
  /** Refund Payments recorded (dedupes the API's answer and the webhook). */
  refundPaymentIds: string[];
  /**
   * What each recorded refund Payment refunded (absent in states from before it was kept): a target that records the
   * cycle later is owed one reversal per Payment, keyed as in the targets that recorded it at once.
   */
  refunds?: { paymentId: string; amountMinor: number }[];
  /** Refund requests answered `pending_refund` (no Payment yet), by request id. */
  pendingRefunds: { requestId: string; amountMinor: number }[];
  chargedBack: boolean;
  /** Chargebacks reversed so far (each round gets its own reversal and restore keys). */
  chargebackRound: number;
  /** Reversed so far per target index, minor units. */
  reversedMinor: number[];
}

export interface PaymentEventRecord {
  kind: 'refund' | 'chargeback' | 'chargeback_reversed';
  cycleId: string;
  purchaseId: string;
  paymentId?: string;
  amountMinor?: number;
  at: string;
}

export interface SettlementReversalRecord {
  key: string;
  cycleId: string;
  kind: 'refund' | 'chargeback' | 'restore';
  target: SettlementTargetRef['kind'];
  targetIndex: number;
  status: 'reversed' | 'restored' | 'failed';
  amountMinor: number;
  externalId?: string;
  error?: string;
  at: string;
}

export interface RefundRequestRecord {
  requestId: string;
  kind: 'refund' | 'chargeback';
  cycleId: string;
  amountMinor?: number;
  reason?: string;
  chargeback?: { reasonId: string; arn: string; date: string; reference: string };
  status: 'queued' | 'done' | 'failed';
  result?: PaymentEventRecord & { status?: string };
  error?: string;
  /** A refund Payment of this request's amount reported while it was in flight (it answers `pending_refund` after). */
  completedBy?: { paymentId: string; amountMinor: number };
}

/** A payment event kept until its cycle's final report (see `heldPaymentEvents`). */
export interface HeldPaymentEvent {
  kind: PaymentEventRecord['kind'];
  cycleId: string;
  purchaseId: string;
  paymentId: string;
  amountMinor?: number;
  heldAt: number;
}

/** Settlement work queued by payment events: one item per (key, target). */
export interface SettlementWork {
  key: string;
  kind: 'refund' | 'chargeback' | 'restore';
  cycleId: string;
  targetIndex: number;
  amountMinor: number;
  paymentId?: string;
}

/** The calls the machine asks the workflow to run, one at a time (the `type`s of `SubscriptionCall`, events.ts). */
export type SubscriptionCallType =
  'start_cycle' | 'signal_cycle' | 'refund' | 'register_chargeback' | 'reverse_settlement' | 'restore_settlement';

export interface SubscriptionMachineState {
  status: SubscriptionStatus;
  statusBeforePause?: SubscriptionStatus;
  recurringToken: string;
  plan: PlanTerms;
  pendingPlan?: PlanTerms;
  nextPeriodIndex: number;
  cancelAtPeriodEnd: boolean;
  cancelAt?: number;
  cancelReason?: string;
  canceledAt?: number;
  /** When billing ended (canceled, or the last period billed); the workflow stays open for the reversal window. */
  endedAt?: number;
  cycles: CycleInFlight[];
  failingCycles: string[];
  recentCycles: CycleSummary[];
  paidCycles: PaidCycleRecord[];
  paymentEvents: PaymentEventRecord[];
  seenPaymentIds: string[];
  settlementReversals: SettlementReversalRecord[];
  tokenAttempts: number[];
  requests: RefundRequestRecord[];
  work: SettlementWork[];
  /**
   * Refund and chargeback events for a cycle still in flight (the webhook beat the cycle's final report): neither seen
   * nor dropped, they are applied when the report comes, or alerted for good (bounded in number and time).
   */
  heldPaymentEvents?: HeldPaymentEvent[];
  nextLivenessCheckAt?: number;
  /** Who changed the subscription, the last CHANGE_TRAIL_KEPT changes (absent in states from before the trail). */
  changes?: ChangeRecord[];
  inFlight?: SubscriptionCallType | undefined;
  wakeAt?: number | undefined;
  finished: boolean;
}

/**
 * Cycles told to cancel or pause that have not yet confirmed that no charge request will leave them: the cancel and
 * pause updates answer once this is empty (or after a bound, for cycles that predate the confirmation).
 */
export const cyclesStopping = (s: { cycles: CycleInFlight[] }): string[] =>
  s.cycles.filter((c) => c.stopAckDue).map((c) => c.cycleId);

export const billingStopped = (s: SubscriptionMachineState): boolean =>
  s.status === 'paused' || s.status === 'unpaid' || s.status === 'canceled';

export function findPaidCycle(s: SubscriptionMachineState, cycleId: string): PaidCycleRecord | undefined {
  return s.paidCycles.find((c) => c.cycleId === cycleId);
}

/** Minor units a new refund of `cycleId` may still take. */
export function refundableMinor(c: PaidCycleRecord): number {
  if (c.chargedBack) return 0;
  const pending = c.pendingRefunds.reduce((sum, r) => sum + r.amountMinor, 0);
  return Math.max(0, c.amountMinor - c.refundedMinor - pending);
}

export function cloneSubscriptionState(s: SubscriptionMachineState): SubscriptionMachineState {
  return JSON.parse(JSON.stringify(s)) as SubscriptionMachineState;
}

export function setStatus(s: SubscriptionMachineState, next: SubscriptionStatus): void {
  s.status = next;
}

/**
 * The billing cycle's state: its statuses, what it keeps of the gateway's Purchases and of settlement, and the one
 * serializable state object the machine moves (`CycleMachineState`). Plain data and small readers of it.
 */
import type { AttemptRecord } from '../dunning';
import type { ChangeRecord } from '../actor';
import {
  isChargeInFlightStatus,
  isClosedStatus,
  isDeclinedStatus,
  isMoneyTakenStatus,
  statusesWhere,
} from '../purchase-status';
import type { DeclineClass } from '../declines';

export type CycleStatus =
  | 'creating'
  | 'charging'
  | 'pending'
  | 'retry_scheduled'
  | 'action_required'
  | 'paid'
  | 'marked_paid'
  | 'failed'
  | 'canceled';

export const CYCLE_STATUSES: readonly CycleStatus[] = [
  'creating',
  'charging',
  'pending',
  'retry_scheduled',
  'action_required',
  'paid',
  'marked_paid',
  'failed',
  'canceled',
];
export const TERMINAL_CYCLE_STATUSES: readonly CycleStatus[] = ['paid', 'marked_paid', 'failed', 'canceled'];
export const isTerminalCycleStatus = (s: CycleStatus): boolean => TERMINAL_CYCLE_STATUSES.includes(s);
export const isPaidCycleStatus = (s: CycleStatus): boolean => s === 'paid' || s === 'marked_paid';

/** Purchase statuses that mean the money was taken (refunds and chargebacks happen only to paid Purchases). */
export const PAID_PURCHASE_STATUSES: readonly string[] = statusesWhere('moneyTaken');
/** Statuses in which the Purchase can take no money any more (blocked included). */
export const CLOSED_PURCHASE_STATUSES: readonly string[] = statusesWhere('closed');
export const isPaidPurchaseStatus = isMoneyTakenStatus;
export const isClosedPurchaseStatus = isClosedStatus;
/**
 * The acquirer is still processing a charge (or a capture or release of funds on hold), or the status is one the
 * table does not name: the outcome decides, with a timer.
 */
export const isChargePendingStatus = isChargeInFlightStatus;
export const isDeclinedPurchaseStatus = isDeclinedStatus;

export interface DeclineDetails {
  code: string;
  message: string;
  declineClass: DeclineClass;
}

/** What the machine keeps of a Purchase read from the gateway: no client data, no card data. */
export interface PurchaseFacts {
  purchaseId: string;
  status: string;
  /** Purchase `updated_on`, Unix seconds. */
  updatedOn: number;
  declineCode?: string;
  declineMessage?: string;
  /** True when the gateway says the Purchase was marked paid by an operator (`marked_as_paid`), not charged. */
  markedAsPaid?: boolean;
}

export type SettlementTargetRef =
  | { kind: 'activeplatform'; accountId: string; paymentMethodId: number }
  | { kind: 'gormic'; orderId: string; methodId?: string; customerUid?: string };

export interface SettlementEntry {
  target: SettlementTargetRef['kind'];
  status: 'recorded' | 'failed' | 'reversed';
  externalId?: string;
  error?: string;
  destination?: SettlementTargetRef;
  /** The settlement run that wrote the entry (1 = the first; later ones are operator retries). */
  run?: number;
}

export type GatewayCall = 'create_purchase' | 'charge' | 'read_purchase' | 'cancel_purchase' | 'mark_paid';

export interface CycleMachineState {
  status: CycleStatus;
  token: string;
  amountMinor: number;
  /** Every Purchase created for the cycle, the current one last. */
  purchaseIds: string[];
  purchaseStatus?: string;
  /** Highest Purchase `updated_on` seen (Unix seconds). */
  lastGatewayUpdate: number;
  attempts: AttemptRecord[];
  priorTokenAttempts: number[];
  /** When the next charge may be made (retry_scheduled), epoch ms. */
  nextAttemptAt?: number;
  /** When the workflow must wake up with a `timer` event, epoch ms. */
  wakeAt?: number | undefined;
  pendingSince?: number;
  nextPollAt?: number;
  polls: number;
  pendingAlerted: boolean;
  actionRequiredUntil?: number;
  lastDecline?: DeclineDetails;
  failureReason?: string;
  /** `customer` failures escalate on the subscription; `operations` ones only alert. */
  failureKind?: 'customer' | 'operations';
  paidAt?: number;
  paidPurchaseId?: string;
  merchantConfigRetries: number;
  transportFailures: number;
  readFailures: number;
  createFailures: number;
  /** The one call the workflow is running. */
  inFlight?: GatewayCall | 'record_settlement' | undefined;
  /** The token of the charge in flight or pending at the gateway (its attempt is recorded with it). */
  chargeToken?: string;
  /** A charge call's outcome is unknown: nothing goes to the gateway before this time (see CHARGE_FENCE_MS). */
  chargeSettlesAt?: number;
  /** What was left of the hard-decline grace when a pause began: the clock stops while paused. */
  graceLeftMs?: number;
  /** Set once a cancel is asked for; no charge is ever asked for after it. */
  cancel?: { reason: string };
  paused: boolean;
  /**
   * A cancel or pause arrived: the subscription waits for this cycle to confirm that no charge request will leave it
   * any more (sent once no charge call is in flight; a charge already on its way is let finish and is answered first).
   */
  stopAckDue?: boolean;
  retryNow: boolean;
  /** A new token that has not been tried yet. */
  tokenChanged: boolean;
  /** The current Purchase cannot be charged (blocked, closed): cancel it and create a fresh one before charging. */
  needsNewPurchase: boolean;
  /** A webhook hinted at an outcome: re-read the Purchase in the main loop. */
  confirm: boolean;
  /** `checked`: the Purchase was read after the request, so mark_as_paid never meets a charge pending unseen. */
  markPaid?: { requestId: string; paidOn?: number; note?: string; checked?: boolean };
  /** Answers to markPaid requests, by request id (the update handler waits for its own). */
  markPaidAnswers: { requestId: string; ok: boolean; error?: string }[];
  /** A terminal outcome waiting for its last re-read of the Purchase. */
  closing?: {
    status: 'failed' | 'canceled';
    reason: string;
    kind: 'customer' | 'operations';
    /** The gateway refused to cancel the Purchase: the last re-read decides. */
    cancelRefused?: boolean;
  };
  reportedDecline: boolean;
  settlementTargets: SettlementTargetRef[];
  settlement: SettlementEntry[];
  settlementRuns: number;
  settlementFailed: boolean;
  settlementRetry: boolean;
  settlementDeadline?: number;
  settlementWindowClosed: boolean;
  /** Alerted about money on a closed cycle (once). */
  lateMoneyAlerted: boolean;
  /** Who changed the cycle (mark paid, retry now, retry settlement), the last CHANGE_TRAIL_KEPT changes. */
  changes?: ChangeRecord[];
  finished: boolean;
}

export function initialCycleState(input: {
  token: string;
  amountMinor: number;
  priorTokenAttempts?: number[];
  settlementTargets?: SettlementTargetRef[];
  paused?: boolean;
}): CycleMachineState {
  return {
    status: 'creating',
    token: input.token,
    amountMinor: input.amountMinor,
    purchaseIds: [],
    lastGatewayUpdate: 0,
    attempts: [],
    priorTokenAttempts: [...(input.priorTokenAttempts ?? [])],
    polls: 0,
    pendingAlerted: false,
    merchantConfigRetries: 0,
    transportFailures: 0,
    readFailures: 0,
    createFailures: 0,
    paused: input.paused ?? false,
    retryNow: false,
    tokenChanged: false,
    needsNewPurchase: false,
    confirm: false,
    markPaidAnswers: [],
    reportedDecline: false,
    settlementTargets: [...(input.settlementTargets ?? [])],
    settlement: [],
    settlementRuns: 0,
    settlementFailed: false,
    settlementRetry: false,
    settlementWindowClosed: false,
    lateMoneyAlerted: false,
    finished: false,
  };
}

export const currentPurchaseId = (s: CycleMachineState): string | undefined => s.purchaseIds[s.purchaseIds.length - 1];

export function cloneCycleState(s: CycleMachineState): CycleMachineState {
  return JSON.parse(JSON.stringify(s)) as CycleMachineState;
}

/** Records what a Purchase read or answer showed: the current Purchase's status, and the latest gateway update. */
export function see(s: CycleMachineState, p: PurchaseFacts): void {
  if (p.purchaseId === currentPurchaseId(s)) s.purchaseStatus = p.status;
  s.lastGatewayUpdate = Math.max(s.lastGatewayUpdate, p.updatedOn);
}

/** The current Purchase can take no money: closed, or blocked (which refuses charges and cannot be cancelled). */
export function currentPurchaseIsClosed(s: CycleMachineState): boolean {
  return s.purchaseStatus !== undefined && (isClosedPurchaseStatus(s.purchaseStatus) || s.purchaseStatus === 'blocked');
}

/** What the billing cycle machine hears (events), what it asks the workflow to do (commands), and its context. */
import type { ChangeRequest } from '../change-trail';
import type { DunningPolicy } from '../dunning';
import type { CycleMachineState, DeclineDetails, GatewayCall, PurchaseFacts, SettlementTargetRef } from './state';

export type CycleEvent =
  | { type: 'started' }
  | { type: 'purchase_created'; purchase: PurchaseFacts }
  | { type: 'purchase_create_failed'; reason: string }
  | { type: 'charged'; outcome: 'paid' | 'pending'; purchase: PurchaseFacts }
  | { type: 'charge_declined'; decline: DeclineDetails }
  | { type: 'charge_refused'; purchase: PurchaseFacts }
  /**
   * The charge call ended without a business answer. `notSent`: the activity proves no charge request left it (it was
   * withdrawn before it started, or it stopped before its request); otherwise the outcome is unknown.
   */
  | { type: 'charge_failed'; reason: string; notSent?: boolean }
  | { type: 'purchase_read'; purchase: PurchaseFacts }
  | { type: 'purchase_read_failed'; reason: string }
  | { type: 'purchase_canceled'; purchase: PurchaseFacts }
  | { type: 'purchase_cancel_failed'; reason: string }
  | { type: 'marked_paid'; purchase: PurchaseFacts }
  | { type: 'mark_paid_failed'; reason: string }
  | { type: 'gateway_event'; purchase: PurchaseFacts }
  | { type: 'timer' }
  | { type: 'cancel_requested'; reason: string }
  | { type: 'hold'; paused: boolean }
  | { type: 'retry_now_requested'; by?: ChangeRequest }
  | { type: 'token_updated'; token: string }
  | { type: 'mark_paid_requested'; requestId: string; paidOn?: number; note?: string; by?: ChangeRequest }
  | { type: 'settlement_recorded'; index: number; externalId: string }
  | { type: 'settlement_failed'; index: number; error: string }
  | { type: 'settlement_retry_requested'; by?: ChangeRequest };

export type MerchantCycleEvent =
  | 'cycle.paid'
  | 'cycle.payment_failed'
  | 'cycle.action_required'
  | 'cycle.failed'
  | 'cycle.pending_too_long'
  | 'cycle.settlement_failed';

export type CycleCommand =
  | { type: 'create_purchase' }
  | { type: 'charge'; purchaseId: string; token: string; attempt: number }
  | { type: 'read_purchase'; purchaseId: string; purpose: 'poll' | 'confirm' | 'final' }
  | { type: 'cancel_purchase'; purchaseId: string }
  | { type: 'mark_paid'; purchaseId: string; paidOn?: number }
  | { type: 'record_settlement'; index: number; target: SettlementTargetRef; purchaseId: string }
  | { type: 'notify'; event: MerchantCycleEvent; key: string; data: Record<string, unknown> }
  | { type: 'alert'; code: string; message: string; severity: 'warning' | 'critical' }
  | { type: 'report'; final: boolean }
  /** Tell the subscription no charge request will leave this cycle now (after a cancel or a pause). */
  | { type: 'ack_stop' }
  | { type: 'finish' };

export interface CycleContext {
  now: number;
  policy: DunningPolicy;
  /**
   * The rules before the `cycle-money-rules-3` patch, for histories recorded before it: no charge fence, a new card is
   * forgotten by a decline of the previous card's charge, the hard-decline grace runs on during a pause.
   */
  legacyRules?: boolean;
  /**
   * The rules of the period's Purchase (see `onCreateFailed` and `plan`): a cycle that ends unpaid cancels its
   * Purchase, creating one is given up after `merchantConfigMaxRetries` failures, and `markPaid` on a Purchase that can
   * take no money (blocked, closed) records the payment on a fresh one. Absent in runs recorded before them.
   */
  purchaseLife?: boolean | undefined;
}

export interface CycleDecision {
  state: CycleMachineState;
  commands: CycleCommand[];
}

/** A command that is a call the workflow runs and answers with an event (the one call in flight). */
export type CallCommand = Extract<CycleCommand, { type: GatewayCall | 'record_settlement' }>;

/** Asks for one call: it is the call in flight until its answer arrives. */
export function ask(s: CycleMachineState, out: CycleCommand[], call: CallCommand): void {
  s.inFlight = call.type;
  out.push(call);
}

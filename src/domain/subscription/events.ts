/**
 * What goes into the subscription machine and what comes out: the events the workflow feeds it (answers, signals,
 * merchant requests, timers), the calls and side effects it asks for, and the context of each step.
 */
import type { BillingSchedule } from '../calendar';
import type { CycleStatus, SettlementEntry, SettlementTargetRef } from '../billing-cycle';
import type { ChangeRequest } from '../change-trail';
import type {
  EscalationPolicy,
  PaymentEventRecord,
  PlanTerms,
  SubscriptionCallType,
  SubscriptionMachineState,
} from './state';

export interface CycleReport {
  cycleId: string;
  periodIndex: number;
  status: CycleStatus;
  final: boolean;
  purchaseId?: string;
  purchaseIds?: string[];
  amountMinor: number;
  failureReason?: string;
  failureKind?: 'customer' | 'operations';
  attemptTimes: number[];
  token: string;
  currency?: string;
  settlement?: SettlementEntry[];
}

export type SubscriptionEvent =
  | { type: 'started' }
  | { type: 'timer' }
  | { type: 'cycle_reported'; report: CycleReport }
  | { type: 'cycle_started'; cycleId: string; ok: boolean; error?: string }
  | { type: 'cycle_signaled'; cycleId: string; ok: boolean; error?: string }
  | { type: 'cycle_stop_acked'; cycleId: string }
  /** A target's record of a closed cycle written later, outside the cycle (the reconciliation sweep). */
  | { type: 'settlement_recorded'; cycleId: string; target: SettlementTargetRef; externalId: string }
  | { type: 'cancel_requested'; mode: 'now' | 'period_end'; reason?: string; by?: ChangeRequest }
  | { type: 'pause_requested'; by?: ChangeRequest }
  | { type: 'resume_requested'; by?: ChangeRequest }
  | { type: 'plan_changed'; plan: PlanTerms; by?: ChangeRequest }
  | { type: 'token_updated'; token: string; by?: ChangeRequest }
  | {
      type: 'refund_requested';
      requestId: string;
      cycleId: string;
      amountMinor?: number;
      reason?: string;
      by?: ChangeRequest;
    }
  | {
      type: 'chargeback_requested';
      requestId: string;
      cycleId: string;
      reasonId: string;
      arn: string;
      date: string;
      reference: string;
      by?: ChangeRequest;
    }
  | {
      type: 'refund_answered';
      requestId: string;
      ok: boolean;
      paymentId?: string;
      amountMinor?: number;
      status?: string;
      error?: string;
    }
  | { type: 'chargeback_answered'; requestId: string; ok: boolean; error?: string }
  | {
      type: 'payment_event';
      kind: PaymentEventRecord['kind'];
      cycleId: string;
      purchaseId: string;
      paymentId: string;
      amountMinor?: number;
    }
  | {
      type: 'settlement_work_done';
      key: string;
      targetIndex: number;
      ok: boolean;
      externalId?: string;
      error?: string;
    };

export type SubscriptionCall =
  | {
      type: 'start_cycle';
      cycleId: string;
      periodIndex: number;
      periodStart: string;
      periodEnd: string;
      token: string;
      plan: PlanTerms;
      paused: boolean;
      priorTokenAttempts: number[];
    }
  | {
      type: 'signal_cycle';
      cycleId: string;
      signal: { kind: 'cancel'; reason: string } | { kind: 'token'; token: string } | { kind: 'hold'; paused: boolean };
    }
  | {
      type: 'refund';
      requestId: string;
      purchaseId: string;
      amountMinor?: number;
      /** What the engine believes is left to refund at the gateway (the activity refuses more). */
      refundableMinor: number;
      /** Refund Payments of this Purchase the engine knows (a retry finds its own lost one among the others). */
      knownPaymentIds: string[];
    }
  | {
      type: 'register_chargeback';
      requestId: string;
      purchaseId: string;
      reasonId: string;
      arn: string;
      date: string;
      reference: string;
    }
  | {
      type: 'reverse_settlement';
      key: string;
      cycleId: string;
      targetIndex: number;
      target: SettlementTargetRef;
      externalId: string;
      purchaseId: string;
      amountMinor: number;
      currency: string;
      kind: 'refund' | 'chargeback';
      paymentId?: string;
    }
  | {
      type: 'restore_settlement';
      key: string;
      cycleId: string;
      targetIndex: number;
      target: SettlementTargetRef;
      purchaseId: string;
      amountMinor: number;
      currency: string;
    };

export type MerchantSubscriptionEvent =
  | 'cycle.refunded'
  | 'cycle.chargeback_reversed'
  | 'subscription.past_due'
  | 'subscription.unpaid'
  | 'subscription.canceled'
  | 'subscription.chargeback';

export type SubscriptionCommand =
  | SubscriptionCall
  | { type: 'notify'; event: MerchantSubscriptionEvent; key: string; data: Record<string, unknown> }
  | {
      type: 'alert';
      code: string;
      message: string;
      severity: 'warning' | 'critical';
      details?: Record<string, unknown>;
    }
  | { type: 'finish' };

export interface SubscriptionContext {
  subscriptionId: string;
  now: number;
  schedule: BillingSchedule;
  escalation: EscalationPolicy;
  maxPeriods?: number | undefined;
  /**
   * Liveness checks that would fall just after a period's due time are held on it, so the subscription wakes once
   * for both instead of twice a fraction of a second apart (see livenessCheckAfter). Workflows pass true for runs
   * recorded with this rule (a `patched()` marker); older histories replay without it.
   */
  livenessOnDueTimes?: boolean | undefined;
  /**
   * A target whose settlement had failed and is recorded by a later report (an operator's or the sweep's settlement
   * retry) gets the reversals of every refund and chargeback made meanwhile. A `patched()` marker, like the above.
   */
  reversalsOwedOnLaterRecord?: boolean | undefined;
  /**
   * Payment events for a cycle still in flight are held until its final report instead of being alerted and dropped,
   * and a refund webhook that beats the `pending_refund` answer of our own request completes that request. A
   * `patched()` marker, like the above.
   */
  holdEarlyPaymentEvents?: boolean | undefined;
}

export interface SubscriptionDecision {
  state: SubscriptionMachineState;
  commands: SubscriptionCommand[];
}

/** The event of one type. */
export type EventOf<T extends SubscriptionEvent['type']> = Extract<SubscriptionEvent, { type: T }>;

/** A payment webhook as the machine sees it (also how a held one is applied later). */
export type PaymentEvent = EventOf<'payment_event'>;

/** Where a step's commands go, in order. */
export type Out = SubscriptionCommand[];

// The call types named in the state are exactly the calls' (checked both ways at compile time).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const callTypesMatch: Same<SubscriptionCall['type'], SubscriptionCallType> = true;
void callTypesMatch;

/**
 * What a planning step did (plan.ts): `done` ends planning for this step of the machine (it asked for a call, or
 * set the wake-up time); `again` changed the state so planning starts over; undefined leaves it to the next step.
 */
export type Step = 'done' | 'again' | undefined;

/** Asks the workflow for one call: it is the call in flight until its answer comes back as an event. */
export function ask(s: SubscriptionMachineState, out: Out, call: SubscriptionCall): 'done' {
  s.inFlight = call.type;
  out.push(call);
  return 'done';
}

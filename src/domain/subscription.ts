/**
 * The subscription as a pure state machine: `decideSubscription(state, event, ctx)` returns the next state and the
 * commands the workflow must run. No Temporal, no I/O, no clock: time comes in as `ctx.now`.
 *
 * Rules
 * - Due dates come from the anchor (src/domain/calendar.ts). At creation, billing starts with the period that
 *   contains the creation time: periods that ended before it are never charged, whatever the anchor.
 * - After creation every due period gets a cycle, one at a time (the workflow may continue as new between them).
 * - One call at a time (`inFlight`): starting a cycle, signalling one, a refund, a chargeback registration, a
 *   settlement reversal or restore. Handlers only record; the plan runs when nothing is in flight.
 * - Cycles in flight are kept in step with the subscription: each knows the current token, whether billing is paused,
 *   and whether the subscription was canceled. A change that races a cycle's start reaches it right after the start.
 * - Refunds are requests with ids (the caller's idempotency key): the same id refunds once, across continue-as-new.
 *   A refund never exceeds what was paid less what was refunded or is being refunded. Pending refunds reverse
 *   settlement when the gateway reports the refund Payment; reversals are keyed by that Payment id.
 * - Payment events (refund, chargeback, chargeback reversed) are matched on cycle AND Purchase, deduplicated by
 *   Payment id, and reversed (or restored) exactly once per target, for as long as the reversal window after the
 *   cycle was paid, even after the subscription was canceled (the workflow stays open through the window). Events
 *   that cannot be matched raise an alert; nothing is dropped silently.
 * - Customer failures escalate (unpaid, cancel, or keep past_due); operations failures only alert.
 */
import { describePeriod, periodIndexAt, periodStart, trialEnd, type BillingSchedule } from './calendar';
import type { CycleStatus, SettlementEntry, SettlementTargetRef } from './billing-cycle';
import { recordChange, type ChangeRequest } from './change-trail';
import type { ChangeActor, ChangeKind, ChangeRecord } from '../shared/actor';

const DAY = 24 * 60 * 60 * 1000;

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

export const SUBSCRIPTION_LIMITS = Object.freeze({
  recentCyclesKept: 24,
  paymentEventsKept: 50,
  reversalsKept: 100,
  requestsKept: 200,
  seenPaymentIdsKept: 500,
  /** Refunds and chargebacks arrive up to this long after a cycle was paid; its record is kept that long. */
  reversalWindowDays: 180,
  /** How often the subscription checks that its cycles in flight are still running. */
  livenessCheckDays: 1,
  /** Payment events that beat their cycle's final report, kept until it comes (then matched, or alerted for good). */
  heldPaymentEventsKept: 50,
  /** A held payment event whose cycle has not reported within this many days is alerted for good. */
  paymentEventHoldDays: 30,
});

export const planAmountMinor = (plan: PlanTerms): number =>
  plan.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);

/**
 * Cycles told to cancel or pause that have not yet confirmed that no charge request will leave them: the cancel and
 * pause updates answer once this is empty (or after a bound, for cycles that predate the confirmation).
 */
export const cyclesStopping = (s: { cycles: CycleInFlight[] }): string[] =>
  s.cycles.filter((c) => c.stopAckDue).map((c) => c.cycleId);

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
  inFlight?: SubscriptionCall['type'] | undefined;
  wakeAt?: number | undefined;
  finished: boolean;
}

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

/**
 * The first period a subscription created at `now` bills: the one containing `now` (0 before the first due date).
 * Periods that ended before it existed are never charged, whatever the anchor.
 */
export function firstBilledPeriod(schedule: BillingSchedule, now: number): number {
  return now >= periodStart(schedule, 0) ? Math.max(0, periodIndexAt(schedule, now)) : 0;
}

/**
 * Why a subscription created at `now` would bill nothing, or undefined: a past anchor whose `maxPeriods` all ended
 * before `now`. Such a subscription would answer "active", complete at once and never bill; it is refused instead.
 */
export function nothingToBillAtCreation(
  schedule: BillingSchedule,
  maxPeriods: number | undefined,
  now: number,
): string | undefined {
  if (maxPeriods === undefined) return undefined;
  const first = firstBilledPeriod(schedule, now);
  if (first < maxPeriods) return undefined;
  return (
    `all ${maxPeriods} period(s) from anchor ${schedule.anchor} (${schedule.timeZone}) ended before now, and periods ` +
    `before a subscription exists are never billed: nothing would be billed (give a later anchor or more maxPeriods)`
  );
}

export function initialSubscriptionState(input: {
  recurringToken: string;
  plan: PlanTerms;
  schedule: BillingSchedule;
  now: number;
  /** Who created it: starts the change trail with a `create` entry. */
  createdBy?: ChangeActor | undefined;
}): SubscriptionMachineState {
  const trialEndsAt = trialEnd(input.schedule);
  // Never charge for periods that ended before the subscription existed: start with the one containing now.
  const current = firstBilledPeriod(input.schedule, input.now);
  return {
    status: trialEndsAt !== null && input.now < trialEndsAt ? 'trialing' : 'active',
    recurringToken: input.recurringToken,
    plan: input.plan,
    nextPeriodIndex: Math.max(0, current),
    cancelAtPeriodEnd: false,
    cycles: [],
    failingCycles: [],
    recentCycles: [],
    paidCycles: [],
    paymentEvents: [],
    seenPaymentIds: [],
    settlementReversals: [],
    tokenAttempts: [],
    requests: [],
    work: [],
    ...(input.createdBy ? { changes: recordChange(undefined, 'create', { actor: input.createdBy }, input.now) } : {}),
    finished: false,
  };
}

/** The merchant change a request event is, for the change trail (other events are not merchant changes). */
const CHANGE_KIND_OF: Partial<Record<SubscriptionEvent['type'], ChangeKind>> = {
  cancel_requested: 'cancel',
  pause_requested: 'pause',
  resume_requested: 'resume',
  plan_changed: 'plan_change',
  token_updated: 'payment_method',
  refund_requested: 'refund',
  chargeback_requested: 'chargeback',
};

/**
 * Records a merchant's change in the trail: every request event that says who made it (`by`); a refund or a
 * chargeback only when this event queued it (the same request id again is answered once and is not a second change;
 * a request the machine refused changed nothing).
 */
function recordRequest(
  prev: SubscriptionMachineState,
  s: SubscriptionMachineState,
  e: SubscriptionEvent,
  now: number,
): void {
  const kind = CHANGE_KIND_OF[e.type];
  if (kind === undefined || !('by' in e) || e.by === undefined) return;
  if ('requestId' in e) {
    const known = (m: SubscriptionMachineState) => m.requests.some((q) => q.requestId === e.requestId);
    if (known(prev) || !known(s)) return;
  }
  s.changes = recordChange(s.changes, kind, e.by, now);
}

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

/** Why a refund request is refused, or undefined. A request id seen before is never refused (it answers again). */
export function refundRefusal(
  s: SubscriptionMachineState,
  r: { requestId: string; cycleId: string; amountMinor?: number },
): string | undefined {
  if (s.requests.some((q) => q.requestId === r.requestId)) return undefined;
  const c = findPaidCycle(s, r.cycleId);
  if (!c) {
    const known = s.recentCycles.find((x) => x.cycleId === r.cycleId);
    if (known && (known.status === 'paid' || known.status === 'marked_paid'))
      return `cycle ${r.cycleId} was paid more than ${SUBSCRIPTION_LIMITS.reversalWindowDays} days ago (outside the reversal window); refund it at the gateway and reverse settlement by hand`;
    return known
      ? `cycle ${r.cycleId} is ${known.status}, not paid`
      : `cycle ${r.cycleId} is not a paid cycle of this subscription (or is older than the reversal window)`;
  }
  const left = refundableMinor(c);
  if (left <= 0) return `cycle ${r.cycleId} has nothing left to refund`;
  if (
    r.amountMinor !== undefined &&
    (!Number.isSafeInteger(r.amountMinor) || r.amountMinor <= 0 || r.amountMinor > left)
  )
    return `amountMinor must be an integer in 1..${left}`;
  return undefined;
}

export function chargebackRefusal(
  s: SubscriptionMachineState,
  r: { requestId: string; cycleId: string },
): string | undefined {
  if (s.requests.some((q) => q.requestId === r.requestId)) return undefined;
  const c = findPaidCycle(s, r.cycleId);
  if (!c) return `cycle ${r.cycleId} is not a paid cycle of this subscription`;
  if (c.chargedBack) return `cycle ${r.cycleId} is already charged back`;
  return undefined;
}

export function cloneSubscriptionState(s: SubscriptionMachineState): SubscriptionMachineState {
  return JSON.parse(JSON.stringify(s)) as SubscriptionMachineState;
}

export function decideSubscription(
  prev: SubscriptionMachineState,
  event: SubscriptionEvent,
  ctx: SubscriptionContext,
): SubscriptionDecision {
  const s = cloneSubscriptionState(prev);
  const out: SubscriptionCommand[] = [];
  evolve(s, event, ctx, out);
  recordRequest(prev, s, event, ctx.now);
  if (!s.inFlight && !s.finished) plan(s, ctx, out);
  return { state: s, commands: out };
}

// ---------------------------------------------------------------------------------------------------------------

function setStatus(s: SubscriptionMachineState, next: SubscriptionStatus): void {
  s.status = next;
}

function cancelNow(s: SubscriptionMachineState, now: number, reason: string, out: SubscriptionCommand[]): void {
  if (s.status === 'canceled') return;
  s.canceledAt = now;
  s.cancelReason = reason;
  s.cancelAtPeriodEnd = false;
  delete s.cancelAt;
  delete s.statusBeforePause;
  setStatus(s, 'canceled');
  s.endedAt = now;
  out.push({ type: 'notify', event: 'subscription.canceled', key: 'canceled', data: { reason, status: 'canceled' } });
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

function evolve(
  s: SubscriptionMachineState,
  e: SubscriptionEvent,
  ctx: SubscriptionContext,
  out: SubscriptionCommand[],
) {
  const now = ctx.now;
  switch (e.type) {
    case 'started':
    case 'timer':
      return;

    case 'cycle_started': {
      s.inFlight = undefined;
      if (!e.ok) {
        // REJECT_DUPLICATE: the period was billed already (e.g. a start replayed after continue-as-new). Never twice.
        const c = s.cycles.find((x) => x.cycleId === e.cycleId);
        if (c && !s.recentCycles.some((r) => r.cycleId === e.cycleId)) {
          // It exists: keep it in flight so its report is awaited and it is kept in step.
        }
        out.push({
          type: 'alert',
          code: 'cycle_exists',
          message: `cycle ${e.cycleId} was not started: ${e.error ?? 'it exists already'}`,
          severity: 'warning',
        });
      }
      return;
    }

    case 'cycle_stop_acked': {
      const c = s.cycles.find((x) => x.cycleId === e.cycleId);
      if (c) delete c.stopAckDue;
      return;
    }

    case 'cycle_signaled': {
      s.inFlight = undefined;
      if (!e.ok) {
        const c = s.cycles.find((x) => x.cycleId === e.cycleId);
        if (!c) return; // it reported meanwhile
        // The cycle is closed but never reported (terminated by an operator, or lost): nobody bills that period.
        s.cycles = s.cycles.filter((x) => x.cycleId !== e.cycleId);
        s.failingCycles = s.failingCycles.filter((x) => x !== e.cycleId);
        pushBounded(
          s.recentCycles,
          {
            cycleId: c.cycleId,
            periodIndex: c.periodIndex,
            periodStart: c.periodStart,
            status: 'lost',
            amountMinor: c.amountMinor,
          },
          SUBSCRIPTION_LIMITS.recentCyclesKept,
        );
        out.push({
          type: 'alert',
          code: 'cycle_lost',
          message: `cycle ${c.cycleId} closed without reporting its outcome (${e.error ?? 'unreachable'}); check the gateway and bill or refund by hand`,
          severity: 'critical',
          details: { cycleId: c.cycleId },
        });
        releaseHeldPaymentEvents(s, c.cycleId, ctx, out);
      }
      return;
    }

    case 'settlement_recorded': {
      const c = findPaidCycle(s, e.cycleId);
      if (!c || !ctx.reversalsOwedOnLaterRecord) return;
      const before = c.settlement.map((x) => ({ ...x }));
      const i = c.settlement.findIndex((x) => x.destination !== undefined && sameTarget(x.destination, e.target));
      const entry: SettlementEntry = {
        target: e.target.kind,
        status: 'recorded',
        externalId: e.externalId,
        destination: e.target,
      };
      if (i >= 0) c.settlement[i] = { ...c.settlement[i], ...entry };
      else c.settlement.push(entry);
      queueOwedReversals(s, c, before, now, out);
      return;
    }

    case 'cycle_reported':
      onCycleReport(s, e.report, ctx, out);
      if (e.report.final) releaseHeldPaymentEvents(s, e.report.cycleId, ctx, out);
      return;

    case 'cancel_requested':
      if (s.status === 'canceled') return;
      if (e.mode === 'period_end') {
        s.cancelAtPeriodEnd = true;
        s.cancelReason = e.reason ?? 'canceled at period end';
        // The end of the current period, fixed now: while paused, nextPeriodIndex lags behind the calendar.
        s.cancelAt = periodStart(ctx.schedule, Math.max(s.nextPeriodIndex, periodIndexAt(ctx.schedule, now) + 1));
      } else {
        cancelNow(s, now, e.reason ?? 'canceled by request', out);
      }
      return;

    case 'pause_requested':
      if (s.status === 'paused' || s.status === 'canceled') return;
      s.statusBeforePause = s.status;
      setStatus(s, 'paused');
      return;

    case 'resume_requested': {
      if (s.status !== 'paused' && s.status !== 'unpaid') return;
      // Periods that fell due while paused are not billed: the next one is the first that starts from now on.
      const current = periodIndexAt(ctx.schedule, now);
      s.nextPeriodIndex = Math.max(s.nextPeriodIndex, current + 1);
      const before = s.statusBeforePause;
      delete s.statusBeforePause;
      const trialEndsAt = trialEnd(ctx.schedule);
      setStatus(
        s,
        before === 'past_due' && s.failingCycles.length > 0
          ? 'past_due'
          : trialEndsAt !== null && now < trialEndsAt
            ? 'trialing'
            : 'active',
      );
      return;
    }

    case 'plan_changed':
      if (s.status !== 'canceled') s.pendingPlan = e.plan;
      return;

    case 'token_updated':
      if (s.status === 'canceled' || !e.token) return;
      if (e.token !== s.recurringToken) s.tokenAttempts = [];
      s.recurringToken = e.token;
      return;

    case 'refund_requested': {
      if (s.requests.some((q) => q.requestId === e.requestId)) return; // the same request, again: answered once
      if (refundRefusal(s, e)) return;
      pushBounded(
        s.requests,
        {
          requestId: e.requestId,
          kind: 'refund',
          cycleId: e.cycleId,
          status: 'queued',
          ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
          ...(e.reason !== undefined ? { reason: e.reason } : {}),
        },
        SUBSCRIPTION_LIMITS.requestsKept,
      );
      return;
    }

    case 'chargeback_requested': {
      if (s.requests.some((q) => q.requestId === e.requestId)) return;
      if (chargebackRefusal(s, e)) return;
      pushBounded(
        s.requests,
        {
          requestId: e.requestId,
          kind: 'chargeback',
          cycleId: e.cycleId,
          status: 'queued',
          chargeback: { reasonId: e.reasonId, arn: e.arn, date: e.date, reference: e.reference },
        },
        SUBSCRIPTION_LIMITS.requestsKept,
      );
      return;
    }

    case 'refund_answered': {
      s.inFlight = undefined;
      const req = s.requests.find((q) => q.requestId === e.requestId);
      if (!req) return;
      const c = findPaidCycle(s, req.cycleId);
      if (!e.ok || !c) {
        req.status = 'failed';
        req.error = e.error ?? 'the cycle is no longer refundable';
        return;
      }
      const amount = e.amountMinor ?? req.amountMinor ?? refundableMinor(c);
      req.status = 'done';
      req.result = {
        kind: 'refund',
        cycleId: c.cycleId,
        purchaseId: c.purchaseId,
        at: new Date(now).toISOString(),
        amountMinor: amount,
        ...(e.paymentId ? { paymentId: e.paymentId } : {}),
        ...(e.status ? { status: e.status } : {}),
      };
      if (e.paymentId) {
        onRefundPayment(s, c, e.paymentId, amount, now, out, req.reason);
      } else if (req.completedBy && req.completedBy.amountMinor === amount) {
        // Its refund Payment was reported (and reversed) while the request was in flight: nothing left to reserve.
        req.result.paymentId = req.completedBy.paymentId;
      } else {
        // Pending at the gateway: settlement is reversed when the refund Payment is reported.
        c.pendingRefunds.push({ requestId: req.requestId, amountMinor: amount });
      }
      return;
    }

    case 'chargeback_answered': {
      s.inFlight = undefined;
      const req = s.requests.find((q) => q.requestId === e.requestId);
      if (!req) return;
      const c = findPaidCycle(s, req.cycleId);
      if (!e.ok || !c) {
        req.status = 'failed';
        req.error = e.error ?? 'the cycle is no longer a paid cycle';
        return;
      }
      req.status = 'done';
      if (!c.chargedBack) onChargeback(s, c, undefined, now, out, req.chargeback?.reasonId); // else: the webhook came first
      // The answer states what was recorded (and reversed): what was left after refunds, not the cycle's amount.
      const recorded = [...s.paymentEvents].reverse().find((p) => p.kind === 'chargeback' && p.cycleId === c.cycleId);
      req.result = {
        kind: 'chargeback',
        cycleId: c.cycleId,
        purchaseId: c.purchaseId,
        amountMinor: recorded?.amountMinor ?? c.amountMinor - c.refundedMinor,
        at: new Date(now).toISOString(),
        ...(recorded?.paymentId ? { paymentId: recorded.paymentId } : {}),
      };
      return;
    }

    case 'payment_event': {
      if (s.seenPaymentIds.includes(`${e.kind}:${e.paymentId}`)) return; // duplicate delivery
      const c = findPaidCycle(s, e.cycleId);
      if (!c && ctx.holdEarlyPaymentEvents && s.cycles.some((x) => x.cycleId === e.cycleId)) {
        // The cycle has not reported yet (its report can wait behind its notifications and settlement): keep it.
        holdPaymentEvent(s, e, now, out);
        return;
      }
      pushBounded(s.seenPaymentIds, `${e.kind}:${e.paymentId}`, SUBSCRIPTION_LIMITS.seenPaymentIdsKept);
      if (!c || c.purchaseId !== e.purchaseId) {
        out.push({
          type: 'alert',
          code: 'payment_event_unmatched',
          message: `${e.kind} ${e.paymentId} for ${e.cycleId} (purchase ${e.purchaseId}) matches no paid cycle within the reversal window; reverse settlement by hand`,
          severity: 'critical',
          details: { cycleId: e.cycleId, purchaseId: e.purchaseId, paymentId: e.paymentId },
        });
        return;
      }
      if (e.kind === 'refund') {
        // A pending refund of ours completing, or a refund made elsewhere (dashboard).
        const amount = Math.min(e.amountMinor ?? c.amountMinor - c.refundedMinor, c.amountMinor - c.refundedMinor);
        // Only a Payment of the same amount completes one of ours: a smaller refund made elsewhere must not release
        // the reservation of a pending one (a mismatch keeps it reserved, which can only refund less).
        const i = c.pendingRefunds.findIndex((p) => p.amountMinor === amount);
        if (i >= 0) c.pendingRefunds.splice(i, 1);
        else if (ctx.holdEarlyPaymentEvents) completesRefundInFlight(s, c, e.paymentId, amount);
        onRefundPayment(s, c, e.paymentId, amount, now, out, undefined);
      } else if (e.kind === 'chargeback') {
        if (c.chargedBack) {
          // Registered through the API already: the webhook is the same chargeback; it brings the Payment id.
          const rec = [...s.paymentEvents].reverse().find((p) => p.kind === 'chargeback' && p.cycleId === c.cycleId);
          if (rec && !rec.paymentId) rec.paymentId = e.paymentId;
          return;
        }
        onChargeback(s, c, e.paymentId, now, out, undefined);
      } else {
        if (!c.chargedBack) return;
        c.chargedBack = false;
        const round = c.chargebackRound;
        c.chargebackRound++;
        pushBounded(
          s.paymentEvents,
          {
            kind: 'chargeback_reversed',
            cycleId: c.cycleId,
            purchaseId: c.purchaseId,
            paymentId: e.paymentId,
            at: new Date(now).toISOString(),
          },
          SUBSCRIPTION_LIMITS.paymentEventsKept,
        );
        c.settlement.forEach((rec, targetIndex) => {
          if (rec.status === 'failed' || !rec.destination) return;
          const restored = chargebackAmount(s, c, targetIndex, round);
          if (restored > 0)
            s.work.push({
              key: `${c.cycleId}:restore:${round}`,
              kind: 'restore',
              cycleId: c.cycleId,
              targetIndex,
              amountMinor: restored,
            });
        });
        out.push({
          type: 'notify',
          event: 'cycle.chargeback_reversed',
          key: `chargeback_reversed:${e.paymentId}`,
          data: { cycleId: c.cycleId, purchaseId: c.purchaseId, paymentId: e.paymentId },
        });
      }
      return;
    }

    case 'settlement_work_done': {
      s.inFlight = undefined;
      const w = s.work.find((x) => x.key === e.key && x.targetIndex === e.targetIndex);
      if (!w) return;
      s.work = s.work.filter((x) => x !== w);
      const c = findPaidCycle(s, w.cycleId);
      const rec = c?.settlement[w.targetIndex];
      if (c && rec && e.ok) {
        // No holes: JSON (continue-as-new) would carry a hole as null.
        while (c.reversedMinor.length < w.targetIndex) c.reversedMinor.push(0);
        if (w.kind === 'restore')
          c.reversedMinor[w.targetIndex] = Math.max(0, (c.reversedMinor[w.targetIndex] ?? 0) - w.amountMinor);
        else c.reversedMinor[w.targetIndex] = (c.reversedMinor[w.targetIndex] ?? 0) + w.amountMinor;
      }
      pushBounded(
        s.settlementReversals,
        {
          key: w.key,
          cycleId: w.cycleId,
          kind: w.kind,
          target: rec?.target ?? 'activeplatform',
          targetIndex: w.targetIndex,
          status: e.ok ? (w.kind === 'restore' ? 'restored' : 'reversed') : 'failed',
          amountMinor: w.amountMinor,
          at: new Date(now).toISOString(),
          ...(e.externalId ? { externalId: e.externalId } : {}),
          ...(e.error ? { error: e.error } : {}),
        },
        SUBSCRIPTION_LIMITS.reversalsKept,
      );
      if (!e.ok) {
        // A chargeback not reversed here must not be restored here either (its restore may be queued already).
        if (w.kind === 'chargeback') {
          const restoreKey = w.key.replace(/:chargeback:(\d+)$/, ':restore:$1');
          s.work = s.work.filter((x) => !(x.key === restoreKey && x.targetIndex === w.targetIndex));
        }
        out.push({
          type: 'alert',
          code: 'settlement_reversal_failed',
          message: `${w.kind} of ${w.cycleId} could not be written in ${rec?.target ?? 'its target'}: ${e.error ?? ''}`,
          severity: 'critical',
          details: { cycleId: w.cycleId, targetIndex: w.targetIndex, key: w.key },
        });
      }
      return;
    }
  }
}

function sameTarget(a: SettlementTargetRef, b: SettlementTargetRef): boolean {
  if (a.kind === 'gormic' && b.kind === 'gormic') return a.orderId === b.orderId;
  if (a.kind === 'activeplatform' && b.kind === 'activeplatform') return a.accountId === b.accountId;
  return false;
}

/** What a chargeback of round `round` reversed in a target (what a chargeback reversal restores). */
function chargebackAmount(s: SubscriptionMachineState, c: PaidCycleRecord, targetIndex: number, round: number): number {
  const key = `${c.cycleId}:chargeback:${round}`;
  const done = s.settlementReversals.find(
    (r) => r.key === key && r.targetIndex === targetIndex && r.status === 'reversed',
  );
  const queued = s.work.find((w) => w.key === key && w.targetIndex === targetIndex);
  return done?.amountMinor ?? queued?.amountMinor ?? 0;
}

function onRefundPayment(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  paymentId: string,
  amountMinor: number,
  now: number,
  out: SubscriptionCommand[],
  reason: string | undefined,
): void {
  if (!s.seenPaymentIds.includes(`refund:${paymentId}`))
    pushBounded(s.seenPaymentIds, `refund:${paymentId}`, SUBSCRIPTION_LIMITS.seenPaymentIdsKept);
  if (c.refundPaymentIds.includes(paymentId)) return; // the API's answer and the webhook: one refund
  c.refundPaymentIds.push(paymentId);
  const amount = Math.max(0, Math.min(amountMinor, c.amountMinor - c.refundedMinor));
  c.refundedMinor += amount;
  (c.refunds ??= []).push({ paymentId, amountMinor: amount });
  const record: PaymentEventRecord = {
    kind: 'refund',
    cycleId: c.cycleId,
    purchaseId: c.purchaseId,
    paymentId,
    amountMinor: amount,
    at: new Date(now).toISOString(),
  };
  pushBounded(s.paymentEvents, record, SUBSCRIPTION_LIMITS.paymentEventsKept);
  c.settlement.forEach((rec, targetIndex) => {
    if (rec.status === 'failed' || !rec.destination) return;
    const left = c.amountMinor - (c.reversedMinor[targetIndex] ?? 0) - queuedFor(s, c.cycleId, targetIndex);
    const reverse = Math.min(amount, left);
    if (reverse > 0)
      s.work.push({
        key: `${c.cycleId}:refund:${paymentId}`,
        kind: 'refund',
        cycleId: c.cycleId,
        targetIndex,
        amountMinor: reverse,
        paymentId,
      });
  });
  out.push({
    type: 'notify',
    event: 'cycle.refunded',
    key: `refund:${paymentId}`,
    data: { ...record, ...(reason ? { reason } : {}) },
  });
}

function queuedFor(s: SubscriptionMachineState, cycleId: string, targetIndex: number): number {
  return s.work
    .filter((w) => w.cycleId === cycleId && w.targetIndex === targetIndex && w.kind !== 'restore')
    .reduce((sum, w) => sum + w.amountMinor, 0);
}

function onChargeback(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  paymentId: string | undefined,
  now: number,
  out: SubscriptionCommand[],
  reasonId: string | undefined,
): void {
  c.chargedBack = true;
  const round = c.chargebackRound;
  const record: PaymentEventRecord = {
    kind: 'chargeback',
    cycleId: c.cycleId,
    purchaseId: c.purchaseId,
    amountMinor: c.amountMinor - c.refundedMinor,
    at: new Date(now).toISOString(),
    ...(paymentId ? { paymentId } : {}),
  };
  pushBounded(s.paymentEvents, record, SUBSCRIPTION_LIMITS.paymentEventsKept);
  c.settlement.forEach((rec, targetIndex) => {
    if (rec.status === 'failed' || !rec.destination) return;
    const left = c.amountMinor - (c.reversedMinor[targetIndex] ?? 0) - queuedFor(s, c.cycleId, targetIndex);
    if (left > 0)
      s.work.push({
        key: `${c.cycleId}:chargeback:${round}`,
        kind: 'chargeback',
        cycleId: c.cycleId,
        targetIndex,
        amountMinor: left,
      });
  });
  out.push({
    type: 'notify',
    event: 'subscription.chargeback',
    key: `chargeback:${c.cycleId}:${round}`,
    data: { ...record, ...(reasonId ? { reasonId } : {}) },
  });
}

/** Keeps a payment event for a cycle still in flight (a redelivery is the same event); the oldest beyond the bound are alerted. */
function holdPaymentEvent(
  s: SubscriptionMachineState,
  e: Extract<SubscriptionEvent, { type: 'payment_event' }>,
  now: number,
  out: SubscriptionCommand[],
): void {
  const held = (s.heldPaymentEvents ??= []);
  if (held.some((h) => h.kind === e.kind && h.paymentId === e.paymentId)) return;
  held.push({
    kind: e.kind,
    cycleId: e.cycleId,
    purchaseId: e.purchaseId,
    paymentId: e.paymentId,
    ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
    heldAt: now,
  });
  while (held.length > SUBSCRIPTION_LIMITS.heldPaymentEventsKept)
    giveUpHeld(s, held.shift()!, 'too many are held', out);
}

/** The events held for `cycleId`, applied now that its report came (matched, or alerted for good as unmatched). */
function releaseHeldPaymentEvents(
  s: SubscriptionMachineState,
  cycleId: string,
  ctx: SubscriptionContext,
  out: SubscriptionCommand[],
): void {
  const held = s.heldPaymentEvents?.filter((h) => h.cycleId === cycleId) ?? [];
  if (held.length === 0) return;
  s.heldPaymentEvents = s.heldPaymentEvents!.filter((h) => h.cycleId !== cycleId);
  for (const { heldAt: _heldAt, ...h } of held) evolve(s, { type: 'payment_event', ...h }, ctx, out);
}

/** Held events whose cycle never reported within the hold: alerted for good. */
function expireHeldPaymentEvents(s: SubscriptionMachineState, now: number, out: SubscriptionCommand[]): void {
  if (!s.heldPaymentEvents?.length) return;
  const limit = SUBSCRIPTION_LIMITS.paymentEventHoldDays * DAY;
  const expired = s.heldPaymentEvents.filter((h) => now - h.heldAt >= limit);
  if (expired.length === 0) return;
  s.heldPaymentEvents = s.heldPaymentEvents.filter((h) => now - h.heldAt < limit);
  for (const h of expired)
    giveUpHeld(s, h, `its cycle did not report within ${SUBSCRIPTION_LIMITS.paymentEventHoldDays} days`, out);
}

function giveUpHeld(s: SubscriptionMachineState, h: HeldPaymentEvent, why: string, out: SubscriptionCommand[]): void {
  pushBounded(s.seenPaymentIds, `${h.kind}:${h.paymentId}`, SUBSCRIPTION_LIMITS.seenPaymentIdsKept);
  out.push({
    type: 'alert',
    code: 'payment_event_unmatched',
    message: `${h.kind} ${h.paymentId} for ${h.cycleId} (purchase ${h.purchaseId}) was held for the cycle's report and is dropped (${why}); reverse settlement by hand`,
    severity: 'critical',
    details: { cycleId: h.cycleId, purchaseId: h.purchaseId, paymentId: h.paymentId },
  });
}

/**
 * A refund Payment that reserved nothing: when it is what our refund request in flight for this cycle asked for, it is
 * that request's refund completing before the request's `pending_refund` answer came back (the answer then reserves
 * nothing). Same rule as for reservations: the amount must be the request's.
 */
function completesRefundInFlight(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  paymentId: string,
  amountMinor: number,
): void {
  if (s.inFlight !== 'refund') return;
  const req = s.requests.find((q) => q.kind === 'refund' && q.status === 'queued' && q.cycleId === c.cycleId);
  if (!req || req.completedBy) return;
  if (req.amountMinor !== undefined ? req.amountMinor !== amountMinor : refundableMinor(c) !== amountMinor) return;
  req.completedBy = { paymentId, amountMinor };
}

/**
 * A target recorded by a later report (its first record had failed) is owed what was refunded or charged back
 * meanwhile: one reversal per refund Payment (keyed as in the targets that reversed it at once), then the chargeback's
 * rest. Never twice: only a target that was not recorded before, and nothing already queued or written for it.
 */
function queueOwedReversals(
  s: SubscriptionMachineState,
  c: PaidCycleRecord,
  before: SettlementEntry[],
  now: number,
  out: SubscriptionCommand[],
): void {
  c.settlement.forEach((rec, targetIndex) => {
    if (rec.status !== 'recorded' || !rec.destination || before[targetIndex]?.status === 'recorded') return;
    const owed = (key: string) =>
      !s.work.some((w) => w.key === key && w.targetIndex === targetIndex) &&
      !s.settlementReversals.some((r) => r.key === key && r.targetIndex === targetIndex && r.status !== 'failed');
    const left = () => c.amountMinor - (c.reversedMinor[targetIndex] ?? 0) - queuedFor(s, c.cycleId, targetIndex);
    let unknown = 0;
    for (const paymentId of c.refundPaymentIds) {
      const amount =
        c.refunds?.find((r) => r.paymentId === paymentId)?.amountMinor ??
        s.paymentEvents.find((p) => p.kind === 'refund' && p.cycleId === c.cycleId && p.paymentId === paymentId)
          ?.amountMinor;
      if (amount === undefined) {
        unknown++;
        continue;
      }
      const key = `${c.cycleId}:refund:${paymentId}`;
      const reverse = Math.min(amount, left());
      if (reverse > 0 && owed(key))
        s.work.push({ key, kind: 'refund', cycleId: c.cycleId, targetIndex, amountMinor: reverse, paymentId });
    }
    if (c.chargedBack) {
      const key = `${c.cycleId}:chargeback:${c.chargebackRound}`;
      const reverse = left();
      if (reverse > 0 && owed(key))
        s.work.push({ key, kind: 'chargeback', cycleId: c.cycleId, targetIndex, amountMinor: reverse });
    }
    if (unknown > 0)
      out.push({
        type: 'alert',
        code: 'settlement_reversal_failed',
        message: `${rec.target} recorded ${c.cycleId} after ${unknown} refund(s) whose amounts are no longer kept; reverse them there by hand`,
        severity: 'critical',
        details: { cycleId: c.cycleId, targetIndex, at: new Date(now).toISOString() },
      });
  });
}

function onCycleReport(
  s: SubscriptionMachineState,
  u: CycleReport,
  ctx: SubscriptionContext,
  out: SubscriptionCommand[],
) {
  const now = ctx.now;
  if (u.token === s.recurringToken) {
    const cutoff = now - 30 * DAY;
    s.tokenAttempts = [...new Set([...s.tokenAttempts, ...u.attemptTimes])]
      .filter((t) => t >= cutoff)
      .sort((a, b) => a - b);
  }
  if (!u.final) {
    if (!s.failingCycles.includes(u.cycleId)) s.failingCycles.push(u.cycleId);
    if (s.status === 'active' || s.status === 'trialing') {
      setStatus(s, 'past_due');
      out.push({
        type: 'notify',
        event: 'subscription.past_due',
        key: `past_due:${u.cycleId}`,
        data: { cycleId: u.cycleId, cycleStatus: u.status, status: 'past_due' },
      });
    }
    return;
  }
  const inFlight = s.cycles.find((c) => c.cycleId === u.cycleId);
  const previous = s.recentCycles.find((c) => c.cycleId === u.cycleId);
  s.cycles = s.cycles.filter((c) => c.cycleId !== u.cycleId);
  s.failingCycles = s.failingCycles.filter((c) => c !== u.cycleId);
  const summary: CycleSummary = {
    cycleId: u.cycleId,
    periodIndex: u.periodIndex,
    periodStart: inFlight?.periodStart ?? previous?.periodStart ?? describePeriod(ctx.schedule, u.periodIndex).start,
    status: u.status,
    amountMinor: u.amountMinor,
    ...(u.purchaseId ? { purchaseId: u.purchaseId } : {}),
    ...(u.failureReason ? { failureReason: u.failureReason } : {}),
    ...(u.currency ? { currency: u.currency } : {}),
    ...(u.settlement ? { settlement: u.settlement } : {}),
  };
  s.recentCycles = [...s.recentCycles.filter((c) => c.cycleId !== u.cycleId), summary].slice(
    -SUBSCRIPTION_LIMITS.recentCyclesKept,
  );
  const paid = u.status === 'paid' || u.status === 'marked_paid';
  if (paid && u.purchaseId) {
    const existing = findPaidCycle(s, u.cycleId);
    const stale =
      !existing &&
      ctx.reversalsOwedOnLaterRecord &&
      (previous?.status === 'paid' || previous?.status === 'marked_paid');
    if (stale) {
      // A paid cycle whose record was kept for the reversal window and pruned: a late or repeated report must not
      // open it again to refunds as if nothing had been refunded.
    } else if (existing) {
      // A later report (after an operator's or the sweep's settlement retry) brings the records written since.
      if (u.settlement) {
        const before = existing.settlement;
        existing.settlement = u.settlement;
        if (ctx.reversalsOwedOnLaterRecord) queueOwedReversals(s, existing, before, now, out);
      }
    } else {
      s.paidCycles.push({
        cycleId: u.cycleId,
        purchaseId: u.purchaseId,
        amountMinor: u.amountMinor,
        currency: u.currency ?? s.plan.currency,
        paidAt: now,
        settlement: u.settlement ?? [],
        refundedMinor: 0,
        refundPaymentIds: [],
        pendingRefunds: [],
        chargedBack: false,
        chargebackRound: 0,
        reversedMinor: [],
      });
    }
    if (s.status === 'past_due' && s.failingCycles.length === 0) setStatus(s, 'active');
    return;
  }
  if (u.status === 'failed' && !previous) {
    if (u.failureKind === 'operations') {
      out.push({
        type: 'alert',
        code: 'cycle_failed_operations',
        message: `cycle ${u.cycleId} failed for an operations reason (${u.failureReason ?? ''}); the customer is not escalated`,
        severity: 'critical',
        details: { cycleId: u.cycleId },
      });
      if (s.status === 'past_due' && s.failingCycles.length === 0) setStatus(s, 'active');
      return;
    }
    escalate(s, u.cycleId, now, ctx, out);
  }
}

function escalate(
  s: SubscriptionMachineState,
  cycleId: string,
  now: number,
  ctx: SubscriptionContext,
  out: SubscriptionCommand[],
) {
  if (s.status === 'canceled') return;
  if (ctx.escalation === 'cancel') {
    cancelNow(s, now, `cycle ${cycleId} failed`, out);
  } else if (ctx.escalation === 'mark_unpaid') {
    delete s.statusBeforePause;
    setStatus(s, 'unpaid');
    out.push({
      type: 'notify',
      event: 'subscription.unpaid',
      key: `unpaid:${cycleId}`,
      data: { cycleId, status: 'unpaid' },
    });
  } else if (s.status === 'paused') {
    s.statusBeforePause = 'past_due'; // keep_past_due must not end a pause (that would restart billing)
  } else {
    setStatus(s, 'past_due');
  }
}

// ---------------------------------------------------------------------------------------------------------------

function plan(s: SubscriptionMachineState, ctx: SubscriptionContext, out: SubscriptionCommand[]): void {
  const now = ctx.now;
  s.wakeAt = undefined;
  prunePaidCycles(s, now);
  expireHeldPaymentEvents(s, now, out);
  markLivenessPings(s, ctx, now);

  // 1. Keep cycles in flight in step: cancel, pause/resume, new token, liveness.
  const paused = s.status === 'paused';
  for (const c of s.cycles) {
    if (s.status === 'canceled' && !c.canceled) {
      c.canceled = true;
      c.stopAckDue = true;
      s.inFlight = 'signal_cycle';
      out.push({
        type: 'signal_cycle',
        cycleId: c.cycleId,
        signal: { kind: 'cancel', reason: `subscription canceled: ${s.cancelReason ?? ''}`.trim() },
      });
      return;
    }
    if (s.status !== 'canceled' && c.token !== s.recurringToken) {
      c.token = s.recurringToken;
      s.inFlight = 'signal_cycle';
      out.push({ type: 'signal_cycle', cycleId: c.cycleId, signal: { kind: 'token', token: s.recurringToken } });
      return;
    }
    if (s.status !== 'canceled' && (c.paused !== paused || c.ping)) {
      if (paused && !c.paused) c.stopAckDue = true;
      c.paused = paused;
      delete c.ping;
      s.inFlight = 'signal_cycle';
      out.push({ type: 'signal_cycle', cycleId: c.cycleId, signal: { kind: 'hold', paused } });
      return;
    }
  }

  // 2. Refunds and chargebacks asked for, then settlement reversals, in order.
  const req = s.requests.find((q) => q.status === 'queued');
  if (req) {
    const c = findPaidCycle(s, req.cycleId);
    if (!c) {
      req.status = 'failed';
      req.error = `cycle ${req.cycleId} is not a paid cycle of this subscription`;
      plan(s, ctx, out);
      return;
    }
    if (req.kind === 'refund') {
      const refundable = refundableMinor(c);
      if (refundable <= 0 || (req.amountMinor !== undefined && req.amountMinor > refundable)) {
        req.status = 'failed';
        req.error = `refund exceeds what is left to refund (${refundable})`;
        plan(s, ctx, out);
        return;
      }
      s.inFlight = 'refund';
      out.push({
        type: 'refund',
        requestId: req.requestId,
        purchaseId: c.purchaseId,
        refundableMinor: refundable,
        knownPaymentIds: [...c.refundPaymentIds],
        ...(req.amountMinor !== undefined ? { amountMinor: req.amountMinor } : {}),
      });
      return;
    }
    s.inFlight = 'register_chargeback';
    out.push({ type: 'register_chargeback', requestId: req.requestId, purchaseId: c.purchaseId, ...req.chargeback! });
    return;
  }
  const w = s.work[0];
  if (w) {
    const c = findPaidCycle(s, w.cycleId);
    const rec = c?.settlement[w.targetIndex];
    if (!c || !rec?.destination) {
      s.work.shift();
      plan(s, ctx, out);
      return;
    }
    if (w.kind === 'restore') {
      s.inFlight = 'restore_settlement';
      out.push({
        type: 'restore_settlement',
        key: w.key,
        cycleId: c.cycleId,
        targetIndex: w.targetIndex,
        target: rec.destination,
        purchaseId: c.purchaseId,
        amountMinor: w.amountMinor,
        currency: c.currency,
      });
      return;
    }
    if (!rec.externalId) {
      s.work.shift();
      plan(s, ctx, out);
      return;
    }
    s.inFlight = 'reverse_settlement';
    out.push({
      type: 'reverse_settlement',
      key: w.key,
      cycleId: c.cycleId,
      targetIndex: w.targetIndex,
      target: rec.destination,
      externalId: rec.externalId,
      purchaseId: c.purchaseId,
      amountMinor: w.amountMinor,
      currency: c.currency,
      kind: w.kind,
      ...(w.kind === 'refund' && w.paymentId ? { paymentId: w.paymentId } : {}),
      ...(w.kind === 'chargeback' && !w.key.endsWith(':0') ? { paymentId: `round${w.key.split(':').pop()}` } : {}),
    });
    return;
  }

  // 3. The schedule.
  if (s.status !== 'canceled' && s.cancelAtPeriodEnd && s.cancelAt !== undefined && now >= s.cancelAt) {
    cancelNow(s, now, s.cancelReason ?? 'canceled at period end', out);
    plan(s, ctx, out);
    return;
  }
  const allBilled = ctx.maxPeriods !== undefined && s.nextPeriodIndex >= ctx.maxPeriods;
  if (s.status === 'canceled' || allBilled) {
    if (s.cycles.length > 0) {
      scheduleLiveness(s, ctx, now);
      return;
    }
    s.endedAt ??= now;
    const closeAt = lastReversalDeadline(s);
    if (now >= closeAt) {
      s.finished = true;
      out.push({ type: 'finish' });
      return;
    }
    s.wakeAt = closeAt;
    return;
  }

  const firstDue = periodStart(ctx.schedule, 0);
  if (s.status === 'trialing' && now >= firstDue) setStatus(s, 'active');
  const due = periodStart(ctx.schedule, s.nextPeriodIndex);
  if (!billingStopped(s) && now >= due) {
    if (s.cancelAtPeriodEnd) {
      cancelNow(s, now, s.cancelReason ?? 'canceled at period end', out);
      plan(s, ctx, out);
      return;
    }
    if (s.pendingPlan) {
      s.plan = s.pendingPlan;
      delete s.pendingPlan;
    }
    const period = describePeriod(ctx.schedule, s.nextPeriodIndex);
    const cycleId = `cycle:${ctx.subscriptionId}:${s.nextPeriodIndex}`;
    const c: CycleInFlight = {
      cycleId,
      periodIndex: s.nextPeriodIndex,
      periodStart: period.start,
      amountMinor: planAmountMinor(s.plan),
      token: s.recurringToken,
      paused: false,
      canceled: false,
    };
    s.cycles.push(c);
    s.nextPeriodIndex++;
    s.inFlight = 'start_cycle';
    out.push({
      type: 'start_cycle',
      cycleId,
      periodIndex: c.periodIndex,
      periodStart: period.start,
      periodEnd: period.end,
      token: s.recurringToken,
      plan: s.plan,
      paused: false,
      priorTokenAttempts: [...s.tokenAttempts],
    });
    return;
  }
  const wakes: number[] = [];
  if (!billingStopped(s)) wakes.push(due);
  if (s.cancelAtPeriodEnd && s.cancelAt !== undefined) wakes.push(s.cancelAt);
  if (s.cycles.length > 0) {
    scheduleLiveness(s, ctx, now);
    if (s.wakeAt !== undefined) wakes.push(s.wakeAt);
  }
  s.wakeAt = wakes.length ? Math.min(...wakes) : undefined;
}

/** Every day with cycles in flight, ping them: a cycle that is gone without a report is found and alerted. */
function scheduleLiveness(s: SubscriptionMachineState, ctx: SubscriptionContext, now: number): void {
  s.nextLivenessCheckAt ??= livenessCheckAfter(s, ctx, now);
  s.wakeAt = s.nextLivenessCheckAt;
}

/** When the liveness check is due, every cycle in flight gets a ping (sent by the sync step right after). */
function markLivenessPings(s: SubscriptionMachineState, ctx: SubscriptionContext, now: number): void {
  if (s.cycles.length === 0 || s.nextLivenessCheckAt === undefined || now < s.nextLivenessCheckAt) return;
  for (const c of s.cycles) c.ping = true;
  s.nextLivenessCheckAt = livenessCheckAfter(s, ctx, now);
}

/** A liveness check up to this long after a period's due time is held on the due time instead. */
export const LIVENESS_ALIGN_WINDOW_MS = 60_000;

/**
 * The next liveness check: a day after `now`, or, with `ctx.livenessOnDueTimes`, the due time of a period still to
 * be billed when the day ends within LIVENESS_ALIGN_WINDOW_MS after it (each check then keeps to the due times: a
 * check made a few ms after a due time would otherwise drift off it again). The first check is counted from the first step that sees a cycle
 * in flight, a fraction of a second after the period started, so without this a daily subscription with a cycle in
 * dunning woke at each due time and again a few hundred milliseconds later: a timer and a workflow task more, and a
 * sub-second timer that the time-skipping test server cannot take when a signal arrives as it fires
 * (temporalio/sdk-java#3088).
 */
function livenessCheckAfter(s: SubscriptionMachineState, ctx: SubscriptionContext, now: number): number {
  const at = now + SUBSCRIPTION_LIMITS.livenessCheckDays * DAY;
  if (!ctx.livenessOnDueTimes || billingStopped(s)) return at;
  // The period whose due time is the last one at or before `at` (a period still to be billed, if any).
  const k = periodIndexAt(ctx.schedule, at);
  if (k < s.nextPeriodIndex || (ctx.maxPeriods !== undefined && k >= ctx.maxPeriods)) return at;
  const due = periodStart(ctx.schedule, k);
  return at - due <= LIVENESS_ALIGN_WINDOW_MS ? due : at;
}

function lastReversalDeadline(s: SubscriptionMachineState): number {
  const window = SUBSCRIPTION_LIMITS.reversalWindowDays * DAY;
  const paid = s.paidCycles.map((c) => c.paidAt + window);
  return Math.max(s.endedAt ?? 0, ...paid);
}

function prunePaidCycles(s: SubscriptionMachineState, now: number): void {
  const window = SUBSCRIPTION_LIMITS.reversalWindowDays * DAY;
  s.paidCycles = s.paidCycles.filter(
    (c) => now < c.paidAt + window || c.pendingRefunds.length > 0 || s.work.some((w) => w.cycleId === c.cycleId),
  );
}

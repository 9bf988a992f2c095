/**
 * The subscription as a pure state machine: `decideSubscription(state, event, ctx)` returns the next state and the
 * commands the workflow must run. No Temporal, no I/O, no clock: time comes in as `ctx.now`.
 *
 * Rules
 * - Due dates come from the anchor (src/domain/calendar/). At creation, billing starts with the period that
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
 *
 * The modules, one concern each (this index is the public API; nothing outside the folder imports its files):
 * - state.ts: statuses, plan terms, the state object and its records; limits.ts: SUBSCRIPTION_LIMITS; events.ts:
 *   events in, commands out, the context; keys.ts: the persisted keys of settlement work and seen payment events.
 * - creation.ts: the first billed period and the initial state; decide.ts: `decideSubscription`, one handler per
 *   event; trail.ts: which requests enter the change trail.
 * - plan.ts: the next step when no call is in flight; schedule.ts: due periods, cycle starts, liveness, the end.
 * - lifecycle.ts: cancel, pause, resume, plan change, new card, escalation; cycles.ts: cycle starts, signals and
 *   reports; requests.ts: refund and chargeback requests and their answers; payment-events.ts: payment webhooks,
 *   held until their cycle reports; reversals.ts: refunds, chargebacks and their reversal as settlement work;
 *   settlement.ts: writing that work, and what a target recorded late is owed.
 */
export {
  SUBSCRIPTION_STATUSES,
  billingStopped,
  cloneSubscriptionState,
  cyclesStopping,
  findPaidCycle,
  planAmountMinor,
  refundableMinor,
  type CycleInFlight,
  type CycleSummary,
  type EscalationPolicy,
  type HeldPaymentEvent,
  type PaidCycleRecord,
  type PaymentEventRecord,
  type PlanTerms,
  type RefundRequestRecord,
  type SettlementReversalRecord,
  type SettlementWork,
  type SubscriptionMachineState,
  type SubscriptionStatus,
} from './state';
export { LIVENESS_ALIGN_WINDOW_MS, SUBSCRIPTION_LIMITS } from './limits';
export type {
  CycleReport,
  MerchantSubscriptionEvent,
  SubscriptionCall,
  SubscriptionCommand,
  SubscriptionContext,
  SubscriptionDecision,
  SubscriptionEvent,
} from './events';
export { firstBilledPeriod, initialSubscriptionState, nothingToBillAtCreation } from './creation';
export { chargebackRefusal, refundRefusal } from './requests';
export { decideSubscription } from './decide';

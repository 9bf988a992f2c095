/**
 * The billing cycle as a pure state machine: `decideCycle(state, event, ctx)` returns the next state and the commands
 * the workflow must run. No Temporal, no I/O, no clock: time comes in as `ctx.now`.
 *
 * Rules (each is a money rule; the property tests in test/unit/domain/billing-cycle/decide.property.test.ts check them):
 * - One call at a time. `state.inFlight` names the one gateway (or settlement) call the workflow is running; while it
 *   is set, events are recorded and nothing new is asked for. Its answer clears it and the machine plans the next step.
 * - A charge is only asked for when the cycle is not paused, no cancel was requested, no pending charge is at the
 *   gateway and the time has come (dunning schedule, `retryNow`, a new token, each at least
 *   `minHoursBetweenAttempts` after the previous attempt).
 * - Webhooks are hints. A paid status concludes at once (paid never goes back); a failure or closure is confirmed by
 *   re-reading the Purchase in the main loop, after any charge answer, so a stale decline never concludes a later
 *   attempt.
 * - Before a terminal `failed` or `canceled`, the Purchase is re-read (or cancelled, which re-reads it first): money
 *   that arrived meanwhile makes the cycle paid. A paid Purchase seen after the cycle closed raises an alert.
 * - Creating the Purchase is an operations matter: failures alert and retry on the merchant-configuration schedule
 *   and never fail the cycle against the customer.
 *
 * The modules, one concern each (this index is the public API; nothing outside the folder imports its files):
 * - state.ts: statuses, the state object and what it keeps of Purchases and settlement; limits.ts: CYCLE_LIMITS and
 *   the charge fence; events.ts: events in, commands out, the context.
 * - decide.ts: `decideCycle`, the reducer: one handler per event, then plan.ts, then stop.ts.
 * - plan.ts: the next step when no call is in flight; schedule.ts: when the next charge may be made.
 * - attempt.ts: charge answers and declines (dunning); pending.ts: a charge the gateway is still processing;
 *   paid.ts: the cycle took its money; purchase.ts: creating and cancelling Purchases; purchase-reads.ts: what a read
 *   or a webhook shows; mark-paid.ts: an operator's mark-as-paid; stop.ts: cancel, pause and their acknowledgement;
 *   closing.ts: the last look before failed or canceled; settlement.ts: recording a paid cycle in its targets.
 */
export {
  CYCLE_STATUSES,
  TERMINAL_CYCLE_STATUSES,
  PAID_PURCHASE_STATUSES,
  CLOSED_PURCHASE_STATUSES,
  isTerminalCycleStatus,
  isPaidCycleStatus,
  isPaidPurchaseStatus,
  isClosedPurchaseStatus,
  isChargePendingStatus,
  isDeclinedPurchaseStatus,
  initialCycleState,
  currentPurchaseId,
  cloneCycleState,
  type CycleStatus,
  type CycleMachineState,
  type DeclineDetails,
  type PurchaseFacts,
  type SettlementTargetRef,
  type SettlementEntry,
  type GatewayCall,
} from './state';
export { CHARGE_FENCE_MS, CYCLE_LIMITS } from './limits';
export type { CycleEvent, CycleCommand, CycleContext, CycleDecision, MerchantCycleEvent } from './events';
export { decideCycle } from './decide';
export { earliestNextAttempt, retryNowRefusal } from './schedule';
export { markPaidRefusal } from './mark-paid';

/**
 * The billing cycle as a pure state machine: `decideCycle(state, event, ctx)` returns the next state and the commands
 * the workflow must run. No Temporal, no I/O, no clock: time comes in as `ctx.now`.
 *
 * Rules (each is a money rule; the property tests in test/unit/domain/billing-cycle.property.test.ts check them):
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
 */
export * from './state';
export { CHARGE_FENCE_MS, CYCLE_LIMITS } from './limits';
export * from './events';
export { decideCycle, earliestNextAttempt, markPaidRefusal, retryNowRefusal } from './machine';

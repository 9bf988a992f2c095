/**
 * The next step when no call is in flight, in order of precedence:
 * 1. keep the cycles in flight in step with the subscription (cancel, pause or resume, a new token, a liveness ping);
 * 2. refunds and chargebacks asked for (requests.ts), then settlement reversals and restores (settlement.ts);
 * 3. the schedule (schedule.ts): cancel at period end, the next period's cycle, the end of billing, the wake-up time.
 * Each step either asks for one call and ends planning, changes the state so planning starts over, or passes.
 */
import { ask, type Out, type Step, type SubscriptionContext } from './events';
import { expireHeldPaymentEvents } from './payment-events';
import { nextRequest } from './requests';
import { markLivenessPings, prunePaidCycles, scheduleStep } from './schedule';
import { nextSettlementWork } from './settlement';
import type { SubscriptionMachineState } from './state';

export function plan(s: SubscriptionMachineState, ctx: SubscriptionContext, out: Out): void {
  const now = ctx.now;
  s.wakeAt = undefined;
  prunePaidCycles(s, now);
  expireHeldPaymentEvents(s, now, out);
  markLivenessPings(s, ctx, now);
  const step = syncCycles(s, out) ?? nextRequest(s, out) ?? nextSettlementWork(s, out) ?? scheduleStep(s, ctx, out);
  if (step === 'again') plan(s, ctx, out);
}

/**
 * Plan step: cycles in flight know the current token, whether billing is paused, and whether the subscription was
 * canceled; a change that raced a cycle's start reaches it right after the start. One signal at a time.
 */
function syncCycles(s: SubscriptionMachineState, out: Out): Step {
  const paused = s.status === 'paused';
  for (const c of s.cycles) {
    if (s.status === 'canceled' && !c.canceled) {
      c.canceled = true;
      c.stopAckDue = true;
      return ask(s, out, {
        type: 'signal_cycle',
        cycleId: c.cycleId,
        signal: { kind: 'cancel', reason: `subscription canceled: ${s.cancelReason ?? ''}`.trim() },
      });
    }
    if (s.status !== 'canceled' && c.token !== s.recurringToken) {
      c.token = s.recurringToken;
      return ask(s, out, {
        type: 'signal_cycle',
        cycleId: c.cycleId,
        signal: { kind: 'token', token: s.recurringToken },
      });
    }
    if (s.status !== 'canceled' && (c.paused !== paused || c.ping)) {
      if (paused && !c.paused) c.stopAckDue = true;
      c.paused = paused;
      delete c.ping;
      return ask(s, out, { type: 'signal_cycle', cycleId: c.cycleId, signal: { kind: 'hold', paused } });
    }
  }
  return undefined;
}

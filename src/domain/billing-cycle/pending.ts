/**
 * A charge the gateway is still processing (`pending_*`): the cycle polls the Purchase on the policy's schedule,
 * alerts once after `pendingAlertAfterHours`, and the outcome decides. Every wait has a timer.
 */
import { pendingPollDelayMs, type DunningPolicy } from '../dunning';
import { ask, type CycleCommand, type CycleContext } from './events';
import { HOUR } from './limits';
import { isTerminalCycleStatus, type CycleMachineState } from './state';

export function startPending(s: CycleMachineState, now: number, policy: DunningPolicy): void {
  if (isTerminalCycleStatus(s.status)) return;
  if (s.status !== 'pending') {
    s.status = 'pending';
    s.pendingSince = now;
    s.polls = 0;
    s.pendingAlerted = false;
  }
  s.nextPollAt = now + pendingPollDelayMs(policy, s.polls);
  delete s.nextAttemptAt;
}

/** A poll saw the charge still in flight (or nothing that concludes it): the next poll waits its turn. */
export function pollAgainLater(s: CycleMachineState, ctx: CycleContext): void {
  s.polls++;
  s.nextPollAt = ctx.now + pendingPollDelayMs(ctx.policy, s.polls);
}

export function planPending(s: CycleMachineState, ctx: CycleContext, out: CycleCommand[], purchaseId: string): void {
  const now = ctx.now;
  const alertAt = (s.pendingSince ?? now) + ctx.policy.pendingAlertAfterHours * HOUR;
  if (!s.pendingAlerted && now >= alertAt) {
    s.pendingAlerted = true;
    out.push({
      type: 'alert',
      code: 'pending_too_long',
      message: `charge pending for ${ctx.policy.pendingAlertAfterHours}h; still polling`,
      severity: 'critical',
    });
    out.push({
      type: 'notify',
      event: 'cycle.pending_too_long',
      key: 'pending_too_long',
      data: { pendingSince: new Date(s.pendingSince ?? now).toISOString() },
    });
  }
  const pollAt = s.nextPollAt ?? now;
  if (s.confirm || now >= pollAt) {
    ask(s, out, { type: 'read_purchase', purchaseId, purpose: s.confirm ? 'confirm' : 'poll' });
    return;
  }
  s.wakeAt = s.pendingAlerted ? pollAt : Math.min(pollAt, alertAt);
}

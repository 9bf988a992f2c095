/**
 * Stops: a cancel or a pause. No charge is asked for after either, and the subscription waits for the cycle to
 * confirm that no charge request will leave it any more (`ack_stop`): sent once no charge call is in flight and no
 * request of an attempt whose outcome is unknown can still leave (the charge fence). A pause also holds the
 * hard-decline grace: its clock stops while paused and runs on from resume.
 */
import type { CycleCommand, CycleContext } from './events';
import { isTerminalCycleStatus, type CycleMachineState } from './state';

export function onCancelRequested(s: CycleMachineState, reason: string): void {
  if (!isTerminalCycleStatus(s.status) && !s.cancel) s.cancel = { reason };
  s.stopAckDue = true;
}

export function onHold(s: CycleMachineState, paused: boolean, ctx: CycleContext): void {
  s.paused = paused;
  if (paused) s.stopAckDue = true;
  if (!ctx.legacyRules && s.status === 'action_required' && s.actionRequiredUntil !== undefined) {
    // Pause holds the hard-decline grace: the clock stops while paused and runs on from resume.
    if (paused && s.graceLeftMs === undefined) s.graceLeftMs = Math.max(0, s.actionRequiredUntil - ctx.now);
    else if (!paused && s.graceLeftMs !== undefined) {
      s.actionRequiredUntil = ctx.now + s.graceLeftMs;
      delete s.graceLeftMs;
    }
  }
}

/** Confirms a stop once no charge request can leave the cycle any more; until then, wakes when one no longer can. */
export function acknowledgeStop(s: CycleMachineState, ctx: CycleContext, out: CycleCommand[]): void {
  if (s.stopAckDue && s.inFlight !== 'charge') {
    if (s.chargeSettlesAt !== undefined && s.chargeSettlesAt > ctx.now && !isTerminalCycleStatus(s.status)) {
      // A charge request of an attempt whose outcome is unknown may still leave or be on its way: not yet.
      if (s.wakeAt === undefined || s.wakeAt > s.chargeSettlesAt) s.wakeAt = s.chargeSettlesAt;
    } else {
      delete s.stopAckDue;
      out.push({ type: 'ack_stop' });
    }
  }
}

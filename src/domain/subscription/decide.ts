/**
 * `decideSubscription`, the reducer: a copy of the state, one handler per event, the change trail, then, when no
 * call is in flight, the plan (plan.ts). An answer to a call clears the call in flight here, in one place.
 */
import type { Out, SubscriptionContext, SubscriptionDecision, SubscriptionEvent } from './events';
import { onCycleReported, onCycleSignaled, onCycleStarted, onCycleStopAcked } from './cycles';
import { onCancelRequested, onPauseRequested, onPlanChanged, onResumeRequested, onTokenUpdated } from './lifecycle';
import { onPaymentEvent } from './payment-events';
import { plan } from './plan';
import { onChargebackAnswered, onChargebackRequested, onRefundAnswered, onRefundRequested } from './requests';
import { onSettlementRecorded, onSettlementWorkDone } from './settlement';
import { cloneSubscriptionState, type SubscriptionMachineState } from './state';
import { recordRequest } from './trail';

/** Events that answer the call in flight. */
const ANSWERS: ReadonlySet<SubscriptionEvent['type']> = new Set([
  'cycle_started',
  'cycle_signaled',
  'refund_answered',
  'chargeback_answered',
  'settlement_work_done',
]);

export function decideSubscription(
  prev: SubscriptionMachineState,
  event: SubscriptionEvent,
  ctx: SubscriptionContext,
): SubscriptionDecision {
  const s = cloneSubscriptionState(prev);
  const out: Out = [];
  if (ANSWERS.has(event.type)) s.inFlight = undefined;
  evolve(s, event, ctx, out);
  recordRequest(prev, s, event, ctx.now);
  if (!s.inFlight && !s.finished) plan(s, ctx, out);
  return { state: s, commands: out };
}

function evolve(s: SubscriptionMachineState, e: SubscriptionEvent, ctx: SubscriptionContext, out: Out): void {
  switch (e.type) {
    case 'started':
    case 'timer':
      return;
    case 'cycle_started':
      return onCycleStarted(e, out);
    case 'cycle_stop_acked':
      return onCycleStopAcked(s, e);
    case 'cycle_signaled':
      return onCycleSignaled(s, e, ctx, out);
    case 'cycle_reported':
      return onCycleReported(s, e, ctx, out);
    case 'settlement_recorded':
      return onSettlementRecorded(s, e, ctx, out);
    case 'cancel_requested':
      return onCancelRequested(s, e, ctx, out);
    case 'pause_requested':
      return onPauseRequested(s);
    case 'resume_requested':
      return onResumeRequested(s, ctx);
    case 'plan_changed':
      return onPlanChanged(s, e);
    case 'token_updated':
      return onTokenUpdated(s, e);
    case 'refund_requested':
      return onRefundRequested(s, e);
    case 'chargeback_requested':
      return onChargebackRequested(s, e);
    case 'refund_answered':
      return onRefundAnswered(s, e, ctx, out);
    case 'chargeback_answered':
      return onChargebackAnswered(s, e, ctx, out);
    case 'payment_event':
      return onPaymentEvent(s, e, ctx, out);
    case 'settlement_work_done':
      return onSettlementWorkDone(s, e, ctx, out);
  }
}

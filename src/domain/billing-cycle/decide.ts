/**
 * The billing cycle's reducer: `decideCycle(state, event, ctx)` records the event (each concern's handler), plans the
 * next step when no call is in flight (plan.ts), and confirms a stop once it is safe (stop.ts).
 */
import type { ChangeKind } from '../actor';
import { recordChange } from '../change-trail';
import { onCharged, onChargeDeclined, onChargeFailed, onChargeRefused } from './attempt';
import type { CycleCommand, CycleContext, CycleDecision, CycleEvent } from './events';
import { onMarkedPaid, onMarkPaidRequested, answerMarkPaid } from './mark-paid';
import { plan } from './plan';
import { onPurchaseCanceled, onPurchaseCancelFailed, onPurchaseCreated, onPurchaseCreateFailed } from './purchase';
import { onPurchaseFacts, onPurchaseRead, onPurchaseReadFailed } from './purchase-reads';
import { onRetryNowRequested, onTokenUpdated } from './schedule';
import { onSettlementRetryRequested, onSettlementWritten } from './settlement';
import { cloneCycleState, type CycleMachineState } from './state';
import { acknowledgeStop, onCancelRequested, onHold } from './stop';

/** The merchant change a request event is, for the change trail (src/domain/change-trail.ts). */
const CYCLE_CHANGE_KIND_OF: Partial<Record<CycleEvent['type'], ChangeKind>> = {
  mark_paid_requested: 'mark_paid',
  retry_now_requested: 'retry_now',
  settlement_retry_requested: 'retry_settlement',
};

/** The answers of the calls the workflow runs: each ends the call in flight. */
const CALL_ANSWERS: ReadonlySet<CycleEvent['type']> = new Set<CycleEvent['type']>([
  'purchase_created',
  'purchase_create_failed',
  'charged',
  'charge_declined',
  'charge_refused',
  'charge_failed',
  'purchase_read',
  'purchase_read_failed',
  'purchase_canceled',
  'purchase_cancel_failed',
  'marked_paid',
  'mark_paid_failed',
  'settlement_recorded',
  'settlement_failed',
]);

/** Applies one event and plans the next step. Pure: the input state is not modified. */
export function decideCycle(prev: CycleMachineState, event: CycleEvent, ctx: CycleContext): CycleDecision {
  const s = cloneCycleState(prev);
  const out: CycleCommand[] = [];
  if (CALL_ANSWERS.has(event.type)) s.inFlight = undefined;
  evolve(s, event, ctx, out);
  const kind = CYCLE_CHANGE_KIND_OF[event.type];
  if (kind !== undefined && 'by' in event && event.by !== undefined) {
    s.changes = recordChange(s.changes, kind, event.by, ctx.now);
  }
  if (!s.inFlight && !s.finished) plan(s, ctx, out);
  acknowledgeStop(s, ctx, out);
  return { state: s, commands: out };
}

/** Records what happened: one handler per event, each in the module of its concern. */
function evolve(s: CycleMachineState, e: CycleEvent, ctx: CycleContext, out: CycleCommand[]): void {
  switch (e.type) {
    case 'started':
    case 'timer':
      return;
    case 'purchase_created':
      return onPurchaseCreated(s, e.purchase);
    case 'purchase_create_failed':
      return onPurchaseCreateFailed(s, e.reason, ctx, out);
    case 'charged':
      return onCharged(s, e, ctx, out);
    case 'charge_declined':
      return onChargeDeclined(s, e.decline, ctx, out);
    case 'charge_refused':
      return onChargeRefused(s, e.purchase, ctx, out);
    case 'charge_failed':
      return onChargeFailed(s, e, ctx, out);
    case 'purchase_read':
      return onPurchaseRead(s, e.purchase, ctx, out);
    case 'gateway_event':
      return onPurchaseFacts(s, e.purchase, false, ctx, out);
    case 'purchase_read_failed':
      return onPurchaseReadFailed(s, e.reason, ctx, out);
    case 'purchase_canceled':
      return onPurchaseCanceled(s, e.purchase, ctx, out);
    case 'purchase_cancel_failed':
      return onPurchaseCancelFailed(s, e.reason, ctx, out);
    case 'marked_paid':
      return onMarkedPaid(s, e.purchase, ctx.now, out);
    case 'mark_paid_failed':
      return answerMarkPaid(s, e.reason);
    case 'cancel_requested':
      return onCancelRequested(s, e.reason);
    case 'hold':
      return onHold(s, e.paused, ctx);
    case 'retry_now_requested':
      return onRetryNowRequested(s, ctx);
    case 'token_updated':
      return onTokenUpdated(s, e.token);
    case 'mark_paid_requested':
      return onMarkPaidRequested(s, e);
    case 'settlement_recorded':
      return onSettlementWritten(s, e.index, { status: 'recorded', externalId: e.externalId });
    case 'settlement_failed':
      return onSettlementWritten(s, e.index, { status: 'failed', error: e.error });
    case 'settlement_retry_requested':
      return onSettlementRetryRequested(s);
  }
}

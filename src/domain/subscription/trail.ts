/**
 * The change trail of merchant requests: which request events are changes, and when one is recorded (who made it,
 * and, for refunds and chargebacks, only the event that queued the request).
 */
import { recordChange } from '../change-trail';
import type { ChangeKind } from '../actor';
import type { SubscriptionEvent } from './events';
import type { SubscriptionMachineState } from './state';

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
export function recordRequest(
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

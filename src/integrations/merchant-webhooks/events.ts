/**
 * The events the engine notifies merchants about. The type union lives in `src/shared/notifications.ts` (workflows
 * build notifications from it); this module adds the runtime list and the delivered shape with `createdAt`.
 */
import type { MerchantEventType, MerchantNotification } from '../../shared/notifications';

export type { MerchantEventType };

export const MERCHANT_EVENT_TYPES = [
  'cycle.paid',
  'cycle.payment_failed',
  'cycle.action_required',
  'cycle.failed',
  'cycle.pending_too_long',
  'cycle.settlement_failed',
  'cycle.refunded',
  'cycle.chargeback_reversed',
  'subscription.past_due',
  'subscription.unpaid',
  'subscription.canceled',
  'subscription.chargeback',
] as const satisfies readonly MerchantEventType[];

// Compile-time guard: the list above names every MerchantEventType (the `satisfies` above checks the converse).
type MissingFromList = Exclude<MerchantEventType, (typeof MERCHANT_EVENT_TYPES)[number]>;
const listIsComplete: [MissingFromList] extends [never] ? true : MissingFromList = true;
void listIsComplete;

/** One outbound notification, as serialized into the POST body. */
export interface MerchantEvent extends MerchantNotification {
  /** Idempotency key: cycle (or subscription) workflow id + operation. Also sent as `Billing-Event-Id`. */
  id: string;
  type: MerchantEventType;
  /** ISO-8601 instant at which the engine produced the event. */
  createdAt: string;
  subscriptionId: string;
  cycleId?: string;
  data: Record<string, unknown>;
}

export function isMerchantEventType(value: unknown): value is MerchantEventType {
  return typeof value === 'string' && (MERCHANT_EVENT_TYPES as readonly string[]).includes(value);
}

/** What workflows ask the notify activities to send. Merchant events are signed outbound webhooks. */
export type MerchantEventType =
  | 'cycle.paid'
  | 'cycle.payment_failed'
  | 'cycle.action_required'
  | 'cycle.failed'
  | 'cycle.pending_too_long'
  | 'cycle.settlement_failed'
  | 'cycle.refunded'
  | 'cycle.chargeback_reversed'
  | 'subscription.past_due'
  | 'subscription.unpaid'
  | 'subscription.canceled'
  | 'subscription.chargeback';

export interface MerchantNotification {
  /** Idempotency key: the cycle (or subscription) workflow id plus the operation; receivers dedupe on it. */
  id: string;
  type: MerchantEventType;
  subscriptionId: string;
  cycleId?: string;
  data: Record<string, unknown>;
}

export interface OperationsAlert {
  /** Stable code operators can search logs for, e.g. `pending_too_long`, `merchant_configuration`. */
  code: string;
  severity: 'warning' | 'critical';
  message: string;
  workflowId: string;
  details?: Record<string, unknown>;
}

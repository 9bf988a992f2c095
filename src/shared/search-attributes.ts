import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search-attribute keys. Operators query them in the Temporal UI, e.g.
 * `WorkflowType="billingCycleWorkflow" AND CustomerId="c_1" AND BillingStatus="action_required"`.
 * No PII in them: ids and statuses only.
 */
export const SUBSCRIPTION_ID = defineSearchAttributeKey('SubscriptionId', SearchAttributeType.KEYWORD);
export const CUSTOMER_ID = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
/** The merchant a subscription belongs to, stamped at create; every merchant read, list and write filters by it. */
export const MERCHANT_ID = defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD);
/** Status of a billing cycle (creating, charging, pending, retry_scheduled, action_required, paid, ...). */
export const BILLING_STATUS = defineSearchAttributeKey('BillingStatus', SearchAttributeType.KEYWORD);
/** Status of a subscription (trialing, active, past_due, paused, unpaid, canceled). */
export const SUBSCRIPTION_STATUS = defineSearchAttributeKey('SubscriptionStatus', SearchAttributeType.KEYWORD);
export const NEXT_ATTEMPT_AT = defineSearchAttributeKey('NextAttemptAt', SearchAttributeType.DATETIME);
export const NEXT_CHARGE_AT = defineSearchAttributeKey('NextChargeAt', SearchAttributeType.DATETIME);
export const LAST_DECLINE_CODE = defineSearchAttributeKey('LastDeclineCode', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [
  SUBSCRIPTION_ID,
  CUSTOMER_ID,
  MERCHANT_ID,
  BILLING_STATUS,
  SUBSCRIPTION_STATUS,
  NEXT_ATTEMPT_AT,
  NEXT_CHARGE_AT,
  LAST_DECLINE_CODE,
] as const;

/** `Name=Type` pairs for `temporal server start-dev --search-attribute`. */
export function searchAttributeFlags(): string[] {
  const typeName: Record<string, string> = {
    KEYWORD: 'Keyword',
    DATETIME: 'Datetime',
    TEXT: 'Text',
    INT: 'Int',
    DOUBLE: 'Double',
    BOOL: 'Bool',
    KEYWORD_LIST: 'KeywordList',
  };
  return ALL_SEARCH_ATTRIBUTES.map((k) => `${k.name}=${typeName[k.type] ?? 'Keyword'}`);
}

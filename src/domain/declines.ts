/**
 * Decline classification for QorePay (CHIP Collect) charge attempts, per `billing-policy.md`.
 *
 * Pure and deterministic: used inside workflows, so no Node built-ins and no I/O.
 */

export type DeclineClass = 'hard' | 'soft' | 'merchant_configuration' | 'already_paid' | 'unknown';

/** Exact attempt error codes and their class. */
export const DECLINE_CODES: Readonly<Record<string, Exclude<DeclineClass, 'unknown'>>> = Object.freeze({
  // hard: no retry with this token; wait for a new one
  invalid_recurring_token: 'hard',
  recurring_token_expired: 'hard',
  expired_card: 'hard',
  lost_card: 'hard',
  stolen_card: 'hard',
  restricted_card: 'hard',
  invalid_card_number: 'hard',
  invalid_expires: 'hard',
  invalid_card_data: 'hard',
  invalid_issuer_number: 'hard',
  transaction_not_permitted_to_cardholder: 'hard',
  transaction_not_supported_or_not_valid_for_card: 'hard',
  suspected_fraud: 'hard',
  antifraud_general: 'hard',
  security_violation: 'hard',
  '3ds_authentication_failed': 'hard',
  // soft: retry on the dunning schedule
  insufficient_funds: 'soft',
  exceeds_withdrawal_limit: 'soft',
  exceeded_account_limit: 'soft',
  exceeds_frequency_limit: 'soft',
  do_not_honour: 'soft',
  issuer_not_available: 'soft',
  re_enter_transaction: 'soft',
  authorization_failed: 'soft',
  payment_rejected_other_reason: 'soft',
  general_transaction_error: 'soft',
  acquirer_connection_error: 'soft',
  acquirer_internal_error: 'soft',
  // merchant configuration: alert operations, do not count against the customer
  no_matching_terminal: 'merchant_configuration',
  acquirer_configuration_error: 'merchant_configuration',
  acquirer_routing_error: 'merchant_configuration',
  s2s_not_supported: 'merchant_configuration',
  transaction_not_permitted_on_terminal: 'merchant_configuration',
  exceeded_terminal_limit: 'merchant_configuration',
  exceeded_acquirer_refund_amount: 'merchant_configuration',
  payment_method_details_missing: 'merchant_configuration',
  unknown_payment_method: 'merchant_configuration',
  merchant_response_timeout: 'merchant_configuration',
  reconcile_error: 'merchant_configuration',
  acquirer_error_cs: 'merchant_configuration',
  decline_irregular_transaction_pattern: 'merchant_configuration',
  soft_decline_contact_support: 'merchant_configuration',
  partial_forbidden: 'merchant_configuration',
  // actually a success
  purchase_already_paid_for: 'already_paid',
});

/** Code prefixes (`blacklisted_tx*`, `timeout*`), checked after exact codes. */
export const DECLINE_CODE_PREFIXES: ReadonlyArray<{ prefix: string; declineClass: Exclude<DeclineClass, 'unknown'> }> =
  Object.freeze([
    { prefix: 'blacklisted_tx', declineClass: 'hard' },
    { prefix: 'timeout', declineClass: 'soft' },
  ]);

/** Purchase statuses that classify on their own, whatever the code. */
export const DECLINE_STATUSES: Readonly<Record<string, Exclude<DeclineClass, 'unknown'>>> = Object.freeze({
  blocked: 'hard',
});

/** Decline codes the engine does not retry with the same token. */
export const isHardDecline = (declineClass: DeclineClass): boolean => declineClass === 'hard';

/**
 * Classifies a charge attempt's error code (and optionally the Purchase status).
 * A Purchase in status `blocked` is always `hard`. Unknown or missing codes are `unknown`
 * (treat as soft with a low retry cap, and log).
 */
export function classifyDecline(code: string | undefined | null, purchaseStatus?: string): DeclineClass {
  if (purchaseStatus !== undefined && Object.prototype.hasOwnProperty.call(DECLINE_STATUSES, purchaseStatus)) {
    const byStatus = DECLINE_STATUSES[purchaseStatus];
    if (byStatus) return byStatus;
  }
  if (code === undefined || code === null) return 'unknown';
  const normalised = code.trim().toLowerCase();
  if (normalised === '') return 'unknown';
  if (Object.prototype.hasOwnProperty.call(DECLINE_CODES, normalised)) {
    const exact = DECLINE_CODES[normalised];
    if (exact) return exact;
  }
  for (const rule of DECLINE_CODE_PREFIXES) {
    if (normalised.startsWith(rule.prefix)) return rule.declineClass;
  }
  return 'unknown';
}

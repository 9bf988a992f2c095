import { classifyDecline, DECLINE_CODES, isHardDecline, type DeclineClass } from '../../../src/domain/declines';

// The table from billing-policy.md, written out independently of the implementation.
const POLICY: Record<Exclude<DeclineClass, 'unknown'>, string[]> = {
  hard: [
    'invalid_recurring_token',
    'recurring_token_expired',
    'expired_card',
    'lost_card',
    'stolen_card',
    'restricted_card',
    'invalid_card_number',
    'invalid_expires',
    'invalid_card_data',
    'invalid_issuer_number',
    'transaction_not_permitted_to_cardholder',
    'transaction_not_supported_or_not_valid_for_card',
    'suspected_fraud',
    'antifraud_general',
    'security_violation',
    '3ds_authentication_failed',
  ],
  soft: [
    'insufficient_funds',
    'exceeds_withdrawal_limit',
    'exceeded_account_limit',
    'exceeds_frequency_limit',
    'do_not_honour',
    'issuer_not_available',
    're_enter_transaction',
    'authorization_failed',
    'payment_rejected_other_reason',
    'general_transaction_error',
    'acquirer_connection_error',
    'acquirer_internal_error',
  ],
  merchant_configuration: [
    'no_matching_terminal',
    'acquirer_configuration_error',
    'acquirer_routing_error',
    's2s_not_supported',
    'transaction_not_permitted_on_terminal',
    'exceeded_terminal_limit',
    'exceeded_acquirer_refund_amount',
    'payment_method_details_missing',
    'unknown_payment_method',
    'merchant_response_timeout',
    'reconcile_error',
    'acquirer_error_cs',
    'decline_irregular_transaction_pattern',
    'soft_decline_contact_support',
    'partial_forbidden',
  ],
  already_paid: ['purchase_already_paid_for'],
};

const cases = Object.entries(POLICY).flatMap(([cls, codes]) => codes.map((code) => [code, cls] as const));

describe('classifyDecline', () => {
  it.each(cases)('classifies %s as %s', (code, cls) => {
    expect(classifyDecline(code)).toBe(cls);
  });

  it('the DECLINE_CODES table holds exactly the policy codes', () => {
    expect(Object.keys(DECLINE_CODES).sort()).toEqual(cases.map(([code]) => code).sort());
  });

  it.each([
    ['blacklisted_tx', 'hard'],
    ['blacklisted_tx_card', 'hard'],
    ['blacklisted_tx_ip_country', 'hard'],
    ['timeout', 'soft'],
    ['timeout_acquirer', 'soft'],
    ['timeout_3ds', 'soft'],
  ] as const)('applies the prefix rule to %s -> %s', (code, cls) => {
    expect(classifyDecline(code)).toBe(cls);
  });

  it('is case and whitespace tolerant', () => {
    expect(classifyDecline(' Stolen_Card ')).toBe('hard');
  });

  it.each([['something_new'], ['validation_card_number'], [''], ['tx_blacklisted'], ['no_timeout']])(
    'returns unknown for %p',
    (code) => {
      expect(classifyDecline(code)).toBe('unknown');
    },
  );

  it('returns unknown for null and undefined', () => {
    expect(classifyDecline(null)).toBe('unknown');
    expect(classifyDecline(undefined)).toBe('unknown');
  });

  it('treats a blocked purchase as hard whatever the code', () => {
    expect(classifyDecline('insufficient_funds', 'blocked')).toBe('hard');
    expect(classifyDecline(null, 'blocked')).toBe('hard');
    expect(classifyDecline(undefined, 'blocked')).toBe('hard');
  });

  it('ignores other statuses', () => {
    expect(classifyDecline('insufficient_funds', 'error')).toBe('soft');
    expect(classifyDecline(null, 'error')).toBe('unknown');
    expect(classifyDecline('no_matching_terminal', 'toString')).toBe('merchant_configuration');
    expect(classifyDecline('constructor')).toBe('unknown');
  });
});

describe('isHardDecline', () => {
  it('is true for the hard class only: the token is not charged again', () => {
    const classes: DeclineClass[] = ['hard', 'soft', 'merchant_configuration', 'already_paid', 'unknown'];
    expect(classes.filter(isHardDecline)).toEqual(['hard']);
  });
});

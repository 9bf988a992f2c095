/**
 * The BillingClient's CustomerVerifier over the QorePay client: a create naming a `qorepayClientId` is refused when
 * the gateway says the Client does not exist (404), and answered 503 when the gateway cannot say (outage, timeout,
 * 5xx, 429, a refused key): an unknown answer is never taken as "exists" nor as "does not exist".
 */
import type { CustomerVerifier } from '@temporal-billing/client';
import { isQorePayError, type QorePayClient } from '../integrations/qorepay';

export function qorepayCustomerVerifier(qorepay: Pick<QorePayClient, 'getClient'>): CustomerVerifier {
  return {
    async clientExists(qorepayClientId) {
      try {
        await qorepay.getClient(qorepayClientId);
        return true;
      } catch (err) {
        if (isQorePayError(err) && err.kind === 'NotFound') return false;
        throw err;
      }
    },
  };
}

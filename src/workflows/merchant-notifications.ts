/**
 * Whether a new billing cycle should notify the merchant: asked of the worker (a local activity, its answer recorded in
 * the subscription's history, so a replay decides the same) each time the subscription starts a cycle, so a webhook
 * configured later reaches the next period. Histories recorded before the question existed replay without it
 * (`patched`), and their cycles notify as before.
 */
import { log, patched } from '@temporalio/workflow';
import * as act from './activity-proxies';

export const MERCHANT_NOTIFICATIONS_PATCH = 'cycle-input-merchant-notifications';

/** `undefined` on old histories (the cycle then notifies, as it did); otherwise the worker's answer. */
export async function merchantNotificationsForNewCycle(): Promise<boolean | undefined> {
  if (!patched(MERCHANT_NOTIFICATIONS_PATCH)) return undefined;
  try {
    return await act.merchantNotificationsConfigured();
  } catch (err) {
    // Not knowing must not lose a notification: the cycle notifies and the activity decides, as before.
    log.warn('could not tell whether merchant webhooks are configured; the cycle will notify', {
      error: err instanceof Error ? err.message : String(err),
    });
    return true;
  }
}

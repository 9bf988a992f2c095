/**
 * The worker's activities, built from their dependencies (no singletons, no config reads here). Workflows see them
 * only as types: `proxyActivities<BillingActivities>`.
 */
import { createGatewayActivities, type QorePayGateway } from './gateway';
import { createNotifyActivities, type MerchantNotifier, type OpsAlerter } from './notify';

export interface ActivityDeps {
  qorepay: QorePayGateway;
  notifier?: MerchantNotifier;
  alerter?: OpsAlerter;
  now?: () => number;
}

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? Date.now;
  return {
    ...createGatewayActivities(deps.qorepay),
    ...createNotifyActivities({
      now,
      ...(deps.notifier ? { notifier: deps.notifier } : {}),
      ...(deps.alerter ? { alerter: deps.alerter } : {}),
    }),
  };
}

export type BillingActivities = ReturnType<typeof createActivities>;
export type { QorePayGateway, MerchantNotifier, OpsAlerter };
export type { PurchaseSnapshot, ChargeOutcome } from './gateway';

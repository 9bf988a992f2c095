/**
 * The worker's activities, built from their dependencies (no singletons, no config reads here). Workflows see them
 * only as types: `proxyActivities<BillingActivities>`.
 */
import { createGatewayActivities, type QorePayGateway } from './gateway';
import { createNotifyActivities, type MerchantNotifier, type OpsAlerter } from './notify';
import { createSettlementActivities, type SettlementClients } from './settlement';
import { createReconciliationActivities, type ReconciliationDeps } from './reconciliation';

export interface ActivityDeps {
  qorepay: QorePayGateway;
  notifier?: MerchantNotifier;
  alerter?: OpsAlerter;
  /** Settlement targets' clients; a target whose client is missing fails settlement with a clear message. */
  settlement?: SettlementClients;
  now?: () => number;
  /** Temporal client for the reconciliation sweep (visibility, queries, signals); without it the sweep refuses to run. */
  temporal?: ReconciliationDeps['temporal'];
}

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? Date.now;
  return {
    ...createGatewayActivities(deps.qorepay),
    ...createSettlementActivities(deps.settlement ?? {}),
    ...createReconciliationActivities({
      qorepay: deps.qorepay,
      settlement: deps.settlement ?? {},
      ...(deps.temporal ? { temporal: deps.temporal } : {}),
    }),
    ...createNotifyActivities({
      now,
      ...(deps.notifier ? { notifier: deps.notifier } : {}),
      ...(deps.alerter ? { alerter: deps.alerter } : {}),
    }),
  };
}

export type BillingActivities = ReturnType<typeof createActivities>;
export type { QorePayGateway, MerchantNotifier, OpsAlerter, SettlementClients };
export type { SettlementWrite, SettlementReversalWrite } from './settlement';
export type { PurchaseSnapshot, ChargeOutcome } from './gateway';
export type { CycleRef, InspectedCycles } from './reconciliation';

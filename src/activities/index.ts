/**
 * The worker's activities, built from their dependencies (no singletons, no config reads here). Workflows see them
 * only as types: `proxyActivities<BillingActivities>`.
 */
import { createGatewayActivities, type ChargeOutcome, type PurchaseSnapshot, type QorePayGateway } from './gateway';
import { createNotifyActivities, type MerchantNotifier, type OpsAlerter } from './notify';
import { createSettlementActivities, type SettlementClients } from './settlement';
import { createReconciliationActivities, type ReconciliationDeps } from './reconciliation';
import { createRecordsActivities } from './records';
import type { BooksConnection } from '../records';

export interface ActivityDeps {
  qorepay: QorePayGateway;
  notifier?: MerchantNotifier;
  alerter?: OpsAlerter;
  /** Settlement targets' clients; a target whose client is missing fails settlement with a clear message. */
  settlement?: SettlementClients;
  now?: () => number;
  /** Temporal client for the reconciliation sweep (visibility, queries, signals); without it the sweep refuses to run. */
  temporal?: ReconciliationDeps['temporal'];
  /** The records store (the engine's books); without it `recordBooks` writes nothing and cycles schedule none. */
  books?: Pick<BooksConnection, 'db'>;
}

/**
 * Facts of the worker's own configuration that workflow code cannot read, told along with the gateway answers the
 * billing cycle already gets: recorded with the answer in history, so what the cycle does with them replays.
 */
export interface WorkerFacts {
  /**
   * The worker delivers merchant webhooks (`MERCHANT_WEBHOOK_URL` configured). Absent from answers recorded before
   * workers said it: the cycle then schedules `notifyMerchant` and the activity decides, as it always did.
   */
  merchantWebhooks?: boolean;
  /**
   * The worker writes the books (a records store is configured). Absent from older answers; a cycle schedules
   * `recordBooks` only after a "yes".
   */
  records?: boolean;
}

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? Date.now;
  const gateway = createGatewayActivities(deps.qorepay);
  const facts: Required<WorkerFacts> = {
    merchantWebhooks: deps.notifier !== undefined,
    records: deps.books !== undefined,
  };
  return {
    ...gateway,
    // The cycle's usual gateway calls: every cycle creates a Purchase before any notification, and re-reads or charges
    // before later ones, so the cycle always knows the latest answer without asking the worker separately.
    async createPurchase(input: Parameters<typeof gateway.createPurchase>[0]): Promise<PurchaseSnapshot & WorkerFacts> {
      return { ...(await gateway.createPurchase(input)), ...facts };
    },
    async getPurchase(purchaseId: string): Promise<PurchaseSnapshot & WorkerFacts> {
      return { ...(await gateway.getPurchase(purchaseId)), ...facts };
    },
    async chargePurchase(input: Parameters<typeof gateway.chargePurchase>[0]): Promise<ChargeOutcome & WorkerFacts> {
      return { ...(await gateway.chargePurchase(input)), ...facts };
    },
    ...createSettlementActivities(deps.settlement ?? {}),
    ...createRecordsActivities({ qorepay: deps.qorepay, ...(deps.books ? { books: deps.books } : {}) }),
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

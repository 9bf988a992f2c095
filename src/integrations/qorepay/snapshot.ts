/**
 * The part of a QorePay Purchase the engine keeps and acts on: status, time, total and decline details; no client
 * details, no card data. Read by the gateway activities and by the webhook ingress (which re-reads the Purchase).
 */
import type { Purchase } from './schemas';

export interface PurchaseSnapshot {
  purchaseId: string;
  status: string;
  updatedOn: number;
  totalMinor: number;
  declineCode?: string;
  declineMessage?: string;
  /** Set (true) only when an operator marked the Purchase paid at the gateway. */
  markedAsPaid?: true;
}

export function snapshotOf(p: Purchase): PurchaseSnapshot {
  const err = p.transaction_data?.attempts?.[0]?.error ?? undefined;
  const snap: PurchaseSnapshot = {
    purchaseId: p.id,
    status: p.status,
    updatedOn: p.updated_on ?? 0,
    totalMinor: p.purchase?.total ?? 0,
  };
  if (p.marked_as_paid) snap.markedAsPaid = true;
  if ((p.status === 'error' || p.status === 'blocked') && err?.code) {
    snap.declineCode = err.code;
    snap.declineMessage = err.message ?? '';
  }
  return snap;
}

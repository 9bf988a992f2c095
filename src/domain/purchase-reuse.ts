/**
 * Finding the period's Purchase again. A billing cycle creates its Purchase with `reference` = the cycle workflow id;
 * a cycle reset to its first workflow task, re-created after its history fell out of retention, or whose create call
 * lost its answer, would otherwise create (and charge) a second Purchase for the same period. Before creating, the
 * gateway's Purchases with that reference are looked at and one is adopted when it can stand for the period.
 *
 * Rules (test/unit/domain/purchase-reuse.test.ts):
 * - A paid Purchase (money taken, refunded or charged back later included) is adopted whatever its amount: the period
 *   was paid, and a second charge would take the money twice. The newest paid one when there are several.
 * - Otherwise a Purchase whose charge is in flight at the acquirer is adopted: its outcome decides.
 * - Otherwise the newest open or declined Purchase (`created`, `sent`, `viewed`, `overdue`, `error`) is adopted when it
 *   bills exactly what the cycle would (same total, same currency); charging it again is the next attempt.
 * - Closed (`cancelled`, `expired`, `released`), `blocked` and any other status cannot take this period's money: none
 *   of them is adopted, and a fresh Purchase is created.
 */
import { isChargePendingStatus, isPaidPurchaseStatus } from './billing-cycle';

/** A Purchase found by reference, as much of it as the choice needs. */
export interface FoundPurchase {
  purchaseId: string;
  status: string;
  totalMinor: number;
  currency: string;
  /** Unix seconds; the order in which they were created. */
  createdOn: number;
}

/** Open or declined: payable, and chargeable again with a recurring token. */
export const REUSABLE_OPEN_STATUSES: readonly string[] = ['created', 'sent', 'viewed', 'overdue', 'error'];

/** The Purchase to adopt for the period, or undefined when a fresh one must be created. */
export function purchaseToAdopt(
  found: readonly FoundPurchase[],
  wanted: { totalMinor: number; currency: string },
): FoundPurchase | undefined {
  const newestFirst = [...found].sort((a, b) => b.createdOn - a.createdOn);
  return (
    newestFirst.find((p) => isPaidPurchaseStatus(p.status)) ??
    newestFirst.find((p) => isChargePendingStatus(p.status)) ??
    newestFirst.find(
      (p) =>
        REUSABLE_OPEN_STATUSES.includes(p.status) &&
        p.totalMinor === wanted.totalMinor &&
        p.currency.toUpperCase() === wanted.currency.toUpperCase(),
    )
  );
}

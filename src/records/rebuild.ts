/**
 * Rebuilds one subscription's records from Temporal and the gateway: an operator's repair for a subscription whose
 * books are missing or wrong (a database restored from an old backup, rows lost, a write refused and alerted). The
 * CLI's `records rebuild <subscriptionId>` (docs/records.md).
 *
 * What each source gives:
 * - Temporal (the subscription workflow, open or closed within the namespace's retention): the current terms and
 *   status, the merchant (search attribute), the refunds and chargebacks it recorded, and its cycles' states.
 * - The gateway (QorePay, Purchases found by their `reference`, which is the cycle id): each period's Purchase, whose
 *   products and total become the invoice, and whose payment says paid, and when, for a cycle Temporal no longer has.
 *
 * The facts go through the same writer as the `recordBooks` activity (./writers.ts): idempotent upserts keyed by the
 * subscription, cycle, Purchase and Payment ids, so a rebuild of a subscription whose books are right writes nothing
 * new, and numbers already given to its invoices and credit notes are kept. The rebuilt rows are observed "now": a
 * later write of the workflow (its next change) replaces them as usual.
 */
import type { BillingOperator } from '@temporal-billing/client/engine';
import { describePeriod } from '../domain/calendar';
import { ConfigError, type AppConfig } from '../config';
import { PAID_STATUSES, QorePayClient, type Purchase } from '../integrations/qorepay';
import { cycleWorkflowId, type BillingCycleState, type LineItem } from '../shared/billing-cycle';
import type { CycleBooksWrite, PaymentEventBooksWrite, SubscriptionBooksWrite } from '../shared/records';
import type { SubscriptionState } from '../shared/subscription';
import type { CycleView } from '@temporal-billing/client';
import { openBooks } from './index';
import { createBooksWriter, type BooksWriter } from './writers';

export interface RebuildDeps {
  /** An operator's client: the subscription may be any merchant's. */
  operator: Pick<BillingOperator, 'billing' | 'subscriptionOrigin'>;
  qorepay: { listPurchasesByReference(reference: string): Promise<Purchase[]> };
  writer: Pick<BooksWriter, 'write'>;
  now?: () => number;
}

export interface RebuildReport {
  subscriptionId: string;
  merchantId: string;
  /** What the writer did, one line per fact (e.g. `invoice 12 paid`, `credit note 3 (refund 500)`). */
  written: string[];
  /** Periods left as they are, and where Temporal and the gateway disagree: for a person to look at. */
  notes: string[];
}

const DEFAULT_MERCHANT = 'default';

export async function rebuildSubscriptionRecords(deps: RebuildDeps, subscriptionId: string): Promise<RebuildReport> {
  const now = new Date((deps.now ?? Date.now)()).toISOString();
  const state = await deps.operator.billing.subscriptions.get(subscriptionId);
  const { merchantId, startedAt } = await deps.operator.subscriptionOrigin(subscriptionId);
  const report: RebuildReport = { subscriptionId, merchantId, written: [], notes: [] };
  const write = async (w: Parameters<BooksWriter['write']>[0]) => void report.written.push(await deps.writer.write(w));

  await write(subscriptionWrite(state, merchantId, startedAt, now));

  const views = new Map<number, CycleView>();
  for (const v of await deps.operator.billing.cycles.list(subscriptionId)) views.set(v.periodIndex, v);
  const lastIndex = Math.max(state.nextPeriodIndex - 1, ...views.keys());
  const currencyOf = new Map<string, string>();
  for (let k = 0; k <= lastIndex; k++) {
    const cycleId = cycleWorkflowId(subscriptionId, k);
    const purchases = await deps.qorepay.listPurchasesByReference(cycleId);
    const w = cycleWrite({ state, merchantId, view: views.get(k), purchases, periodIndex: k, cycleId, now, report });
    if (!w) continue;
    currencyOf.set(cycleId, w.currency);
    await write(w);
  }

  for (const e of state.paymentEvents) {
    const currency = currencyOf.get(e.cycleId);
    const w: PaymentEventBooksWrite = {
      type: 'payment_event',
      kind: e.kind,
      subscriptionId,
      merchantId,
      cycleId: e.cycleId,
      purchaseId: e.purchaseId,
      ...(e.paymentId ? { paymentId: e.paymentId } : {}),
      ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
      ...(currency ? { currency } : {}),
      at: e.at,
    };
    await write(w);
  }
  return report;
}

function subscriptionWrite(
  state: SubscriptionState,
  merchantId: string,
  createdAt: string,
  now: string,
): SubscriptionBooksWrite {
  const terms = (p: SubscriptionState['plan']) => ({ planId: p.planId, currency: p.currency, lineItems: p.lineItems });
  return {
    type: 'subscription',
    subscriptionId: state.subscriptionId,
    merchantId,
    customerId: state.customerId,
    status: state.status,
    plan: terms(state.plan),
    ...(state.pendingPlan ? { pendingPlan: terms(state.pendingPlan) } : {}),
    schedule: state.schedule,
    nextPeriodIndex: state.nextPeriodIndex,
    cancelAtPeriodEnd: state.cancelAtPeriodEnd,
    ...(state.canceledAt ? { canceledAt: state.canceledAt } : {}),
    createdAt,
    observedAt: now,
    ...(state.changes?.length ? { changes: state.changes } : {}),
  };
}

/**
 * One period's cycle row (and through it its invoice), from the cycle's state in Temporal where it still is, and from
 * its Purchase at the gateway. Undefined (with a note) when there is nothing to record: no Purchase was made, or the
 * cycle is gone from Temporal and its Purchase was never paid (its outcome cannot be told from the gateway alone).
 */
function cycleWrite(c: {
  state: SubscriptionState;
  merchantId: string;
  view: CycleView | undefined;
  purchases: Purchase[];
  periodIndex: number;
  cycleId: string;
  now: string;
  report: RebuildReport;
}): CycleBooksWrite | undefined {
  const { view, report, cycleId } = c;
  const live: BillingCycleState | undefined = view?.state;
  const purchaseId = live?.purchaseId ?? view?.result?.purchaseId ?? c.purchases[c.purchases.length - 1]?.id;
  const purchase = c.purchases.find((p) => p.id === purchaseId);
  if (!purchaseId) {
    report.notes.push(`${cycleId}: no Purchase at the gateway, nothing billed, nothing recorded`);
    return undefined;
  }
  // Money taken, even if refunded or charged back since (those are the payment events, written below).
  const gatewayPaid = purchase !== undefined && PAID_STATUSES.includes(purchase.status);
  let status: CycleBooksWrite['status'];
  if (view && view.status !== 'unknown') {
    status = view.status;
    const paid = status === 'paid' || status === 'marked_paid';
    if (purchase && paid !== gatewayPaid) {
      report.notes.push(
        `${cycleId}: Temporal says ${status}, the gateway's Purchase ${purchaseId} is ${purchase.status}`,
      );
    }
  } else if (gatewayPaid) {
    status = purchase.marked_as_paid ? 'marked_paid' : 'paid';
  } else {
    report.notes.push(
      `${cycleId}: not in Temporal and Purchase ${purchaseId} is ${purchase?.status ?? 'not found'}; left as recorded`,
    );
    return undefined;
  }
  const paidOn = purchase?.payment?.paid_on;
  const paidAt = live?.paidAt ?? (gatewayPaid && paidOn ? new Date(paidOn * 1000).toISOString() : undefined);
  const period = describePeriod(c.state.schedule, c.periodIndex);
  const lineItems: LineItem[] = (purchase?.purchase.products ?? []).map((p) => ({
    name: p.name,
    priceMinor: p.price,
    quantity: Number(p.quantity ?? 1),
  }));
  const failureReason = live?.failureReason ?? view?.result?.failureReason;
  return {
    type: 'cycle',
    cycleId,
    subscriptionId: c.state.subscriptionId,
    merchantId: c.merchantId,
    customerId: c.state.customerId,
    periodIndex: c.periodIndex,
    periodStart: period.start,
    periodEnd: period.end,
    status,
    currency: live?.currency ?? view?.result?.currency ?? purchase?.purchase.currency ?? c.state.plan.currency,
    amountMinor: live?.amountMinor ?? view?.result?.amountMinor ?? purchase?.purchase.total ?? 0,
    lineItems,
    attempts: live?.attempts.length ?? view?.result?.attempts ?? purchase?.transaction_data?.attempts.length ?? 0,
    purchaseId,
    ...(paidAt ? { paidAt } : {}),
    ...(status === 'marked_paid' ? { markedPaid: true } : {}),
    ...(failureReason ? { failureReason } : {}),
    observedAt: c.now,
  };
}

/** What the CLI's rebuild needs besides its Temporal client: the books (DATABASE_URL) and the gateway. */
export interface RebuildTools {
  deps: Omit<RebuildDeps, 'operator'>;
  close(): Promise<void>;
}

/** The books and the gateway from configuration; a missing or unreachable DATABASE_URL fails with one line. */
export async function rebuildToolsFromConfig(config: AppConfig): Promise<RebuildTools> {
  if (!config.DATABASE_URL) throw new ConfigError(['DATABASE_URL: required to rebuild records (the records store)']);
  const books = await openBooks(config.DATABASE_URL);
  const qorepay = new QorePayClient({
    baseUrl: config.QOREPAY_BASE_URL,
    apiKey: config.QOREPAY_API_KEY,
    brandId: config.QOREPAY_BRAND_ID,
    timeoutMs: config.QOREPAY_TIMEOUT_MS,
  });
  const writer = createBooksWriter({
    db: books.db,
    defaultMerchantId: DEFAULT_MERCHANT,
    readPurchase: async (purchaseId) => {
      const p = await qorepay.getPurchase(purchaseId);
      return { totalMinor: p.purchase.total, products: p.purchase.products };
    },
  });
  return { deps: { qorepay, writer }, close: () => books.close() };
}

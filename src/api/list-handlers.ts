/**
 * Handlers of the lists (./list-routes.ts): pages of the records store, shaped for the API. A list names its next page
 * with `nextCursor` (subscriptions also with `nextPageToken`, the name the visibility list used). The cycles and
 * payments of a subscription the caller's merchant does not have (unknown, or another merchant's) answer 404.
 */
import type { FastifyReply } from 'fastify';
import { BadCursor, type BooksReader, type Page } from '../records';
import type { CycleWithInvoice } from '../records/readers';
import type { PaymentRow, SubscriptionRow } from '../records/schema';
import { invoiceView } from '../records/documents';
import { booksRead, notFound, scopeOf, type BooksApiOptions, type Parsed } from './books-handlers';
import type { ListInvoicesQuerySchema, ListSubscriptionsQuerySchema, PageQuerySchema } from './list-routes';
import type { z } from 'zod';

const iso = (d: Date) => d.toISOString();
const opt = <K extends string, V>(key: K, v: V | null | undefined): Partial<Record<K, V>> =>
  v === null || v === undefined ? {} : ({ [key]: v } as Record<K, V>);

export function subscriptionRecordView(s: SubscriptionRow) {
  return {
    subscriptionId: s.subscription_id,
    merchantId: s.merchant_id,
    customerId: s.customer_id,
    status: s.status,
    planId: s.plan_id,
    currency: s.currency,
    amountMinor: s.amount_minor,
    plan: s.plan,
    ...opt('pendingPlan', s.pending_plan),
    nextPeriodIndex: s.next_period_index,
    cancelAtPeriodEnd: s.cancel_at_period_end,
    ...opt('canceledAt', s.canceled_at && iso(s.canceled_at)),
    startedAt: iso(s.created_at),
    updatedAt: iso(s.observed_at),
  };
}

export function cycleRecordView(c: CycleWithInvoice) {
  return {
    cycleId: c.cycle_id,
    subscriptionId: c.subscription_id,
    periodIndex: c.period_index,
    periodStart: iso(c.period_start),
    periodEnd: iso(c.period_end),
    status: c.status,
    amountMinor: c.amount_minor,
    currency: c.currency,
    attempts: c.attempts,
    ...opt('purchaseId', c.purchase_id),
    ...opt('paidAt', c.paid_at && iso(c.paid_at)),
    ...opt('failureReason', c.failure_reason),
    ...opt('invoiceId', c.invoice_id),
    ...opt('invoiceNumber', c.invoice_number),
  };
}

export function paymentRecordView(x: PaymentRow) {
  return {
    kind: x.kind,
    cycleId: x.cycle_id,
    purchaseId: x.purchase_id,
    ...opt('gatewayPaymentId', x.gateway_payment_id),
    ...opt('invoiceId', x.invoice_id),
    amountMinor: x.amount_minor,
    currency: x.currency,
    occurredAt: iso(x.occurred_at),
  };
}

const pageArgs = (q: { limit?: number | undefined; cursor?: string | undefined }) => ({
  ...opt('limit', q.limit),
  ...opt('cursor', q.cursor),
});

/** A subscription's rows are listed only when the caller's merchant has it: an empty page of an unknown one is 404. */
async function ofKnownSubscription<T>(
  reader: BooksReader,
  req: Parsed,
  reply: FastifyReply,
  merchantId: string | undefined,
  page: Page<T>,
  shape: (p: Page<T>) => unknown,
): Promise<unknown> {
  const id = req.params.id!;
  if (page.items.length === 0 && !(await reader.getSubscription(merchantId, id))) {
    return notFound(reply, 'subscription', id);
  }
  return shape(page);
}

export function listHandlers(books: BooksApiOptions | undefined) {
  return {
    listSubscriptions: booksRead(books, async (reader, req, _reply, billing) => {
      const q = req.query as z.infer<typeof ListSubscriptionsQuerySchema>;
      const cursorParam = q.cursor !== undefined || q.nextPageToken === undefined ? 'cursor' : 'nextPageToken';
      let page: Page<SubscriptionRow>;
      try {
        page = await reader.listSubscriptions({
          merchantId: scopeOf(billing),
          ...opt('status', q.status),
          ...opt('customerId', q.customerId),
          ...opt('planId', q.planId),
          ...pageArgs({ limit: q.limit ?? q.pageSize, cursor: q.cursor ?? q.nextPageToken }),
        });
      } catch (err) {
        throw err instanceof BadCursor ? new BadCursor(err.message, cursorParam) : err;
      }
      return {
        subscriptions: page.items.map(subscriptionRecordView),
        ...opt('nextCursor', page.nextCursor),
        ...opt('nextPageToken', page.nextCursor),
      };
    }),
    listCycles: booksRead(books, async (reader, req, reply, billing) => {
      const q = req.query as z.infer<typeof PageQuerySchema>;
      const merchantId = scopeOf(billing);
      const page = await reader.listCycles({
        merchantId,
        subscriptionId: req.params.id!,
        order: 'asc',
        ...pageArgs(q),
      });
      return ofKnownSubscription(reader, req, reply, merchantId, page, (p) => ({
        cycles: p.items.map(cycleRecordView),
        ...opt('nextCursor', p.nextCursor),
      }));
    }),
    listPayments: booksRead(books, async (reader, req, reply, billing) => {
      const q = req.query as z.infer<typeof PageQuerySchema>;
      const merchantId = scopeOf(billing);
      const page = await reader.listPayments({ merchantId, subscriptionId: req.params.id!, ...pageArgs(q) });
      return ofKnownSubscription(reader, req, reply, merchantId, page, (p) => ({
        payments: p.items.map(paymentRecordView),
        ...opt('nextCursor', p.nextCursor),
      }));
    }),
    listInvoices: booksRead(books, async (reader, req, _reply, billing) => {
      const q = req.query as z.infer<typeof ListInvoicesQuerySchema>;
      const page = await reader.listInvoices({
        merchantId: scopeOf(billing),
        ...opt('status', q.status),
        ...opt('subscriptionId', q.subscriptionId),
        ...opt('number', q.number),
        ...opt('periodFrom', q.periodFrom ? new Date(q.periodFrom) : undefined),
        ...opt('periodTo', q.periodTo ? new Date(q.periodTo) : undefined),
        ...pageArgs(q),
      });
      return {
        invoices: page.items
          .map((i) => invoiceView({ invoice: i, lines: [], payments: [], creditNotes: [] }))
          .map(({ lines: _l, payments: _p, creditNotes: _c, ...summary }) => summary),
        ...opt('nextCursor', page.nextCursor),
      };
    }),
  };
}

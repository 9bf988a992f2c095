/** Handlers of the book routes (./books-routes.ts): readers of the records store, documents rendered from them. */
import type { FastifyReply } from 'fastify';
import type { BillingClient } from '@temporal-billing/client';
import { BadCursor, type BooksReader } from '../records';
import {
  creditNoteHtml,
  creditNotePdf,
  creditNoteView,
  invoiceHtml,
  invoicePdf,
  invoiceView,
  type Seller,
} from '../records/documents';
import type { ListInvoicesQuerySchema, ListRecordedSubscriptionsQuerySchema, PageQuerySchema } from './books-routes';
import type { z } from 'zod';

export interface BooksApiOptions {
  reader: BooksReader;
  seller: Seller;
}

interface Parsed {
  params: Record<string, string>;
  query: unknown;
}
type BooksHandler = (req: Parsed, reply: FastifyReply, billing: BillingClient) => Promise<unknown>;

/** The merchant a request reads for: its key's, or every merchant for an operator's key. */
const scopeOf = (billing: BillingClient): string | undefined =>
  billing.crossMerchant ? undefined : billing.merchantId;

const iso = (d: Date) => d.toISOString();

export function booksHandlers(books: BooksApiOptions | undefined) {
  /** Runs a read; a bad cursor is a 400 naming it, a database that does not answer a 503. */
  const read =
    (fn: BooksHandler): BooksHandler =>
    async (req, reply, billing) => {
      if (!books) {
        return reply.code(503).send({ error: 'unavailable', message: 'no records store is configured (DATABASE_URL)' });
      }
      try {
        return await fn(req, reply, billing);
      } catch (err) {
        if (err instanceof BadCursor) {
          return reply.code(400).send({ error: 'validation', issues: [{ path: 'cursor', message: err.message }] });
        }
        reply.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'records store unavailable');
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ error: 'unavailable', message: 'the records store is unreachable; retry later' });
      }
    };
  const notFound = (reply: FastifyReply, what: string, id: string) =>
    reply.code(404).send({ error: 'not_found', message: `${what} ${JSON.stringify(id)}` });
  const r = () => books!.reader;

  const invoice = async (req: Parsed, billing: BillingClient) =>
    r().getInvoice(scopeOf(billing), req.params.invoiceId!);
  const creditNote = async (req: Parsed, billing: BillingClient) =>
    r().getCreditNote(scopeOf(billing), req.params.creditNoteId!);

  return {
    listInvoices: read(async (req, _reply, billing) => {
      const q = req.query as z.infer<typeof ListInvoicesQuerySchema>;
      const p = await r().listInvoices({
        merchantId: scopeOf(billing),
        ...(q.status ? { status: q.status } : {}),
        ...(q.subscriptionId ? { subscriptionId: q.subscriptionId } : {}),
        ...(q.number !== undefined ? { number: q.number } : {}),
        ...(q.periodFrom ? { periodFrom: new Date(q.periodFrom) } : {}),
        ...(q.periodTo ? { periodTo: new Date(q.periodTo) } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return {
        items: p.items
          .map((i) => invoiceView({ invoice: i, lines: [], payments: [], creditNotes: [] }))
          .map(({ lines: _l, payments: _p, creditNotes: _c, ...summary }) => summary),
        ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}),
      };
    }),
    getInvoice: read(async (req, reply, billing) => {
      const doc = await invoice(req, billing);
      return doc ? invoiceView(doc) : notFound(reply, 'invoice', req.params.invoiceId!);
    }),
    getInvoiceHtml: read(async (req, reply, billing) => {
      const doc = await invoice(req, billing);
      if (!doc) return notFound(reply, 'invoice', req.params.invoiceId!);
      return reply.type('text/html; charset=utf-8').send(invoiceHtml(doc, books!.seller));
    }),
    getInvoicePdf: read(async (req, reply, billing) => {
      const doc = await invoice(req, billing);
      if (!doc) return notFound(reply, 'invoice', req.params.invoiceId!);
      return reply.type('application/pdf').send(await invoicePdf(doc, books!.seller));
    }),
    getCreditNote: read(async (req, reply, billing) => {
      const cn = await creditNote(req, billing);
      return cn ? creditNoteView(cn.creditNote, cn.invoice) : notFound(reply, 'credit note', req.params.creditNoteId!);
    }),
    getCreditNoteHtml: read(async (req, reply, billing) => {
      const cn = await creditNote(req, billing);
      if (!cn) return notFound(reply, 'credit note', req.params.creditNoteId!);
      return reply.type('text/html; charset=utf-8').send(creditNoteHtml(cn.creditNote, cn.invoice, books!.seller));
    }),
    getCreditNotePdf: read(async (req, reply, billing) => {
      const cn = await creditNote(req, billing);
      if (!cn) return notFound(reply, 'credit note', req.params.creditNoteId!);
      return reply.type('application/pdf').send(await creditNotePdf(cn.creditNote, cn.invoice, books!.seller));
    }),
    listRecordedSubscriptions: read(async (req, _reply, billing) => {
      const q = req.query as z.infer<typeof ListRecordedSubscriptionsQuerySchema>;
      const p = await r().listSubscriptions({
        merchantId: scopeOf(billing),
        ...(q.status ? { status: q.status } : {}),
        ...(q.customerId ? { customerId: q.customerId } : {}),
        ...(q.planId ? { planId: q.planId } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return {
        items: p.items.map((s) => ({
          subscriptionId: s.subscription_id,
          merchantId: s.merchant_id,
          customerId: s.customer_id,
          status: s.status,
          planId: s.plan_id,
          currency: s.currency,
          amountMinor: s.amount_minor,
          plan: s.plan,
          ...(s.pending_plan ? { pendingPlan: s.pending_plan } : {}),
          nextPeriodIndex: s.next_period_index,
          cancelAtPeriodEnd: s.cancel_at_period_end,
          ...(s.canceled_at ? { canceledAt: iso(s.canceled_at) } : {}),
          createdAt: iso(s.created_at),
          updatedAt: iso(s.observed_at),
        })),
        ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}),
      };
    }),
    listRecordedCycles: read(async (req, _reply, billing) => {
      const q = req.query as z.infer<typeof PageQuerySchema>;
      const p = await r().listCycles({
        merchantId: scopeOf(billing),
        subscriptionId: req.params.id!,
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return {
        items: p.items.map((c) => ({
          cycleId: c.cycle_id,
          subscriptionId: c.subscription_id,
          periodIndex: c.period_index,
          periodStart: iso(c.period_start),
          periodEnd: iso(c.period_end),
          status: c.status,
          amountMinor: c.amount_minor,
          currency: c.currency,
          attempts: c.attempts,
          ...(c.purchase_id ? { purchaseId: c.purchase_id } : {}),
          ...(c.paid_at ? { paidAt: iso(c.paid_at) } : {}),
          ...(c.failure_reason ? { failureReason: c.failure_reason } : {}),
        })),
        ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}),
      };
    }),
    listRecordedPayments: read(async (req, _reply, billing) => {
      const q = req.query as z.infer<typeof PageQuerySchema>;
      const p = await r().listPayments({
        merchantId: scopeOf(billing),
        subscriptionId: req.params.id!,
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return {
        items: p.items.map((x) => ({
          kind: x.kind,
          cycleId: x.cycle_id,
          purchaseId: x.purchase_id,
          ...(x.gateway_payment_id ? { gatewayPaymentId: x.gateway_payment_id } : {}),
          ...(x.invoice_id ? { invoiceId: x.invoice_id } : {}),
          amountMinor: x.amount_minor,
          currency: x.currency,
          occurredAt: iso(x.occurred_at),
        })),
        ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}),
      };
    }),
  } satisfies Record<string, BooksHandler>;
}

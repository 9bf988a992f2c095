/**
 * Handlers of the book routes (./books-routes.ts): readers of the records store, documents rendered from them. The
 * lists' handlers are in ./list-handlers.ts.
 */
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

export interface BooksApiOptions {
  reader: BooksReader;
  seller: Seller;
}

export interface Parsed {
  params: Record<string, string>;
  query: unknown;
}
export type BooksHandler = (req: Parsed, reply: FastifyReply, billing: BillingClient) => Promise<unknown>;

/** The merchant a request reads for: its key's, or every merchant for an operator's key. */
export const scopeOf = (billing: BillingClient): string | undefined =>
  billing.crossMerchant ? undefined : billing.merchantId;

export const notFound = (reply: FastifyReply, what: string, id: string) =>
  reply.code(404).send({ error: 'not_found', message: `${what} ${JSON.stringify(id)}` });

/**
 * Wraps a read of the books: no records store configured, or one that does not answer, is a 503 with a message; a
 * cursor the list did not give out is a 400 naming its parameter.
 */
export function booksRead(
  books: BooksApiOptions | undefined,
  fn: (reader: BooksReader, req: Parsed, reply: FastifyReply, billing: BillingClient) => Promise<unknown>,
): BooksHandler {
  return async (req, reply, billing) => {
    if (!books) {
      return reply.code(503).send({ error: 'unavailable', message: 'no records store is configured (DATABASE_URL)' });
    }
    try {
      return await fn(books.reader, req, reply, billing);
    } catch (err) {
      if (err instanceof BadCursor) {
        return reply
          .code(400)
          .send({ error: 'validation_failed', issues: [{ path: err.param, message: err.message }] });
      }
      reply.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'records store unavailable');
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: 'unavailable', message: 'the records store (PostgreSQL) is unreachable; retry later' });
    }
  };
}

export function booksHandlers(books: BooksApiOptions | undefined) {
  const read = (fn: BooksHandler): BooksHandler =>
    booksRead(books, async (_r, req, reply, billing) => fn(req, reply, billing));
  const r = () => books!.reader;

  const invoice = async (req: Parsed, billing: BillingClient) =>
    r().getInvoice(scopeOf(billing), req.params.invoiceId!);
  const creditNote = async (req: Parsed, billing: BillingClient) =>
    r().getCreditNote(scopeOf(billing), req.params.creditNoteId!);

  return {
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
  } satisfies Record<string, BooksHandler>;
}

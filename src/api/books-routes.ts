/**
 * The API's routes over the books (the records store): invoices, credit notes and their documents, and the lists
 * (./list-routes.ts). They never ask Temporal: they stay true after a plan change and after Temporal's retention. A
 * merchant's key sees only that merchant's rows (another merchant's invoice is 404); operators see all. An unreachable
 * database answers 503.
 */
import { z } from 'zod';
import { LIST_ROUTES } from './list-routes';
import type { RouteSpec } from './routes';

const DocumentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an id from the books (1 to 64 characters from A-Z, a-z, 0-9, "_", "-")');
const invoiceParam = { invoiceId: DocumentIdSchema };
const creditNoteParam = { creditNoteId: DocumentIdSchema };
const unavailable = 'The records store (PostgreSQL) is unreachable or not configured; retry later.';
const common = { tag: 'books', auth: true, temporal: false, unavailableDescription: unavailable } as const;

/** The documents, and the lists (./list-routes.ts), which come from the books too. */
export const BOOKS_ROUTES = [
  ...LIST_ROUTES,
  {
    ...common,
    method: 'GET',
    url: '/v1/invoices/:invoiceId',
    operationId: 'getInvoice',
    summary: 'Get an invoice: lines, totals, payments and credit notes',
    params: invoiceParam,
    responses: { '200': { description: 'The invoice', schema: z.looseObject({ invoiceId: z.string() }) } },
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/invoices/:invoiceId/invoice.html',
    operationId: 'getInvoiceHtml',
    summary: 'The invoice as an HTML page',
    params: invoiceParam,
    responses: { '200': { description: 'HTML', contentType: 'text/html' } },
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/invoices/:invoiceId/invoice.pdf',
    operationId: 'getInvoicePdf',
    summary: 'The invoice as a PDF',
    params: invoiceParam,
    responses: { '200': { description: 'PDF', contentType: 'application/pdf' } },
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/credit-notes/:creditNoteId',
    operationId: 'getCreditNote',
    summary: 'Get a credit note (a refund or a chargeback of an invoice)',
    params: creditNoteParam,
    responses: { '200': { description: 'The credit note', schema: z.looseObject({ creditNoteId: z.string() }) } },
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/credit-notes/:creditNoteId/credit-note.html',
    operationId: 'getCreditNoteHtml',
    summary: 'The credit note as an HTML page',
    params: creditNoteParam,
    responses: { '200': { description: 'HTML', contentType: 'text/html' } },
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/credit-notes/:creditNoteId/credit-note.pdf',
    operationId: 'getCreditNotePdf',
    summary: 'The credit note as a PDF',
    params: creditNoteParam,
    responses: { '200': { description: 'PDF', contentType: 'application/pdf' } },
    errors: [404],
  },
] as const satisfies readonly RouteSpec[];

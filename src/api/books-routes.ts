/**
 * The API's routes over the books (the records store): invoices, credit notes and their documents, and the lists that
 * come from the records (subscriptions by status, customer or plan; a subscription's cycles and payments), keyset
 * paginated. They never ask Temporal: they stay true after a plan change and after Temporal's retention. A merchant's
 * key sees only that merchant's rows (another merchant's invoice is 404); operators see all. An unreachable database
 * answers 503.
 */
import { z } from 'zod';
import { SubscriptionIdSchema, SUBSCRIPTION_STATUS_VALUES } from '@temporal-billing/client/schemas';
import type { RouteSpec } from './routes';

const DocumentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an id from the books (1 to 64 characters from A-Z, a-z, 0-9, "_", "-")');
const CursorSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned by a previous page')
  .max(1024);
const limit = z.coerce.number().int('must be an integer').min(1).max(200).optional();
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' });

export const ListInvoicesQuerySchema = z.strictObject({
  status: z.enum(['open', 'paid', 'void', 'uncollectible']).optional(),
  subscriptionId: SubscriptionIdSchema.optional(),
  number: z.coerce.number().int('must be an integer').min(1).optional(),
  /** Invoices whose period overlaps [periodFrom, periodTo). */
  periodFrom: instant.optional(),
  periodTo: instant.optional(),
  limit,
  cursor: CursorSchema.optional(),
});

export const ListRecordedSubscriptionsQuerySchema = z.strictObject({
  status: z.enum(SUBSCRIPTION_STATUS_VALUES).optional(),
  customerId: z.string().min(1).max(128).optional(),
  planId: z.string().min(1).max(128).optional(),
  limit,
  cursor: CursorSchema.optional(),
});

export const PageQuerySchema = z.strictObject({ limit, cursor: CursorSchema.optional() });

const page = (item: string) =>
  z.object({ items: z.array(z.looseObject({})).describe(item), nextCursor: z.string().optional() });
const invoiceParam = { invoiceId: DocumentIdSchema };
const creditNoteParam = { creditNoteId: DocumentIdSchema };
const unavailable = 'The records store (PostgreSQL) is unreachable or not configured; retry later.';
const common = { tag: 'books', auth: true, temporal: false, unavailableDescription: unavailable } as const;

export const BOOKS_ROUTES = [
  {
    ...common,
    method: 'GET',
    url: '/v1/invoices',
    operationId: 'listInvoices',
    summary: 'List invoices, newest number first, by status, subscription, number or period',
    query: ListInvoicesQuerySchema,
    responses: { '200': { description: 'A page of invoices', schema: page('invoices') } },
  },
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
  {
    ...common,
    method: 'GET',
    url: '/v1/records/subscriptions',
    operationId: 'listRecordedSubscriptions',
    summary: 'List subscriptions from the books (current terms), by status, customer or plan',
    query: ListRecordedSubscriptionsQuerySchema,
    responses: { '200': { description: 'A page of subscriptions', schema: page('subscriptions') } },
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/records/subscriptions/:id/cycles',
    operationId: 'listRecordedCycles',
    summary: "A subscription's cycles from the books, newest period first",
    params: { id: SubscriptionIdSchema },
    query: PageQuerySchema,
    responses: { '200': { description: 'A page of cycles', schema: page('cycles') } },
  },
  {
    ...common,
    method: 'GET',
    url: '/v1/records/subscriptions/:id/payments',
    operationId: 'listRecordedPayments',
    summary: "A subscription's payments from the books: charges, mark-paid, refunds, chargebacks, reversals",
    params: { id: SubscriptionIdSchema },
    query: PageQuerySchema,
    responses: { '200': { description: 'A page of payments', schema: page('payments') } },
  },
] as const satisfies readonly RouteSpec[];

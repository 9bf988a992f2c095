/**
 * The books' readers: what lists, searches and documents show. Every list is keyset-paginated (a page ends with a
 * cursor naming its last row's sort key; the next page starts after it), so a page costs the same at row 10 and at
 * row 1,000,000 and a row written meanwhile is neither skipped nor shown twice. Every read is scoped to one merchant
 * unless the caller is an operator (`merchantId` undefined).
 */
import type { Kysely } from 'kysely';
import type {
  BooksDatabase,
  CreditNoteRow,
  CycleRow,
  InvoiceLineRow,
  InvoiceRow,
  InvoiceStatus,
  PaymentRow,
  SubscriptionRow,
} from './schema';

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; absent on the last one. */
  nextCursor?: string;
}

/** A cursor is the last row's sort key, base64url JSON; a cursor that does not decode is refused (400). */
export class BadCursor extends Error {
  override readonly name = 'BadCursor';
  /** The query parameter that carried it (a 400 names it). */
  constructor(
    message: string,
    readonly param = 'cursor',
  ) {
    super(message);
  }
}

function encodeCursor(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string | undefined, shape: ('string' | 'number')[]): (string | number)[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === shape.length && key.every((k, i) => typeof k === shape[i])) {
      return key as (string | number)[];
    }
  } catch {
    // fall through
  }
  throw new BadCursor('not a cursor this list gave out');
}

function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => (string | number)[]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return rows.length > limit && last !== undefined ? { items, nextCursor: encodeCursor(keyOf(last)) } : { items };
}

/** A cursor's instant: refused (400) unless it is one this list wrote. */
function instantOf(iso: string): Date {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new BadCursor('not a cursor this list gave out');
  return d;
}

const size = (limit: number | undefined) => Math.min(Math.max(limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);

/** A cycle's row with its invoice, once the cycle has a Purchase (null before). */
export type CycleWithInvoice = CycleRow & {
  invoice_id: string | null;
  invoice_number: number | null;
  invoice_status: InvoiceStatus | null;
};

export interface InvoiceDocument {
  invoice: InvoiceRow;
  lines: InvoiceLineRow[];
  payments: PaymentRow[];
  creditNotes: CreditNoteRow[];
}

export function createBooksReader(db: Kysely<BooksDatabase>) {
  return {
    /** Subscriptions, newest first (then by id, so equal start times page without a gap or a repeat). */
    async listSubscriptions(q: {
      merchantId: string | undefined;
      status?: string;
      customerId?: string;
      planId?: string;
      limit?: number;
      cursor?: string;
    }): Promise<Page<SubscriptionRow>> {
      const limit = size(q.limit);
      const after = decodeCursor(q.cursor, ['string', 'string']);
      let query = db.selectFrom('subscriptions').selectAll();
      if (q.merchantId !== undefined) query = query.where('merchant_id', '=', q.merchantId);
      if (q.status) query = query.where('status', '=', q.status);
      if (q.customerId) query = query.where('customer_id', '=', q.customerId);
      if (q.planId) query = query.where('plan_id', '=', q.planId);
      if (after) {
        const [at, id] = after as [string, string];
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '<', instantOf(at)),
            eb.and([eb('created_at', '=', instantOf(at)), eb('subscription_id', '<', id)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('subscription_id', 'desc')
        .limit(limit + 1)
        .execute();
      return pageOf(rows, limit, (r) => [r.created_at.toISOString(), r.subscription_id]);
    },

    async getSubscription(
      merchantId: string | undefined,
      subscriptionId: string,
    ): Promise<SubscriptionRow | undefined> {
      let query = db.selectFrom('subscriptions').selectAll().where('subscription_id', '=', subscriptionId);
      if (merchantId !== undefined) query = query.where('merchant_id', '=', merchantId);
      return query.executeTakeFirst();
    },

    /**
     * A subscription's cycles by period, newest first unless `order` is `asc`; each with its invoice (id and number)
     * once it has one.
     */
    async listCycles(q: {
      merchantId: string | undefined;
      subscriptionId: string;
      order?: 'asc' | 'desc';
      limit?: number;
      cursor?: string;
    }): Promise<Page<CycleWithInvoice>> {
      const limit = size(q.limit);
      const order = q.order ?? 'desc';
      const after = decodeCursor(q.cursor, ['number', 'string']);
      const past = order === 'asc' ? '>' : '<';
      let query = db
        .selectFrom('cycles')
        .leftJoin('invoices', 'invoices.cycle_id', 'cycles.cycle_id')
        .selectAll('cycles')
        .select(['invoices.invoice_id', 'invoices.number as invoice_number', 'invoices.status as invoice_status'])
        .where('cycles.subscription_id', '=', q.subscriptionId);
      if (q.merchantId !== undefined) query = query.where('cycles.merchant_id', '=', q.merchantId);
      if (after) {
        const [index, id] = after as [number, string];
        query = query.where((eb) =>
          eb.or([
            eb('cycles.period_index', past, index),
            eb.and([eb('cycles.period_index', '=', index), eb('cycles.cycle_id', past, id)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('cycles.period_index', order)
        .orderBy('cycles.cycle_id', order)
        .limit(limit + 1)
        .execute();
      return pageOf(rows, limit, (r) => [r.period_index, r.cycle_id]);
    },

    /**
     * Payments (charges, mark-paid, refunds, chargebacks, reversals), newest first: a subscription's, or without
     * `subscriptionId` every subscription's (the console's payments list).
     */
    async listPayments(q: {
      merchantId: string | undefined;
      subscriptionId?: string;
      limit?: number;
      cursor?: string;
    }): Promise<Page<PaymentRow>> {
      const limit = size(q.limit);
      const after = decodeCursor(q.cursor, ['string', 'string']);
      let query = db.selectFrom('payments').selectAll();
      if (q.subscriptionId !== undefined) query = query.where('subscription_id', '=', q.subscriptionId);
      if (q.merchantId !== undefined) query = query.where('merchant_id', '=', q.merchantId);
      if (after) {
        const [at, key] = after as [string, string];
        query = query.where((eb) =>
          eb.or([
            eb('occurred_at', '<', instantOf(at)),
            eb.and([eb('occurred_at', '=', instantOf(at)), eb('payment_key', '<', key)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('occurred_at', 'desc')
        .orderBy('payment_key', 'desc')
        .limit(limit + 1)
        .execute();
      return pageOf(rows, limit, (r) => [r.occurred_at.toISOString(), r.payment_key]);
    },

    /** Invoices by number, newest first; by status, subscription, number or a period overlapping [from, to). */
    async listInvoices(q: {
      merchantId: string | undefined;
      status?: InvoiceStatus;
      subscriptionId?: string;
      number?: number;
      periodFrom?: Date;
      periodTo?: Date;
      limit?: number;
      cursor?: string;
    }): Promise<Page<InvoiceRow>> {
      const limit = size(q.limit);
      const after = decodeCursor(q.cursor, ['string', 'number']);
      let query = db.selectFrom('invoices').selectAll();
      if (q.merchantId !== undefined) query = query.where('merchant_id', '=', q.merchantId);
      if (q.status) query = query.where('status', '=', q.status);
      if (q.subscriptionId) query = query.where('subscription_id', '=', q.subscriptionId);
      if (q.number !== undefined) query = query.where('number', '=', q.number);
      if (q.periodFrom) query = query.where('period_end', '>', q.periodFrom);
      if (q.periodTo) query = query.where('period_start', '<', q.periodTo);
      if (after) {
        const [merchant, number] = after as [string, number];
        query = query.where((eb) =>
          eb.or([eb('number', '<', number), eb.and([eb('number', '=', number), eb('merchant_id', '<', merchant)])]),
        );
      }
      const rows = await query
        .orderBy('number', 'desc')
        .orderBy('merchant_id', 'desc')
        .limit(limit + 1)
        .execute();
      return pageOf(rows, limit, (r) => [r.merchant_id, r.number]);
    },

    /** An invoice with its lines, payments and credit notes; undefined when unknown or another merchant's. */
    async getInvoice(merchantId: string | undefined, invoiceId: string): Promise<InvoiceDocument | undefined> {
      let query = db.selectFrom('invoices').selectAll().where('invoice_id', '=', invoiceId);
      if (merchantId !== undefined) query = query.where('merchant_id', '=', merchantId);
      const invoice = await query.executeTakeFirst();
      if (!invoice) return undefined;
      const [lines, payments, creditNotes] = await Promise.all([
        db.selectFrom('invoice_lines').selectAll().where('invoice_id', '=', invoiceId).orderBy('position').execute(),
        db.selectFrom('payments').selectAll().where('invoice_id', '=', invoiceId).orderBy('occurred_at').execute(),
        db.selectFrom('credit_notes').selectAll().where('invoice_id', '=', invoiceId).orderBy('number').execute(),
      ]);
      return { invoice, lines, payments, creditNotes };
    },

    async getInvoiceOfCycle(cycleId: string): Promise<InvoiceRow | undefined> {
      return db.selectFrom('invoices').selectAll().where('cycle_id', '=', cycleId).executeTakeFirst();
    },

    /** A credit note with the invoice it credits; undefined when unknown or another merchant's. */
    async getCreditNote(
      merchantId: string | undefined,
      creditNoteId: string,
    ): Promise<{ creditNote: CreditNoteRow; invoice: InvoiceDocument } | undefined> {
      let query = db.selectFrom('credit_notes').selectAll().where('credit_note_id', '=', creditNoteId);
      if (merchantId !== undefined) query = query.where('merchant_id', '=', merchantId);
      const creditNote = await query.executeTakeFirst();
      if (!creditNote) return undefined;
      const invoice = await this.getInvoice(undefined, creditNote.invoice_id);
      return invoice ? { creditNote, invoice } : undefined;
    },
  };
}

export type BooksReader = ReturnType<typeof createBooksReader>;

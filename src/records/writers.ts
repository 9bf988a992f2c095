/**
 * The books' writers. Each is an idempotent upsert keyed by the ids that make billing exactly-once: the subscription
 * id, the cycle workflow id (one cycle row, one invoice), the Purchase id (the period's charge or mark-paid), the
 * gateway's Payment id (refunds) and the payment's key (one credit note per refund or chargeback). Writing a fact
 * twice, or an older state after a newer one, changes nothing.
 *
 * Document numbers are per merchant and kind, taken from a counter row in the same transaction that inserts the
 * document: the row lock serializes them, and a transaction that fails gives its number back, so numbers are unique,
 * increasing and without gaps.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { BooksWrite, CycleBooksWrite, PaymentEventBooksWrite, SubscriptionBooksWrite } from '../shared/records';
import type { ChangeRecord } from '../shared/actor';
import type { BooksDatabase, InvoiceStatus, PaymentKind } from './schema';

/** A write the books refuse for good: it would break an invariant (e.g. a credit note above what was paid). */
export class BooksRejection extends Error {
  override readonly name = 'BooksRejection';
}

/** A write that must wait for another (e.g. the refund of a cycle whose paid state is not written yet): retry. */
export class BooksNotReady extends Error {
  override readonly name = 'BooksNotReady';
}

/** What an invoice is made of: the Purchase's products as the gateway holds them, and its total. */
export interface PurchaseContent {
  totalMinor: number;
  products: {
    name: string;
    price: number;
    quantity?: string | undefined;
    discount?: number | undefined;
    tax_percent?: string | undefined;
  }[];
}

export interface BooksWriterDeps {
  db: Kysely<BooksDatabase>;
  /** Reads the Purchase whose content becomes the invoice (the gateway is the truth). */
  readPurchase(purchaseId: string): Promise<PurchaseContent>;
  /** The default merchant of a cycle that names none and has no subscription row. */
  defaultMerchantId: string;
}

export const DEFAULT_BOOKS_MERCHANT = 'default';

export function createBooksWriter(deps: BooksWriterDeps) {
  const { db } = deps;

  async function writeSubscription(w: SubscriptionBooksWrite): Promise<string> {
    const amountMinor = w.plan.lineItems.reduce((s, li) => s + li.priceMinor * li.quantity, 0);
    const row = {
      subscription_id: w.subscriptionId,
      merchant_id: w.merchantId,
      customer_id: w.customerId,
      status: w.status,
      plan_id: w.plan.planId,
      currency: w.plan.currency,
      amount_minor: amountMinor,
      plan: JSON.stringify(w.plan),
      pending_plan: w.pendingPlan ? JSON.stringify(w.pendingPlan) : null,
      schedule: JSON.stringify(w.schedule),
      next_period_index: w.nextPeriodIndex,
      cancel_at_period_end: w.cancelAtPeriodEnd,
      canceled_at: w.canceledAt ?? null,
      created_at: w.createdAt,
      observed_at: w.observedAt,
    };
    await db.transaction().execute(async (trx) => {
      const { merchant_id: _m, subscription_id: _s, created_at: _c, ...update } = row;
      await trx
        .insertInto('subscriptions')
        .values(row)
        .onConflict((oc) =>
          oc
            .column('subscription_id')
            .doUpdateSet({ ...update, written_at: sql`now()` })
            // A state observed earlier (a retried write that lost a race) never replaces a later one.
            .where('subscriptions.observed_at', '<=', sql<Date>`excluded.observed_at`),
        )
        .execute();
      await writeChanges(trx, w.subscriptionId, w.merchantId, w.changes);
    });
    return `subscription ${w.subscriptionId} ${w.status}`;
  }

  async function merchantOfCycle(w: CycleBooksWrite): Promise<string> {
    if (w.merchantId) return w.merchantId;
    const sub = await db
      .selectFrom('subscriptions')
      .select('merchant_id')
      .where('subscription_id', '=', w.subscriptionId)
      .executeTakeFirst();
    return sub?.merchant_id ?? deps.defaultMerchantId;
  }

  async function writeCycle(w: CycleBooksWrite): Promise<string> {
    const merchantId = await merchantOfCycle(w);
    // The Purchase's content is read before the transaction (no gateway call while holding the number lock), and
    // only when the invoice does not exist yet.
    let content: PurchaseContent | undefined;
    if (w.purchaseId) {
      const has = await db
        .selectFrom('invoices')
        .select('invoice_id')
        .where('cycle_id', '=', w.cycleId)
        .executeTakeFirst();
      if (!has) content = await deps.readPurchase(w.purchaseId);
    }
    const out: string[] = [];
    await inTransactionRetryingConflicts(db, async (trx) => {
      out.length = 0;
      const row = {
        cycle_id: w.cycleId,
        subscription_id: w.subscriptionId,
        merchant_id: merchantId,
        customer_id: w.customerId,
        period_index: w.periodIndex,
        period_start: w.periodStart,
        period_end: w.periodEnd,
        status: w.status,
        purchase_id: w.purchaseId ?? null,
        currency: w.currency,
        amount_minor: w.amountMinor,
        attempts: w.attempts,
        paid_at: w.paidAt ?? null,
        failure_reason: w.failureReason ?? null,
        observed_at: w.observedAt,
      };
      const { cycle_id: _id, merchant_id: _m, ...update } = row;
      await trx
        .insertInto('cycles')
        .values(row)
        .onConflict((oc) =>
          oc
            .column('cycle_id')
            .doUpdateSet({ ...update, written_at: sql`now()` })
            .where('cycles.observed_at', '<=', sql<Date>`excluded.observed_at`),
        )
        .execute();
      out.push(`cycle ${w.cycleId} ${w.status}`);
      await writeChanges(trx, w.cycleId, merchantId, w.changes);
      if (!w.purchaseId) return;

      let invoice = await trx
        .selectFrom('invoices')
        .selectAll()
        .where('cycle_id', '=', w.cycleId)
        .forUpdate()
        .executeTakeFirst();
      if (!invoice) {
        if (!content) content = await deps.readPurchase(w.purchaseId);
        invoice = await openInvoice(trx, w, merchantId, content);
        out.push(`invoice ${invoice.number} open`);
      } else if (invoice.status === 'open' && invoice.purchase_id !== w.purchaseId) {
        // A blocked or closed Purchase was replaced: the period is billed on the new one (same products).
        await trx
          .updateTable('invoices')
          .set({ purchase_id: w.purchaseId })
          .where('invoice_id', '=', invoice.invoice_id)
          .execute();
      }
      const next = invoiceStatusOf(w);
      if (invoice.status === 'open' && next !== 'open') {
        const paid = next === 'paid';
        await trx
          .updateTable('invoices')
          .set({
            status: next,
            purchase_id: w.purchaseId,
            observed_at: w.observedAt,
            closed_at: w.observedAt,
            ...(paid ? { paid_at: w.paidAt ?? w.observedAt, paid_minor: invoice.total_minor } : {}),
          })
          .where('invoice_id', '=', invoice.invoice_id)
          .execute();
        out.push(`invoice ${invoice.number} ${next}`);
        if (paid) {
          const kind: PaymentKind = w.markedPaid ? 'mark_paid' : 'charge';
          await trx
            .insertInto('payments')
            .values({
              payment_key: `${kind}:${w.purchaseId}`,
              kind,
              merchant_id: merchantId,
              subscription_id: w.subscriptionId,
              cycle_id: w.cycleId,
              invoice_id: invoice.invoice_id,
              purchase_id: w.purchaseId,
              gateway_payment_id: null,
              amount_minor: invoice.total_minor,
              currency: invoice.currency,
              occurred_at: w.paidAt ?? w.observedAt,
            })
            .onConflict((oc) => oc.column('payment_key').doNothing())
            .execute();
        }
      }
    });
    return out.join(', ');
  }

  async function openInvoice(
    trx: Transaction<BooksDatabase>,
    w: CycleBooksWrite,
    merchantId: string,
    content: PurchaseContent,
  ) {
    const lines = content.products.map((p, position) => {
      const quantity = Number(p.quantity ?? '1');
      if (!Number.isInteger(quantity) || quantity < 0) {
        throw new BooksRejection(
          `invoice of ${w.cycleId}: product ${position} has quantity ${p.quantity}, not a whole number`,
        );
      }
      const gross = p.price * quantity;
      const discount = p.discount ?? 0;
      const taxPercent = Number(p.tax_percent ?? '0');
      // Exclusive tax on the discounted amount, rounded half up to the minor unit (the one rounding rule).
      const tax = Math.round(((gross - discount) * taxPercent) / 100);
      return { position, description: p.name, quantity, unit: p.price, gross, discount, taxPercent, tax };
    });
    const subtotal = lines.reduce((s, l) => s + l.gross, 0);
    const discount = lines.reduce((s, l) => s + l.discount, 0);
    const tax = lines.reduce((s, l) => s + l.tax, 0);
    const total = subtotal - discount + tax;
    if (total !== content.totalMinor) {
      throw new BooksRejection(
        `invoice of ${w.cycleId}: lines come to ${total} but the Purchase ${w.purchaseId} totals ${content.totalMinor}`,
      );
    }
    const number = await nextNumber(trx, merchantId, 'invoice');
    const invoiceId = `inv_${randomUUID().replace(/-/g, '')}`;
    const invoice = await trx
      .insertInto('invoices')
      .values({
        invoice_id: invoiceId,
        merchant_id: merchantId,
        number,
        cycle_id: w.cycleId,
        subscription_id: w.subscriptionId,
        customer_id: w.customerId,
        purchase_id: w.purchaseId!,
        status: 'open',
        currency: w.currency,
        period_start: w.periodStart,
        period_end: w.periodEnd,
        subtotal_minor: subtotal,
        discount_minor: discount,
        tax_minor: tax,
        total_minor: total,
        issued_at: w.observedAt,
        observed_at: w.observedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    if (lines.length) {
      await trx
        .insertInto('invoice_lines')
        .values(
          lines.map((l) => ({
            invoice_id: invoiceId,
            position: l.position,
            description: l.description,
            quantity: l.quantity,
            unit_price_minor: l.unit,
            discount_minor: l.discount,
            tax_percent: l.taxPercent,
            tax_minor: l.tax,
            amount_minor: l.gross - l.discount + l.tax,
          })),
        )
        .execute();
    }
    return invoice;
  }

  async function writePaymentEvent(w: PaymentEventBooksWrite): Promise<string> {
    const kind: PaymentKind = w.kind === 'chargeback_reversed' ? 'reversal' : w.kind;
    // A refund is keyed by its gateway Payment id; a chargeback without one by its Purchase and time (a Purchase is
    // charged back at most once per dispute round, and the subscription records each round once).
    const paymentKey = w.paymentId ? `${kind}:${w.paymentId}` : `${kind}:${w.purchaseId}:${w.at}`;
    const out: string[] = [];
    await inTransactionRetryingConflicts(db, async (trx) => {
      out.length = 0;
      const existing = await trx
        .selectFrom('payments')
        .select('payment_key')
        .where('payment_key', '=', paymentKey)
        .executeTakeFirst();
      if (existing) {
        out.push(`${kind} ${paymentKey} already written`);
        return;
      }
      const invoice = await trx
        .selectFrom('invoices')
        .selectAll()
        .where('cycle_id', '=', w.cycleId)
        .forUpdate()
        .executeTakeFirst();
      if (!invoice) {
        const cycle = await trx
          .selectFrom('cycles')
          .select('purchase_id')
          .where('cycle_id', '=', w.cycleId)
          .executeTakeFirst();
        // The books know the cycle but not yet its invoice: its write is still on its way.
        if (cycle?.purchase_id) throw new BooksNotReady(`the invoice of ${w.cycleId} is not written yet`);
      }
      if (invoice && invoice.status !== 'paid' && kind !== 'reversal') {
        // The cycle's paid state is still on its way (its own write is retried): wait for it.
        throw new BooksNotReady(
          `the invoice of ${w.cycleId} is ${invoice.status} in the books; its paid state is not written yet`,
        );
      }
      const credited = invoice
        ? Number(
            (
              await trx
                .selectFrom('credit_notes')
                .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_minor'), sql<number>`0`).as('sum'))
                .where('invoice_id', '=', invoice.invoice_id)
                .executeTakeFirstOrThrow()
            ).sum,
          )
        : 0;
      const remaining = invoice ? invoice.paid_minor - credited : 0;
      const amount = w.amountMinor ?? (kind === 'reversal' ? (invoice?.paid_minor ?? 0) : remaining);
      if (kind !== 'reversal' && invoice && amount > remaining) {
        throw new BooksRejection(
          `${kind} of ${amount} on invoice ${invoice.number} (${w.cycleId}) exceeds what is left paid on it (${remaining})`,
        );
      }
      const merchantId = invoice?.merchant_id ?? w.merchantId;
      await trx
        .insertInto('payments')
        .values({
          payment_key: paymentKey,
          kind,
          merchant_id: merchantId,
          subscription_id: w.subscriptionId,
          cycle_id: w.cycleId,
          invoice_id: invoice?.invoice_id ?? null,
          purchase_id: w.purchaseId,
          gateway_payment_id: w.paymentId ?? null,
          amount_minor: amount,
          currency: invoice?.currency ?? w.currency ?? '',
          occurred_at: w.at,
        })
        .execute();
      out.push(`${kind} ${amount}`);
      if (!invoice) {
        out.push(`no invoice for ${w.cycleId} (billed before the books): no credit note`);
        return;
      }
      if (kind === 'reversal' || amount <= 0) return;
      const number = await nextNumber(trx, merchantId, 'credit_note');
      await trx
        .insertInto('credit_notes')
        .values({
          credit_note_id: `cn_${randomUUID().replace(/-/g, '')}`,
          merchant_id: merchantId,
          number,
          invoice_id: invoice.invoice_id,
          payment_key: paymentKey,
          kind,
          amount_minor: amount,
          currency: invoice.currency,
          issued_at: w.at,
        })
        .execute();
      out.push(`credit note ${number} (${kind} ${amount})`);
    });
    return out.join(', ');
  }

  return {
    async write(w: BooksWrite): Promise<string> {
      switch (w.type) {
        case 'subscription':
          return writeSubscription(w);
        case 'cycle':
          return writeCycle(w);
        case 'payment_event':
          return writePaymentEvent(w);
      }
    },
  };
}

export type BooksWriter = ReturnType<typeof createBooksWriter>;

function invoiceStatusOf(w: CycleBooksWrite): InvoiceStatus {
  switch (w.status) {
    case 'paid':
    case 'marked_paid':
      return 'paid';
    case 'canceled':
      return 'void';
    case 'failed':
      return 'uncollectible';
    default:
      return 'open';
  }
}

async function nextNumber(
  trx: Transaction<BooksDatabase>,
  merchantId: string,
  kind: 'invoice' | 'credit_note',
): Promise<number> {
  const r = await trx
    .insertInto('document_numbers')
    .values({ merchant_id: merchantId, kind, last_number: 1 })
    .onConflict((oc) =>
      oc.columns(['merchant_id', 'kind']).doUpdateSet({ last_number: sql`document_numbers.last_number + 1` }),
    )
    .returning('last_number')
    .executeTakeFirstOrThrow();
  return r.last_number;
}

async function writeChanges(
  trx: Transaction<BooksDatabase>,
  entityId: string,
  merchantId: string,
  changes: ChangeRecord[] | undefined,
): Promise<void> {
  if (!changes?.length) return;
  await trx
    .insertInto('change_trail')
    .values(
      changes.map((c) => ({
        entity_id: entityId,
        // The update id where there is one (a change is one update); otherwise its kind and workflow time.
        change_key: c.updateId ?? `${c.kind}@${c.at}`,
        merchant_id: c.merchantId || merchantId,
        kind: c.kind,
        key_id: c.keyId,
        at: c.at,
        detail: null,
      })),
    )
    .onConflict((oc) => oc.columns(['entity_id', 'change_key']).doNothing())
    .execute();
}

const UNIQUE_VIOLATION = '23505';

/**
 * Runs `work` in a transaction; when two writers of the same fact race (an activity retried while its first attempt
 * still runs), the loser's insert hits a unique key, its transaction rolls back (numbers included) and it runs again,
 * now seeing the winner's row.
 */
async function inTransactionRetryingConflicts(
  db: Kysely<BooksDatabase>,
  work: (trx: Transaction<BooksDatabase>) => Promise<void>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.transaction().execute(work);
      return;
    } catch (err) {
      if (attempt < 3 && (err as { code?: string }).code === UNIQUE_VIOLATION) continue;
      throw err;
    }
  }
}

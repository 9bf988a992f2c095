/**
 * The engine's books, first version: subscriptions (current terms and status), cycles, invoices and their lines,
 * payments, credit notes, per-merchant document numbers and the change trail. Money is integer minor units (bigint);
 * instants are timestamptz. Every table has the natural key that makes its writes idempotent (see src/records/store.ts).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('subscriptions')
    .addColumn('subscription_id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('plan', 'jsonb', (c) => c.notNull())
    .addColumn('pending_plan', 'jsonb')
    .addColumn('schedule', 'jsonb', (c) => c.notNull())
    .addColumn('next_period_index', 'integer', (c) => c.notNull())
    .addColumn('cancel_at_period_end', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('canceled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    // Workflow time of the state written; an older state never overwrites a newer one.
    .addColumn('observed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('written_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('subscriptions_by_merchant_status')
    .on('subscriptions')
    .columns(['merchant_id', 'status', 'subscription_id'])
    .execute();
  await db.schema
    .createIndex('subscriptions_by_merchant_customer')
    .on('subscriptions')
    .columns(['merchant_id', 'customer_id', 'subscription_id'])
    .execute();
  await db.schema
    .createIndex('subscriptions_by_merchant_plan')
    .on('subscriptions')
    .columns(['merchant_id', 'plan_id', 'subscription_id'])
    .execute();

  await db.schema
    .createTable('cycles')
    .addColumn('cycle_id', 'text', (c) => c.primaryKey())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('period_index', 'integer', (c) => c.notNull())
    .addColumn('period_start', 'timestamptz', (c) => c.notNull())
    .addColumn('period_end', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('purchase_id', 'text')
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('paid_at', 'timestamptz')
    .addColumn('failure_reason', 'text')
    .addColumn('observed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('written_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('cycles_by_subscription')
    .on('cycles')
    .columns(['subscription_id', 'period_index'])
    .unique()
    .execute();

  // One counter row per (merchant, kind): numbers are taken in the transaction that inserts the document.
  await db.schema
    .createTable('document_numbers')
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('invoice', 'credit_note')`))
    .addColumn('last_number', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('document_numbers_pk', ['merchant_id', 'kind'])
    .execute();

  await db.schema
    .createTable('invoices')
    .addColumn('invoice_id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('number', 'bigint', (c) => c.notNull())
    .addColumn('cycle_id', 'text', (c) => c.notNull().unique().references('cycles.cycle_id'))
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('purchase_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'paid', 'void', 'uncollectible')`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('period_start', 'timestamptz', (c) => c.notNull())
    .addColumn('period_end', 'timestamptz', (c) => c.notNull())
    .addColumn('subtotal_minor', 'bigint', (c) => c.notNull())
    .addColumn('discount_minor', 'bigint', (c) => c.notNull())
    .addColumn('tax_minor', 'bigint', (c) => c.notNull())
    .addColumn('total_minor', 'bigint', (c) => c.notNull())
    .addColumn('paid_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('paid_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('observed_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('invoices_number_per_merchant', ['merchant_id', 'number'])
    .addCheckConstraint('invoices_total', sql`total_minor = subtotal_minor - discount_minor + tax_minor`)
    .addCheckConstraint('invoices_paid_at_most_total', sql`paid_minor between 0 and total_minor`)
    .execute();
  await db.schema
    .createIndex('invoices_by_merchant_number')
    .on('invoices')
    .columns(['merchant_id', 'number'])
    .execute();
  await db.schema
    .createIndex('invoices_by_merchant_status')
    .on('invoices')
    .columns(['merchant_id', 'status', 'number'])
    .execute();
  await db.schema
    .createIndex('invoices_by_merchant_period')
    .on('invoices')
    .columns(['merchant_id', 'period_start', 'number'])
    .execute();

  await db.schema
    .createTable('invoice_lines')
    .addColumn('invoice_id', 'text', (c) => c.notNull().references('invoices.invoice_id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull())
    .addColumn('unit_price_minor', 'bigint', (c) => c.notNull())
    .addColumn('discount_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('tax_percent', 'numeric', (c) => c.notNull().defaultTo(0))
    .addColumn('tax_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('invoice_lines_pk', ['invoice_id', 'position'])
    .execute();

  await db.schema
    .createTable('payments')
    // The gateway's Payment id where there is one; `charge:{purchaseId}` / `mark_paid:{purchaseId}` for the period's
    // own payment (a Purchase is paid at most once).
    .addColumn('payment_key', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('charge', 'mark_paid', 'refund', 'chargeback', 'reversal')`),
    )
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('cycle_id', 'text', (c) => c.notNull())
    .addColumn('invoice_id', 'text', (c) => c.references('invoices.invoice_id'))
    .addColumn('purchase_id', 'text', (c) => c.notNull())
    .addColumn('gateway_payment_id', 'text')
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('written_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('payments_by_subscription')
    .on('payments')
    .columns(['subscription_id', 'occurred_at', 'payment_key'])
    .execute();

  await db.schema
    .createTable('credit_notes')
    .addColumn('credit_note_id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('number', 'bigint', (c) => c.notNull())
    .addColumn('invoice_id', 'text', (c) => c.notNull().references('invoices.invoice_id'))
    .addColumn('payment_key', 'text', (c) => c.notNull().unique().references('payments.payment_key'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('refund', 'chargeback')`))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull().check(sql`amount_minor > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('credit_notes_number_per_merchant', ['merchant_id', 'number'])
    .execute();
  await db.schema.createIndex('credit_notes_by_invoice').on('credit_notes').columns(['invoice_id']).execute();

  await db.schema
    .createTable('change_trail')
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('change_key', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('detail', 'jsonb')
    .addPrimaryKeyConstraint('change_trail_pk', ['entity_id', 'change_key'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'change_trail',
    'credit_notes',
    'payments',
    'invoice_lines',
    'invoices',
    'document_numbers',
    'cycles',
    'subscriptions',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

/** The books' tables as Kysely sees them (one interface per table of migrations/). Money: integer minor units. */
import type { ColumnType, Generated, Selectable } from 'kysely';

/** bigint columns: read as numbers (the pool's int8 parser; every amount is far below 2^53). */
type Int8 = ColumnType<number, number, number>;
type Instant = ColumnType<Date, Date | string, Date | string>;
type OptionalInstant = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** jsonb: written as JSON text (pg would turn a JS array into a PostgreSQL array), read parsed. */
type Json<T> = ColumnType<T, string, string>;
type DefaultedInstant = ColumnType<Date, Date | string | undefined, Date | string>;

export interface SubscriptionsTable {
  subscription_id: string;
  merchant_id: string;
  customer_id: string;
  status: string;
  plan_id: string;
  currency: string;
  amount_minor: Int8;
  plan: Json<unknown>;
  pending_plan: ColumnType<unknown, string | null, string | null>;
  schedule: Json<unknown>;
  next_period_index: number;
  cancel_at_period_end: boolean;
  canceled_at: OptionalInstant;
  created_at: Instant;
  observed_at: Instant;
  written_at: DefaultedInstant;
}

export interface CyclesTable {
  cycle_id: string;
  subscription_id: string;
  merchant_id: string;
  customer_id: string;
  period_index: number;
  period_start: Instant;
  period_end: Instant;
  status: string;
  purchase_id: string | null;
  currency: string;
  amount_minor: Int8;
  attempts: number;
  paid_at: OptionalInstant;
  failure_reason: string | null;
  observed_at: Instant;
  written_at: DefaultedInstant;
}

export interface DocumentNumbersTable {
  merchant_id: string;
  kind: 'invoice' | 'credit_note';
  last_number: Int8;
}

export type InvoiceStatus = 'open' | 'paid' | 'void' | 'uncollectible';

export interface InvoicesTable {
  invoice_id: string;
  merchant_id: string;
  number: Int8;
  cycle_id: string;
  subscription_id: string;
  customer_id: string;
  purchase_id: string;
  status: InvoiceStatus;
  currency: string;
  period_start: Instant;
  period_end: Instant;
  subtotal_minor: Int8;
  discount_minor: Int8;
  tax_minor: Int8;
  total_minor: Int8;
  paid_minor: ColumnType<number, number | undefined, number>;
  issued_at: Instant;
  paid_at: OptionalInstant;
  closed_at: OptionalInstant;
  observed_at: Instant;
}

export interface InvoiceLinesTable {
  invoice_id: string;
  position: number;
  description: string;
  quantity: number;
  unit_price_minor: Int8;
  discount_minor: ColumnType<number, number | undefined, number>;
  /** numeric: read as text by pg. */
  tax_percent: ColumnType<string, string | number | undefined, string | number>;
  tax_minor: ColumnType<number, number | undefined, number>;
  amount_minor: Int8;
}

export type PaymentKind = 'charge' | 'mark_paid' | 'refund' | 'chargeback' | 'reversal';

export interface PaymentsTable {
  payment_key: string;
  kind: PaymentKind;
  merchant_id: string;
  subscription_id: string;
  cycle_id: string;
  invoice_id: string | null;
  purchase_id: string;
  gateway_payment_id: string | null;
  amount_minor: Int8;
  currency: string;
  occurred_at: Instant;
  written_at: DefaultedInstant;
}

export interface CreditNotesTable {
  credit_note_id: string;
  merchant_id: string;
  number: Int8;
  invoice_id: string;
  payment_key: string;
  kind: 'refund' | 'chargeback';
  amount_minor: Int8;
  currency: string;
  issued_at: Instant;
}

export interface ChangeTrailTable {
  entity_id: string;
  change_key: string;
  merchant_id: string;
  kind: string;
  key_id: string;
  at: Instant;
  detail: ColumnType<unknown, string | null, string | null>;
}

export interface BooksDatabase {
  subscriptions: SubscriptionsTable;
  cycles: CyclesTable;
  document_numbers: DocumentNumbersTable;
  invoices: InvoicesTable;
  invoice_lines: InvoiceLinesTable;
  payments: PaymentsTable;
  credit_notes: CreditNotesTable;
  change_trail: ChangeTrailTable;
}

export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type CycleRow = Selectable<CyclesTable>;
export type InvoiceRow = Selectable<InvoicesTable>;
export type InvoiceLineRow = Selectable<InvoiceLinesTable>;
export type PaymentRow = Selectable<PaymentsTable>;
export type CreditNoteRow = Selectable<CreditNotesTable>;
export type { Generated };

/**
 * What the workflows tell the records store (the engine's books, src/records/): facts as they become known, each
 * written by the `recordBooks` activity as an idempotent upsert keyed by the ids that make billing exactly-once (the
 * cycle workflow id, the Purchase id, the gateway's Payment id). Writing one twice changes nothing.
 */
import type { ChangeRecord } from './actor';
import type { LineItem } from './billing-cycle';
import type { CycleStatus } from '../domain/billing-cycle';

/** The subscription's current terms and status (the whole row: a later state replaces an earlier one). */
export interface SubscriptionBooksWrite {
  type: 'subscription';
  subscriptionId: string;
  merchantId: string;
  customerId: string;
  status: string;
  plan: { planId: string; currency: string; lineItems: LineItem[] };
  pendingPlan?: { planId: string; currency: string; lineItems: LineItem[] };
  schedule: unknown;
  nextPeriodIndex: number;
  cancelAtPeriodEnd: boolean;
  canceledAt?: string;
  /** Workflow time of the subscription's start and of this state (ISO 8601). */
  createdAt: string;
  observedAt: string;
  changes?: ChangeRecord[];
}

/** A billing cycle as it stands; with a Purchase id it also opens (once) and then closes the period's invoice. */
export interface CycleBooksWrite {
  type: 'cycle';
  cycleId: string;
  subscriptionId: string;
  /** Absent in cycles started before the subscription passed it on: the subscription's row (or `default`) decides. */
  merchantId?: string;
  customerId: string;
  periodIndex: number;
  periodStart: string;
  periodEnd: string;
  status: CycleStatus;
  currency: string;
  amountMinor: number;
  lineItems: LineItem[];
  attempts: number;
  /** The Purchase the period is billed on (the current one, when one was replaced). */
  purchaseId?: string;
  /** Set once paid: workflow time (ISO 8601), and whether an operator marked it paid instead of a charge. */
  paidAt?: string;
  markedPaid?: boolean;
  failureReason?: string;
  observedAt: string;
  changes?: ChangeRecord[];
}

/** A refund, a chargeback or a chargeback reversal of a paid cycle, as the subscription recorded it. */
export interface PaymentEventBooksWrite {
  type: 'payment_event';
  kind: 'refund' | 'chargeback' | 'chargeback_reversed';
  subscriptionId: string;
  merchantId: string;
  cycleId: string;
  purchaseId: string;
  /** The gateway's Payment id (refunds); absent for chargebacks registered without one. */
  paymentId?: string;
  /** Absent: the whole amount still paid on the invoice (a chargeback takes it all). */
  amountMinor?: number;
  currency?: string;
  at: string;
}

export type BooksWrite = SubscriptionBooksWrite | CycleBooksWrite | PaymentEventBooksWrite;

export interface BooksWriteResult {
  /** One line per write, e.g. `invoice 12 open`, `credit note 3 (refund 5000)`, `no records store`. */
  written: string[];
}

/** Failure type of a write the books refuse for good (it would break an invariant); alerted, never retried. */
export const BOOKS_REJECTED = 'BooksRejected';

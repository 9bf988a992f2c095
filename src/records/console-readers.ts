/**
 * Readers the billing console needs beyond ./readers.ts: the overview's aggregates, the attention queue, payments
 * and credit notes across subscriptions, the change trail, and a period's invoices for a CSV export. Same rules as
 * ./readers.ts: read-only, scoped to one merchant unless `merchantId` is undefined (an operator), lists keyset-paginated.
 * Payments across subscriptions are ./readers.ts's `listPayments` without a subscription.
 */
import { sql, type Kysely } from 'kysely';
import type { BooksDatabase, CreditNoteRow, CycleRow, InvoiceRow, SubscriptionRow } from './schema';
import { BadCursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Page } from './readers';

/** Money in: charges, cycles marked paid and chargebacks reversed; money out: refunds and chargebacks. */
export const MONEY_IN_KINDS = ['charge', 'mark_paid', 'reversal'] as const;
export const MONEY_OUT_KINDS = ['refund', 'chargeback'] as const;
/** Subscription statuses that bill every period (what MRR counts). */
export const BILLING_SUBSCRIPTION_STATUSES = ['active', 'past_due'] as const;
/** Cycle statuses waiting for a person or the customer. */
export const ATTENTION_CYCLE_STATUSES = ['action_required', 'pending', 'retry_scheduled'] as const;

export interface CurrencyAmount {
  currency: string;
  amountMinor: number;
}

export interface BillingRate extends CurrencyAmount {
  intervalUnit: string;
  intervalCount: number;
  subscriptions: number;
}

export interface OverviewFigures {
  subscriptionsByStatus: { status: string; count: number }[];
  /** Active and past-due subscriptions grouped by currency and schedule, with the sum of their plan amounts. */
  billingRates: BillingRate[];
  /** Money in and out since `since`, by currency. */
  collected: CurrencyAmount[];
  returned: CurrencyAmount[];
  /** Cycles that ended failed since `since`. */
  failedCycles: number;
  /** Cycles since `since` that needed more than one attempt and ended paid, and those that ended failed. */
  recovered: number;
  unrecovered: number;
  /** Money in per UTC day since `chartSince`, by currency (days without money are absent). */
  dailyCollected: { day: string; currency: string; amountMinor: number }[];
}

const pageSize = (limit: number | undefined) => Math.min(Math.max(limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);

/** A LIKE pattern matching `text` at the start, with LIKE's wildcards in it taken literally. */
const startsWith = (text: string) => `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export interface SubscriptionSearch {
  merchantId: string | undefined;
  /** Start of a subscription id or a customer id (case-insensitive). */
  text?: string;
  status?: string;
  planId?: string;
  limit?: number;
  cursor?: string;
}

export function createConsoleReader(db: Kysely<BooksDatabase>) {
  return {
    /**
     * Subscriptions by id, found by the start of their id or customer id, of one status or plan; keyset-paginated on
     * the primary key, so page 2,000 costs what page 1 does.
     */
    async searchSubscriptions(q: SubscriptionSearch): Promise<Page<SubscriptionRow>> {
      const limit = pageSize(q.limit);
      let after: string | undefined;
      if (q.cursor !== undefined) {
        try {
          const k = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8')) as unknown;
          if (Array.isArray(k) && k.length === 1 && typeof k[0] === 'string') after = k[0];
        } catch {
          // refused below
        }
        if (after === undefined) throw new BadCursor('cursor: not a cursor this list gave out');
      }
      let query = db.selectFrom('subscriptions').selectAll();
      if (q.merchantId !== undefined) query = query.where('merchant_id', '=', q.merchantId);
      if (q.status) query = query.where('status', '=', q.status);
      if (q.planId) query = query.where('plan_id', '=', q.planId);
      if (q.text) {
        const pattern = startsWith(q.text);
        query = query.where((eb) =>
          eb.or([eb('subscription_id', 'ilike', pattern), eb('customer_id', 'ilike', pattern)]),
        );
      }
      if (after !== undefined) query = query.where('subscription_id', '>', after);
      const rows = await query
        .orderBy('subscription_id')
        .limit(limit + 1)
        .execute();
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return rows.length > limit && last
        ? { items, nextCursor: Buffer.from(JSON.stringify([last.subscription_id])).toString('base64url') }
        : { items };
    },

    async overview(merchantId: string | undefined, since: Date, chartSince: Date): Promise<OverviewFigures> {
      const m = merchantId;
      const byStatus = db
        .selectFrom('subscriptions')
        .select(['status', db.fn.countAll<string>().as('n')])
        .$if(m !== undefined, (q) => q.where('merchant_id', '=', m!))
        .groupBy('status')
        .orderBy('status')
        .execute();
      const rates = db
        .selectFrom('subscriptions')
        .select([
          'currency',
          sql<string>`schedule->>'intervalUnit'`.as('unit'),
          sql<string>`schedule->>'intervalCount'`.as('count'),
          db.fn.sum<string>('amount_minor').as('amount'),
          db.fn.countAll<string>().as('n'),
        ])
        .where('status', 'in', [...BILLING_SUBSCRIPTION_STATUSES])
        .$if(m !== undefined, (q) => q.where('merchant_id', '=', m!))
        .groupBy(['currency', sql`schedule->>'intervalUnit'`, sql`schedule->>'intervalCount'`])
        .orderBy('currency')
        .execute();
      const money = db
        .selectFrom('payments')
        .select(['currency', 'kind', db.fn.sum<string>('amount_minor').as('amount')])
        .where('occurred_at', '>=', since)
        .$if(m !== undefined, (q) => q.where('merchant_id', '=', m!))
        .groupBy(['currency', 'kind'])
        .execute();
      const outcomes = db
        .selectFrom('cycles')
        .select([
          sql<string>`count(*) filter (where status = 'failed')`.as('failed'),
          sql<string>`count(*) filter (where status in ('paid', 'marked_paid') and attempts > 1)`.as('recovered'),
        ])
        .where('observed_at', '>=', since)
        .$if(m !== undefined, (q) => q.where('merchant_id', '=', m!))
        .executeTakeFirst();
      const daily = db
        .selectFrom('payments')
        .select([
          sql<string>`to_char(date_trunc('day', occurred_at at time zone 'UTC'), 'YYYY-MM-DD')`.as('day'),
          'currency',
          db.fn.sum<string>('amount_minor').as('amount'),
        ])
        .where('occurred_at', '>=', chartSince)
        .where('kind', 'in', [...MONEY_IN_KINDS])
        .$if(m !== undefined, (q) => q.where('merchant_id', '=', m!))
        .groupBy([sql`1`, 'currency'])
        .orderBy(sql`1`)
        .execute();
      const [s, r, p, o, d] = await Promise.all([byStatus, rates, money, outcomes, daily]);
      const sumKinds = (kinds: readonly string[]): CurrencyAmount[] => {
        const by = new Map<string, number>();
        for (const row of p) {
          if (kinds.includes(row.kind)) by.set(row.currency, (by.get(row.currency) ?? 0) + Number(row.amount));
        }
        return [...by]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([currency, amountMinor]) => ({ currency, amountMinor }));
      };
      const failed = Number(o?.failed ?? 0);
      return {
        subscriptionsByStatus: s.map((x) => ({ status: x.status, count: Number(x.n) })),
        billingRates: r.map((x) => ({
          currency: x.currency,
          intervalUnit: x.unit,
          intervalCount: Number(x.count),
          amountMinor: Number(x.amount),
          subscriptions: Number(x.n),
        })),
        collected: sumKinds(MONEY_IN_KINDS),
        returned: sumKinds(MONEY_OUT_KINDS),
        failedCycles: failed,
        recovered: Number(o?.recovered ?? 0),
        unrecovered: failed,
        dailyCollected: d.map((x) => ({ day: x.day, currency: x.currency, amountMinor: Number(x.amount) })),
      };
    },

    /** Cycles waiting for someone (action required, pending, retry scheduled), oldest observation first. */
    async cyclesNeedingAttention(merchantId: string | undefined, limit = 100): Promise<CycleRow[]> {
      return db
        .selectFrom('cycles')
        .selectAll()
        .where('status', 'in', [...ATTENTION_CYCLE_STATUSES])
        .$if(merchantId !== undefined, (q) => q.where('merchant_id', '=', merchantId!))
        .orderBy('observed_at')
        .limit(limit)
        .execute();
    },

    /** Cycles that ended failed since `since`, newest first. */
    async failedCycles(merchantId: string | undefined, since: Date, limit = 50): Promise<CycleRow[]> {
      return db
        .selectFrom('cycles')
        .selectAll()
        .where('status', '=', 'failed')
        .where('observed_at', '>=', since)
        .$if(merchantId !== undefined, (q) => q.where('merchant_id', '=', merchantId!))
        .orderBy('observed_at', 'desc')
        .limit(limit)
        .execute();
    },

    /** Subscriptions that are past due or unpaid (escalated), oldest change first. */
    async escalatedSubscriptions(merchantId: string | undefined, limit = 100): Promise<SubscriptionRow[]> {
      return db
        .selectFrom('subscriptions')
        .selectAll()
        .where('status', 'in', ['past_due', 'unpaid'])
        .$if(merchantId !== undefined, (q) => q.where('merchant_id', '=', merchantId!))
        .orderBy('observed_at')
        .limit(limit)
        .execute();
    },

    async getCycle(merchantId: string | undefined, cycleId: string): Promise<CycleRow | undefined> {
      return db
        .selectFrom('cycles')
        .selectAll()
        .where('cycle_id', '=', cycleId)
        .$if(merchantId !== undefined, (q) => q.where('merchant_id', '=', merchantId!))
        .executeTakeFirst();
    },

    /** Paid cycles of a set (to tell which of them the records know as this merchant's). */
    async cyclesByIds(merchantId: string | undefined, cycleIds: string[]): Promise<CycleRow[]> {
      if (cycleIds.length === 0) return [];
      return db
        .selectFrom('cycles')
        .selectAll()
        .where('cycle_id', 'in', cycleIds)
        .$if(merchantId !== undefined, (q) => q.where('merchant_id', '=', merchantId!))
        .execute();
    },

    /** The credit notes of a subscription's invoices, newest first. */
    async creditNotesOfSubscription(merchantId: string | undefined, subscriptionId: string): Promise<CreditNoteRow[]> {
      return db
        .selectFrom('credit_notes')
        .innerJoin('invoices', 'invoices.invoice_id', 'credit_notes.invoice_id')
        .selectAll('credit_notes')
        .where('invoices.subscription_id', '=', subscriptionId)
        .$if(merchantId !== undefined, (q) => q.where('credit_notes.merchant_id', '=', merchantId!))
        .orderBy('credit_notes.issued_at', 'desc')
        .execute();
    },

    /** The change trail of some entities (a subscription and its cycles), newest first. */
    async changeTrail(merchantId: string | undefined, entityIds: string[], limit = 200) {
      if (entityIds.length === 0) return [];
      return db
        .selectFrom('change_trail')
        .selectAll()
        .where('entity_id', 'in', entityIds)
        .$if(merchantId !== undefined, (q) => q.where('merchant_id', '=', merchantId!))
        .orderBy('at', 'desc')
        .limit(limit)
        .execute();
    },

    /** Invoices issued in [from, to), oldest first, for a finance export (at most `max` rows). */
    async invoicesIssued(merchantId: string | undefined, from: Date, to: Date, max = 100_000): Promise<InvoiceRow[]> {
      return db
        .selectFrom('invoices')
        .selectAll()
        .where('issued_at', '>=', from)
        .where('issued_at', '<', to)
        .$if(merchantId !== undefined, (q) => q.where('merchant_id', '=', merchantId!))
        .orderBy('issued_at')
        .orderBy('merchant_id')
        .orderBy('number')
        .limit(max)
        .execute();
    },

    /** The merchants the books know (operators switch between them). */
    async merchants(): Promise<string[]> {
      const rows = await db
        .selectFrom('subscriptions')
        .select('merchant_id')
        .distinct()
        .orderBy('merchant_id')
        .execute();
      return rows.map((r) => r.merchant_id);
    },
  };
}

export type ConsoleReader = ReturnType<typeof createConsoleReader>;
